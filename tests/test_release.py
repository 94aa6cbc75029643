"""exercises/ is exactly what `python -m autograder release` makes from solutions/,
and holds no solution and no hidden test."""
import filecmp
import re

import pytest

from autograder.course import assignments, source_notebooks
from autograder.feedback import hidden_lines
from autograder.release import release
from submission_factory import solution_lines


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    out = tmp_path_factory.mktemp("exercises")
    release(exercises_dir=out)
    return out


def test_release_reproduces_committed_exercises_byte_for_byte(fresh_release, root):
    committed = sorted(p.relative_to(root / "exercises") for p in (root / "exercises").rglob("*.ipynb"))
    regenerated = sorted(p.relative_to(fresh_release) for p in fresh_release.rglob("*.ipynb"))
    assert committed == regenerated
    for relative in committed:
        assert filecmp.cmp(root / "exercises" / relative, fresh_release / relative, shallow=False), relative


def test_every_assignment_is_released(root):
    for assignment in assignments():
        for name in source_notebooks(assignment):
            assert (root / "exercises" / assignment / f"{name}.ipynb").is_file()


@pytest.mark.parametrize("assignment", assignments())
def test_exercises_hold_no_solution_and_no_hidden_test(assignment, root):
    text = "\n".join(p.read_text(encoding="utf-8") for p in (root / "exercises" / assignment).rglob("*") if p.is_file())
    assert not re.search(r"BEGIN (SOLUTION|HIDDEN TESTS)", text)
    for name in source_notebooks(assignment):
        for line in hidden_lines(root / "solutions" / assignment / f"{name}.ipynb"):
            assert line not in text.replace('\\"', '"'), f"hidden test line released: {line}"
    for line in solution_lines(assignment):
        assert line not in text.replace('\\"', '"'), f"solution line released: {line}"
