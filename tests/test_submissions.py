"""autograder.submissions, function by function: the student id rule, which file answers which
notebook, what makes a notebook gradeable, and submission times (always UTC).

Fast unit tests (no course folder, no nbgrader command), written so that a mutation of any rule
fails at least one of them (see CONTRIBUTING.md, "Mutation check").
"""
import datetime
import json

import nbformat
import pytest

from autograder.course import SOLUTIONS_DIR
from autograder.submissions import (MAX_NESTING, TIMESTAMP_FILE, format_timestamp, is_student_id,
                                    match_notebooks, nbgrader_metadata_problem, nesting_depth,
                                    notebook_bytes_problem, notebook_problem, parse_submission_time,
                                    read_timestamp, student_id_problem)

UTC = datetime.timezone.utc


# -- student ids ---------------------------------------------------------------------------

VALID_IDS = ["carol", "carol_", "a", "A1", "7", "a@b.org", "jean-luc", "x.y", "a-", "a_", "a@",
             "a" * 64, "Z" + "9" * 63]
INVALID_IDS = ["", "..", ".", ".git", "a+b", "a*b", "a" * 65, "carol\n", "\ncarol", "carol ", " carol",
               "a b", "a/b", "a\\b", "a.", "carol.", "-a", "_a", "@a", "é", "carol\x00", "a:b"]


@pytest.mark.parametrize("student_id", VALID_IDS)
def test_valid_student_ids_pass(student_id):
    assert is_student_id(student_id)
    assert student_id_problem(student_id) == ""


@pytest.mark.parametrize("student_id", INVALID_IDS)
def test_invalid_student_ids_are_refused_with_the_rule(student_id):
    assert not is_student_id(student_id)
    problem = student_id_problem(student_id)
    assert problem == (f"invalid student id {student_id!r} (letters, digits and _ . @ - only, "
                       "starting with a letter or digit, not ending with '.', at most 64 characters)")


@pytest.mark.parametrize("value", [None, 5, b"carol", ["carol"]])
def test_a_student_id_must_be_text(value):
    assert not is_student_id(value)
    assert student_id_problem(value).startswith(f"invalid student id {value!r}")


# -- which file answers which notebook -----------------------------------------------------

def test_exact_names_are_matched():
    assert match_notebooks(["b.ipynb", "a.ipynb"], ["a", "b"]) == ({"a": "a.ipynb", "b": "b.ipynb"}, {})


def test_files_that_are_not_notebooks_are_never_matched():
    assert match_notebooks(["nb.py", "nb.txt", "nb"], ["nb"]) == ({}, {})


def test_the_extension_may_be_upper_case():
    assert match_notebooks(["NB.IPYNB"], ["nb"]) == ({"nb": "NB.IPYNB"}, {})


def test_an_exact_name_beats_its_copies_in_any_order():
    assert match_notebooks(["nb (1).ipynb", "nb.ipynb", "nb-2.ipynb"], ["nb"]) == ({"nb": "nb.ipynb"}, {})


@pytest.mark.parametrize("name", ["nb (1).ipynb", "nb (1) (2).ipynb", "nb - Copy.ipynb", "nb - Copy (2).ipynb",
                                  "nb copy.ipynb", "nb Copy 2.ipynb", "NB-copy.ipynb", "nb_copy3.ipynb",
                                  "nb-2.ipynb", "nb_3.ipynb", "nb 4.ipynb", "Nb.ipynb", " nb .ipynb"])
def test_a_copy_of_the_name_beats_a_file_that_merely_contains_it(name):
    """The copy ("nb (1)") is the same name; "draft_nb" only contains it. Were the copy only
    found by containing the name, the two would tie and neither be taken."""
    assert match_notebooks([name, "draft_nb.ipynb"], ["nb"]) == ({"nb": name}, {})


@pytest.mark.parametrize("name", ["nb (x).ipynb", "nb copyright.ipynb", "nb-a.ipynb", "nb (1) x.ipynb"])
def test_other_endings_are_not_copy_suffixes(name):
    """These only contain the name, so they tie with another file that does."""
    assert match_notebooks([name, "draft_nb.ipynb"], ["nb"]) == ({}, {"nb": sorted([name, "draft_nb.ipynb"])})


def test_two_copies_of_the_name_are_ambiguous():
    assert match_notebooks(["nb (2).ipynb", "nb (1).ipynb"], ["nb"]) == ({}, {"nb": ["nb (1).ipynb",
                                                                                     "nb (2).ipynb"]})


def test_a_file_containing_the_name_is_matched():
    name = "Alice_Smith_123_scoring_functions-2.ipynb"
    assert match_notebooks([name], ["scoring_functions", "other"]) == ({"scoring_functions": name}, {})


def test_the_name_is_contained_ignoring_case():
    assert match_notebooks(["Smith_NB_v2.ipynb", "x.ipynb"], ["nb"]) == ({"nb": "Smith_NB_v2.ipynb"}, {})


def test_two_files_containing_the_name_are_ambiguous():
    assert match_notebooks(["nb_b.ipynb", "a_nb.ipynb"], ["nb"]) == ({}, {"nb": ["a_nb.ipynb", "nb_b.ipynb"]})


def test_the_longest_expected_name_wins():
    """A file containing "self_attention" also contains "attention": it answers the longer one."""
    files = ["Alice_self_attention.ipynb", "Alice_attention.ipynb"]
    assert match_notebooks(files, ["attention", "self_attention"]) == (
        {"self_attention": "Alice_self_attention.ipynb", "attention": "Alice_attention.ipynb"}, {})
    assert match_notebooks(files, ["self_attention", "attention"])[0] == {
        "self_attention": "Alice_self_attention.ipynb", "attention": "Alice_attention.ipynb"}


def test_the_longest_expected_name_wins_not_the_last_in_order():
    files = ["Alice_additive_attention.ipynb", "Alice_attention.ipynb"]
    assert match_notebooks(files, ["attention", "additive_attention"]) == (
        {"additive_attention": "Alice_additive_attention.ipynb", "attention": "Alice_attention.ipynb"}, {})


def test_the_longest_expected_name_wins_among_copies_too():
    files = ["self_attention (1).ipynb", "attention (1).ipynb"]
    assert match_notebooks(files, ["attention", "self_attention"]) == (
        {"self_attention": "self_attention (1).ipynb", "attention": "attention (1).ipynb"}, {})


def test_an_expected_name_matched_exactly_is_not_claimed_again():
    files = ["attention.ipynb", "my_attention.ipynb"]
    assert match_notebooks(files, ["attention"]) == ({"attention": "attention.ipynb"}, {})


def test_a_single_notebook_under_another_name_answers_a_single_notebook_assignment():
    assert match_notebooks(["Untitled.ipynb", "notes.txt"], ["nb"]) == ({"nb": "Untitled.ipynb"}, {})


def test_no_guess_with_several_notebooks_expected_or_sent():
    assert match_notebooks(["Untitled.ipynb"], ["a", "b"]) == ({}, {})
    assert match_notebooks(["Untitled.ipynb", "Other.ipynb"], ["nb"]) == ({}, {})
    assert match_notebooks([], ["nb"]) == ({}, {})


def test_no_guess_when_the_notebook_was_found_by_name():
    assert match_notebooks(["nb.ipynb", "Untitled.ipynb"], ["nb"]) == ({"nb": "nb.ipynb"}, {})
    assert match_notebooks(["nb (1).ipynb", "Untitled.ipynb"], ["nb"]) == ({"nb": "nb (1).ipynb"}, {})


def test_one_notebook_matched_and_another_ambiguous():
    files = ["a.ipynb", "b (1).ipynb", "b (2).ipynb"]
    assert match_notebooks(files, ["a", "b"]) == ({"a": "a.ipynb"}, {"b": ["b (1).ipynb", "b (2).ipynb"]})


# -- gradeable notebooks -------------------------------------------------------------------

REFERENCE_SOLUTIONS = sorted(SOLUTIONS_DIR.glob("*/*.ipynb"))


def test_there_are_reference_solutions_to_check():
    assert len(REFERENCE_SOLUTIONS) >= 8


@pytest.mark.parametrize("path", REFERENCE_SOLUTIONS, ids=lambda path: path.stem)
def test_every_reference_solution_is_a_clean_notebook(path):
    assert notebook_problem(path) == ""
    assert notebook_bytes_problem(path.read_bytes()) == ""


def notebook_bytes(**changes):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# nb"),
                                               nbformat.v4.new_code_cell("x = 1")])
    notebook.update(changes)
    return json.dumps(notebook).encode()


def test_a_new_notebook_is_clean():
    assert notebook_bytes_problem(notebook_bytes()) == ""


def test_a_missing_file_cannot_be_read(tmp_path):
    assert notebook_problem(tmp_path / "nb.ipynb") == "cannot be read (No such file or directory)"


def test_a_notebook_is_utf8_text():
    assert notebook_bytes_problem(b"\xff\xfe{}") == "not a text file"


def test_invalid_json_says_where():
    assert notebook_bytes_problem(b'{"cells": [\n\n  oops') == "not valid JSON (Expecting value at line 3)"


def test_json_too_deep_for_the_parser():
    assert notebook_bytes_problem(b"[" * 200_000 + b"]" * 200_000) == "not valid JSON (nested too deeply)"


@pytest.mark.parametrize("data", [b"[]", b"3", b'{"cells": []}', b'{"nbformat": 3, "cells": []}',
                                  b'{"nbformat": "4", "nbformat_minor": 5, "cells": [], "metadata": {}}'])
def test_only_version_4_notebooks(data):
    assert notebook_bytes_problem(data) == "not a version 4 Jupyter notebook"


def nested(depth):
    """A value whose lists and mappings nest `depth` levels deep."""
    value = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def test_metadata_nested_up_to_the_limit_is_read():
    """The notebook itself is one level and its metadata another: the metadata's own nesting may be
    MAX_NESTING - 2 levels and no more."""
    assert notebook_bytes_problem(notebook_bytes(metadata={"deep": nested(MAX_NESTING - 2)})) == ""
    assert notebook_bytes_problem(notebook_bytes(metadata={"deep": nested(MAX_NESTING - 1)})) == (
        f"not a notebook the grader reads (JSON nested more than {MAX_NESTING} levels deep)")


def test_nesting_depth():
    assert nesting_depth(3) == 0
    assert nesting_depth("text") == 0
    assert nesting_depth({}) == 1
    assert nesting_depth([]) == 1
    assert nesting_depth({"a": [1, "b"]}) == 2
    assert nesting_depth([[], [[]], {"x": {"y": []}}]) == 4
    assert nesting_depth(nested(5000)) == 5000  # no recursion: deeper than Python's limit would allow


def test_an_invalid_structure_is_named():
    problem = notebook_bytes_problem(notebook_bytes(cells=[{"cell_type": "code", "id": "c1"}]))
    assert problem.startswith("invalid notebook structure (")
    assert len(problem) <= len("invalid notebook structure ()") + 200
    long = notebook_bytes_problem(notebook_bytes(cells=[{"cell_type": "x" * 500, "id": "c1", "metadata": {},
                                                         "source": ""}]))
    assert long.startswith("invalid notebook structure (") and long.endswith(")")
    assert len(long) == len("invalid notebook structure ()") + 200  # the validator's message, cut


def test_a_validator_that_recurses_too_deeply_is_a_refusal(monkeypatch):
    def validate(notebook):
        raise RecursionError
    data = notebook_bytes()
    monkeypatch.setattr(nbformat, "validate", validate)
    assert notebook_bytes_problem(data) == "not a notebook the grader reads (nested too deeply)"


def test_nbgrader_metadata_must_be_a_mapping():
    cells = [nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "a", "grade": False}}),
             nbformat.v4.new_code_cell("y = 2", metadata={"nbgrader": "broken"})]
    assert notebook_bytes_problem(notebook_bytes(cells=cells)) == (
        "cell 2: its metadata.nbgrader is a str, not a mapping "
        "(nbgrader's cell data is damaged; the notebook cannot be graded)")


def test_nbgrader_metadata_rule_on_raw_cells():
    assert nbgrader_metadata_problem({}) == ""
    assert nbgrader_metadata_problem({"cells": [{}, {"metadata": {}}, {"metadata": {"nbgrader": {}}}]}) == ""
    assert nbgrader_metadata_problem({"cells": [{"metadata": {"nbgrader": None}}]}).startswith(
        "cell 1: its metadata.nbgrader is a NoneType")
    assert nbgrader_metadata_problem({"cells": [{}, {"metadata": {"nbgrader": [1]}}]}).startswith(
        "cell 2: its metadata.nbgrader is a list")


# -- submission times ------------------------------------------------------------------------

def test_timestamps_are_written_in_utc(los_angeles):
    moment = datetime.datetime(2026, 10, 1, 14, 0, 5, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert format_timestamp(moment) == "2026-10-01 12:00:05.123456 UTC"
    assert format_timestamp(datetime.datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02 03:04:00.000000 UTC"


def test_a_time_without_a_zone_is_refused(los_angeles):
    with pytest.raises(ValueError, match="^a submission time needs a time zone$"):
        format_timestamp(datetime.datetime(2026, 10, 1, 12, 0))


@pytest.mark.parametrize("text, expected", [
    ("2026-10-01 12:00:00.000000 UTC", datetime.datetime(2026, 10, 1, 12, 0, tzinfo=UTC)),
    ("  2026-10-01 12:00:00.250000 UTC\n", datetime.datetime(2026, 10, 1, 12, 0, 0, 250000, tzinfo=UTC)),
    ("2026-10-01T14:30:00+02:00", datetime.datetime(2026, 10, 1, 12, 30, tzinfo=UTC)),
    ("2026-10-01T12:00:00", datetime.datetime(2026, 10, 1, 12, 0, tzinfo=UTC)),  # naive means UTC
])
def test_submission_times_are_read_as_utc(los_angeles, text, expected):
    moment = parse_submission_time(text)
    assert moment == expected
    assert moment.utcoffset() == datetime.timedelta(0)


@pytest.mark.parametrize("text", [None, "", "   \n", "yesterday", "2026-13-45 99:00", "9999-12-31T23:00:00-05:00"])
def test_unreadable_submission_times_are_none(text):
    assert parse_submission_time(text) is None


def test_a_written_timestamp_reads_back(tmp_path, los_angeles):
    moment = datetime.datetime(2026, 10, 1, 23, 59, 30, tzinfo=UTC)
    (tmp_path / TIMESTAMP_FILE).write_text(format_timestamp(moment), encoding="utf-8")
    assert read_timestamp(tmp_path) == moment
    assert read_timestamp(str(tmp_path)) == moment


def test_a_missing_or_unreadable_timestamp_is_none(tmp_path):
    assert read_timestamp(tmp_path) is None
    (tmp_path / TIMESTAMP_FILE).write_bytes(b"\xff\xfe2026")
    assert read_timestamp(tmp_path) is None
    (tmp_path / TIMESTAMP_FILE).unlink()
    (tmp_path / TIMESTAMP_FILE).mkdir()
    assert read_timestamp(tmp_path) is None


@pytest.fixture
def ascii_locale():
    """A process whose locale encoding is ASCII (LANG=C without Python's UTF-8 coercion, or an
    old server): timestamp.txt is UTF-8 whatever the locale."""
    import locale

    old = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    yield
    locale.setlocale(locale.LC_CTYPE, old)


def test_a_timestamp_is_read_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    """A time pasted with no-break spaces around it (U+00A0, two bytes in UTF-8) still reads."""
    (tmp_path / TIMESTAMP_FILE).write_bytes("\u00a02026-10-01 12:00:00.000000 UTC\u00a0\n".encode("utf-8"))
    assert read_timestamp(tmp_path) == datetime.datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
