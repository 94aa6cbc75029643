"""Student ids, notebook names and notebook files: the checks every way in shares.

`collect` uses these to decide what to copy into COURSE/submitted/, the grader
to decide what it can grade (`notebook_problem`, `STUDENT_ID`, `match_notebooks`).
"""
from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import nbformat

# The one rule for student ids, wherever they enter (collect, roster, folders put
# into submitted/ by hand, grade, export; INSTRUCTORS.md, "Students and submissions"): 1 to 64 ASCII
# letters, digits and _ . @ -, starting with a letter or digit and not ending with
# ".". Safe as a folder name on every system (never "." or "..", no hidden ".git",
# no trailing dot that Windows drops), valid for nbgrader's exchange (no "+" or
# "*"), and e-mail-like logins ("a@b.org") pass. The whole text must match (\A and
# \Z, not "$", which also matches before a final newline: "carol\n" is no id).
# An id that breaks it is refused, never repaired: a repaired "carol\n" would
# share the folder and the CSV row of a real "carol_".
STUDENT_ID = re.compile(r"\A[A-Za-z0-9](?:[A-Za-z0-9_.@-]{0,62}[A-Za-z0-9_@-])?\Z")

# nbgrader's timestamp.txt format (Exchange.timestamp_format with timezone UTC).
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
TIMESTAMP_FILE = "timestamp.txt"

# How deeply a notebook's JSON may nest. Real notebooks stay far below (cells, an
# output, its data, a JSON or widget payload: about 10-20 levels).
MAX_NESTING = 100

# What a renamed copy of a notebook carries after its name: "nb (1)", "nb-2", "nb_3", "nb copy".
_COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\)|[-_ ]\d+|[-_ ]copy(?:[-_ ]?\d+)?|\s+-\s+copy)+$", re.I)


def is_student_id(text: object) -> bool:
    """Whether a text is a valid student id (the whole text: see STUDENT_ID)."""
    return isinstance(text, str) and STUDENT_ID.fullmatch(text) is not None


def student_id_problem(student_id: object) -> str:
    """Why a text cannot be a student id, or "" when it can."""
    if is_student_id(student_id):
        return ""
    return (f"invalid student id {student_id!r} (letters, digits and _ . @ - only, "
            "starting with a letter or digit, not ending with '.', at most 64 characters)")


def match_notebooks(file_names: Iterable[str],
                    expected_notebooks: Sequence[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Which of the student's files answers which expected notebook.

    file_names: names of the student's .ipynb files (any folder or LMS prefix
    already removed or not). expected_notebooks: the assignment's notebook names
    without .ipynb. Returns (matched, ambiguous): matched maps an expected name
    to one of file_names; ambiguous maps an expected name to the several files
    that could each be it (none of them is chosen).

    Rules, in order: the exact name; the name ignoring case and copy suffixes
    ("scoring_functions (1).ipynb", "Scoring_Functions-2.ipynb"); a file name
    that contains the expected name ("Alice_Smith_123_scoring_functions-2.ipynb"),
    the longest expected name winning; and when the assignment has a single
    notebook and the student a single file, that file, whatever its name.
    """
    remaining = [name for name in file_names if name.lower().endswith(".ipynb")]
    matched: dict[str, str] = {}
    ambiguous: dict[str, list[str]] = {}
    for expected in expected_notebooks:
        if f"{expected}.ipynb" in remaining:
            matched[expected] = f"{expected}.ipynb"
            remaining.remove(matched[expected])
    for rule in (_same_name, _contains_name):
        claims: dict[str, list[str]] = {}
        for name in remaining:
            candidates = [e for e in expected_notebooks if e not in matched and rule(name, e)]
            if candidates:
                claims.setdefault(max(candidates, key=len), []).append(name)
        for expected, names in claims.items():
            if len(names) == 1:
                matched[expected] = names[0]
                remaining.remove(names[0])
                ambiguous.pop(expected, None)
            else:
                ambiguous[expected] = sorted(names)
    if not matched and not ambiguous and len(expected_notebooks) == 1 and len(remaining) == 1:
        # A renamed notebook ("Untitled.ipynb"): still the student's answer.
        matched[expected_notebooks[0]] = remaining[0]
    return matched, {e: names for e, names in ambiguous.items() if e not in matched}


def _stem(file_name):
    return _COPY_SUFFIX.sub("", file_name[:-len(".ipynb")]).strip().lower()


def _same_name(file_name, expected):
    return _stem(file_name) == expected.lower()


def _contains_name(file_name, expected):
    return expected.lower() in _stem(file_name)


def notebook_problem(path: Path | str) -> str:
    """Why a file is not a gradeable notebook, or "" if it is one."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    return notebook_bytes_problem(data)


def notebook_bytes_problem(data: bytes) -> str:
    """Why these bytes are not a gradeable notebook, or "" if they are one."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return "not a text file"
    except json.JSONDecodeError as error:
        return f"not valid JSON ({error.msg} at line {error.lineno})"
    except RecursionError:
        return "not valid JSON (nested too deeply)"
    if not isinstance(raw, dict) or raw.get("nbformat") != 4:
        return "not a version 4 Jupyter notebook"
    if nesting_depth(raw) > MAX_NESTING:
        # nbformat's validator, deepcopy and json.dumps all recurse: a notebook nested
        # hundreds of levels deep would raise RecursionError in each of them.
        return f"not a notebook the grader reads (JSON nested more than {MAX_NESTING} levels deep)"
    try:
        notebook = nbformat.from_dict(raw)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        return f"invalid notebook structure ({error.message[:200]})"
    except RecursionError:
        return "not a notebook the grader reads (nested too deeply)"
    return nbgrader_metadata_problem(raw)


def nesting_depth(value: object) -> int:
    """How deeply lists and mappings nest in parsed JSON (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def nbgrader_metadata_problem(raw: dict[str, Any]) -> str:
    """Why the cells' nbgrader metadata cannot be read, or "". nbformat's schema allows any
    value there; the grader identifies cells by metadata.nbgrader.grade_id, so it must be a mapping."""
    for index, cell in enumerate(raw.get("cells", [])):
        value = cell.get("metadata", {}).get("nbgrader", {})
        if not isinstance(value, dict):
            return (f"cell {index + 1}: its metadata.nbgrader is a {type(value).__name__}, not a mapping "
                    "(nbgrader's cell data is damaged; the notebook cannot be graded)")
    return ""


def format_timestamp(moment: datetime.datetime) -> str:
    """A time as nbgrader writes timestamp.txt: "2026-10-01 12:00:00.000000 UTC"."""
    if moment.tzinfo is None:
        raise ValueError("a submission time needs a time zone")
    return moment.astimezone(datetime.timezone.utc).strftime(TIMESTAMP_FORMAT)


def parse_submission_time(text: str | None) -> datetime.datetime | None:
    """An aware UTC datetime from timestamp.txt text (nbgrader's format or ISO 8601), or None."""
    text = (text or "").strip()
    if not text:
        return None
    from nbgrader.utils import parse_utc

    try:
        moment = parse_utc(text)  # naive UTC; understands "... UTC", "+02:00" and ISO forms
    except (ValueError, OverflowError):
        return None
    return moment.replace(tzinfo=datetime.timezone.utc)


def read_timestamp(folder: Path | str) -> datetime.datetime | None:
    """The submission time in folder/timestamp.txt (aware, UTC), or None."""
    try:
        text = (Path(folder) / TIMESTAMP_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return parse_submission_time(text)
