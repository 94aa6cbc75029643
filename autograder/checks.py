"""Named checks: a question's points split over the checks of its test cell.

A test cell groups its assertions in blocks

    with check("mask", 1):
        assert ..., "what went wrong"

with a literal name and points; the points of a cell's checks add up to the
cell's points. A name may come back in several blocks (the visible part and
the hidden part): it is one check, passed only when all its blocks pass.

In the student's notebook, `check` is the small context manager of
NOTEBOOK_CHECK_CELL (a locked provided cell of every assignment): a failing
check stops the test cell with its name, like a plain assertion. When graded,
`CheckRecorder` stands in for it: a failing block is recorded and the cell goes
on, so one slip loses only the points of the check it broke.
"""
import ast
from dataclasses import dataclass

NOTEBOOK_CHECK_CELL = '''\
# The tests below are split into named checks, each worth part of a question's points:
# when your notebook is graded, a failed check costs only its part. Here, in your
# notebook, a failed check stops the test cell and says which check it was.
import contextlib


@contextlib.contextmanager
def check(name, points):
    try:
        yield
    except AssertionError as error:
        raise AssertionError(f"check {name!r} ({points:g} pt): {error}") from None
'''


class CheckSpecError(ValueError):
    """A test cell's checks are not literal, or disagree on a check's points."""


@dataclass
class CheckSpec:
    name: str
    points: float


def declared_checks(source, grade_id=""):
    """[CheckSpec] of a test cell, in the order they first appear (no checks: [])."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = [item.context_expr for node in ast.walk(tree) if isinstance(node, ast.With) for item in node.items
             if isinstance(item.context_expr, ast.Call) and isinstance(item.context_expr.func, ast.Name)
             and item.context_expr.func.id == "check"]
    found = {}
    for call in sorted(calls, key=lambda call: (call.lineno, call.col_offset)):
        try:
            name, points = (ast.literal_eval(arg) for arg in call.args)
        except ValueError:
            raise CheckSpecError(f"{grade_id}: check(...) takes a literal name and literal points") from None
        if not isinstance(name, str) or not isinstance(points, (int, float)) or points < 0:
            raise CheckSpecError(f"{grade_id}: check(name, points) needs a string and a number >= 0")
        if name in found and found[name].points != points:
            raise CheckSpecError(f"{grade_id}: check {name!r} is given {found[name].points:g} and {points:g} points")
        found.setdefault(name, CheckSpec(name, float(points)))
    return list(found.values())
