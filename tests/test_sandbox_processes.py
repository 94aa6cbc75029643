"""The grader's processes: what it starts ends with it, and it touches nothing else.

- sandbox uids come from a configured range that is checked free (no user, group,
  subordinate range or foreign process), and concurrent leases never share a uid;
- a sandbox ends by its pid namespace, never by its uid: a process of someone else
  under the same uid survives;
- kill -9 of `grade` ends its workers and their sandboxes within seconds;
- a second `grade` on the same course stops with a message, or waits with --wait;
- `grade` works on a new course folder without the virtual environment on PATH;
- the sandbox's /etc is reachable for the unprivileged uid (ld.so.cache, fonts);
- the cases of tests/threats/processes.py get exactly their expected scores.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import uids
from autograder.config import load_config
from autograder.results import RESULTS_FILE, load_results
from autograder.sandbox import Limits, Sandbox, bubblewrap_available
from submission_factory import make_submission, write_submission
from threats import SCORING, build, prepare
from threats.processes import CASES

pytestmark = pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap (bwrap) is not installed")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="sandbox uids are used only when grading as root")

FAST = {"AUTOGRADER_LIMIT_CELL_SECONDS": "10", "AUTOGRADER_LIMIT_NOTEBOOK_SECONDS": "40"}
# A range of its own, away from the default one that other tests lease from meanwhile.
TEST_RANGE = "2000100000-2000100007"


def grade_command(course, *extra):
    return [sys.executable, "-m", "autograder", "--course", str(course), "grade", SCORING, *extra]


def write_course(course, students, notebook=None):
    """The corpus's frozen scoring_functions released into the course, and the students'
    submissions of it (the reference answers, or `notebook`)."""
    prepare(course)
    for student in students:
        write_submission(course / "submitted", student, SCORING, notebook or build(), SCORING)


def write_unreleased_course(course, students):
    """Submissions of the course's own scoring_functions in a course folder that `grade`
    has not prepared yet (it releases the assignment itself, once it may start)."""
    for student in students:
        write_submission(course / "submitted", student, SCORING, make_submission(SCORING), SCORING)


def hanging_notebook():
    """Correct answers, then a cell that never ends (the cell limit is what stops it)."""
    return build(after={"masked_softmax": ["while True:\n    pass"]})


def children_of():
    """{pid: [child pids]} of every process now."""
    tree = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            parent = next(int(line.split()[1]) for line in status.read_text().splitlines()
                          if line.startswith("PPid:"))
        except (OSError, StopIteration, ValueError):
            continue
        tree.setdefault(parent, []).append(int(status.parent.name))
    return tree


def descendants(pid):
    tree, found, todo = children_of(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def identity(pid):
    """(start time, state, uid) of a process, or None once it is gone; a zombie counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    uid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("Uid:"))
    return fields[19], uid


def still_running(processes):
    """The processes of {pid: identity} that are still the same process and not dead."""
    return [pid for pid, ident in processes.items() if identity(pid) == ident]


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def sandboxes_running(pid):
    """The processes under `pid` inside a pid namespace other than ours (a sandbox's)."""
    ours = os.readlink("/proc/self/ns/pid")
    inside = []
    for child in descendants(pid):
        try:
            if os.readlink(f"/proc/{child}/ns/pid") != ours and identity(child) is not None:
                inside.append(child)
        except OSError:
            pass
    return inside


def foreign_sleeper(uid):
    """A process of 'another user' under `uid`, started by the test, not by a grader."""
    return subprocess.Popen(["sleep", "300"], user=uid, group=uid, extra_groups=[],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# -- the uid range ---------------------------------------------------------------------------
def test_uid_ranges_are_parsed_strictly():
    assert uids.parse_range("2000000000-2000000009", "x") == range(2000000000, 2000000010)
    for bad in ("", "61000", "a-b", "0-999", "5000-4000", "1000-4294967295", "1000-200000"):
        with pytest.raises(SystemExit, match="x: "):
            uids.parse_range(bad, "x")
    assert uids.configured_range("3000000-3000009", environ={}) == range(3000000, 3000010)
    assert uids.configured_range("3000000-3000009", {uids.ENV_VARIABLE: "4000000-4000001"}) == range(4000000, 4000002)
    assert uids.configured_range("", environ={}) == uids.DEFAULT_RANGE


def test_the_default_range_is_free_here():
    assert uids.range_problems(uids.DEFAULT_RANGE) == []


def test_a_range_with_a_user_or_a_subordinate_range_is_refused(tmp_path):
    import pwd

    user = pwd.getpwuid(os.geteuid())
    assert any(f"belongs to the user {user.pw_name!r}" in p
               for p in uids.range_problems(range(user.pw_uid, user.pw_uid + 1), ()))
    subuid = tmp_path / "subuid"
    subuid.write_text("alice:100000:65536\nbob:2000065536:65536\n")
    problems = uids.range_problems(range(2000100000, 2000100010), (subuid,))
    assert problems == [f"{subuid} line 2 gives 'bob' the ids 2000065536-2000131071"]
    assert uids.range_problems(range(2000000000, 2000000010), (subuid,)) == []


@as_root
def test_grade_refuses_a_range_that_holds_a_user(tmp_path, tool_env):
    import pwd

    taken = pwd.getpwnam("nobody").pw_uid
    course = tmp_path / "course"
    write_unreleased_course(course, ["s1"])
    (course / "course.toml").write_text(f'[sandbox]\nuids = "{taken - 2}-{taken}"\n')
    run = subprocess.run(grade_command(course), env=tool_env, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert f"uid {taken} belongs to the user 'nobody'" in run.stderr, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert not (course / "gradebook.db").exists() and not (course / "autograded").exists()  # refused at start


@as_root
def test_leases_never_share_a_uid_and_say_when_the_range_is_full():
    small = range(2000100100, 2000100104)
    with uids.Lease(small, 2, ()) as mine:
        other = subprocess.run(
            [sys.executable, "-c", "from autograder import uids\n"
             f"print(*uids.Lease(range({small.start}, {small.stop}), 2, ()).uids)"],
            capture_output=True, text=True, timeout=60)
        assert other.returncode == 0, other.stderr
        theirs = [int(word) for word in other.stdout.split()]
        assert len(theirs) == 2 and not set(theirs) & set(mine.uids), (mine.uids, theirs)
        with pytest.raises(SystemExit, match="only 2 of the 4 sandbox uids"):
            uids.Lease(small, 3, ())
    # Released when the holder ends: all four are free again.
    with uids.Lease(small, 4, ()) as everything:
        assert everything.uids == list(small)


@as_root
def test_a_foreign_process_in_the_range_stops_grade_and_survives(tmp_path, tool_env):
    first = int(TEST_RANGE.split("-")[0])
    sleeper = foreign_sleeper(first + 3)
    try:
        course = tmp_path / "course"
        write_unreleased_course(course, ["s1"])
        env = {**tool_env, uids.ENV_VARIABLE: TEST_RANGE}
        run = subprocess.run(grade_command(course), env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode != 0
        assert f"uid {first + 3} runs process {sleeper.pid} (sleep), which no grader started" in run.stderr, \
            run.stderr[-2000:]
        assert sleeper.poll() is None, "grade ended a process it did not start"
        assert not (course / "gradebook.db").exists()  # refused before anything was done
    finally:
        sleeper.kill()
        sleeper.wait()


@as_root
def test_a_sandbox_ends_only_its_own_processes():
    """Even under a uid that some other process has (the check above would refuse it,
    here the uid is forced), stopping the sandbox leaves that process alone."""
    uid = int(TEST_RANGE.split("-")[0]) + 5
    sleeper = foreign_sleeper(uid)
    try:
        sandbox = Sandbox(Limits(), uid=uid).start()
        reply, _ = sandbox.request({"op": "exec", "code": "import os\nprint(os.getuid())"},
                                   deadline=time.monotonic() + 30)
        assert reply["output"].strip() == str(uid)
        inside = descendants(sandbox.process.pid)
        assert inside, "no process in the sandbox"
        sandbox.stop()
        assert all(identity(p) is None for p in inside), "a process of the sandbox outlived it"
        assert sleeper.poll() is None, "stopping the sandbox ended a process it did not start"
    finally:
        sleeper.kill()
        sleeper.wait()


# -- the sandbox's file system ----------------------------------------------------------------
def test_the_sandbox_etc_is_reachable_for_its_uid():
    sandbox = Sandbox(Limits()).start()
    try:
        code = ("import os\n"
                "print(oct(os.stat('/etc').st_mode & 0o777))\n"
                "print(len(open('/etc/ld.so.cache', 'rb').read()))\n"
                "print(sorted(os.listdir('/etc/fonts')) if os.path.exists('/etc/fonts') else 'no fonts')\n")
        reply, _ = sandbox.request({"op": "exec", "code": code}, deadline=time.monotonic() + 30)
    finally:
        sandbox.stop()
    assert reply["ok"], reply["error"]
    mode, cache, fonts = reply["output"].splitlines()
    assert mode == "0o755"
    assert int(cache) == Path("/etc/ld.so.cache").stat().st_size > 0
    host_fonts = sorted(os.listdir("/etc/fonts")) if Path("/etc/fonts").is_dir() else "no fonts"
    assert fonts == str(host_fonts)


def test_the_process_cases_get_their_scores(tmp_path, tool_env):
    course = tmp_path / "course"
    prepare(course)
    for case in CASES:
        folder = course / "submitted" / case.student / case.assignment
        folder.mkdir(parents=True)
        case.write(folder)
    run = subprocess.run(grade_command(course, "--jobs", "2"), env={**tool_env, **FAST},
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    results = {r.student: r for r in load_results(load_config(course), SCORING)}
    print("\ncase | expected | got")
    for case in CASES:
        got = {q.question: q.score for q in results[case.student].questions}
        print(f"{case.student} | {sum(case.expected.values()):g} | {sum(got.values()):g}")
        assert got == case.expected, (case.student, [(q.question, q.status, q.messages)
                                                     for q in results[case.student].questions])
        assert results[case.student].status == "graded"
    if os.geteuid() == 0:  # the daemon ended with its sandbox
        assert uids.stray_processes(uids.configured_range(), wait=5) == {}


# -- the run's own processes -------------------------------------------------------------------
def start_hanging_grade(course, env):
    """grade on two hanging submissions; returns the process once both sandboxes run.
    (Its output goes to a file: a pipe would stay open as long as any worker lives.)"""
    log = course.parent / "hanging-grade.log"
    with open(log, "w") as stderr:
        process = subprocess.Popen(grade_command(course, "--jobs", "2"), env=env, stdout=subprocess.DEVNULL,
                                   stderr=stderr, start_new_session=True)
    wait_for(lambda: len(sandboxes_running(process.pid)) >= 2 or process.poll() is not None, 120,
             "two sandboxes to start")
    assert process.poll() is None, log.read_text()[-2000:]
    return process


def test_kill_nine_of_grade_ends_its_workers_and_sandboxes(tmp_path, tool_env):
    course = tmp_path / "course"
    write_course(course, ["s1", "s2"], hanging_notebook())
    grade = start_hanging_grade(course, {**tool_env, "AUTOGRADER_LIMIT_CELL_SECONDS": "300"})
    time.sleep(1)
    started = {pid: identity(pid) for pid in descendants(grade.pid)}
    started = {pid: ident for pid, ident in started.items() if ident is not None}
    assert len(started) >= 6, started  # two workers, each with bwrap, its init and the runner
    grade.kill()  # kill -9 of grade alone, not of its process group
    grade.wait()
    try:
        wait_for(lambda: not still_running(started), 10, f"the run's processes to end: {still_running(started)}")
    finally:  # a failure must not leave them grading forever
        for pid in still_running(started):
            os.kill(pid, signal.SIGKILL)
    assert not list(course.glob(f"autograded/*/{SCORING}/{RESULTS_FILE}"))


def test_a_second_grade_on_the_course_stops_or_waits(tmp_path, tool_env):
    course = tmp_path / "course"
    write_course(course, ["s1", "s2"], hanging_notebook())
    first = start_hanging_grade(course, {**tool_env, "AUTOGRADER_LIMIT_CELL_SECONDS": "300"})
    try:
        second = subprocess.run(grade_command(course), env=tool_env, capture_output=True, text=True, timeout=120)
        assert second.returncode != 0
        assert f"another `grade` is running on this course (pid {first.pid}, grading {SCORING}" in second.stderr, \
            second.stderr[-2000:]
        assert "nothing was graded" in second.stderr and "Traceback" not in second.stderr

        log = tmp_path / "waiting.log"
        with open(log, "w") as stderr:
            waiting = subprocess.Popen(grade_command(course, "--wait"),
                                       env={**tool_env, **FAST, "AUTOGRADER_LIMIT_CELL_SECONDS": "3"},
                                       stdout=subprocess.DEVNULL, stderr=stderr)
        wait_for(lambda: "waiting for the `grade` already running" in log.read_text() or waiting.poll() is not None,
                 120, "the second run to wait")
        time.sleep(1)
        assert waiting.poll() is None and first.poll() is None, log.read_text()[-2000:]
    finally:
        first.kill()
        first.wait()
    waiting.wait(timeout=300)
    err = log.read_text()
    assert waiting.returncode == 0, err[-2000:]
    assert f"waiting for the `grade` already running on this course (pid {first.pid}" in err
    assert "2 submissions, 2 to grade" in err.split("waiting for", 1)[1]
    assert len(list(course.glob(f"autograded/*/{SCORING}/{RESULTS_FILE}"))) == 2


# -- the tools nbgrader runs --------------------------------------------------------------------
def test_grade_on_a_new_course_without_the_environment_on_path(tmp_path, tool_env):
    course = tmp_path / "new-course"
    write_unreleased_course(course, ["s1"])
    env = {**tool_env, "PATH": os.pathsep.join(["/usr/bin", "/bin"])}
    assert str(Path(sys.executable).parent) not in env["PATH"].split(os.pathsep)
    run = subprocess.run(grade_command(course), env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    result = load_results(load_config(course), SCORING)[0]
    assert result.status == "graded" and result.score == result.max_score > 0
