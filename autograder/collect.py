"""Import submissions into COURSE/submitted/STUDENT/ASSIGNMENT/ (nbgrader's layout).

  collect ASSIGNMENT FOLDER           FOLDER/STUDENT_ID/NOTEBOOK.ipynb
  collect ASSIGNMENT DOWNLOAD.zip     an LMS download: one file or folder per student
                                      (zips inside are opened), student ids taken from
                                      the file names by a pattern (see --pattern)
  collect ASSIGNMENT --from-exchange  the latest submission of each student in
                                      nbgrader's exchange (course.toml: exchange, course_id);
                                      an entry not written by the student's own user
                                      account is refused (see autograder.exchange)

Only the assignment's notebooks are copied, under their expected names (a
single renamed notebook, "scoring_functions (1).ipynb", is matched to the
assignment's notebook); other files are ignored and listed. A notebook that is
not valid JSON is still copied (the grader gives it 0 and says why) and listed.
Each submission gets nbgrader's timestamp.txt: the exchange's submission time
(the later of the entry's name and the time the file system says it was
written, never the student's own timestamp.txt), the zip entry's time, or the
file's modification time. A submission whose notebooks did not change is left
untouched, so grading skips it. Whatever goes wrong with one student's files
refuses that student only; a full disk stops collect with one message.

Refused, with the reason: student ids that break the rule in
autograder.submissions.STUDENT_ID (letters, digits and _ . @ -, see INSTRUCTORS.md),
or differ only in case from one already collected;
LMS file names that do not match the pattern (never guessed); zip entries with
an absolute path or a ".." that climbs out, symbolic links, encrypted entries,
files over the size limit, zips nested too deeply or too big in total
(autograder.archive reads folders and zips and says what it refuses; this
module decides who sent what and writes it). Nothing is ever extracted to disk:
zip members are read in memory.

LMS file name patterns (a regular expression with a named group "student",
matched at the start of each file or folder name in the download; set it in
course.toml as [lms] filename_pattern, or give --pattern):
  canvas (default)  smithalice_12345_67890_scoring_functions.ipynb -> 12345,
                    the Canvas user id (also "smithalice_late_12345_...")
  moodle            Alice Smith_1234567_assignsubmission_file_scoring_functions.ipynb
                    (or a folder of that name) -> 1234567
A number found this way is turned into the student id of the roster student
whose lms_user_id it is (see `roster`); otherwise it is the student id itself.

Exit status: 0 when nothing was refused, 1 when something was (the rest is collected).
"""
from __future__ import annotations

import contextlib
import datetime
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.archive import Budget, Entry, Item, Limits, Refusal, Refused, walk_folder, walk_zip
from autograder.course import course_notebooks
from autograder.results import disk_full, write_atomic
from autograder.submissions import (TIMESTAMP_FILE, format_timestamp, match_notebooks,
                                    notebook_bytes_problem, parse_submission_time,
                                    student_id_problem)

if TYPE_CHECKING:
    from autograder.config import CourseConfig

PATTERNS = {
    "canvas": r"(?P<name>.+?)_(?:late_)?(?P<student>\d+)_\d+_(?P<original>.+)",
    "moodle": r"(?P<name>.+?)_(?P<student>\d+)_assignsubmission_[a-z]+_(?P<original>.*)",
}
DEFAULT_PATTERN = "canvas"

# Files an exchange submission carries besides the notebooks; kept with them.
EXCHANGE_FILES = ("submission_secret.txt",)


@dataclass
class StudentFiles:
    entries: list[tuple[str, Entry]] = field(default_factory=list)  # (name to match, Entry)
    timestamp: str = ""  # exchange: the submission time (nbgrader's format), found by exchange.submission_time
    extra: dict[str, Entry] = field(default_factory=dict)  # exchange: file name -> Entry kept with the notebooks
    notes: list[str] = field(default_factory=list)  # exchange: what the instructor should know


@dataclass
class Outcome:
    student: str
    status: str  # "collected" (new), "replaced" (changed), "unchanged", "refused"; dry run: "... (dry run)"
    detail: str = ""


# ---------------------------------------------------------------- who sent what

def compile_pattern(text: str | None) -> re.Pattern[str]:
    """The LMS file name pattern: a preset name or a regex with a named group "student"."""
    text = text or DEFAULT_PATTERN
    regex = PATTERNS.get(text.lower(), text)
    try:
        pattern = re.compile(regex, re.I)
    except re.error as error:
        raise SystemExit(f"the LMS file name pattern {text!r} is not a valid regular expression: {error}")
    if "student" not in pattern.groupindex:
        raise SystemExit(f"the LMS file name pattern {text!r} needs a named group "
                         "(?P<student>...) for the student id; presets: " + ", ".join(PATTERNS))
    return pattern


def by_student_folder(items: Iterable[Item]) -> tuple[dict[str, StudentFiles], list[Refusal]]:
    """FOLDER/STUDENT_ID/...: the first path component is the student id."""
    students: dict[str, StudentFiles] = {}
    refusals: list[Refusal] = []
    for item in items:
        if isinstance(item, Refusal):
            item.student = item.student or (item.where.split("/")[0] if "/" in item.where else "")
            refusals.append(item)
        elif len(item.parts) < 2:
            refusals.append(Refusal(item.display, "not inside a student folder (FOLDER/STUDENT_ID/NOTEBOOK.ipynb)"))
        else:
            students.setdefault(item.parts[0], StudentFiles()).entries.append((item.parts[-1], item))
    return students, refusals


def by_lms_name(items: Iterable[Item], pattern: re.Pattern[str], lms_ids: dict[str, str] | None = None,
                label: str | None = None) -> tuple[dict[str, StudentFiles], list[Refusal]]:
    """LMS download: the first file or folder name matching the pattern names the student."""
    lms_ids = lms_ids or {}
    label = label or pattern.pattern
    students: dict[str, StudentFiles] = {}
    refusals: list[Refusal] = []
    for item in items:
        if isinstance(item, Refusal):
            found = _match_parts(item.where.split("/"), pattern)
            item.student = lms_ids.get(found[0], found[0]) if found else ""
            refusals.append(item)
            continue
        found = _match_parts(item.parts, pattern)
        if not found:
            refusals.append(Refusal(item.display, f"name does not match the LMS pattern {label!r} "
                                    "(no student id taken from it)"))
            continue
        student, name = found
        student = lms_ids.get(student, student)
        students.setdefault(student, StudentFiles()).entries.append((name, item))
    return students, refusals


def _match_parts(parts, pattern):
    """(student, name to match the notebook by) from the first matching component, or None."""
    for index, part in enumerate(parts):
        found = pattern.match(part)
        if found and found.group("student"):
            if index == len(parts) - 1:  # the file itself carries the student: match by what follows
                original = found.groupdict().get("original") or part[found.end():] or part
                return found.group("student"), original
            return found.group("student"), parts[-1]
    return None


# ---------------------------------------------------------------- writing

class Collector:
    """Copies what each student sent into COURSE/submitted/STUDENT/ASSIGNMENT/."""

    def __init__(self, config: CourseConfig, assignment: str, limits: Limits | None = None,
                 dry_run: bool = False, roster: Iterable[str] = ()) -> None:
        self.config = config
        self.assignment = assignment
        self.notebooks = course_notebooks(config, assignment)
        self.limits = limits or Limits()
        self.dry_run = dry_run
        self.roster = set(roster)
        self.outcomes: list[Outcome] = []

    def add(self, students: dict[str, StudentFiles], refusals: list[Refusal], budget: Budget) -> list[Outcome]:
        """One Outcome per student, then one per refused file or folder.

        Whatever goes wrong with one student's files costs that student only (refused,
        with the reason); a full disk stops the collection with one message, the
        students collected before kept."""
        for student in sorted(students):
            try:
                outcome = self.collect_student(student, students[student], budget)
            except Exception as error:  # noqa: BLE001 - one submission must not stop the others
                if disk_full(error):
                    raise SystemExit(
                        f"collect stopped: the disk is full (writing the submission of {student}: {error}). "
                        "The students collected before are kept; free some space and run collect again.")
                outcome = Outcome(student, "refused", f"could not be collected ({type(error).__name__}: "
                                  f"{str(error)[:200]})")
            self.outcomes.append(outcome)
        for refusal in refusals:
            self.outcomes.append(Outcome(refusal.student or "-", "refused", f"{refusal.where}: {refusal.reason}"))
        return self.outcomes

    def collect_student(self, student: str, files: StudentFiles, budget: Budget) -> Outcome:
        problem = student_id_problem(student) or self._case_twin(student)
        if problem:
            shown = ", ".join(entry.display for _, entry in files.entries)
            return Outcome(student, "refused", f"{problem}: {shown}")
        chosen, extra, reasons = self._choose(files.entries)
        if not chosen:
            return Outcome(student, "refused", "; ".join(reasons + _extra_note(extra)))
        contents, notes = {}, []
        for expected, (name, entry) in chosen.items():
            try:
                budget.take(entry.size, entry.display, count=entry.in_zip)
                contents[f"{expected}.ipynb"] = entry.read(self.limits.file_bytes)
            except Refused as refusal:
                return Outcome(student, "refused", f"{entry.display}: {refusal}")
            except Exception as error:  # a corrupt member (bad CRC, unknown compression, ...)
                return Outcome(student, "refused", f"{entry.display}: cannot be read ({error})")
            if name != f"{expected}.ipynb":
                notes.append(f"{expected}.ipynb from {entry.display!r}")
            bad = notebook_bytes_problem(contents[f"{expected}.ipynb"])
            if bad:
                notes.append(f"{expected}.ipynb is {bad}: copied, it will score 0")
        kept = {}
        for name, entry in files.extra.items():
            try:
                kept[name] = entry.read(64 * 1024)
            except (Refused, OSError) as error:
                notes.append(f"{name} not kept ({error})")
        notes += files.notes + reasons + _extra_note(extra)
        if self.roster and student not in self.roster:
            notes.append("not on the roster")
        moment = parse_submission_time(files.timestamp) or max(entry.time for _, entry in chosen.values())
        status = self._write(student, contents, kept, format_timestamp(moment))
        return Outcome(student, status, "; ".join(notes))

    def _case_twin(self, student):
        """Two ids that differ only in case would share a folder on a case-insensitive
        file system (macOS, Windows) and a row in an LMS that ignores case: the second is refused."""
        base = self.config.submitted()
        twins = sorted(p.name for p in base.iterdir()
                       if p.name != student and p.name.lower() == student.lower()) if base.is_dir() else []
        return (f"student id {student!r} differs only in case from {twins[0]!r}, already in "
                f"{base.name}/ (refused: they would share a folder)") if twins else ""

    def _choose(self, entries):
        """expected notebook -> (name, Entry); the files left over; why some are missing."""
        by_name = {}
        for name, entry in entries:
            by_name.setdefault(name, []).append(entry)
        for name, found in by_name.items():  # the same name at several depths: the shallowest wins
            shallowest = min(len(entry.parts) for entry in found)
            if sum(len(entry.parts) == shallowest for entry in found) == 1:
                by_name[name] = [entry for entry in found if len(entry.parts) == shallowest]
        notebooks = sorted(name for name in by_name if name.lower().endswith(".ipynb"))
        matched, ambiguous = match_notebooks(notebooks, self.notebooks)
        reasons = []
        chosen = {}
        for expected in self.notebooks:
            if expected in matched:
                found = by_name[matched[expected]]
                if len(found) == 1:
                    chosen[expected] = (matched[expected], found[0])
                    continue
                ambiguous[expected] = [entry.display for entry in found]
            if expected in ambiguous:
                reasons.append(f"{expected}.ipynb not collected: several files could be it "
                               f"({', '.join(ambiguous[expected])})")
            else:
                reasons.append(f"no {expected}.ipynb")
        used = {id(entry) for _, entry in chosen.values()}
        extra = sorted(entry.display for _, entry in entries if id(entry) not in used)
        return chosen, extra, reasons

    def _write(self, student, contents, kept, timestamp):
        target = self.config.submitted(student, self.assignment)
        base = self.config.submitted().resolve()
        if base not in target.resolve().parents:  # the student id check already makes this impossible
            raise RuntimeError(f"refusing to write outside {base}: {target}")
        existing = {p.name: p for p in target.glob("*.ipynb")} if target.is_dir() else {}
        same = (set(existing) == set(contents)
                and all(existing[name].read_bytes() == data for name, data in contents.items()))
        has_stamp = (target / TIMESTAMP_FILE).is_file()
        if same and has_stamp:
            return "unchanged"
        if self.dry_run:
            return "collected (dry run)"
        target.mkdir(parents=True, exist_ok=True)
        if not same:  # the old time must not outlive a write cut short (a full disk): collect again redoes it
            (target / TIMESTAMP_FILE).unlink(missing_ok=True)
        for name, data in contents.items():
            if name not in existing or existing[name].read_bytes() != data:
                write_atomic(target / name, data)
        for name, path in existing.items():
            if name not in contents:
                path.unlink()
        if not same:
            for name in EXCHANGE_FILES:
                if name in kept:
                    write_atomic(target / name, kept[name])
                else:
                    (target / name).unlink(missing_ok=True)
        write_atomic(target / TIMESTAMP_FILE, timestamp.encode())
        return "collected" if not existing else ("replaced" if not same else "collected (timestamp added)")


def _extra_note(extra):
    return [f"ignored: {', '.join(extra)}"] if extra else []


# ---------------------------------------------------------------- the three sources

def roster_ids(config: CourseConfig) -> tuple[set[str], dict[str, str]]:
    """(student ids, {lms_user_id: student id}) from the gradebook, if there is one."""
    if not config.db_url and not (config.root / "gradebook.db").exists():
        return set(), {}
    from autograder.gradebook import open_gradebook

    with open_gradebook(config) as gradebook:
        students = gradebook.students
        return ({s.id for s in students},
                {str(s.lms_user_id).strip(): s.id for s in students if s.lms_user_id})


def collect_path(config: CourseConfig, assignment: str, source: Path | str, pattern: str | None = None,
                 layout: str | None = None, limits: Limits | None = None, dry_run: bool = False,
                 timezone: datetime.tzinfo = datetime.timezone.utc) -> list[Outcome]:
    """Collect from a folder or a zip; returns the list of Outcome."""
    source = Path(source)
    limits = limits or Limits()
    budget = Budget(limits)
    layout = layout or ("lms" if pattern or source.suffix.lower() == ".zip" else "folders")
    label = pattern or config.lms_pattern or DEFAULT_PATTERN
    compiled = compile_pattern(label) if layout == "lms" else None
    roster, lms_ids = roster_ids(config)
    with contextlib.ExitStack() as stack:
        if source.is_dir():
            items = list(walk_folder(source, budget, (), 0, timezone))
        elif source.is_file():
            try:
                archive = stack.enter_context(zipfile.ZipFile(source))
            except (zipfile.BadZipFile, OSError) as error:
                raise SystemExit(f"{source}: not a readable zip file ({error})")
            items = list(walk_zip(archive, budget, (), 0, timezone))
        else:
            raise SystemExit(f"not found: {source}")
        if compiled:
            students, refusals = by_lms_name(items, compiled, lms_ids, label)
        else:
            students, refusals = by_student_folder(items)
        return Collector(config, assignment, limits, dry_run, roster).add(students, refusals, budget)


def collect_exchange(config: CourseConfig, assignment: str, limits: Limits | None = None,
                     dry_run: bool = False, check_owner: bool = True) -> list[Outcome]:
    """Collect each student's latest submission from nbgrader's exchange; every entry
    refused (another user's, a bad name, a link) is reported."""
    from autograder.exchange import exchange_submissions

    limits = limits or Limits()
    budget = Budget(limits)
    students: dict[str, StudentFiles] = {}
    refusals: list[Refusal] = []
    for inbound in exchange_submissions(config, assignment, check_owner):
        student, folder = inbound.student, inbound.folder
        if inbound.problem:
            refusals.append(Refusal(folder.name, inbound.problem, student))
            continue
        files = students.setdefault(student, StudentFiles(timestamp=format_timestamp(inbound.time),
                                                          notes=[inbound.note] if inbound.note else []))
        for item in walk_folder(folder, budget, (student,)):
            if isinstance(item, Refusal):
                item.student = student
                refusals.append(item)
            elif len(item.parts) == 2 and item.parts[1] == TIMESTAMP_FILE:
                continue
            elif len(item.parts) == 2 and item.parts[1] in EXCHANGE_FILES:
                files.extra[item.parts[1]] = item
            else:
                files.entries.append((item.parts[-1], item))
    roster, _ = roster_ids(config)
    return Collector(config, assignment, limits, dry_run, roster).add(students, refusals, budget)


def summary(outcomes: list[Outcome]) -> str:
    """The short table collect prints, and its totals line."""
    def line(text):  # a refused id or file name may hold a newline ("carol\n"): one row per outcome
        return text.replace("\r", "\\r").replace("\n", "\\n")

    rows = [("student", "status", "detail")] + [(line(o.student), o.status, line(o.detail)) for o in outcomes]
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{s:<{width[0]}}  {t:<{width[1]}}  {d}".rstrip() for s, t, d in rows]
    counts: dict[str, int] = {}
    for outcome in outcomes:
        key = outcome.status.split(" ")[0]
        key = "collected" if key == "replaced" else key
        counts[key] = counts.get(key, 0) + 1
    lines.append(", ".join(f"{counts.get(k, 0)} {k}" for k in ("collected", "unchanged", "refused")))
    return "\n".join(lines)
