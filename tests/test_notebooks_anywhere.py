"""Every chapter and every exercise runs where the book sends students.

A student who downloads a chapter, or opens it on Colab or a fresh JupyterHub,
has NumPy and Matplotlib but not attnlib. Each chapter's first code cell
(written by `python3 tasks.py install-cells` from _config.yml) installs it.
Here every chapter notebook, every released exercise notebook and every
reference solution is copied alone into an empty folder and executed in one
fresh virtual environment that has only NumPy, Matplotlib and a kernel
(ipykernel, nbclient). attnlib is uninstalled before each notebook, so every
chapter's own install cell installs it again; ATTNLIB_SOURCE points the cell at
a git copy of this checkout's attnlib/ instead of the published repository
(the same `pip install git+URL#subdirectory=attnlib` path).
"""
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import nbformat
import pytest
import yaml

from autograder.course import COURSE_ROOT as ROOT

spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
tasks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tasks)

CHAPTERS = [ROOT / f"{entry['file']}.ipynb"
            for part in yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["parts"]
            for entry in part["chapters"] if re.match(r"book/\d\d_", entry["file"])]
EXERCISES = sorted(ROOT.glob("exercises/*/*.ipynb"))
SOLUTIONS = sorted(ROOT.glob("solutions/*/*.ipynb"))

# What a student's environment has: NumPy, Matplotlib and a kernel, at the
# versions the course pins.
STUDENT_PACKAGES = ("numpy", "matplotlib", "ipykernel", "nbclient")

# Runs inside the fresh environment: execute one notebook in its folder and
# print a JSON line saying how far it got.
RUNNER = r'''
import json, sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

path, folder = sys.argv[1], sys.argv[2]
notebook = nbformat.read(path, as_version=4)
client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                        resources={"metadata": {"path": folder}})
result = {"error": None}
try:
    client.execute()
except CellExecutionError as error:
    result = {"error": error.ename, "message": str(error)[-2000:]}
ran = [i for i, cell in enumerate(notebook.cells)
       if cell.cell_type == "code" and cell.get("execution_count") is not None]
result["last_cell"] = ran[-1] if ran else None
print(json.dumps(result))
'''


def pinned(name):
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if re.match(rf"{re.escape(name)}==", line.strip()):
            return line.strip()
    return name


@pytest.fixture(scope="module")
def student_env(tmp_path_factory):
    """A fresh venv with only the student's packages, and an ATTNLIB_SOURCE to install from."""
    base = tmp_path_factory.mktemp("student")
    start = time.perf_counter()
    venv.create(base / "venv", with_pip=True)
    python = base / "venv" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", *map(pinned, STUDENT_PACKAGES)],
                   check=True, capture_output=True, text=True)
    # The build backend attnlib/pyproject.toml asks for, fetched once: every
    # notebook's install then runs offline (pip still builds in isolation).
    subprocess.run([python, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                    "--dest", base / "wheels", "setuptools>=77"], check=True, capture_output=True)
    # A git repository holding this checkout's attnlib/ (work in progress included).
    repository = base / "repository"
    shutil.copytree(ROOT / "attnlib", repository / "attnlib",
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    git = ["git", "-C", repository, "-c", "user.name=test", "-c", "user.email=test@localhost"]
    for step in (["init", "-q"], ["add", "attnlib"], ["commit", "-q", "-m", "attnlib"]):
        subprocess.run([*git, *step], check=True, capture_output=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()
    # A fixed commit: pip keeps the wheel it builds, so installing again is quick.
    source = f"git+file://{repository}@{commit}#subdirectory=attnlib"
    (base / "runner.py").write_text(RUNNER)
    return {"python": python, "source": source, "runner": base / "runner.py", "base": base,
            "created": time.perf_counter() - start, "started": time.perf_counter()}


def installed(env, name):
    found = subprocess.run([env["python"], "-c", f"import {name}"], capture_output=True,
                           cwd=env["base"])  # not this checkout, whose attnlib/ would be found
    return found.returncode == 0


def run_alone(env, notebook, tmp_path):
    """Copy the notebook alone into an empty folder and execute it in the student venv,
    attnlib not installed (a chapter's first cell installs it)."""
    folder = tmp_path / "alone"
    folder.mkdir()
    copy = folder / notebook.name
    shutil.copy(notebook, copy)
    if installed(env, "attnlib"):
        subprocess.run([env["python"], "-m", "pip", "uninstall", "--quiet", "--yes", "attnlib"],
                       capture_output=True)
    assert not installed(env, "attnlib")
    process = subprocess.run(
        [env["python"], env["runner"], copy, folder], capture_output=True, text=True,
        timeout=900, cwd=folder,
        env={"PATH": f"{env['python'].parent}:/usr/bin:/bin", "HOME": str(env["base"]),
             "ATTNLIB_SOURCE": env["source"], "MPLBACKEND": "Agg",
             "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(env["base"] / "wheels")})
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


def test_student_environment_has_no_grader(student_env):
    for package in ("attnlib", "autograder", "nbgrader", "jupyter_book", "yaml"):
        assert not installed(student_env, package), f"{package} is not a student's package"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_alone_in_a_fresh_environment(student_env, chapter, tmp_path):
    result = run_alone(student_env, chapter, tmp_path)
    assert result["error"] is None, result.get("message")
    assert installed(student_env, "attnlib"), "the install cell installed attnlib"
    assert not installed(student_env, "autograder"), "and nothing of the grader"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_reference_solution_runs_alone(student_env, solution, tmp_path):
    result = run_alone(student_env, solution, tmp_path)
    assert result["error"] is None, result.get("message")


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda p: p.stem)
def test_exercise_runs_alone_up_to_the_first_question(student_env, exercise, tmp_path):
    """A released notebook stops only where the student has to write code."""
    result = run_alone(student_env, exercise, tmp_path)
    # The stub's NotImplementedError, or a visible test's message about it.
    assert result["error"] in ("NotImplementedError", "AssertionError"), result
    cells = json.loads(exercise.read_text(encoding="utf-8"))["cells"]
    ran = [cell for cell in cells[:result["last_cell"] + 1] if cell["cell_type"] == "code"]
    grader = [cell["metadata"].get("nbgrader", {}) for cell in ran]
    # It stopped in the first test cell, which called the first unanswered function.
    assert grader[-1].get("grade") and not any(g.get("grade") for g in grader[:-1])
    answers = ["".join(cell["source"]) for cell, g in zip(ran, grader) if g.get("solution")]
    assert answers and all("raise NotImplementedError" in answer for answer in answers)


def test_fresh_environment_time(student_env, record_property):
    seconds = time.perf_counter() - student_env["started"]
    record_property("summary", f"notebooks run alone in a fresh environment: "
                    f"{len(CHAPTERS)} chapters, {len(SOLUTIONS)} solutions, {len(EXERCISES)} "
                    f"exercises in {seconds:.0f} s (the venv: {student_env['created']:.0f} s more)")


def test_every_chapter_starts_with_the_install_cell_for_the_configured_repository():
    """One address: _config.yml's repository.url, written by `python3 tasks.py install-cells`."""
    expected = tasks.install_cell_source(tasks.repository_url())
    assert tasks.repository_url() in expected
    for chapter in CHAPTERS:
        cells = json.loads(chapter.read_text(encoding="utf-8"))["cells"]
        code = [cell for cell in cells if cell["cell_type"] == "code"]
        assert "".join(code[0]["source"]) == expected, \
            f"{chapter.name}: run `python3 tasks.py install-cells` (the address is _config.yml's)"
        assert tasks.INSTALL_CELL_TAG in code[0]["metadata"].get("tags", []), "folded on the page"
        assert not any("ATTNLIB_SOURCE" in "".join(cell["source"]) for cell in code[1:])


def test_install_cells_follow_a_changed_repository_address(tmp_path):
    """The check above can fail: a fork's address changes the cell, and the cell is replaced."""
    chapter = tmp_path / CHAPTERS[0].name
    shutil.copy(CHAPTERS[0], chapter)
    assert not tasks.write_install_cell(chapter, tasks.repository_url()), "already up to date"
    assert tasks.write_install_cell(chapter, "https://github.com/someone/fork")
    cells = json.loads(chapter.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    assert 'COURSE_REPOSITORY = "https://github.com/someone/fork"' in sources[0]
    assert sum("ATTNLIB_SOURCE" in source for source in sources) == 1


def test_exercises_need_no_install_cell():
    """The exercises' code uses NumPy only (the test above runs them without attnlib); a
    prompt may still name the book's library, whose code the student is not to paste."""
    for notebook in EXERCISES + SOLUTIONS:
        code = "\n".join(cell.source for cell in nbformat.read(notebook, as_version=4).cells
                         if cell.cell_type == "code")
        assert "attnlib" not in code and "matplotlib" not in code, notebook.name


def test_attnlib_installs_alone_without_the_grader():
    project = ROOT / "attnlib" / "pyproject.toml"
    import tomllib
    config = tomllib.loads(project.read_text(encoding="utf-8"))
    assert config["project"]["name"] == "attnlib"
    assert sorted(config["project"]["dependencies"]) == ["matplotlib", "numpy"]
    assert config["tool"]["setuptools"]["packages"] == ["attnlib"]
