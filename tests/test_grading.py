"""Grading end to end: `python -m autograder grade` on sample submissions.

For every assignment we grade, in one run (two jobs, sandboxed): the
reference solution, the blank release, a notebook that is not valid JSON, a
renamed correct notebook, a partly solved notebook and every known-mistake
mutant, laid out in a course folder as `collect` leaves them.
"""
import html
import subprocess
import sys

import pytest

from autograder.config import load_config
from autograder.course import assignments, source_notebooks
from autograder.feedback import hidden_lines
from autograder.results import PASSED, load_results
from book_paste import pasted_book_submission
from mutants import MUTANTS
from submission_factory import make_submission, reference_answers, solution_lines, write_submission

ASSIGNMENTS = assignments()


def build_submissions(course, assignment):
    """Write the sample submissions into COURSE/submitted/STUDENT/ASSIGNMENT/."""
    notebook = source_notebooks(assignment)[0]
    answers = list(reference_answers(assignment))

    def submit(student, content):
        return write_submission(course / "submitted", student, notebook, content, assignment)

    submit("reference", make_submission(assignment))
    submit("blank", make_submission(assignment, blank=answers))
    submit("partial", make_submission(assignment, blank=answers[len(answers) // 2:]))
    submit("pasted-book", pasted_book_submission(assignment))
    renamed = submit("renamed", make_submission(assignment))
    renamed.rename(renamed.with_name(f"{notebook} (1).ipynb"))
    broken = course / "submitted" / "not_json" / assignment
    broken.mkdir(parents=True)
    (broken / f"{notebook}.ipynb").write_text('{"cells": [', encoding="utf-8")
    for mutant in MUTANTS.get(assignment, []):
        submit(f"mutant-{mutant.name}", make_submission(assignment, answers={mutant.answer: mutant.code}))


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory, tool_env):
    """Grade the sample submissions of one assignment through the CLI."""
    assignment = request.param
    course = tmp_path_factory.mktemp(f"{assignment}-course")
    build_submissions(course, assignment)
    process = subprocess.run(
        [sys.executable, "-m", "autograder", "--course", str(course), "grade", assignment, "--jobs", "2"],
        env=tool_env, capture_output=True, text=True, timeout=900)
    results = {r.student: r for r in load_results(load_config(course), assignment)}
    return {"assignment": assignment, "process": process, "course": course, "results": results,
            "students": {s: {q.question: q for q in r.questions} for s, r in results.items()},
            "full": {q.question: q.max_score for q in results["reference"].questions}}


def scores(graded, student):
    return {q: question.score for q, question in graded["students"][student].items()}


def full_marks(graded):
    return graded["full"]


def test_cli_exits_zero_and_every_submission_gets_every_question(graded, root):
    assert graded["process"].returncode == 0, graded["process"].stderr[-3000:]
    submitted = {p.name for p in (graded["course"] / "submitted").iterdir()}
    assert set(graded["results"]) == submitted
    expected = set()
    for name in source_notebooks(graded["assignment"]):
        source = (root / "solutions" / graded["assignment"] / f"{name}.ipynb").read_text(encoding="utf-8")
        expected |= {q for q in full_marks(graded) if f'"grade_id": "{q}"' in source}
    assert expected == set(full_marks(graded))
    for student, questions in graded["students"].items():
        assert set(questions) == expected, student


def test_reference_solution_scores_full_marks(graded):
    assert scores(graded, "reference") == full_marks(graded)
    assert scores(graded, "renamed") == full_marks(graded)


def test_blank_release_scores_zero_without_crashing(graded):
    assert set(scores(graded, "blank").values()) == {0.0}
    assert graded["results"]["blank"].status == "graded"


def test_partial_submission_keeps_what_it_solved(graded):
    got = scores(graded, "partial")
    answered = len(reference_answers(graded["assignment"])) // 2
    assert 0 < sum(got.values()) < sum(full_marks(graded).values()), got
    assert answered > 0


def test_pasted_book_scores_at_most_30_percent(graded):
    """Copying every function the book prints into the answers (tests/book_paste.py) is not enough."""
    got, full = scores(graded, "pasted-book"), full_marks(graded)
    per_question = ", ".join(f"{q} {got[q]:g}/{full[q]:g}" for q in full)
    assert sum(got.values()) <= 0.3 * sum(full.values()) + 1e-9, (
        f"{graded['assignment']}: the book pasted into the answers scores {sum(got.values()):g} of "
        f"{sum(full.values()):g} points (at most 30 % allowed): {per_question}")


def test_invalid_json_is_reported_not_fatal(graded):
    result = graded["results"]["not_json"]
    assert set(scores(graded, "not_json").values()) == {0.0}
    assert "not valid JSON" in result.status
    assert all("not valid JSON" in q.messages[0] for q in result.questions)


def test_every_mutant_loses_points_only_where_it_breaks(graded):
    full = full_marks(graded)
    for mutant in MUTANTS.get(graded["assignment"], []):
        got = scores(graded, f"mutant-{mutant.name}")
        expected = {**full, mutant.breaks: got[mutant.breaks]}
        assert got[mutant.breaks] < full[mutant.breaks], f"{mutant.name} was not caught"
        assert got == expected, f"{mutant.name} lost points elsewhere: {got}"


def test_each_mutant_fails_only_its_named_check(graded):
    """Partial credit: the question a mutant breaks keeps the points of its other checks."""
    for mutant in MUTANTS.get(graded["assignment"], []):
        question = graded["students"][f"mutant-{mutant.name}"][mutant.breaks]
        statuses = {check.name: check.status for check in question.checks}
        assert mutant.check in statuses, f"{mutant.name}: {mutant.breaks} has no check {mutant.check!r}"
        failed = sorted(name for name, status in statuses.items() if status != PASSED)
        assert failed == [mutant.check], f"{mutant.name}: failed checks {failed}, expected [{mutant.check!r}]"
        assert question.score == pytest.approx(sum(check.score for check in question.checks))
        if len(statuses) > 1:
            assert question.score > 0, f"{mutant.name}: one slip lost the whole question"


def test_a_raised_error_points_at_the_students_line(graded):
    """A mutant whose code raises is told where, in its own notebook: function, cell, line."""
    source = make_submission(graded["assignment"])
    for mutant in MUTANTS.get(graded["assignment"], []):
        question = graded["students"][f"mutant-{mutant.name}"][mutant.breaks]
        for message in question.messages:
            if "\n  raised in " not in message:
                continue
            where, code = message.split("\n  raised in ", 1)[1].split("\n")[0].split("): ", 1)
            assert code.strip() and code.strip() in mutant.code, (mutant.name, message)
            cell = int(where.split("(cell ", 1)[1].split(" ")[0]) - 1
            assert source.cells[cell].metadata["nbgrader"]["grade_id"] == mutant.answer, (mutant.name, message)


def test_feedback_names_each_mistake(graded):
    for mutant in MUTANTS.get(graded["assignment"], []):
        question = graded["students"][f"mutant-{mutant.name}"][mutant.breaks]
        messages = " ".join(question.messages)
        assert mutant.diagnostic in messages, (
            f"{mutant.name}: the failure messages do not contain {mutant.diagnostic!r}: {messages[:500]}")
        pages = (graded["course"] / "feedback" / f"mutant-{mutant.name}" / graded["assignment"]).glob("*.html")
        assert mutant.diagnostic in html.unescape(" ".join(p.read_text(encoding="utf-8") for p in pages))


def test_feedback_never_shows_hidden_tests_or_solutions(graded, root):
    assignment = graded["assignment"]
    secret = set()
    for name in source_notebooks(assignment):
        secret |= hidden_lines(root / "solutions" / assignment / f"{name}.ipynb")
    secret_solution = solution_lines(assignment)
    pages = list((graded["course"] / "feedback").glob(f"*/{assignment}/*.html"))
    assert len(pages) == len(graded["students"])
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, page
        leaked = [line for line in secret if line in text]
        assert not leaked, f"{page}: hidden test lines leaked: {leaked[:3]}"
        if page.parent.parent.name in ("blank", "not_json"):
            shown = html.unescape(text)
            assert not [line for line in secret_solution if line in shown], page


def test_assignment_keeps_at_least_five_mutants(graded):
    assert len(MUTANTS.get(graded["assignment"], [])) >= 5


def test_nbgrader_formgrader_sees_the_grades(graded):
    """The course folder stays nbgrader's: its API (what the formgrader shows) agrees."""
    from nbgrader.apps import NbGraderAPI

    from autograder.course import nbgrader_config

    config = load_config(graded["course"])
    api = NbGraderAPI(config=nbgrader_config(config.root, config.gradebook_url, course_id=config.course_id))
    for student in ("reference", "blank", "partial"):
        seen = api.get_submission(graded["assignment"], student)
        assert seen["autograded"] and seen["submitted"], seen
        assert seen["score"] == graded["results"][student].score
        assert seen["max_score"] == sum(full_marks(graded).values())
