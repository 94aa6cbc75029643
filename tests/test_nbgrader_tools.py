"""nbgrader's own tools on our course folder (issue 14): what `grade`, `feedback`, `export` and
`report` write is readable by the course team's group (the umask decides, as for any file)."""
import os
import stat
import subprocess
import sys

import pytest

from autograder.course import source_notebooks
from autograder.results import current_umask, write_atomic
from submission_factory import make_submission, reference_answers, write_submission

ASSIGNMENT = "self_attention"


def with_umask(mask):
    """A preexec_fn for subprocess: the child runs under this umask."""
    return lambda: os.umask(mask)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_write_atomic_gives_the_mode_open_would(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        assert current_umask() == mask
        write_atomic(tmp_path / "text", "hello")
        write_atomic(tmp_path / "bytes", b"hello")
        (tmp_path / "by-open").write_text("hello")
    finally:
        os.umask(old)
    for name in ("text", "bytes", "by-open"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_write_atomic_replacing_a_private_file_gives_the_umask_mode(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("old")
    path.chmod(0o600)
    old = os.umask(0o022)
    try:
        write_atomic(path, "new")
    finally:
        os.umask(old)
    assert (path.read_text(), stat.S_IMODE(path.stat().st_mode)) == ("new", 0o644)


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory, tool_env):
    """A small class of self_attention graded, with feedback, export and report written, all by
    the CLI under umask 022. Two students: the reference solution and a blank release."""
    course = tmp_path_factory.mktemp("nbgrader-tools") / "course"
    notebook = source_notebooks(ASSIGNMENT)[0]
    write_submission(course / "submitted", "ada", notebook, make_submission(ASSIGNMENT), ASSIGNMENT)
    write_submission(course / "submitted", "bob", notebook,
                     make_submission(ASSIGNMENT, blank=list(reference_answers(ASSIGNMENT))), ASSIGNMENT)
    for command in (["grade", ASSIGNMENT, "--jobs", "2"], ["feedback", ASSIGNMENT],
                    ["export", ASSIGNMENT], ["report", ASSIGNMENT]):
        process = subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), *command],
                                 env=tool_env, capture_output=True, text=True, timeout=900,
                                 preexec_fn=with_umask(0o022))
        assert process.returncode == 0, (command, process.stdout[-2000:], process.stderr[-3000:])
    return course


def test_what_the_commands_write_is_group_and_world_readable(graded_course):
    expected = {
        "autograded": {f"ada/{ASSIGNMENT}/results.json", f"ada/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                       f"bob/{ASSIGNMENT}/results.json", f"bob/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"},
        "feedback": {f"ada/{ASSIGNMENT}/{ASSIGNMENT}.html", f"bob/{ASSIGNMENT}/{ASSIGNMENT}.html"},
    }
    modes = {}
    for folder in ("autograded", "feedback", "exports", "reports"):
        files = [p for p in (graded_course / folder).rglob("*") if p.is_file()]
        assert files, folder
        names = {str(p.relative_to(graded_course / folder)) for p in files}
        assert expected.get(folder, names) <= names, folder
        modes.update({str(p.relative_to(graded_course)): stat.S_IMODE(p.stat().st_mode) for p in files})
    assert any(name.endswith(".csv") for name in modes) and any(name.endswith(".png") for name in modes)
    assert {name: mode for name, mode in modes.items() if mode != 0o644} == {}
