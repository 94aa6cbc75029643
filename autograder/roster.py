"""Import students from a CSV file into the course's nbgrader gradebook.

The first row names the columns (any order, any case, spaces or underscores):
  id            required: "id", "Student ID", "student_id", "username", "login"
  first_name    "First name", "given name"
  last_name     "Last name", "surname", "family name"
  email         "Email", "e-mail"
  lms_user_id   "LMS user id", "Canvas user id", "Moodle id": the number the LMS puts
                in its download file names (see `collect --pattern`)
Other columns are ignored (and named). Commas, semicolons or tabs; UTF-8 (with
or without Excel's BOM).

Students are added or updated (never removed); an empty cell keeps what the
gradebook has. The whole file is checked before anything is written: bad rows
are listed with their line numbers and skipped, the others imported.
Exit status: 0 when every row was imported, 1 when some rows were refused,
2 when the file cannot be used at all (nothing written).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.submissions import student_id_problem

if TYPE_CHECKING:
    from autograder.config import CourseConfig

ALIASES = {
    # not "student" or "name": LMS exports use those for the student's name
    "id": {"id", "studentid", "studentnumber", "studentno", "username", "login", "loginid", "netid",
           "nbgraderid"},
    "first_name": {"firstname", "first", "givenname", "forename", "prenom", "vorname"},
    "last_name": {"lastname", "last", "surname", "familyname", "nom", "nachname"},
    "email": {"email", "emailaddress", "mail"},
    "lms_user_id": {"lmsuserid", "lmsid", "lmsuser", "canvasid", "canvasuserid", "moodleid",
                    "moodleuserid", "blackboardid"},
}
MAX_LENGTH = 128  # nbgrader's column width


class RosterError(Exception):
    """The file cannot be used at all."""


@dataclass
class Roster:
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (line, {field: value}) of the good rows
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    ignored_columns: list[str] = field(default_factory=list)


def _key(header):
    return re.sub(r"[^a-z0-9]", "", header.strip().lower())


def read_roster(path: Path | str) -> Roster:
    """Read and check a roster CSV; raises RosterError when the file cannot be used at all."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RosterError(f"roster file not found: {path}")
    except UnicodeDecodeError as error:
        raise RosterError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); "
                         "save it as CSV UTF-8")
    lines = text.splitlines(keepends=True)
    if not any(line.strip() for line in lines):
        raise RosterError(f"{path}: empty file")
    try:
        dialect = csv.Sniffer().sniff(next(line for line in lines if line.strip()), delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(lines, dialect)
    header = next(reader)
    columns: dict[str, int] = {}  # field -> column index
    roster = Roster()
    for index, name in enumerate(header):
        found = next((f for f, names in ALIASES.items() if _key(name) in names), None)
        if found is None:
            if name.strip():
                roster.ignored_columns.append(name.strip())
        elif found in columns:
            raise RosterError(f"{path}: columns {header[columns[found]]!r} and {name!r} both look like {found}")
        else:
            columns[found] = index
    if "id" not in columns:
        raise RosterError(f"{path}: no student id column in the first row {header}; name it "
                         "'id' or 'Student ID' (the other columns are optional: first_name, "
                         "last_name, email, lms_user_id)")
    seen: dict[str, tuple[int, str]] = {}  # lowercased id -> (line, id as written)
    lms_seen: dict[str, str] = {}  # lms_user_id -> student id
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        values = {f: cells[i].strip() if i < len(cells) else "" for f, i in columns.items()}
        # The id is checked as written, spaces around it aside: a cell "carol\n" is no
        # id, not "carol" (ids are refused, never repaired).
        values["id"] = cells[columns["id"]].strip(" ") if columns["id"] < len(cells) else ""
        problem = (student_id_problem(values["id"]) if values["id"] else "no student id")
        for name, value in values.items():
            if not problem and len(value) > MAX_LENGTH:
                problem = f"{name} longer than {MAX_LENGTH} characters"
        if not problem and values.get("email") and not re.fullmatch(r"[^@\s]+@[^@\s]+", values["email"]):
            problem = f"email {values['email']!r} is not an address"
        if not problem and values["id"].lower() in seen:
            line_before, id_before = seen[values["id"].lower()]
            problem = (f"student {values['id']!r} already on line {line_before}" if id_before == values["id"] else
                       f"student {values['id']!r} differs only in case from {id_before!r} on line {line_before} "
                       "(they would share a folder on a case-insensitive file system)")
        lms_id = values.get("lms_user_id", "")
        if not problem and lms_id and lms_id in lms_seen:
            problem = f"lms_user_id {lms_id!r} already given to {lms_seen[lms_id]!r}"
        if problem:
            roster.errors.append((line, problem))
            continue
        seen[values["id"].lower()] = (line, values["id"])
        if lms_id:
            lms_seen[lms_id] = values["id"]
        roster.rows.append((line, values))
    return roster


def import_roster(config: CourseConfig, roster: Roster) -> tuple[int, int, int]:
    """Upsert the good rows into the gradebook; returns (added, updated, unchanged) counts."""
    from nbgrader.api import MissingEntry

    from autograder.gradebook import open_gradebook

    config.root.mkdir(parents=True, exist_ok=True)
    added = updated = unchanged = 0
    with open_gradebook(config) as gradebook:
        for _line, values in roster.rows:
            changes = {f: v for f, v in values.items() if f != "id" and v}
            try:
                student = gradebook.find_student(values["id"])
            except MissingEntry:
                gradebook.update_or_create_student(values["id"], **changes)
                added += 1
                continue
            if all(getattr(student, f) == v for f, v in changes.items()):
                unchanged += 1
                continue
            gradebook.update_or_create_student(values["id"], **changes)
            updated += 1
    return added, updated, unchanged
