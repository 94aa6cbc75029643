"""Hand grading in nbgrader's formgrader, read from the gradebook: manual scores, extra credit
and comments. `export` (which questions were set by hand) and `feedback` (what the student
reads) both read them here.

nbgrader keeps, per question (grade cell) of a submitted notebook, the autograder's score
(auto_score, which `grade` records), the instructor's (manual_score, None until one is typed)
and extra credit; its score is manual_score, else auto_score, plus extra credit. A comment
belongs to a cell the student wrote in (a solution or task cell); on the student's page it goes
with the question whose test cell comes next in the source notebook.
"""
from __future__ import annotations

import dataclasses
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbgrader.api import Gradebook

    from autograder.config import CourseConfig
    from autograder.results import SubmissionResult


@dataclass
class HandGrade:
    """What an instructor set on one question of one submission."""
    manual_score: float | None = None  # None: the autograder's score stands
    extra_credit: float = 0.0


@dataclass
class HandGrades:
    """The hand grading of one submission."""
    grades: dict[tuple[str, str], HandGrade] = field(default_factory=dict)  # (notebook, question) -> HandGrade
    comments: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (notebook, question or "") -> [text]

    def __bool__(self) -> bool:
        return bool(self.grades or self.comments)

    def score(self, notebook: str, question: str, auto_score: float) -> float:
        """The question's score as nbgrader's gradebook (and so `export`) has it."""
        hand = self.grades.get((notebook, question))
        if hand is None:
            return auto_score
        base = auto_score if hand.manual_score is None else hand.manual_score
        return base + hand.extra_credit

    def applied(self, result: SubmissionResult) -> SubmissionResult:
        """A copy of a SubmissionResult with each question's score as the gradebook has it."""
        questions = [dataclasses.replace(q, score=self.score(q.notebook, q.question, q.score))
                     for q in result.questions]
        return dataclasses.replace(result, questions=questions)

    def notes_html(self, result: SubmissionResult, notebook: str, titles: dict[str, str]) -> str:
        """The "From your instructor" section of a notebook's feedback page ("" when there is
        nothing): each score set by hand with the autograder's, extra credit, and the comments.
        result: the SubmissionResult as graded (its scores the autograder's)."""
        from autograder.feedback import _anchor, score_text

        items = []
        for q in result.questions:
            if q.notebook != notebook:
                continue
            hand = self.grades.get((notebook, q.question))
            lines = []
            if hand is not None and hand.manual_score is not None:
                lines.append(f"Score set by hand: <strong>{score_text(hand.manual_score)} / "
                             f"{score_text(q.max_score)}</strong> (the autograder gave {score_text(q.score)}).")
            if hand is not None and hand.extra_credit:
                lines.append(f"Extra credit: <strong>{hand.extra_credit:+g}</strong>.")
            lines += [_comment(text) for text in self.comments.get((notebook, q.question), [])]
            if lines:
                title = html.escape(titles.get(q.question) or q.question)
                items.append(f'<li><a href="#{_anchor(q.question)}">{title}</a>: ' + " ".join(lines) + "</li>")
        items += [f"<li>{_comment(text)}</li>" for text in self.comments.get((notebook, ""), [])]
        if not items:
            return ""
        return ('<section class="instructor" aria-labelledby="from-instructor" style="border: 1px solid #ccc; '
                'border-left: 6px solid #1a5fb4; border-radius: 4px; padding: .6rem 1rem; margin: 1.2rem 0">'
                '<h2 id="from-instructor">From your instructor</h2><ul>' + "".join(items) + "</ul>"
                "<p>Scores set by hand replace the autograder's in the table and totals.</p></section>")


def _comment(text):
    return f'<span class="comment">Comment: {html.escape(text)}</span>'


def set_by_hand(gradebook: Gradebook, assignment: str) -> set[tuple[str, str, str]]:
    """{(student, notebook, question)} whose score an instructor set or gave extra credit to."""
    from nbgrader.api import MissingEntry

    try:
        record = gradebook.find_assignment(assignment)
    except MissingEntry:
        return set()
    return {(submission.student.id, notebook.name, grade.name)
            for submission in record.submissions for notebook in submission.notebooks
            for grade in notebook.grades if grade.manual_score is not None or grade.extra_credit}


def read_hand_grades(gradebook: Gradebook, assignment: str, student: str,
                     question_after: dict[str, dict[str, str]] | None = None) -> HandGrades:
    """The HandGrades of one submission (empty when the gradebook has none).

    question_after: notebook -> {cell name: grade_id of the next test cell}, where comments go.
    """
    from nbgrader.api import MissingEntry

    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return HandGrades()
    question_after = question_after or {}
    found = HandGrades()
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            if grade.manual_score is not None or grade.extra_credit:
                found.grades[(notebook.name, grade.name)] = HandGrade(
                    None if grade.manual_score is None else float(grade.manual_score),
                    float(grade.extra_credit or 0.0))
        for comment in notebook.comments:
            text = (comment.manual_comment or "").strip()
            if text:
                question = question_after.get(notebook.name, {}).get(comment.name, "")
                found.comments.setdefault((notebook.name, question), []).append(text)
    return found


def questions_after_cells(source_folder: Path | str) -> dict[str, dict[str, str]]:
    """{notebook: {cell name: grade_id of the first test cell at or after it}} from the source
    notebooks (a comment on an answer cell goes with the test of that answer)."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(Path(source_folder).glob("*.ipynb")):
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        waiting, after = [], {}
        for cell in cells:
            grading = cell.get("metadata", {}).get("nbgrader", {})
            if grading.get("grade_id"):
                waiting.append(grading["grade_id"])
            if grading.get("grade") and grading.get("grade_id"):
                after.update({name: grading["grade_id"] for name in waiting})
                waiting = []
        found[path.stem] = after
    return found


def hand_grades_of(config: CourseConfig, result: SubmissionResult,
                   gradebook: Gradebook | None = None) -> HandGrades:
    """The HandGrades of a SubmissionResult's submission, from `gradebook` when one is open
    (`grade` has it open: opening the gradebook costs more than reading it), else from the
    course's own (empty when the course has none)."""
    after = questions_after_cells(config.source(result.assignment))
    if gradebook is not None:
        return read_hand_grades(gradebook, result.assignment, result.student, after)
    if not config.db_url and not (Path(config.root) / "gradebook.db").exists():
        return HandGrades()
    from autograder.gradebook import open_gradebook

    with open_gradebook(config) as opened:
        return read_hand_grades(opened, result.assignment, result.student, after)
