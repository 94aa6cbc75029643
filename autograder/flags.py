"""Flags for review: student code an instructor should look at.

A static scan (``ast``, standard library only) of a submission's code cells
for code that touches what the grader relies on: IPython and kernel
internals, process control, monkeypatching, files outside the submission,
the grading environment, tracemalloc, the caller's frames, the network and
code the scanner cannot read (``exec``, ``__import__``). A flag decides
nothing: grading is judged outside student code; the flags only tell an
instructor where to look. A determined student can hide code from any static
scan, so the list errs towards showing more, never towards judging.

Rule ids are stable: ipython-internals, process-exit, subprocess, monkeypatch,
comparison-override, file-access, grader-env, tracemalloc, introspection,
network, dynamic-code, unparseable.
"""
import ast
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Flag:
    cell: int  # index of the code cell, as given by the caller
    line: int  # 1-based line within the cell
    rule: str  # one of the rule ids above
    reason: str  # one sentence for the instructor
    code: str  # the offending source line, stripped, at most 160 characters


MAX_CODE = 160

# Names the released notebooks import in locked cells, which the caller does
# not pass: a student cell that patches `np.allclose` must still resolve `np`.
DEFAULT_MODULES = {"np": "numpy", "plt": "matplotlib.pyplot", "tracemalloc": "tracemalloc"}


def _rules(rule, reason, *names):
    return {name: (rule, reason) for name in names}


# Qualified names (after resolving imports and aliases). A key matches itself
# and everything under it ("subprocess" matches "subprocess.run"); a key ending
# in "*" matches any name it starts ("os.exec*" matches "os.execvp").
QUALNAMES = {
    **_rules("ipython-internals", "{name} reaches into IPython, the kernel or nbgrader, which run and judge the notebook",
             "IPython", "ipykernel", "jupyter_client", "jupyter_core", "nbclient", "nbconvert", "nbformat",
             "nbgrader", "traitlets", "zmq", "comm", "tornado"),
    **_rules("ipython-internals", "{name} swaps or inspects loaded modules (a way to replace a library the tests use)",
             "sys.modules", "sys.meta_path", "sys.path_hooks"),
    **_rules("ipython-internals", "{name} installs an interpreter hook that runs during the tests or hides their failures",
             "sys.settrace", "sys.setprofile", "sys.excepthook", "sys.displayhook", "sys.unraisablehook",
             "sys.breakpointhook", "sys.addaudithook"),
    **_rules("ipython-internals", "{name} acts outside the cell's normal flow (at exit, on signals, in threads or "
             "on the kernel's event loop), where the grader's limits may not see it",
             "atexit", "signal", "threading", "_thread", "faulthandler", "asyncio"),
    **_rules("process-exit", "{name} ends, kills or crashes the kernel, which can lose the whole submission",
             "os._exit", "os.abort", "os.kill", "os.killpg", "sys.exit", "posix"),
    **_rules("process-exit", "{name} calls C directly, which can crash the kernel or rewrite its memory", "ctypes"),
    **_rules("process-exit", "{name} changes the kernel's resource limits, which the grader sets", "resource"),
    **_rules("subprocess", "{name} runs another program or process outside the notebook",
             "os.system", "os.popen", "os.fork", "os.forkpty", "os.exec*", "os.spawn*", "os.posix_spawn*",
             "subprocess", "_posixsubprocess", "multiprocessing", "concurrent.futures", "pty"),
    **_rules("monkeypatch", "{name} patches objects by name", "unittest.mock"),
    **_rules("file-access", "{name} reads, writes or lists files, possibly outside the submission",
             "os.open", "os.listdir", "os.scandir", "os.walk", "os.fwalk", "os.remove", "os.unlink", "os.rename",
             "os.renames", "os.replace", "os.rmdir", "os.removedirs", "os.mkdir", "os.makedirs", "os.chdir",
             "os.chmod", "os.chown", "os.truncate", "os.link", "os.symlink", "os.utime", "os.stat",
             "os.path.exists", "os.path.isfile", "os.path.isdir", "os.path.getsize", "os.path.expanduser",
             "os.path.realpath", "io.open", "io.FileIO", "shutil", "glob", "pathlib", "sqlite3", "tempfile",
             "fileinput", "zipfile", "tarfile", "shelve", "dbm", "linecache",
             "numpy.load", "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.loadtxt",
             "numpy.savetxt", "numpy.genfromtxt", "numpy.fromfile", "numpy.memmap", "numpy.DataSource",
             "numpy.lib.npyio", "numpy.lib.format", "matplotlib.pyplot.savefig", "matplotlib.pyplot.imread",
             "matplotlib.pyplot.imsave", "matplotlib.image"),
    **_rules("grader-env", "{name} reads the environment, where nbgrader marks a graded run (NBGRADER_EXECUTION)",
             "os.environ", "os.environb", "os.getenv", "os.putenv", "os.unsetenv"),
    **_rules("grader-env", "{name} asks where, how or as whom the code runs, which differs when it is graded",
             "os.getcwd", "os.getlogin", "os.getuid", "os.getpid", "os.getppid", "sys.argv", "sys.orig_argv",
             "getpass", "pwd", "platform.node"),
    **_rules("tracemalloc", "{name} touches tracemalloc, which the grader measures memory with",
             "tracemalloc", "_tracemalloc"),
    **_rules("introspection", "{name} looks at the caller's frames or at live objects (e.g. the test's local variables)",
             "sys._getframe", "sys._current_frames", "sys.last_traceback", "gc", "inspect",
             "traceback.extract_stack", "traceback.walk_stack", "traceback.format_stack", "traceback.print_stack"),
    **_rules("network", "{name} opens network connections",
             "socket", "urllib", "http", "requests", "ssl", "ftplib", "smtplib", "telnetlib", "xmlrpc", "httpx",
             "urllib3", "aiohttp", "websocket", "websockets", "webbrowser"),
    **_rules("dynamic-code", "{name} loads or runs code the scanner cannot read",
             "importlib", "runpy", "code", "codeop", "marshal", "pickle", "types.FunctionType", "types.CodeType"),
}

# Builtins and IPython's globals, flagged wherever they are used (not only
# called: `e = eval` is as much a way in as `eval(...)`).
NAMES = {
    **_rules("dynamic-code", "{name} runs code the scanner cannot read", "exec", "eval", "compile", "__import__"),
    **_rules("introspection", "{name}() reads or writes a whole namespace by name", "globals", "locals", "vars"),
    **_rules("file-access", "{name}() reads or writes a file, possibly outside the submission", "open"),
    **_rules("process-exit", "{name} stops the notebook (the kernel, or the rest of the cell)",
             "exit", "quit", "SystemExit"),
    **_rules("ipython-internals", "{name} reaches the IPython shell that runs the notebook, or its cell history",
             "get_ipython", "__IPYTHON__", "In", "Out", "_ih", "_oh", "_dh"),
    **_rules("ipython-internals", "{name} is the builtins namespace every cell and test sees", "__builtins__"),
    **_rules("grader-env", "{name} depends on where the code runs, which differs when it is graded", "__file__"),
}
QUALNAMES.update({f"builtins.{name}": entry for name, entry in NAMES.items()})

# Attribute names worth a look whatever object they belong to (the object is
# often out of the scanner's sight: `get_ipython().events.register`).
ATTRS = {
    **_rules("ipython-internals", "{name} rewires how IPython runs cells, tests included",
             "input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
             "ast_transformers", "do_execute", "run_cell", "run_cell_async", "run_line_magic", "run_cell_magic",
             "user_ns", "user_global_ns", "register_magic_function", "set_custom_exc", "showtraceback",
             "_showtraceback", "events.register"),
    **_rules("introspection", "{name} reaches a frame, code object or namespace behind the code",
             "f_locals", "f_globals", "f_back", "f_builtins", "f_trace", "tb_frame", "gi_frame", "cr_frame",
             "ag_frame", "_getframe", "__globals__", "__code__", "__closure__", "__subclasses__", "__dict__",
             "__builtins__"),
    **_rules("monkeypatch", "{name} sets attributes behind normal assignment", "__setattr__", "__delattr__"),
}

# Special methods that let an object decide what a test's check says about it:
# an `__eq__` that returns True is the classic always-equal answer.
COMPARISON_DUNDERS = {
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__", "__array__",
    "__array_ufunc__", "__array_function__", "__array_priority__", "__getattr__", "__getattribute__",
    "__instancecheck__", "__subclasscheck__",
}

# Module state that notebooks set as a matter of course (figure sizes).
ORDINARY_STORES = ("matplotlib.rcParams", "matplotlib.pyplot.rcParams")

# `from os import *` binds names the scanner cannot follow back to os.
STAR_SENSITIVE = {"os", "sys", "io", "posix", "builtins", "IPython", "ctypes", "subprocess"}

# Words in a path that point out of the submission or at the course's files.
PATH_HINT = re.compile(r"\.\.|[/\\~]|gradebook|solution|source|nbgrader|release|autograded|submitted|feedback",
                       re.IGNORECASE)

# IPython magics. Magics whose body is Python are scanned; the others run
# something the scanner cannot read. Line magics not listed are flagged as
# IPython internals; harmless ones map to None.
PYTHON_MAGICS = {"time", "timeit", "capture", "prun"}
MAGICS = {
    **dict.fromkeys(["matplotlib", "time", "timeit", "prun", "capture", "pprint", "precision", "who", "whos",
                     "who_ls", "xmode", "lsmagic", "html", "markdown", "latex", "svg"]),
    **_rules("grader-env", "{name} reads or sets environment variables, where nbgrader marks a graded run",
             "env", "set_env"),
    **_rules("file-access", "{name} reads, writes or runs files, possibly outside the submission",
             "run", "load", "writefile", "file", "pycat", "cd", "pushd", "popd", "bookmark", "save", "notebook",
             "logstart", "edit"),
    **_rules("subprocess", "{name} runs a shell command or another program outside the notebook",
             "system", "sx", "sc", "bash", "sh", "script", "python", "python2", "python3", "pypy", "perl",
             "ruby", "pip", "conda", "mamba", "killbgscripts"),
}
MAGIC_LINE = re.compile(r"^(\s*)(!!?|%%?)\s*([\w.-]*)(.*)$")
MAGIC_ASSIGN = re.compile(r"^(\s*[\w.,\[\]() ]+?=\s*)(!!?|%)\s*([\w.-]*)(.*)$")  # x = !ls, x = %time f()
MAGIC_OPTIONS = re.compile(r"^(\s*-[A-Za-z](\s*\d+)?)*")  # %timeit -n 10 -r3 f()
HELP_LINE = re.compile(r"^(\s*)(\?\??[\w.]+|[\w.]+\?\??)\s*$")  # np.allclose? or ??np.allclose


def review_flags(cells: Iterable[tuple[int, str]]) -> list[Flag]:
    """cells: (cell index, source) of the student's code cells.
    Returns flags sorted by (cell, line), no two with the same cell, line and rule."""
    parsed, flags = [], []
    for index, source in cells:
        lines = re.split(r"\r\n|\r|\n", source)  # the line breaks Python counts
        tree, found = _parse(index, source, lines)
        flags += found
        if tree is not None:
            parsed.append((index, lines, tree))
    # Imports and aliases count across cells whatever their order: students
    # run cells out of order, and a flow-insensitive table cannot be dodged by it.
    imported, names = _bindings([tree for _, _, tree in parsed])
    for index, lines, tree in parsed:
        scanner = _Scanner(index, lines, imported, names)
        try:
            scanner.visit(tree)
        except RecursionError:
            scanner.flag(1, "unparseable", "the cell is nested too deeply to scan completely; read it by hand")
        flags += scanner.flags
    unique: dict[tuple[int, int, str], Flag] = {}
    for flag in sorted(flags, key=lambda f: (f.cell, f.line, f.rule)):
        unique.setdefault((flag.cell, flag.line, flag.rule), flag)
    return list(unique.values())


def _make(cell, lines, line, rule, reason):
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    if len(text) > MAX_CODE:
        text = text[:MAX_CODE - 1] + "…"
    return Flag(cell, line, rule, reason, text)


def _parse(index, source, lines):
    """(tree or None, flags): the cell as Python, IPython syntax turned into
    `pass`/`None` line for line so that line numbers stay those of the cell."""
    tree = _python_tree(source)
    if tree is not None:
        return tree, []
    # Maybe IPython syntax: transform and try again.
    python, magics = _ipython_to_python(lines)
    flags = [_magic_flag(index, lines, *magic) for magic in magics]
    flags = [flag for flag in flags if flag]
    unreadable = set()  # magic lines whose code (`%prun -s time f()`) does not parse
    while python is not None:  # None: a cell magic whose body is not Python (flagged)
        try:
            return ast.parse(python), flags
        except (SyntaxError, ValueError) as error:
            line = min(max(error.lineno or 1, 1), len(lines))
            if line in unreadable or line not in {number for number, *_ in magics}:
                reason = f"the cell is not valid Python ({error.msg}), so it cannot be scanned; read it by hand"
                return None, flags + [_make(index, lines, line, "unparseable", reason)]
        except (RecursionError, MemoryError):
            reason = "the cell is nested too deeply to parse; read it by hand"
            return None, flags + [_make(index, lines, 1, "unparseable", reason)]
        # Only the code after a magic is unreadable: flag that line, scan the rest.
        flags.append(_make(index, lines, line, "unparseable",
                           "the code after this magic cannot be read by the scanner; read it by hand"))
        unreadable.add(line)
        python, _ = _ipython_to_python(lines, unreadable)
    return None, flags


@functools.lru_cache(maxsize=1024)
def _python_tree(source):
    """The tree of a cell that is plain Python, or None. Cached, with what _bindings reads
    of it: most cells are the same in every submission (the provided code, the untouched
    ones), and the scan only reads the tree."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


@functools.lru_cache(maxsize=1024)
def _binding_nodes(tree):
    """(imports, assignments) of a tree, in ast.walk's order: its Import and absolute
    ImportFrom nodes, and its assignments of one expression to one name."""
    imports, assignments = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) or isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imports.append(node)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assignments.append(node)
    return imports, assignments


def _magic_flag(index, lines, line, prefix, name, rest):
    if prefix.startswith("!"):
        return _make(index, lines, line, "subprocess", "a shell escape runs a command outside Python")
    if name == "config" and rest.strip().startswith("InlineBackend"):
        return None  # figure format and the like
    entry = MAGICS.get(name, ("ipython-internals", "{name} is an IPython magic the scanner cannot read"))
    if entry:  # None: a harmless magic such as %matplotlib
        return _make(index, lines, line, entry[0], entry[1].format(name=prefix + name))
    return None


def _ipython_to_python(lines, unreadable=()):
    """(Python source or None, [(line, prefix, magic name, rest)]): magics,
    shell escapes and help lines become `pass` (or `x = None` for `x = !ls`),
    except that the statement a %time, %timeit or %prun line runs is kept
    (unless its line is in unreadable)."""
    lines = list(lines)
    magics = []

    def code_of(i, name, rest):
        return "" if i + 1 in unreadable else _magic_code(name, rest)

    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        _, prefix, name, rest = MAGIC_LINE.match(lines[first]).groups()
        magics.append((first + 1, prefix, name, rest))
        if name not in PYTHON_MAGICS:
            return None, magics
        lines[first] = code_of(first, name, rest) or "pass"  # %%timeit's first line is setup code
    continued, skip = False, first + 1 if magics else 0
    for i, line in enumerate(lines[skip:], start=skip):
        if continued:  # a magic continued with a backslash
            lines[i], continued = "", line.rstrip().endswith("\\")
            continue
        help_line = HELP_LINE.match(line)
        if help_line:  # obj? shows help: harmless
            lines[i] = f"{help_line.group(1)}pass"
            continue
        match = MAGIC_LINE.match(line)
        if match:
            indent, prefix, name, rest = match.groups()
            lines[i] = indent + (code_of(i, name, rest) or "pass")
        else:
            match = MAGIC_ASSIGN.match(line)
            if not match:
                continue
            target, prefix, name, rest = match.groups()
            code = code_of(i, name, rest)
            lines[i] = f"{target}None" + (f"; {code}" if code else "")
        magics.append((i + 1, prefix, name, rest))
        continued = line.rstrip().endswith("\\")
    return "\n".join(lines), magics


def _magic_code(name, rest):
    """The one statement after %time, %timeit or %prun and their options, if it
    is Python: scanned like any other line. Unreadable code stays in the
    cell, so that the cell is flagged as unparseable rather than skipped."""
    if name not in {"time", "timeit", "prun"}:
        return ""
    return MAGIC_OPTIONS.sub("", rest).strip()


def _resolve(node, names):
    """The qualified name an expression stands for ("numpy.testing.assert_allclose"),
    or None when it is not rooted in a module (a local variable, a call result)."""
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, names)
        return base and f"{base}.{node.attr}"
    key = _constant_str(getattr(node, "slice", None))
    if isinstance(node, ast.Subscript) and key and _resolve(node.value, names) == "sys.modules":
        return key  # sys.modules["numpy"] is numpy
    if isinstance(node, ast.Call) and node.args and _constant_str(node.args[0]):
        func = node.func
        if (isinstance(func, ast.Name) and func.id == "__import__" and func.id not in names
                or _resolve(func, names) == "importlib.import_module"):
            return node.args[0].value  # __import__("numpy") is numpy
    return None


def _constant_str(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


@functools.lru_cache(maxsize=4096)
def _lookup(qualname):
    """The (rule, reason) of the longest table key that covers qualname (cached: every
    submission names the same few functions, and the wildcard keys are tried one by one)."""
    parts = qualname.split(".")
    for end in range(len(parts), 0, -1):
        entry = QUALNAMES.get(".".join(parts[:end]))
        if entry:
            return entry
    for key, entry in QUALNAMES.items():
        if key.endswith("*") and qualname.startswith(key[:-1]):
            return entry
    return None


def _bindings(trees):
    """(imported, names): name -> qualified name bound by imports (plus the
    notebook's own locked imports), and the same with simple aliases such as
    `t = np.testing` added. First binding wins."""
    imported = dict(DEFAULT_MODULES)
    for tree in trees:
        for node in _binding_nodes(tree)[0]:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    imported.setdefault(*_import_binding(alias))
            else:
                for alias in node.names:
                    if alias.name != "*":
                        imported.setdefault(alias.asname or alias.name, f"{node.module}.{alias.name}")
    names = dict(imported)
    for tree in trees:
        try:
            for node in _binding_nodes(tree)[1]:
                qualname = _resolve(node.value, names)
                if qualname and node.targets[0].id not in imported:
                    names.setdefault(node.targets[0].id, qualname)
        except RecursionError:
            pass  # a cell nested this deeply is flagged as unparseable by the scan
    return imported, names


def _import_binding(alias):
    """`import a.b as c` binds c to a.b; `import a.b` binds a to a."""
    return (alias.asname, alias.name) if alias.asname else (alias.name.split(".")[0],) * 2


class _Scanner(ast.NodeVisitor):
    """One pass over a cell's tree, flagging as it goes."""

    def __init__(self, cell, lines, imported, names):
        self.cell, self.lines, self.imported, self.names = cell, lines, imported, names
        self.flags = []
        self.depth = 0  # > 0 inside a function or class: assignments there are local
        self.declared_global = set()

    def flag(self, line, rule, reason):
        self.flags.append(_make(self.cell, self.lines, line, rule, reason))

    def flag_entry(self, node, entry, name):
        if entry:
            self.flag(node.lineno, entry[0], entry[1].format(name=name))

    # --- imports ----------------------------------------------------------
    def visit_Import(self, node):
        for alias in node.names:  # an alias knows its own line in a multi-line import
            self.flag_entry(alias, _lookup(alias.name), alias.name)
            self.check_import_rebinding(alias, *_import_binding(alias))

    def visit_ImportFrom(self, node):
        module = node.module or ""
        for alias in node.names:
            if alias.name == "*":
                self.flag_entry(alias, _lookup(module), module)
                if module in STAR_SENSITIVE:
                    self.flag(alias.lineno, "dynamic-code",
                              f"from {module} import * brings in names the scanner cannot trace back to {module}")
                continue
            qualname = f"{module}.{alias.name}"
            self.flag_entry(alias, _lookup(qualname), qualname)
            self.check_import_rebinding(alias, alias.asname or alias.name, qualname)

    def check_import_rebinding(self, node, bound, qualname):
        # `import math as np` swaps the module the tests call through np.
        if self.imported.get(bound, qualname) != qualname:
            self.flag(node.lineno, "monkeypatch",
                      f"binds {bound} to {qualname}, a name that already stands for {self.imported[bound]}")

    # --- scopes -------------------------------------------------------------
    def visit_FunctionDef(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_Global(self, node):
        self.declared_global.update(node.names)

    def visit_ClassDef(self, node):
        for statement in node.body:
            defined = []
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defined = [statement.name]
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                defined = [t.id for t in targets if isinstance(t, ast.Name)]
            for name in set(defined) & COMPARISON_DUNDERS:
                self.flag(statement.lineno, "comparison-override",
                          f"class {node.name} defines {name}, so its objects decide for themselves what a "
                          "test's comparison or numpy check says about them")
        self.visit_FunctionDef(node)

    # --- names, attributes, subscripts ---------------------------------------
    def visit_Name(self, node):
        qualname = self.names.get(node.id)
        if qualname:
            self.flag_entry(node, _lookup(qualname), qualname)
        elif not isinstance(node.ctx, ast.Store):
            self.flag_entry(node, NAMES.get(node.id), node.id)
        if (isinstance(node.ctx, ast.Store) and node.id in self.imported
                and (self.depth == 0 or node.id in self.declared_global)):
            self.flag(node.lineno, "monkeypatch",
                      f"rebinds {node.id}, which stands for {self.imported[node.id]} in every later cell and test")

    def visit_Attribute(self, node):
        qualname = _resolve(node, self.names)
        if qualname:
            self.flag_entry(node, _lookup(qualname), qualname)
        self.check_attribute_name(node, _attribute_path(node))
        if not isinstance(node.ctx, ast.Load):
            verb = "deletes" if isinstance(node.ctx, ast.Del) else "replaces"
            if qualname:
                self.flag(node.lineno, "monkeypatch",
                          f"{verb} {qualname} (monkeypatching a library the tests may call)")
            elif node.attr.startswith("__") and node.attr.endswith("__"):
                self.flag(node.lineno, "monkeypatch",
                          f"{verb} the special attribute {node.attr}, which decides how objects compare or behave")
        self.generic_visit(node)

    def check_attribute_name(self, node, path):
        for key, entry in ATTRS.items():
            parts = key.split(".")
            if path[-len(parts):] == parts:
                self.flag_entry(node, entry, key)

    def visit_Subscript(self, node):
        if not isinstance(node.ctx, ast.Load):
            qualname = _resolve(node.value, self.names)
            if qualname and not qualname.startswith(ORDINARY_STORES):
                self.flag(node.lineno, "monkeypatch", f"changes an entry of {qualname}, which the tests may rely on")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if not isinstance(node.value, (str, bytes)):
            return
        text = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
        lowered = text.lower()
        if "nbgrader_execution" in lowered:
            self.flag(node.lineno, "grader-env", "mentions NBGRADER_EXECUTION, the variable that marks a graded run")
        if "gradebook" in lowered:
            self.flag(node.lineno, "file-access", "mentions the gradebook, where nbgrader keeps the scores")
        if text in COMPARISON_DUNDERS:
            self.flag(node.lineno, "comparison-override",
                      f"names {text} in a string, which builds or patches a class out of the scanner's sight")

    # --- calls ----------------------------------------------------------------
    def visit_Call(self, node):
        func = node.func
        qualname = _resolve(func, self.names)
        if qualname is None and isinstance(func, ast.Name):
            qualname = f"builtins.{func.id}"
        entry = _lookup(qualname) if qualname else None
        if entry and entry[0] == "file-access":
            # Flag the call first so that the dedupe keeps the reason with the path.
            paths = [s for s in map(_constant_str, ast.walk(node)) if s and PATH_HINT.search(s)]
            reason = entry[1].format(name=qualname.removeprefix("builtins."))
            if paths:
                reason += f"; its path {paths[0]!r} leaves the submission folder or names course files"
            self.flag(node.lineno, "file-access", reason)
        if isinstance(func, ast.Name) and func.id in {"setattr", "delattr", "getattr", "hasattr"} \
                and func.id not in self.names and len(node.args) >= 2:
            self.check_attribute_call(node, func.id)
        self.generic_visit(node)

    def check_attribute_call(self, node, kind):
        """setattr(np, "allclose", f) is `np.allclose = f` in disguise."""
        owner = _resolve(node.args[0], self.names)
        attribute = _constant_str(node.args[1])
        if attribute is None:
            if owner:
                rule = "dynamic-code" if kind in {"getattr", "hasattr"} else "monkeypatch"
                self.flag(node.lineno, rule, f"{kind} on {owner} with a computed name hides which attribute it uses")
            return
        if owner:
            self.flag_entry(node, _lookup(f"{owner}.{attribute}"), f"{owner}.{attribute}")
        self.check_attribute_name(node, [attribute])
        if kind in {"setattr", "delattr"}:
            if owner:
                self.flag(node.lineno, "monkeypatch",
                          f"{kind} replaces {owner}.{attribute} (monkeypatching a library the tests may call)")
            elif attribute.startswith("__") and attribute.endswith("__"):
                self.flag(node.lineno, "monkeypatch",
                          f"{kind} sets the special attribute {attribute}, which decides how objects compare")


def _attribute_path(node):
    """["events", "register"] for get_ipython().events.register."""
    path = []
    while isinstance(node, ast.Attribute):
        path.append(node.attr)
        node = node.value
    return path[::-1]
