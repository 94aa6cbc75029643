"""grade --scheduler: judging on a Dask cluster (a scheduler and two workers on 127.0.0.1,
started as the instructor would, with the `dask` command) gives the local grader's scores,
and a worker killed with SIGKILL mid-run costs nothing: every submission is recorded once."""
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from autograder.cluster import safe_relative, submission_payload
from autograder.config import load_config
from autograder.grading import grade_assignment
from autograder.results import RESULTS_FILE, load_result
from autograder.uids import LOCK_DIR

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from grading_benchmark import build_course, copy_submissions  # noqa: E402

ASSIGNMENT = "scoring_functions"
STUDENTS = 30
DASK = Path(sys.executable).parent / "dask"
PROGRESS_LINE = re.compile(r"^\s*\d+%\|[#0-9 ]*\| \d+/\d+ \[.*\]  (s\d{3}): ")  # grading.Progress in a log

pytestmark = pytest.mark.slow


def dask_env():
    env = dict(os.environ)
    env["PATH"] = str(DASK.parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")  # workers import autograder
    env["MPLBACKEND"] = "Agg"
    return env


def start(command, log, **env):
    """A process of its own session (so stopping it stops all it started), output to `log`."""
    with open(log, "wb") as stream:
        return subprocess.Popen(command, env={**dask_env(), **env}, cwd=log.parent, start_new_session=True,
                                stdout=stream, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_until(condition, what, seconds=120):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def start_worker(address, folder, name):
    """One `dask worker` process (no nanny: SIGKILL to it is a worker lost), judging one at a time."""
    temporary = folder / name / "tmp"  # its own, to see what it left when killed
    temporary.mkdir(parents=True)
    return start([str(DASK), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                  "--host", "127.0.0.1", "--name", name, "--local-directory", str(folder / name)],
                 folder / f"{name}.log", TMPDIR=str(temporary))


def judging_folders(folder, name):
    """The private course folders a worker is judging in (left behind if it was killed)."""
    return list((folder / name / "tmp").glob("autograder-worker-*"))


def leased_uids(pid):
    """The sandbox uids a process holds a lease on (autograder.uids: an open lock file per uid)."""
    held = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        target = Path(os.readlink(f"/proc/{pid}/fd/{fd}")) if os.path.islink(f"/proc/{pid}/fd/{fd}") else None
        if target is not None and target.parent == LOCK_DIR:
            held.append(int(target.name))
    return held


def worker_count(address):
    from distributed import Client

    with Client(address, timeout="10s") as client:
        return len(client.scheduler_info(n_workers=-1)["workers"])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """{"address", "workers": [Popen, Popen]}: a scheduler on a free port and two workers."""
    folder = tmp_path_factory.mktemp("dask-cluster")
    address_file = folder / "scheduler.json"
    processes = []
    try:
        processes.append(start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                "--no-dashboard", "--scheduler-file", str(address_file)],
                               folder / "scheduler.log"))
        wait_until(address_file.exists, "the scheduler's address")
        wait_until(lambda: json.loads(address_file.read_text() or "{}").get("address"), "the scheduler file")
        address = json.loads(address_file.read_text())["address"]
        workers = [start_worker(address, folder, f"worker{n}") for n in (1, 2)]
        processes += workers
        wait_until(lambda: worker_count(address) == 2, "two workers")
        yield {"address": address, "workers": workers, "folder": folder}
    finally:
        for process in reversed(processes):
            stop(process)


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    """(the course graded by the local grader, its results, a function giving a fresh copy of
    the same submissions)."""
    base = tmp_path_factory.mktemp("cluster-courses")
    local = base / "local"
    kinds = build_course(local, ASSIGNMENT, STUDENTS, seed=17)
    assert {"correct", "partial", "mistake"} <= set(kinds.values())  # mixed quality
    results = grade_assignment(load_config(local), ASSIGNMENT, jobs=2, stream=io.StringIO())
    assert len(results) == STUDENTS

    def copy(name):
        root = base / name
        copy_submissions(local, root, ASSIGNMENT)
        return root

    return local, {r.student: r for r in results}, copy


def grade_on(course, address):
    return [sys.executable, "-m", "autograder", "--course", str(course), "grade", ASSIGNMENT,
            "--scheduler", address]


def recorded_students(stderr):
    """The students of the progress lines, one line per submission recorded."""
    return [m.group(1) for m in map(PROGRESS_LINE.match, stderr.splitlines()) if m]


def assert_same_as_local(course, local_results):
    """Every submission recorded once, in results.json and the gradebook, with the local scores."""
    config = load_config(course)
    assert len(list(course.glob(f"autograded/*/{ASSIGNMENT}/{RESULTS_FILE}"))) == STUDENTS
    for student, expected in local_results.items():
        result = load_result(config, student, ASSIGNMENT)
        assert result.status == expected.status, student
        assert result.digest == expected.digest, student
        assert [(q.question, q.score, q.status) for q in result.questions] == \
            [(q.question, q.score, q.status) for q in expected.questions], student
        # the autograded notebooks came back from the worker
        assert sorted(p.name for p in config.autograded(student, ASSIGNMENT).glob("*.ipynb")) == \
            sorted(p.name for p in load_config(course.parent / "local").autograded(student, ASSIGNMENT)
                   .glob("*.ipynb")), student
    engine = create_engine(config.gradebook_url)
    with engine.connect() as db:
        rows = dict(db.execute(text(
            "select student_id, count(*) from submitted_assignment group by student_id")).all())
    engine.dispose()
    assert rows == {student: 1 for student in local_results}


def test_cluster_scores_equal_local(cluster, courses, tool_env):
    local, local_results, copy = courses
    assert len({r.score for r in local_results.values()}) > 2  # scores of mixed quality
    course = copy("cluster")
    run = subprocess.run(grade_on(course, cluster["address"]), env=tool_env, capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(recorded_students(run.stderr)) == sorted(local_results)
    assert_same_as_local(course, local_results)
    if os.geteuid() == 0:  # each worker judged under a sandbox uid of its own
        first, second = (leased_uids(worker.pid) for worker in cluster["workers"])
        assert len(first) == len(second) == 1 and first != second, (first, second)
    # Graded again: nothing changed, nothing sent to the cluster.
    again = subprocess.run(grade_on(course, cluster["address"]), env=tool_env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 to grade" in again.stderr and recorded_students(again.stderr) == []


def test_worker_killed_mid_run(cluster, courses, tool_env):
    local, local_results, copy = courses
    course = copy("cluster-kill")
    done = lambda: len(list(course.glob(f"autograded/*/{ASSIGNMENT}/{RESULTS_FILE}")))  # noqa: E731
    with open(course.parent / "kill-run.err", "w+") as errors:
        run = subprocess.Popen(grade_on(course, cluster["address"]), env=tool_env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=errors)
        try:
            wait_until(lambda: done() >= 4 or run.poll() is not None, "four submissions recorded", 300)
            victim = cluster["workers"][0]
            wait_until(lambda: judging_folders(cluster["folder"], "worker1"), "worker1 judging", 60)
            assert run.poll() is None and victim.poll() is None
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            # killed in the middle of a submission: its private course folder is still there
            assert judging_folders(cluster["folder"], "worker1")
            assert run.wait(timeout=900) == 0
        finally:
            stop(run)
        errors.seek(0)
        stderr = errors.read()
    # The killed worker's task ran again on the other: every student recorded exactly once.
    assert sorted(recorded_students(stderr)) == sorted(local_results), stderr[-3000:]
    assert_same_as_local(course, local_results)


def test_payload_carries_files_not_paths(tmp_path):
    folder = tmp_path / "submitted" / "alice" / ASSIGNMENT
    (folder / "sub").mkdir(parents=True)
    (folder / "a.ipynb").write_bytes(b"{}")
    (folder / "sub" / "b.txt").write_bytes(b"x")
    payload = submission_payload(ASSIGNMENT, "alice", folder, "d" * 64)
    assert payload["files"] == {"a.ipynb": b"{}", "sub/b.txt": b"x"}
    assert str(tmp_path) not in repr(payload)


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/", "a\0b"])
def test_unsafe_names_refused(name):
    with pytest.raises(ValueError, match="refused file name"):
        safe_relative(name)


def test_bad_scheduler_address(tmp_path, tool_env):
    command = [sys.executable, "-m", "autograder", "--course", str(tmp_path), "grade", ASSIGNMENT]
    run = subprocess.run(command + ["--scheduler", "localhost:1"], env=tool_env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode != 0 and "expected an address such as tcp://HOST:8786" in run.stderr
    assert not (tmp_path / "source").exists()  # refused before anything was touched
    run = subprocess.run(command + ["--scheduler", "tcp://127.0.0.1:1", "--jobs", "2"], env=tool_env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "--jobs sets the local pool" in run.stderr


def test_worker_uid_trouble_fails_the_task_not_the_worker(monkeypatch):
    """A worker that cannot lease a sandbox uid fails the task with the reason (SystemExit
    would end the worker's thread instead); without the sandbox no uid is needed."""
    from concurrent.futures import ThreadPoolExecutor

    from autograder.cluster import worker_sandbox_uid

    monkeypatch.setenv("AUTOGRADER_SANDBOX_UIDS", "nonsense")
    with ThreadPoolExecutor(1) as fresh_thread:  # the lease is per thread: a thread without one
        assert fresh_thread.submit(worker_sandbox_uid, False).result() is None
        if os.geteuid() == 0:
            with pytest.raises(RuntimeError, match="cannot lease a sandbox uid: .*expected a uid range"):
                fresh_thread.submit(worker_sandbox_uid, True).result()
