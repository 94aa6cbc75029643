"""autograder.api called directly, as the demo and scripts do: plain values back, quiet without a
stream, refusals as OperationError with the command's exit code. Fast: no grading (the commands'
whole runs are in test_collect.py, test_feedback.py, test_export.py, test_demo.py ...)."""
import io
from pathlib import Path

import nbformat
import pytest

from autograder import api, collect, course, release
from autograder.config import CourseConfig
from autograder.course import EXERCISES_DIR
from autograder.results import PASSED, QuestionResult, SubmissionResult, save_result

NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def test_a_roster_that_cannot_be_read_is_refused_with_exit_code_2(tmp_path):
    with pytest.raises(api.OperationError, match="roster file not found") as refused:
        api.read_roster(tmp_path / "missing.csv")
    assert refused.value.exit_code == 2


def test_a_roster_is_read_then_imported_and_counted(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("id,first name\nada,Ada\nbad id!,B\n", encoding="utf-8")
    roster = api.read_roster(path)
    assert [values["id"] for _, values in roster.rows] == ["ada"]
    assert [line for line, _ in roster.errors] == [3]
    config = CourseConfig(root=tmp_path / "course")
    assert api.import_roster(config, roster) == (1, 0, 0)
    assert api.import_roster(config, roster) == (0, 0, 1)


def test_collect_returns_where_from_and_each_outcome(tmp_path, monkeypatch):
    for module in (course, collect):  # the assignment "hw" has the one notebook nb.ipynb
        monkeypatch.setattr(module, "course_notebooks", lambda config, assignment: ["nb"])
    source = tmp_path / "in"
    for student in ("ada", "a+b"):
        (source / student).mkdir(parents=True)
        (source / student / "nb.ipynb").write_bytes(NOTEBOOK)
    config = CourseConfig(root=tmp_path / "course")
    collected = api.collect(config, "hw", source, dry_run=True)
    assert collected.origin == str(source)
    assert {(o.student, o.status) for o in collected.outcomes} == {("ada", "collected (dry run)"), ("a+b", "refused")}
    assert collected.refused
    assert collected.table().endswith("1 collected, 0 unchanged, 1 refused")
    assert not config.submitted().exists()  # dry run
    with pytest.raises(SystemExit, match="give a SOURCE"):
        api.collect(config, "hw")


def test_collect_takes_its_limits_in_mb(tmp_path, monkeypatch):
    monkeypatch.setattr(course, "course_notebooks", lambda config, assignment: ["nb"])
    calls = []
    monkeypatch.setattr(collect, "collect_exchange", lambda *args: calls.append(args) or [])
    config = CourseConfig(root=tmp_path, exchange="/srv/exchange")
    assert api.collect(config, "hw", from_exchange=True).origin == "nbgrader exchange /srv/exchange"
    assert api.collect(config, "hw", from_exchange=True, max_file_mb=1.5).origin
    default, smaller = calls[0][2], calls[1][2]
    assert (default.file_bytes, default.total_bytes) == (20 << 20, 1024 << 20)
    assert api.default_collect_limits_mb() == (20.0, 1024.0)
    assert (smaller.file_bytes, smaller.total_bytes) == (int(1.5 * (1 << 20)), 1024 << 20)


def graded(tmp_path):
    """A course whose assignment "hw" (one notebook, nb) has ada's saved result."""
    config = CourseConfig(root=tmp_path / "course")
    config.source("hw").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), config.source("hw") / "nb.ipynb")
    save_result(config, SubmissionResult("ada", "hw", "sha256:a", "graded",
                                         questions=[QuestionResult("nb", "q1", 1.0, 1.0, PASSED)]))
    return config


def test_write_feedback_refusals_and_their_exit_codes(tmp_path):
    config = CourseConfig(root=tmp_path / "course")
    with pytest.raises(api.OperationError, match=r"not an assignment name: '\.\./x'") as refused:
        api.write_feedback(config, "../x")
    assert refused.value.exit_code == 2
    with pytest.raises(api.OperationError, match=r"no saved results for hw .*\(run `grade hw` first\)") as refused:
        api.write_feedback(config, "hw")
    assert refused.value.exit_code == 1
    config = graded(tmp_path)
    with pytest.raises(api.OperationError, match="no saved results of hw for zoe") as refused:
        api.write_feedback(config, "hw", ["zoe", "ada"])
    assert refused.value.exit_code == 1


def test_write_feedback_returns_the_pages_and_reports_each_student_on_the_stream(tmp_path):
    config = graded(tmp_path)
    assert api.write_feedback(config, "hw") == [config.feedback("ada", "hw") / "nb.html"]  # quiet
    stream = io.StringIO()
    assert api.write_feedback(config, "hw", ["ada"], stream=stream) == [config.feedback("ada", "hw") / "nb.html"]
    assert stream.getvalue() == "ada: 1/1, 1 page(s)\n"


def test_export_and_report_refuse_when_nothing_is_graded(tmp_path):
    config = CourseConfig(root=tmp_path)
    for operation in (api.export, api.report):
        with pytest.raises(api.OperationError, match="nothing is graded yet") as refused:
            operation(config)
        assert refused.value.exit_code == 1


def test_export_returns_the_files_and_the_counts(tmp_path):
    config = graded(tmp_path)
    exported = api.export(config, ["hw"])
    assert [path.name for path in exported.paths] == ["questions.csv", "totals.csv", "canvas.csv",
                                                      "moodle.csv", "checks.csv"]
    assert all(path.is_file() for path in exported.paths)
    assert (exported.students, exported.assignments, exported.late, exported.absent) == (1, ["hw"], 0, 0)


def test_release_of_the_exercises_only_reports_each_notebook(tmp_path, monkeypatch):
    written = [EXERCISES_DIR / "hw" / "nb.ipynb", EXERCISES_DIR / "hw" / "zh" / "nb.ipynb"]
    monkeypatch.setattr(release, "release", lambda ids=None: written)
    stream = io.StringIO()
    config = CourseConfig(root=tmp_path / "course")
    assert api.release(config, ["hw"], exercises_only=True, stream=stream) == written
    assert stream.getvalue() == "released exercises/hw/nb.ipynb\nreleased exercises/hw/zh/nb.ipynb\n"
    assert not config.root.exists()  # the course folder is left alone


def test_release_feedback_needs_an_exchange(tmp_path):
    with pytest.raises(SystemExit, match="release --feedback needs an exchange"):
        api.release_feedback(CourseConfig(root=Path(tmp_path)))
