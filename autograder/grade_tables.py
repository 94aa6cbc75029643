"""Grade tables: the graded results and nbgrader's gradebook read into one Grades, and its rows.

`export` (the CSV files) and `report` (the plots and summary) both read the grades
through this module, so a score, a late penalty or a status is computed in one place:

  collect(config, assignments)  -> Grades: the roster, one Total per student and
                                   assignment (its QuestionScores, late days, penalty),
                                   the questions of each assignment in notebook order
  question_rows, check_rows, total_rows, final_scores
                                -> the rows of questions.csv, checks.csv, totals.csv
                                   and the final scores of the LMS files
  select_assignments(config, requested)
                                -> the assignments a command works on, or why none

The rules (a formgrader score wins, extra credit, the late penalty, the roster) are
stated for instructors in autograder/export.py's docstring (`export --help`).
"""
from __future__ import annotations

import csv
import datetime
import io
import json
import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autograder.results import load_results

if TYPE_CHECKING:
    from nbgrader.api import Gradebook

    from autograder.config import CourseConfig
    from autograder.results import SubmissionResult

# (notebook, question, max_score): one question of an assignment
Question = tuple[str, str, float]

QUESTION_COLUMNS = ["student_id", "assignment", "notebook", "question", "score", "max_score", "status"]
CHECK_COLUMNS = ["student_id", "assignment", "notebook", "question", "check", "score", "points", "status"]
TOTAL_COLUMNS = ["student_id", "assignment", "raw_score", "max_score", "submitted", "due",
                 "late_days", "penalty", "final_score", "status"]

NO_SUBMISSION = "no submission"
MANUAL = "manual"  # an instructor's formgrader score replaced the autograder's
DAY = datetime.timedelta(days=1)


@dataclass
class Student:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""


@dataclass
class QuestionScore:
    notebook: str
    question: str
    score: float
    max_score: float
    status: str


@dataclass
class Total:
    """One student's grade for one assignment."""
    student: str
    assignment: str
    raw_score: float
    max_score: float
    submitted: datetime.datetime | None = None  # aware (UTC) or None
    due: datetime.datetime | None = None  # aware (UTC) or None, extension included
    late_days: int = 0
    penalty: float = 0.0  # points taken off
    status: str = NO_SUBMISSION
    questions: list[QuestionScore] = field(default_factory=list)  # in notebook order
    result: SubmissionResult | None = None

    @property
    def final_score(self) -> float:
        return max(self.raw_score - self.penalty, 0.0)

    @property
    def submitted_something(self) -> bool:
        return self.status != NO_SUBMISSION


@dataclass
class Grades:
    """Everything the export and the report need, read once."""
    assignments: list[str]  # names, in export order
    roster: dict[str, Student]  # student id -> Student, sorted by id
    totals: dict[str, list[Total]]  # assignment -> [Total], sorted by student
    questions: dict[str, list[Question]]  # assignment -> its questions, in notebook order


# -- the late-penalty rule ---------------------------------------------------

def late_days(submitted: datetime.datetime | None, due: datetime.datetime | None) -> int:
    """Started days (24 h) between due and submitted; 0 when on time or unknown."""
    if submitted is None or due is None or submitted <= due:
        return 0
    return math.ceil((submitted - due) / DAY)


def penalty_fraction(days: int, per_day: float, maximum: float) -> float:
    """The fraction of the score lost for `days` started days late."""
    cap = min(max(maximum, 0.0), 1.0)
    return min(max(per_day * days, 0.0), cap)


def as_utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    """An aware UTC datetime; a naive one is taken as UTC (nbgrader's convention)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def parse_time(text: str | None) -> datetime.datetime | None:
    """An ISO 8601 submission time as aware UTC, or None when absent or unreadable."""
    if not text:
        return None
    try:
        return as_utc(datetime.datetime.fromisoformat(text.strip()))
    except ValueError:
        return None


# -- reading the grades --------------------------------------------------------

def graded_assignments(config: CourseConfig) -> list[str]:
    """Assignments with at least one saved result, sorted."""
    return sorted({result.assignment for result in load_results(config)})


def _gradebook_exists(config: CourseConfig) -> bool:
    if config.db_url:
        return True
    return (config.root / "gradebook.db").exists()


def collect(config: CourseConfig, assignments: Sequence[str]) -> Grades:
    """Read results.json files and the gradebook into Grades for these assignments."""
    gradebook = None
    if _gradebook_exists(config):
        from autograder.gradebook import open_gradebook
        gradebook = open_gradebook(config)
    try:
        roster = _roster(gradebook)
        results = {a: {r.student: r for r in load_results(config, a)} for a in assignments}
        for found in results.values():
            for student in found:
                roster.setdefault(student, Student(student))
        roster = dict(sorted(roster.items()))
        totals, questions = {}, {}
        for assignment in assignments:
            questions[assignment] = _questions(config, gradebook, assignment, results[assignment].values())
            book = _gradebook_view(gradebook, assignment)
            totals[assignment] = [
                _total(config, assignment, student, questions[assignment], results[assignment].get(student), book)
                for student in roster]
        return Grades(list(assignments), roster, totals, questions)
    finally:
        if gradebook is not None:
            gradebook.close()


def _roster(gradebook: Gradebook | None) -> dict[str, Student]:
    """The gradebook's students. One whose id breaks the student id rule (added to
    the gradebook by other means, "carol\n") gets no row: an LMS would read it as
    another student's. It is named on stderr."""
    from autograder.submissions import student_id_problem

    if gradebook is None:
        return {}
    roster = {}
    for s in gradebook.students:
        problem = student_id_problem(s.id)
        if problem:
            print(f"export: gradebook student left out: {problem}", file=sys.stderr)
            continue
        roster[s.id] = Student(s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
    return roster


def _questions(config: CourseConfig, gradebook: Gradebook | None, assignment: str,
               results: Iterable[SubmissionResult]) -> list[Question]:
    """[(notebook, question, max_score)] in the order of the source notebooks.

    The gradebook is the authority on which questions exist and their points;
    results.json files fill in when there is no gradebook.
    """
    from nbgrader.api import MissingEntry

    found = {}
    if gradebook is not None:
        try:
            notebooks = gradebook.find_assignment(assignment).notebooks
        except MissingEntry:  # graded, but not released into this course folder
            notebooks = []
        for notebook in notebooks:
            for cell in notebook.grade_cells:
                found[(notebook.name, cell.name)] = float(cell.max_score)
    for result in results:
        for q in result.questions:
            found.setdefault((q.notebook, q.question), float(q.max_score))
    order = _source_order(config, assignment)
    keys = sorted(found, key=lambda key: (order.get(key, (len(order), 0)), key))
    return [(notebook, question, found[(notebook, question)]) for notebook, question in keys]


def _source_order(config: CourseConfig, assignment: str) -> dict[tuple[str, str], tuple[int, int]]:
    """{(notebook, grade_id): position} from COURSE/source/ASSIGNMENT/*.ipynb.

    Read as plain JSON, not with nbformat: a notebook that does not validate still
    orders its questions, and an unreadable one is skipped rather than stopping the export."""
    from autograder.course import source_notebook_paths

    order = {}
    for notebook, path in source_notebook_paths(config, assignment).items():
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        for index, cell in enumerate(cells):
            grading = cell.get("metadata", {}).get("nbgrader", {})
            if grading.get("grade") and grading.get("grade_id"):
                order[(notebook, grading["grade_id"])] = (len(order), index)
    return order


@dataclass
class _BookView:
    scores: dict[tuple[str, str, str], float]  # (student, notebook, question) -> score (a manual score wins)
    manual: set[tuple[str, str, str]]  # (student, notebook, question) with a manual score
    timestamps: dict[str, datetime.datetime | None]  # student -> submission time (aware UTC) or None
    extensions: dict[str, datetime.timedelta]  # student -> extension
    duedate: datetime.datetime | None = None  # the assignment's due date in the gradebook


def _gradebook_view(gradebook: Gradebook | None, assignment: str) -> _BookView:
    view = _BookView({}, set(), {}, {})
    if gradebook is None:
        return view
    from nbgrader.api import MissingEntry

    from autograder.gradebook import gradebook_scores
    from autograder.manual_grades import set_by_hand
    try:
        record = gradebook.find_assignment(assignment)
    except MissingEntry:
        return view
    view.duedate = as_utc(record.duedate)
    view.scores = gradebook_scores(gradebook, assignment)
    view.manual = set_by_hand(gradebook, assignment)  # a manual score or extra credit
    for submission in record.submissions:
        student = submission.student.id
        view.timestamps[student] = as_utc(submission.timestamp)
        if submission.extension:
            view.extensions[student] = submission.extension
    return view


def due_date(config: CourseConfig, assignment: str, book: _BookView, student: str) -> datetime.datetime | None:
    """The student's due date: course.toml's, else the gradebook's, plus any extension."""
    due = as_utc(config.due.get(assignment)) or book.duedate
    if due is not None and student in book.extensions:
        due = due + book.extensions[student]
    return due


def _total(config: CourseConfig, assignment: str, student: str, questions: list[Question],
           result: SubmissionResult | None, book: _BookView) -> Total:
    total = Total(student, assignment, 0.0, sum(q[2] for q in questions))
    total.due = due_date(config, assignment, book, student)
    if result is None and student not in book.timestamps:
        total.questions = [QuestionScore(nb, q, 0.0, top, NO_SUBMISSION) for nb, q, top in questions]
        return total
    by_question = {(q.notebook, q.question): q for q in result.questions} if result else {}
    for notebook, question, top in questions:
        key = (student, notebook, question)
        mine = by_question.get((notebook, question))
        status = mine.status if mine else "missing"
        score = mine.score if mine else 0.0
        if key in book.scores:
            score = book.scores[key]
        if key in book.manual:
            status = MANUAL
        total.questions.append(QuestionScore(notebook, question, float(score), top, status))
    total.raw_score = sum(q.score for q in total.questions)
    total.result = result
    total.status = result.status if result else "graded in nbgrader only"
    total.submitted = (parse_time(result.timestamp) if result else None) or book.timestamps.get(student)
    total.late_days = late_days(total.submitted, total.due)
    fraction = penalty_fraction(total.late_days, config.late_penalty_per_day, config.late_penalty_max)
    total.penalty = max(total.raw_score, 0.0) * fraction
    return total


# -- writing -------------------------------------------------------------------

def number(value: float | str) -> str:
    """A score as text: at most 4 decimals, no trailing zeros ("6.4", "10", "0")."""
    text = f"{round(float(value), 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _time(moment: datetime.datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def csv_text(header: list[str], rows: Iterable[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def question_rows(grades: Grades) -> Iterator[list]:
    for assignment in grades.assignments:
        for total in grades.totals[assignment]:
            for q in total.questions:
                yield [total.student, assignment, q.notebook, q.question,
                       number(q.score), number(q.max_score), q.status]


def check_rows(grades: Grades) -> Iterator[list]:
    """The autograder's named checks (a score set by hand in the formgrader is in
    questions.csv; it does not say which check it changed)."""
    for assignment in grades.assignments:
        for total in grades.totals[assignment]:
            for q in total.result.questions if total.result else []:
                for check in q.checks:
                    yield [total.student, assignment, q.notebook, q.question, check.name,
                           number(check.score), number(check.points), check.status]


def total_rows(grades: Grades) -> Iterator[list]:
    for assignment in grades.assignments:
        for t in grades.totals[assignment]:
            yield [t.student, assignment, number(t.raw_score), number(t.max_score), _time(t.submitted),
                   _time(t.due), t.late_days, number(t.penalty), number(t.final_score), t.status]


def final_scores(grades: Grades) -> dict[str, list[str]]:
    """{student: [final score text per assignment]} for the LMS files."""
    finals = {student: [] for student in grades.roster}
    for assignment in grades.assignments:
        for total in grades.totals[assignment]:
            finals[total.student].append(number(total.final_score))
    return finals


def select_assignments(config: CourseConfig, requested: Sequence[str]) -> tuple[list[str] | None, str]:
    """The assignments to export/report, or an error message."""
    graded = graded_assignments(config)
    if not graded:
        return None, (f"nothing is graded yet: no results in {config.autograded()}; "
                      "run `python -m autograder grade ASSIGNMENT` first")
    if not requested:
        return graded, ""
    missing = [name for name in requested if name not in graded]
    if missing:
        return None, (f"no graded submissions for {', '.join(missing)}; "
                      f"graded assignments: {', '.join(graded)}")
    return list(dict.fromkeys(requested)), ""
