"""The course folder is the one source of truth (issue 17, items 1 and 2).

- A course folder copied to another place, next to a copy of the autograder that has
  no solutions/ and no exercises/ (as on a JupyterHub where the instructor installed the
  tool but not this repository), is graded, exported and reported there.
- Every gradebook holds one course row, the course's own id: no "default_course".
- `grade` regrades exactly what changed: a submission's files, or the assignment's graded
  parts in COURSE/source (a hidden test's points edited by the instructor), and says how
  many were new, changed, regraded because the tests changed, and unchanged.
"""
import csv
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import grading
from autograder.config import CourseConfig, load_config
from autograder.course import COURSE_ROOT, SOLUTIONS_DIR, prepare_course, read_notebook
from autograder.grading import (CHANGED, FORCED, NEW, TESTS_CHANGED, UNCHANGED, grade_assignment, source_digest,
                                why_grade)
from autograder.results import SubmissionResult, load_result, results_path
from submission_factory import make_submission, reference_answers, write_submission

ASSIGNMENT = "scoring_functions"  # one notebook, five questions: the cheapest to grade
COURSE_ID = "moved-course"
HIDDEN_TEST = "test_column_convention_axis"  # 1 point in solutions/, one named check, a hidden test


def course_ids(course_root):
    with sqlite3.connect(course_root / "gradebook.db") as db:
        return sorted(row[0] for row in db.execute("SELECT id FROM course"))


def write_course_toml(root):
    root.mkdir(parents=True, exist_ok=True)
    (root / "course.toml").write_text(f'course_id = "{COURSE_ID}"\n', encoding="utf-8")


def submit(config, student, blank=()):
    """A submission in COURSE/submitted/STUDENT/ASSIGNMENT/, as `collect` leaves it."""
    notebook = make_submission(ASSIGNMENT, blank=blank)
    return write_submission(config.submitted(), student, ASSIGNMENT, notebook, ASSIGNMENT)


# -- a course folder away from this repository ----------------------------------------

def autograder_without_the_course(target):
    """A copy of the autograder package alone: its solutions/ and exercises/ (next to the
    package) do not exist, so nothing but the course folder can say what an assignment is."""
    shutil.copytree(COURSE_ROOT / "autograder", target / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return target


def run_copied(install, course, *arguments, env):
    """`python -m autograder --course COURSE ...` with the copied package first on the path."""
    env = {**env, "PYTHONPATH": str(install)}
    return subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), *arguments],
                          cwd=install, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def moved_course(tmp_path_factory, tool_env):
    """A course released and collected here, then copied elsewhere and graded, exported and
    reported there by an autograder that has no solutions/ or exercises/."""
    here = tmp_path_factory.mktemp("here") / "course"
    write_course_toml(here)
    config = load_config(here)
    prepare_course(config, [ASSIGNMENT])
    answers = list(reference_answers(ASSIGNMENT))
    submit(config, "ada")
    submit(config, "bo", blank=answers)
    submit(config, "cy", blank=answers[2:])
    roster = here.parent / "roster.csv"
    roster.write_text("id,first_name,last_name\nada,Ada,A\nbo,Bo,B\ncy,Cy,C\ndee,Dee,D\n", encoding="utf-8")

    elsewhere = tmp_path_factory.mktemp("elsewhere")
    course = Path(shutil.copytree(here, elsewhere / "course"))
    install = autograder_without_the_course(elsewhere / "install")
    probe = subprocess.run(
        [sys.executable, "-c", "import autograder.course as c; print(c.__file__); print(c.SOLUTIONS_DIR.exists(), "
                               "c.EXERCISES_DIR.exists(), c.assignments())"],
        cwd=install, env={**tool_env, "PYTHONPATH": str(install)}, capture_output=True, text=True, timeout=60)
    steps = {"probe": probe}
    for name, arguments in [("roster", ["roster", str(roster)]),
                            ("grade", ["grade", ASSIGNMENT, "--jobs", "2"]),
                            ("export", ["export", ASSIGNMENT]),
                            ("report", ["report", ASSIGNMENT])]:
        steps[name] = run_copied(install, course, *arguments, env=tool_env)
    return {"course": course, "install": install, "here": here, "steps": steps}


def test_the_copy_has_no_solutions_or_exercises(moved_course):
    probe = moved_course["steps"]["probe"]
    assert probe.returncode == 0, probe.stderr
    imported, reachable = probe.stdout.splitlines()
    assert Path(imported).is_relative_to(moved_course["install"])  # the copy, not this repository
    assert reachable == "False False []"


def test_a_moved_course_is_graded_from_its_own_source(moved_course):
    for name in ("roster", "grade"):
        step = moved_course["steps"][name]
        assert step.returncode == 0, f"{name}: {step.stdout[-1500:]}{step.stderr[-3000:]}"
    config = load_config(moved_course["course"])
    results = {s: load_result(config, s, ASSIGNMENT) for s in ("ada", "bo", "cy")}
    full = results["ada"].max_score
    assert full > 0 and results["ada"].score == full
    assert results["bo"].score == 0
    assert 0 < results["cy"].score < full
    assert all(r.source_digest == source_digest(config, ASSIGNMENT) for r in results.values())
    feedback = config.feedback("ada", ASSIGNMENT) / f"{ASSIGNMENT}.html"
    assert feedback.is_file()
    # The folder it was copied from was never written to.
    assert not (moved_course["here"] / "autograded").exists()


def test_a_moved_course_is_exported_and_reported(moved_course):
    for name in ("export", "report"):
        step = moved_course["steps"][name]
        assert step.returncode == 0, f"{name}: {step.stdout[-1500:]}{step.stderr[-3000:]}"
    config = load_config(moved_course["course"])
    with open(config.exports / "totals.csv", newline="", encoding="utf-8") as stream:
        totals = {row["student_id"]: row for row in csv.DictReader(stream)}
    assert set(totals) == {"ada", "bo", "cy", "dee"}  # dee: on the roster, nothing submitted
    ada = load_result(config, "ada", ASSIGNMENT)
    assert float(totals["ada"]["raw_score"]) == pytest.approx(ada.score)
    assert float(totals["bo"]["raw_score"]) == 0
    assert (config.reports / "summary.txt").is_file()
    assert (config.reports / f"questions_{ASSIGNMENT}.png").is_file()


def test_no_default_course_row_after_release_roster_and_grade(moved_course):
    assert course_ids(moved_course["here"]) == [COURSE_ID]  # after release (prepare_course)
    assert course_ids(moved_course["course"]) == [COURSE_ID]  # after roster, grade, export


def test_an_unknown_assignment_names_the_course_folder(moved_course, tool_env):
    step = run_copied(moved_course["install"], moved_course["course"], "grade", "no_such_assignment",
                      env=tool_env)
    assert step.returncode != 0
    assert "unknown assignment 'no_such_assignment'" in step.stderr
    assert ASSIGNMENT in step.stderr  # the course folder's assignments are the known ones


# -- regrade exactly what changed ---------------------------------------------------------

def set_points(config, test_id, points):
    """Give a test cell of COURSE/source (and its one named check, visible and hidden) new
    points, as an instructor does in the course folder."""
    path = config.source(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    data = json.loads(path.read_text(encoding="utf-8"))
    [cell] = [c for c in data["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == test_id]
    code = "".join(cell["source"])
    assert "BEGIN HIDDEN TESTS" in code  # really a hidden test
    old = cell["metadata"]["nbgrader"]["points"]
    assert code.count(f'with check("answer", {old:g}):') == 2  # the visible check and the hidden one
    cell["source"] = code.replace(f'with check("answer", {old:g}):', f'with check("answer", {points:g}):')
    cell["metadata"]["nbgrader"]["points"] = points
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def question(result, test_id):
    return next(q for q in result.questions if q.question == test_id)


@pytest.fixture(scope="module")
def regraded(tmp_path_factory):
    """Grade three submissions; edit a hidden test's points in COURSE/source; grade again;
    and once more. Returns the course config and each run's output and results."""
    root = tmp_path_factory.mktemp("regrade") / "course"
    write_course_toml(root)
    config = load_config(root)
    prepare_course(config, [ASSIGNMENT])
    answers = list(reference_answers(ASSIGNMENT))
    for student, blank in [("ada", ()), ("bo", answers), ("cy", answers[2:])]:
        submit(config, student, blank)
    runs = {}

    def grade(name, force=False):
        output = Path(root.parent / f"{name}.txt")
        with open(output, "w", encoding="utf-8") as stream:
            results = grade_assignment(config, ASSIGNMENT, jobs=2, force=force, stream=stream)
        runs[name] = {"output": output.read_text(encoding="utf-8"),
                      "results": {r.student: r for r in results}}

    grade("first")
    before = read_notebook(config.source(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")
    old_points = next(c.metadata["nbgrader"]["points"] for c in before.cells
                      if c.metadata.get("nbgrader", {}).get("grade_id") == HIDDEN_TEST)
    set_points(config, HIDDEN_TEST, old_points + 2)
    grade("after_edit")
    grade("again")
    submit(config, "bo", blank=answers[:1])  # bo hands in a better notebook
    submit(config, "dee")  # and a new student submits
    grade("one_changed_one_new")
    grade("forced", force=True)
    return {"config": config, "runs": runs, "old_points": old_points}


def test_first_run_grades_every_submission_as_new(regraded):
    first = regraded["runs"]["first"]
    assert ("3 submissions, 3 to grade: 3 new, 0 changed, 0 regraded because the tests changed, 0 unchanged"
            in first["output"]), first["output"]
    assert question(first["results"]["ada"], HIDDEN_TEST).max_score == regraded["old_points"]


def test_a_hidden_test_edited_in_the_course_folder_regrades_everyone(regraded):
    run = regraded["runs"]["after_edit"]
    assert ("3 submissions, 3 to grade: 0 new, 0 changed, 3 regraded because the tests changed, 0 unchanged"
            in run["output"]), run["output"]
    new_points = regraded["old_points"] + 2
    assert set(run["results"]) == {"ada", "bo", "cy"}
    assert question(run["results"]["ada"], HIDDEN_TEST).max_score == new_points
    assert question(run["results"]["ada"], HIDDEN_TEST).score == new_points
    assert question(run["results"]["bo"], HIDDEN_TEST).score == 0
    config = regraded["config"]
    assert load_result(config, "ada", ASSIGNMENT).max_score == run["results"]["ada"].max_score
    # The gradebook (and with it nbgrader's formgrader and the exports) has the new points too.
    from autograder.gradebook import open_gradebook
    with open_gradebook(config) as gradebook:
        cell = gradebook.find_grade_cell(HIDDEN_TEST, ASSIGNMENT, ASSIGNMENT)
        assert cell.max_score == new_points
        grade = gradebook.find_grade(HIDDEN_TEST, ASSIGNMENT, ASSIGNMENT, "ada")
        assert grade.score == new_points
    assert course_ids(config.root) == [COURSE_ID]


def test_nothing_to_do_when_nothing_changed(regraded):
    run = regraded["runs"]["again"]
    assert ("3 submissions, 0 to grade: 0 new, 0 changed, 0 regraded because the tests changed, 3 unchanged"
            in run["output"]), run["output"]
    assert run["results"] == {}


def test_only_the_changed_and_the_new_submission_are_graded(regraded):
    run = regraded["runs"]["one_changed_one_new"]
    assert ("4 submissions, 2 to grade: 1 new, 1 changed, 0 regraded because the tests changed, 2 unchanged"
            in run["output"]), run["output"]
    assert set(run["results"]) == {"bo", "dee"}
    assert run["results"]["bo"].score > regraded["runs"]["after_edit"]["results"]["bo"].score


def test_force_grades_everything_again(regraded):
    run = regraded["runs"]["forced"]
    assert "4 submissions, 4 to grade: 0 new, 4 graded again (--force)" in run["output"], run["output"]
    assert set(run["results"]) == {"ada", "bo", "cy", "dee"}


def test_the_digest_covers_tests_points_and_code_but_not_prompts(tmp_path):
    config = CourseConfig(root=tmp_path / "course")
    config.source(ASSIGNMENT).mkdir(parents=True)
    path = config.source(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    shutil.copyfile(SOLUTIONS_DIR / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", path)
    original = source_digest(config, ASSIGNMENT)
    assert original == source_digest(config, ASSIGNMENT)

    def edited(change):
        data = json.loads(path.read_text(encoding="utf-8"))
        change(data["cells"])
        path.write_text(json.dumps(data), encoding="utf-8")
        digest = source_digest(config, ASSIGNMENT)
        shutil.copyfile(SOLUTIONS_DIR / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", path)
        return digest

    def test_cell(cells):
        return next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == HIDDEN_TEST)

    def reword_prompt(cells):
        markdown = next(c for c in cells if c["cell_type"] == "markdown")
        markdown["source"] = "".join(markdown["source"]) + "\nReworded."

    def change_hidden_test(cells):
        cell = test_cell(cells)
        cell["source"] = "".join(cell["source"]).replace("### END HIDDEN TESTS", "assert True\n### END HIDDEN TESTS")

    def change_points(cells):
        test_cell(cells)["metadata"]["nbgrader"]["points"] = 7

    def change_provided_code(cells):
        provided = next(c for c in cells if c["cell_type"] == "code"
                        and not c["metadata"].get("nbgrader", {}).get("grade")
                        and not c["metadata"].get("nbgrader", {}).get("solution"))
        provided["source"] = "".join(provided["source"]) + "\nEXTRA = 1\n"

    assert edited(reword_prompt) == original
    for change in (change_hidden_test, change_points, change_provided_code):
        assert edited(change) != original, change.__name__


def test_why_grade_and_results_from_before_source_digests(tmp_path):
    config = CourseConfig(root=tmp_path / "course")
    saved = SubmissionResult("ada", ASSIGNMENT, "files-1", "graded", source_digest="tests-1")
    assert why_grade(None, "files-1", "tests-1", force=False) == NEW
    assert why_grade(saved, "files-1", "tests-1", force=False) == UNCHANGED
    assert why_grade(saved, "files-2", "tests-1", force=False) == CHANGED
    assert why_grade(saved, "files-1", "tests-2", force=False) == TESTS_CHANGED
    assert why_grade(saved, "files-1", "tests-1", force=True) == FORCED
    # A results.json written before source digests existed loads, and counts as graded
    # against other tests.
    path = results_path(config, "ada", ASSIGNMENT)
    path.parent.mkdir(parents=True)
    old = json.loads(saved.to_json())
    del old["source_digest"]
    path.write_text(json.dumps(old), encoding="utf-8")
    loaded = load_result(config, "ada", ASSIGNMENT)
    assert loaded is not None and loaded.source_digest == ""
    assert why_grade(loaded, "files-1", "tests-1", force=False) == TESTS_CHANGED


def test_a_source_read_before_an_edit_is_not_reused(tmp_path):
    """Workers fork from the parent: a source it cached before the instructor's edit must
    not be what they grade with."""
    config = CourseConfig(root=tmp_path / "course")
    config.source(ASSIGNMENT).mkdir(parents=True)
    shutil.copyfile(SOLUTIONS_DIR / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                    config.source(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")
    before = grading.source_of(config, ASSIGNMENT, ASSIGNMENT)
    points = next(c.points for c in before.tests if c.grade_id == HIDDEN_TEST)
    set_points(config, HIDDEN_TEST, points + 5)
    after = grading.source_of(config, ASSIGNMENT, ASSIGNMENT)
    assert next(c.points for c in after.tests if c.grade_id == HIDDEN_TEST) == points + 5
