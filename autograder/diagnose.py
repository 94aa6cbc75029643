"""Name the usual mistake behind an error the student's code raised.

A raw NumPy error ("matmul: Input operand 1 has a mismatch in its core
dimension 0") says where the shapes stopped agreeing, not why. Given the
exception and the student's own code around the line that raised (see
autograder.runner: only the student's frames travel back), `explain` returns
the name of a well-known slip, in words a student can act on, or None.
"""
import re

MISTAKES = {
    "batch_transpose": "`.T` on a batch reverses every axis, not only the last two: "
                       "to transpose the keys of a batch use `.swapaxes(-1, -2)`",
    "missing_keepdims": "a sum or max without `keepdims=True` drops the axis it reduced, so the "
                        "result no longer lines up with the array it came from",
    "hard_coded_axis": "an axis counted from the front (like `axis=1`) is right only for one number "
                       "of dimensions: count from the end (`axis=-1` is always the keys)",
    "per_query_lengths": "valid lengths of shape (batch, queries) give every query its own length: "
                         "compare `np.arange(keys)` with `lengths[..., None]`",
    "none_default": "an argument was left at its default `None`, which your code does not handle",
}

_REDUCTION = re.compile(r"\b(sum|max|min|mean|amax|amin|logsumexp)\(")
_FRONT_AXIS = re.compile(r"\baxis\s*=\s*[0-9]")
_TRANSPOSE = re.compile(r"\.T\b|np\.transpose\([^,()]*\)|\.transpose\(\)")
_SHAPE_TROUBLE = ("could not be broadcast", "mismatch in its core dimension", "shapes", "matmul",
                  "not aligned", "size", "index")


def explain(kind: str, message: str, line: str, cell_source: str = "") -> str | None:
    """The named slip most likely behind `kind: message` raised at `line` of the
    student's cell (whose whole source is `cell_source`), or None."""
    text = message.lower()
    if kind == "TypeError" and "nonetype" in text:
        return MISTAKES["none_default"]
    shapes = kind in ("ValueError", "IndexError", "AxisError") and any(word in text for word in _SHAPE_TROUBLE)
    if kind == "AxisError" or "out of bounds for array of dimension" in text:
        return MISTAKES["hard_coded_axis"]
    if not shapes:
        return None
    if _TRANSPOSE.search(line) or ("matmul" in text and _TRANSPOSE.search(cell_source)):
        return MISTAKES["batch_transpose"]
    if re.search(r"valid|lens|length", line):
        return MISTAKES["per_query_lengths"]
    reductions = [code for code in cell_source.splitlines() if _REDUCTION.search(code)]
    if any("axis" in code and "keepdims" not in code for code in reductions):
        return MISTAKES["missing_keepdims"]
    if any(_FRONT_AXIS.search(code) for code in reductions):
        return MISTAKES["hard_coded_axis"]
    return None
