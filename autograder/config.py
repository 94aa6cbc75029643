"""An instructor's course folder: nbgrader's layout plus an optional course.toml.

    COURSE/course.toml                          settings (all optional, see CourseConfig)
    COURSE/gradebook.db                         nbgrader's SQLite gradebook (unless db_url is set)
    COURSE/source/ASSIGNMENT/NB.ipynb           nbgrader source notebooks (copied from solutions/)
    COURSE/release/ASSIGNMENT/NB.ipynb          the student versions
    COURSE/submitted/STUDENT/ASSIGNMENT/        collected submissions (+ timestamp.txt)
    COURSE/autograded/STUDENT/ASSIGNMENT/       results.json and the graded notebooks
    COURSE/feedback/STUDENT/ASSIGNMENT/NB.html  feedback pages
    COURSE/exports/  COURSE/reports/            grade exports and report plots
    COURSE/.grade.lock                          held by the `grade` run working on the course

This is nbgrader's own course layout, so its formgrader and exchange keep working
on the same folder.
"""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

CONFIG_FILE = "course.toml"


@dataclass
class CourseConfig:
    root: Path
    course_id: str = "attention-course"
    db_url: str = ""  # empty: sqlite file COURSE/gradebook.db
    exchange: str = ""  # nbgrader exchange folder; empty: no exchange
    due: dict[str, datetime.datetime] = field(default_factory=dict)  # assignment -> aware datetime
    late_penalty_per_day: float = 0.0  # fraction of the score lost per started day late
    late_penalty_max: float = 1.0  # the most a late submission can lose (fraction)
    lms_pattern: str = ""  # regex with a named group "student" for LMS download file names
    sandbox_uids: str = ""  # "FIRST-LAST": the sandbox's uids (autograder.uids); empty: the default

    @property
    def gradebook_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.root / 'gradebook.db').resolve()}"

    def source(self, assignment: str = "") -> Path:
        """Where `release` puts an assignment's source notebooks: what grading reads."""
        return _join(self.root / "source", assignment)

    def release(self, assignment: str = "") -> Path:
        return _join(self.root / "release", assignment)

    def submitted(self, student: str = "", assignment: str = "") -> Path:
        return _join(self.root / "submitted", student, assignment)

    def autograded(self, student: str = "", assignment: str = "") -> Path:
        return _join(self.root / "autograded", student, assignment)

    def feedback(self, student: str = "", assignment: str = "") -> Path:
        return _join(self.root / "feedback", student, assignment)

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def reports(self) -> Path:
        return self.root / "reports"


def _join(base: Path, *parts: str) -> Path:
    for part in parts:
        if part:
            base = base / part
    return base


def load_config(root: Path | str) -> CourseConfig:
    """The course folder's settings; a missing course.toml means all defaults."""
    root = Path(root)
    config = CourseConfig(root=root)
    path = root / CONFIG_FILE
    if not path.exists():
        return config
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise SystemExit(f"{path}: not valid TOML ({error})")
    known = {"course_id", "db_url", "exchange", "due", "late_penalty", "lms", "sandbox"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SystemExit(f"{path}: unknown settings {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    config.course_id = str(data.get("course_id", config.course_id))
    config.db_url = str(data.get("db_url", ""))
    config.exchange = str(data.get("exchange", ""))
    config.due = {name: _parse_due(path, name, value) for name, value in data.get("due", {}).items()}
    late = data.get("late_penalty", {})
    config.late_penalty_per_day = float(late.get("per_day", 0.0))
    config.late_penalty_max = float(late.get("maximum", 1.0))
    config.lms_pattern = str(data.get("lms", {}).get("filename_pattern", ""))
    config.sandbox_uids = str(data.get("sandbox", {}).get("uids", ""))
    return config


def _parse_due(path, name, value):
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise SystemExit(f"{path}: due date of {name} is not an ISO date: {value!r}")
    if not isinstance(value, datetime.datetime):
        raise SystemExit(f"{path}: due date of {name} must be a date and time, got {value!r}")
    if value.tzinfo is None:
        raise SystemExit(f"{path}: due date of {name} needs a time zone, e.g. 2026-10-01T23:59:00+00:00")
    return value


@contextlib.contextmanager
def grading_lock(config: CourseConfig, doing: str, wait: bool = False,
                 stream: TextIO | None = None) -> Iterator[None]:
    """Hold COURSE/.grade.lock while `doing` runs: one `grade` per course at a time.

    A second run stops with a message naming the first (or, with wait, waits for it
    and then grades only what the first left). The kernel drops the lock when the
    holder ends, even by kill -9, so a lock is never stale.
    """
    config.root.mkdir(parents=True, exist_ok=True)
    path = config.root / ".grade.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 500, 0).decode("utf-8", "replace").strip() or "another process"
            if not wait:
                raise SystemExit(f"{config.root}: another `grade` is running on this course ({holder}); "
                                 "nothing was graded. Wait until it ends (it grades and records "
                                 "every submission), or add --wait to start when it has.")
            if stream is not None:
                print(f"waiting for the `grade` already running on this course ({holder}) to end", file=stream)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        os.pwrite(fd, f"pid {os.getpid()}, {doing}, since {started}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
