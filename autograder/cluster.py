"""Judging on a Dask cluster: `grade ASSIGNMENT --scheduler tcp://HOST:PORT`.

Only the judging moves; the process that started `grade` records exactly as a local run
does (gradebook, feedback, results.json), one submission at a time, in grading.py.

The workers share no file system with the course. Each task carries what judging one
submission needs over the wire: the submission's files (bytes by relative path, the
timestamp included). The assignment's source and released notebooks (bytes by name) are
scattered to every worker once per run. A worker writes both into a private temporary
course folder, judges there with grading.grade_submission (the same bubblewrap sandbox and
limits as a local run), and sends back the result as a dict and the autograded notebooks
as bytes, which the recording process writes into the course's autograded/ folder.

Sandbox uids: a worker running as root drops each sandbox to a uid it leases on its own
host (autograder.uids, AUTOGRADER_SANDBOX_UIDS on that host, else the default range),
one per worker thread, held until the worker ends: workers of one host, and grading runs
on that host, never share a uid. Run workers with --nthreads 1 (and --nworkers N for N at
once): a submission judged per process, as in the local pool.

A worker that dies mid-task (even by SIGKILL) loses nothing: the scheduler runs its task
again on another worker, and the recording process records each student once. A task
that kills its workers again and again (Dask's allowed-failures) is recorded as failed,
as the local pool does with a submission that breaks it twice.
"""
import tempfile
import threading
import uuid
from dataclasses import asdict
from pathlib import Path

from autograder.config import CourseConfig
from autograder.results import SubmissionResult, write_atomic

CONNECT_TIMEOUT = "20s"
WORKER_WAIT_SECONDS = 60  # how long `grade` waits for the scheduler's first worker


# -- what travels to the workers ---------------------------------------------------------

def folder_files(folder):
    """{relative posix path: bytes} of every file below `folder` (what submission_digest covers)."""
    folder = Path(folder)
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def assignment_files(config, assignment):
    """The assignment's notebooks a worker needs: {"source": {name: bytes}, "release": {...}}
    (source: the tests and points; release: the notebook an unsubmitted one is graded as)."""
    return {kind: {path.stem: path.read_bytes() for path in sorted(folder.glob("*.ipynb"))}
            for kind, folder in (("source", config.source(assignment)),
                                 ("release", config.release(assignment)))}


def submission_payload(assignment, student, folder, digest, isolate=True, limits=None):
    """One task's arguments: plain data, nothing that names a path of the course's machine."""
    return {"assignment": assignment, "student": student, "digest": digest, "isolate": isolate,
            "limits": limits, "files": folder_files(folder)}


def safe_relative(name):
    """`name` as a relative path inside a folder; ValueError for anything that could leave it."""
    parts = name.split("/")  # as written: PurePosixPath would quietly drop "." and empty parts
    if any(part in ("", ".", "..") for part in parts) or "\0" in name:
        raise ValueError(f"refused file name {name!r}")
    return Path(*parts)


# -- the worker side ---------------------------------------------------------------------
_thread_uids = threading.local()


def worker_sandbox_uid(isolate):
    """This worker thread's sandbox uid, leased on its host at first use and held until the
    worker ends (None without root or without the sandbox, as in a local run)."""
    import os

    from autograder.uids import Lease, configured_range

    if not isolate or os.geteuid() != 0:
        return None
    if getattr(_thread_uids, "lease", None) is None:
        try:
            _thread_uids.lease = Lease(configured_range(), 1)
        except SystemExit as stop:  # a task must fail with the reason, not end the worker's thread
            raise RuntimeError(f"this worker cannot lease a sandbox uid: {stop}") from None
    return _thread_uids.lease.uids[0]


def write_course(root, assignment, student, course_files, files):
    """A private course folder for one submission; returns the submission's folder."""
    for kind, notebooks in course_files.items():
        folder = root / kind / assignment
        folder.mkdir(parents=True)
        for name, data in notebooks.items():
            (folder / f"{safe_relative(name)}.ipynb").write_bytes(data)
    submitted = root / "submitted" / student / assignment
    submitted.mkdir(parents=True)
    for name, data in files.items():
        path = submitted / safe_relative(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return submitted


def grade_remote(payload, course_files):
    """Judge one submission on this worker; {"result": SubmissionResult as a dict,
    "notebooks": {file name: bytes} of its autograded notebooks}."""
    from autograder import grading
    from autograder.submissions import student_id_problem

    assignment, student = payload["assignment"], payload["student"]
    problem = student_id_problem(student)
    if problem:  # it names a folder below: refused here too, though the recorder never sends one
        raise ValueError(f"refused student id {student!r}: {problem}")
    safe_relative(assignment)
    uid = worker_sandbox_uid(payload["isolate"])
    with tempfile.TemporaryDirectory(prefix="autograder-worker-") as temporary:
        root = Path(temporary)
        config = CourseConfig(root=root)
        folder = write_course(root, assignment, student, course_files, payload["files"])
        try:
            result = grading.grade_submission(config, assignment, student, folder, payload["digest"],
                                              payload["isolate"], payload["limits"], sandbox_uid=uid)
        finally:
            grading.forget_sources(root)  # the folder is gone after this task
        graded = config.autograded(student, assignment)
        notebooks = {path.name: path.read_bytes() for path in sorted(graded.glob("*.ipynb"))}
    return {"result": asdict(result), "notebooks": notebooks}


def worker_ready():
    """Run on every worker before a run: it imports this module, so it can judge."""
    return True


# -- the recording side ------------------------------------------------------------------

def save_notebooks(config, result, notebooks):
    """Write a remote result's autograded notebooks where a local run writes them."""
    folder = config.autograded(result.student, result.assignment)
    for name, data in notebooks.items():
        relative = safe_relative(name)
        if relative.suffix != ".ipynb" or len(relative.parts) != 1:
            raise ValueError(f"a worker sent back an unexpected file {name!r}")
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / relative, data)


def check_address(scheduler):
    """A clear stop for an address that is not a Dask scheduler's (checked before anything runs)."""
    if not scheduler.startswith(("tcp://", "tls://")) or ":" not in scheduler.split("://", 1)[1]:
        raise SystemExit(f"--scheduler: expected an address such as tcp://HOST:8786, got {scheduler!r}")


def connect(scheduler):
    """A Client of the scheduler at `scheduler` with at least one worker ready; a clear stop if not."""
    from distributed import Client

    check_address(scheduler)
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as error:
        raise SystemExit(f"--scheduler {scheduler}: cannot connect to a Dask scheduler ({error}). "
                         "Start one with `dask scheduler` (see INSTRUCTORS.md).")
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        client.run(worker_ready)
    except TimeoutError:
        client.close()
        raise SystemExit(f"--scheduler {scheduler}: no worker joined the scheduler in "
                         f"{WORKER_WAIT_SECONDS} s; start workers with `dask worker {scheduler}`")
    except Exception as error:
        client.close()
        raise SystemExit(f"--scheduler {scheduler}: a worker cannot judge ({type(error).__name__}: {error}); "
                         "each worker needs this course's environment and autograder importable")
    return client


def judge_on_cluster(scheduler, config, assignment, todo, isolate=True, limits=None):
    """Judge the submissions of `todo` ({student: (folder, digest)}) on the cluster; yields a
    SubmissionResult per finished task, as they finish (its autograded notebooks written).

    A task whose workers kept dying (KilledWorker) or that failed outside the judging
    yields a failed result with an empty digest: graded again by the next run."""
    from distributed import as_completed

    from autograder.grading import crashed_result

    client = connect(scheduler)
    futures = {}
    try:
        [course_files] = client.scatter([assignment_files(config, assignment)], broadcast=True, hash=False)
        for student, (folder, digest) in todo.items():
            payload = submission_payload(assignment, student, folder, digest, isolate, limits)
            future = client.submit(grade_remote, payload, course_files, pure=False,
                                   key=f"grade-{assignment}-{student}-{uuid.uuid4().hex}")
            futures[future] = student
        for future in as_completed(futures):
            student = futures[future]
            try:
                answer = future.result()
            except Exception as error:  # noqa: BLE001 - one submission's trouble must not stop the class
                reason = f"{type(error).__name__}: {error}"[:300]
                yield crashed_result(config, assignment, student, "", f"on the cluster: {reason} "
                                     "(graded again on the next run)")
                continue
            result = SubmissionResult.from_dict(answer["result"])
            save_notebooks(config, result, answer["notebooks"])
            yield result
    finally:
        for future in futures:
            future.cancel()
        client.close()
