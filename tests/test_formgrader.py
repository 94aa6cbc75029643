"""nbgrader's formgrader on a course folder of ours, in a real browser (issue 14).

A small class of self_attention made, graded, exported and given feedback by `python -m
autograder demo`; a Jupyter server with nbgrader's formgrader extension started in the course
folder on 127.0.0.1 (it reads the COURSE/nbgrader_config.py that our commands wrote); Debian's
chromium through Playwright. The formgrader must show what our exports say (the assignment, its
submission count, a student's scores per question and in total), refuse its Autograde button
with our message, and a score and a comment typed in its grading page must reach `export` and
`feedback`. Screenshots go to _build/screenshots/formgrader/ (CI keeps _build/screenshots).
"""
import csv
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from autograder.course import COURSE_ROOT
from browser_support import DESKTOP, launch_chromium

ASSIGNMENT = "self_attention"
SCREENSHOTS = COURSE_ROOT / "_build" / "screenshots" / "formgrader"
COMMENT = "Hand-checked: the scaling by 1/sqrt(d_k) is right; name your variables."


def run_autograder(course, env, *command):
    process = subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), *command],
                             env=env, capture_output=True, text=True, timeout=900)
    assert process.returncode == 0, (command, process.stdout[-3000:], process.stderr[-3000:])
    return process.stdout


def read_csv(path):
    with open(path, encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture(scope="module")
def course(tmp_path_factory, tool_env):
    course = tmp_path_factory.mktemp("formgrader") / "course"
    run_autograder(course, tool_env, "demo", "--students", "4", "--assignments", ASSIGNMENT, "--jobs", "2")
    assert (course / "nbgrader_config.py").is_file()
    return course


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def formgrader(course, tool_env, tmp_path_factory):
    """The base URL of a Jupyter server with the formgrader, run in the course folder (once)."""
    port = free_port()
    runtime = tmp_path_factory.mktemp("jupyter-runtime")
    env = dict(tool_env, JUPYTER_RUNTIME_DIR=str(runtime))
    command = [str(Path(sys.executable).parent / "jupyter"), "server", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--IdentityProvider.token=", "--ServerApp.password=",
               f"--ServerApp.root_dir={course}"]
    if os.geteuid() == 0:  # CI's container runs as root
        command.append("--allow-root")
    log = open(runtime / "server.log", "w+", encoding="utf-8")
    server = subprocess.Popen(command, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "/formgrader/api/status", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail("the Jupyter server with the formgrader did not start:\n" + log.read()[-3000:])
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def page(formgrader):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        tab = chromium.new_page(viewport=DESKTOP)
        tab.set_default_timeout(30_000)
        # Only the local server (and our feedback page, a file): the formgrader needs nothing else.
        tab.route(lambda url: not url.startswith((formgrader + "/", "file://")), lambda route: route.abort())
        yield tab
        chromium.close()


TABLE = """() => {
  const table = document.querySelector('#main-table').closest('table');
  const headers = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
  return [...table.querySelectorAll('#main-table tr')].map(tr =>
    Object.fromEntries([...tr.querySelectorAll('td')].map((td, i) => [headers[i], td.textContent.trim()])));
}"""


def table(page, url, rows_expected):
    """The rows of a formgrader page's table ({header: text}) once its JavaScript has filled it."""
    page.goto(url)
    expect(page.locator("#main-table tr", has_text="Loading, please wait")).to_have_count(0)
    expect(page.locator("#main-table tr")).to_have_count(rows_expected)
    page.wait_for_load_state("networkidle")
    return page.evaluate(TABLE)


def shoot(page, name):
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def exported(course):
    totals = {row["student_id"]: row for row in read_csv(course / "exports" / "totals.csv")}
    questions = {}
    for row in read_csv(course / "exports" / "questions.csv"):
        questions.setdefault(row["student_id"], {})[row["question"]] = row
    return totals, questions


def chosen_student(course):
    """The graded student with the highest exported score (the one the tests look at)."""
    totals, _ = exported(course)
    graded = [row for row in totals.values() if row["status"] == "graded"]
    assert graded, totals
    return max(graded, key=lambda row: (float(row["raw_score"]), row["student_id"]))["student_id"]


def score_text(row):
    return f"{row['raw_score']} / {row['max_score']}"


def test_formgrader_lists_our_assignment_with_its_submission_count(page, formgrader, course):
    totals, _ = exported(course)
    rows = table(page, formgrader + "/formgrader/manage_assignments", 1)
    shoot(page, "manage-assignments")
    submitted = sum(1 for row in totals.values() if row["status"] != "no submission")
    assert [(row["Name"], row["# Submissions"]) for row in rows] == [(ASSIGNMENT, str(submitted))]
    students = table(page, formgrader + "/formgrader/manage_students", len(totals))
    shoot(page, "manage-students")
    assert {row["Student ID"]: row["Overall Score"] for row in students} == {
        student: score_text(row) for student, row in totals.items()}


def test_formgrader_shows_a_students_scores_as_exported(page, formgrader, course):
    totals, questions = exported(course)
    student = chosen_student(course)
    rows = table(page, f"{formgrader}/formgrader/manage_students/{student}/{ASSIGNMENT}", 1)
    shoot(page, "student-scores")
    assert rows[0]["Overall Score"] == score_text(totals[student])
    open_grading_page(page, formgrader, student)
    shoot(page, "grading-page")
    shown = {grade_id: shown_score(page, grade_id) for grade_id in questions[student]}
    assert shown == {q: float(row["score"]) for q, row in questions[student].items()}


def shown_score(page, grade_id):
    """A question's score on the grading page: the hand score typed in its box, else the
    autograder's, which the empty box shows as its placeholder."""
    box = page.locator(f"input.score#{grade_id}")
    return float(box.input_value() or box.get_attribute("placeholder"))


def open_grading_page(page, formgrader, student):
    """The formgrader's page for grading one student's notebook, its scores loaded."""
    with urllib.request.urlopen(f"{formgrader}/formgrader/api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}") as r:
        submissions = json.load(r)
    notebook_id = next(s["id"] for s in submissions if s["student"] == student)
    page.goto(f"{formgrader}/formgrader/submissions/{notebook_id}/")
    expect(page.locator("input.score").first).to_have_attribute("placeholder", re.compile(r"^\d"))
    page.wait_for_load_state("networkidle")


def test_formgrader_autograde_button_is_refused_with_our_message(page, formgrader, course):
    student = chosen_student(course)
    before = (course / "autograded" / student / ASSIGNMENT / "results.json").read_bytes()
    table(page, f"{formgrader}/formgrader/manage_submissions/{ASSIGNMENT}", 4)
    page.locator("#main-table tr", has_text=student).locator("td.autograde a").click()
    modal = page.locator("#error-modal")
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("python -m autograder grade")
    expect(modal).to_have_css("opacity", "1")  # Bootstrap's fade-in is over
    shoot(page, "autograde-refused")
    assert (course / "autograded" / student / ASSIGNMENT / "results.json").read_bytes() == before


def test_a_score_and_a_comment_typed_in_the_formgrader_reach_export_and_feedback(page, formgrader, course,
                                                                                  tool_env):
    student = chosen_student(course)
    _, questions = exported(course)
    question = max(questions[student], key=lambda q: float(questions[student][q]["max_score"]))
    autograder_score, out_of = questions[student][question]["score"], questions[student][question]["max_score"]
    hand_score = f"{float(out_of) - 1.5:g}"
    assert autograder_score != hand_score
    open_grading_page(page, formgrader, student)
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
        page.fill(f"input.score#{question}", hand_score)
        page.press(f"input.score#{question}", "Tab")
    assert saved.value.ok
    comment_box = page.locator("textarea.comment").last
    with page.expect_response(lambda r: "/formgrader/api/comment/" in r.url and r.request.method == "PUT") as saved:
        comment_box.fill(COMMENT)
        comment_box.press("Tab")
    assert saved.value.ok
    shoot(page, "grading-page-hand-score")

    run_autograder(course, tool_env, "export", ASSIGNMENT)
    run_autograder(course, tool_env, "feedback", ASSIGNMENT, "--student", student)
    _, questions = exported(course)
    assert (questions[student][question]["score"], questions[student][question]["status"]) == (hand_score, "manual")
    feedback = course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
    page.goto(feedback.as_uri())
    text = page.locator("body").inner_text()
    shoot(page, "feedback-with-hand-grades")
    assert f"Score set by hand: {hand_score} / {out_of} (the autograder gave {autograder_score})." in text
    assert f"Comment: {COMMENT}" in text
