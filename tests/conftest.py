"""Shared fixtures: paths, and the environment for commands run from .venv."""
import os
import sys
from pathlib import Path

import pytest

from autograder.course import COURSE_ROOT

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def root():
    return COURSE_ROOT


@pytest.fixture(scope="session")
def tool_env():
    """os.environ with this interpreter's bin/ first on PATH (nbgrader runs alembic)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["MPLBACKEND"] = "Agg"
    return env
