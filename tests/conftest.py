"""Shared fixtures: paths, the environment for commands run from .venv, the built book."""
import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.course import COURSE_ROOT

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def root():
    return COURSE_ROOT


@pytest.fixture(scope="session")
def book_build(tmp_path_factory, tool_env):
    """The book, built once per test run with -W and shared by the xdist workers.

    Returns (the CompletedProcess of `jupyter-book build`, the folder of the HTML).
    """
    run_dir = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_dir = run_dir.parent  # this run's folder, common to all its workers
    out, record = run_dir / "book", run_dir / "book-build.json"
    with open(run_dir / "book-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second worker waits here, then reuses the build
        if not record.exists():
            start = time.perf_counter()
            process = subprocess.run(
                [str(Path(sys.executable).parent / "jupyter-book"), "build", str(COURSE_ROOT),
                 "-W", "--keep-going", "--path-output", str(out)],
                env=tool_env, capture_output=True, text=True, timeout=1800)
            record.write_text(json.dumps({
                "args": process.args, "returncode": process.returncode, "stdout": process.stdout,
                "stderr": process.stderr, "seconds": time.perf_counter() - start}))
        done = json.loads(record.read_text())
    process = subprocess.CompletedProcess(done["args"], done["returncode"], done["stdout"], done["stderr"])
    process.seconds = done["seconds"]
    return process, out / "_build" / "html"


@pytest.fixture(scope="session")
def chinese_book_build(book_build, tool_env):
    """The Chinese edition (language zh_CN), built once per test run into the English
    build's html/zh/ from the outputs the English build cached (tasks.build_chinese_edition).

    Returns (the CompletedProcess of the build, the folder of the Chinese HTML).
    """
    english, html = book_build
    if english.returncode != 0:
        return english, html / "zh"
    record = html.parent.parent.parent / "book-zh-build.json"
    with open(html.parent.parent.parent / "book-zh-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            start = time.perf_counter()
            process = subprocess.run(
                [sys.executable, "-c", "import sys, tasks; sys.exit(tasks.build_chinese_edition(sys.argv[1]))",
                 str(html.parent)], cwd=COURSE_ROOT, env=tool_env, capture_output=True, text=True,
                timeout=1800)
            record.write_text(json.dumps({
                "args": process.args, "returncode": process.returncode, "stdout": process.stdout,
                "stderr": process.stderr, "seconds": time.perf_counter() - start}))
        done = json.loads(record.read_text())
    process = subprocess.CompletedProcess(done["args"], done["returncode"], done["stdout"], done["stderr"])
    process.seconds = done["seconds"]
    return process, html / "zh"


def pytest_terminal_summary(terminalreporter):
    """Print the lines tests recorded with record_property("summary", line), e.g. timings."""
    for status in ("passed", "failed"):
        for report in terminalreporter.getreports(status):
            for name, value in report.user_properties:
                if name == "summary" and report.when == "call":
                    terminalreporter.write_line(str(value))


@pytest.fixture
def los_angeles(monkeypatch):
    """Local time 7 or 8 hours behind UTC: code that uses local time instead of UTC gives
    other hours, so tests of submission times and late days run under it."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    assert time.timezone != 0
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="session")
def tool_env():
    """os.environ with this interpreter's bin/ first on PATH (nbgrader runs alembic)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.fixture(scope="session")
def postgres_url():
    """SQLAlchemy URL of a database on a throwaway PostgreSQL server (tests/postgres_server.py)."""
    from postgres_server import PostgresUnavailable, find_binaries, postgres_server, server_user
    try:
        find_binaries(), server_user()
    except PostgresUnavailable as reason:  # tasks.py installs it: a missing server is a failure
        pytest.fail(f"{reason} (install the Debian package postgresql; `python3 tasks.py test` does)")
    with postgres_server() as url:
        yield url
