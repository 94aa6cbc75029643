"""`python -m autograder export`: per-question and per-assignment CSVs and the LMS import files.

A synthetic class is recorded into a real course folder (nbgrader gradebook
and results.json files, as grading leaves them): scores spread out, late
submissions, an extension, a manual formgrader score, a submission that could
not be graded, review flags and a roster student who submitted nothing.
"""
import csv
import datetime
from pathlib import Path

import pytest

from autograder import cli
from autograder.config import load_config
from autograder.course import prepare_course
from autograder.grade_tables import late_days, number, penalty_fraction
from autograder.gradebook import open_gradebook, record_result
from autograder.results import FAILED, ERROR, FAULT, MISSING, PASSED, QuestionResult, ReviewFlag, \
    SubmissionResult, save_result

NORMALISER = "you forgot the normaliser: divide the scores by sqrt(d) before the softmax"
MASK = "the causal mask keeps position j for query i only when j <= i (True = keep)"
SPLIT = "split_heads should return (batch, heads, n, d // heads), got (batch, n, heads, d // heads)"

COURSE_TOML = """\
course_id = "synthetic"
[due]
self_attention = "2026-10-01T23:59:00+00:00"
[late_penalty]
per_day = 0.1
maximum = 0.5
"""

# student -> (timestamp, status, {question: (score, status, messages)}, flags)
SELF_ATTENTION = {
    "ada": ("2026-10-01T20:00:00+00:00", "graded",
            {"test_causal_mask": (2, PASSED, []), "test_self_attention": (6, PASSED, [])}, []),
    # failed the mask; an instructor gives 1 of 2 points in the formgrader
    "ben": ("2026-10-01T23:00:00+00:00", "graded",
            {"test_causal_mask": (0, FAILED, [MASK]), "test_self_attention": (6, PASSED, [])}, []),
    # 34 hours late: 2 started days, 20 % of 8 points
    "cai": ("2026-10-03T10:00:00+00:00", "graded",
            {"test_causal_mask": (2, PASSED, []), "test_self_attention": (6, PASSED, [])}, []),
    # 10 days late: the penalty stops at the maximum, 50 %
    "dee": ("2026-10-11T12:00:00+00:00", "graded",
            {"test_causal_mask": (2, PASSED, []), "test_self_attention": (2, FAILED, [NORMALISER])}, []),
    # 01:30 at UTC+2 is 23:30 UTC: on time; the same message twice counts once
    "eve": ("2026-10-02T01:30:00+02:00", "graded",
            {"test_causal_mask": (2, PASSED, []),
             "test_self_attention": (0, FAILED, [NORMALISER, NORMALISER])}, []),
    "fay": ("", "not valid JSON (line 1, column 12)",
            {"test_causal_mask": (0, MISSING, []), "test_self_attention": (0, MISSING, [])}, []),
    "gus": ("2026-10-01T12:00:00+00:00", "graded",
            {"test_causal_mask": (2, PASSED, []), "test_self_attention": (6, PASSED, [])},
            [ReviewFlag("self_attention", 7, 2, "monkeypatch", "assigns to np.allclose",
                        "np.allclose = lambda *args, **kwargs: True")]),
    "hal": ("2026-10-01T21:00:00+00:00", "graded",
            {"test_causal_mask": (0, FAULT, ["the cell ran for more than 60 s and was stopped"]),
             "test_self_attention": (0, ERROR, ["NameError: name 'softmax' is not defined", NORMALISER])}, []),
}

MULTI_HEAD = {
    "ada": ("2026-10-08T10:00:00+00:00", "graded",
            {"test_split_heads": (2, PASSED, []), "test_merge_heads": (2, PASSED, []),
             "test_multi_head_attention": (4, PASSED, []), "test_count_parameters": (2, PASSED, [])}, []),
    "ben": ("2026-10-08T11:00:00+00:00", "graded",
            {"test_split_heads": (0, FAILED, [SPLIT]), "test_merge_heads": (2, PASSED, []),
             "test_multi_head_attention": (0, FAILED, [SPLIT]), "test_count_parameters": (2, PASSED, [])},
            [ReviewFlag("multi_head", 4, 1, "file-access", "opens a file outside the submission",
                        "open('../../gradebook.db').read()")]),
    # one hour after the gradebook's due date: 1 started day, 10 %
    "cai": ("2026-10-09T00:59:00+00:00", "graded",
            {"test_split_heads": (2, PASSED, []), "test_merge_heads": (2, PASSED, []),
             "test_multi_head_attention": (4, PASSED, []), "test_count_parameters": (0, FAILED, [
                 "count_parameters should count 4 weight matrices of d x d"])}, []),
    # a day late, but with a two-day extension: on time
    "dee": ("2026-10-09T23:59:00+00:00", "graded",
            {"test_split_heads": (2, PASSED, []), "test_merge_heads": (0, FAILED, [SPLIT]),
             "test_multi_head_attention": (4, PASSED, []), "test_count_parameters": (2, PASSED, [])}, []),
}
MULTI_HEAD_DUE = datetime.datetime(2026, 10, 8, 23, 59)  # nbgrader stores naive UTC

NOTEBOOKS = {"self_attention": "self_attention", "multi_head": "multi_head"}


def make_result(student, assignment, spec, max_scores):
    timestamp, status, questions, flags = spec
    return SubmissionResult(
        student=student, assignment=assignment, digest=f"sha256:{student}{assignment}", status=status,
        timestamp=timestamp, graded_at="2026-10-12T09:00:00+00:00", seconds=1.5,
        questions=[QuestionResult(NOTEBOOKS[assignment], question, float(score), max_scores[question],
                                  question_status, list(messages))
                   for question, (score, question_status, messages) in questions.items()],
        flags=list(flags),
        faults=["timeout"] if any(q[1] == FAULT for q in questions.values()) else [])


# The class's two assignments as they were when its results were written (their questions
# and points are what the expected totals below add up), not as the course has them now.
SYNTHETIC_SOLUTIONS = Path(__file__).resolve().parent / "synthetic_class" / "solutions"


def build_synthetic_class(root):
    """A course folder with two graded assignments; returns its CourseConfig."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    config = load_config(root)
    prepare_course(config, list(NOTEBOOKS), solutions_dir=SYNTHETIC_SOLUTIONS)
    gradebook = open_gradebook(config)
    try:
        gradebook.update_or_create_student("ada", first_name="Ada", last_name="Lovelace",
                                           email="ada@example.org", lms_user_id="1001")
        gradebook.update_or_create_student("zoe", first_name="Zoë", last_name="Zed",
                                           email="zoe@example.org", lms_user_id="1026")
        gradebook.update_or_create_assignment("multi_head", duedate=MULTI_HEAD_DUE)
        for assignment, specs in (("self_attention", SELF_ATTENTION), ("multi_head", MULTI_HEAD)):
            max_scores = {cell.name: cell.max_score
                          for notebook in gradebook.find_assignment(assignment).notebooks
                          for cell in notebook.grade_cells}
            for student, spec in specs.items():
                result = make_result(student, assignment, spec, max_scores)
                save_result(config, result)
                record_result(gradebook, result)
        gradebook.find_grade("test_causal_mask", "self_attention", "self_attention", "ben").manual_score = 1.0
        gradebook.db.commit()
        gradebook.grant_extension("multi_head", "dee", days=2)
    finally:
        gradebook.close()
    return config


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return build_synthetic_class(tmp_path_factory.mktemp("course") / "course")


@pytest.fixture(scope="module")
def exported(course):
    assert cli.main(["--course", str(course.root), "export"]) == 0
    return course.exports


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def by_key(rows, *columns):
    return {tuple(row[c] for c in columns) if len(columns) > 1 else row[columns[0]]: row for row in rows}


# -- the late-penalty rule ------------------------------------------------------

def test_late_days_count_started_days():
    due = datetime.datetime(2026, 10, 1, 23, 59, tzinfo=datetime.timezone.utc)
    assert late_days(due, due) == 0
    assert late_days(due - datetime.timedelta(hours=5), due) == 0
    assert late_days(due + datetime.timedelta(seconds=1), due) == 1
    assert late_days(due + datetime.timedelta(days=1), due) == 1
    assert late_days(due + datetime.timedelta(days=1, seconds=1), due) == 2
    assert late_days(None, due) == 0
    assert late_days(due, None) == 0


def test_penalty_fraction_is_capped_and_never_negative():
    assert penalty_fraction(0, 0.1, 0.5) == 0
    assert penalty_fraction(3, 0.1, 0.5) == pytest.approx(0.3)
    assert penalty_fraction(9, 0.1, 0.5) == 0.5
    assert penalty_fraction(2, -0.1, 0.5) == 0
    assert penalty_fraction(20, 0.2, 3.0) == 1.0  # never more than the whole score
    assert number(8 - 8 * penalty_fraction(2, 0.1, 0.5)) == "6.4"


# -- questions.csv ---------------------------------------------------------------

def test_questions_csv_has_one_row_per_student_per_question(exported):
    rows = read_csv(exported / "questions.csv")
    assert list(rows[0]) == ["student_id", "assignment", "notebook", "question", "score", "max_score", "status"]
    students = {"ada", "ben", "cai", "dee", "eve", "fay", "gus", "hal", "zoe"}
    keys = [(r["student_id"], r["assignment"], r["question"]) for r in rows]
    assert len(keys) == len(set(keys)) == len(students) * (2 + 4)
    assert {r["student_id"] for r in rows} == students
    # questions in notebook order
    ada = [r["question"] for r in rows if r["student_id"] == "ada" and r["assignment"] == "multi_head"]
    assert ada == ["test_split_heads", "test_merge_heads", "test_multi_head_attention", "test_count_parameters"]


def test_question_scores_and_statuses(exported):
    rows = by_key(read_csv(exported / "questions.csv"), "student_id", "assignment", "question")
    row = rows[("dee", "self_attention", "test_self_attention")]
    assert (row["notebook"], row["score"], row["max_score"], row["status"]) == (
        "self_attention", "2", "6", "failed")
    assert rows[("hal", "self_attention", "test_causal_mask")]["status"] == "fault"
    assert rows[("hal", "self_attention", "test_self_attention")]["status"] == "error"
    assert rows[("fay", "self_attention", "test_causal_mask")]["status"] == "missing"


def test_manual_formgrader_score_wins(exported):
    rows = by_key(read_csv(exported / "questions.csv"), "student_id", "assignment", "question")
    row = rows[("ben", "self_attention", "test_causal_mask")]
    assert (row["score"], row["status"]) == ("1", "manual")
    totals = by_key(read_csv(exported / "totals.csv"), "student_id", "assignment")
    assert totals[("ben", "self_attention")]["raw_score"] == "7"
    assert totals[("ben", "self_attention")]["final_score"] == "7"


def test_roster_student_without_submission_gets_zero(exported):
    questions = [r for r in read_csv(exported / "questions.csv") if r["student_id"] == "zoe"]
    assert {(r["score"], r["status"]) for r in questions} == {("0", "no submission")}
    totals = by_key(read_csv(exported / "totals.csv"), "student_id", "assignment")
    for assignment, top in (("self_attention", "8"), ("multi_head", "10")):
        row = totals[("zoe", assignment)]
        assert (row["raw_score"], row["max_score"], row["final_score"], row["status"]) == ("0", top, "0",
                                                                                          "no submission")
    # eve, fay, gus and hal submitted self_attention only
    assert totals[("eve", "multi_head")]["status"] == "no submission"


# -- totals.csv --------------------------------------------------------------------

def test_totals_columns(exported):
    rows = read_csv(exported / "totals.csv")
    assert list(rows[0]) == ["student_id", "assignment", "raw_score", "max_score", "submitted", "due",
                             "late_days", "penalty", "final_score", "status"]
    assert len(rows) == 9 * 2


@pytest.mark.parametrize("student, assignment, raw, late, penalty, final", [
    ("ada", "self_attention", "8", "0", "0", "8"),
    ("cai", "self_attention", "8", "2", "1.6", "6.4"),  # 34 h late: 2 days x 10 %
    ("dee", "self_attention", "4", "10", "2", "2"),  # 10 days: capped at 50 %
    ("eve", "self_attention", "2", "0", "0", "2"),  # 01:30+02:00 is before 23:59 UTC
    ("hal", "self_attention", "0", "0", "0", "0"),
    ("cai", "multi_head", "8", "1", "0.8", "7.2"),  # due date from the gradebook
    ("dee", "multi_head", "8", "0", "0", "8"),  # two-day extension
])
def test_late_penalty(exported, student, assignment, raw, late, penalty, final):
    row = by_key(read_csv(exported / "totals.csv"), "student_id", "assignment")[(student, assignment)]
    assert (row["raw_score"], row["late_days"], row["penalty"], row["final_score"]) == (raw, late, penalty, final)


def test_totals_record_times_and_reasons(exported):
    rows = by_key(read_csv(exported / "totals.csv"), "student_id", "assignment")
    assert rows[("cai", "self_attention")]["submitted"] == "2026-10-03T10:00:00+00:00"
    assert rows[("cai", "self_attention")]["due"] == "2026-10-01T23:59:00+00:00"
    assert rows[("eve", "self_attention")]["submitted"] == "2026-10-01T23:30:00+00:00"
    assert rows[("dee", "multi_head")]["due"] == "2026-10-10T23:59:00+00:00"
    assert rows[("fay", "self_attention")]["status"] == "not valid JSON (line 1, column 12)"
    assert rows[("fay", "self_attention")]["submitted"] == ""
    assert rows[("ada", "self_attention")]["status"] == "graded"


# -- the LMS import files ----------------------------------------------------------

def test_canvas_import_file(exported):
    with open(exported / "canvas.csv", newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "multi_head", "self_attention"]
    by_id = {row[2]: row for row in rows}
    assert len(rows) == 9
    assert by_id["ada"] == ["Lovelace, Ada", "1001", "ada", "", "", "10", "8"]
    assert by_id["zoe"] == ["Zed, Zoë", "1026", "zoe", "", "", "0", "0"]
    assert by_id["cai"] == ["cai", "", "cai", "", "", "7.2", "6.4"]
    assert by_id["ben"][5:] == ["4", "7"]


def test_moodle_import_file(exported):
    rows = read_csv(exported / "moodle.csv")
    assert list(rows[0]) == ["ID number", "Email address", "First name", "Last name", "multi_head",
                             "self_attention"]
    zoe = by_key(rows, "ID number")["zoe"]
    assert (zoe["Email address"], zoe["First name"], zoe["self_attention"]) == ("zoe@example.org", "Zoë", "0")
    assert by_key(rows, "ID number")["dee"]["self_attention"] == "2"


# -- the command -------------------------------------------------------------------

def test_export_one_assignment_rewrites_the_files(course, exported, capsys):
    assert cli.main(["--course", str(course.root), "export", "multi_head"]) == 0
    assert "wrote" in capsys.readouterr().out
    try:
        totals = read_csv(course.exports / "totals.csv")
        assert {row["assignment"] for row in totals} == {"multi_head"}
        with open(course.exports / "canvas.csv", newline="", encoding="utf-8") as handle:
            assert next(csv.reader(handle))[5:] == ["multi_head"]
        assert not list(course.exports.glob(".*tmp"))  # no temporary files left behind
    finally:
        assert cli.main(["--course", str(course.root), "export"]) == 0


def test_unknown_assignment_is_refused(course, capsys):
    assert cli.main(["--course", str(course.root), "export", "no_such_thing"]) == 1
    error = capsys.readouterr().err
    assert "no_such_thing" in error and "multi_head, self_attention" in error


def test_nothing_graded_yet(tmp_path, capsys):
    assert cli.main(["--course", str(tmp_path), "export"]) == 1
    assert "nothing is graded yet" in capsys.readouterr().err
    assert not (tmp_path / "exports").exists()
    assert not (tmp_path / "gradebook.db").exists()
