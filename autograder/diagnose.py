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
