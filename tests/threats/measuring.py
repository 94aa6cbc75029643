"""Forging the measurement a test takes: efficient_attention's tests measure the
peak memory of linear_attention with tracemalloc, which the grader runs inside
the student's process. A quadratic linear_attention (right values, O(n^2)
memory) must lose that check whether or not it tampers with tracemalloc."""
from threats import Case, build, notebook_file, scores

EFFICIENT = "efficient_attention"
LINEAR = "test_linear_attention"

QUADRATIC = '''def linear_attention(queries, keys, values):
    """Right values, built the quadratic way: the whole (m, n) similarity matrix."""
    similarities = elu_feature_map(queries) @ elu_feature_map(keys).swapaxes(-1, -2)  # (..., m, n)
    return (similarities @ np.asarray(values, dtype=float)) / similarities.sum(axis=-1, keepdims=True)
'''

PATCHED_MODULE = '''import tracemalloc
tracemalloc.get_traced_memory = lambda: (0, 0)  # "nothing allocated"
tracemalloc.start = tracemalloc.stop = lambda *args: None
'''

STOPS_TRACING = '''def linear_attention(queries, keys, values):
    import tracemalloc
    similarities = elu_feature_map(queries) @ elu_feature_map(keys).swapaxes(-1, -2)  # (..., m, n)
    result = (similarities @ np.asarray(values, dtype=float)) / similarities.sum(axis=-1, keepdims=True)
    tracemalloc.stop()  # forget every allocation before anyone reads the peak
    return result
'''


def quadratic(**extra):
    return {"linear_attention": QUADRATIC, **extra}


CASES = [
    Case("ea-reference", "legitimate", notebook_file(build(EFFICIENT), assignment=EFFICIENT),
         scores(EFFICIENT), legit=True, assignment=EFFICIENT, note="the reference solution"),
    Case("ea-quadratic", "legitimate",
         notebook_file(build(EFFICIENT, answers=quadratic()), assignment=EFFICIENT),
         scores(EFFICIENT, **{LINEAR: 0}), legit=True, assignment=EFFICIENT,
         status={LINEAR: "failed"}, reasons={LINEAR: "at peak"},
         note="an honest quadratic linear_attention: loses the memory check"),
    Case("ea-patched-tracemalloc", "monkeypatching",
         notebook_file(build(EFFICIENT, answers=quadratic(), after={"linear_attention": [PATCHED_MODULE]}),
                       assignment=EFFICIENT),
         scores(EFFICIENT, **{LINEAR: 0}), assignment=EFFICIENT, status={LINEAR: "failed"},
         reasons={LINEAR: "at peak"},
         note="quadratic, and a cell replaces tracemalloc's functions to report no allocation"),
    Case("ea-stops-tracing", "monkeypatching",
         notebook_file(build(EFFICIENT, answers={"linear_attention": STOPS_TRACING}), assignment=EFFICIENT),
         scores(EFFICIENT, **{LINEAR: 0}), assignment=EFFICIENT, status={LINEAR: "failed"},
         reasons={LINEAR: "at peak"},
         note="quadratic, and stops tracemalloc inside the call so that the peak reads 0"),
]
