"""The student flow through nbgrader's exchange, end to end, in a temporary exchange:
release, fetch as a student, solve, submit, collect, grade, feedback, fetch the feedback.

alice works with nbgrader's own command line (her own HOME, as on JupyterHub);
bob through nbgrader's exchange classes (faster; the same code the command runs)
and submits twice; carl submits late and backdates his entry (its name and its
timestamp.txt); mallory and eve write hostile entries into the inbound folder,
which anyone can write to, one of them a blank in alice's name.

Each student is a user account of its own: the suite runs as root, writes each
entry and gives it to its student's uid (chown), and the exchange's account
lookup (autograder.exchange.user_name) knows these uids by name. Without root
nothing can be given away: the owner check is then switched off and its own
tests are skipped.
"""
import argparse
import datetime
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from autograder import release as release_command
from autograder.cli import main, run_release
from autograder.config import load_config
from autograder import exchange as exchange_module
from autograder.exchange import exchange_root, release_to_exchange
from autograder.feedback import PAGE_START
from autograder.submissions import format_timestamp, parse_submission_time, read_timestamp
from submission_factory import make_submission

COURSE_ID = "attention-test"
ASSIGNMENT = "scoring_functions"
AS_ROOT = os.geteuid() == 0
# The students' user accounts: uids far above any real account's.
UIDS = {name: 3_100_000 + number for number, name in enumerate(("alice", "bob", "carl", "mallory", "eve"))}
NAMES = {uid: name for name, uid in UIDS.items()}
LATE_PER_DAY = 0.25


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


def give(path, student):
    """Make `student` the owner of an inbound entry and everything in it (links themselves)."""
    if not AS_ROOT:
        return
    uid = UIDS[student]
    os.lchown(path, uid, uid)
    for parent, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(Path(parent) / name, uid, uid)


def entries(inbound, student):
    return sorted(inbound.glob(f"{student}+{ASSIGNMENT}+*"))


def solve(home, notebook):
    path = home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.is_file()  # fetched
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def flow(tmp_path_factory, tool_env):
    base = tmp_path_factory.mktemp("flow")
    course = base / "course"
    course.mkdir()
    # A relative exchange path is taken from the course folder. Due an hour ago:
    # every submission below is late by one started day.
    started = datetime.datetime.now(datetime.timezone.utc)
    due = started - datetime.timedelta(hours=1)
    (course / "course.toml").write_text(
        f'exchange = "../exchange"\ncourse_id = "{COURSE_ID}"\n'
        f'[due]\n{ASSIGNMENT} = "{due.isoformat()}"\n[late_penalty]\nper_day = {LATE_PER_DAY}\n')
    config = load_config(course)
    exchange = exchange_root(config)
    assert exchange == (base / "exchange").resolve()

    # The instructor releases (exercises/ of the repository is left alone here).
    args = argparse.Namespace(assignments=[ASSIGNMENT], exercises_only=False, feedback=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(release_command, "release", lambda ids=None: [])
        assert run_release(args, config) == 0

    homes = {name: base / "home" / name for name in ("alice", "bob", "carl")}
    for home in homes.values():
        home.mkdir(parents=True)
    student_cli(homes["alice"], "alice", exchange, tool_env, "fetch_assignment")
    solve(homes["alice"], make_submission(ASSIGNMENT))
    student_cli(homes["alice"], "alice", exchange, tool_env, "submit")

    student_app("ExchangeFetchAssignment", homes["bob"], "bob", exchange)
    solve(homes["bob"], make_submission(ASSIGNMENT, blank={"log_softmax", "attention_weights"}))
    student_app("ExchangeSubmit", homes["bob"], "bob", exchange)
    bob_final = make_submission(ASSIGNMENT, blank={"log_softmax"})
    solve(homes["bob"], bob_final)
    student_app("ExchangeSubmit", homes["bob"], "bob", exchange)

    inbound = exchange / COURSE_ID / "inbound"
    give(*entries(inbound, "alice"), "alice")
    for entry in entries(inbound, "bob"):
        give(entry, "bob")

    # carl submits an hour late, then renames his entry and rewrites its timestamp.txt
    # to claim two days earlier, before the due date.
    student_app("ExchangeFetchAssignment", homes["carl"], "carl", exchange)
    solve(homes["carl"], make_submission(ASSIGNMENT))
    student_app("ExchangeSubmit", homes["carl"], "carl", exchange)
    claimed = format_timestamp(started - datetime.timedelta(days=2))
    (submitted,) = entries(inbound, "carl")
    backdated = submitted.with_name(f"carl+{ASSIGNMENT}+{claimed}+{submitted.name.rsplit('+', 1)[1]}")
    submitted.rename(backdated)
    (backdated / "timestamp.txt").write_text(claimed)
    give(backdated, "carl")

    # mallory puts a blank notebook in alice's name, named later than her real submission;
    # and one in bob's name whose folder bob owns but whose notebook she wrote. (Without
    # root they cannot be written as another user: then there are none.)
    later = format_timestamp(started + datetime.timedelta(hours=1))
    for victim, owner in (("alice", "mallory"), ("bob", "bob")) if AS_ROOT else ():
        forged = inbound / f"{victim}+{ASSIGNMENT}+{later}+forged"
        forged.mkdir()
        nbformat.write(make_submission(ASSIGNMENT, blank=set(reference_answers_of())),
                       forged / f"{ASSIGNMENT}.ipynb")
        (forged / "timestamp.txt").write_text(later)
        give(forged, "mallory")
        if owner != "mallory":
            os.lchown(forged, UIDS[owner], UIDS[owner])

    (inbound / f"mallory+{ASSIGNMENT}+not a time").mkdir()
    eve = inbound / f"eve+{ASSIGNMENT}+2026-10-01 12:00:00.000000 UTC+abc"
    eve.mkdir()
    (eve / f"{ASSIGNMENT}.ipynb").symlink_to(config.root / "gradebook.db")
    give(eve, "eve")
    (inbound / f"trent+{ASSIGNMENT}+2026-10-01 12:00:00.000000 UTC+abc").symlink_to(config.root / "source")
    return argparse.Namespace(config=config, course=course, exchange=exchange, homes=homes,
                              inbound=inbound, bob_final=bob_final, env=tool_env, due=due,
                              claimed=claimed, started=started)


def reference_answers_of():
    from submission_factory import reference_answers

    return reference_answers(ASSIGNMENT)


@pytest.fixture(autouse=True)
def accounts(monkeypatch):
    """The exchange's account lookup knows the students' uids (and every real account)."""
    real = exchange_module.user_name
    monkeypatch.setattr(exchange_module, "user_name", lambda uid: NAMES.get(uid) or real(uid))


def collect(flow, capsys):
    owner_check = [] if AS_ROOT else ["--no-owner-check"]
    code = main(["--course", str(flow.course), "collect", "--from-exchange", ASSIGNMENT, *owner_check])
    return code, capsys.readouterr().out


def rows(out):
    """{(student, status): [detail, ...]} of collect's table."""
    found = {}
    for line in out.splitlines()[2:-1]:
        student, status, *detail = line.split(maxsplit=2)
        found.setdefault((student, status), []).append(" ".join(detail))
    return found


def test_release_puts_the_student_version_in_the_exchange(flow):
    outbound = flow.exchange / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert outbound.read_bytes() == (flow.course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()
    assert "BEGIN SOLUTION" not in outbound.read_text()
    assert release_to_exchange(flow.config, [ASSIGNMENT]) == [(ASSIGNMENT, "unchanged")]


def test_collect_takes_each_students_latest_submission(flow, capsys):
    code, out = collect(flow, capsys)
    assert code == 1, out  # the hostile entries are refused
    found = rows(out)
    assert {("alice", "collected"), ("bob", "collected"), ("carl", "collected"), ("mallory", "refused"),
            ("eve", "refused"), ("trent", "refused")} <= set(found), out
    refused = 6 if AS_ROOT else 4  # with the owner check: the two forged entries
    assert out.strip().endswith(f"3 collected, 0 unchanged, {refused} refused"), out
    assert "symbolic link" in out and "not a submission name nbgrader can read" in out

    for student in ("alice", "bob", "carl"):
        folder = flow.config.submitted(student, ASSIGNMENT)
        assert sorted(p.name for p in folder.iterdir()) == [
            f"{ASSIGNMENT}.ipynb", "submission_secret.txt", "timestamp.txt"]
        entry = max((e for e in entries(flow.inbound, student) if "forged" not in e.name), key=read_timestamp)
        assert (folder / "submission_secret.txt").read_bytes() == (entry / "submission_secret.txt").read_bytes()
        # The time the exchange wrote it: not before the time it claims, and during this run.
        collected = read_timestamp(folder)
        assert read_timestamp(entry) <= collected or student == "carl"
        assert flow.started - datetime.timedelta(seconds=1) <= collected <= datetime.datetime.now(
            datetime.timezone.utc), (student, collected)
    bob = flow.config.submitted("bob", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    assert nbformat.read(bob, as_version=4) == flow.bob_final
    for name in ("eve", "trent", "mallory"):
        assert not flow.config.submitted(name).exists()

    stats = {p: p.stat().st_mtime_ns for p in flow.config.submitted().rglob("*")}
    code, out = collect(flow, capsys)
    assert f"0 collected, 3 unchanged, {refused} refused" in out
    assert {p: p.stat().st_mtime_ns for p in flow.config.submitted().rglob("*")} == stats


@pytest.mark.skipif(not AS_ROOT, reason="giving an entry to another user account needs root")
def test_an_entry_written_by_another_user_is_refused_and_never_replaces_the_real_one(flow, capsys):
    code, out = collect(flow, capsys)
    found = rows(out)
    forged_in_alices_name = [d for d in found[("alice", "refused")] if "forged" in d]
    assert len(forged_in_alices_name) == 1, out
    assert "the entry is owned by mallory, not by alice" in forged_in_alices_name[0]
    # bob's own folder, with a notebook mallory wrote in it
    (forged_in_bobs_name,) = [d for d in found[("bob", "refused")] if "forged" in d]
    assert f"{ASSIGNMENT}.ipynb is owned by mallory, not by bob" in forged_in_bobs_name
    # The real answers stay: alice's full notebook, bob's last real submission.
    (alices,) = [e for e in entries(flow.inbound, "alice") if "forged" not in e.name]
    collected = flow.config.submitted("alice", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    assert collected.read_bytes() == (alices / f"{ASSIGNMENT}.ipynb").read_bytes()
    assert nbformat.read(flow.config.submitted("bob", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb",
                         as_version=4) == flow.bob_final


def test_a_backdated_entry_is_timed_by_the_file_system_not_by_its_claims(flow, capsys):
    code, out = collect(flow, capsys)
    (carl,) = entries(flow.inbound, "carl")
    assert parse_submission_time((carl / "timestamp.txt").read_text()) < flow.due  # what he claims
    collected = read_timestamp(flow.config.submitted("carl", ASSIGNMENT))
    assert collected > flow.due >= collected - datetime.timedelta(days=1)  # one started day late
    (detail,) = rows(out)[("carl", "unchanged")]
    assert f"its timestamp.txt says {flow.claimed}" in detail and f"its name says {flow.claimed}" in detail


def test_feedback_pages_reach_only_their_student(flow, capsys):
    feedback = {}
    for student in ("alice", "bob"):
        folder = flow.config.feedback(student, ASSIGNMENT)
        folder.mkdir(parents=True)
        # Only pages our `feedback` wrote are released: they begin with PAGE_START.
        feedback[student] = f"{PAGE_START}<title>{student}</title></head><body>feedback for {student}</body></html>"
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
    bobs_last = max((e for e in entries(flow.inbound, "bob") if "forged" not in e.name), key=read_timestamp)
    assert bob_pages[0].parent.name == bobs_last.name.split("+")[2]  # the time his own submit gave it

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
    assert bob.score == bob.max_score - 2  # his last submission: log_softmax (2 points) left blank
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


def test_the_backdated_submission_pays_the_late_penalty(flow):
    """After grading: carl claimed two days before the due date; he pays for the day he was late."""
    from autograder.grade_tables import collect as read_grades

    totals = {total.student: total for total in read_grades(flow.config, [ASSIGNMENT]).totals[ASSIGNMENT]}
    carl = totals["carl"]
    assert carl.raw_score == carl.max_score > 0
    assert carl.late_days == 1
    assert carl.penalty == pytest.approx(LATE_PER_DAY * carl.raw_score)
    assert carl.final_score == pytest.approx((1 - LATE_PER_DAY) * carl.max_score)
