"""autograder.gradebook on a small SQLite gradebook built with nbgrader's API (no release, no
nbgrader command): scores recorded once per question and updated in place, times stored as
nbgrader does (naive UTC, whatever the machine's zone), manual scores winning, a question the
gradebook does not know refused, and the retry when another grader added the same row first."""
import datetime
import os
import re
import shutil
import sys
from pathlib import Path

import nbgrader.api
import pytest
import sqlalchemy
from nbgrader.api import Course, InvalidEntry, MissingEntry

from autograder.config import CourseConfig
from autograder.gradebook import (drop_stray_default_course, gradebook_scores, open_gradebook, parse_timestamp,
                                  record_result)
from autograder.results import FAILED, PASSED, QuestionResult, SubmissionResult


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A gradebook with assignment hw: notebook nb, questions q1 (2 points) and q2 (6), made once
    and copied for each test. (A new gradebook asks the alembic command for its schema version,
    which takes seconds; test_open_gradebook_finds_alembic_without_path does that for real.)"""
    config = CourseConfig(root=tmp_path_factory.mktemp("template"), course_id="unit-course")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nbgrader.api, "get_alembic_version", lambda: "not-asked")
        gradebook = open_gradebook(config)
    try:
        gradebook.add_assignment("hw")
        gradebook.add_notebook("nb", "hw")
        gradebook.add_grade_cell("q1", "nb", "hw", max_score=2, cell_type="code")
        gradebook.add_grade_cell("q2", "nb", "hw", max_score=6, cell_type="code")
    finally:
        gradebook.close()
    return config.root / "gradebook.db"


@pytest.fixture
def course(tmp_path, template):
    shutil.copy(template, tmp_path / "gradebook.db")
    return CourseConfig(root=tmp_path, course_id="unit-course")


def result(student="ada", timestamp="2026-10-01T14:00:00+02:00", q1=2.0, q2=1.5):
    return SubmissionResult(student, "hw", "sha256:x", "graded", timestamp=timestamp,
                            questions=[QuestionResult("nb", "q1", q1, 2.0, PASSED),
                                       QuestionResult("nb", "q2", q2, 6.0, FAILED)])


def test_open_gradebook_finds_alembic_without_path(tmp_path, monkeypatch):
    """A new course's gradebook, with the virtual environment's bin/ not on PATH (nbgrader runs
    `alembic`, which lives there)."""
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                               if Path(p) != Path(sys.executable).parent))
    gradebook = open_gradebook(CourseConfig(root=tmp_path, course_id="new-course"))
    try:
        assert [c.id for c in gradebook.db.query(Course)] == ["new-course"]
        version = gradebook.db.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalar()
        assert re.fullmatch(r"[0-9a-f]{12}", version)  # nbgrader's current schema revision
    finally:
        gradebook.close()


def test_open_gradebook_opens_the_course_gradebook(course):
    gradebook = open_gradebook(course)
    try:
        assert [a.name for a in gradebook.assignments] == ["hw"]
        assert [c.id for c in gradebook.db.query(Course)] == ["unit-course"]
    finally:
        gradebook.close()


@pytest.mark.parametrize("text, expected", [
    ("", None), (None, None),
    ("2026-10-01T14:00:00+02:00", datetime.datetime(2026, 10, 1, 12, 0)),
    ("2026-10-01T12:00:00", datetime.datetime(2026, 10, 1, 12, 0)),
    ("2026-10-01T12:00:00.250000+00:00", datetime.datetime(2026, 10, 1, 12, 0, 0, 250000)),
])
def test_parse_timestamp_gives_naive_utc(los_angeles, text, expected):
    moment = parse_timestamp(text)
    assert moment == expected
    assert moment is None or moment.tzinfo is None


def test_record_result(course, los_angeles):
    gradebook = open_gradebook(course)
    try:
        record_result(gradebook, result())
        submission = gradebook.find_submission("hw", "ada")
        assert submission.timestamp == datetime.datetime(2026, 10, 1, 12, 0)
        grades = {g.name: g for g in submission.notebooks[0].grades}
        assert (grades["q1"].auto_score, grades["q2"].auto_score) == (2.0, 1.5)
        assert not grades["q1"].needs_manual_grade and not grades["q2"].needs_manual_grade
        assert gradebook_scores(gradebook, "hw") == {("ada", "nb", "q1"): 2.0, ("ada", "nb", "q2"): 1.5}
    finally:
        gradebook.close()


def test_recording_again_updates_the_same_rows(course):
    gradebook = open_gradebook(course)
    try:
        record_result(gradebook, result())
        record_result(gradebook, result(timestamp="", q1=0.0, q2=6.0))
        assert len(gradebook.students) == 1
        assert len(gradebook.find_assignment("hw").submissions) == 1
        submission = gradebook.find_submission("hw", "ada")
        assert submission.timestamp is None
        assert gradebook_scores(gradebook, "hw") == {("ada", "nb", "q1"): 0.0, ("ada", "nb", "q2"): 6.0}
    finally:
        gradebook.close()
    gradebook = open_gradebook(course)  # committed, not only in this session
    try:
        assert gradebook_scores(gradebook, "hw") == {("ada", "nb", "q1"): 0.0, ("ada", "nb", "q2"): 6.0}
    finally:
        gradebook.close()


def test_a_manual_score_wins_and_an_ungraded_question_counts_zero(course):
    gradebook = open_gradebook(course)
    try:
        record_result(gradebook, result("ada"))
        gradebook.add_student("bo")
        gradebook.add_submission("hw", "bo")  # in the gradebook, never auto-graded
        gradebook.find_grade("q2", "nb", "hw", "ada").manual_score = 5.0
        gradebook.db.commit()
        assert gradebook_scores(gradebook, "hw") == {
            ("ada", "nb", "q1"): 2.0, ("ada", "nb", "q2"): 5.0, ("bo", "nb", "q1"): 0.0, ("bo", "nb", "q2"): 0.0}
        assert all(isinstance(v, float) for v in gradebook_scores(gradebook, "hw").values())
    finally:
        gradebook.close()


def test_a_question_the_gradebook_does_not_know_is_refused(course):
    unknown = result()
    unknown.questions.append(QuestionResult("nb", "q9", 1.0, 1.0, PASSED))
    gradebook = open_gradebook(course)
    try:
        with pytest.raises(RuntimeError) as raised:
            record_result(gradebook, unknown)
        assert str(raised.value) == ("the gradebook has no question nb/q9 in hw; "
                                     "run `python -m autograder release` first")
    finally:
        gradebook.close()


class Racing:
    """A gradebook where another grader adds the same student at the same moment, `losses` times
    before ours gets through: find_student finds nothing, add_student is refused."""

    def __init__(self, gradebook, losses):
        self.gradebook, self.losses, self.rollbacks = gradebook, losses, 0
        self.db = self

    def rollback(self):
        self.rollbacks += 1
        self.gradebook.db.rollback()

    def commit(self):
        self.gradebook.db.commit()

    def find_student(self, student):
        if self.losses:
            raise MissingEntry()
        return self.gradebook.find_student(student)

    def add_student(self, student):
        if self.losses:  # the other grader's insert won: the database refuses ours
            self.losses -= 1
            raise InvalidEntry("duplicate key")
        return self.gradebook.add_student(student)

    def find_submission(self, assignment, student):
        return self.gradebook.find_submission(assignment, student)

    def add_submission(self, assignment, student):
        return self.gradebook.add_submission(assignment, student)


def test_a_row_another_grader_added_first_is_found_on_retry(course):
    gradebook = open_gradebook(course)
    try:
        racing = Racing(gradebook, losses=2)
        record_result(racing, result())
        assert racing.rollbacks == 2
        assert gradebook_scores(gradebook, "hw")[("ada", "nb", "q1")] == 2.0
    finally:
        gradebook.close()


def test_three_lost_races_raise(course):
    gradebook = open_gradebook(course)
    try:
        racing = Racing(gradebook, losses=3)
        with pytest.raises(InvalidEntry):
            record_result(racing, result())
        assert racing.rollbacks == 3
    finally:
        gradebook.close()


# -- nbgrader's stray "default_course" row ----------------------------------------------------

def course_rows(config):
    """{course id: its assignments' names} as the gradebook holds them (read with SQL: opening it
    through nbgrader would add the course's row)."""
    engine = sqlalchemy.create_engine(config.gradebook_url)
    try:
        with engine.connect() as connection:
            rows = {course: [] for course, in connection.execute(sqlalchemy.text("SELECT id FROM course"))}
            for name, course in connection.execute(sqlalchemy.text("SELECT name, course_id FROM assignment")):
                rows[course].append(name)
    finally:
        engine.dispose()
    return {course: sorted(names) for course, names in rows.items()}


def open_as_nbgrader_does(config, assignment=None):
    """Open the gradebook as nbgrader's preprocessors do (course id "default_course"), which adds
    that course's row; with an assignment, one that belongs to it."""
    with nbgrader.api.Gradebook(config.gradebook_url, course_id="default_course") as gradebook:
        if assignment:
            gradebook.add_assignment(assignment)


def test_the_stray_default_course_row_is_dropped(course):
    open_as_nbgrader_does(course)
    assert course_rows(course) == {"unit-course": ["hw"], "default_course": []}
    drop_stray_default_course(course.gradebook_url, "unit-course")
    assert course_rows(course) == {"unit-course": ["hw"]}
    drop_stray_default_course(course.gradebook_url, "unit-course")  # nothing left to drop
    assert course_rows(course) == {"unit-course": ["hw"]}


def test_a_default_course_with_an_assignment_is_kept(course):
    open_as_nbgrader_does(course, assignment="ps0")
    drop_stray_default_course(course.gradebook_url, "unit-course")
    assert course_rows(course) == {"unit-course": ["hw"], "default_course": ["ps0"]}


@pytest.mark.parametrize("course_id", ["default_course", "", None])
def test_a_course_named_default_course_or_unnamed_keeps_its_row(course, course_id):
    """A course whose own id is "default_course" (or that has none) has no stray row to drop."""
    open_as_nbgrader_does(course)
    drop_stray_default_course(course.gradebook_url, course_id)
    assert course_rows(course) == {"unit-course": ["hw"], "default_course": []}


def test_a_gradebook_nbgrader_made_alone_ends_with_the_courses_own_row(tmp_path, monkeypatch):
    """A gradebook that only nbgrader's preprocessors have opened holds "default_course" alone;
    afterwards it holds the course's own row instead."""
    config = CourseConfig(root=tmp_path, course_id="unit-course")
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: "not-asked")  # a new gradebook
    open_as_nbgrader_does(config)
    assert course_rows(config) == {"default_course": []}
    drop_stray_default_course(config.gradebook_url, "unit-course")
    assert course_rows(config) == {"unit-course": []}
