"""Generate the student notebooks in exercises/ from the sources in solutions/."""
import shutil
import sys
import tempfile
from pathlib import Path

from autograder.course import EXERCISES_DIR, assignments, generate_assignments, prepare_course
from autograder.exercise_i18n import MissingTranslation, write_twin


def release(assignment_ids=None, exercises_dir=EXERCISES_DIR):
    """Regenerate exercises/ASSIGNMENT/*.ipynb for the given (default: all) assignments,
    and their Chinese twins exercises/ASSIGNMENT/zh/*.ipynb (autograder.exercise_i18n).

    nbgrader's generate_assignment strips solutions, hidden tests and outputs
    and locks the test cells; its output is reproducible byte for byte. A paragraph
    without a Chinese translation stops the release (MissingTranslation).
    """
    assignment_ids = assignment_ids or assignments()
    written = []
    with tempfile.TemporaryDirectory(prefix="release-") as work:
        work = Path(work)
        generate_assignments(work, assignment_ids, f"sqlite:///{work / 'gradebook.db'}")
        for assignment in assignment_ids:
            target = Path(exercises_dir) / assignment
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            for notebook in sorted((work / "release" / assignment).glob("*.ipynb")):
                released = Path(shutil.copyfile(notebook, target / notebook.name))
                written += [released, write_twin(released, assignment)]
    return written


def add_arguments(parser):
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    parser.add_argument("--exercises-only", action="store_true",
                        help="only regenerate exercises/ (what a contributor needs), not the course folder")
    parser.add_argument("--feedback", action="store_true",
                        help="instead of the exercises, return the feedback pages COURSE/feedback/ of these "
                             "assignments to the students through nbgrader's exchange (course.toml: exchange)")


def run(args, config):
    if args.feedback:
        return _release_feedback(args, config)
    try:
        released = release(args.assignments or None)
    except MissingTranslation as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    for path in released:
        print(f"released {path.relative_to(EXERCISES_DIR.parent)}")
    if args.exercises_only:
        return 0
    prepare_course(config, args.assignments or assignments())
    print(f"course folder ready: {config.root}")
    if config.exchange:
        from autograder.exchange import exchange_root, release_to_exchange

        for assignment, status in release_to_exchange(config, args.assignments or assignments()):
            print(f"exchange {exchange_root(config)}: {assignment} {status}")
    return 0


def pages_not_ours(config, assignment):
    """The feedback pages of an assignment that our `feedback` command did not write."""
    from autograder.feedback import written_by_us

    return [page for page in sorted(config.feedback().glob(f"*/{assignment}/*.html")) if not written_by_us(page)]


def _release_feedback(args, config):
    from autograder.exchange import release_feedback

    if not config.exchange:
        raise SystemExit("release --feedback needs an exchange: set exchange in course.toml")
    chosen = args.assignments or assignments()
    foreign = [page for assignment in chosen for page in pages_not_ours(config, assignment)]
    if foreign:
        listed = "\n  ".join(str(page.relative_to(config.root)) for page in foreign[:20])
        raise SystemExit(f"release --feedback: nothing released; {len(foreign)} feedback page(s) were not "
                         f"written by `python -m autograder feedback` (nbgrader's generate_feedback, from "
                         f"the formgrader, writes its own):\n  {listed}\nRun `python -m autograder feedback "
                         f"ASSIGNMENT` to write them again, then release.")
    stale = 0
    for assignment in chosen:
        for student, status in release_feedback(config, assignment):
            print(f"feedback {assignment} {student}: {status}")
            stale += "older" in status
    return 1 if stale else 0
