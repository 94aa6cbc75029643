"""The submission of a student who only copies from the book.

Every function the chapters print, pasted into the answer cells: the functions
defined at top level in a chapter's code cells, and the attnlib functions a
chapter shows with `show_source(...)`, each with its exact source. A function
goes into the answer cell that defines a function of the same name; all the
others go into the first answer cell, so that a pasted helper exists when a
pasted answer calls it. Answer cells that match nothing stay as released.

The pasted code is made to run as it did in the book. attnlib is not there when a
notebook is graded, so what a pasted function takes from attnlib (a helper the
chapter imports, a constant of the module it comes from) is pasted too, from
attnlib's source, into the first answer cell; other imports (numpy, ...) are
kept as import lines in front of the code that needs them.

Left out, because pasting them would not be copying an answer from the book:
- functions named like a name the notebook's provided cells already bind (the
  `check` context manager, given helpers): pasting would only shadow them;
- attnlib helpers named like a function the assignment asks for: the book does
  not print them, so the student has to write them.
"""
import ast
import functools
import importlib
import importlib.util
import json
from dataclasses import dataclass, field

import nbformat

from autograder import course
from submission_factory import make_submission, reference_answers


@dataclass
class Pasted:
    """One top-level definition to paste: its exact source and what it needs to run."""
    name: str
    source: str
    imports: dict = field(default_factory=dict)  # bound name -> an import line (not attnlib)
    needs: list = field(default_factory=list)  # (attnlib module, name) it uses


def is_attnlib(module):
    return module == "attnlib" or module.startswith("attnlib.")


def bound_names(node):
    """Names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)}
    return set()


def top_level_names(code):
    """Names a piece of code binds at top level."""
    try:
        return set().union(*(bound_names(node) for node in ast.parse(code).body))
    except SyntaxError:
        return set()


def defined_functions(code):
    """Names of the functions defined at top level in code."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def used_names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def statement_source(code, node):
    """The exact lines of a top-level statement, decorators included."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(code.splitlines()[first - 1:node.end_lineno])


def is_submodule(package, name):
    try:
        return importlib.util.find_spec(f"{package}.{name}") is not None
    except ModuleNotFoundError:  # package is a module, not a package
        return False


def import_bindings(node, package=None):
    """bound name -> ("line", import line) for other packages, ("attnlib", module, name) for
    an attnlib object, ("module", module) for an attnlib module (nothing to paste)."""
    bindings = {}
    for alias in node.names:
        if alias.name == "*":
            continue
        bound = alias.asname or alias.name.split(".")[0]
        if isinstance(node, ast.Import):
            bindings[bound] = (("module", alias.name if alias.asname else bound) if is_attnlib(alias.name)
                               else ("line", ast.unparse(ast.Import([alias]))))
            continue
        module = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
            if node.level else node.module
        if not is_attnlib(module):
            bindings[bound] = ("line", ast.unparse(ast.ImportFrom(module=module, names=[alias], level=0)))
        elif is_submodule(module, alias.name):
            bindings[bound] = ("module", f"{module}.{alias.name}")
        else:
            bindings[bound] = ("attnlib", module, alias.name)
    return bindings


def pasted_with(name, source, node, bindings):
    """A Pasted for one definition, with what it uses of the given bindings."""
    item = Pasted(name, source)
    for used in sorted(used_names(node) - {name}):
        binding = bindings.get(used)
        if binding is None or binding[0] == "module":
            continue
        if binding[0] == "line":
            item.imports[used] = binding[1]
        else:
            item.needs.append(binding[1:])
    return item


@functools.lru_cache(maxsize=None)
def module_definitions(module_name):
    """name -> Pasted for every top-level definition of an attnlib module, or
    ("follow", module, name) for a name it imports from another attnlib module."""
    module = importlib.import_module(module_name)
    code = importlib.util.find_spec(module_name).loader.get_source(module_name)
    tree = ast.parse(code)
    package = module.__package__
    bindings = {}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bindings.update(import_bindings(node, package))
        else:
            for name in bound_names(node):
                bindings[name] = ("attnlib", module_name, name)
    definitions = {}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name, binding in import_bindings(node, package).items():
                if binding[0] == "attnlib":
                    definitions[name] = ("follow", binding[1], binding[2])
            continue
        for name in bound_names(node):
            definitions[name] = pasted_with(name, statement_source(code, node), node, bindings)
    return definitions


def attnlib_definition(module_name, name):
    """The Pasted that defines attnlib's module_name.name, or None (a module, or not found)."""
    for _ in range(10):  # follow re-exports (`from .softmax import softmax` in a package)
        found = module_definitions(module_name).get(name)
        if not isinstance(found, tuple):
            return found
        module_name, name = found[1], found[2]
    return None


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
    """The attnlib definition a `show_source(expression)` cell displays."""
    found = None
    if isinstance(expression, ast.Name):
        binding = chapter_imports.get(expression.id, ("?",))
        if binding[0] == "attnlib":
            found = attnlib_definition(binding[1], binding[2])
    elif isinstance(expression, ast.Attribute) and isinstance(expression.value, ast.Name):
        binding = chapter_imports.get(expression.value.id, ("?",))
        if binding[0] == "module":
            found = attnlib_definition(binding[1], expression.attr)
    if found is not None:
        return found
    raise ValueError(f"show_source({ast.unparse(expression)}): not an attnlib function this builder can find")


def chapter_imports_of(cells):
    """bound name -> binding, for every import of a chapter's code cells."""
    imports = {}
    for _, tree in cells:
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.update(import_bindings(node))
    return imports


def book_functions(book_dir=None):
    """Every function the chapters print, in reading order (a later one of the same name wins)."""
    book_dir = book_dir or course.COURSE_ROOT / "book"
    found = {}
    for chapter in sorted(book_dir.glob("[0-9]*.ipynb")):
        cells = list(code_cells(chapter))
        chapter_imports = chapter_imports_of(cells)
        for code, tree in cells:
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found.pop(node.name, None)
                    found[node.name] = pasted_with(node.name, statement_source(code, node), node, chapter_imports)
            for call in ast.walk(tree):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                        and call.func.id == "show_source" and call.args):
                    function = shown_function(call.args[0], chapter_imports)
                    found.pop(function.name, None)
                    found[function.name] = function
    return list(found.values())


def dependencies(functions, skip):
    """The attnlib definitions the functions need, transitively, except names in skip."""
    pasted, seen = [], set(skip)
    pending = [need for function in functions for need in function.needs]
    while pending:
        module, name = pending.pop(0)
        if name in seen:
            continue
        seen.add(name)
        definition = attnlib_definition(module, name)
        if definition is not None:
            pasted.append(definition)
            pending += definition.needs
    return pasted


def pasted_code(items):
    """One answer cell's code: the import lines the items need, then the items' sources."""
    imports = dict.fromkeys(line for item in items for line in item.imports.values())
    parts = ["\n".join(imports)] if imports else []
    return "\n\n\n".join(parts + [item.source for item in items]) + "\n"


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
    functions = [f for f in book_functions() if f.name not in provided]
    pasted = {grade_id: [] for grade_id in answers}
    first = next(iter(answers))
    for function in functions:
        target = next((g for g, names in asked.items() if function.name in names), first)
        pasted[target].append(function)
    skip = provided | asked_names | {f.name for f in functions}
    pasted[first] = dependencies(functions, skip) + pasted[first]
    return {grade_id: pasted_code(items) for grade_id, items in pasted.items() if items}


def pasted_book_submission(assignment, notebook=None):
    """The released notebook with the pasted-book answers; other answer cells as released."""
    notebook = notebook or course.source_notebooks(assignment)[0]
    answers = pasted_book_answers(assignment, notebook)
    blank = [grade_id for grade_id in reference_answers(assignment, notebook) if grade_id not in answers]
    return make_submission(assignment, answers=answers, blank=blank, notebook=notebook)
