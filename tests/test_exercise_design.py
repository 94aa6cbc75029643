"""The rules every assignment's source notebook follows (issue 13), read from the notebooks.

- The notebook defines `check` in the locked provided cell "checks", exactly
  autograder.checks.NOTEBOOK_CHECK_CELL: what the student runs is what the grader scores.
- Every test cell splits its points over named checks that add up to the cell's points.
- Every case a prompt names (its cell's metadata "cases") is written in the prompt and has
  a visible test marked `# case: LABEL`: the hidden tests only vary sizes, seeds and values.
- Every assignment asks at least two concept questions (a number, a shape or a choice).
"""
import nbformat
import pytest

from autograder.checks import NOTEBOOK_CHECK_CELL, declared_checks
from autograder.course import SOLUTIONS_DIR, assignments, source_notebooks

HIDDEN = "### BEGIN HIDDEN TESTS"
NOTEBOOKS = [(assignment, name) for assignment in assignments() for name in source_notebooks(assignment)]


def cells_of(assignment, name):
    return nbformat.read(SOLUTIONS_DIR / assignment / f"{name}.ipynb", as_version=4).cells


def grading(cell):
    return cell.metadata.get("nbgrader", {})


def questions(cells):
    """(prompt cell, its test cell) for every question: a prompt is a markdown cell with
    "cases", its test the next graded cell."""
    found, prompt = [], None
    for cell in cells:
        if cell.cell_type == "markdown" and "cases" in cell.metadata:
            prompt = cell
        elif grading(cell).get("grade"):
            found.append((prompt, cell))
            prompt = None
    return found


@pytest.mark.parametrize("assignment,name", NOTEBOOKS)
def test_the_notebook_defines_check_as_the_grader_expects(assignment, name):
    cells = [cell for cell in cells_of(assignment, name) if grading(cell).get("grade_id") == "checks"]
    assert len(cells) == 1, "one provided cell with grade_id 'checks'"
    assert cells[0].source.rstrip("\n") == NOTEBOOK_CHECK_CELL.rstrip("\n")
    assert grading(cells[0]).get("locked") and not grading(cells[0]).get("solution")


@pytest.mark.parametrize("assignment,name", NOTEBOOKS)
def test_every_test_splits_its_points_over_named_checks(assignment, name):
    for _, test in questions(cells_of(assignment, name)):
        checks = declared_checks(test.source, grading(test)["grade_id"])
        assert len(checks) >= 1, grading(test)["grade_id"]
        assert sum(check.points for check in checks) == pytest.approx(float(grading(test)["points"])), (
            grading(test)["grade_id"], [(check.name, check.points) for check in checks])


@pytest.mark.parametrize("assignment,name", NOTEBOOKS)
def test_every_case_of_a_prompt_has_a_visible_test(assignment, name):
    for prompt, test in questions(cells_of(assignment, name)):
        grade_id = grading(test)["grade_id"]
        assert prompt is not None, f"{grade_id}: its prompt names no cases (metadata 'cases')"
        cases = prompt.metadata["cases"]
        assert cases, grade_id
        visible = test.source.split(HIDDEN)[0]
        assert [case for case in cases if case not in prompt.source] == [], f"{grade_id}: cases the prompt never states"
        assert [case for case in cases if f"# case: {case}" not in visible] == [], (
            f"{grade_id}: cases with no visible test")


@pytest.mark.parametrize("assignment", assignments())
def test_every_assignment_asks_two_concept_questions(assignment):
    concept = [prompt for name in source_notebooks(assignment)
               for prompt, _ in questions(cells_of(assignment, name)) if prompt is not None
               and "(concept)" in prompt.source.splitlines()[0]]
    assert len(concept) >= 2
