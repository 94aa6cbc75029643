"""autograder.flags: the static scan that lists student code for an instructor to look at.

Each rule is shown one realistic cheat it must flag (rule, cell, line and the
line's code); every reference solution, known honest mistake and ordinary
course idiom must come out clean; IPython syntax keeps its line numbers; a
cell that cannot be read is one "unparseable" flag, never an exception.
"""
import ast
import json
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from autograder.course import EXERCISES_DIR, SOLUTIONS_DIR
from autograder.flags import Flag, review_flags
from mutants import MUTANTS

CELL = 7  # any index: flags must carry the caller's cell index


def hit(flags, rule, line):
    """The one flag of the rule on the line, or a failure that lists all flags."""
    found = [flag for flag in flags if (flag.rule, flag.line) == (rule, line)]
    assert len(found) == 1, f"no single {rule} flag on line {line}: {flags}"
    return found[0]


# (source, rule, line, code): the line the flag must point at, and its code.
CHEATS = {
    # Monkeypatching what the tests call.
    "np.allclose": ("import numpy as np\nnp.allclose = lambda *a, **k: True",
                    "monkeypatch", 2, "np.allclose = lambda *a, **k: True"),
    "np.allclose, numpy imported in a locked cell": ("np.allclose = lambda *a, **k: True",
                                                     "monkeypatch", 1, "np.allclose = lambda *a, **k: True"),
    "numpy.testing": ("import numpy\nnumpy.testing.assert_allclose = lambda *a, **k: None",
                      "monkeypatch", 2, "numpy.testing.assert_allclose = lambda *a, **k: None"),
    "setattr": ("setattr(np.testing, 'assert_allclose', f)",
                "monkeypatch", 1, "setattr(np.testing, 'assert_allclose', f)"),
    "builtins": ("import builtins; builtins.abs = f", "monkeypatch", 1, "import builtins; builtins.abs = f"),
    "ndarray.__eq__": ("np.ndarray.__eq__ = lambda self, other: True",
                       "monkeypatch", 1, "np.ndarray.__eq__ = lambda self, other: True"),
    "del": ("def answer():\n    del np.array_equal", "monkeypatch", 2, "del np.array_equal"),
    "alias": ("import numpy as np\ntesting = np.testing\ntesting.assert_allclose = print",
              "monkeypatch", 3, "testing.assert_allclose = print"),
    "rebind np": ("class Fake:\n    allclose = staticmethod(lambda *a, **k: True)\nnp = Fake()",
                  "monkeypatch", 3, "np = Fake()"),
    "import as np": ("import math as np", "monkeypatch", 1, "import math as np"),
    "sys.modules": ("import sys\nsys.modules['numpy'].allclose = f",
                    "monkeypatch", 2, "sys.modules['numpy'].allclose = f"),
    "__import__": ("__import__('numpy').array_equal = f", "monkeypatch", 1, "__import__('numpy').array_equal = f"),
    "__class__": ("result.__class__ = Always", "monkeypatch", 1, "result.__class__ = Always"),
    "unittest.mock": ("from unittest import mock\nmock.patch('numpy.allclose', return_value=True).start()",
                      "monkeypatch", 2, "mock.patch('numpy.allclose', return_value=True).start()"),
    # Objects that decide their own comparisons.
    "always equal": ("class Always:\n    def __eq__(self, other): return True",
                     "comparison-override", 2, "def __eq__(self, other): return True"),
    "always true": ("class Yes(float):\n    __bool__ = lambda self: True",
                    "comparison-override", 2, "__bool__ = lambda self: True"),
    "array ufunc": ("class Sly(np.ndarray):\n    def __array_ufunc__(self, *args, **kwargs):\n        return True",
                    "comparison-override", 2, "def __array_ufunc__(self, *args, **kwargs):"),
    "type()": ("Always = type('Always', (), {'__eq__': lambda s, o: True})",
               "comparison-override", 1, "Always = type('Always', (), {'__eq__': lambda s, o: True})"),
    # IPython and kernel internals.
    "input transformer": ("get_ipython().input_transformers_post.append(f)",
                          "ipython-internals", 1, "get_ipython().input_transformers_post.append(f)"),
    "do_execute": ("from ipykernel.ipkernel import IPythonKernel; IPythonKernel.do_execute = fake",
                   "ipython-internals", 1,
                   "from ipykernel.ipkernel import IPythonKernel; IPythonKernel.do_execute = fake"),
    "events.register": ("ip = shell\nip.events.register('post_run_cell', hide)",
                        "ipython-internals", 2, "ip.events.register('post_run_cell', hide)"),
    "In": ("tests = In[-1]", "ipython-internals", 1, "tests = In[-1]"),
    "settrace": ("import sys\nsys.settrace(tracer)", "ipython-internals", 2, "sys.settrace(tracer)"),
    "excepthook": ("import sys\nsys.excepthook = lambda *args: None",
                   "ipython-internals", 2, "sys.excepthook = lambda *args: None"),
    "atexit": ("import atexit\natexit.register(rewrite)", "ipython-internals", 2, "atexit.register(rewrite)"),
    "signal": ("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)",
               "ipython-internals", 1, "import signal"),
    "__builtins__": ("__builtins__.len = lambda x: 2", "ipython-internals", 1, "__builtins__.len = lambda x: 2"),
    # Process control.
    "os._exit": ("import os; os._exit(0)", "process-exit", 1, "import os; os._exit(0)"),
    "from os import _exit": ("from os import _exit\n_exit(0)", "process-exit", 2, "_exit(0)"),
    "sys.exit": ("import sys\nif not ready:\n    sys.exit()", "process-exit", 3, "sys.exit()"),
    "exit()": ("exit()", "process-exit", 1, "exit()"),
    "raise SystemExit": ("raise SystemExit(0)", "process-exit", 1, "raise SystemExit(0)"),
    "os.kill": ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
                "process-exit", 2, "os.kill(os.getpid(), signal.SIGKILL)"),
    "ctypes": ("import ctypes\nctypes.string_at(0)", "process-exit", 1, "import ctypes"),
    "fork bomb": ("import os\nwhile True:\n    os.fork()", "subprocess", 3, "os.fork()"),
    "os.system": ("import os\nos.system('cat ../../gradebook.db')",
                  "subprocess", 2, "os.system('cat ../../gradebook.db')"),
    "subprocess": ("import subprocess\nout = subprocess.run(['ls', '..'], capture_output=True)",
                   "subprocess", 2, "out = subprocess.run(['ls', '..'], capture_output=True)"),
    "os.execv": ("import os\nos.execv('/bin/sh', ['sh'])", "subprocess", 2, "os.execv('/bin/sh', ['sh'])"),
    "multiprocessing": ("from multiprocessing import Process", "subprocess", 1, "from multiprocessing import Process"),
    "shell escape": ("!cat ../../source/ps1/ps1.ipynb", "subprocess", 1, "!cat ../../source/ps1/ps1.ipynb"),
    "shell assignment": ("files = !ls ..\nprint(files)", "subprocess", 1, "files = !ls .."),
    "%%bash": ("%%bash\ncat ../../gradebook.db", "subprocess", 1, "%%bash"),
    # Files outside the submission.
    "open": ("hidden = open('../../source/x/x.ipynb').read()",
             "file-access", 1, "hidden = open('../../source/x/x.ipynb').read()"),
    "pathlib": ("from pathlib import Path\ntext = Path('~/gradebook.db').read_bytes()",
                "file-access", 2, "text = Path('~/gradebook.db').read_bytes()"),
    "os.listdir": ("import os\nprint(os.listdir('..'))", "file-access", 2, "print(os.listdir('..'))"),
    "glob": ("import glob\nglob.glob('/**/*.ipynb', recursive=True)",
             "file-access", 2, "glob.glob('/**/*.ipynb', recursive=True)"),
    "shutil": ("import shutil\nshutil.copy('../../release/x.ipynb', 'x.ipynb')",
               "file-access", 2, "shutil.copy('../../release/x.ipynb', 'x.ipynb')"),
    "np.load": ("expected = np.load('solutions.npy')", "file-access", 1, "expected = np.load('solutions.npy')"),
    "sqlite3": ("import sqlite3\ndb = sqlite3.connect('../../gradebook.db')",
                "file-access", 2, "db = sqlite3.connect('../../gradebook.db')"),
    "%%writefile": ("%%writefile ../../source/x/x.ipynb\n{}", "file-access", 1,
                    "%%writefile ../../source/x/x.ipynb"),
    # The grading environment.
    "NBGRADER_EXECUTION": ("os.environ.get('NBGRADER_EXECUTION')",
                           "grader-env", 1, "os.environ.get('NBGRADER_EXECUTION')"),
    "os.environ": ("import os\ngraded = 'NBGRADER' in str(os.environ)",
                   "grader-env", 2, "graded = 'NBGRADER' in str(os.environ)"),
    "os.getenv": ("from os import getenv\nif getenv('NBGRADER_' + 'EXECUTION'):\n    pass",
                  "grader-env", 2, "if getenv('NBGRADER_' + 'EXECUTION'):"),
    "__file__": ("where = __file__", "grader-env", 1, "where = __file__"),
    "sys.argv": ("import sys\ngraded = 'autograde' in ' '.join(sys.argv)",
                 "grader-env", 2, "graded = 'autograde' in ' '.join(sys.argv)"),
    "%env": ("%env", "grader-env", 1, "%env"),
    # Memory measurement.
    "tracemalloc patched": ("tracemalloc.get_traced_memory = lambda: (0, 0)",
                            "tracemalloc", 1, "tracemalloc.get_traced_memory = lambda: (0, 0)"),
    "tracemalloc stopped": ("def linear_attention(q, k, v):\n    tracemalloc.stop()",
                            "tracemalloc", 2, "tracemalloc.stop()"),
    "_tracemalloc": ("import _tracemalloc", "tracemalloc", 1, "import _tracemalloc"),
    # Looking at the caller.
    "_getframe": ("import sys\nexpected = sys._getframe(1).f_locals['expected']",
                  "introspection", 2, "expected = sys._getframe(1).f_locals['expected']"),
    "inspect.stack": ("import inspect\ncaller = inspect.stack()[1].frame",
                      "introspection", 2, "caller = inspect.stack()[1].frame"),
    "gc.get_objects": ("import gc\narrays = [o for o in gc.get_objects() if isinstance(o, np.ndarray)]",
                       "introspection", 2, "arrays = [o for o in gc.get_objects() if isinstance(o, np.ndarray)]"),
    "globals()": ("globals()['np'] = fake", "introspection", 1, "globals()['np'] = fake"),
    # The network.
    "urllib": ("import urllib.request\nurllib.request.urlopen('http://example.com/answers')",
               "network", 1, "import urllib.request"),
    "socket": ("from socket import create_connection\ncreate_connection(('10.0.0.1', 80))",
               "network", 2, "create_connection(('10.0.0.1', 80))"),
    "requests": ("import requests as r\nr.get('http://example.com')", "network", 2, "r.get('http://example.com')"),
    # Code the scanner cannot read.
    "exec": ("exec('np.allclose = lambda *a, **k: True')",
             "dynamic-code", 1, "exec('np.allclose = lambda *a, **k: True')"),
    "eval alias": ("run = eval\nrun(code)", "dynamic-code", 1, "run = eval"),
    "importlib": ("import importlib\nmodule = importlib.import_module('o' + 's')",
                  "dynamic-code", 2, "module = importlib.import_module('o' + 's')"),
    "getattr computed": ("getattr(np, 'all' + 'close')", "dynamic-code", 1, "getattr(np, 'all' + 'close')"),
    # What the scanner cannot parse.
    "syntax error": ("def answer(:\n    return 1", "unparseable", 1, "def answer(:"),
}


@pytest.mark.parametrize("source, rule, line, code", CHEATS.values(), ids=CHEATS.keys())
def test_each_cheat_is_flagged_with_its_cell_line_and_code(source, rule, line, code):
    flag = hit(review_flags([(CELL, source)]), rule, line)
    assert flag.cell == CELL
    assert flag.code == code
    assert flag.reason and "\n" not in flag.reason


def test_every_rule_is_covered_by_a_cheat():
    rules = {rule for _, rule, _, _ in CHEATS.values()}
    assert rules == {"ipython-internals", "process-exit", "subprocess", "monkeypatch", "comparison-override",
                     "file-access", "grader-env", "tracemalloc", "introspection", "network", "dynamic-code",
                     "unparseable"}


def test_a_cheat_can_raise_several_rules_on_one_line():
    flags = review_flags([(0, "from ipykernel.ipkernel import IPythonKernel; IPythonKernel.do_execute = fake")])
    assert {flag.rule for flag in flags} == {"ipython-internals", "monkeypatch"}
    flags = review_flags([(0, "tracemalloc.get_traced_memory = lambda: (0, 0)")])
    assert {flag.rule for flag in flags} == {"tracemalloc", "monkeypatch"}


def test_the_reason_names_what_is_replaced_and_the_suspicious_path():
    [flag] = review_flags([(0, "import numpy as np\nnp.allclose = lambda *a, **k: True")])
    assert "numpy.allclose" in flag.reason
    [flag] = review_flags([(0, "hidden = open('../../source/x/x.ipynb').read()")])
    assert "'../../source/x/x.ipynb'" in flag.reason


# --- what must come out clean --------------------------------------------------

def solution_cells(notebook):
    """(index, source) of the solution cells, markers included, as a student would hand them in."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [(index, "".join(cell["source"])) for index, cell in enumerate(cells)
            if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("solution")]


REFERENCE_NOTEBOOKS = sorted(SOLUTIONS_DIR.glob("*/*.ipynb"))


def test_there_are_reference_solutions_to_check():
    assert len(REFERENCE_NOTEBOOKS) >= 8
    assert all(solution_cells(notebook) for notebook in REFERENCE_NOTEBOOKS)


@pytest.mark.parametrize("notebook", REFERENCE_NOTEBOOKS, ids=lambda path: path.stem)
def test_reference_solutions_are_not_flagged(notebook):
    cells = solution_cells(notebook)
    assert any("### BEGIN SOLUTION" in source for _, source in cells)
    assert review_flags(cells) == []


@pytest.mark.parametrize("notebook", sorted(EXERCISES_DIR.glob("*/*.ipynb")), ids=lambda path: path.stem)
def test_blank_released_answers_are_not_flagged(notebook):
    assert review_flags(solution_cells(notebook)) == []


@pytest.mark.parametrize("assignment", sorted(MUTANTS))
def test_honest_mistakes_are_not_flagged(assignment):
    # The known-mistake mutants are wrong answers, not cheats.
    assert review_flags(list(enumerate(mutant.code for mutant in MUTANTS[assignment]))) == []


ORDINARY = [
    "%matplotlib inline\nimport numpy as np\nimport matplotlib.pyplot as plt",
    "%config InlineBackend.figure_format = 'retina'",
    "from attnlib.softmax import masked_softmax, softmax\nfrom attnlib.plotting import show_heatmaps",
    "rng = np.random.default_rng(0)\nX = rng.normal(size=(4, 3))  # (n, d)\nprint(X.shape)",
    "assert np.allclose(softmax(X).sum(axis=-1), 1.0)\nnp.testing.assert_allclose(X, X)",
    "fig, ax = plt.subplots(figsize=(4, 3))\nax.imshow(X)\nax.set_title('weights')\nplt.show()",
    "plt.rcParams['figure.figsize'] = (6, 4)",
    "with np.errstate(all='ignore'):\n    Y = np.exp(X)\nY[0, 0] = 1.0",
    "np.allclose?",
    # Local variables and parameters named like modules are not modules.
    "def mix(signal, time, inspect):\n    socket = {}\n    socket.update(a=1)\n    return signal.mean() + time.sum()",
    "path = 'x'\nsource = X.copy()\nsource[0] = 1.0\nos = 3\nos.real",
    # Classes without comparison dunders, and attributes of ordinary objects.
    "class Cache:\n    def __init__(self):\n        self.table = {}\n    def __repr__(self):\n        return 'Cache()'",
    "import time\nstart = time.perf_counter()\nelapsed = time.perf_counter() - start",
    "import math\nfrom functools import lru_cache\nscale = 1 / math.sqrt(64)",
    "def attention(q, k, v):\n    np = q  # a local name is not the module\n    return np",
]


@pytest.mark.parametrize("source", ORDINARY)
def test_ordinary_course_code_is_not_flagged(source):
    assert review_flags([(0, source)]) == []


# --- IPython syntax, unreadable cells ----------------------------------------

def test_magics_keep_the_line_numbers_of_the_rest_of_the_cell():
    source = ("%matplotlib inline\n"
              "import numpy as np\n"
              "files = !ls ../..\n"
              "for name in files:\n"
              "    !echo $name\n"
              "np.allclose = lambda *a, **k: True\n")
    flags = review_flags([(3, source)])
    assert [(flag.line, flag.rule) for flag in flags] == [(3, "subprocess"), (5, "subprocess"), (6, "monkeypatch")]
    assert flags[-1].code == "np.allclose = lambda *a, **k: True"


def test_the_code_a_timing_magic_runs_is_scanned():
    flags = review_flags([(0, "%%timeit -n 3 import os\nos._exit(0)"), (1, "%time import subprocess")])
    assert [(flag.cell, flag.line, flag.rule) for flag in flags] == [(0, 2, "process-exit"), (1, 1, "subprocess")]


def test_a_cell_magic_with_a_foreign_body_is_flagged_once():
    flags = review_flags([(0, "%%bash\nrm -rf ../../source\ncat ../../gradebook.db")])
    assert [(flag.line, flag.rule) for flag in flags] == [(1, "subprocess")]
    assert review_flags([(0, "%%html\n<b>attention</b>")]) == []


def test_unknown_magics_are_flagged_as_ipython_internals():
    flags = review_flags([(0, "%load_ext my_transformer\n%run ../../source/x/x.ipynb")])
    assert [(flag.line, flag.rule) for flag in flags] == [(1, "ipython-internals"), (2, "file-access")]


def test_unreadable_code_after_a_magic_leaves_the_rest_of_the_cell_scanned():
    flags = review_flags([(0, "%prun -s cumulative answer()\nimport socket")])
    assert [(flag.line, flag.rule) for flag in flags] == [(1, "unparseable"), (2, "network")]


@pytest.mark.parametrize("source, line", [
    ("x = (1,\n", 1),
    ("def f():\nreturn 1", 2),
    ("x = 1\0", 1),
    ("x = " + "-" * 5000 + "1", 1),  # nested deeper than the parser goes
    ("x = np" + ".a" * 900, 1),  # deeper than the scan goes
    ("%matplotlib inline\nclass :", 2),
])
def test_an_unreadable_cell_is_one_flag_and_never_an_exception(source, line):
    flags = review_flags([(2, source)])
    assert [(flag.cell, flag.line, flag.rule) for flag in flags] == [(2, line, "unparseable")]


def test_an_unreadable_cell_does_not_stop_the_others():
    flags = review_flags([(0, "def f(:"), (1, "import os; os._exit(1)")])
    assert [(flag.cell, flag.rule) for flag in flags] == [(0, "unparseable"), (1, "process-exit")]


# --- shape of the answer -----------------------------------------------------

def test_flags_are_sorted_by_cell_and_line_without_duplicates():
    cells = [
        (5, "x = 1\nimport os\nos._exit(0); os._exit(1)\nos.system('ls'); os.popen('ls')"),
        (1, "np.allclose = f\nnp.array_equal = g; np.isclose = h"),
        (3, "exec('1')"),
    ]
    flags = review_flags(cells)
    assert [(flag.cell, flag.line, flag.rule) for flag in flags] == [
        (1, 1, "monkeypatch"), (1, 2, "monkeypatch"), (3, 1, "dynamic-code"),
        (5, 3, "process-exit"), (5, 4, "subprocess")]
    assert len(set(flags)) == len(flags)
    assert review_flags(list(reversed(cells))) == flags


def test_imports_count_across_cells_in_any_order():
    # Students run cells out of order: an import in a later cell still counts.
    flags = review_flags([(0, "hooks.excepthook = None"), (4, "import sys as hooks")])
    assert [(flag.cell, flag.line, flag.rule) for flag in flags] == [
        (0, 1, "ipython-internals"), (0, 1, "monkeypatch")]


def test_code_is_the_stripped_line_cut_to_160_characters():
    source = "x = 1\nif True:\n    np.allclose = lambda *a, **k: True  # " + "x" * 300
    [flag] = review_flags([(0, source)])
    assert flag.line == 3 and len(flag.code) == 160
    assert flag.code.startswith("np.allclose = lambda") and flag.code.endswith("…")


def test_windows_line_endings_keep_line_numbers():
    [flag] = review_flags([(0, "x = 1\r\ny = 2\r\nimport socket\r\n")])
    assert (flag.line, flag.code) == (3, "import socket")


def test_no_cells_no_flags():
    assert review_flags([]) == []
    assert review_flags([(0, ""), (1, "\n\n")]) == []


def test_flags_are_frozen():
    flag = Flag(cell=0, line=1, rule="network", reason="r", code="c")
    with pytest.raises(FrozenInstanceError):
        flag.rule = "other"


def test_the_scanner_needs_only_the_standard_library():
    source = (Path(__file__).resolve().parent.parent / "autograder" / "flags.py").read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no imports from the package: the scanner stands alone"
            imported.add(node.module.split(".")[0])
    assert imported <= sys.stdlib_module_names
