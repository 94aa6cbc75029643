"""Build student submissions from the released notebooks, for tests and demos.

A submission is the released notebook with each answer cell filled in: by
default with the reference solution, or with replacement code (a mutant) for
chosen answers, or left blank.
"""
from pathlib import Path

import nbformat

from autograder import course
from autograder.course import EXERCISES_DIR, SOLUTION_BLOCK, SOLUTIONS_DIR
from autograder.exercise_i18n import twin_path


def reference_answers(assignment, notebook=None, solutions_dir=SOLUTIONS_DIR):
    """grade_id -> the reference answer code of every solution cell (markers removed)."""
    notebook = notebook or assignment
    return course.reference_answers(Path(solutions_dir) / assignment / f"{notebook}.ipynb")


def solution_lines(assignment, notebook=None, min_length=12):
    """The distinctive lines inside the solution blocks: what must never be released."""
    notebook = notebook or assignment
    source = nbformat.read(SOLUTIONS_DIR / assignment / f"{notebook}.ipynb", as_version=4)
    lines = set()
    for cell in source.cells:
        for block in SOLUTION_BLOCK.findall(cell.source):
            lines |= {line.strip() for line in block.splitlines() if len(line.strip()) >= min_length}
    return lines


def make_submission(assignment, answers=None, blank=(), notebook=None,
                    solutions_dir=SOLUTIONS_DIR, exercises_dir=EXERCISES_DIR, chinese=False):
    """The released notebook with answers filled in.

    answers: grade_id -> code replacing the reference answer (a mutant).
    blank: grade_ids left as released (raise NotImplementedError).
    solutions_dir, exercises_dir: another copy of the course (the threat corpus's own).
    chinese: start from the Chinese twin (exercises/ASSIGNMENT/zh/) instead.
    """
    notebook = notebook or assignment
    path = Path(exercises_dir) / assignment / f"{notebook}.ipynb"
    released = nbformat.read(twin_path(path) if chinese else path, as_version=4)
    filled = {**reference_answers(assignment, notebook, solutions_dir), **(answers or {})}
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id not in blank:
            cell.source = filled[grade_id]
    return released


def write_submission(folder, student_id, notebook_name, notebook, assignment=None):
    """Write FOLDER/STUDENT/[ASSIGNMENT/]NOTEBOOK.ipynb (with an assignment: nbgrader's
    submitted/ layout, as `collect` leaves it)."""
    target = Path(folder) / student_id / (assignment or "")
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{notebook_name}.ipynb"
    nbformat.write(notebook, path)
    return path
