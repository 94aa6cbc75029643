"""What grading found for one submission: COURSE/autograded/STUDENT/ASSIGNMENT/results.json.

The scores are also written to nbgrader's gradebook (for the formgrader and
exports); results.json keeps what the gradebook has no place for: per-question
messages, the reason a question got nothing, review flags, and the digest of
the submission it was computed from (so re-running grades only what changed).
Files are replaced atomically: a reader sees the old result or the new one.
"""
from __future__ import annotations

import errno
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autograder.config import CourseConfig

RESULTS_FILE = "results.json"

# Question statuses.
PASSED = "passed"  # every check of the test cell held
FAILED = "failed"  # a check failed (messages say which)
ERROR = "error"  # the student's code raised while the tests called it
FAULT = "fault"  # the student's process died or ran out of time/memory
MISSING = "missing"  # the notebook or the answer is not in the submission


@dataclass
class CheckResult:
    """One named check of a question (autograder.checks): its share of the points."""
    name: str
    points: float
    score: float
    status: str
    message: str = ""  # why it failed (empty when it passed)


@dataclass
class QuestionResult:
    notebook: str
    question: str  # nbgrader grade_id of the test cell
    score: float
    max_score: float
    status: str
    messages: list[str] = field(default_factory=list)  # what the student may read (no hidden test code)
    checks: list[CheckResult] = field(default_factory=list)  # empty for a test cell without named checks

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuestionResult:
        data = dict(data)
        data["checks"] = [CheckResult(**c) for c in data.get("checks", [])]
        return cls(**data)


@dataclass
class ReviewFlag:
    notebook: str
    cell: int
    line: int
    rule: str
    reason: str
    code: str


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    digest: str  # sha256 over the submitted files
    status: str  # "graded", or why the submission could not be graded normally
    timestamp: str = ""  # submission time (ISO 8601, from timestamp.txt) or ""
    graded_at: str = ""
    seconds: float = 0.0
    questions: list[QuestionResult] = field(default_factory=list)
    flags: list[ReviewFlag] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)  # what killed the student's process, in order
    # sha256 over the graded parts of the source it was graded against (grading.source_digest);
    # "" in a result saved before it existed: that result counts as graded against old tests.
    source_digest: str = ""

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        data = dict(data)
        data["questions"] = [QuestionResult.from_dict(q) for q in data.get("questions", [])]
        data["flags"] = [ReviewFlag(**f) for f in data.get("flags", [])]
        return cls(**data)


def results_path(config: CourseConfig, student: str, assignment: str) -> Path:
    return config.autograded(student, assignment) / RESULTS_FILE


def save_result(config: CourseConfig, result: SubmissionResult) -> Path:
    """Write results.json atomically (temp file, fsync, rename)."""
    path = results_path(config, result.student, result.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, result.to_json())
    return path


def write_atomic(path: Path | str, content: str | bytes) -> None:
    """Replace `path` with `content` (str as UTF-8, or bytes): temp file, fsync, rename."""
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file 0600; give it the mode open() would (0644 under the usual
        # umask 022), so a formgrader or a course-team member in the group can read it.
        os.fchmod(handle, 0o666 & ~current_umask())
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask, read without changing it (os.umask can only set it, and setting
    it to read it would race with threads creating files meanwhile)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no /proc (not Linux): read it by setting it, then restore it
    os.umask(mask)
    return mask


def load_result(config: CourseConfig, student: str, assignment: str) -> SubmissionResult | None:
    """The saved result, or None when there is none (or it cannot be read)."""
    path = results_path(config, student, assignment)
    try:
        return SubmissionResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def load_results(config: CourseConfig, assignment: str | None = None) -> list[SubmissionResult]:
    """Every saved result of the course (or of one assignment), sorted by student.

    Only results filed under a valid student id, and saved for that student and
    assignment, count: a folder with another name (from before ids were checked as a
    whole, "carol\n") never reaches an export or a feedback page."""
    from autograder.submissions import is_student_id

    found = []
    for path in sorted(config.autograded().glob(f"*/{assignment or '*'}/{RESULTS_FILE}")):
        student, name = path.parent.parent.name, path.parent.name
        result = load_result(config, student, name) if is_student_id(student) else None
        if result is not None and (result.student, result.assignment) == (student, name):
            found.append(result)
    return sorted(found, key=lambda r: (r.assignment, r.student))


DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def disk_full(error: BaseException | None) -> bool:
    """Whether an error says the disk (or the user's quota) is full: an OSError with
    ENOSPC/EDQUOT, or a database's error for it (SQLite "database or disk is full",
    PostgreSQL "No space left on device"), also when wrapped in another error."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
            return True
        text = str(error).lower()
        if "disk is full" in text or "no space left on device" in text or "disk quota exceeded" in text:
            return True
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return False
