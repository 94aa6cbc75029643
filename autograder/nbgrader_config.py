"""nbgrader's own tools on our course folder: COURSE/nbgrader_config.py, and what it configures.

`nbgrader db student list`, `nbgrader list`, `nbgrader export` and the formgrader read
nbgrader_config.py from the folder they run in; written from course.toml by `release`
(and `demo`, and `grade` when it sets up a course), it makes them see the same course
as our commands: the folder, the course id, the gradebook (db_url) and the exchange.

It also makes nbgrader's feedback (`nbgrader generate_feedback`, the formgrader's
Generate Feedback) run HideHiddenTests first: the autograded notebooks we write for
the formgrader carry the hidden tests and the grader's messages, which a student
must never see. nbgrader's autograde (`nbgrader autograde`, the formgrader's Autograde
button) is refused (RefuseAutograde): it would run the student's code outside the
sandbox and replace our autograded folder. nbgrader's release of feedback (`nbgrader
release_feedback`, the formgrader's Release Feedback) ships only pages our `feedback`
wrote (ReleaseOnlyOurFeedback).
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbconvert.exporters import NotebookExporter
from nbconvert.preprocessors import Preprocessor
from nbgrader.converters.base import NbGraderException
from nbgrader.exchange.default import ExchangeReleaseFeedback
from traitlets import Bool

from autograder.course import COURSE_ROOT

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from autograder.config import CourseConfig

NBGRADER_CONFIG = "nbgrader_config.py"

_TEMPLATE = '''\
# Written by `python -m autograder release` from course.toml: edit course.toml and run
# release again (a change made here is overwritten). nbgrader's CLI and the formgrader,
# run in this folder, then see the same course as `python -m autograder`.
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
c = get_config()  # noqa: F821 - defined by traitlets when it loads this file
c.CourseDirectory.root = here
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.db_url = {db_url}
{exchange}
# nbgrader's feedback pages must not show hidden tests: the autograded notebooks carry them.
sys.path.insert(0, {code_root!r})  # where autograder is, if this Python has not installed it
c.GenerateFeedback.preprocessors = [
    "autograder.nbgrader_config.HideHiddenTests",
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# nbgrader's autograde would run student code unsandboxed and delete our results: refused.
c.Autograde.exporter_class = "autograder.nbgrader_config.RefuseAutograde"
# Students get only the pages `python -m autograder feedback` wrote.
c.ExchangeFactory.release_feedback = "autograder.nbgrader_config.ReleaseOnlyOurFeedback"
'''


def config_text(config: CourseConfig) -> str:
    """The text of COURSE/nbgrader_config.py for a CourseConfig. Paths are relative to the
    file where course.toml has them relative (the gradebook, the exchange), so the folder
    can be moved."""
    db_url = repr(config.db_url) if config.db_url else '"sqlite:///" + os.path.join(here, "gradebook.db")'
    exchange = ""
    if config.exchange:
        exchange = f"c.Exchange.root = os.path.join(here, os.path.expanduser({config.exchange!r}))\n"
    return _TEMPLATE.format(course_id=config.course_id, db_url=db_url, exchange=exchange,
                            code_root=str(COURSE_ROOT))


def write_nbgrader_config(config: CourseConfig) -> Path:
    """Write COURSE/nbgrader_config.py. It holds what course.toml holds (a db_url may carry a
    password), so it gets course.toml's permissions when there is one."""
    from autograder.config import CONFIG_FILE
    from autograder.results import write_atomic

    path = Path(config.root) / NBGRADER_CONFIG
    write_atomic(path, config_text(config))
    toml = Path(config.root) / CONFIG_FILE
    if toml.is_file():
        os.chmod(path, stat.S_IMODE(toml.stat().st_mode))
    return path


def record_due_dates(config: CourseConfig, assignment_ids: Iterable[str]) -> None:
    """Put course.toml's due dates into the gradebook's assignment rows (what nbgrader shows
    and uses for lateness); an assignment without one there has none in the gradebook."""
    from autograder.gradebook import open_gradebook

    with open_gradebook(config) as gradebook:
        for assignment in assignment_ids:
            gradebook.update_or_create_assignment(assignment, duedate=config.due.get(assignment))


class HideHiddenTests(Preprocessor):
    """For nbgrader's feedback on an autograded notebook: each hidden-test section of a cell
    becomes one comment, and every output loses its traceback frames, file paths and any
    hidden test line (as on our own pages, autograder.feedback)."""

    enabled = Bool(True)  # nbconvert's preprocessors are off unless enabled; this one must run

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        from autograder.feedback import BEGIN_HIDDEN, hidden_lines_in, visible_part

        secret = hidden_lines_in(nb)
        for cell in nb.cells:
            if BEGIN_HIDDEN in cell.source:
                cell.source = visible_part(cell.source)
            for output in cell.get("outputs", []):
                _clean_output(output, secret)
        return nb, resources


def _clean_output(output, secret):
    from autograder.feedback import _scrub_page, clean_message

    if output.output_type == "stream":
        output.text = clean_message(output.text, secret)
    elif output.output_type == "error":
        output.evalue = clean_message(output.evalue, secret)
        output.traceback = []
    else:  # display_data, execute_result: only their text can quote a test
        for kind, value in list(output.get("data", {}).items()):
            if isinstance(value, str) and kind.startswith("text/"):
                output.data[kind] = _scrub_page(value, secret)


AUTOGRADE_REFUSED = (  # on lines short enough for the formgrader's error box
    "nbgrader's autograde is turned off in this course folder:\n"
    "it would run the students' code outside the sandbox\n"
    "and replace the autograder's results.\n"
    "Grade with `python -m autograder grade ASSIGNMENT` (see INSTRUCTORS.md);\n"
    "its autograded notebooks and scores appear here.")


class RefuseAutograde(NotebookExporter):
    """The exporter nbgrader's Autograde converter makes in its start(), after looking for the
    submitted notebooks and before it touches anything (it deletes the autograded folder, then
    runs the notebooks): refusing here runs no student code and deletes nothing. It is what
    `nbgrader autograde` and the formgrader's Autograde button (NbGraderAPI.autograde) use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log.error(AUTOGRADE_REFUSED)
        raise NbGraderException(AUTOGRADE_REFUSED)


class ReleaseOnlyOurFeedback(ExchangeReleaseFeedback):
    """nbgrader's release of feedback (`nbgrader release_feedback`, the formgrader's Release
    Feedback), refused when a page it would hand out was not written by our `feedback`
    (nbgrader's Generate Feedback writes its own to the same paths)."""

    def copy_files(self) -> None:
        import glob

        from autograder.feedback import written_by_us

        pages = sorted(glob.glob(os.path.join(self.src_path, "*.html")))
        foreign = [page for page in pages if not written_by_us(page)]
        if foreign:
            self.fail(f"nothing released: {len(foreign)} feedback page(s) were not written by "
                      f"`python -m autograder feedback` (nbgrader's Generate Feedback writes its own), "
                      f"e.g. {os.path.relpath(foreign[0], self.coursedir.root)}. Run `python -m "
                      f"autograder feedback ASSIGNMENT`, then release the feedback again.")
        super().copy_files()
