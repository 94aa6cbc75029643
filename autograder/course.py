"""Where the course's files are, and the nbgrader configuration that uses them."""
from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from traitlets.config import Config

if TYPE_CHECKING:
    import nbformat
    from nbgrader.apps import NbGraderAPI

    from autograder.config import CourseConfig

COURSE_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = COURSE_ROOT / "solutions"
EXERCISES_DIR = COURSE_ROOT / "exercises"

# An answer inside an nbgrader solution cell.
SOLUTION_BLOCK = re.compile(r"[ \t]*### BEGIN SOLUTION\n(.*?)[ \t]*### END SOLUTION\n?", re.S)

# Per-cell and per-notebook execution limits for grading (seconds).
CELL_TIMEOUT = 60


def ensure_tools_on_path() -> None:
    """nbgrader shells out to `alembic`, which lives next to this interpreter."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + path


def assignments() -> list[str]:
    """Assignment ids: the folders of solutions/ that hold a source notebook (none when
    the autograder runs without this repository's solutions/, beside a copied course folder)."""
    if not SOLUTIONS_DIR.is_dir():
        return []
    return sorted(p.name for p in SOLUTIONS_DIR.iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


def course_assignments(config: CourseConfig) -> list[str]:
    """Assignment ids the course folder has source notebooks of (COURSE/source/A/*.ipynb)."""
    base = config.source()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def source_notebooks(assignment: str, solutions_dir: Path | str = SOLUTIONS_DIR) -> list[str]:
    """The source notebooks of one assignment, by name without .ipynb."""
    folder = Path(solutions_dir) / assignment
    if not folder.is_dir():
        known = ", ".join(assignments()) or "none"
        raise SystemExit(f"unknown assignment {assignment!r}; known assignments: {known}")
    return sorted(p.stem for p in folder.glob("*.ipynb"))


def source_notebook_paths(config: CourseConfig, assignment: str) -> dict[str, Path]:
    """{notebook name: path} of an assignment's source notebooks in the course folder
    (COURSE/source/ASSIGNMENT, which `release` writes): what every command reads about an
    assignment (tests, points, prompts, provided code). Empty before its first release."""
    folder = config.source(assignment)
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted(folder.glob("*.ipynb"))}


def read_notebook(path: Path | str) -> nbformat.NotebookNode:
    """The one reader of a source notebook (nbformat 4), so every command parses it alike."""
    import nbformat

    return nbformat.read(path, as_version=4)


def course_notebooks(config: CourseConfig, assignment: str) -> list[str]:
    """The notebooks of an assignment as the course folder has them (COURSE/source, which
    `release` writes and grading reads); before its first release, those of solutions/
    (which `grade` then releases into the course folder)."""
    names = sorted(source_notebook_paths(config, assignment))
    if names:
        return names
    if (SOLUTIONS_DIR / assignment).is_dir():
        return source_notebooks(assignment)
    known = ", ".join(sorted(set(course_assignments(config)) | set(assignments()))) or "none"
    raise SystemExit(f"unknown assignment {assignment!r}: neither {config.source(assignment)} nor "
                     f"solutions/ has its notebooks; known assignments: {known}")


def nbgrader_config(root: Path | str, db_url: str, source_dir: str = "source", release_dir: str = "release",
                    course_id: str = "") -> Config:
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


def generate_assignments(course_root: Path | str, assignment_ids: Sequence[str], db_url: str, course_id: str = "",
                         solutions_dir: Path | str = SOLUTIONS_DIR) -> NbGraderAPI:
    """Set up an nbgrader course folder for the given assignments.

    Copies each assignment's source notebooks (only notebooks: a stray file
    would be released too) to course_root/source and runs nbgrader's
    generate_assignment, which records the graded cells in the gradebook and
    writes the student versions to course_root/release. Returns the NbGraderAPI.
    """
    for assignment in assignment_ids:
        source = Path(course_root) / "source" / assignment
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir(parents=True)
        for name in source_notebooks(assignment, solutions_dir):
            shutil.copyfile(Path(solutions_dir) / assignment / f"{name}.ipynb", source / f"{name}.ipynb")
    return generate_from_course_source(course_root, assignment_ids, db_url, course_id)


def prepare_course(config: CourseConfig, assignment_ids: Sequence[str],
                   solutions_dir: Path | str = SOLUTIONS_DIR) -> NbGraderAPI:
    """Put the assignments' sources in the course folder and record them in its gradebook.

    Idempotent: run by `release`, `demo` and, when needed, by `grade`. Also writes
    COURSE/nbgrader_config.py and the due dates into the gradebook, so nbgrader's own
    tools run in the course folder see the course as our commands do.
    """
    from autograder.nbgrader_config import record_due_dates, write_nbgrader_config

    config.root.mkdir(parents=True, exist_ok=True)
    write_nbgrader_config(config)
    api = generate_assignments(config.root, assignment_ids, config.gradebook_url, config.course_id, solutions_dir)
    record_due_dates(config, assignment_ids)
    return api


def generate_from_course_source(course_root: Path | str, assignment_ids: Iterable[str], db_url: str,
                                course_id: str = "") -> NbGraderAPI:
    """Run nbgrader's generate_assignment on the source notebooks already in
    course_root/source (an instructor may edit them there, without solutions/): it
    records the graded cells and their points in the gradebook and writes the
    student versions to course_root/release. Returns the NbGraderAPI."""
    from nbgrader.apps import NbGraderAPI

    from autograder.gradebook import drop_stray_default_course

    ensure_tools_on_path()
    api = NbGraderAPI(config=nbgrader_config(course_root, db_url, course_id=course_id))
    for assignment in assignment_ids:
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader could not generate {assignment}:\n{result['log']}")
    drop_stray_default_course(db_url, course_id)
    return api


def reference_answers(source_path: Path | str) -> dict[str, str]:
    """grade_id -> the reference answer of every solution cell of a source notebook (markers removed)."""
    source = read_notebook(source_path)
    return {cell.metadata["nbgrader"]["grade_id"]: SOLUTION_BLOCK.sub(r"\1", cell.source)
            for cell in source.cells if cell.metadata.get("nbgrader", {}).get("solution")}
