"""autograder.grade_tables and autograder.export, function by function, without nbgrader: results.json
files written by hand and a stand-in gradebook (the attributes grade_tables reads from nbgrader's).
tests/test_export.py runs the whole export once on a real gradebook; these pin each rule so a
mutation of it fails a test of its own (see CONTRIBUTING.md, "Mutation check"). Time tests run
under America/Los_Angeles: every time is UTC whatever the machine's zone.
"""
import csv
import datetime
import io
import re
from types import SimpleNamespace

import pytest
from nbgrader.api import MissingEntry

import autograder.gradebook
from autograder import cli, export, grade_tables
from autograder.config import CourseConfig
from autograder.grade_tables import MANUAL, NO_SUBMISSION, Grades, QuestionScore, Student, Total, _BookView
from autograder.results import FAILED, MISSING, PASSED, QuestionResult, SubmissionResult, save_result

UTC = datetime.timezone.utc
PLUS2 = datetime.timezone(datetime.timedelta(hours=2))
DUE = datetime.datetime(2026, 10, 1, 23, 59, tzinfo=UTC)
GRADED = "graded"  # the status of a submission graded normally (SubmissionResult.status)


@pytest.fixture(autouse=True)
def in_los_angeles(los_angeles):
    """Every test of this module runs under local time far from UTC (conftest's los_angeles)."""
    yield


def config_for(tmp_path, **settings):
    return CourseConfig(root=tmp_path, **settings)


def result(student, assignment="hw", timestamp="", status=GRADED, **scores):
    """A SubmissionResult of notebook "nb"; scores: question -> (score, max_score, status)."""
    return SubmissionResult(student, assignment, f"sha256:{student}", status, timestamp=timestamp,
                            questions=[QuestionResult("nb", q, s, m, st) for q, (s, m, st) in scores.items()])


# -- a stand-in for nbgrader's Gradebook ----------------------------------------------------

def grade(name, score, manual_score=None, extra_credit=None):
    return SimpleNamespace(name=name, score=score, manual_score=manual_score, extra_credit=extra_credit)


def gb_submission(student, notebooks, timestamp=None, extension=None):
    """notebooks: {notebook name: [grade]}"""
    return SimpleNamespace(student=SimpleNamespace(id=student), timestamp=timestamp, extension=extension,
                           notebooks=[SimpleNamespace(name=n, grades=g) for n, g in notebooks.items()])


class FakeGradebook:
    def __init__(self, students=(), assignments=None):
        self.students = list(students)
        self.assignments = assignments or {}
        self.closed = False

    def find_assignment(self, name):
        if name not in self.assignments:
            raise MissingEntry()
        return self.assignments[name]

    def close(self):
        self.closed = True


def gb_student(student_id, first=None, last=None, email=None, lms=None):
    return SimpleNamespace(id=student_id, first_name=first, last_name=last, email=email, lms_user_id=lms)


def gb_assignment(cells=(), submissions=(), duedate=None):
    """cells: [(notebook, question, max_score)]"""
    notebooks = {}
    for notebook, question, top in cells:
        notebooks.setdefault(notebook, []).append(SimpleNamespace(name=question, max_score=top))
    return SimpleNamespace(notebooks=[SimpleNamespace(name=n, grade_cells=c) for n, c in notebooks.items()],
                           submissions=list(submissions), duedate=duedate)


# -- the late-penalty rule ------------------------------------------------------------------

@pytest.mark.parametrize("submitted, expected", [
    (None, 0), (DUE - datetime.timedelta(days=3), 0), (DUE, 0),
    (DUE + datetime.timedelta(seconds=1), 1), (DUE + datetime.timedelta(days=1), 1),
    (DUE + datetime.timedelta(days=1, seconds=1), 2), (DUE + datetime.timedelta(hours=34), 2),
])
def test_late_days_are_started_days(submitted, expected):
    assert grade_tables.late_days(submitted, DUE) == expected


def test_no_due_date_no_late_days():
    assert grade_tables.late_days(DUE, None) == 0


@pytest.mark.parametrize("days, per_day, maximum, expected", [
    (0, 0.1, 0.5, 0.0), (2, 0.1, 0.5, 0.2), (5, 0.1, 0.5, 0.5), (10, 0.1, 0.5, 0.5),
    (20, 0.1, 3.0, 1.0),  # never more than everything
    (3, 0.1, -1.0, 0.0),  # a negative maximum takes nothing
    (3, -0.1, 1.0, 0.0),  # a negative rate gives nothing back
])
def test_penalty_fraction(days, per_day, maximum, expected):
    assert grade_tables.penalty_fraction(days, per_day, maximum) == pytest.approx(expected)


def test_as_utc():
    assert grade_tables.as_utc(None) is None
    naive = grade_tables.as_utc(datetime.datetime(2026, 10, 1, 12, 0))
    assert naive == datetime.datetime(2026, 10, 1, 12, 0, tzinfo=UTC) and naive.tzinfo is UTC
    shifted = grade_tables.as_utc(datetime.datetime(2026, 10, 1, 12, 0, tzinfo=PLUS2))
    assert shifted.hour == 10 and shifted.tzinfo is UTC


@pytest.mark.parametrize("text, expected", [
    ("2026-10-02T01:30:00+02:00", datetime.datetime(2026, 10, 1, 23, 30, tzinfo=UTC)),
    (" 2026-10-01T12:00:00\n", datetime.datetime(2026, 10, 1, 12, 0, tzinfo=UTC)),  # naive: UTC
    ("", None), (None, None), ("not a time", None),
])
def test_parse_time(text, expected):
    moment = grade_tables.parse_time(text)
    assert moment == expected
    if expected is not None:
        assert moment.tzinfo is UTC and moment.hour == expected.hour


def test_due_date_from_course_toml_else_gradebook_plus_extension(tmp_path):
    config = config_for(tmp_path, due={"hw": datetime.datetime(2026, 10, 2, 1, 59, tzinfo=PLUS2)})
    book = _BookView({}, set(), {}, {"bea": datetime.timedelta(days=2)}, duedate=DUE + datetime.timedelta(days=9))
    assert grade_tables.due_date(config, "hw", book, "al") == DUE
    assert grade_tables.due_date(config, "hw", book, "bea") == DUE + datetime.timedelta(days=2)
    assert grade_tables.due_date(config, "other", book, "al") == DUE + datetime.timedelta(days=9)
    assert grade_tables.due_date(config, "other", _BookView({}, set(), {}, {"al": datetime.timedelta(1)}), "al") is None


# -- reading the grades ---------------------------------------------------------------------

def test_graded_assignments(tmp_path):
    config = config_for(tmp_path)
    assert grade_tables.graded_assignments(config) == []
    for student, assignment in (("b", "two"), ("a", "one"), ("c", "two")):
        save_result(config, result(student, assignment))
    assert grade_tables.graded_assignments(config) == ["one", "two"]


def test_a_gradebook_is_a_file_or_a_url(tmp_path):
    assert not grade_tables._gradebook_exists(config_for(tmp_path))
    assert grade_tables._gradebook_exists(config_for(tmp_path, db_url="postgresql://grader@db/course"))
    (tmp_path / "gradebook.db").write_bytes(b"")
    assert grade_tables._gradebook_exists(config_for(tmp_path))


def test_roster_from_the_gradebook(capsys):
    assert grade_tables._roster(None) == {}
    book = FakeGradebook([gb_student("ada", "Ada", "Lovelace", "ada@example.org", "1001"),
                          gb_student("carol\n", "Carol"), gb_student("bo")])
    assert grade_tables._roster(book) == {"ada": Student("ada", "Ada", "Lovelace", "ada@example.org", "1001"),
                                    "bo": Student("bo", "", "", "", "")}
    assert "export: gradebook student left out: invalid student id 'carol\\n'" in capsys.readouterr().err


def test_questions_from_results_alone_in_name_order(tmp_path):
    results = [result("a", q2=(1, 2, PASSED)), result("b", q1=(0, 3, FAILED), q2=(2, 2, PASSED))]
    assert grade_tables._questions(config_for(tmp_path), None, "hw", results) == [("nb", "q1", 3.0), ("nb", "q2", 2.0)]


def test_questions_the_gradebook_knows_win_and_results_add_the_rest(tmp_path):
    book = FakeGradebook(assignments={"hw": gb_assignment([("nb", "q1", 5), ("nb", "q2", 2)])})
    results = [result("a", q1=(1, 4, PASSED), q9=(1, 1, PASSED))]
    found = grade_tables._questions(config_for(tmp_path), book, "hw", results)
    assert found == [("nb", "q1", 5.0), ("nb", "q2", 2.0), ("nb", "q9", 1.0)]
    assert all(isinstance(top, float) for _, _, top in found)


def test_questions_of_an_assignment_the_gradebook_lacks_come_from_results(tmp_path):
    book = FakeGradebook(assignments={})
    assert grade_tables._questions(config_for(tmp_path), book, "hw", [result("a", q1=(1, 4, PASSED))]) == [
        ("nb", "q1", 4.0)]


def write_source(config, assignment, notebook, cells):
    """cells: [(grade_id or None, grade flag)]"""
    import json

    folder = config.root / "source" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    raw = [{"metadata": {"nbgrader": {"grade_id": gid, "grade": flag}}} if gid else {} for gid, flag in cells]
    (folder / f"{notebook}.ipynb").write_text(json.dumps({"cells": raw}), encoding="utf-8")


def test_source_order(tmp_path):
    config = config_for(tmp_path)
    assert grade_tables._source_order(config, "hw") == {}
    write_source(config, "hw", "b_nb", [("z_first", True), (None, False), ("answer", False), ("a_second", True)])
    write_source(config, "hw", "a_nb", [("only", True)])
    (config.root / "source" / "hw" / "0_broken.ipynb").write_text("{not json", encoding="utf-8")  # read first
    (config.root / "source" / "hw" / "1_no_cells.ipynb").write_text("{}", encoding="utf-8")
    assert grade_tables._source_order(config, "hw") == {("a_nb", "only"): (0, 0), ("b_nb", "z_first"): (1, 0),
                                                  ("b_nb", "a_second"): (2, 3)}


def test_source_order_reads_utf8_notebooks_whatever_the_locale(tmp_path):
    """Source notebooks hold text in any language (the Chinese edition's, "Zoë"); under an ASCII
    locale (LANG=C without Python's UTF-8 coercion) their questions keep their order."""
    import json
    import locale

    config = config_for(tmp_path)
    folder = config.root / "source" / "hw"
    folder.mkdir(parents=True)
    cells = [{"cell_type": "markdown", "source": "注意力：Zoë", "metadata": {}},
             {"metadata": {"nbgrader": {"grade_id": "q_b", "grade": True}}},
             {"metadata": {"nbgrader": {"grade_id": "q_a", "grade": True}}}]
    (folder / "nb.ipynb").write_bytes(json.dumps({"cells": cells}, ensure_ascii=False).encode("utf-8"))
    old = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        assert grade_tables._source_order(config, "hw") == {("nb", "q_b"): (0, 1), ("nb", "q_a"): (1, 2)}
    finally:
        locale.setlocale(locale.LC_CTYPE, old)


def test_questions_follow_the_source_notebooks_then_the_unknown_by_name(tmp_path):
    config = config_for(tmp_path)
    write_source(config, "hw", "nb", [("q_b", True), ("q_a", True)])
    results = [result("a", q_a=(1, 1, PASSED), extra=(1, 1, PASSED), q_b=(1, 1, PASSED), another=(0, 1, FAILED))]
    assert [q for _, q, _ in grade_tables._questions(config, None, "hw", results)] == ["q_b", "q_a", "another", "extra"]


def test_gradebook_view(tmp_path):
    assert grade_tables._gradebook_view(None, "hw") == _BookView({}, set(), {}, {})
    assert grade_tables._gradebook_view(FakeGradebook(), "hw") == _BookView({}, set(), {}, {})
    submissions = [
        gb_submission("al", {"nb": [grade("q1", 2.0), grade("q2", 1.0, manual_score=1.0)]},
                      timestamp=datetime.datetime(2026, 10, 1, 12, 0), extension=datetime.timedelta(days=2)),
        gb_submission("bo", {"nb": [grade("q1", None), grade("q2", 0.0)]}, extension=datetime.timedelta(0)),
        gb_submission("cy", {"nb": [grade("q1", 1.5, extra_credit=0.5), grade("q2", 0.0, extra_credit=0.0)]}),
    ]
    book = FakeGradebook(assignments={"hw": gb_assignment(submissions=submissions,
                                                           duedate=datetime.datetime(2026, 10, 8, 23, 59))})
    view = grade_tables._gradebook_view(book, "hw")
    assert view.duedate == datetime.datetime(2026, 10, 8, 23, 59, tzinfo=UTC)
    assert view.timestamps == {"al": datetime.datetime(2026, 10, 1, 12, 0, tzinfo=UTC), "bo": None, "cy": None}
    assert view.extensions == {"al": datetime.timedelta(days=2)}
    assert view.manual == {("al", "nb", "q2"), ("cy", "nb", "q1")}  # a manual score, extra credit
    assert view.scores == {("al", "nb", "q1"): 2.0, ("al", "nb", "q2"): 1.0,
                           ("bo", "nb", "q1"): 0.0, ("bo", "nb", "q2"): 0.0,
                           ("cy", "nb", "q1"): 1.5, ("cy", "nb", "q2"): 0.0}


QUESTIONS = [("nb", "q1", 2.0), ("nb", "q2", 6.0)]


def late_config(tmp_path):
    return config_for(tmp_path, due={"hw": DUE}, late_penalty_per_day=0.1, late_penalty_max=0.5)


def test_total_without_a_submission(tmp_path):
    total = grade_tables._total(late_config(tmp_path), "hw", "al", QUESTIONS, None, _BookView({}, set(), {}, {}))
    assert (total.raw_score, total.max_score, total.status, total.due, total.submitted) == (
        0.0, 8.0, NO_SUBMISSION, DUE, None)
    assert total.questions == [QuestionScore("nb", "q1", 0.0, 2.0, NO_SUBMISSION),
                               QuestionScore("nb", "q2", 0.0, 6.0, NO_SUBMISSION)]
    assert not total.submitted_something and total.final_score == 0.0 and total.result is None


def test_total_of_a_late_result_without_a_gradebook(tmp_path):
    """Two started days late at 10 % a day: 20 % of the raw score."""
    mine = result("al", timestamp="2026-10-03T10:00:00+00:00", q1=(2, 2, PASSED))
    total = grade_tables._total(late_config(tmp_path), "hw", "al", QUESTIONS, mine, _BookView({}, set(), {}, {}))
    assert (total.student, total.assignment, total.max_score) == ("al", "hw", 8.0)
    assert total.questions == [QuestionScore("nb", "q1", 2.0, 2.0, PASSED),
                               QuestionScore("nb", "q2", 0.0, 6.0, MISSING)]
    assert total.submitted == datetime.datetime(2026, 10, 3, 10, 0, tzinfo=UTC)
    assert (total.raw_score, total.late_days, total.status, total.result) == (2.0, 2, GRADED, mine)
    assert total.penalty == pytest.approx(0.4)
    assert total.final_score == pytest.approx(1.6)
    assert total.submitted_something


def test_the_gradebook_score_and_a_manual_score_win(tmp_path):
    mine = result("al", timestamp="2026-10-01T12:00:00+00:00", q1=(0, 2, FAILED), q2=(6, 6, PASSED))
    book = _BookView({("al", "nb", "q1"): 1.5, ("al", "nb", "q2"): 5}, {("al", "nb", "q1")}, {}, {})
    total = grade_tables._total(late_config(tmp_path), "hw", "al", QUESTIONS, mine, book)
    assert total.questions == [QuestionScore("nb", "q1", 1.5, 2.0, MANUAL),
                               QuestionScore("nb", "q2", 5.0, 6.0, PASSED)]
    assert isinstance(total.questions[1].score, float)
    assert (total.raw_score, total.late_days, total.penalty) == (6.5, 0, 0.0)


def test_a_submission_only_the_gradebook_has(tmp_path):
    """Graded in nbgrader (no results.json): its time comes from the gradebook."""
    late = datetime.datetime(2026, 10, 2, 0, 30, tzinfo=UTC)
    book = _BookView({("al", "nb", "q1"): 2.0}, set(), {"al": late}, {})
    total = grade_tables._total(late_config(tmp_path), "hw", "al", QUESTIONS, None, book)
    assert total.status == "graded in nbgrader only"
    assert (total.submitted, total.late_days, total.raw_score) == (late, 1, 2.0)
    assert total.penalty == pytest.approx(0.2)
    assert total.questions[1] == QuestionScore("nb", "q2", 0.0, 6.0, "missing")


def test_the_result_time_wins_over_the_gradebook_time(tmp_path):
    mine = result("al", timestamp="2026-10-01T23:00:00+00:00", q1=(2, 2, PASSED))
    book = _BookView({}, set(), {"al": DUE + datetime.timedelta(days=3)}, {})
    total = grade_tables._total(late_config(tmp_path), "hw", "al", QUESTIONS, mine, book)
    assert total.submitted == datetime.datetime(2026, 10, 1, 23, 0, tzinfo=UTC) and total.late_days == 0
    no_time = result("al", q1=(2, 2, PASSED))
    total = grade_tables._total(late_config(tmp_path), "hw", "al", QUESTIONS, no_time, book)
    assert total.submitted == DUE + datetime.timedelta(days=3) and total.late_days == 3


def test_an_extension_moves_the_students_due_date(tmp_path):
    mine = result("al", timestamp="2026-10-03T10:00:00+00:00", q1=(2, 2, PASSED))
    book = _BookView({}, set(), {}, {"al": datetime.timedelta(days=2)})
    total = grade_tables._total(late_config(tmp_path), "hw", "al", QUESTIONS, mine, book)
    assert total.due == DUE + datetime.timedelta(days=2) and total.late_days == 0 and total.penalty == 0.0


def test_a_negative_raw_score_loses_no_penalty_and_ends_at_zero(tmp_path):
    mine = result("al", timestamp="2026-10-05T00:00:00+00:00", q1=(-1, 2, FAILED))
    total = grade_tables._total(late_config(tmp_path), "hw", "al", QUESTIONS, mine, _BookView({}, set(), {}, {}))
    assert total.raw_score == -1.0 and total.penalty == 0.0 and total.final_score == 0.0


def test_final_score():
    assert Total("a", "hw", 8.0, 8.0, penalty=2.0).final_score == 6.0
    assert Total("a", "hw", 1.0, 8.0, penalty=2.0).final_score == 0.0
    assert Total("a", "hw", 1.0, 8.0).status == NO_SUBMISSION


def test_collect_from_results_json_without_a_gradebook(tmp_path):
    config = late_config(tmp_path)
    save_result(config, result("bo", timestamp="2026-10-02T01:30:00+02:00", q1=(2, 2, PASSED), q2=(3, 6, FAILED)))
    save_result(config, result("al", timestamp="2026-10-03T10:00:00+00:00", q1=(2, 2, PASSED), q2=(6, 6, PASSED)))
    save_result(config, result("cy", "other", q1=(1, 1, PASSED)))
    grades = grade_tables.collect(config, ["hw"])
    assert grades.assignments == ["hw"]
    assert list(grades.roster) == ["al", "bo"] and grades.roster["al"] == Student("al")
    assert grades.questions == {"hw": QUESTIONS}
    al, bo = grades.totals["hw"]
    assert (al.student, al.raw_score, al.late_days, al.final_score) == ("al", 8.0, 2, pytest.approx(6.4))
    assert (bo.student, bo.raw_score, bo.late_days, bo.final_score) == ("bo", 5.0, 0, 5.0)


def test_collect_with_a_gradebook_adds_its_students_and_closes_it(tmp_path, monkeypatch):
    config = late_config(tmp_path)
    (tmp_path / "gradebook.db").write_bytes(b"")
    save_result(config, result("zed", timestamp="2026-10-01T12:00:00+00:00", q1=(2, 2, PASSED)))
    in_book = gb_submission("bo", {"nb": [grade("q1", 1.0), grade("q2", 3.0)]})
    book = FakeGradebook([gb_student("al", "Al", "Adams"), gb_student("bo")],
                         {"hw": gb_assignment([("nb", "q1", 2), ("nb", "q2", 6)], [in_book])})
    opened = []
    monkeypatch.setattr(autograder.gradebook, "open_gradebook", lambda config: opened.append(config) or book)
    grades = grade_tables.collect(config, ["hw"])
    assert opened == [config] and book.closed
    assert list(grades.roster) == ["al", "bo", "zed"]  # sorted; zed is only in results.json
    assert grades.roster["al"].first_name == "Al"
    assert grades.questions == {"hw": QUESTIONS}  # q2 is known from the gradebook only
    assert [(t.student, t.status, t.raw_score) for t in grades.totals["hw"]] == [
        ("al", NO_SUBMISSION, 0.0), ("bo", "graded in nbgrader only", 4.0), ("zed", GRADED, 2.0)]


def test_collect_closes_the_gradebook_when_reading_fails(tmp_path, monkeypatch):
    (tmp_path / "gradebook.db").write_bytes(b"")

    class Broken(FakeGradebook):
        @property
        def students(self):
            raise RuntimeError("database is locked")

        @students.setter
        def students(self, value):
            pass

    book = Broken()
    monkeypatch.setattr(autograder.gradebook, "open_gradebook", lambda config: book)
    with pytest.raises(RuntimeError, match="locked"):
        grade_tables.collect(config_for(tmp_path), ["hw"])
    assert book.closed


# -- writing --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [(6.4, "6.4"), (10.0, "10"), (10, "10"), (0, "0"), (-0.0, "0"),
                                         (-0.00001, "0"), (1 / 3, "0.3333"), (1.23456, "1.2346"),
                                         (-1.5, "-1.5"), (100.5, "100.5"), ("2.50", "2.5"),
                                         (0.1234499, "0.1234")])  # rounded once, to 4 decimals
def test_number(value, text):
    assert grade_tables.number(value) == text


def test_time_text():
    assert grade_tables._time(None) == ""
    assert grade_tables._time(DUE) == "2026-10-01T23:59:00+00:00"


def test_csv_text_quotes_what_needs_it():
    assert grade_tables.csv_text(["a", "b"], [["x, y", 'say "hi"'], [1, ""]]) == (
        'a,b\r\n"x, y","say ""hi"""\r\n1,\r\n')
    assert grade_tables.csv_text(["a"], []) == "a\r\n"


def sample_grades():
    roster = {"al": Student("al", "Al", "Adams", "al@example.org", "1001"), "bo": Student("bo")}
    due = DUE
    totals = {
        "hw": [Total("al", "hw", 8.0, 8.0, submitted=DUE + datetime.timedelta(hours=30), due=due, late_days=2,
                     penalty=1.6, status=GRADED,
                     questions=[QuestionScore("nb", "q1", 2.0, 2.0, PASSED), QuestionScore("nb", "q2", 6.0, 6.0, MANUAL)]),
               Total("bo", "hw", 0.0, 8.0, due=due,
                     questions=[QuestionScore("nb", "q1", 0.0, 2.0, NO_SUBMISSION),
                                QuestionScore("nb", "q2", 0.0, 6.0, NO_SUBMISSION)])],
        "quiz": [Total("al", "quiz", 1.0, 1.0, status=GRADED, questions=[QuestionScore("q", "a", 1.0, 1.0, PASSED)]),
                 Total("bo", "quiz", 0.5, 1.0, status=GRADED, questions=[QuestionScore("q", "a", 0.5, 1.0, FAILED)])],
    }
    return Grades(["hw", "quiz"], roster, totals, {})


def test_question_rows():
    assert list(grade_tables.question_rows(sample_grades())) == [
        ["al", "hw", "nb", "q1", "2", "2", PASSED], ["al", "hw", "nb", "q2", "6", "6", MANUAL],
        ["bo", "hw", "nb", "q1", "0", "2", NO_SUBMISSION], ["bo", "hw", "nb", "q2", "0", "6", NO_SUBMISSION],
        ["al", "quiz", "q", "a", "1", "1", PASSED], ["bo", "quiz", "q", "a", "0.5", "1", FAILED]]


def test_total_rows():
    rows = list(grade_tables.total_rows(sample_grades()))
    assert rows[0] == ["al", "hw", "8", "8", "2026-10-03T05:59:00+00:00", "2026-10-01T23:59:00+00:00", 2,
                       "1.6", "6.4", GRADED]
    assert rows[1] == ["bo", "hw", "0", "8", "", "2026-10-01T23:59:00+00:00", 0, "0", "0", NO_SUBMISSION]
    assert [row[:2] for row in rows[2:]] == [["al", "quiz"], ["bo", "quiz"]]


def test_lms_rows():
    grades = sample_grades()
    assert grade_tables.final_scores(grades) == {"al": ["6.4", "1"], "bo": ["0", "0.5"]}
    assert list(export.lms_rows(export.LMS_FORMATS["canvas"], grades)) == [
        ["Adams, Al", "1001", "al", "", "", "6.4", "1"], ["bo", "", "bo", "", "", "0", "0.5"]]
    assert list(export.lms_rows(export.LMS_FORMATS["moodle"], grades)) == [
        ["al", "al@example.org", "Al", "Adams", "6.4", "1"], ["bo", "", "", "", "0", "0.5"]]


@pytest.mark.parametrize("name", list(export.LMS_FORMATS))
def test_each_lms_format_gives_a_cell_per_column_in_a_file_of_its_own(name):
    """A cell too many or too few would shift every score under another assignment's column."""
    lms = export.LMS_FORMATS[name]
    student = Student("al", "Al", "Adams", "al@example.org", "1001")
    assert len(lms.student_cells(student)) == len(lms.columns)
    others = [other.file for key, other in export.LMS_FORMATS.items() if key != name]
    assert lms.file.endswith(".csv") and lms.file not in others + ["questions.csv", "totals.csv", "checks.csv"]


def test_check_rows_give_each_named_check_of_the_autograder():
    from autograder.results import CheckResult

    graded = result("al", q1=(1.5, 3, FAILED), q2=(1, 1, PASSED))
    graded.questions[0].checks = [CheckResult("shape", 1.0, 1.0, PASSED, ""),
                                  CheckResult("masking", 2.0, 0.0, FAILED, "masked keys got weight"),
                                  CheckResult("rows", 0.5, 0.5, PASSED, "")]
    totals = {"hw": [Total("al", "hw", 2.5, 4.0, status=GRADED, result=graded),
                     Total("bo", "hw", 0.0, 4.0)]}  # no submission: no check rows
    grades = Grades(["hw"], {"al": Student("al"), "bo": Student("bo")}, totals, {})
    assert list(grade_tables.check_rows(grades)) == [
        ["al", "hw", "nb", "q1", "shape", "1", "1", PASSED],
        ["al", "hw", "nb", "q1", "masking", "0", "2", FAILED],
        ["al", "hw", "nb", "q1", "rows", "0.5", "0.5", PASSED]]


def test_canvas_name_with_only_one_part():
    grades = Grades([], {"x": Student("x", first_name="Xi"), "y": Student("y", last_name="Yu")}, {}, {})
    assert [row[0] for row in export.lms_rows(export.LMS_FORMATS["canvas"], grades)] == ["Xi", "Yu"]


def test_write_exports(tmp_path):
    config = config_for(tmp_path / "new" / "course")  # folders made as needed
    written = export.write_exports(config, sample_grades())
    assert export.write_exports(config, sample_grades()) == written  # written again over the old files
    tmp_path = config.root
    assert written == [tmp_path / "exports" / name for name in ("questions.csv", "totals.csv", "canvas.csv",
                                                                "moodle.csv", "checks.csv")]
    headers = {path.name: next(csv.reader(io.StringIO(path.read_text(encoding="utf-8")))) for path in written}
    assert headers == {"questions.csv": grade_tables.QUESTION_COLUMNS, "totals.csv": grade_tables.TOTAL_COLUMNS,
                       "canvas.csv": ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw", "quiz"],
                       "moodle.csv": ["ID number", "Email address", "First name", "Last name", "hw", "quiz"],
                       "checks.csv": grade_tables.CHECK_COLUMNS}
    assert (tmp_path / "exports" / "moodle.csv").read_text(encoding="utf-8").splitlines()[1] == (
        "al,al@example.org,Al,Adams,6.4,1")
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == sorted(p.name for p in written)


def test_select_assignments(tmp_path):
    config = config_for(tmp_path)
    assignments, problem = grade_tables.select_assignments(config, [])
    assert assignments is None
    assert problem == (f"nothing is graded yet: no results in {config.autograded()}; "
                       "run `python -m autograder grade ASSIGNMENT` first")
    save_result(config, result("al", "two"))
    save_result(config, result("al", "one"))
    assert grade_tables.select_assignments(config, []) == (["one", "two"], "")
    assert grade_tables.select_assignments(config, ["two", "one", "two"]) == (["two", "one"], "")
    assert grade_tables.select_assignments(config, ["one", "three", "four"]) == (
        None, "no graded submissions for three, four; graded assignments: one, two")


def test_run(tmp_path, capsys):
    config = late_config(tmp_path)
    args = SimpleNamespace(assignments=[])
    assert cli.run_export(args, config) == 1
    assert "nothing is graded yet" in capsys.readouterr().err
    save_result(config, result("al", timestamp="2026-10-03T10:00:00+00:00", q1=(2, 2, PASSED)))
    save_result(config, result("bo", timestamp="2026-10-01T10:00:00+00:00", q1=(1, 2, FAILED)))
    save_result(config, result("cy", "quiz", q1=(1, 1, PASSED)))
    assert cli.run_export(SimpleNamespace(assignments=["hw", "quiz"]), config) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == [f"wrote {config.exports / name}" for name in ("questions.csv", "totals.csv",
                                                                     "canvas.csv", "moodle.csv", "checks.csv")]
    # al late on hw; cy sent no hw, al and bo sent no quiz
    assert out[5] == "3 students, 2 assignment(s): 1 late submission(s), 3 missing submission(s) scored 0"
    assert cli.run_export(SimpleNamespace(assignments=["hw"]), config) == 0
    assert capsys.readouterr().out.splitlines()[5] == (
        "2 students, 1 assignment(s): 1 late submission(s), 0 missing submission(s) scored 0")


def test_arguments():
    import argparse

    parser = argparse.ArgumentParser()
    cli.graded_assignments_arguments(parser)
    assert parser.parse_args([]).assignments == []
    assert parser.parse_args(["hw", "quiz"]).assignments == ["hw", "quiz"]
    assert "[ASSIGNMENT ...]" in parser.format_usage()
    assert re.search(r"(?<!\w)ASSIGNMENT assignment ids \(default: every assignment with graded submissions\)(?!\w)",
                     " ".join(parser.format_help().split()))
