"""One submission's trouble costs that submission only (issue 12, items 3 and 9).

- The malformed notebooks of tests/threats/malformed.py graded in one sandboxed
  run with honest neighbours: each gets exactly its expected score per question
  and a clear reason, the neighbours theirs, and a rerun has nothing left to do.
- A folder put into submitted/ by hand as "carol\\n" is not graded, and shares
  nothing (results, feedback folder, gradebook row, CSV row) with a real "carol_".
- An exception injected into the judging of one submission among good ones: that
  submission is recorded as failed with the reason, the others keep their scores,
  and the next run grades it again.
- A full disk (ENOSPC, or SQLite's "database or disk is full") at each place the
  parent or a worker writes: grade stops with one message and no traceback, keeps
  everything recorded before, and a rerun completes the class.
"""
import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder.config import load_config
from autograder.results import FAULT, load_result, load_results
from submission_factory import write_submission
from test_threats import LIMITS, got_scores
from threats import SCALED, SCORING, build, nothing, prepare, scores
from threats.malformed import CASES

BY_STUDENT = {case.student: case for case in CASES}
CAROL_NEWLINE = "carol\n"
TESTS_DIR = Path(__file__).resolve().parent


def grade(course, env, *extra, timeout=900):
    return subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), "grade", SCORING,
                           *extra], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def malformed(tmp_path_factory, tool_env):
    """The malformed cases, their neighbours, "carol_" and a hand-placed "carol\\n", graded
    in the sandbox; then graded again, and exported."""
    from autograder.sandbox import bubblewrap_available

    if not bubblewrap_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    course = tmp_path_factory.mktemp("malformed")
    prepare(course)
    for case in CASES:
        folder = course / "submitted" / case.student / SCORING
        folder.mkdir(parents=True)
        case.write(folder)
    write_submission(course / "submitted", "carol_", SCORING, build(), SCORING)
    write_submission(course / "submitted", CAROL_NEWLINE, SCORING,
                     build(blank={"scaled_dot_product_attention"}), SCORING)
    env = {**tool_env, **LIMITS}
    first = grade(course, env, "--jobs", "2")
    again = grade(course, env, "--jobs", "2")
    export = subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), "export", SCORING],
                            env=env, capture_output=True, text=True, timeout=600)
    results = {r.student: r for r in load_results(load_config(course), SCORING)}
    return {"course": course, "first": first, "again": again, "export": export, "results": results}


def test_the_run_survives_records_everyone_and_a_rerun_has_nothing_left(malformed):
    first, again = malformed["first"], malformed["again"]
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Traceback" not in first.stderr, first.stderr[-3000:]
    valid = len(CASES) + 1  # and carol_
    assert f"graded {valid} submissions" in first.stdout, first.stdout
    assert set(malformed["results"]) == set(BY_STUDENT) | {"carol_"}
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr[-3000:]
    assert f"{valid} submissions, 0 to grade" in again.stderr, again.stderr


@pytest.mark.parametrize("student", sorted(BY_STUDENT))
def test_case_gets_exactly_its_expected_score(malformed, student):
    case, result = BY_STUDENT[student], malformed["results"][student]
    described = {q.question: (q.score, q.status, " | ".join(q.messages)[:300]) for q in result.questions}
    assert got_scores(result) == case.expected, f"{student} ({case.note}): {described}"
    for question, text in case.reasons.items():
        assert text in " ".join(dict((q.question, q) for q in result.questions)[question].messages), described
    assert case.submission_status in result.status, result.status
    if case.submission_status != "graded":
        assert result.status != "graded"


def test_every_case_has_its_scores_in_the_gradebook(malformed):
    from autograder.gradebook import gradebook_scores, open_gradebook

    with open_gradebook(load_config(malformed["course"])) as gradebook:
        recorded = gradebook_scores(gradebook, SCORING)
        students = {student.id for student in gradebook.students}
    assert students == set(BY_STUDENT) | {"carol_"}
    for case in CASES:
        got = {question: score for (student, _, question), score in recorded.items() if student == case.student}
        assert got == case.expected, case.student


def test_a_hand_placed_carol_newline_shares_nothing_with_carol_(malformed):
    course, first = malformed["course"], malformed["first"]
    assert "not graded: submitted/'carol\\n'/scoring_functions: invalid student id 'carol\\n'" in first.stderr
    assert got_scores(malformed["results"]["carol_"]) == scores()  # not the blank of "carol\n"
    for folder in ("autograded", "feedback"):
        names = {path.name for path in (course / folder).iterdir()}
        assert names == set(BY_STUDENT) | {"carol_"}, (folder, names)
    page = (course / "feedback" / "carol_" / SCORING / f"{SCORING}.html").read_text(encoding="utf-8")
    assert "carol_" in page
    export = malformed["export"]
    assert export.returncode == 0, export.stderr
    with open(course / "exports" / "totals.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["student_id"] for row in rows) == sorted(set(BY_STUDENT) | {"carol_"})
    carol = next(row for row in rows if row["student_id"] == "carol_")
    assert float(carol["raw_score"]) == sum(scores().values())


# -- an exception while judging one submission -------------------------------------------
VICTIM_MARK = "# the grader trips on this submission"
CLASS = {"amy": scores(), "ben": scores(**{SCALED: 0}), "victim": scores(), "zed": scores()}


def write_class(course, students=CLASS):
    prepare(course)
    for student in students:
        notebook = build(blank={"scaled_dot_product_attention"} if student == "ben" else ())
        if student == "victim":
            notebook.cells.append(nbformat.v4.new_code_cell(VICTIM_MARK))
        write_submission(course / "submitted", student, SCORING, notebook, SCORING)


def test_an_exception_judging_one_submission_costs_that_submission_only(tmp_path, monkeypatch, tool_env):
    import io

    from autograder import grading

    monkeypatch.setenv("PATH", tool_env["PATH"])
    course = tmp_path / "course"
    write_class(course)
    config = load_config(course)

    class TrippingJudge(grading.NotebookJudge):
        def grade(self, cells):
            if any(VICTIM_MARK in source for _, source, _ in cells):
                raise RuntimeError("injected: the judge broke on this one")
            return super().grade(cells)

    monkeypatch.setattr(grading, "NotebookJudge", TrippingJudge)
    stream = io.StringIO()
    results = {r.student: r for r in grading.grade_assignment(config, SCORING, jobs=2, isolate=False,
                                                               stream=stream)}
    assert set(results) == set(CLASS)
    victim = load_result(config, "victim", SCORING)
    assert victim.status.startswith("grading failed: RuntimeError: injected"), victim.status
    assert got_scores(victim) == nothing()
    assert all(q.status == FAULT and "injected" in " ".join(q.messages) for q in victim.questions)
    for student in ("amy", "ben", "zed"):
        result = load_result(config, student, SCORING)
        assert result.status == "graded" and got_scores(result) == CLASS[student], student

    monkeypatch.setattr(grading, "NotebookJudge", TrippingJudge.__mro__[1])
    again = grading.grade_assignment(config, SCORING, jobs=2, isolate=False, stream=io.StringIO())
    assert [r.student for r in again] == ["victim"]  # only the failed one is tried again
    assert got_scores(load_result(config, "victim", SCORING)) == CLASS["victim"]


# -- a full disk -----------------------------------------------------------------------------
# Each runs `grade --jobs 1` (the class in order: amy, ben, victim, zed) with one write made
# to fail with ENOSPC when it is victim's turn; amy and ben are recorded before.
INJECT = {
    "results.json": """
        import autograder.results as target
        real = target.write_atomic
        def write_atomic(path, content):
            if path.name == "results.json" and path.parent.parent.name == "victim":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            return real(path, content)
        target.write_atomic = write_atomic
    """,
    "feedback": """
        import autograder.results as target
        real = target.write_atomic
        def write_atomic(path, content):
            if path.suffix == ".html" and path.parent.parent.name == "victim":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            return real(path, content)
        target.write_atomic = write_atomic
    """,
    "gradebook": """
        import sqlite3
        import sqlalchemy.exc
        import autograder.gradebook as target
        real = target.record_result
        def record_result(gradebook, result):
            if result.student == "victim":
                raise sqlalchemy.exc.OperationalError(
                    "UPDATE grade", {}, sqlite3.OperationalError("database or disk is full"))
            return real(gradebook, result)
        target.record_result = record_result
    """,
    "graded notebook": """
        import autograder.grading as target
        real = target.write_atomic
        def write_atomic(path, content):  # in the worker, which forks with this in place
            if path.suffix == ".ipynb" and "/victim/" in str(path):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            return real(path, content)
        target.write_atomic = write_atomic
    """,
}


@pytest.mark.parametrize("where", sorted(INJECT))
def test_a_full_disk_stops_cleanly_keeps_what_was_recorded_and_a_rerun_completes(where, tmp_path, tool_env):
    course = tmp_path / "course"
    write_class(course)
    script = tmp_path / "full_disk.py"
    script.write_text("import errno, os, sys\n" + textwrap.dedent(INJECT[where]) + textwrap.dedent(f"""
        from autograder.cli import main
        sys.exit(main(["--course", {str(course)!r}, "grade", {SCORING!r}, "--jobs", "1", "--no-sandbox"]))
    """))
    stopped = subprocess.run([sys.executable, str(script)], env=tool_env, capture_output=True, text=True,
                             timeout=600)
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "Traceback" not in stopped.stderr, stopped.stderr
    message = [line for line in stopped.stderr.splitlines() if "grade stopped: the disk is full" in line]
    assert len(message) == 1 and "victim" in message[0], stopped.stderr

    config = load_config(course)
    before = {r.student: r for r in load_results(config, SCORING)}
    assert set(before) == {"amy", "ben"}  # recorded before the disk filled; victim not marked done
    for student, result in before.items():
        assert result.status == "graded" and got_scores(result) == CLASS[student]
        assert (course / "feedback" / student / SCORING / f"{SCORING}.html").is_file()
    assert not list(course.glob("autograded/*/*/.*.tmp")) and not list(course.glob("feedback/*/*/.*.tmp"))

    rerun = grade(course, tool_env, "--jobs", "2", "--no-sandbox")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "4 submissions, 2 to grade" in rerun.stderr, rerun.stderr
    for student, expected in CLASS.items():
        result = load_result(config, student, SCORING)
        assert result.status == "graded" and got_scores(result) == expected, student
    from autograder.gradebook import gradebook_scores, open_gradebook

    with open_gradebook(config) as gradebook:
        recorded = gradebook_scores(gradebook, SCORING)
    for student, expected in CLASS.items():
        assert {q: s for (who, _, q), s in recorded.items() if who == student} == expected, student
    assert json.loads((course / "autograded" / "amy" / SCORING / "results.json").read_text())["student"] == "amy"
