"""The grader's layout: operations in autograder/api.py, the command line in autograder/cli.py,
and modules of the operations that do not import one another (read with ast, nothing run)."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "autograder"

# The modules that were once one command each; cli.py and api.py now hold the commands.
OPERATION_MODULES = ["release", "roster", "collect", "grading", "feedback", "export", "report", "demo"]

# Imports between them that are part of the design, with the reason.
ALLOWED = {
    ("grading", "feedback"): "recording a result writes its feedback page (grading.record), "
                             "before results.json marks the submission done",
}


def tree(module, package=PACKAGE):
    return ast.parse((package / f"{module}.py").read_text(encoding="utf-8"))


def imported_modules(module, package=PACKAGE):
    """Every autograder module `module` imports, at the top or inside a function:
    `import autograder.x`, `from autograder.x import y` and `from autograder import x`."""
    found = set()
    for node in ast.walk(tree(module, package)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name.split(".")[1] for name in names if name.startswith("autograder.")}
    return found


def test_imported_modules_reads_every_form_of_import(tmp_path):
    source = ("import autograder.a\nfrom autograder.b import thing\nfrom autograder import c\n"
              "def f():\n    from autograder.d import other\nimport json\nfrom . import e\n")
    (tmp_path / "sample.py").write_text(source, encoding="utf-8")
    assert imported_modules("sample", tmp_path) == {"a", "b", "c", "d"}


@pytest.mark.parametrize("module", OPERATION_MODULES)
def test_no_operation_module_imports_another(module):
    others = set(OPERATION_MODULES) - {module}
    found = {other for other in imported_modules(module) & others if (module, other) not in ALLOWED}
    assert not found, f"autograder/{module}.py imports {sorted(found)}: call them through autograder/api.py"


@pytest.mark.parametrize("module", OPERATION_MODULES)
def test_the_command_line_is_not_in_the_operation_modules(module):
    functions = {node.name for node in tree(module).body if isinstance(node, ast.FunctionDef)}
    assert not functions & {"add_arguments", "run"}, f"autograder/{module}.py: the command line lives in cli.py"
    assert "argparse" not in {alias.name for node in ast.walk(tree(module)) if isinstance(node, ast.Import)
                              for alias in node.names}


def test_the_command_line_calls_only_the_api():
    assert imported_modules("cli") == {"api", "config"}  # config: load_config for --course


def public_functions(module):
    """(qualified name, node) of every public function of a module and of its public classes."""
    for node in tree(module).body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("_"):
                    yield f"{node.name}.{item.name}", item


def missing_hints(function):
    arguments = function.args
    every = arguments.posonlyargs + arguments.args + arguments.kwonlyargs
    every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    missing = [a.arg for a in every if a.annotation is None and a.arg not in ("self", "cls")]
    return missing + (["return"] if function.returns is None else [])


def test_every_public_function_of_the_api_has_type_hints():
    functions = dict(public_functions("api"))
    assert {"release", "import_roster", "collect", "grade", "write_feedback", "export", "report",
            "demo"} <= set(functions)
    unhinted = {name: missing for name, function in functions.items() if (missing := missing_hints(function))}
    assert not unhinted, f"autograder/api.py: hints missing on {unhinted}"


def test_missing_hints_names_what_is_missing():
    function = ast.parse("def f(a: int, b, *rest, c: str = '', **more) -> None: pass").body[0]
    assert missing_hints(function) == ["b", "rest", "more"]
    assert missing_hints(ast.parse("def g(self, a: int): pass").body[0]) == ["return"]
