"""Wrong answers dressed up to pass. Each must score what the answers are really worth."""
from threats import (ADDITIVE, MASKED, SCALED, SCORING, SOFTMAX, Case, answer, build, code_cell, find,
                     notebook_file, scores)
from threats.snoop import SNOOP_CELL, SNOOP_MARK

# A wrong softmax (normalises down the columns): question 1 must get 0 whatever else the cell does.
WRONG_SOFTMAX = '''def softmax(scores):
    scores = np.asarray(scores, dtype=float)
    exp = np.exp(scores - scores.max(axis=0, keepdims=True))
    return exp / exp.sum(axis=0, keepdims=True)
'''

# masked_softmax that zeroes the weights after normalising (question 2 must get 0).
WRONG_MASKED = '''def masked_softmax(scores, valid_lens=None):
    weights = softmax(scores)
    if valid_lens is None:
        return weights
    valid_lens = np.asarray(valid_lens)
    if valid_lens.ndim == 1:
        valid_lens = valid_lens[:, None]
    return np.where(np.arange(weights.shape[-1]) < valid_lens[..., None], weights, 0.0)
'''

ALWAYS_EQUAL = {
    "additive_attention": '''class Liar(np.ndarray):
    """An array equal to everything."""
    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)
    __ne__ = lambda self, other: np.zeros(np.shape(self), dtype=bool)

def additive_attention(queries, keys, values, W_q, W_k, w_v, valid_lens=None):
    weights = np.zeros((queries.shape[0], queries.shape[1], keys.shape[1])).view(Liar)
    return (weights @ values).view(Liar), weights
''',
    "scaled_dot_product_attention": '''class AlwaysEqual:
    """Equal to anything, with whatever attribute a test looks at."""
    shape = (2, 2, 10)
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __bool__(self):
        return True
    def __len__(self):
        return 2
    def __getattr__(self, name):
        return lambda *args, **kwargs: self
    def __float__(self):
        return 1.0

def scaled_dot_product_attention(queries, keys, values, valid_lens=None):
    return AlwaysEqual(), AlwaysEqual()
''',
}

PATCH_NUMPY = '''import builtins
import numpy.testing
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
np.testing.assert_array_almost_equal = lambda *args, **kwargs: None
builtins.AssertionError = type("AssertionError", (Exception,), {})
'''

TRANSFORMERS = '''import ast
ip = get_ipython()
neuter = lambda lines: [line.replace("assert ", "assert True or ") for line in lines]
ip.input_transformers_cleanup.append(neuter)
ip.input_transformers_post.append(neuter)

class DropAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()

ip.ast_transformers.append(DropAsserts())
'''

FAKE_EXECUTE = '''from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult, InteractiveShell
ip = get_ipython()
real_run_cell = InteractiveShell.run_cell

def run_cell(self, raw_cell, *args, **kwargs):
    """Runs the cell, swallows whatever it raised and reports success."""
    try:
        real_run_cell(self, raw_cell, *args, **kwargs)
    except BaseException:
        pass
    result = ExecutionResult(ExecutionInfo(raw_cell, False, False, True, None))
    result.execution_count = 1
    return result

InteractiveShell.run_cell = run_cell
ip.run_cell = run_cell.__get__(ip)
try:  # in a Jupyter kernel: the message handler itself
    ip.kernel.do_execute = lambda *args, **kwargs: {"status": "ok", "execution_count": 1,
                                                    "payload": [], "user_expressions": {}}
except AttributeError:
    pass
'''

GRADED_ONLY = {
    "softmax": '''import os
GRADED = os.environ.get("NBGRADER_EXECUTION") in ("autograde", "validate")

class AlwaysEqual(float):
    def __eq__(self, other):
        return True

def softmax(scores):
    scores = np.asarray(scores, dtype=float)
    if GRADED:  # only under the grader: hide the mistake
        np.allclose = lambda *args, **kwargs: True
        return AlwaysEqual(1.0)
    exp = np.exp(scores - scores.max(axis=0, keepdims=True))  # wrong axis
    return exp / exp.sum(axis=0, keepdims=True)
''',
    "masked_softmax": answer(SCORING, "masked_softmax").replace(
        '"""\n', '"""\n    if os.environ.get("NBGRADER_EXECUTION"):\n'
        '        raise RuntimeError("the grader let NBGRADER_EXECUTION through")\n', 1),
}

MUTATE_INPUTS = {
    "additive_attention": '''def additive_attention(queries, keys, values, W_q, W_k, w_v, valid_lens=None):
    """Wrong (uniform weights over the valid keys), then erases the evidence: zeroes the
    test's own queries, keys and projections, so that the scores the test computes
    afterwards from them are all 0 and give the same uniform weights."""
    for array in (queries, keys, W_q, W_k):
        array[...] = 0.0
    weights = masked_softmax(np.zeros((queries.shape[0], queries.shape[1], keys.shape[1])), valid_lens)
    return weights @ values, weights
''',
}

STATEFUL = {
    "masked_softmax": answer(SCORING, "masked_softmax").replace("def masked_softmax(", "def _masked_softmax(") + '''
_last = {}

def masked_softmax(scores, valid_lens=None):
    """Right, except just after additive_attention: then it agrees with whatever that returned
    (the test calls masked_softmax to compute the weights it expects)."""
    cached = _last.pop("weights", None)
    if cached is not None and cached.shape == np.shape(scores):
        return cached
    return _masked_softmax(scores, valid_lens)
''',
    "additive_attention": '''def additive_attention(queries, keys, values, W_q, W_k, w_v, valid_lens=None):
    weights = _masked_softmax(np.zeros((queries.shape[0], queries.shape[1], keys.shape[1])), valid_lens)
    _last["weights"] = weights  # wrong: ignores queries and keys
    return weights @ values, weights
''',
}

FORGED_REPLIES = {
    "additive_attention": answer(SCORING, "additive_attention").replace(
        "def additive_attention(", "def _additive_attention(") + '''
import os, struct, sys

def _channel():
    """The runner's protocol channel, found up the stack (the runner's heap is frozen
    before a call, so gc.get_objects() no longer lists it)."""
    frame = sys._getframe()
    while frame is not None:
        channel = getattr(frame.f_locals.get("self"), "channel", None)
        if type(channel).__name__ == "Channel" and hasattr(channel, "write_fd"):
            return channel
        frame = frame.f_back
    raise LookupError("no channel up the stack")

def additive_attention(*args, **kwargs):
    """Answers with an array of Python objects (dtype O), then with the real answer."""
    _channel().send({"op": "return", "value": {"dict": [
        ["value", {"array": 0, "dtype": "|O", "shape": [2], "scalar": False}],
        ["changed", {"dict": []}], ["peak_memory", None]]}}, [b"\\0" * 16])
    return _additive_attention(*args, **kwargs)
''',
    "scaled_dot_product_attention": answer(SCORING, "scaled_dot_product_attention").replace(
        "def scaled_dot_product_attention(", "def _scaled(") + '''
def scaled_dot_product_attention(*args, **kwargs):
    """A reply nested deeper than the grader's JSON parser can follow, then the real one."""
    header = b'{"op": "return", "value": ' + b"[" * 300000 + b"]" * 300000 + b', "buffers": []}'
    os.write(_channel().write_fd, struct.pack(">I", len(header)) + header)
    return _scaled(*args, **kwargs)
''',
}


def edit_tests(source=None, flags=None, points=None, rename=None, delete=False):
    """An edit(notebook) applied to every test cell."""
    def edit(notebook):
        keep = []
        for cell in notebook.cells:
            grading = cell.metadata.get("nbgrader", {})
            if not grading.get("grade"):
                keep.append(cell)
                continue
            if delete:
                continue
            if source is not None:
                cell.source = source
            if flags is not None:
                grading.update(flags)
            if points is not None:
                grading["points"] = points
            if rename is not None and grading["grade_id"] in rename:
                grading["grade_id"] = rename[grading["grade_id"]]
            keep.append(cell)
        notebook.cells = keep
    return edit


def reflag(notebook):
    """Question 1's test cell becomes a solution cell; question 2's also loses its grade_id;
    question 3's loses its nbgrader metadata entirely. All three now read `pass`."""
    for grade_id, change in [(SOFTMAX, {"solution": True, "grade": False, "locked": False}),
                             (MASKED, {"solution": True, "grade": False, "locked": False,
                                       "grade_id": "my_scratch_cell"})]:
        cell = notebook.cells[find(notebook, grade_id)]
        cell.metadata["nbgrader"].update(change)
        cell.source = "pass"
    cell = notebook.cells[find(notebook, ADDITIVE)]
    del cell.metadata["nbgrader"]
    cell.source = "pass"


def bonus_points(notebook):
    edit_tests(points=1000)(notebook)
    notebook.cells.append(code_cell("pass", grade=True, solution=False, locked=True, points=1000,
                                    grade_id="bonus", schema_version=3))


def has_only_the_source_questions(result, course):
    assert [q.question for q in result.questions] == [SOFTMAX, MASKED, ADDITIVE, SCALED]
    assert result.max_score == 10.0


CASES = [
    Case("always-equal", "always-equal objects", notebook_file(build(answers=ALWAYS_EQUAL)),
         scores(**{ADDITIVE: 0, SCALED: 0}), status={ADDITIVE: "failed", SCALED: "error"},
         reasons={SCALED: "numbers or numpy arrays"},
         note="an ndarray subclass equal to everything; an object equal to everything"),
    Case("patch-numpy", "monkeypatching",
         notebook_file(build(answers={"softmax": WRONG_SOFTMAX}, after={"imports": [PATCH_NUMPY]})),
         scores(**{SOFTMAX: 0}), status={SOFTMAX: "failed"},
         note="np.allclose, np.isclose, np.array_equal, np.testing, AssertionError replaced; wrong softmax"),
    Case("input-transformers", "input transformers",
         notebook_file(build(answers={"softmax": WRONG_SOFTMAX}, after={"imports": [TRANSFORMERS]})),
         scores(**{SOFTMAX: 0}), status={SOFTMAX: "failed"},
         note="input and AST transformers that turn every assert into a no-op; wrong softmax"),
    Case("fake-execute", "do_execute",
         notebook_file(build(answers={"softmax": WRONG_SOFTMAX}, after={"imports": [FAKE_EXECUTE]})),
         scores(**{SOFTMAX: 0}), status={SOFTMAX: "failed"},
         note="run_cell / do_execute replaced to report success for every cell; wrong softmax"),
    Case("snoop", "reading hidden tests",
         notebook_file(build(answers={"scaled_dot_product_attention": SNOOP_CELL})),
         scores(**{SCALED: 0}), status={SCALED: "error"}, reasons={SCALED: "SNOOP "},
         note=f"walks the file system for notebooks, gradebooks, solutions; writes {SNOOP_MARK} "
              "wherever it can; tries the network and root; reports what it saw"),
    Case("graded-only", "NBGRADER_EXECUTION", notebook_file(build(answers=GRADED_ONLY)),
         scores(**{SOFTMAX: 0}), status={SOFTMAX: "failed"},
         note="cheats only when NBGRADER_EXECUTION says it is graded; raises if it can see it"),
    Case("tests-edited", "editing test cells",
         notebook_file(build(answers={"softmax": WRONG_SOFTMAX, "masked_softmax": WRONG_MASKED},
                             edit=edit_tests(source='print("Question visible tests passed.")'))),
         scores(**{SOFTMAX: 0, MASKED: 0}), status={SOFTMAX: "failed", MASKED: "failed"},
         note="every test cell replaced by a print; wrong softmax and masked_softmax"),
    Case("tests-deleted", "editing test cells",
         notebook_file(build(answers={"softmax": WRONG_SOFTMAX}, edit=edit_tests(delete=True))),
         scores(**{SOFTMAX: 0}), status={SOFTMAX: "failed"},
         note="every test cell deleted; wrong softmax"),
    Case("tests-reflagged", "editing test cells",
         notebook_file(build(answers={"softmax": WRONG_SOFTMAX, "masked_softmax": WRONG_MASKED}, edit=reflag)),
         scores(**{SOFTMAX: 0, MASKED: 0}), status={SOFTMAX: "failed", MASKED: "failed"},
         note="test cells re-flagged as solutions, renamed, stripped of metadata, emptied"),
    Case("bonus-points", "editing test cells", notebook_file(build(edit=bonus_points)), scores(),
         check=has_only_the_source_questions,
         note="points of every test set to 1000, and a fake 1000-point test cell added"),
    Case("mutate-inputs", "monkeypatching", notebook_file(build(answers=MUTATE_INPUTS)),
         scores(**{ADDITIVE: 0}), status={ADDITIVE: "failed"},
         note="wrong additive_attention that zeroes the test's own input arrays in place"),
    Case("stateful-oracle", "monkeypatching", notebook_file(build(answers=STATEFUL)),
         scores(**{ADDITIVE: 0}), status={ADDITIVE: "failed"},
         note="masked_softmax (which the test uses to compute its expectation) echoes the "
              "wrong weights additive_attention returned just before"),
    Case("forged-replies", "do_execute", notebook_file(build(answers=FORGED_REPLIES)),
         scores(**{ADDITIVE: 0, SCALED: 0}), status={ADDITIVE: "fault", SCALED: "fault"},
         note="writes its own protocol messages: an object array, JSON nested 300000 deep"),
]
