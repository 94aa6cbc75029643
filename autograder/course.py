"""Where the course's files are, and the nbgrader configuration that uses them."""
import os
import re
import shutil
import sys
from pathlib import Path

from traitlets.config import Config

COURSE_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = COURSE_ROOT / "solutions"
EXERCISES_DIR = COURSE_ROOT / "exercises"

# An answer inside an nbgrader solution cell.
SOLUTION_BLOCK = re.compile(r"[ \t]*### BEGIN SOLUTION\n(.*?)[ \t]*### END SOLUTION\n?", re.S)

# Per-cell and per-notebook execution limits for grading (seconds).
CELL_TIMEOUT = 60


def ensure_tools_on_path():
    """nbgrader shells out to `alembic`, which lives next to this interpreter."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + path


def assignments():
    """Assignment ids: the folders of solutions/ that hold a source notebook."""
    return sorted(p.name for p in SOLUTIONS_DIR.iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


def source_notebooks(assignment, solutions_dir=SOLUTIONS_DIR):
    """The source notebooks of one assignment, by name without .ipynb."""
    folder = Path(solutions_dir) / assignment
    if not folder.is_dir():
        known = ", ".join(assignments()) or "none"
        raise SystemExit(f"unknown assignment {assignment!r}; known assignments: {known}")
    return sorted(p.stem for p in folder.glob("*.ipynb"))


def course_notebooks(config, assignment):
    """The notebooks of an assignment as the course folder has them (COURSE/source, which
    `release` writes and grading reads); before its first release, those of solutions/."""
    folder = config.source(assignment)
    names = sorted(p.stem for p in folder.glob("*.ipynb")) if folder.is_dir() else []
    return names or source_notebooks(assignment)


def nbgrader_config(root, db_url, source_dir="source", release_dir="release", course_id=""):
    """An nbgrader Config for a course rooted at `root`."""
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.source_directory = source_dir
    config.CourseDirectory.release_directory = release_dir
    config.CourseDirectory.db_url = db_url
    if course_id:  # PostgreSQL enforces the assignment -> course foreign key; SQLite does not
        config.CourseDirectory.course_id = course_id
    config.Execute.timeout = CELL_TIMEOUT
    config.Execute.interrupt_on_timeout = True
    config.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    return config


def generate_assignments(course_root, assignment_ids, db_url, course_id="", solutions_dir=SOLUTIONS_DIR):
    """Set up an nbgrader course folder for the given assignments.

    Copies each assignment's source notebooks (only notebooks: a stray file
    would be released too) to course_root/source and runs nbgrader's
    generate_assignment, which records the graded cells in the gradebook and
    writes the student versions to course_root/release. Returns the NbGraderAPI.
    """
    from nbgrader.apps import NbGraderAPI

    ensure_tools_on_path()
    for assignment in assignment_ids:
        source = Path(course_root) / "source" / assignment
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir(parents=True)
        for name in source_notebooks(assignment, solutions_dir):
            shutil.copyfile(Path(solutions_dir) / assignment / f"{name}.ipynb", source / f"{name}.ipynb")
    api = NbGraderAPI(config=nbgrader_config(course_root, db_url, course_id=course_id))
    for assignment in assignment_ids:
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader could not generate {assignment}:\n{result['log']}")
    return api


def reference_answers(source_path):
    """grade_id -> the reference answer of every solution cell of a source notebook (markers removed)."""
    import nbformat

    source = nbformat.read(source_path, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: SOLUTION_BLOCK.sub(r"\1", cell.source)
            for cell in source.cells if cell.metadata.get("nbgrader", {}).get("solution")}
