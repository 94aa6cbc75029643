"""A grading run killed with kill -9, twice, then started again, finishes the job:
no submission lost, none recorded twice, nothing corrupt in results.json or the gradebook."""
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from autograder.config import load_config
from autograder.results import RESULTS_FILE, load_result
from submission_factory import make_submission, reference_answers, write_submission

ASSIGNMENT = "scoring_functions"
STUDENTS = 14


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("resume-course")
    answers = list(reference_answers(ASSIGNMENT))
    for number in range(STUDENTS):
        blank = answers if number % 3 == 0 else []  # every third student hands in the blank notebook
        write_submission(course / "submitted", f"s{number:02d}", ASSIGNMENT,
                         make_submission(ASSIGNMENT, blank=blank), ASSIGNMENT)
    return course


def grade_command(course):
    return [sys.executable, "-m", "autograder", "--course", str(course), "grade", ASSIGNMENT, "--jobs", "2"]


def done(course):
    return sorted(course.glob(f"autograded/*/{ASSIGNMENT}/{RESULTS_FILE}"))


def kill_after(course, tool_env, finished):
    """Start grading; kill -9 the whole run once `finished` more results are on disk."""
    before = len(done(course))
    process = subprocess.Popen(grade_command(course), env=tool_env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(done(course)) < before + finished and process.poll() is None:
        assert time.monotonic() < deadline, "grading made no progress"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return len(done(course))


def test_kill_nine_twice_then_resume(course, tool_env):
    first = kill_after(course, tool_env, 3)
    second = kill_after(course, tool_env, 3)
    assert 3 <= first < second < STUDENTS, (first, second)
    config = load_config(course)
    for path in done(course):  # every result on disk is whole
        assert load_result(config, path.parent.parent.name, ASSIGNMENT) is not None, path

    resumed = subprocess.run(grade_command(course), env=tool_env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # Only what was missing is graded again (one more may have been mid-record when killed).
    line = next(l for l in resumed.stderr.splitlines() if "to grade" in l)
    to_grade = int(line.split(",")[1].split()[0])
    assert STUDENTS - second <= to_grade <= STUDENTS - second + 1, line

    answers = list(reference_answers(ASSIGNMENT))
    assert len(done(course)) == STUDENTS
    for number in range(STUDENTS):
        result = load_result(config, f"s{number:02d}", ASSIGNMENT)
        assert result.status == "graded"
        assert result.score == (0 if number % 3 == 0 else result.max_score), (number, result.score)
        assert len(result.questions) == len(answers)

    engine = create_engine(config.gradebook_url)
    with engine.connect() as db:
        submissions = db.execute(text(
            "select student_id, count(*) from submitted_assignment group by student_id")).all()
        grades = db.execute(text("select count(*) from grade")).scalar()
        scores = dict(db.execute(text(
            "select s.student_id, sum(g.auto_score) from grade g "
            "join submitted_notebook n on g.notebook_id = n.id "
            "join submitted_assignment s on n.assignment_id = s.id group by s.student_id")).all())
    assert sorted(submissions) == [(f"s{n:02d}", 1) for n in range(STUDENTS)]
    assert grades == STUDENTS * len(answers)
    full = load_result(config, "s01", ASSIGNMENT).max_score
    assert scores == {f"s{n:02d}": (0 if n % 3 == 0 else full) for n in range(STUDENTS)}

    again = subprocess.run(grade_command(course), env=tool_env, capture_output=True, text=True, timeout=300)
    assert ", 0 to grade" in again.stderr, again.stderr[-1000:]
