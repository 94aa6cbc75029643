"""Measuring cost in the book: time, peak memory, and growth exponents.

Used by every chapter that measures instead of asserting a complexity.
"""
import time
import tracemalloc

import numpy as np


def best_time(function, repeats=3):
    """Seconds taken by the fastest of `repeats` calls of function().

    Other processes only ever add time, so the fastest run is the best estimate.
    """
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_memory(function):
    """Peak bytes allocated while function() runs, as traced by tracemalloc.

    numpy reports its array allocations to tracemalloc; arrays made before the
    call do not count, so this is the working memory of the call alone.
    """
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def loglog_slope(x, y):
    """Exponent p of y ~ c x^p: the slope of the least-squares line through (log x, log y)."""
    return np.polyfit(np.log(x), np.log(y), 1)[0]
