"""`python -m autograder report`: plots, summary.txt and flags.csv for the synthetic class of test_export."""
import csv
import struct

import pytest

from autograder import cli
from autograder.report import diagnostics, first_line, shorten
from autograder.results import FAILED, PASSED, QuestionResult, SubmissionResult
from test_export import MASK, NORMALISER, SPLIT, build_synthetic_class

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMAGES = ["questions_multi_head.png", "questions_self_attention.png", "totals.png",
          "hardest_questions.png", "diagnostics.png"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return build_synthetic_class(tmp_path_factory.mktemp("course") / "course")


@pytest.fixture(scope="module")
def reported(course):
    assert cli.main(["--course", str(course.root), "report"]) == 0
    return course.reports


def submission(student, assignment, *questions):
    return SubmissionResult(student, assignment, "sha256:0", "graded",
                            questions=[QuestionResult(assignment, q, score, 2.0, status, messages)
                                       for q, score, status, messages in questions])


# -- counting the diagnostics --------------------------------------------------------

def test_diagnostics_count_students_per_message():
    results = [
        submission("a", "hw", ("q1", 0, FAILED, [NORMALISER, NORMALISER]), ("q2", 0, FAILED, [MASK])),
        submission("b", "hw", ("q1", 0, FAILED, [NORMALISER + "\n  details: got 0.7, expected 1.0"])),
        submission("c", "hw", ("q1", 0, FAILED, [NORMALISER]), ("q2", 2, PASSED, [MASK])),
        submission("d", "hw", ("q2", 0, FAILED, [MASK, "  ", ""])),
        submission("a", "other", ("q1", 0, FAILED, [NORMALISER])),
    ]
    found = diagnostics(results)
    counts = [(d.count, d.assignment, d.question, d.message) for d in found]
    # a's repeated message counts once; b's second line is detail, not a new message;
    # c's passed q2 is no failure; blank messages are dropped; other assignments apart
    assert counts == [(3, "hw", "q1", NORMALISER), (2, "hw", "q2", MASK), (1, "other", "q1", NORMALISER)]
    assert found[0].students == ["a", "b", "c"]
    assert found[1].students == ["a", "d"]


def test_failed_checks_rank_the_parts_of_questions_the_class_gets_wrong():
    from autograder.report import failed_checks
    from autograder.results import CheckResult

    def checked(student, *outcomes):
        result = submission(student, "hw", ("q1", 0, FAILED, []))
        result.questions[0].checks = [CheckResult(name, 1.0, float(ok), PASSED if ok else FAILED, "")
                                      for name, ok in outcomes]
        return result

    results = [checked("a", ("shape", True), ("mask", False), ("scale", False)),
               checked("b", ("shape", True), ("mask", False), ("scale", True)),
               checked("c", ("shape", True), ("mask", True), ("scale", True))]
    found = [(c.check, c.failed, c.graded) for c in failed_checks(results)]
    assert found == [("mask", 2, 3), ("scale", 1, 3)]  # never-failed "shape" is left out
    assert failed_checks(results, top=1)[0].check == "mask"


def test_diagnostics_keep_the_top_ten():
    results = [submission(f"s{i}", "hw", *[(f"q{j}", 0, FAILED, [f"mistake {j}"]) for j in range(i + 1)])
               for i in range(12)]
    found = diagnostics(results)
    assert len(found) == 10
    assert [d.count for d in found] == list(range(12, 2, -1))
    assert found[0].message == "mistake 0"


def test_first_line_and_shorten():
    assert first_line("\n   the mask   is wrong \nTraceback ...") == "the mask is wrong"
    text = shorten("word " * 60, width=40, lines=2)
    lines = text.splitlines()
    assert len(lines) == 2 and all(len(line) <= 40 for line in lines) and lines[-1].endswith("…")
    assert shorten("short message") == "short message"


def test_diagnostics_of_the_synthetic_class(course):
    from autograder.results import load_results
    found = diagnostics(load_results(course))
    top = found[0]
    # dee, eve (twice) and hal got the normaliser message in self_attention
    assert (top.count, top.assignment, top.question, top.message) == (
        3, "self_attention", "test_self_attention", NORMALISER)
    assert top.students == ["dee", "eve", "hal"]
    split = {d.question: d.students for d in found if d.message == SPLIT}
    assert split == {"test_split_heads": ["ben"], "test_merge_heads": ["dee"],
                     "test_multi_head_attention": ["ben"]}


# -- the files -------------------------------------------------------------------------

@pytest.mark.parametrize("name", IMAGES)
def test_images_are_valid_pngs_of_reasonable_size(reported, name):
    data = (reported / name).read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 600 <= width <= 4000 and 300 <= height <= 4000, (width, height)
    assert 10_000 < len(data) < 2_000_000
    import matplotlib.image
    pixels = matplotlib.image.imread(reported / name)
    assert pixels.shape[:2] == (height, width)
    assert pixels.std() > 0.05  # not a blank canvas


def test_summary_numbers(reported):
    summary = (reported / "summary.txt").read_text(encoding="utf-8")
    assert "Students graded: 8 of 9 on the roster (12 submissions)" in summary
    # self_attention finals: 8, 7, 6.4, 2, 2, 0, 8, 0 (ben's manual point, cai and dee late)
    assert "final score: mean 4.17, median 4.2" in summary
    assert "before late penalties: mean 4.62, median 5.5" in summary
    assert "hardest question: test_self_attention (mean 3.25 of 6, 54%)" in summary
    assert "Hardest question overall: self_attention / test_self_attention" in summary
    assert "no submission (5): eve, fay, gus, hal, zoe" in summary
    assert f"3: {NORMALISER} [self_attention / test_self_attention]" in summary


def test_summary_lists_problems(reported):
    summary = (reported / "summary.txt").read_text(encoding="utf-8")
    problems = summary.split("Problems:")[1].split("Review flags")[0]
    assert "fay  self_attention: not valid JSON (line 1, column 12)" in problems
    assert "hal  self_attention: graded, but the process failed: timeout" in problems
    assert "ada" not in problems and "zoe" not in problems


def test_summary_lists_flags_with_cell_and_code(reported):
    summary = (reported / "summary.txt").read_text(encoding="utf-8")
    flags = summary.split("Review flags")[1]
    assert "(2; also in flags.csv)" in flags
    assert "  gus\n    self_attention / self_attention, cell 7, line 2: [monkeypatch] assigns to np.allclose\n" \
           "      | np.allclose = lambda *args, **kwargs: True" in flags
    assert "multi_head / multi_head, cell 4, line 1: [file-access]" in flags


def test_flags_csv(reported):
    with open(reported / "flags.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["student_id"], r["assignment"], r["notebook"], r["cell"], r["line"], r["rule"]) for r in rows] == [
        ("ben", "multi_head", "multi_head", "4", "1", "file-access"),
        ("gus", "self_attention", "self_attention", "7", "2", "monkeypatch")]
    assert rows[1]["code"] == "np.allclose = lambda *args, **kwargs: True"


def test_report_one_assignment(course, reported):
    summary = reported / "summary.txt"
    try:
        assert cli.main(["--course", str(course.root), "report", "self_attention"]) == 0
        text = summary.read_text(encoding="utf-8")
        assert "self_attention (8 points)" in text and "multi_head (" not in text
        assert "file-access" not in text
        assert not list(reported.glob(".*tmp"))
    finally:
        assert cli.main(["--course", str(course.root), "report"]) == 0


def test_report_with_nothing_graded(tmp_path, capsys):
    assert cli.main(["--course", str(tmp_path), "report"]) == 1
    assert "nothing is graded yet" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()
