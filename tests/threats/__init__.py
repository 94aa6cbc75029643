"""The threat corpus: one or more submissions for every item of the threat model
(ARCHITECTURE.md, "Threat model"), and legitimate submissions that must keep the
score they always had.

Each `Case` is a student folder of COURSE/submitted/ (written by `case.write`)
with the score it must get on every question, and where it matters the status
and a substring of the reason. tests/test_threats.py grades the whole corpus in
one `python -m autograder grade` run per assignment and checks every case.

Cases are built from the released notebook filled with the reference answers
(tests/submission_factory.py), then changed: an answer replaced by a cheat,
an extra cell inserted, a test cell edited, the file broken or renamed.
The modules: cheats.py (wrong answers dressed up to pass), faults.py (crashes,
hangs, bombs), files.py (what arrives on disk), legit.py (honest work, slow or
noisy), callbacks.py (student code turning the test's own functions against
the grader), measuring.py (forging the memory a test measures).
"""
import copy
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from autograder.judge import read_source
from submission_factory import make_submission, reference_answers

# The corpus grades its own frozen copy of the assignments it attacks (their solutions and
# released exercises as they were when its cases were written), so that redesigning an
# exercise of the course does not silently change what the cases test.
ASSIGNMENTS_DIR = Path(__file__).resolve().parent / "assignments"
SOLUTIONS_DIR = ASSIGNMENTS_DIR / "solutions"
EXERCISES_DIR = ASSIGNMENTS_DIR / "exercises"

SCORING = "scoring_functions"
# The questions of scoring_functions, by the grade_id of their test cell.
SOFTMAX, MASKED, ADDITIVE, SCALED = ("test_softmax", "test_masked_softmax",
                                     "test_additive_attention", "test_scaled_dot_product_attention")


def prepare(course, assignments=(SCORING,)):
    """Release the corpus's frozen assignments into a course folder, as `release` does:
    what `grade` then reads (it prepares the course from solutions/ only when it is not)."""
    from autograder.config import load_config
    from autograder.course import prepare_course

    prepare_course(load_config(course), list(assignments), solutions_dir=SOLUTIONS_DIR)


def full_marks(assignment=SCORING):
    """{question: points} from the source notebook(s) of an assignment."""
    marks = {}
    for path in sorted((SOLUTIONS_DIR / assignment).glob("*.ipynb")):
        marks.update({t.grade_id: t.points for t in read_source(path, path.stem).tests})
    return marks


def scores(assignment=SCORING, **lost):
    """Full marks except the questions named (by grade_id) with the score they keep."""
    marks = full_marks(assignment)
    unknown = set(lost) - set(marks)
    assert not unknown, f"not questions of {assignment}: {unknown}"
    return {**marks, **{q: float(v) for q, v in lost.items()}}


def nothing(assignment=SCORING):
    return {q: 0.0 for q in full_marks(assignment)}


@dataclass
class Case:
    student: str  # the folder under submitted/ (a valid student id)
    threat: str  # the item of the threat model it stands for
    write: Callable  # write(folder): fills COURSE/submitted/STUDENT/ASSIGNMENT/
    expected: dict  # question -> score it must get
    status: dict = field(default_factory=dict)  # question -> status it must get
    reasons: dict = field(default_factory=dict)  # question -> substring of its messages
    submission_status: str = "graded"  # substring of results.json's status
    fault: str = ""  # substring that must appear in results.json's faults
    legit: bool = False  # honest work: must also score what it scores without the sandbox
    assignment: str = SCORING
    check: Callable = None  # check(result, course): further assertions
    note: str = ""  # what it does, for the table


# -- building notebooks ----------------------------------------------------------
def code_cell(source, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = dict(nbgrader)
    return cell


def build(assignment=SCORING, answers=None, blank=(), after=None, edit=None):
    """The released notebook answered with the reference solution, except:

    answers: grade_id -> code replacing that answer; blank: answers left unanswered;
    after: grade_id -> list of sources of extra code cells inserted after that cell;
    edit: edit(notebook) for anything else (test cells, metadata).
    """
    notebook = make_submission(assignment, answers=answers, blank=blank,
                               solutions_dir=SOLUTIONS_DIR, exercises_dir=EXERCISES_DIR)
    for grade_id, sources in (after or {}).items():
        index = find(notebook, grade_id)
        for offset, source in enumerate(sources, start=1):
            notebook.cells.insert(index + offset, code_cell(source))
    if edit is not None:
        edit(notebook)
    return notebook


def find(notebook, grade_id):
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(grade_id)


def answer(assignment, grade_id):
    """The reference answer of one solution cell (to build a cheat around it)."""
    return reference_answers(assignment, solutions_dir=SOLUTIONS_DIR)[grade_id]


# -- writing submissions ---------------------------------------------------------
def notebook_file(notebook, name=None, assignment=SCORING):
    """A writer putting one notebook into the submission folder (default name: the assignment's)."""
    def write(folder):
        nbformat.write(copy.deepcopy(notebook), Path(folder) / f"{name or assignment}.ipynb")
    return write


def raw_file(name, data):
    def write(folder):
        path = Path(folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return write


def files(*writers):
    def write(folder):
        for writer in writers:
            writer(folder)
    return write


def load_cases():
    cases = []
    for module in ("legit", "cheats", "faults", "files", "callbacks", "measuring", "state"):
        cases += importlib.import_module(f"threats.{module}").CASES
    names = [case.student for case in cases]
    assert len(names) == len(set(names)), "two cases share a student id"
    return cases


# Items of the threat model (ARCHITECTURE.md, "Threat model") and the cases that
# stand for each; the suite checks that none is left without a case.
THREATS = {
    "always-equal objects": "objects whose == is always true",
    "monkeypatching": "monkeypatching np.allclose, np.testing or any function a test calls",
    "input transformers": "IPython input transformers that make every cell report success",
    "do_execute": "a replaced kernel do_execute / run_cell that makes every cell report success",
    "reading hidden tests": "reading hidden tests or the gradebook from disk and writing to it",
    "NBGRADER_EXECUTION": "reading NBGRADER_EXECUTION to behave differently when graded",
    "editing test cells": "editing, deleting or re-flagging test cells and their metadata",
    "sys.exit": "sys.exit",
    "os._exit": "os._exit",
    "segfault": "a segfault",
    "infinite loop": "infinite loops",
    "memory bomb": "memory bombs",
    "fork bomb": "fork bombs",
    "gigantic output": "gigantic output",
    "huge files": "huge files",
    "invalid JSON": "invalid JSON",
    "wrong nbformat": "wrong nbformat",
    "renamed notebook": "renamed notebooks",
    "extra files": "extra files",
    "zip paths": "paths in a zip that climb out of their folder (tests/test_collect.py)",
    "state between calls": "state passed between calls (files in /tmp or home, shared mappings) "
                           "so that a helper the test uses echoes a wrong answer",
    "rebinding a helper": "rebinding a helper between tests",
    "memory outside tracemalloc": "allocating outside what a memory check sees (anonymous mmap)",
    "hang after defining": "hanging after defining correct functions",
    "legitimate": "legitimate submissions keep their score",
}
