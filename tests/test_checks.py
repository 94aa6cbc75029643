"""Named checks, concept answers and feedback that points at the student's line (issue 13).

Unit tests of autograder.checks.CheckRecorder and autograder.diagnose.explain, then a
small source notebook judged end to end (without the sandbox, which tests/test_grading.py
and the threat corpus cover): one slip loses only its check, a concept answer is read
from the student's process, and an error names the student's function, cell and line.
"""
import nbformat
import pytest

from autograder.checks import NOTEBOOK_CHECK_CELL, CheckRecorder, CheckSpec, CheckSpecError
from autograder.diagnose import MISTAKES, explain
from autograder.judge import NotebookJudge, read_source
from autograder.results import ERROR, FAILED, PASSED
from autograder.sandbox import Limits


# -- the recorder ----------------------------------------------------------------
def recorder(calls=1):
    def verdict(error):
        return None if isinstance(error, KeyboardInterrupt) else (FAILED, str(error))
    return CheckRecorder([CheckSpec("shape", 1.0), CheckSpec("mask", 2.0), CheckSpec("rows", 0.5)],
                         verdict, lambda: calls)


def outcome(results):
    return [(r.name, r.score, r.status, r.message) for r in results]


def test_a_failed_block_costs_only_its_check_and_the_cell_goes_on():
    check = recorder()
    with check("shape", 1):
        pass
    with check("mask", 2):
        raise AssertionError("masked keys got weight")
    with check("mask", 2):  # the same check again (its hidden part): still failed, first reason kept
        pass
    with check("rows", 0.5):
        pass
    assert outcome(check.results()) == [("shape", 1.0, PASSED, ""), ("mask", 0.0, FAILED, "masked keys got weight"),
                                        ("rows", 0.5, PASSED, "")]


def test_checks_the_cell_never_reached_fail_with_the_cells_failure():
    check = recorder()
    with check("shape", 1):
        pass
    assert outcome(check.results((FAILED, "NameError: name 'x' is not defined"))) == [
        ("shape", 1.0, PASSED, ""), ("mask", 0.0, FAILED, "NameError: name 'x' is not defined"),
        ("rows", 0.0, FAILED, "NameError: name 'x' is not defined")]


def test_no_check_passes_unless_the_students_code_answered():
    check = recorder(calls=0)
    with check("shape", 1):
        pass
    assert outcome(check.results())[0] == ("shape", 0.0, FAILED, "the tests could not call your code")


def test_an_error_the_verdict_refuses_ends_the_cell():
    check = recorder()
    with pytest.raises(KeyboardInterrupt):
        with check("shape", 1):
            raise KeyboardInterrupt
    with pytest.raises(CheckSpecError, match="not one of this test's checks"):
        check("forged", 10)


# -- naming the slip -------------------------------------------------------------
@pytest.mark.parametrize("kind,message,line,cell,mistake", [
    ("ValueError", "matmul: Input operand 1 has a mismatch in its core dimension 0", "scores = Q @ K.T", "",
     "batch_transpose"),
    ("ValueError", "operands could not be broadcast together with shapes (2,3,4) (2,3)",
     "return e / e.sum(axis=-1)", "e = np.exp(x - x.max(axis=-1))\nreturn e / e.sum(axis=-1)",
     "missing_keepdims"),
    ("AxisError", "axis 2 is out of bounds for array of dimension 2", "x.max(axis=2)", "", "hard_coded_axis"),
    ("IndexError", "too many indices for array: array is 2-dimensional, but 3 were indexed",
     "mask = np.arange(k)[None, :] < valid_lens[:, None]", "", "per_query_lengths"),
    ("TypeError", "'>' not supported between instances of 'NoneType' and 'int'", "if valid_lens > 0:", "",
     "none_default"),
])
def test_explain_names_the_usual_slip(kind, message, line, cell, mistake):
    assert explain(kind, message, line, cell) == MISTAKES[mistake]


def test_explain_says_nothing_when_it_does_not_know():
    assert explain("ZeroDivisionError", "division by zero", "return 1 / n", "") is None
    assert explain("ValueError", "math domain error", "return math.log(x)", "") is None


# -- judged end to end -------------------------------------------------------------
def code(source, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"grade_id": nbgrader.pop("grade_id"), **nbgrader}
    return cell


TEST_NORMALISE = '''\
x = np.array([[1.0, 3.0], [2.0, 2.0]])  # equal row sums: a missing keepdims goes unnoticed here
with check("sums", 1):
    assert np.allclose(normalise(x).sum(axis=-1), 1), "each row must add up to 1"
with check("batch", 2):
    assert normalise(np.ones((2, 3, 4))).shape == (2, 3, 4), "a batch keeps its shape"
'''
TEST_ANSWER = '''\
with check("answer", 1):
    assert head_size == 64, "d / h = 512 / 8 = 64"
'''


@pytest.fixture()
def source(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        code("import numpy as np", grade_id="imports", locked=True),
        code(NOTEBOOK_CHECK_CELL, grade_id="checks", locked=True),
        code("def normalise(x):\n    return x / x.sum(axis=-1, keepdims=True)", grade_id="normalise", solution=True),
        code(TEST_NORMALISE, grade_id="test_normalise", grade=True, points=3, locked=True),
        code("head_size = 512 // 8", grade_id="head_size", solution=True),
        code(TEST_ANSWER, grade_id="test_head_size", grade=True, points=1, locked=True),
    ])
    path = tmp_path / "tiny.ipynb"
    nbformat.write(notebook, path)
    return read_source(path, "tiny")


def judge(source, answers):
    cells = [(0, "import numpy as np", "imports"), (1, NOTEBOOK_CHECK_CELL, "checks"),
             (2, answers["normalise"], "normalise"), (3, TEST_NORMALISE, "test_normalise"),
             (4, answers["head_size"], "head_size"), (5, TEST_ANSWER, "test_head_size")]
    questions, _, _ = NotebookJudge(source, Limits(), isolate=False).grade(cells)
    return {q.question: q for q in questions}


def test_the_source_declares_its_checks_and_concept_answers(source):
    assert [(c.name, c.points) for c in source.tests[0].checks] == [("sums", 1.0), ("batch", 2.0)]
    assert source.value_names == {"head_size"}


def test_one_slip_loses_only_its_check_and_says_the_students_line(source):
    # Two blank lines open the cell: IPython compiles it without them, the student counts them.
    slip = "\n\ndef normalise(x):\n    total = x.sum(axis=-1)\n    return x / total\n"
    got = judge(source, {"normalise": slip, "head_size": "head_size = 64"})
    question = got["test_normalise"]
    assert [(c.name, c.status) for c in question.checks] == [("sums", PASSED), ("batch", ERROR)]
    assert question.score == 1.0 and question.status == ERROR
    message = question.messages[0]
    assert message.startswith("check 'batch' (2 of 3 points): ValueError")
    assert "raised in your function normalise (cell 3 of your notebook, line 5): return x / total" in message
    assert f"likely cause: {MISTAKES['missing_keepdims']}" in message
    assert got["test_head_size"].score == 1.0


def test_a_concept_answer_is_read_from_the_students_process(source):
    reference = "def normalise(x):\n    return x / x.sum(axis=-1, keepdims=True)"
    wrong = judge(source, {"normalise": reference, "head_size": "head_size = 512 / 8 / 2"})
    assert wrong["test_normalise"].score == 3.0
    assert wrong["test_head_size"].score == 0.0 and "d / h = 512 / 8 = 64" in wrong["test_head_size"].messages[0]
    unanswered = judge(source, {"normalise": reference, "head_size": "# YOUR CODE HERE"})
    assert unanswered["test_head_size"].score == 0.0
    assert "head_size" in unanswered["test_head_size"].messages[0]
