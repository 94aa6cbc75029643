"""Grading end to end: `python -m autograder grade` on sample submissions.

For every assignment we grade, in one run: the reference solution, the blank
release, a notebook that is not valid JSON, a renamed correct notebook, a
partly solved notebook and every known-mistake mutant.
"""
import csv
import html
import re
import subprocess
import sys
from collections import defaultdict

import pytest

from autograder.course import assignments, source_notebooks
from autograder.feedback import hidden_lines
from autograder.grading import questions_of
from mutants import MUTANTS
from submission_factory import make_submission, reference_answers, solution_lines, write_submission

ASSIGNMENTS = assignments()


def build_submissions(folder, assignment):
    notebook = source_notebooks(assignment)[0]
    answers = list(reference_answers(assignment))
    write_submission(folder, "reference", notebook, make_submission(assignment))
    write_submission(folder, "blank", notebook, make_submission(assignment, blank=answers))
    write_submission(folder, "partial", notebook,
                     make_submission(assignment, blank=answers[len(answers) // 2:]))
    renamed = write_submission(folder, "renamed", notebook, make_submission(assignment))
    renamed.rename(renamed.with_name(f"{notebook} (1).ipynb"))
    broken = folder / "not_json"
    broken.mkdir()
    (broken / f"{notebook}.ipynb").write_text('{"cells": [', encoding="utf-8")
    for mutant in MUTANTS.get(assignment, []):
        write_submission(folder, f"mutant-{mutant.name}", notebook,
                         make_submission(assignment, answers={mutant.answer: mutant.code}))


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory, tool_env):
    """Grade the sample submissions of one assignment through the CLI."""
    assignment = request.param
    submissions = tmp_path_factory.mktemp(f"{assignment}-submissions")
    out = tmp_path_factory.mktemp(f"{assignment}-graded")
    build_submissions(submissions, assignment)
    process = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", assignment, str(submissions), "--out", str(out)],
        env=tool_env, capture_output=True, text=True, timeout=900)
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_student = defaultdict(dict)
    for row in rows:
        by_student[row["student_id"]][row["question"]] = row
    return {"assignment": assignment, "process": process, "out": out, "rows": rows,
            "students": by_student, "questions": questions_of(assignment)}


def scores(graded, student):
    return {q: float(row["score"]) for q, row in graded["students"][student].items()}


def full_marks(graded):
    return {q.grade_id: q.max_score for q in graded["questions"]}


def test_cli_exits_zero_and_every_submission_gets_every_row(graded):
    assert graded["process"].returncode == 0, graded["process"].stderr[-3000:]
    expected_questions = {q.grade_id for q in graded["questions"]}
    for student, rows in graded["students"].items():
        assert set(rows) == expected_questions, student
    header = set(graded["rows"][0])
    assert {"student_id", "assignment", "question", "score", "max_score", "status"} <= header


def test_reference_solution_scores_full_marks(graded):
    assert scores(graded, "reference") == full_marks(graded)
    assert scores(graded, "renamed") == full_marks(graded)


def test_blank_release_scores_zero_without_crashing(graded):
    assert set(scores(graded, "blank").values()) == {0.0}
    assert {row["status"] for row in graded["students"]["blank"].values()} == {"graded"}


def test_partial_submission_keeps_what_it_solved(graded):
    got = scores(graded, "partial")
    answered = len(reference_answers(graded["assignment"])) // 2
    assert 0 < sum(got.values()) < sum(full_marks(graded).values()), got
    assert answered > 0


def test_invalid_json_is_reported_not_fatal(graded):
    rows = graded["students"]["not_json"].values()
    assert all(float(row["score"]) == 0 for row in rows)
    assert all("not valid JSON" in row["status"] for row in rows)


def test_every_mutant_loses_points_only_where_it_breaks(graded):
    full = full_marks(graded)
    for mutant in MUTANTS.get(graded["assignment"], []):
        got = scores(graded, f"mutant-{mutant.name}")
        expected = {**full, mutant.breaks: got[mutant.breaks]}
        assert got[mutant.breaks] < full[mutant.breaks], f"{mutant.name} was not caught"
        assert got == expected, f"{mutant.name} lost points elsewhere: {got}"


def test_feedback_names_each_mistake(graded):
    for mutant in MUTANTS.get(graded["assignment"], []):
        pages = (graded["out"] / "feedback" / f"mutant-{mutant.name}").glob("*.html")
        text = " ".join(page.read_text(encoding="utf-8") for page in pages)
        # Only the failure messages count: the visible test source is on the page anyway.
        failures = html.unescape(" ".join(re.findall(r'<pre class="error">(.*?)</pre>', text, re.S)))
        assert mutant.diagnostic in failures, (
            f"{mutant.name}: the failure messages do not contain {mutant.diagnostic!r}: {failures[:500]}")


def test_feedback_never_shows_hidden_tests_or_solutions(graded, root):
    assignment = graded["assignment"]
    secret = set()
    for name in source_notebooks(assignment):
        secret |= hidden_lines(root / "solutions" / assignment / f"{name}.ipynb")
    secret_solution = solution_lines(assignment)
    pages = list((graded["out"] / "feedback").glob("*/*.html"))
    assert len(pages) == len(graded["students"])
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, page
        leaked = [line for line in secret if line in text]
        assert not leaked, f"{page}: hidden test lines leaked: {leaked[:3]}"
        if page.parent.name in ("blank", "not_json"):
            shown = html.unescape(text)
            assert not [line for line in secret_solution if line in shown], page


def test_assignment_keeps_at_least_five_mutants(graded):
    assert len(MUTANTS.get(graded["assignment"], [])) >= 5
