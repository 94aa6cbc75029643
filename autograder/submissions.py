"""Find and check the submissions of a folder laid out STUDENT_ID/NOTEBOOK.ipynb."""
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass
class Submission:
    student_id: str
    folder: Path
    notebooks: dict  # notebook name -> Path of the student's file for it
    problem: str = ""  # why it cannot be graded normally; "" when it can


def find_submissions(folder, expected_notebooks):
    """One Submission per student folder, sorted by student id.

    A folder holding a single notebook under another name is matched to the
    expected one when the assignment has a single notebook.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SystemExit(f"submissions folder not found: {folder}")
    found = []
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        found.append(_read_student_folder(student_dir, expected_notebooks))
    return found


def _read_student_folder(student_dir, expected_notebooks):
    student_id = student_dir.name
    submission = Submission(student_id, student_dir, {})
    if not STUDENT_ID.match(student_id):
        submission.problem = f"invalid student id {student_id!r}"
        return submission
    present = {p.stem: p for p in student_dir.glob("*.ipynb") if p.is_file()}
    for name in expected_notebooks:
        if name in present:
            submission.notebooks[name] = present[name]
    if not submission.notebooks and len(expected_notebooks) == 1 and len(present) == 1:
        # A renamed notebook ("scoring_functions (1).ipynb"): still the student's answer.
        submission.notebooks[expected_notebooks[0]] = next(iter(present.values()))
    if not submission.notebooks:
        submission.problem = "no notebook found (expected " + ", ".join(
            f"{name}.ipynb" for name in expected_notebooks) + ")"
        return submission
    for name, path in submission.notebooks.items():
        reason = notebook_problem(path)
        if reason:
            submission.problem = f"{path.name}: {reason}"
            break
    return submission


def notebook_problem(path):
    """Why a file is not a gradeable notebook, or "" if it is one."""
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except UnicodeDecodeError:
        return "not a text file"
    except json.JSONDecodeError as error:
        return f"not valid JSON ({error.msg} at line {error.lineno})"
    if not isinstance(raw, dict) or raw.get("nbformat") != 4:
        return "not a version 4 Jupyter notebook"
    try:
        notebook = nbformat.from_dict(raw)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        return f"invalid notebook structure ({error.message[:200]})"
    return ""
