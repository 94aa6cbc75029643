"""The autograder's operations as plain functions: what `python -m autograder` runs.

One function per operation (release, import_roster, collect, grade, write_feedback,
export, report, demo). Each takes a CourseConfig and plain arguments and returns plain
values (paths, results, counts); the command line (autograder/cli.py), the demo
(autograder/demo.py) and the tests call these, so no command's module imports another's.

Conventions:
- `stream`: where an operation reports its steps as they happen (one line each);
  None (the default) keeps it quiet. What a command prints once an operation is done
  (totals, the paths written) is the command line's business, from the returned values.
- OperationError: the operation was refused as asked and wrote nothing more; its message
  is for the instructor and `exit_code` is what the command exits with.
- SystemExit: a clear stop raised deep in the library (an unknown assignment, a full
  disk, another `grade` running): passed on as it is, as the command line always did.

Modules are imported inside the functions: nbformat, nbgrader and matplotlib are slow
to import, and `python -m autograder --help` should not wait for them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, TextIO

if TYPE_CHECKING:  # for the type hints only; imported for real inside the functions
    from autograder.collect import Outcome
    from autograder.config import CourseConfig
    from autograder.grade_tables import Grades
    from autograder.results import SubmissionResult
    from autograder.roster import Roster


class OperationError(Exception):
    """An operation refused as asked (bad input, nothing to work on); nothing more was written."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def _say(stream: TextIO | None, line: str) -> None:
    if stream is not None:
        print(line, file=stream)


# ------------------------------------------------------------------ release

def release(config: CourseConfig, assignment_ids: list[str] | None = None, *, exercises_only: bool = False,
            stream: TextIO | None = None) -> list[Path]:
    """Regenerate exercises/ (and the Chinese twins) from solutions/ for these (default: all)
    assignments; then, unless exercises_only, put them in the course folder (source/, release/,
    gradebook) and, when course.toml names an exchange, release them there.
    Returns the notebooks written to exercises/. A missing translation: OperationError."""
    from autograder.course import EXERCISES_DIR, assignments, prepare_course
    from autograder.exercise_i18n import MissingTranslation
    from autograder.release import release as release_exercises

    try:
        released = release_exercises(assignment_ids or None)
    except MissingTranslation as error:
        raise OperationError(str(error)) from error
    for path in released:
        _say(stream, f"released {path.relative_to(EXERCISES_DIR.parent)}")
    if exercises_only:
        return released
    chosen = assignment_ids or assignments()
    prepare_course(config, chosen)
    _say(stream, f"course folder ready: {config.root}")
    if config.exchange:
        from autograder.exchange import exchange_root, release_to_exchange

        for assignment, status in release_to_exchange(config, chosen):
            _say(stream, f"exchange {exchange_root(config)}: {assignment} {status}")
    return released


def pages_not_ours(config: CourseConfig, assignment: str) -> list[Path]:
    """The feedback pages of an assignment that our `feedback` command did not write."""
    from autograder.feedback import written_by_us

    return [page for page in sorted(config.feedback().glob(f"*/{assignment}/*.html")) if not written_by_us(page)]


def release_feedback(config: CourseConfig, assignment_ids: list[str] | None = None, *,
                     stream: TextIO | None = None) -> list[tuple[str, str, str]]:
    """Return the feedback pages COURSE/feedback/ of these (default: all) assignments to the
    students through nbgrader's exchange. Returns (assignment, student, status) triples; a
    status with "older" in it is a page older than the student's latest submission.
    Stops (SystemExit) without an exchange, or when a page was not written by us."""
    from autograder.course import assignments
    from autograder.exchange import release_feedback as release_to_students

    if not config.exchange:
        raise SystemExit("release --feedback needs an exchange: set exchange in course.toml")
    chosen = assignment_ids or assignments()
    foreign = [page for assignment in chosen for page in pages_not_ours(config, assignment)]
    if foreign:
        listed = "\n  ".join(str(page.relative_to(config.root)) for page in foreign[:20])
        raise SystemExit(f"release --feedback: nothing released; {len(foreign)} feedback page(s) were not "
                         f"written by `python -m autograder feedback` (nbgrader's generate_feedback, from "
                         f"the formgrader, writes its own):\n  {listed}\nRun `python -m autograder feedback "
                         f"ASSIGNMENT` to write them again, then release.")
    statuses = []
    for assignment in chosen:
        for student, status in release_to_students(config, assignment):
            _say(stream, f"feedback {assignment} {student}: {status}")
            statuses.append((assignment, student, status))
    return statuses


# ------------------------------------------------------------------ roster

def read_roster(path: str | Path) -> Roster:
    """Read and check a roster CSV (see autograder.roster): its good rows, the refused rows
    with their reasons and the ignored columns. A file that cannot be used at all:
    OperationError with exit code 2."""
    from autograder.roster import RosterError, read_roster as read

    try:
        return read(path)
    except RosterError as error:
        raise OperationError(str(error), exit_code=2) from error


def import_roster(config: CourseConfig, roster: Roster) -> tuple[int, int, int]:
    """Add or update the roster's good rows in the gradebook (never remove a student);
    returns the (added, updated, unchanged) counts."""
    from autograder.roster import import_roster as upsert

    return upsert(config, roster)


# ------------------------------------------------------------------ collect

@dataclass
class Collected:
    """What `collect` did: where from, and one Outcome per student or refused file."""
    origin: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return any(outcome.status == "refused" for outcome in self.outcomes)

    def table(self) -> str:
        """The short table of outcomes and its totals line."""
        from autograder.collect import summary

        return summary(self.outcomes)


def default_collect_limits_mb() -> tuple[float, float]:
    """(largest notebook taken, most read from one download) in MB, as collect takes them."""
    from autograder.archive import MB, Limits

    return Limits.file_bytes / MB, Limits.total_bytes / MB


def collect(config: CourseConfig, assignment: str, source: str | Path | None = None, *,
            from_exchange: bool = False, pattern: str | None = None, layout: str | None = None,
            zip_timezone: str = "UTC", max_file_mb: float | None = None, max_total_mb: float | None = None,
            check_owner: bool = True, dry_run: bool = False) -> Collected:
    """Import an assignment's submissions into COURSE/submitted/ from a folder, an LMS
    download zip (source), or nbgrader's exchange (from_exchange); see autograder.collect.
    Stops (SystemExit) for an unknown assignment, both or neither of source and
    from_exchange, an unknown time zone, or a source that cannot be read."""
    from autograder.archive import MB, Limits
    from autograder.collect import collect_exchange, collect_path
    from autograder.course import course_notebooks

    limits = Limits(file_bytes=Limits.file_bytes if max_file_mb is None else int(max_file_mb * MB),
                    total_bytes=Limits.total_bytes if max_total_mb is None else int(max_total_mb * MB))
    course_notebooks(config, assignment)  # unknown assignment: a clear message before anything else
    if from_exchange:
        if source:
            raise SystemExit("give either a SOURCE or --from-exchange, not both")
        outcomes = collect_exchange(config, assignment, limits, dry_run, check_owner)
        return Collected(f"nbgrader exchange {config.exchange}", outcomes)
    if not source:
        raise SystemExit("give a SOURCE (folder or .zip) or --from-exchange")
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        timezone = ZoneInfo(zip_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SystemExit(f"unknown time zone {zip_timezone!r}")
    outcomes = collect_path(config, assignment, source, pattern, layout, limits, dry_run, timezone)
    return Collected(str(source), outcomes)


# ------------------------------------------------------------------ grade

def check_scheduler_address(scheduler: str) -> None:
    """Stop (SystemExit) for an address that is not a Dask scheduler's, before anything runs."""
    from autograder.cluster import check_address

    check_address(scheduler)


def grade(config: CourseConfig, assignment: str, *, jobs: int | None = None, force: bool = False,
          isolate: bool = True, students: Iterable[str] | None = None, wait: bool = False,
          scheduler: str | None = None, stream: TextIO | None = None) -> list[SubmissionResult]:
    """Autograde an assignment's new or changed submissions (every one with force), in a
    sandbox (isolate) and in parallel: `jobs` local processes, or the workers of the Dask
    scheduler at `scheduler`. Records each result (gradebook, feedback page, results.json)
    and returns the results graded in this run; `stream` gets the progress lines."""
    import io

    from autograder.grading import grade_assignment

    return grade_assignment(config, assignment, jobs, force, isolate=isolate,
                            students=list(students) if students else None, wait=wait,
                            scheduler=scheduler, stream=io.StringIO() if stream is None else stream)


# ------------------------------------------------------------------ feedback

def write_feedback(config: CourseConfig, assignment: str, students: Iterable[str] = (), *,
                   stream: TextIO | None = None) -> list[Path]:
    """Write the HTML feedback pages of an assignment's saved results (of these students;
    default: every graded student) to COURSE/feedback/STUDENT/ASSIGNMENT/; returns the
    pages. `stream` gets one line per student. OperationError: a name that is not an
    assignment's (exit code 2), no saved results, or none for a student asked for."""
    from autograder.feedback import score_text, safe_name, write_feedback as write_pages
    from autograder.results import load_results

    if safe_name(assignment) != assignment or any(c in assignment for c in "*?["):
        raise OperationError(f"not an assignment name: {assignment!r}", exit_code=2)
    results = load_results(config, assignment)
    wanted = set(students)
    if wanted:
        missing = sorted(wanted - {r.student for r in results})
        if missing:
            raise OperationError(f"no saved results of {assignment} for {', '.join(missing)}")
        results = [r for r in results if r.student in wanted]
    if not results:
        raise OperationError(f"no saved results for {assignment} in {config.autograded()} "
                             f"(run `grade {assignment}` first)")
    pages = []
    for result in results:
        written = write_pages(config, result)
        pages += written
        note = "" if result.status == "graded" else f" (not graded: {result.status})"
        _say(stream, f"{result.student}: {score_text(result.score)}/{score_text(result.max_score)}, "
                     f"{len(written)} page(s){note}")
    return pages


# ------------------------------------------------------------------ export and report

@dataclass
class Exported:
    """What `export` wrote, and the counts it reports."""
    paths: list[Path]
    students: int  # on the roster
    assignments: list[str]
    late: int  # submissions after their due date
    absent: int  # roster students without a submission, scored 0


def _graded(config: CourseConfig, assignment_ids: Iterable[str]) -> Grades:
    """The grades of these (default: every graded) assignments; OperationError when there
    are none or an assignment has no graded submission."""
    from autograder.grade_tables import collect as collect_grades, select_assignments

    chosen, problem = select_assignments(config, list(assignment_ids))
    if problem:
        raise OperationError(problem)
    return collect_grades(config, chosen)


def export(config: CourseConfig, assignment_ids: Iterable[str] = ()) -> Exported:
    """Write the grade CSVs of these (default: every graded) assignments to COURSE/exports/
    (see autograder.export). OperationError when there is nothing graded to export."""
    from autograder.export import write_exports

    grades = _graded(config, assignment_ids)
    paths = write_exports(config, grades)
    late = sum(1 for a in grades.assignments for t in grades.totals[a] if t.late_days)
    absent = sum(1 for a in grades.assignments for t in grades.totals[a] if not t.submitted_something)
    return Exported(paths, len(grades.roster), list(grades.assignments), late, absent)


def report(config: CourseConfig, assignment_ids: Iterable[str] = ()) -> list[Path]:
    """Write the plots, summary.txt and flags.csv of these (default: every graded)
    assignments to COURSE/reports/ (see autograder.report); returns their paths.
    OperationError when there is nothing graded to report on."""
    from autograder.report import write_report

    return write_report(config, _graded(config, assignment_ids))


# ------------------------------------------------------------------ demo

def known_assignments() -> list[str]:
    """The assignment ids of this repository's solutions/."""
    from autograder.course import assignments

    return assignments()


def demo(root: str | Path, *, students: int = 60, seed: int = 0, jobs: int | None = None,
         assignment_ids: list[str] | None = None, stream: TextIO | None = None,
         progress: TextIO | None = None) -> dict[str, list[SubmissionResult]]:
    """Build, grade, export and report a synthetic class in the course folder `root` (new,
    empty, or an earlier demo's; see autograder.demo). `stream` gets the demo's story,
    `progress` grading's progress lines. Returns each assignment's results."""
    from autograder.demo import run_demo

    return run_demo(Path(root), students=students, seed=seed, jobs=jobs, assignment_ids=assignment_ids,
                    stream=stream, progress=progress)
