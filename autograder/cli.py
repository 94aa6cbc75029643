"""python -m autograder [--course DIR] COMMAND ...: the instructor's tool.

All of the command line is here: each command is a function that declares its
options (`*_arguments(parser)`) and one that runs it (`run_*(args, config) -> exit
code`): it calls the operation in autograder.api and prints what came of it. The
operations themselves are plain functions in autograder/api.py.

A command's --help is its module's docstring; that module is imported only when the
command runs or its --help is asked for, so the tool starts fast.
"""
import argparse
import importlib
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable

from autograder import api
from autograder.config import load_config

DEFAULT_COURSE = os.environ.get("AUTOGRADER_COURSE", "course")


def refused(error, prefix=""):
    """Say why an operation refused (api.OperationError) on stderr; returns the command's exit code."""
    print(f"{prefix}{error}", file=sys.stderr)
    return error.exit_code


def print_written(paths):
    for path in paths:
        print(f"wrote {path}")


# ------------------------------------------------------------------ release

def release_arguments(parser):
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    parser.add_argument("--exercises-only", action="store_true",
                        help="only regenerate exercises/ (what a contributor needs), not the course folder")
    parser.add_argument("--feedback", action="store_true",
                        help="instead of the exercises, return the feedback pages COURSE/feedback/ of these "
                             "assignments to the students through nbgrader's exchange (course.toml: exchange)")


def run_release(args, config):
    if args.feedback:
        statuses = api.release_feedback(config, args.assignments or None, stream=sys.stdout)
        return 1 if any("older" in status for _, _, status in statuses) else 0
    try:
        api.release(config, args.assignments or None, exercises_only=args.exercises_only, stream=sys.stdout)
    except api.OperationError as error:  # a paragraph without its Chinese translation
        return refused(error, "release: ")
    return 0


# ------------------------------------------------------------------ roster

def roster_arguments(parser):
    parser.add_argument("csv", help="the roster: a CSV file with a header row")
    parser.add_argument("--check", action="store_true", help="only check the file, write nothing")


def run_roster(args, config):
    try:
        roster = api.read_roster(args.csv)
    except api.OperationError as error:
        return refused(error, "roster not imported: ")
    for line, reason in roster.errors:
        print(f"{args.csv}:{line}: refused: {reason}")
    if roster.ignored_columns:
        print(f"ignored columns: {', '.join(roster.ignored_columns)}")
    if args.check:
        print(f"{len(roster.rows)} rows good, {len(roster.errors)} refused (nothing written: --check)")
    else:
        added, updated, unchanged = api.import_roster(config, roster)
        print(f"roster: {added} added, {updated} updated, {unchanged} unchanged, "
              f"{len(roster.errors)} refused")
    return 1 if roster.errors else 0


# ------------------------------------------------------------------ collect

def collect_arguments(parser):
    max_file_mb, max_total_mb = api.default_collect_limits_mb()
    parser.add_argument("assignment", help="assignment id, e.g. scoring_functions")
    parser.add_argument("source", nargs="?",
                        help="a folder STUDENT_ID/NOTEBOOK.ipynb, or an LMS download .zip")
    parser.add_argument("--from-exchange", action="store_true",
                        help="collect from nbgrader's exchange (course.toml: exchange, course_id)")
    parser.add_argument("--pattern", default=None,
                        help="LMS file name pattern: canvas, moodle, or a regex with a group "
                             "(?P<student>...) (default: course.toml [lms] filename_pattern, else canvas)")
    parser.add_argument("--layout", choices=["folders", "lms"], default=None,
                        help="how student ids are found: folder names or LMS file names "
                             "(default: lms for a .zip or with --pattern, folders otherwise)")
    parser.add_argument("--zip-timezone", default="UTC",
                        help="time zone of zip entry times without a UTC timestamp (default: UTC)")
    parser.add_argument("--max-file-mb", type=float, default=max_file_mb,
                        help="largest notebook taken (default: %(default)g)")
    parser.add_argument("--max-total-mb", type=float, default=max_total_mb,
                        help="most read from one download, nested zips included (default: %(default)g)")
    parser.add_argument("--no-owner-check", dest="check_owner", action="store_false",
                        help="--from-exchange: take entries whatever user wrote them (only for hubs where "
                             "every student runs as one system user; see INSTRUCTORS.md)")
    parser.add_argument("--dry-run", action="store_true", help="report what would be collected, write nothing")


def run_collect(args, config):
    collected = api.collect(config, args.assignment, args.source, from_exchange=args.from_exchange,
                            pattern=args.pattern, layout=args.layout, zip_timezone=args.zip_timezone,
                            max_file_mb=args.max_file_mb, max_total_mb=args.max_total_mb,
                            check_owner=args.check_owner, dry_run=args.dry_run)
    print(f"collect {args.assignment} from {collected.origin} into {config.submitted()}")
    print(collected.table())
    return 1 if collected.refused else 0


# ------------------------------------------------------------------ grade

def grade_arguments(parser):
    parser.add_argument("assignment", help="assignment id (a folder of solutions/)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="submissions graded at once (default: the machine's cores)")
    parser.add_argument("--force", action="store_true",
                        help="grade every submission again, not only new or changed ones and those "
                             "graded before the assignment's tests or points changed")
    parser.add_argument("--student", action="append", dest="students",
                        help="grade only this student (repeatable)")
    parser.add_argument("--wait", action="store_true",
                        help="when another `grade` is running on the course, wait for it to end "
                             "(default: stop with a message)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run student code without bubblewrap (only for code you trust: "
                             "measuring the sandbox's cost, or a machine without bwrap)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="judge on the workers of this Dask scheduler instead of local processes; "
                             "this process still records everything (see INSTRUCTORS.md)")


def run_grade(args, config):
    if args.jobs is not None and args.jobs < 1:
        raise SystemExit("--jobs must be at least 1")
    if args.scheduler:
        api.check_scheduler_address(args.scheduler)
    if args.jobs is not None and args.scheduler:
        raise SystemExit("--jobs sets the local pool; with --scheduler, the cluster's workers judge "
                         "(start more of them for more at once)")
    started = time.monotonic()
    results = api.grade(config, args.assignment, jobs=args.jobs, force=args.force, isolate=not args.no_sandbox,
                        students=args.students, wait=args.wait, scheduler=args.scheduler, stream=sys.stderr)
    problems = [r for r in results if r.status != "graded"]
    elapsed = time.monotonic() - started
    print(f"graded {len(results)} submissions of {args.assignment} in {elapsed:.1f} s"
          + (f"; {len(problems)} not graded normally: "
             + ", ".join(f"{r.student} ({r.status[:80]})" for r in problems) if problems else ""))
    print(f"results: {config.autograded()}  feedback: {config.feedback()}")
    return 0


# ------------------------------------------------------------------ feedback

def feedback_arguments(parser):
    parser.add_argument("assignment", help="the assignment whose saved results to render")
    parser.add_argument("--student", action="append", default=[], metavar="ID",
                        help="only this student (repeatable); default: every graded student")


def run_feedback(args, config):
    try:
        pages = api.write_feedback(config, args.assignment, args.student, stream=sys.stdout)
    except api.OperationError as error:
        return refused(error, "feedback: ")
    print(f"{len(pages)} feedback page(s) in {config.feedback()}/STUDENT/{args.assignment}/")
    return 0


# ------------------------------------------------------------------ export and report

def graded_assignments_arguments(parser):
    """export's and report's one argument: the assignments whose grades to read."""
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="assignment ids (default: every assignment with graded submissions)")


def run_export(args, config):
    try:
        exported = api.export(config, args.assignments)
    except api.OperationError as error:  # nothing graded, or not these assignments
        return refused(error)
    print_written(exported.paths)
    print(f"{exported.students} students, {len(exported.assignments)} assignment(s): "
          f"{exported.late} late submission(s), {exported.absent} missing submission(s) scored 0")
    return 0


def run_report(args, config):
    try:
        paths = api.report(config, args.assignments)
    except api.OperationError as error:  # nothing graded, or not these assignments
        return refused(error)
    print_written(paths)
    return 0


# ------------------------------------------------------------------ demo

def demo_arguments(parser):
    parser.add_argument("--students", type=int, default=60, help="class size (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same class (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="submissions graded at once (default: the machine's cores)")
    parser.add_argument("--assignments", nargs="+", metavar="ASSIGNMENT", choices=api.known_assignments(),
                        help="only these assignments (default: all)")


def run_demo(args, config):
    if args.students < 1:
        raise SystemExit("--students must be at least 1")
    if args.jobs is not None and args.jobs < 1:
        raise SystemExit("--jobs must be at least 1")
    try:
        api.demo(config.root, students=args.students, seed=args.seed, jobs=args.jobs,
                 assignment_ids=args.assignments, stream=sys.stdout, progress=sys.stderr)
    except api.OperationError as error:  # a step after grading refused: a bug in the demo
        raise SystemExit(f"demo: {error}") from None
    return 0


# ------------------------------------------------------------------ the commands

@dataclass
class Command:
    help_module: str  # the module whose docstring is the command's --help description
    help: str  # the one line `python -m autograder --help` shows
    arguments: Callable  # (parser) -> None: declares the command's options
    run: Callable  # (args, config) -> exit code


COMMANDS = {
    "release": Command("autograder.release",
                       "regenerate exercises/ from solutions/ (and release to the exchange)",
                       release_arguments, run_release),
    "roster": Command("autograder.roster", "import students from a CSV file", roster_arguments, run_roster),
    "collect": Command("autograder.collect",
                       "import submissions from a folder, nbgrader's exchange or an LMS zip",
                       collect_arguments, run_collect),
    "grade": Command("autograder.grading",
                     "autograde the collected submissions of an assignment in parallel",
                     grade_arguments, run_grade),
    "feedback": Command("autograder.feedback", "write an HTML feedback page per student and assignment",
                        feedback_arguments, run_feedback),
    "export": Command("autograder.export", "write grade CSVs for an LMS gradebook import",
                      graded_assignments_arguments, run_export),
    "report": Command("autograder.report",
                      "plot score distributions, hard questions and frequent mistakes",
                      graded_assignments_arguments, run_report),
    "demo": Command("autograder.demo", "build, grade and report a synthetic class", demo_arguments, run_demo),
}


def build_parser(selected=None):
    """The parser of every command; only the `selected` one gets its options and description
    (the others need not be imported to parse this command line)."""
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=DEFAULT_COURSE,
                        help="the course folder (nbgrader layout; default: %(default)s, "
                             "or $AUTOGRADER_COURSE)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        subparser = commands.add_parser(name, help=command.help, description=command.help)
        if name == selected:
            description = importlib.import_module(command.help_module).__doc__
            if description:
                subparser.description = description.strip()
                subparser.formatter_class = argparse.RawDescriptionHelpFormatter
            command.arguments(subparser)
            subparser.set_defaults(run=command.run)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    selected = next((word for word in argv if word in COMMANDS), None)
    args = build_parser(selected).parse_args(argv)
    return args.run(args, load_config(args.course))


if __name__ == "__main__":
    sys.exit(main())
