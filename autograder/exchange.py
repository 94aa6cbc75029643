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
import filecmp
import os
from pathlib import Path

from traitlets.config import Config

from autograder.course import ensure_tools_on_path
from autograder.results import write_atomic
from autograder.submissions import TIMESTAMP_FILE, format_timestamp, parse_submission_time

SECRET_FILE = "submission_secret.txt"


def exchange_root(config):
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


def outbound(config, assignment):
    return exchange_root(config) / config.course_id / "outbound" / assignment


def release_to_exchange(config, assignment_ids):
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


def exchange_submissions(config, assignment):
    """Each student's latest submission in the inbound folder: a list of
    (student, folder, timestamp text, problem), problem "" when it can be collected.

    nbgrader's ExchangeCollect finds them (latest per student, by the time in
    the folder name); copying is left to `collect`, which checks what it copies.
    Anyone can write to the inbound folder, so a name nbgrader cannot parse or
    a symbolic link is reported for that entry instead of stopping the collection.
    """
    import datetime

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
            return record

        def copy_files(self):
            pass

    settings, coursedir, authenticator = _nbgrader_parts(config, assignment)
    app = FindSubmissions(coursedir=coursedir, authenticator=authenticator, config=settings)
    _run(app, f"read the submissions of {assignment} in the exchange")
    found = []
    for record in sorted(app.src_records, key=lambda r: r["username"]):
        folder = Path(app.inbound_path) / record["filename"]
        problem = record["problem"]
        if not problem and folder.is_symlink():
            problem = "symbolic link (not followed)"
        elif not problem and not folder.is_dir():
            problem = "not a folder"
        stamp = ""
        if not problem:
            stamp_file = folder / TIMESTAMP_FILE
            if stamp_file.is_file() and not stamp_file.is_symlink():
                stamp = stamp_file.read_text(encoding="utf-8", errors="replace")[:100].strip()
            if parse_submission_time(stamp) is None:  # fall back on the time in the folder name
                moment = record["timestamp"].replace(tzinfo=datetime.timezone.utc)
                stamp = format_timestamp(moment)
        found.append((record["username"], folder, stamp, problem))
    return found


def release_feedback(config, assignment):
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
