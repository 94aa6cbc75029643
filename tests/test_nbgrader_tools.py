"""nbgrader's own tools on our course folder (issue 14): what `grade`, `feedback`, `export` and
`report` write is readable by the course team's group (the umask decides, as for any file), and
nbgrader's CLI run in the course folder sees the course of course.toml (SQLite and PostgreSQL),
no feedback page, ours or nbgrader's, shows a hidden test, nbgrader's autograde is refused (no
student code runs, our results stay), its release of feedback ships only our pages, and hand
grades (manual score, extra credit, comment) reach the student's page and the export.
The formgrader itself, in a browser: test_formgrader.py."""
import argparse
import csv
import dataclasses
import html
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import cli, release as release_command
from autograder.api import pages_not_ours
from autograder.config import load_config
from autograder.course import SOLUTIONS_DIR, prepare_course, source_notebooks
from autograder.feedback import hidden_lines, written_by_us
from autograder.gradebook import open_gradebook, record_result
from autograder.results import SubmissionResult, current_umask, write_atomic
from postgres_server import create_database
from submission_factory import make_submission, reference_answers, write_submission

ASSIGNMENT = "self_attention"
STUDENTS = ["ada", "bob", "cut", "nia"]  # of graded_course


def with_umask(mask):
    """A preexec_fn for subprocess: the child runs under this umask."""
    return lambda: os.umask(mask)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_write_atomic_gives_the_mode_open_would(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        assert current_umask() == mask
        write_atomic(tmp_path / "text", "hello")
        write_atomic(tmp_path / "bytes", b"hello")
        (tmp_path / "by-open").write_text("hello")
    finally:
        os.umask(old)
    for name in ("text", "bytes", "by-open"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_write_atomic_replacing_a_private_file_gives_the_umask_mode(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("old")
    path.chmod(0o600)
    old = os.umask(0o022)
    try:
        write_atomic(path, "new")
    finally:
        os.umask(old)
    assert (path.read_text(), stat.S_IMODE(path.stat().st_mode)) == ("new", 0o644)


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory, tool_env):
    """A small class of self_attention graded, with feedback, export and report written, all by
    the CLI under umask 022: the reference solution (ada), a blank release (bob), a notebook cut
    off mid-upload (cut: not valid JSON) and a submission without the notebook (nia)."""
    course = tmp_path_factory.mktemp("nbgrader-tools") / "course"
    notebook = source_notebooks(ASSIGNMENT)[0]
    write_submission(course / "submitted", "ada", notebook, make_submission(ASSIGNMENT), ASSIGNMENT)
    write_submission(course / "submitted", "bob", notebook,
                     make_submission(ASSIGNMENT, blank=list(reference_answers(ASSIGNMENT))), ASSIGNMENT)
    cut = write_submission(course / "submitted", "cut", notebook, make_submission(ASSIGNMENT), ASSIGNMENT)
    cut.write_text(cut.read_text(encoding="utf-8")[:500], encoding="utf-8")
    (course / "submitted" / "nia" / ASSIGNMENT).mkdir(parents=True)
    (course / "submitted" / "nia" / ASSIGNMENT / "answers.txt").write_text("I could not upload it\n")
    for command in (["grade", ASSIGNMENT, "--jobs", "2"], ["feedback", ASSIGNMENT],
                    ["export", ASSIGNMENT], ["report", ASSIGNMENT]):
        process = subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), *command],
                                 env=tool_env, capture_output=True, text=True, timeout=900,
                                 preexec_fn=with_umask(0o022))
        assert process.returncode == 0, (command, process.stdout[-2000:], process.stderr[-3000:])
    return course


def test_what_the_commands_write_is_group_and_world_readable(graded_course):
    expected = {
        "autograded": {f"ada/{ASSIGNMENT}/results.json", f"ada/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                       f"bob/{ASSIGNMENT}/results.json", f"bob/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"},
        "feedback": {f"ada/{ASSIGNMENT}/{ASSIGNMENT}.html", f"bob/{ASSIGNMENT}/{ASSIGNMENT}.html"},
    }
    modes = {}
    for folder in ("autograded", "feedback", "exports", "reports"):
        files = [p for p in (graded_course / folder).rglob("*") if p.is_file()]
        assert files, folder
        names = {str(p.relative_to(graded_course / folder)) for p in files}
        assert expected.get(folder, names) <= names, folder
        modes.update({str(p.relative_to(graded_course)): stat.S_IMODE(p.stat().st_mode) for p in files})
    assert any(name.endswith(".csv") for name in modes) and any(name.endswith(".png") for name in modes)
    assert {name: mode for name, mode in modes.items() if mode != 0o644} == {}


# -- nbgrader's CLI in the course folder sees the course of course.toml ----------------------

DUE = "2026-10-01T23:59:00+02:00"  # 21:59 UTC, as nbgrader stores it


def released_course(base, db_url=""):
    """A course folder released by `release` (exercises/ of the repository left alone) from a
    course.toml with a course id, a relative exchange, a due date and maybe a db_url; two
    students recorded as grading records them."""
    course = base / "course"
    course.mkdir()
    (course / "course.toml").write_text(
        'course_id = "nbtools"\nexchange = "../exchange"\n'
        + (f'db_url = "{db_url}"\n' if db_url else "")
        + f'[due]\n{ASSIGNMENT} = "{DUE}"\n', encoding="utf-8")
    config = load_config(course)
    args = argparse.Namespace(assignments=[ASSIGNMENT], exercises_only=False, feedback=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(release_command, "release", lambda ids=None: [])
        assert cli.run_release(args, config) == 0
    with open_gradebook(config) as gradebook:
        for student in ("ada", "bob"):
            record_result(gradebook, SubmissionResult(student, ASSIGNMENT, "d", "graded",
                                                      timestamp="2026-10-01T12:00:00+00:00"))
    return config


def nbgrader(course, env, *command):
    process = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *command], cwd=course,
                             env=env, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, (command, process.stdout[-2000:], process.stderr[-3000:])
    return process.stdout + process.stderr


def check_nbgrader_sees_the_course(config, env):
    course = config.root
    assert (course / "nbgrader_config.py").is_file()
    students = nbgrader(course, env, "db", "student", "list")
    assert "There are 2 students in the database" in students and "ada" in students and "bob" in students
    assignments = nbgrader(course, env, "db", "assignment", "list")
    assert f"{ASSIGNMENT} (due: 2026-10-01 21:59:00)" in assignments
    listed = nbgrader(course, env, "list")
    assert f"nbtools {ASSIGNMENT}" in listed, listed
    nbgrader(course, env, "export")
    rows = list(csv.DictReader((course / "grades.csv").open(encoding="utf-8")))
    assert {(r["assignment"], r["student_id"], r["duedate"]) for r in rows} == {
        (ASSIGNMENT, "ada", "2026-10-01 21:59:00"), (ASSIGNMENT, "bob", "2026-10-01 21:59:00")}


def test_nbgrader_cli_sees_the_course_with_sqlite(tmp_path, tool_env):
    config = released_course(tmp_path)
    check_nbgrader_sees_the_course(config, tool_env)
    assert sorted(p.name for p in tmp_path.rglob("*.db")) == ["gradebook.db"]


def test_nbgrader_cli_sees_the_course_with_postgresql(tmp_path, tool_env, postgres_url):
    config = released_course(tmp_path, create_database(postgres_url, "nbgrader_tools"))
    check_nbgrader_sees_the_course(config, tool_env)
    assert list(tmp_path.rglob("*.db")) == []  # nbgrader did not make a SQLite gradebook of its own


def test_a_changed_due_date_reaches_the_gradebook_and_the_config_moves_with_the_folder(tmp_path, tool_env):
    config = released_course(tmp_path)
    toml = config.root / "course.toml"
    toml.write_text(toml.read_text().replace(DUE, "2026-10-08T12:00:00+00:00"))
    prepare_course(load_config(config.root), [ASSIGNMENT])
    moved = tmp_path / "moved"
    config.root.rename(moved)
    assignments = nbgrader(moved, tool_env, "db", "assignment", "list")
    assert f"{ASSIGNMENT} (due: 2026-10-08 12:00:00)" in assignments
    assert "There are 2 students" in nbgrader(moved, tool_env, "db", "student", "list")
    assert sorted(p.name for p in tmp_path.rglob("*.db")) == ["gradebook.db"]


# -- nbgrader's own feedback never shows a hidden test; release --feedback ships only ours ----

def visible_text(page):
    """What a reader of an HTML page sees as text (highlighted code is split into spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def leaks(course):
    """{page: hidden test lines it shows} over every page under COURSE/feedback/."""
    secret = hidden_lines(SOLUTIONS_DIR / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert len(secret) > 3  # the notebook really has hidden tests to leak
    found = {}
    for page in sorted((course / "feedback").rglob("*")):
        if page.is_file():
            text = visible_text(page.read_text(encoding="utf-8", errors="replace"))
            shown = {line for line in secret | {"HIDDEN TESTS"} if line in text}
            if shown:
                found[str(page.relative_to(course))] = shown
    return found


def api_from_course_config(course, preprocessors=None, exchange=None):
    """nbgrader's API (what the formgrader calls) with the course's nbgrader_config.py (and an
    exchange, as a course.toml naming one puts in it)."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    settings = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    if preprocessors is not None:
        settings.GenerateFeedback.preprocessors = preprocessors
    if exchange is not None:
        settings.Exchange.root = str(exchange)
    return NbGraderAPI(config=settings)


def test_nbgrader_feedback_shows_no_hidden_test(graded_course, tool_env):
    pages = sorted(str(p.relative_to(graded_course)) for p in (graded_course / "feedback").rglob("*.html"))
    assert pages == [f"feedback/{s}/{ASSIGNMENT}/{ASSIGNMENT}.html" for s in STUDENTS]
    assert leaks(graded_course) == {}  # our pages

    # The control: nbgrader's default feedback on our autograded notebooks shows the hidden tests.
    default = api_from_course_config(graded_course, ["nbgrader.preprocessors.GetGrades",
                                                     "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"])
    assert default.generate_feedback(ASSIGNMENT, force=True)["success"]
    assert set(leaks(graded_course)) == set(pages)

    # nbgrader's CLI in the course folder and its API (the formgrader's Generate Feedback) with
    # the course's nbgrader_config.py write their own pages, without a hidden line.
    nbgrader(graded_course, tool_env, "generate_feedback", ASSIGNMENT, "--force")
    assert leaks(graded_course) == {}
    assert default.generate_feedback(ASSIGNMENT, force=True)["success"]
    assert api_from_course_config(graded_course).generate_feedback(ASSIGNMENT, force=True)["success"]
    assert leaks(graded_course) == {}
    page = (graded_course / pages[1]).read_text(encoding="utf-8")
    assert "# (hidden tests run here)" in visible_text(page)  # nbgrader's page, the tests' place shown
    assert not written_by_us(graded_course / pages[1])


def test_release_feedback_ships_only_our_pages(graded_course, tool_env):
    config = dataclasses.replace(load_config(graded_course), exchange="../exchange")
    args = argparse.Namespace(assignments=[ASSIGNMENT], exercises_only=False, feedback=True)
    api_from_course_config(graded_course).generate_feedback(ASSIGNMENT, force=True)
    assert [p.parent.parent.name for p in pages_not_ours(config, ASSIGNMENT)] == STUDENTS
    with pytest.raises(SystemExit, match=r"nothing released; 4 feedback page\(s\) were not written"):
        cli.run_release(args, config)
    assert not (graded_course.parent / "exchange").exists()
    process = subprocess.run([sys.executable, "-m", "autograder", "--course", str(graded_course),
                              "feedback", ASSIGNMENT], env=tool_env, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    assert pages_not_ours(config, ASSIGNMENT) == []


# -- a submission that could not be judged is still in the formgrader's manual grading -------

def test_an_unjudged_submission_gets_an_autograded_notebook_saying_why(graded_course):
    api = api_from_course_config(graded_course)
    listed = {s["student"] for s in api.get_notebook_submissions(ASSIGNMENT, ASSIGNMENT)}
    assert listed == set(STUDENTS)  # the formgrader lists only submissions with an autograded notebook
    reasons = {"cut": "not valid JSON", "nia": f"{ASSIGNMENT}.ipynb was not submitted"}
    for student, reason in reasons.items():
        notebook = nbformat.read(graded_course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                 as_version=4)
        verdicts = [cell.outputs[0].text for cell in notebook.cells
                    if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")]
        assert len(verdicts) == len(graded_questions(graded_course)), student
        assert all(v.startswith("missing: 0 / ") and reason in v for v in verdicts), (student, verdicts)


# -- nbgrader's autograde is refused: no student code runs, our results stay -----------------

def snapshot(folder):
    """{relative path: bytes} of every file under folder."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_nbgrader_autograde_is_refused_and_runs_nothing(graded_course, tool_env, tmp_path):
    marker = tmp_path / "student-code-ran"
    answers = dict(reference_answers(ASSIGNMENT))
    first = next(iter(answers))
    answers[first] = f"open({str(marker)!r}, 'w').write('ran')\n" + answers[first]
    eve = write_submission(graded_course / "submitted", "eve", source_notebooks(ASSIGNMENT)[0],
                           make_submission(ASSIGNMENT, answers), ASSIGNMENT).parent
    before = snapshot(graded_course / "autograded")
    assert f"ada/{ASSIGNMENT}/results.json" in before
    config = load_config(graded_course)
    try:
        # The formgrader's Autograde button: NbGraderAPI.autograde, with the course's config.
        api = api_from_course_config(graded_course)
        for student in ("ada", "eve"):
            outcome = api.autograde(ASSIGNMENT, student)
            assert not outcome["success"], outcome
            assert "python -m autograder grade" in outcome["error"] + outcome.get("log", "")
        # `nbgrader autograde` in the course folder, every student, forced.
        process = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", ASSIGNMENT,
                                  "--force"], cwd=graded_course, env=tool_env, capture_output=True,
                                 text=True, timeout=300)
        assert process.returncode != 0
        assert "python -m autograder grade" in process.stdout + process.stderr
        assert not marker.exists()
        assert snapshot(graded_course / "autograded") == before
        with open_gradebook(config) as gradebook:
            assert sorted(s.id for s in gradebook.students) == STUDENTS
    finally:
        for path in sorted(eve.parent.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        eve.parent.rmdir()


# -- the formgrader's Release Feedback ships only our pages ------------------------------------

def test_nbgrader_release_feedback_ships_only_our_pages(graded_course, tool_env, tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    api = api_from_course_config(graded_course, exchange=exchange)
    assert api.generate_feedback(ASSIGNMENT, force=True)["success"]  # nbgrader's own pages
    for student in STUDENTS:  # what `release --feedback` copies from the collected submission
        folder = graded_course / "feedback" / student / ASSIGNMENT
        (folder / "timestamp.txt").write_text("2026-10-01 12:00:00.000000 UTC")
        (folder / "submission_secret.txt").write_text(f"secret-{student}")
    foreign = pages_not_ours(load_config(graded_course), ASSIGNMENT)
    assert foreign
    outcome = api.release_feedback(ASSIGNMENT)
    assert not outcome["success"]
    assert (f"{len(foreign)} feedback page(s) were not written by `python -m autograder feedback`"
            in outcome["error"])
    assert list(exchange.rglob("*.html")) == []
    process = subprocess.run([sys.executable, "-m", "autograder", "--course", str(graded_course),
                              "feedback", ASSIGNMENT], env=tool_env, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    assert api.release_feedback(ASSIGNMENT)["success"]
    released = sorted(exchange.rglob("*.html"))
    assert len(released) == len(STUDENTS) and all(written_by_us(page) for page in released)


# -- hand grading in the formgrader reaches the student's page and the export ----------------

def graded_questions(course):
    """[(test cell grade_id, points, the answer cell just before it)] of the course's source notebook."""
    cells = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4).cells
    found, answer = [], None
    for cell in cells:
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("solution"):
            answer = grading["grade_id"]
        if grading.get("grade"):
            found.append((grading["grade_id"], float(grading["points"]), answer))
    return found


def test_hand_grades_reach_the_feedback_page_and_the_export(graded_course, tool_env):
    """What the formgrader's grade and comment boxes write (they PUT manual_score, extra_credit
    and manual_comment through nbgrader's gradebook): a hand score on ada's biggest question and
    a comment on her answer to it, extra credit on another, and hand credit for cut's notebook,
    which could not be graded."""
    questions = graded_questions(graded_course)
    big, points, answer = max(questions, key=lambda q: q[1])
    other, other_points, _ = next(q for q in questions if q[0] != big)
    full = sum(q[1] for q in questions)
    hand = points - 1.5
    api = api_from_course_config(graded_course)
    gradebook = api.gradebook
    auto = {q: gradebook.find_grade(q, ASSIGNMENT, ASSIGNMENT, "ada").auto_score for q, _, _ in questions}
    expected_total = sum(auto.values()) - auto[big] + hand + 0.5  # a score by hand, extra credit
    comment = "Nice use of broadcasting; mind the scale <1/sqrt(d)>."
    changed = [gradebook.find_grade(big, ASSIGNMENT, ASSIGNMENT, "ada"),
               gradebook.find_grade(other, ASSIGNMENT, ASSIGNMENT, "ada"),
               gradebook.find_grade(other, ASSIGNMENT, ASSIGNMENT, "cut"),
               gradebook.find_comment(answer, ASSIGNMENT, ASSIGNMENT, "ada")]
    assert auto[big] != hand and changed[2].auto_score == 0.0
    changed[0].manual_score, changed[1].extra_credit, changed[2].manual_score = hand, 0.5, 1.0
    changed[3].manual_comment = comment
    gradebook.db.commit()
    try:
        for command in (["feedback", ASSIGNMENT], ["export", ASSIGNMENT]):
            process = subprocess.run([sys.executable, "-m", "autograder", "--course", str(graded_course),
                                      *command], env=tool_env, capture_output=True, text=True, timeout=300)
            assert process.returncode == 0, (command, process.stderr[-3000:])
        source = (graded_course / "feedback" / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")
        page = visible_text(source)
        assert f"Score for this notebook: {expected_total:g} / {full:g}" in page
        assert f"Score set by hand: {hand:g} / {points:g} (the autograder gave {auto[big]:g})." in page
        assert "Extra credit: +0.5." in page
        assert page.index("From your instructor") < page.index(f"Comment: {comment}")
        # The comment on the answer goes with the question that tests it.
        item = next(li for li in re.findall(r"<li>.*?</li>", source) if html.escape(comment) in li)
        assert f'href="#q-{big}"' in item and "Score set by hand" in item
        cut = visible_text((graded_course / "feedback" / "cut" / ASSIGNMENT / f"{ASSIGNMENT}.html")
                           .read_text(encoding="utf-8"))
        assert "could not be graded" in cut
        assert f"Score set by hand: 1 / {other_points:g} (the autograder gave 0)." in cut
        rows = {(r["student_id"], r["question"]): (r["score"], r["status"])
                for r in csv.DictReader((graded_course / "exports" / "questions.csv").open(encoding="utf-8"))}
        assert rows[("ada", big)] == (f"{hand:g}", "manual")
        assert rows[("ada", other)] == (f"{auto[other] + 0.5:g}", "manual")  # extra credit marks it manual
        assert rows[("cut", other)] == ("1", "manual")
        assert rows[("nia", other)][1] != "manual"
        totals = {r["student_id"]: r["raw_score"]
                  for r in csv.DictReader((graded_course / "exports" / "totals.csv").open(encoding="utf-8"))}
        assert (totals["ada"], totals["cut"]) == (f"{expected_total:g}", "1")
        # grade writes the page with the gradebook it has open: a regrade keeps the hand grades on it.
        page_path = graded_course / "feedback" / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.html"
        page_path.unlink()
        process = subprocess.run([sys.executable, "-m", "autograder", "--course", str(graded_course), "grade",
                                  ASSIGNMENT, "--student", "ada", "--force", "--jobs", "1"],
                                 env=tool_env, capture_output=True, text=True, timeout=300)
        assert process.returncode == 0, process.stderr[-3000:]
        regraded = visible_text(page_path.read_text(encoding="utf-8"))
        assert f"Score set by hand: {hand:g} / {points:g} (the autograder gave {auto[big]:g})." in regraded
        assert f"Comment: {comment}" in regraded and f"Score for this notebook: {expected_total:g}" in regraded
    finally:
        changed[0].manual_score, changed[1].extra_credit, changed[2].manual_score = None, None, None
        changed[3].manual_comment = None
        gradebook.db.commit()
        gradebook.close()
