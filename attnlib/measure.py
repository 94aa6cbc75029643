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


def best_cpu_time(function, repeats=3):
    """CPU seconds of this process taken by the fastest of `repeats` calls of function().

    On a shared machine wall time also counts the moments the scheduler hands the
    core to another process, which hits long calls more often than short ones and
    bends growth curves upwards. CPU time counts only our own work. With BLAS
    pinned to one thread (set OPENBLAS_NUM_THREADS=1 before numpy loads) it is
    the work of one core.
    """
    times = []
    for _ in range(repeats):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
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
