"""Write grade CSVs for an LMS gradebook import: python -m autograder export [ASSIGNMENT ...].

Reads the graded results (COURSE/autograded/STUDENT/ASSIGNMENT/results.json)
and nbgrader's gradebook, and writes COURSE/exports/:

  questions.csv  one row per student per question:
                 student_id, assignment, notebook, question, score, max_score, status
  checks.csv     one row per student per named check of a question (the partial
                 credit behind questions.csv's score, as the autograder gave it):
                 student_id, assignment, notebook, question, check, score, points, status
  totals.csv     one row per student per assignment:
                 student_id, assignment, raw_score, max_score, submitted, due,
                 late_days, penalty, final_score, status
  canvas.csv     Canvas gradebook import: Student, ID, SIS User ID, SIS Login ID,
                 Section, then one column per assignment (final score)
  moodle.csv     Moodle CSV grade import: ID number, Email address, First name,
                 Last name, then one column per assignment (final score)

Scores: a score an instructor set in nbgrader's formgrader wins over the
autograder's, extra credit is added (either makes the status "manual" in
questions.csv; autograder.manual_grades reads them). Every student of the roster
(the gradebook's students) gets a row; one with no submission gets 0 and the
status "no submission".

Late penalty: days late = the number of started days (24 h) between the due
date and the submission time, rounded up (one second late is one day; on time
or early is 0). The penalty is per_day x days late, as a fraction of the raw
score, capped at `maximum` (and at 1), never negative:
    penalty = raw_score x min(per_day x late_days, maximum)
    final_score = raw_score - penalty
per_day and maximum come from course.toml ([late_penalty] per_day, maximum);
the due date from course.toml ([due] ASSIGNMENT = "2026-10-01T23:59:00+00:00"),
else from the gradebook's assignment due date (nbgrader stores UTC). An
extension granted in nbgrader's gradebook moves a student's due date. No due
date or no submission time means no penalty.

Each file is written atomically (a temporary file renamed over the old one).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.grade_tables import (CHECK_COLUMNS, QUESTION_COLUMNS, TOTAL_COLUMNS, Grades, Student, check_rows,
                                     csv_text, final_scores, question_rows, total_rows)
from autograder.results import write_atomic

if TYPE_CHECKING:
    from autograder.config import CourseConfig


@dataclass(frozen=True)
class LmsFormat:
    """One LMS's grade import file: a row per roster student, the student's cells under
    `columns`, then the final score of each assignment under the assignment's name."""
    file: str
    columns: list[str]  # the student's columns, before the assignments'
    student_cells: Callable[[Student], list[str]]  # a cell per column


def canvas_cells(student: Student) -> list[str]:
    """Student is "Last, First" (the student id when the roster has no name); ID is the
    Canvas user id (the gradebook's lms_user_id); SIS User ID is the nbgrader student id."""
    names = ", ".join(part for part in (student.last_name, student.first_name) if part)
    return [names or student.id, student.lms_user_id, student.id, "", ""]


def moodle_cells(student: Student) -> list[str]:
    """ID number is the nbgrader student id; map it, or Email address, in Moodle's import."""
    return [student.id, student.email, student.first_name, student.last_name]


# The LMS import files export writes, in this order. Adding an LMS is one entry here.
LMS_FORMATS = {
    # Canvas reads these five columns first, then one column per assignment; a column
    # it does not know becomes a new assignment, so nothing else goes in this file.
    "canvas": LmsFormat("canvas.csv", ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"], canvas_cells),
    # Moodle lets the instructor map "ID number" (useridnumber) or "Email address" (useremail).
    "moodle": LmsFormat("moodle.csv", ["ID number", "Email address", "First name", "Last name"], moodle_cells),
}


def lms_rows(lms: LmsFormat, grades: Grades) -> Iterator[list[str]]:
    """One row per roster student: the student's cells, then the final score per assignment."""
    finals = final_scores(grades)
    for student in grades.roster.values():
        yield lms.student_cells(student) + finals[student.id]


def write_exports(config: CourseConfig, grades: Grades) -> list[Path]:
    """Write questions.csv, totals.csv, one file per LMS format and checks.csv; returns their paths."""
    folder = config.exports
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "questions.csv": csv_text(QUESTION_COLUMNS, question_rows(grades)),
        "totals.csv": csv_text(TOTAL_COLUMNS, total_rows(grades)),
    }
    for lms in LMS_FORMATS.values():
        files[lms.file] = csv_text(lms.columns + grades.assignments, lms_rows(lms, grades))
    files["checks.csv"] = csv_text(CHECK_COLUMNS, check_rows(grades))
    written = []
    for name, text in files.items():
        write_atomic(folder / name, text)
        written.append(folder / name)
    return written
