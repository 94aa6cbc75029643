"""nbgrader's exchange (the folder JupyterHub students fetch from and submit to).

Set it in course.toml; students then use nbgrader's own Assignments tab (or
`nbgrader fetch_assignment` / `submit` / `fetch_feedback`) with the same
exchange folder and course id:

    exchange = "/usr/local/share/nbgrader/exchange"   # absolute, or relative to the course folder
    course_id = "attention-course"

    EXCHANGE/COURSE_ID/outbound/ASSIGNMENT/      released notebooks     (release)
    EXCHANGE/COURSE_ID/inbound/STUDENT+ASSIGNMENT+TIMESTAMP+RANDOM/  submissions (collect --from-exchange)
    EXCHANGE/COURSE_ID/feedback/HASH.html        feedback pages         (release --feedback)

This uses nbgrader 0.9's default exchange classes, so the layout, permissions
and the feedback hashes are nbgrader's own.
"""
from __future__ import annotations

import datetime
import filecmp
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from traitlets.config import Config

from autograder.course import ensure_tools_on_path
from autograder.results import write_atomic
from autograder.submissions import TIMESTAMP_FILE, format_timestamp, parse_submission_time

if TYPE_CHECKING:
    from autograder.config import CourseConfig

SECRET_FILE = "submission_secret.txt"
# A claimed time this much earlier than the one taken is worth a note (a copy takes a moment).
CLAIM_TOLERANCE = datetime.timedelta(minutes=1)


def exchange_root(config: CourseConfig) -> Path:
    """The exchange folder as an absolute path (relative paths are from the course folder)."""
    if not config.exchange:
        raise SystemExit("no exchange configured: set exchange = \"/path/to/exchange\" in "
                         f"{config.root / 'course.toml'}")
    root = Path(config.exchange).expanduser()
    return root if root.is_absolute() else (config.root / root).resolve()


def _nbgrader_parts(config, assignment, student_id=""):
    """A CourseDirectory and an Authenticator for this course, as nbgrader's apps build them."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory

    ensure_tools_on_path()
    settings = Config()
    settings.Exchange.root = str(exchange_root(config))
    settings.CourseDirectory.root = str(config.root.resolve())
    settings.CourseDirectory.course_id = config.course_id
    settings.CourseDirectory.db_url = config.gradebook_url
    settings.CourseDirectory.assignment_id = assignment
    settings.CourseDirectory.student_id = student_id
    coursedir = CourseDirectory(config=settings)
    return settings, coursedir, Authenticator(config=settings)


def _run(app, what):
    from nbgrader.utils import capture_log

    result = capture_log(app)
    if not result["success"]:
        log = result.get("log", "") or result.get("error", "")
        reason = next((line for line in reversed(log.splitlines()) if line.strip()), "unknown error")
        raise SystemExit(f"nbgrader could not {what}: {reason}")
    return result


def outbound(config: CourseConfig, assignment: str) -> Path:
    return exchange_root(config) / config.course_id / "outbound" / assignment


def release_to_exchange(config: CourseConfig, assignment_ids: Iterable[str]) -> list[tuple[str, str]]:
    """Copy COURSE/release/ASSIGNMENT to the exchange's outbound folder.

    Returns (assignment, "released" | "unchanged") pairs; an assignment already
    in the exchange with the same files is not copied again.
    """
    from nbgrader.exchange.default import ExchangeReleaseAssignment

    done = []
    for assignment in assignment_ids:
        release_dir = config.root / "release" / assignment
        if _same_tree(release_dir, outbound(config, assignment)):
            done.append((assignment, "unchanged"))
            continue
        settings, coursedir, authenticator = _nbgrader_parts(config, assignment)
        app = ExchangeReleaseAssignment(coursedir=coursedir, authenticator=authenticator, config=settings)
        app.force = True
        _run(app, f"release {assignment} to the exchange")
        done.append((assignment, "released"))
    return done


def _same_tree(left, right):
    if not (left.is_dir() and right.is_dir()):
        return False
    compared = filecmp.dircmp(left, right)
    if compared.left_only or compared.right_only or compared.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, compared.common_files, shallow=False)
    return not mismatch and not errors and all(
        _same_tree(left / name, right / name) for name in compared.common_dirs)


@dataclass
class InboundEntry:
    """One submission folder of the exchange's inbound folder, as collect sees it."""
    student: str  # the user name the entry's name claims
    folder: Path
    named: datetime.datetime | None = None  # aware UTC: the time in its name
    time: datetime.datetime | None = None  # aware UTC: when it was submitted (see submission_time)
    problem: str = ""  # why it is refused; "" when it can be collected
    note: str = ""  # what the instructor should know about an accepted entry


def user_name(uid: int) -> str | None:
    """The account name of a uid (nbgrader's rule compares it to the student id), or None."""
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def exchange_submissions(config: CourseConfig, assignment: str, check_owner: bool = True) -> list[InboundEntry]:
    """Each student's latest acceptable submission in the inbound folder, and every
    refused entry: a list of InboundEntry, sorted by student.

    nbgrader's ExchangeCollect finds the entries and reads their names
    (STUDENT+ASSIGNMENT+TIMESTAMP+RANDOM). Anyone can write to the inbound
    folder, so each entry is checked before the latest one is chosen:
    - its owner: the entry and every file in it must belong to the user account
      named like the student (nbgrader's own check, which only warns, made a
      refusal here): an entry written in another student's name is refused, and
      never replaces that student's real submission;
    - its name must be one nbgrader reads, and it must be a real folder (not a link).
    The submission time is never the entry's timestamp.txt (its owner wrote it):
    see submission_time. check_owner=False (collect --no-owner-check) is for hubs
    where every student's server runs under one system user, where the exchange
    cannot tell students apart at all.
    """
    from nbgrader.exchange.default import ExchangeCollect

    class FindSubmissions(ExchangeCollect):
        def _path_to_record(self, path):
            try:
                record = super()._path_to_record(path)
                record["problem"] = ""
            except Exception as error:  # ExchangeError, or dateutil's ValueError on a bad time
                name = os.path.basename(path)
                record = {"username": name.split("+")[0], "filename": name, "problem":
                          f"not a submission name nbgrader can read ({error})"}
            if record.get("timestamp") is None:
                record["timestamp"] = datetime.datetime.min
            self.every_record.append(record)
            return record

        def copy_files(self):
            pass

    settings, coursedir, authenticator = _nbgrader_parts(config, assignment)
    app = FindSubmissions(coursedir=coursedir, authenticator=authenticator, config=settings)
    app.every_record = []
    _run(app, f"read the submissions of {assignment} in the exchange")
    refused: list[InboundEntry] = []
    latest: dict[str, InboundEntry] = {}  # student -> the entry that counts
    for record in sorted(app.every_record, key=lambda r: (r["username"], r["filename"])):
        entry = InboundEntry(record["username"], Path(app.inbound_path) / record["filename"],
                             problem=record["problem"])
        try:  # the entry's owner can change it while we look: its trouble is its own
            if not entry.problem:
                entry.problem = entry_problem(entry.folder, entry.student, check_owner)
            if not entry.problem:
                entry.named = record["timestamp"].replace(tzinfo=datetime.timezone.utc)
                entry.time, entry.note = submission_time(entry.folder, entry.named)
        except OSError as error:
            entry.problem = f"cannot be read ({error.strerror or error})"
        if entry.problem:
            refused.append(entry)
            continue
        # Which of a student's own entries counts: the latest by name, as nbgrader
        # chooses (the student's own choice among their own work); its time is checked.
        if entry.student not in latest or (entry.named, entry.time) > (latest[entry.student].named,
                                                                       latest[entry.student].time):
            latest[entry.student] = entry
    return sorted([*latest.values(), *refused], key=lambda e: (e.student, e.folder.name))


def entry_problem(folder: Path, student: str, check_owner: bool = True) -> str:
    """Why an inbound entry is refused, or "": a link or not a folder; with check_owner,
    any part of it not owned by the account named `student`."""
    if folder.is_symlink():
        return "symbolic link (not followed)"
    if not folder.is_dir():
        return "not a folder"
    if not check_owner:
        return ""
    for path, info in _walk_lstat(folder):
        owner = user_name(info.st_uid)
        if owner != student:
            shown = "the entry" if path == folder else path.relative_to(folder).as_posix()
            return (f"{shown} is owned by {owner or f'uid {info.st_uid}'}, not by {student}: "
                    "a submission in another student's name (refused; nbgrader's owner check)")
    return ""


def submission_time(folder: Path, named: datetime.datetime) -> tuple[datetime.datetime, str]:
    """(when an entry was submitted, a note or ""). The entry's name carries the time
    `nbgrader submit` gave it, and the student could choose both the name and the
    timestamp.txt inside. What the student cannot set is the file system's change
    time (ctime) of the folder and its files: the later of the two is taken (as
    nbgrader's documentation advises, from what the student cannot write). A
    timestamp.txt or a name claiming an earlier time is said in the note."""
    written = max(max(info.st_ctime, info.st_mtime) for _, info in _walk_lstat(folder))
    written = datetime.datetime.fromtimestamp(written, datetime.timezone.utc)
    moment = max(named, written)
    claims = []
    if moment - named > CLAIM_TOLERANCE:
        claims.append(f"its name says {format_timestamp(named)}")
    stamp_file = folder / TIMESTAMP_FILE
    if stamp_file.is_file() and not stamp_file.is_symlink():
        claimed = parse_submission_time(stamp_file.read_text(encoding="utf-8", errors="replace")[:100])
        if claimed is not None and moment - claimed > CLAIM_TOLERANCE:
            claims.append(f"its timestamp.txt says {format_timestamp(claimed)}")
    note = (f"submitted {format_timestamp(moment)} (written then in the exchange; "
            f"{' and '.join(claims)})") if claims else ""
    return moment, note


def _walk_lstat(folder):
    """(path, lstat) of a folder and everything in it, links not followed."""
    yield folder, folder.lstat()
    for parent, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(parent) / name
            yield path, path.lstat()


def release_feedback(config: CourseConfig, assignment: str) -> list[tuple[str, str]]:
    """Put the feedback pages COURSE/feedback/STUDENT/ASSIGNMENT/*.html in the exchange.

    nbgrader's ExchangeReleaseFeedback names each page by a hash of the secret
    the student's `nbgrader submit` wrote, so only that student's
    `fetch_feedback` finds it. The secret and timestamp come from the collected
    submission. Skipped, with the reason: students who did not submit through
    the exchange, and pages older than the submission they would answer.
    Returns (student, "released" | reason) pairs.
    """
    from nbgrader.exchange.default import ExchangeReleaseFeedback

    done = []
    for folder in sorted(config.feedback().glob(f"*/{assignment}")):
        student = folder.parent.name
        pages = sorted(folder.glob("*.html"))
        if not pages:
            continue
        submitted = config.submitted(student, assignment)
        secret = submitted / SECRET_FILE
        if not secret.is_file():
            done.append((student, "skipped: not submitted through the exchange"))
            continue
        newest = max((p.stat().st_mtime for p in submitted.glob("*.ipynb")), default=0)
        if min(p.stat().st_mtime for p in pages) < newest:
            done.append((student, "skipped: the feedback is older than the submission "
                                  "(grade and write feedback again)"))
            continue
        for name in (SECRET_FILE, TIMESTAMP_FILE):
            _copy_if_different(submitted / name, folder / name)
        settings, coursedir, authenticator = _nbgrader_parts(config, assignment, student)
        app = ExchangeReleaseFeedback(coursedir=coursedir, authenticator=authenticator, config=settings)
        _run(app, f"release the feedback of {student} on {assignment}")
        done.append((student, "released"))
    return done


def _copy_if_different(source, target):
    data = source.read_bytes()
    if not target.is_file() or target.read_bytes() != data:
        write_atomic(target, data)
