"""The student flow through nbgrader's exchange, end to end, in a temporary exchange:
release, fetch as a student, solve, submit, collect, grade, feedback, fetch the feedback.

alice works with nbgrader's own command line (her own HOME, as on JupyterHub);
bob through nbgrader's exchange classes (faster; the same code the command runs)
and submits twice; mallory and eve write hostile entries into the inbound folder,
which anyone can write to.
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from autograder import release as release_command
from autograder.cli import main
from autograder.config import load_config
from autograder.exchange import exchange_root, release_to_exchange
from autograder.submissions import read_timestamp
from submission_factory import make_submission

COURSE_ID = "attention-test"
ASSIGNMENT = "scoring_functions"


def student_app(kind, home, student, exchange):
    """Run one of nbgrader's exchange steps as a student would (own assignment folder and cache)."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import default
    from nbgrader.utils import capture_log

    settings = Config()
    settings.Exchange.root = str(exchange)
    settings.Exchange.assignment_dir = str(home)
    settings.Exchange.cache = str(home / ".local" / "share" / "jupyter" / "nbgrader_cache")
    settings.CourseDirectory.course_id = COURSE_ID
    settings.CourseDirectory.student_id = student
    settings.CourseDirectory.assignment_id = ASSIGNMENT
    coursedir = CourseDirectory(config=settings)
    app = getattr(default, kind)(coursedir=coursedir, authenticator=Authenticator(config=settings),
                                 config=settings)
    result = capture_log(app)
    assert result["success"], result
    return result


def student_cli(home, student, exchange, env, *command):
    """`nbgrader COMMAND ASSIGNMENT` in the student's HOME, with no instructor settings around."""
    student_env = {k: v for k, v in env.items() if not k.startswith(("JUPYTER", "XDG_"))}
    student_env["HOME"] = str(home)
    nbgrader = Path(sys.executable).parent / "nbgrader"
    done = subprocess.run([str(nbgrader), *command, ASSIGNMENT, "--course", COURSE_ID,
                           f"--Exchange.root={exchange}", f"--student={student}"],
                          cwd=home, env=student_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def solve(home, notebook):
    path = home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.is_file()  # fetched
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def flow(tmp_path_factory, tool_env):
    base = tmp_path_factory.mktemp("flow")
    course = base / "course"
    course.mkdir()
    # A relative exchange path is taken from the course folder.
    (course / "course.toml").write_text(f'exchange = "../exchange"\ncourse_id = "{COURSE_ID}"\n')
    config = load_config(course)
    exchange = exchange_root(config)
    assert exchange == (base / "exchange").resolve()

    # The instructor releases (exercises/ of the repository is left alone here).
    args = argparse.Namespace(assignments=[ASSIGNMENT], exercises_only=False, feedback=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(release_command, "release", lambda ids=None: [])
        assert release_command.run(args, config) == 0

    homes = {name: base / "home" / name for name in ("alice", "bob")}
    for home in homes.values():
        home.mkdir(parents=True)
    student_cli(homes["alice"], "alice", exchange, tool_env, "fetch_assignment")
    solve(homes["alice"], make_submission(ASSIGNMENT))
    student_cli(homes["alice"], "alice", exchange, tool_env, "submit")

    student_app("ExchangeFetchAssignment", homes["bob"], "bob", exchange)
    solve(homes["bob"], make_submission(ASSIGNMENT, blank={"softmax", "masked_softmax"}))
    student_app("ExchangeSubmit", homes["bob"], "bob", exchange)
    bob_final = make_submission(ASSIGNMENT, blank={"scaled_dot_product_attention"})
    solve(homes["bob"], bob_final)
    student_app("ExchangeSubmit", homes["bob"], "bob", exchange)

    inbound = exchange / COURSE_ID / "inbound"
    (inbound / f"mallory+{ASSIGNMENT}+not a time").mkdir()
    eve = inbound / f"eve+{ASSIGNMENT}+2026-10-01 12:00:00.000000 UTC+abc"
    eve.mkdir()
    (eve / f"{ASSIGNMENT}.ipynb").symlink_to(config.root / "gradebook.db")
    (inbound / f"trent+{ASSIGNMENT}+2026-10-01 12:00:00.000000 UTC+abc").symlink_to(config.root / "source")
    return argparse.Namespace(config=config, course=course, exchange=exchange, homes=homes,
                              inbound=inbound, bob_final=bob_final, env=tool_env)


def collect(flow, capsys):
    code = main(["--course", str(flow.course), "collect", "--from-exchange", ASSIGNMENT])
    return code, capsys.readouterr().out


def test_release_puts_the_student_version_in_the_exchange(flow):
    outbound = flow.exchange / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert outbound.read_bytes() == (flow.course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()
    assert "BEGIN SOLUTION" not in outbound.read_text()
    assert release_to_exchange(flow.config, [ASSIGNMENT]) == [(ASSIGNMENT, "unchanged")]


def test_collect_takes_each_students_latest_submission(flow, capsys):
    code, out = collect(flow, capsys)
    assert code == 1, out  # the hostile entries are refused
    rows = {line.split()[0] + " " + line.split()[1] for line in out.splitlines()[2:-1]}
    assert {"alice collected", "bob collected", "mallory refused", "eve refused", "trent refused"} <= rows
    assert out.strip().endswith("2 collected, 0 unchanged, 4 refused")
    assert "symbolic link" in out and "not a submission name nbgrader can read" in out

    for student in ("alice", "bob"):
        folder = flow.config.submitted(student, ASSIGNMENT)
        assert sorted(p.name for p in folder.iterdir()) == [
            f"{ASSIGNMENT}.ipynb", "submission_secret.txt", "timestamp.txt"]
        entry = max(flow.inbound.glob(f"{student}+*"), key=read_timestamp)  # the latest
        assert (folder / "timestamp.txt").read_text() == (entry / "timestamp.txt").read_text()
        assert (folder / "submission_secret.txt").read_bytes() == (entry / "submission_secret.txt").read_bytes()
    bob = flow.config.submitted("bob", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    assert nbformat.read(bob, as_version=4) == flow.bob_final
    for name in ("eve", "trent", "mallory"):
        assert not flow.config.submitted(name).exists()

    stats = {p: p.stat().st_mtime_ns for p in flow.config.submitted().rglob("*")}
    code, out = collect(flow, capsys)
    assert "0 collected, 2 unchanged, 4 refused" in out
    assert {p: p.stat().st_mtime_ns for p in flow.config.submitted().rglob("*")} == stats


def test_feedback_pages_reach_only_their_student(flow, capsys):
    feedback = {}
    for student in ("alice", "bob"):
        folder = flow.config.feedback(student, ASSIGNMENT)
        folder.mkdir(parents=True)
        feedback[student] = f"<html><body>feedback for {student}</body></html>"
        (folder / f"{ASSIGNMENT}.html").write_text(feedback[student])
    assert main(["--course", str(flow.course), "release", "--feedback", ASSIGNMENT]) == 0
    assert f"feedback {ASSIGNMENT} alice: released" in capsys.readouterr().out

    student_cli(flow.homes["alice"], "alice", flow.exchange, flow.env, "fetch_feedback")
    student_app("ExchangeFetchFeedback", flow.homes["bob"], "bob", flow.exchange)
    alice_pages = list((flow.homes["alice"] / ASSIGNMENT / "feedback").rglob("*.html"))
    assert [p.read_text() for p in alice_pages] == [feedback["alice"]]
    # bob fetches feedback for each of his submissions he has feedback for: the last one.
    bob_pages = list((flow.homes["bob"] / ASSIGNMENT / "feedback").rglob("*.html"))
    assert [p.read_text() for p in bob_pages] == [feedback["bob"]]
    assert bob_pages[0].parent.name == (flow.config.submitted("bob", ASSIGNMENT) / "timestamp.txt").read_text()

    # Feedback older than the submission it would answer is not released.
    notebook = flow.config.submitted("bob", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    page = flow.config.feedback("bob", ASSIGNMENT) / f"{ASSIGNMENT}.html"
    os.utime(page, (notebook.stat().st_mtime - 60,) * 2)
    assert main(["--course", str(flow.course), "release", "--feedback", ASSIGNMENT]) == 1
    assert "bob: skipped: the feedback is older than the submission" in capsys.readouterr().out
    os.utime(page, None)


def test_grade_and_feedback_end_to_end(flow, capsys):
    """grade and feedback are the grader's commands: grade ASSIGNMENT, feedback ASSIGNMENT."""
    from autograder.results import load_result

    for command in (["grade", ASSIGNMENT, "--jobs", "2"], ["feedback", ASSIGNMENT]):
        done = subprocess.run([sys.executable, "-m", "autograder", "--course", str(flow.course), *command],
                              cwd=Path(__file__).resolve().parent.parent, env=flow.env,
                              capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, done.stdout + done.stderr
    alice = load_result(flow.config, "alice", ASSIGNMENT)
    bob = load_result(flow.config, "bob", ASSIGNMENT)
    assert alice.max_score > 0 and alice.score == alice.max_score
    assert bob.score == bob.max_score - 2  # his last submission: scaled_dot_product_attention left blank
    from nbgrader.api import Gradebook

    with Gradebook(flow.config.gradebook_url) as gradebook:
        assert gradebook.find_submission(ASSIGNMENT, "alice").score == alice.score
        assert gradebook.find_submission(ASSIGNMENT, "bob").score == bob.score

    assert main(["--course", str(flow.course), "release", "--feedback", ASSIGNMENT]) == 0
    capsys.readouterr()
    student_cli(flow.homes["alice"], "alice", flow.exchange, flow.env, "fetch_feedback")
    student_app("ExchangeFetchFeedback", flow.homes["bob"], "bob", flow.exchange)
    for student in ("alice", "bob"):
        page = flow.config.feedback(student, ASSIGNMENT) / f"{ASSIGNMENT}.html"
        fetched = list((flow.homes[student] / ASSIGNMENT / "feedback").rglob(f"{ASSIGNMENT}.html"))
        assert [p.read_bytes() for p in fetched] == [page.read_bytes()]
