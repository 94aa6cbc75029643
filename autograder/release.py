"""Generate the student notebooks in exercises/ from the sources in solutions/."""
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.course import (EXERCISES_DIR, SOLUTIONS_DIR, assignments,
                               ensure_tools_on_path, nbgrader_config)


def release(assignment_ids=None, exercises_dir=EXERCISES_DIR):
    """Regenerate exercises/ASSIGNMENT/*.ipynb for the given (default: all) assignments.

    nbgrader's generate_assignment strips solutions and hidden tests and locks
    the test cells; we then normalise the notebooks so the committed files are
    reproducible byte for byte.
    """
    from nbgrader.apps import NbGraderAPI

    ensure_tools_on_path()
    assignment_ids = assignment_ids or assignments()
    written = []
    with tempfile.TemporaryDirectory(prefix="release-") as work:
        work = Path(work)
        config = nbgrader_config(work, f"sqlite:///{work / 'gradebook.db'}")
        shutil.copytree(SOLUTIONS_DIR, work / "source", ignore=shutil.ignore_patterns("*.md"))
        api = NbGraderAPI(config=config)
        for assignment in assignment_ids:
            result = api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                raise RuntimeError(f"nbgrader could not release {assignment}:\n{result['log']}")
            target = Path(exercises_dir) / assignment
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            for notebook in sorted((work / "release" / assignment).glob("*.ipynb")):
                written.append(_write_normalised(notebook, target / notebook.name))
    return written


def _write_normalised(source, destination):
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(notebook, destination)
    return destination
