"""The submission of a student who only copies from the book.

Every function the chapters print, pasted into the answer cells: the functions
defined at top level in a chapter's code cells, and the attnlib functions a
chapter shows with `show_source(...)`. Each keeps its exact source, preceded by
the imports it needs (the chapter's own import lines for chapter functions; for
attnlib functions the imports of their module, made absolute, and
`from attnlib.<module> import <name>` for the module's other names they use), so
that the pasted code runs as it did in the book.

A function goes into the answer cell that defines a function of the same name;
the others all go into the first answer cell, so that a pasted helper exists
when a pasted answer calls it. Answer cells that match nothing stay as released.

Two things are left out, because pasting them would not be copying an answer:
- functions named like a name the notebook's provided cells already bind (the
  `check` context manager, given helpers): pasting would only shadow them;
- imports that bind a name the assignment asks the student to write: the book
  did not print that function, the student must write it.
"""
import ast
import importlib.util
import inspect
import json
import textwrap
from dataclasses import dataclass, field

import nbformat

from autograder import course
from submission_factory import make_submission, reference_answers


@dataclass
class BookFunction:
    name: str
    source: str
    imports: dict = field(default_factory=dict)  # bound name -> import line
    where: str = ""  # chapter file name


def top_level_names(code):
    """Names a piece of code binds at top level (functions, classes, assignments, imports)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def defined_functions(code):
    """Names of the functions defined at top level in code."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def used_names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def import_lines(node, package=None):
    """bound name -> a one-name import line, for an Import/ImportFrom node (relative made absolute)."""
    lines = {}
    for alias in node.names:
        if alias.name == "*":
            continue
        bound = alias.asname or alias.name.split(".")[0]
        if isinstance(node, ast.Import):
            lines[bound] = ast.unparse(ast.Import(names=[alias]))
        else:
            module = node.module or ""
            if node.level:
                module = importlib.util.resolve_name("." * node.level + module, package)
            lines[bound] = ast.unparse(ast.ImportFrom(module=module, names=[alias], level=0))
    return lines


def function_source(code, node):
    """The exact lines of a top-level function, decorators included."""
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return "\n".join(code.splitlines()[first - 1:node.end_lineno])


def code_cells(notebook_path):
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            code = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            try:
                yield code, ast.parse(code)
            except SyntaxError:  # IPython magics: not Python a student could paste
                continue


def shown_function(expression, chapter_imports):
    """The attnlib function a `show_source(expression)` displays, as a BookFunction."""
    namespace = {}
    for line in chapter_imports.values():
        if "attnlib" in line:
            exec(line, namespace)  # noqa: S102 - the book's own import lines
    obj = inspect.unwrap(eval(expression, namespace))  # noqa: S307 - the book's own expression
    source = textwrap.dedent(inspect.getsource(obj)).rstrip("\n")
    module = inspect.getmodule(obj)
    module_tree = ast.parse(inspect.getsource(module))
    bindings = {}
    for node in module_tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bindings.update(import_lines(node, module.__package__))
        else:
            for name in top_level_names(ast.unparse(node)):
                bindings.setdefault(name, f"from {module.__name__} import {name}")
    needed = used_names(ast.parse(source)) - {obj.__name__}
    imports = {name: line for name, line in bindings.items() if name in needed}
    return BookFunction(obj.__name__, source, imports)


def book_functions(book_dir=None):
    """Every function the chapters print, in reading order (a later one of the same name wins)."""
    book_dir = book_dir or course.COURSE_ROOT / "book"
    found = {}
    for chapter in sorted(book_dir.glob("[0-9]*.ipynb")):
        cells = list(code_cells(chapter))
        chapter_imports = {}
        for _, tree in cells:
            for node in tree.body:
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    chapter_imports.update(import_lines(node))
        for code, tree in cells:
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    needed = used_names(node) - {node.name}
                    imports = {n: line for n, line in chapter_imports.items() if n in needed}
                    found.pop(node.name, None)
                    found[node.name] = BookFunction(node.name, function_source(code, node), imports, chapter.name)
            for call in ast.walk(tree):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                        and call.func.id == "show_source" and call.args):
                    function = shown_function(ast.unparse(call.args[0]), chapter_imports)
                    function.where = chapter.name
                    found.pop(function.name, None)
                    found[function.name] = function
    return list(found.values())


def pasted_code(functions, excluded_imports):
    """One answer cell's code: the imports the functions need, then the functions."""
    imports = {}
    for function in functions:
        for name, line in function.imports.items():
            if name not in excluded_imports:
                imports.setdefault(line, None)
    parts = ["\n".join(imports)] if imports else []
    parts += [function.source for function in functions]
    return "\n\n\n".join(parts) + "\n"


def pasted_book_answers(assignment, notebook=None):
    """{answer grade_id: code} of the pasted-book submission (answer cells with nothing pasted are absent)."""
    notebook = notebook or course.source_notebooks(assignment)[0]
    answers = reference_answers(assignment, notebook)  # grade_id -> code, in notebook order
    asked = {grade_id: defined_functions(code) for grade_id, code in answers.items()}
    asked_names = {name for names in asked.values() for name in names}
    released = nbformat.read(course.EXERCISES_DIR / assignment / f"{notebook}.ipynb", as_version=4)
    provided = set()
    for cell in released.cells:
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("solution"):
            provided |= top_level_names(cell.source)
    pasted = {grade_id: [] for grade_id in answers}
    first = next(iter(answers))
    for function in book_functions():
        if function.name in provided:
            continue
        target = next((g for g, names in asked.items() if function.name in names), first)
        pasted[target].append(function)
    return {grade_id: pasted_code(functions, asked_names)
            for grade_id, functions in pasted.items() if functions}


def pasted_book_submission(assignment, notebook=None):
    """The released notebook with the pasted-book answers; other answer cells as released."""
    notebook = notebook or course.source_notebooks(assignment)[0]
    answers = pasted_book_answers(assignment, notebook)
    blank = [grade_id for grade_id in reference_answers(assignment, notebook) if grade_id not in answers]
    return make_submission(assignment, answers=answers, blank=blank, notebook=notebook)
