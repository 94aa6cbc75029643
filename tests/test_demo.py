"""`python -m autograder demo`: a small synthetic class built, graded, exported and reported."""
import ast
import csv
import re
import subprocess
import sys

import pytest

from autograder import demo
from autograder.config import load_config
from autograder.course import SOLUTIONS_DIR, assignments, source_notebooks
from autograder.results import load_results

ASSIGNMENTS = ["self_attention", "capstone_backward"]
STUDENTS = 8


@pytest.fixture(scope="module")
def demo_course(tmp_path_factory, tool_env):
    course = tmp_path_factory.mktemp("demo") / "course"
    process = subprocess.run(
        [sys.executable, "-m", "autograder", "--course", str(course), "demo", "--students", str(STUDENTS),
         "--assignments", *ASSIGNMENTS, "--jobs", "2"],
        env=tool_env, capture_output=True, text=True, timeout=900)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    with (course / demo.MANIFEST).open(encoding="utf-8") as stream:
        manifest = list(csv.DictReader(stream))
    results = {(r.student, r.assignment): r for r in load_results(load_config(course))}
    return {"course": course, "stdout": process.stdout, "manifest": manifest, "results": results}


def test_every_submission_is_graded_with_every_question(demo_course):
    manifest, results = demo_course["manifest"], demo_course["results"]
    assert len(manifest) == STUDENTS * len(ASSIGNMENTS)
    submitted = {(row["student_id"], row["assignment"]) for row in manifest if row["kind"] != "absent"}
    assert set(results) == submitted
    for assignment in ASSIGNMENTS:
        questions = {(q.notebook, q.question) for r in results.values() if r.assignment == assignment
                     for q in r.questions}
        for (student, graded), result in results.items():
            if graded == assignment:
                assert {(q.notebook, q.question) for q in result.questions} == questions, student


def test_the_class_has_the_mix_and_grading_sees_it(demo_course):
    results = demo_course["results"]
    kinds = {(row["student_id"], row["assignment"]): row["kind"] for row in demo_course["manifest"]}
    for assignment in ASSIGNMENTS:  # a small class still gets one of each of the first kinds
        given = {kind for (student, a), kind in kinds.items() if a == assignment}
        assert given == {kind for kind, _, _ in demo.KINDS[:STUDENTS]}
    statuses = {q.status for r in results.values() for q in r.questions}
    assert {"passed", "missing", "error"} <= statuses, statuses
    for key, result in results.items():
        kind = kinds[key]
        if kind in ("correct", "renamed"):
            assert result.score == result.max_score and result.status == "graded", key
        elif kind == "crash":  # the process died, was restarted, and the answers still count
            assert result.faults and "SIGKILL" in result.faults[0], key
            assert result.score == result.max_score, key
        elif kind == "blank":
            assert result.score == 0 and result.status == "graded", key
        elif kind in ("partial", "mistake", "syntax_error"):
            assert result.score < result.max_score and result.status == "graded", key
        elif kind == "invalid_json":
            assert result.score == 0 and "not valid JSON" in result.status, key
        elif kind == "no_notebook":
            assert result.score == 0 and "no notebook" in result.status, key


def test_roster_course_settings_and_late_penalty(demo_course):
    from nbgrader.api import Gradebook

    course = demo_course["course"]
    config = load_config(course)
    assert set(config.due) == set(ASSIGNMENTS) and config.late_penalty_per_day > 0
    with (course / demo.ROSTER).open(encoding="utf-8") as stream:
        roster = list(csv.DictReader(stream))
    assert len(roster) == STUDENTS
    with Gradebook(config.gradebook_url) as gradebook:
        students = {s.id: s for s in gradebook.students}
        assert set(students) == {row["id"] for row in roster}
        assert all(students[row["id"]].last_name == row["last_name"] for row in roster)
    with (course / "exports" / "totals.csv").open(encoding="utf-8") as stream:
        totals = {(row["student_id"], row["assignment"]): row for row in csv.DictReader(stream)}
    assert len(totals) == STUDENTS * len(ASSIGNMENTS)
    late = [row for row in demo_course["manifest"] if row["late"]]
    assert len(late) >= len(ASSIGNMENTS)  # at least one late submission per assignment
    for row in late:
        total = totals[(row["student_id"], row["assignment"])]
        assert int(total["late_days"]) >= 1
        if float(total["raw_score"]) > 0:
            assert float(total["final_score"]) < float(total["raw_score"])


def test_feedback_export_and_report_are_written(demo_course):
    course, results = demo_course["course"], demo_course["results"]
    for student, assignment in results:
        assert list((course / "feedback" / student / assignment).glob("*.html")), (student, assignment)
    for name in ("questions.csv", "totals.csv", "canvas.csv", "moodle.csv"):
        assert (course / "exports" / name).stat().st_size > 0, name
    summary = (course / "reports" / "summary.txt").read_text(encoding="utf-8")
    assert f"{STUDENTS} of {STUDENTS} on the roster" in summary
    assert "not valid JSON" in summary
    for assignment in ASSIGNMENTS:
        assert (course / "reports" / f"questions_{assignment}.png").read_bytes().startswith(b"\x89PNG")
    assert str(course) in demo_course["stdout"] and "done in" in demo_course["stdout"]


def test_refuses_a_folder_it_did_not_make(tmp_path, tool_env):
    course = tmp_path / "real-course"
    course.mkdir()
    (course / "gradebook.db").write_bytes(b"precious")
    process = subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), "demo",
                              "--students", "2", "--assignments", "self_attention"],
                             env=tool_env, capture_output=True, text=True, timeout=120)
    assert process.returncode != 0 and "not made by the demo" in process.stderr
    assert (course / "gradebook.db").read_bytes() == b"precious"


@pytest.mark.parametrize("assignment", assignments())
def test_every_mistake_is_valid_python_and_changes_the_answer(assignment):
    for name in source_notebooks(assignment):
        answers = demo.reference_answers(SOLUTIONS_DIR / assignment / f"{name}.ipynb")
        found = demo.applicable_mistakes(answers)
        assert found, f"{assignment}: no typical mistake applies"
        for grade_id, mistake, pattern, replacement in found:
            changed = re.sub(pattern, replacement, answers[grade_id])
            assert changed != answers[grade_id]
            ast.parse(changed)  # a mistake, not a syntax error


def test_allocation_covers_the_class_and_is_reproducible():
    import random

    for count in (1, 8, 10, 60, 200):
        counts = demo.allocate(count)
        assert sum(counts.values()) == count
        assert all(n >= 1 for kind, n in counts.items() if kind in [k for k, _, _ in demo.KINDS[:count]])
    students = [f"s{i:03d}" for i in range(60)]
    ability = {s: random.Random(s).gauss(0, 1) for s in students}
    first = demo.assign_kinds(students, ability, random.Random(3))
    assert first == demo.assign_kinds(students, ability, random.Random(3))
    assert set(first) == set(students)
