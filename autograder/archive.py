"""Reading what students send, safely: folders, zips and zips inside zips.

Nothing is ever extracted to disk. walk_folder and walk_zip yield, for every file
of a source, either an Entry (its path parts, its time, its size and a reader that
returns its bytes when asked, within a limit) or a Refusal (where, and why it is not
taken). The caller (autograder.collect) decides which entries to read; the reading
itself checks the limits again.

Refused, with the reason: symbolic links (never followed) and other non-regular
files; zip members with an absolute path, a ".." that climbs out, or a NUL in the
name; symbolic links and encrypted members inside zips; zips nested deeper than
Limits.depth, with more than Limits.entries members, or that cannot be read; any
file over Limits.file_bytes, and reading past Limits.total_bytes in all (what a zip
bomb would do). Clutter that zip tools and Jupyter add (JUNK) is skipped silently.

Times: a folder's file by its modification time (UTC); a zip member by its UTC
extended timestamp if it has one, else by its DOS time read in the given time zone.
"""
from __future__ import annotations

import datetime
import io
import os
import re
import stat
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Clutter that zip tools and Jupyter add; skipped without a word.
JUNK = {"__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db", "desktop.ini"}

MB = 1 << 20


@dataclass
class Limits:
    file_bytes: int = 20 * MB  # one notebook (or other file read)
    total_bytes: int = 1024 * MB  # everything read from a download, nested zips included
    depth: int = 3  # zips inside zips inside the download
    entries: int = 100_000  # members of one zip


class Refused(Exception):
    """A file or folder that collect will not take, and why."""


@dataclass
class Entry:
    """One file of a source: where it is, when it was written, how to read it."""
    parts: tuple[str, ...]  # path components from the top of the source
    time: datetime.datetime  # aware
    size: int
    read: Callable[[int], bytes]  # read(limit) -> the bytes; raises Refused over the limit
    in_zip: bool = False  # counts against the download's total (a zip bomb's output would)

    @property
    def display(self) -> str:
        return "/".join(self.parts)


@dataclass
class Refusal:
    """A file or folder refused (where, why) and, once known, whose it is."""
    where: str
    reason: str
    student: str = ""


class Budget:
    """Bytes read so far from one source, against Limits.total_bytes."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.used = 0

    def take(self, size: int, what: str, count: bool = True) -> None:
        """Allow reading `size` bytes of `what` or raise Refused; count=False: a file on
        disk, checked against the one-file limit only (not out of the download)."""
        if size > self.limits.file_bytes and not what.lower().endswith(".zip"):
            raise Refused(f"{_mb(size)} is more than the {_mb(self.limits.file_bytes)} limit for one file")
        if not count:
            return
        if self.used + size > self.limits.total_bytes:
            raise Refused(f"reading it would pass the {_mb(self.limits.total_bytes)} limit for the "
                          "whole download (a zip bomb?)")
        self.used += size


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"


Item = Entry | Refusal  # what the walkers yield

# ---------------------------------------------------------------- walking sources

def walk_folder(root: Path | str, budget: Budget, prefix: tuple[str, ...] = (), depth: int = 0,
                timezone: datetime.tzinfo = datetime.timezone.utc) -> Iterator[Item]:
    """Entries of a folder (and of the zips in it); symbolic links are refused, never followed."""
    root = Path(root)
    for folder, dirs, files in os.walk(root, followlinks=False):
        rel = Path(folder).relative_to(root).parts
        for name in sorted(dirs):
            if name in JUNK or (root / Path(*rel, name)).is_symlink():
                if name not in JUNK:
                    yield Refusal("/".join(prefix + rel + (name,)), "symbolic link (not followed)")
                dirs.remove(name)
        dirs.sort()
        for name in sorted(files):
            if name in JUNK:
                continue
            path = Path(folder) / name
            parts = prefix + rel + (name,)
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                yield Refusal("/".join(parts), "symbolic link (not followed)")
                continue
            if not stat.S_ISREG(info.st_mode):
                yield Refusal("/".join(parts), "not a regular file")
                continue
            moment = datetime.datetime.fromtimestamp(info.st_mtime, datetime.timezone.utc)
            if name.lower().endswith(".zip"):
                yield from _open_nested(parts, info.st_size, _file_reader(path), budget, depth, timezone)
            else:
                yield Entry(parts, moment, info.st_size, _file_reader(path))


def _file_reader(path: Path) -> Callable[[int], bytes]:
    def read(limit: int) -> bytes:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise Refused(f"larger than the {_mb(limit)} limit")
        return data
    return read


def walk_zip(archive: zipfile.ZipFile, budget: Budget, prefix: tuple[str, ...] = (), depth: int = 0,
             timezone: datetime.tzinfo = datetime.timezone.utc) -> Iterator[Item]:
    """Entries of an open ZipFile, nested zips opened in memory."""
    members = archive.infolist()
    if len(members) > budget.limits.entries:
        yield Refusal("/".join(prefix) or "the zip", f"{len(members)} entries, more than the "
                      f"limit of {budget.limits.entries}")
        return
    for info in members:
        shown = "/".join(prefix + (info.filename,))
        problem = entry_name_problem(info.filename)
        if problem:
            yield Refusal(shown, problem)
            continue
        parts = prefix + tuple(p for p in info.filename.replace("\\", "/").split("/") if p not in ("", "."))
        if info.is_dir() or not parts or JUNK & set(parts):
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            yield Refusal(shown, "symbolic link (not followed)")
            continue
        if info.flag_bits & 0x1:
            yield Refusal(shown, "encrypted")
            continue
        reader = _zip_reader(archive, info)
        if parts[-1].lower().endswith(".zip"):
            yield from _open_nested(parts, info.file_size, reader, budget, depth, timezone)
        else:
            yield Entry(parts, zip_entry_time(info, timezone), info.file_size, reader, in_zip=True)


def _zip_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[int], bytes]:
    def read(limit: int) -> bytes:
        if info.file_size > limit:
            raise Refused(f"{_mb(info.file_size)} is more than the {_mb(limit)} limit for one file")
        with archive.open(info) as handle:  # reads at most file_size bytes, checks the CRC
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise Refused(f"larger than the {_mb(limit)} limit")
        return data
    return read


def _open_nested(parts: tuple[str, ...], size: int, reader: Callable[[int], bytes], budget: Budget,
                 depth: int, timezone: datetime.tzinfo = datetime.timezone.utc) -> Iterator[Item]:
    shown = "/".join(parts)
    if depth + 1 > budget.limits.depth:
        yield Refusal(shown, f"zip nested more than {budget.limits.depth} levels deep")
        return
    try:
        budget.take(size, shown)
        data = reader(budget.limits.total_bytes)
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Refused as refusal:
        yield Refusal(shown, str(refusal))
        return
    except Exception as error:  # whatever a broken zip raises, it is that entry's problem only
        yield Refusal(shown, f"not a readable zip ({error})")
        return
    # Left open: its entries are read later, only those that are chosen.
    yield from walk_zip(archive, budget, parts, depth + 1, timezone)


def entry_name_problem(name: str) -> str:
    """Why a zip member's name is unsafe, or "" when it is a plain relative path."""
    text = name.replace("\\", "/")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        return "absolute path (refused: it would be written outside its folder)"
    if ".." in PurePosixPath(text).parts:
        return "path climbs out of its folder with '..' (refused)"
    if "\x00" in text:
        return "NUL character in the name"
    return ""


def zip_entry_time(info: zipfile.ZipInfo,
                   timezone: datetime.tzinfo = datetime.timezone.utc) -> datetime.datetime:
    """The member's modification time: its UTC extended timestamp if it has one,
    else its DOS date_time read in `timezone`."""
    extra = info.extra
    while len(extra) >= 4:
        kind, length = struct.unpack("<HH", extra[:4])
        body = extra[4:4 + length]
        if kind == 0x5455 and len(body) >= 5 and body[0] & 1:
            seconds = struct.unpack("<i", body[1:5])[0]
            return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        extra = extra[4 + length:]
    try:
        return datetime.datetime(*info.date_time, tzinfo=timezone)
    except ValueError:
        return datetime.datetime(1980, 1, 1, tzinfo=datetime.timezone.utc)
