"""Grade every submission of an assignment with nbgrader; write grades and feedback.

Layout of the output folder:
    OUT/grades.csv                  one row per student per question
    OUT/feedback/STUDENT/NB.html    one feedback page per student notebook
    OUT/nbgrader/                   nbgrader's course folder and gradebook (for the formgrader)
"""
import csv
import datetime
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.course import SOLUTIONS_DIR, generate_assignments, source_notebooks
from autograder.feedback import hidden_lines, render_feedback, render_problem_page
from autograder.submissions import find_submissions

GRADES_COLUMNS = ["student_id", "assignment", "notebook", "question", "score", "max_score", "status"]


@dataclass
class Question:
    notebook: str
    grade_id: str
    max_score: float


def questions_of(assignment):
    """The graded questions (test cells) of an assignment, in notebook order."""
    found = []
    for name in source_notebooks(assignment):
        notebook = nbformat.read(SOLUTIONS_DIR / assignment / f"{name}.ipynb", as_version=4)
        for cell in notebook.cells:
            grading = cell.metadata.get("nbgrader", {})
            if grading.get("grade"):
                found.append(Question(name, grading["grade_id"], float(grading.get("points", 0))))
    return found


class Grader:
    """One grading run of one assignment into one output folder."""

    def __init__(self, assignment, out_dir):
        self.assignment = assignment
        self.notebooks = source_notebooks(assignment)
        self.questions = questions_of(assignment)
        self.out = Path(out_dir)
        self.course = self.out / "nbgrader"
        self.db_url = f"sqlite:///{self.course / 'gradebook.db'}"
        self.api = generate_assignments(self.course, [assignment], self.db_url)
        self.secret_lines = set()
        for name in self.notebooks:
            self.secret_lines |= hidden_lines(SOLUTIONS_DIR / assignment / f"{name}.ipynb")

    def grade_all(self, submissions_dir, progress=print):
        submissions = find_submissions(submissions_dir, self.notebooks)
        rows = []
        for index, submission in enumerate(submissions, 1):
            student_rows = self.grade_one(submission)
            rows.extend(student_rows)
            score = sum(r["score"] for r in student_rows)
            possible = sum(r["max_score"] for r in student_rows)
            progress(f"[{index}/{len(submissions)}] {submission.student_id}: "
                     f"{score:g}/{possible:g} {student_rows[0]['status'] if student_rows else ''}")
        self._write_grades(rows)
        return rows

    def grade_one(self, submission):
        """Grade one student; always returns one row per question."""
        if submission.problem:
            return self._problem_rows(submission.student_id, submission.problem)
        result = {"success": False}
        for _attempt in range(2):  # a second try absorbs a kernel that was slow to start
            try:
                self._place_submission(submission)
                result = self.api.autograde(self.assignment, submission.student_id,
                                            force=True, create=True)
            except Exception as error:  # one broken submission never stops the others
                result = {"success": False, "error": f"{type(error).__name__}: {error}"}
            if result["success"]:
                break
        if not result["success"]:
            reason = (result.get("error") or "nbgrader failed").strip().splitlines()[-1][:300]
            return self._problem_rows(submission.student_id, f"grading failed: {reason}")
        rows = self._read_grades(submission.student_id)
        self._write_feedback(submission.student_id, rows)
        return rows

    def _place_submission(self, submission):
        target = self.course / "submitted" / submission.student_id / self.assignment
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name, path in submission.notebooks.items():
            shutil.copyfile(path, target / f"{name}.ipynb")
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
        (target / "timestamp.txt").write_text(stamp)

    def _read_grades(self, student_id):
        from nbgrader.api import Gradebook

        rows = []
        with Gradebook(self.db_url) as gradebook:
            for question in self.questions:
                try:
                    grade = gradebook.find_grade(question.grade_id, question.notebook,
                                                 self.assignment, student_id)
                    score, status = float(grade.score), "graded"
                except Exception:
                    score, status = 0.0, "not graded: notebook missing from submission"
                rows.append(self._row(student_id, question, score, status))
        return rows

    def _row(self, student_id, question, score, status):
        return {"student_id": student_id, "assignment": self.assignment,
                "notebook": question.notebook, "question": question.grade_id,
                "score": score, "max_score": question.max_score, "status": status}

    def _problem_rows(self, student_id, problem):
        rows = [self._row(student_id, q, 0.0, problem) for q in self.questions]
        folder = self._feedback_folder(student_id)
        for name in self.notebooks:
            (folder / f"{name}.html").write_text(
                render_problem_page(student_id, self.assignment, rows, problem), encoding="utf-8")
        return rows

    def _feedback_folder(self, student_id):
        # Any student id, even an invalid one, gets a safe folder name.
        name = "".join(c if c.isalnum() or c in "_.-@" else "_" for c in student_id) or "_"
        folder = self.out / "feedback" / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _write_feedback(self, student_id, rows):
        folder = self._feedback_folder(student_id)
        for name in self.notebooks:
            graded = self.course / "autograded" / student_id / self.assignment / f"{name}.ipynb"
            notebook_rows = [r for r in rows if r["notebook"] == name]
            if graded.exists():
                page = render_feedback(graded, student_id, self.assignment, notebook_rows,
                                       self.secret_lines)
            else:
                page = render_problem_page(student_id, self.assignment, notebook_rows,
                                           "this notebook was not submitted")
            (folder / f"{name}.html").write_text(page, encoding="utf-8")

    def _write_grades(self, rows):
        """Write grades.csv atomically: a crash never leaves a half-written file."""
        self.out.mkdir(parents=True, exist_ok=True)
        partial = self.out / "grades.csv.partial"
        with open(partial, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=GRADES_COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "score": f"{row['score']:g}",
                                 "max_score": f"{row['max_score']:g}"})
        partial.replace(self.out / "grades.csv")

