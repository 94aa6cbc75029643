"""Scores into nbgrader's gradebook (SQLite by default, PostgreSQL through db_url).

Only the grading process's parent writes here, one submission per transaction,
so a run killed at any moment leaves each submission either fully recorded or
not at all; recording again updates the same rows (never duplicates them).
"""
from __future__ import annotations

import datetime
import warnings
from typing import TYPE_CHECKING

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from autograder.course import ensure_tools_on_path

if TYPE_CHECKING:
    from autograder.config import CourseConfig
    from autograder.results import SubmissionResult

# nbgrader 0.9.6's relationships trigger SQLAlchemy 2 "cartesian product" warnings on
# every query; they say nothing about our data and drown the progress output.
warnings.filterwarnings("ignore", category=SAWarning)


NBGRADER_DEFAULT_COURSE = "default_course"  # the course id nbgrader uses when given none


def open_gradebook(config: CourseConfig) -> Gradebook:
    """The course's gradebook, always opened with its course id (without one, nbgrader
    adds a course row "default_course")."""
    # A new gradebook asks the `alembic` command for its schema version: find it next
    # to this interpreter even when the virtual environment's bin/ is not on PATH.
    ensure_tools_on_path()
    return Gradebook(config.gradebook_url, course_id=config.course_id)


def drop_stray_default_course(db_url: str, course_id: str) -> None:
    """Remove the "default_course" row nbgrader's own preprocessors add to the gradebook.

    nbgrader's generate_assignment runs preprocessors (SaveCells among them) that open
    the gradebook without a course id, so a course named otherwise gets a second,
    empty course row. It is removed only when no assignment belongs to it."""
    from nbgrader.api import Assignment, Course

    if not course_id or course_id == NBGRADER_DEFAULT_COURSE:
        return
    ensure_tools_on_path()
    with Gradebook(db_url, course_id=course_id) as gradebook:
        stray = gradebook.db.query(Course).filter(Course.id == NBGRADER_DEFAULT_COURSE).one_or_none()
        used = gradebook.db.query(Assignment).filter(Assignment.course_id == NBGRADER_DEFAULT_COURSE).count()
        if stray is not None and not used:
            gradebook.db.delete(stray)
            gradebook.db.commit()


def parse_timestamp(text: str | None) -> datetime.datetime | None:
    """A submission time as nbgrader stores it (naive UTC), or None."""
    if not text:
        return None
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


def record_result(gradebook: Gradebook, result: SubmissionResult) -> None:
    """Write one SubmissionResult's scores as nbgrader auto scores, in one transaction."""
    from nbgrader.api import InvalidEntry
    from sqlalchemy.exc import IntegrityError

    # Several processes can share one gradebook (a team on PostgreSQL). Two of
    # them recording the same new student or submission at once both find
    # nothing and both add it; the database's unique keys refuse the second
    # insert (nbgrader rolls back and raises InvalidEntry; an autoflushed insert
    # raises IntegrityError). The winner's row exists by then, so the retry
    # finds it and updates it: no error, and no duplicate.
    attempts = 3
    for attempt in range(attempts):
        try:
            try:
                gradebook.find_student(result.student)
            except MissingEntry:
                gradebook.add_student(result.student)
            try:
                submission = gradebook.find_submission(result.assignment, result.student)
            except MissingEntry:
                submission = gradebook.add_submission(result.assignment, result.student)
            break
        except (InvalidEntry, IntegrityError):
            gradebook.db.rollback()
            if attempt == attempts - 1:
                raise
    submission.timestamp = parse_timestamp(result.timestamp)
    grades = {(grade.notebook.name, grade.name): grade
              for notebook in submission.notebooks for grade in notebook.grades}
    for question in result.questions:
        grade = grades.get((question.notebook, question.question))
        if grade is None:
            raise RuntimeError(f"the gradebook has no question {question.notebook}/{question.question} "
                               f"in {result.assignment}; run `python -m autograder release` first")
        grade.auto_score = question.score
        grade.needs_manual_grade = False
    gradebook.db.commit()


def gradebook_scores(gradebook: Gradebook, assignment: str) -> dict[tuple[str, str, str], float]:
    """{(student, notebook, question): score} as the gradebook has them now.

    A score an instructor changed in the formgrader (manual_score) wins over
    the autograder's.
    """
    scores: dict[tuple[str, str, str], float] = {}
    for submission in gradebook.find_assignment(assignment).submissions:
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                scores[(submission.student.id, notebook.name, grade.name)] = float(grade.score or 0.0)
    return scores
