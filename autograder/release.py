"""Generate the student notebooks in exercises/ from the sources in solutions/."""
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from autograder.course import EXERCISES_DIR, assignments, generate_assignments
from autograder.exercise_i18n import write_twin


def release(assignment_ids: Sequence[str] | None = None, exercises_dir: Path | str = EXERCISES_DIR) -> list[Path]:
    """Regenerate exercises/ASSIGNMENT/*.ipynb for the given (default: all) assignments,
    and their Chinese twins exercises/ASSIGNMENT/zh/*.ipynb (autograder.exercise_i18n).

    nbgrader's generate_assignment strips solutions, hidden tests and outputs
    and locks the test cells; its output is reproducible byte for byte. A paragraph
    without a Chinese translation stops the release (MissingTranslation).
    """
    assignment_ids = assignment_ids or assignments()
    written = []
    with tempfile.TemporaryDirectory(prefix="release-") as temporary:
        work = Path(temporary)
        generate_assignments(work, assignment_ids, f"sqlite:///{work / 'gradebook.db'}")
        for assignment in assignment_ids:
            target = Path(exercises_dir) / assignment
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            for notebook in sorted((work / "release" / assignment).glob("*.ipynb")):
                released = Path(shutil.copyfile(notebook, target / notebook.name))
                written += [released, write_twin(released, assignment)]
    return written
