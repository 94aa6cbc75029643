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
from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autograder.results import CheckResult

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


def declared_checks(source: str, grade_id: str = "") -> list[CheckSpec]:
    """[CheckSpec] of a test cell, in the order they first appear (no checks: [])."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = [item.context_expr for node in ast.walk(tree) if isinstance(node, ast.With) for item in node.items
             if isinstance(item.context_expr, ast.Call) and isinstance(item.context_expr.func, ast.Name)
             and item.context_expr.func.id == "check"]
    found: dict[str, CheckSpec] = {}
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


class CheckRecorder:
    """The grader's `check`: records each block instead of stopping the cell.

    verdict(error) says what a block's exception means: (status, message) to record
    it and go on, or None to let it end the cell (the student's process died, the
    time budget is used up). `results(...)` then scores every declared check.
    """

    def __init__(self, specs: Iterable[CheckSpec], verdict: Callable[[BaseException], tuple[str, str] | None],
                 calls_answered: Callable[[], int]) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self._verdict, self._calls_answered = verdict, calls_answered
        self.passed: set[str] = set()
        self.failed: dict[str, tuple[str, str]] = {}  # name -> (status, message) of its first failure

    def __call__(self, name: str, points: float | None = None) -> _Block:
        if name not in self.specs:  # only a test cell edited by hand gets here
            raise CheckSpecError(f"check {name!r} is not one of this test's checks")
        return _Block(self, name)

    def results(self, cell_failure: tuple[str, str] | None = None) -> list[CheckResult]:
        """[CheckResult] in declared order. A check never reached (the cell ended before it)
        fails with the cell's failure; none passes unless the student's code answered."""
        from autograder.results import FAILED, PASSED, CheckResult

        answered = self._calls_answered() > 0
        found = []
        for name, spec in self.specs.items():
            if name in self.failed:
                status, message = self.failed[name]
            elif name in self.passed and answered:
                status, message = PASSED, ""
            elif name in self.passed:
                status, message = FAILED, "the tests could not call your code"
            else:
                status, message = cell_failure or (FAILED, "this check did not run")
            found.append(CheckResult(name, spec.points, spec.points if status == PASSED else 0.0, status, message))
        return found


class _Block:
    def __init__(self, recorder, name):
        self.recorder, self.name = recorder, name

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        recorder = self.recorder
        if error is None:
            recorder.passed.add(self.name)
            return False
        verdict = recorder._verdict(error)
        if verdict is None:
            return False  # ends the cell
        recorder.failed.setdefault(self.name, verdict)
        return True
