"""autograder.archive and autograder.collect, function by function: limits, walking folders and
zips (archive); who sent what, which file is taken, where the submission time comes from
(always UTC), and what is written (collect).
Fast unit tests without the command line (tests/test_collect.py runs whole collections); see
CONTRIBUTING.md, "Mutation check"."""
import datetime
import io
import os
import re
import struct
import time
import zipfile
from types import SimpleNamespace

import pytest

from autograder import archive, cli, collect, course
from autograder.archive import Budget, Entry, Limits, Refusal, Refused, walk_folder, walk_zip, zip_entry_time
from autograder.collect import Collector, Outcome, StudentFiles, by_lms_name, by_student_folder, compile_pattern, summary
from autograder.config import CourseConfig
from autograder.submissions import TIMESTAMP_FILE

UTC = datetime.timezone.utc
MB = 1 << 20
NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


# -- limits ----------------------------------------------------------------------------------

def test_budget_counts_what_is_read():
    budget = Budget(Limits(file_bytes=10, total_bytes=25))
    budget.take(10, "a.ipynb")
    budget.take(10, "b.ipynb")
    assert budget.used == 20
    with pytest.raises(Refused, match="more than the 0.0 MB limit for one file"):
        budget.take(11, "c.ipynb")
    with pytest.raises(Refused, match="limit for the whole download"):
        budget.take(6, "d.ipynb")
    budget.take(5, "e.ipynb")  # exactly at the limit
    assert budget.used == 25
    budget.take(10, "f.ipynb", count=False)  # read from the disk, not out of the download
    assert budget.used == 25


def test_a_zip_may_be_larger_than_one_file():
    budget = Budget(Limits(file_bytes=10, total_bytes=100))
    budget.take(50, "inner.ZIP")
    assert budget.used == 50


def test_mb():
    assert archive._mb(3 * MB // 2) == "1.5 MB"


# -- walking a folder ------------------------------------------------------------------------

def test_walk_folder(tmp_path):
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / "nb.ipynb").write_bytes(NOTEBOOK)
    os.utime(tmp_path / "ada" / "nb.ipynb", (0, 1_790_000_000))
    (tmp_path / "ada" / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "nb.ipynb").write_bytes(b"junk")
    (tmp_path / "ada" / "link.ipynb").symlink_to(tmp_path / "ada" / "nb.ipynb")
    (tmp_path / "bob").symlink_to(tmp_path / "ada")
    os.mkfifo(tmp_path / "ada" / "pipe")
    items = list(walk_folder(tmp_path, Budget(Limits())))
    refusals = sorted((i.where, i.reason) for i in items if isinstance(i, Refusal))
    assert refusals == [("ada/link.ipynb", "symbolic link (not followed)"), ("ada/pipe", "not a regular file"),
                        ("bob", "symbolic link (not followed)")]
    entries = [i for i in items if isinstance(i, Entry)]
    assert [e.parts for e in entries] == [("ada", "nb.ipynb")]
    entry = entries[0]
    assert entry.time == datetime.datetime.fromtimestamp(1_790_000_000, UTC) and entry.time.tzinfo is UTC
    assert (entry.size, entry.in_zip, entry.display) == (len(NOTEBOOK), False, "ada/nb.ipynb")
    assert entry.read(MB) == NOTEBOOK
    with pytest.raises(Refused, match="larger than the"):
        entry.read(10)


def test_walk_folder_opens_zips_in_it(tmp_path):
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / "work.zip").write_bytes(zip_bytes({"nb.ipynb": NOTEBOOK}))
    entries = list(walk_folder(tmp_path, Budget(Limits()), prefix=("top",)))
    assert [e.parts for e in entries] == [("top", "ada", "work.zip", "nb.ipynb")]
    assert entries[0].in_zip and entries[0].read(MB) == NOTEBOOK


def test_walk_folder_refuses_a_linked_folder_inside_a_student_folder(tmp_path):
    (tmp_path / "ada" / "work").mkdir(parents=True)
    (tmp_path / "ada" / "work" / "nb.ipynb").write_bytes(NOTEBOOK)
    (tmp_path / "ada" / "elsewhere").symlink_to(tmp_path / "ada" / "work")
    items = list(walk_folder(tmp_path, Budget(Limits())))
    assert [(i.where, i.reason) for i in items if isinstance(i, Refusal)] == [
        ("ada/elsewhere", "symbolic link (not followed)")]
    assert [i.parts for i in items if isinstance(i, Entry)] == [("ada", "work", "nb.ipynb")]


def test_walk_folder_goes_on_after_a_file_that_is_not_regular(tmp_path):
    (tmp_path / "ada").mkdir()
    os.mkfifo(tmp_path / "ada" / "a_pipe")  # sorted before the notebook
    (tmp_path / "ada" / "nb.ipynb").write_bytes(NOTEBOOK)
    items = list(walk_folder(tmp_path, Budget(Limits())))
    assert [(i.where, i.reason) for i in items if isinstance(i, Refusal)] == [("ada/a_pipe", "not a regular file")]
    assert [i.parts for i in items if isinstance(i, Entry)] == [("ada", "nb.ipynb")]


def test_a_file_exactly_at_the_limit_is_read(tmp_path):
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / "nb.ipynb").write_bytes(NOTEBOOK)
    entry, = walk_folder(tmp_path, Budget(Limits()))
    assert entry.read(len(NOTEBOOK)) == NOTEBOOK
    with pytest.raises(Refused, match=re.escape(f"larger than the {archive._mb(len(NOTEBOOK) - 1)} limit")):
        entry.read(len(NOTEBOOK) - 1)


def test_a_zip_in_a_folder_is_the_first_level_of_nesting(tmp_path):
    """A zip directly in the source folder is one level deep: allowed with Limits(depth=1)."""
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / "work.zip").write_bytes(zip_bytes({"nb.ipynb": NOTEBOOK}))
    assert [e.parts for e in walk_folder(tmp_path, Budget(Limits(depth=1)))] == [("ada", "work.zip", "nb.ipynb")]


def test_zip_times_in_a_folder_are_read_in_the_given_zone(tmp_path, los_angeles):
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / "work.zip").write_bytes(zip_bytes({"nb.ipynb": NOTEBOOK}))  # 2026-10-01 12:00 local
    entry, = walk_folder(tmp_path, Budget(Limits()), timezone=plus2)
    assert entry.time == datetime.datetime(2026, 10, 1, 10, 0, tzinfo=UTC)


# -- walking a zip ---------------------------------------------------------------------------

def zip_bytes(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name, (2026, 10, 1, 12, 0, 0))
            archive.writestr(info, data)
    return buffer.getvalue()


def walk(data, limits=None, timezone=UTC):
    return list(walk_zip(zipfile.ZipFile(io.BytesIO(data)), Budget(limits or Limits()), timezone=timezone))


def test_walk_zip_skips_folders_and_clutter_and_refuses_what_is_unsafe():
    link = zipfile.ZipInfo("ada/link.ipynb")
    link.external_attr = 0o120777 << 16
    members = {"ada/": b"", "ada/./nb.ipynb": NOTEBOOK, "__MACOSX/ada/._nb.ipynb": b"x", "ada/.DS_Store": b"x",
               "../evil.ipynb": NOTEBOOK, "/abs.ipynb": NOTEBOOK, link: b"nb.ipynb", "bob\\nb.ipynb": NOTEBOOK}
    items = walk(zip_bytes(members))
    assert [(i.where, i.reason) for i in items if isinstance(i, Refusal)] == [
        ("../evil.ipynb", "path climbs out of its folder with '..' (refused)"),
        ("/abs.ipynb", "absolute path (refused: it would be written outside its folder)"),
        ("ada/link.ipynb", "symbolic link (not followed)")]
    entries = [i for i in items if isinstance(i, Entry)]
    assert [e.parts for e in entries] == [("ada", "nb.ipynb"), ("bob", "nb.ipynb")]
    assert all(e.in_zip and e.size == len(NOTEBOOK) for e in entries)


def test_walk_zip_refuses_encrypted_members():
    data = bytearray(zip_bytes({"ada/nb.ipynb": NOTEBOOK}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # general purpose flag, bit 0
        at = data.find(signature)
        data[at + offset] |= 1
    assert [(i.where, i.reason) for i in walk(bytes(data))] == [("ada/nb.ipynb", "encrypted")]


def test_walk_zip_goes_on_after_an_encrypted_member():
    data = bytearray(zip_bytes({"ada/a.ipynb": NOTEBOOK, "ada/nb.ipynb": NOTEBOOK}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # the first member's headers only
        at = data.find(signature)
        data[at + offset] |= 1
    items = walk(bytes(data))
    assert [(i.where, i.reason) for i in items if isinstance(i, Refusal)] == [("ada/a.ipynb", "encrypted")]
    assert [i.parts for i in items if isinstance(i, Entry)] == [("ada", "nb.ipynb")]


def test_empty_path_components_are_dropped():
    entry, = walk(zip_bytes({"ada//nb.ipynb": NOTEBOOK}))
    assert entry.parts == ("ada", "nb.ipynb")


def test_refusals_inside_a_nested_zip_name_the_whole_path():
    crowded = zip_bytes({f"{i}.txt": b"" for i in range(4)})
    unsafe = zip_bytes({"../evil.ipynb": NOTEBOOK})
    outer = zip_bytes({"ada/crowded.zip": crowded, "bo/unsafe.zip": unsafe})
    assert [(i.where, i.reason) for i in walk(outer, Limits(entries=3))] == [
        ("ada/crowded.zip", "4 entries, more than the limit of 3"),
        ("bo/unsafe.zip/../evil.ipynb", "path climbs out of its folder with '..' (refused)")]


def test_walk_zip_refuses_too_many_entries():
    data = zip_bytes({f"ada/{i}.txt": b"" for i in range(4)})
    assert [(i.where, i.reason) for i in walk(data, Limits(entries=3))] == [
        ("the zip", "4 entries, more than the limit of 3")]
    assert len(walk(data, Limits(entries=4))) == 4


def test_nested_zips_to_the_depth_limit():
    inner = zip_bytes({"nb.ipynb": NOTEBOOK})
    middle = zip_bytes({"inner.zip": inner})
    outer = zip_bytes({"ada/middle.zip": middle})
    assert [e.parts for e in walk(outer, Limits(depth=2))] == [("ada", "middle.zip", "inner.zip", "nb.ipynb")]
    assert [(i.where, i.reason) for i in walk(outer, Limits(depth=1))] == [
        ("ada/middle.zip/inner.zip", "zip nested more than 1 levels deep")]


def test_a_nested_zip_may_be_larger_than_one_file():
    inner = zip_bytes({"nb.ipynb": NOTEBOOK, "data.txt": bytes(200)})
    outer = zip_bytes({"ada/inner.zip": inner})
    assert [e.parts for e in walk(outer, Limits(file_bytes=len(inner) - 1))] == [
        ("ada", "inner.zip", "nb.ipynb"), ("ada", "inner.zip", "data.txt")]


def test_times_in_a_nested_zip_are_read_in_the_given_zone(los_angeles):
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    outer = zip_bytes({"ada/inner.zip": zip_bytes({"nb.ipynb": NOTEBOOK})})
    entry, = walk(outer, timezone=plus2)
    assert entry.time == datetime.datetime(2026, 10, 1, 10, 0, tzinfo=UTC)


def test_a_broken_nested_zip_costs_that_entry_only():
    outer = zip_bytes({"ada/broken.zip": b"not a zip", "ada/nb.ipynb": NOTEBOOK})
    items = walk(outer)
    assert items[0].where == "ada/broken.zip" and items[0].reason.startswith("not a readable zip (")
    assert items[1].parts == ("ada", "nb.ipynb")


def test_a_nested_zip_past_the_total_is_refused():
    outer = zip_bytes({"ada/inner.zip": zip_bytes({"nb.ipynb": NOTEBOOK * 50})})
    refusal, = walk(outer, Limits(total_bytes=100))
    assert refusal.where == "ada/inner.zip" and "limit for the whole download" in refusal.reason


def test_a_zip_member_over_the_file_limit_is_refused_when_read():
    entry, = walk(zip_bytes({"ada/nb.ipynb": NOTEBOOK}))
    assert entry.read(len(NOTEBOOK)) == NOTEBOOK
    with pytest.raises(Refused, match="is more than the"):
        entry.read(len(NOTEBOOK) - 1)


def test_zip_times_without_a_utc_stamp_are_read_in_the_given_zone(los_angeles):
    info = zipfile.ZipInfo("nb.ipynb", (2026, 10, 1, 12, 0, 0))
    assert zip_entry_time(info) == datetime.datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    assert zip_entry_time(info, plus2) == datetime.datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    entry, = walk(zip_bytes({info: NOTEBOOK}), timezone=plus2)
    assert entry.time == datetime.datetime(2026, 10, 1, 10, 0, tzinfo=UTC)


def test_zip_time_from_the_utc_extended_stamp_after_other_fields(los_angeles):
    info = zipfile.ZipInfo("nb.ipynb", (2020, 1, 1, 0, 0, 0))
    other = struct.pack("<HH", 0x000A, 4) + b"abcd"
    no_mtime = struct.pack("<HHB", 0x5455, 1, 0)  # flags without the modification time bit
    info.extra = other + no_mtime + struct.pack("<HHBi", 0x5455, 5, 1, 1_790_000_000)
    assert zip_entry_time(info) == datetime.datetime.fromtimestamp(1_790_000_000, UTC)
    info.extra = other + no_mtime
    assert zip_entry_time(info) == datetime.datetime(2020, 1, 1, tzinfo=UTC)


def test_a_utc_stamp_without_its_modification_time_is_not_read():
    """The extended timestamp's flag bit 0 says a modification time follows; without it (an access
    time only) or with fewer than 4 bytes of time, the DOS time is used."""
    info = zipfile.ZipInfo("nb.ipynb", (2020, 1, 1, 0, 0, 0))
    info.extra = struct.pack("<HHBi", 0x5455, 5, 2, 1_790_000_000)  # access time only
    assert zip_entry_time(info) == datetime.datetime(2020, 1, 1, tzinfo=UTC)
    info.extra = struct.pack("<HHB", 0x5455, 4, 1) + b"abc" + struct.pack("<HH", 0x000A, 0)  # cut short
    assert zip_entry_time(info) == datetime.datetime(2020, 1, 1, tzinfo=UTC)


def test_a_utc_stamp_after_a_large_extra_field():
    """Field lengths are unsigned: a field of 40 000 bytes is skipped whole."""
    info = zipfile.ZipInfo("nb.ipynb", (2020, 1, 1, 0, 0, 0))
    info.extra = struct.pack("<HH", 0x000A, 40_000) + bytes(40_000) + struct.pack("<HHBi", 0x5455, 5, 1, 1_790_000_000)
    assert zip_entry_time(info) == datetime.datetime.fromtimestamp(1_790_000_000, UTC)


def test_a_utc_stamp_with_access_time_too_and_before_1970():
    """Info-ZIP writes the modification and the access time (flags 3, 9 bytes); times are signed."""
    info = zipfile.ZipInfo("nb.ipynb", (2020, 1, 1, 0, 0, 0))
    info.extra = struct.pack("<HHBii", 0x5455, 9, 3, 1_790_000_000, 1_800_000_000)
    assert zip_entry_time(info) == datetime.datetime.fromtimestamp(1_790_000_000, UTC)
    info.extra = struct.pack("<HHBi", 0x5455, 5, 1, -1)
    assert zip_entry_time(info) == datetime.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_an_impossible_zip_date_becomes_1980():
    info = zipfile.ZipInfo("nb.ipynb", (2026, 1, 1, 0, 0, 0))
    info.date_time = (2026, 2, 31, 0, 0, 0)
    assert zip_entry_time(info) == datetime.datetime(1980, 1, 1, tzinfo=UTC)


# -- who sent what ---------------------------------------------------------------------------

def entry(*parts, time=datetime.datetime(2026, 10, 1, tzinfo=UTC), data=NOTEBOOK):
    return Entry(tuple(parts), time, len(data), lambda limit: data)


@pytest.mark.parametrize("name", ["/abs.ipynb", "\\abs.ipynb", "C:/x.ipynb", "c:\\x.ipynb", "z:x.ipynb"])
def test_absolute_member_names_are_refused(name):
    assert archive.entry_name_problem(name) == "absolute path (refused: it would be written outside its folder)"


def test_member_names():
    assert archive.entry_name_problem("ada/nb.ipynb") == ""
    assert archive.entry_name_problem("ada\\..\\..\\x") == "path climbs out of its folder with '..' (refused)"
    assert archive.entry_name_problem("ada/n\x00b.ipynb") == "NUL character in the name"


def test_compile_pattern():
    assert compile_pattern("").pattern == collect.PATTERNS["canvas"]
    assert compile_pattern(None).pattern == collect.PATTERNS["canvas"]
    assert compile_pattern("MOODLE").pattern == collect.PATTERNS["moodle"]
    assert compile_pattern(r"(?P<student>\w+)-").match("ADA-nb").group("student") == "ADA"
    assert compile_pattern(r"(?P<student>x)").flags & 2  # re.I
    with pytest.raises(SystemExit, match="not a valid regular expression"):
        compile_pattern("(")
    with pytest.raises(SystemExit, match=r"needs a named group \(\?P<student>...\).*presets: canvas, moodle"):
        compile_pattern(r"(\d+)_")


def test_by_student_folder():
    loose = entry("nb.ipynb")
    refused = Refusal("ada/link.ipynb", "symbolic link")
    top = Refusal("link", "symbolic link")
    students, refusals = by_student_folder([entry("ada", "nb.ipynb"), entry("ada", "sub", "x.ipynb"), loose,
                                            refused, top])
    assert list(students) == ["ada"]
    assert [name for name, _ in students["ada"].entries] == ["nb.ipynb", "x.ipynb"]
    assert [(r.where, r.reason, r.student) for r in refusals] == [
        ("nb.ipynb", "not inside a student folder (FOLDER/STUDENT_ID/NOTEBOOK.ipynb)", ""),
        ("ada/link.ipynb", "symbolic link", "ada"), ("link", "symbolic link", "")]


def test_by_lms_name():
    pattern = compile_pattern("canvas")
    items = [entry("smithada_1001_77_nb.ipynb"), entry("doebo_late_1002_78_nb (1).ipynb"),
             entry("smithada_1001_79_sub", "other.ipynb"), entry("random.ipynb"),
             Refusal("smithada_1001_80_x.zip/link", "symbolic link"), Refusal("plain/link", "symbolic link")]
    students, refusals = by_lms_name(items, pattern, {"1001": "ada"}, "canvas")
    assert {s: [n for n, _ in f.entries] for s, f in students.items()} == {
        "ada": ["nb.ipynb", "other.ipynb"], "1002": ["nb (1).ipynb"]}
    assert [(r.where, r.student) for r in refusals] == [("random.ipynb", ""), ("smithada_1001_80_x.zip/link", "ada"),
                                                        ("plain/link", "")]
    assert refusals[0].reason == "name does not match the LMS pattern 'canvas' (no student id taken from it)"
    _, refusals = by_lms_name([entry("random.ipynb")], pattern)
    assert refusals[0].reason.startswith(f"name does not match the LMS pattern {pattern.pattern!r}")


def test_a_refusal_inside_a_top_folder_names_its_student():
    """A download with a top folder: the student comes from the first component that matches."""
    pattern = compile_pattern(r"(?P<student>\d+)-")
    _, refusals = by_lms_name([Refusal("Submissions/1001-work.zip/link", "symbolic link")], pattern, {"1001": "ada"})
    assert refusals[0].student == "ada"


def test_lms_pattern_without_an_original_group():
    pattern = compile_pattern(r"(?P<student>\d+)-")
    students, _ = by_lms_name([entry("1001-nb.ipynb"), entry("1002-")], pattern)
    assert {s: [n for n, _ in f.entries] for s, f in students.items()} == {"1001": ["nb.ipynb"],
                                                                            "1002": ["1002-"]}


# -- choosing and writing --------------------------------------------------------------------

def collector(tmp_path, notebooks=("nb",), roster=(), dry_run=False):
    config = CourseConfig(root=tmp_path / "course")
    found = Collector.__new__(Collector)
    found.config, found.assignment, found.notebooks = config, "hw", list(notebooks)
    found.limits, found.dry_run, found.roster, found.outcomes = Limits(), dry_run, set(roster), []
    return found


def test_collector_takes_the_assignments_notebooks(tmp_path, monkeypatch):
    monkeypatch.setattr(collect, "course_notebooks", lambda config, assignment: ["a", "b"])
    made = Collector(CourseConfig(root=tmp_path), "hw", roster=["ada"])
    assert (made.notebooks, made.roster, made.dry_run, made.limits, made.outcomes) == (
        ["a", "b"], {"ada"}, False, Limits(), [])


def files(*entries, timestamp="", notes=()):
    return StudentFiles([(e.parts[-1], e) for e in entries], timestamp, {}, list(notes))


def test_collect_student_writes_nbgraders_layout_in_utc(tmp_path, los_angeles):
    found = collector(tmp_path, roster=["bo"])
    early = entry("ada", "nb.ipynb", time=datetime.datetime(2026, 10, 1, 12, 0, tzinfo=UTC))
    outcome = found.collect_student("ada", files(early, entry("ada", "notes.txt")), Budget(Limits()))
    assert outcome == Outcome("ada", "collected", "ignored: ada/notes.txt; not on the roster")
    folder = found.config.submitted("ada", "hw")
    assert (folder / "nb.ipynb").read_bytes() == NOTEBOOK
    assert (folder / TIMESTAMP_FILE).read_text() == "2026-10-01 12:00:00.000000 UTC"


def test_the_submission_time_is_the_latest_chosen_file(tmp_path, los_angeles):
    found = collector(tmp_path, notebooks=("a", "b"))
    a = entry("ada", "a.ipynb", time=datetime.datetime(2026, 10, 1, 12, 0, tzinfo=UTC))
    b = entry("ada", "b.ipynb", time=datetime.datetime(2026, 10, 2, 8, 30, tzinfo=UTC))
    later_extra = entry("ada", "x.txt", time=datetime.datetime(2026, 10, 9, tzinfo=UTC))
    found.collect_student("ada", files(a, b, later_extra), Budget(Limits()))
    assert (found.config.submitted("ada", "hw") / TIMESTAMP_FILE).read_text() == "2026-10-02 08:30:00.000000 UTC"


def test_the_exchange_time_wins_over_the_files(tmp_path, los_angeles):
    found = collector(tmp_path)
    chosen = entry("ada", "nb.ipynb", time=datetime.datetime(2026, 10, 1, tzinfo=UTC))
    found.collect_student("ada", files(chosen, timestamp="2026-10-05 09:00:00.000000 UTC", notes=["late"]),
                          Budget(Limits()))
    assert (found.config.submitted("ada", "hw") / TIMESTAMP_FILE).read_text() == "2026-10-05 09:00:00.000000 UTC"


def test_a_renamed_or_broken_notebook_is_copied_with_a_note(tmp_path):
    found = collector(tmp_path)
    broken = entry("ada", "nb (1).ipynb", data=b"{oops")
    outcome = found.collect_student("ada", files(broken), Budget(Limits()))
    assert outcome.status == "collected"
    assert outcome.detail == ("nb.ipynb from 'ada/nb (1).ipynb'; nb.ipynb is not valid JSON "
                              "(Expecting property name enclosed in double quotes at line 1): copied, it will score 0")
    assert (found.config.submitted("ada", "hw") / "nb.ipynb").read_bytes() == b"{oops"


def test_refusals_of_one_student(tmp_path):
    found = collector(tmp_path)
    assert found.collect_student("a+b", files(entry("a+b", "nb.ipynb"), entry("a+b", "x.txt")),
                                 Budget(Limits())) == Outcome(
        "a+b", "refused", "invalid student id 'a+b' (letters, digits and _ . @ - only, starting with a letter "
        "or digit, not ending with '.', at most 64 characters): a+b/nb.ipynb, a+b/x.txt")
    assert found.collect_student("ada", files(entry("ada", "x.txt"), entry("ada", "y.txt")),
                                 Budget(Limits())) == Outcome("ada", "refused",
                                                              "no nb.ipynb; ignored: ada/x.txt, ada/y.txt")
    assert found.collect_student("ada", files(entry("ada", "x.txt")), Budget(Limits())) == Outcome(
        "ada", "refused", "no nb.ipynb; ignored: ada/x.txt")
    big = Entry(("ada", "nb.ipynb"), datetime.datetime(2026, 10, 1, tzinfo=UTC), 30 * MB, lambda limit: b"")
    assert found.collect_student("ada", files(big), Budget(Limits())) == Outcome(
        "ada", "refused", "ada/nb.ipynb: 30.0 MB is more than the 20.0 MB limit for one file")

    def corrupt(limit):
        raise zipfile.BadZipFile("Bad CRC-32")
    bad = Entry(("ada", "nb.ipynb"), datetime.datetime(2026, 10, 1, tzinfo=UTC), 10, corrupt)
    assert found.collect_student("ada", files(bad), Budget(Limits())) == Outcome(
        "ada", "refused", "ada/nb.ipynb: cannot be read (Bad CRC-32)")
    assert not found.config.submitted().exists()


def test_only_files_read_out_of_a_zip_count_against_the_total(tmp_path):
    """The total guards against zip bombs: a file on disk (its size known) does not count."""
    found = collector(tmp_path)
    outcome = found.collect_student("ada", files(entry("ada", "nb.ipynb")), Budget(Limits(total_bytes=10)))
    assert outcome == Outcome("ada", "collected", "")
    zipped = Entry(("bo", "nb.ipynb"), datetime.datetime(2026, 10, 1, tzinfo=UTC), len(NOTEBOOK),
                   lambda limit: NOTEBOOK, in_zip=True)
    outcome = found.collect_student("bo", files(zipped), Budget(Limits(total_bytes=10)))
    assert outcome == Outcome("bo", "refused", "bo/nb.ipynb: reading it would pass the 0.0 MB limit for the "
                                               "whole download (a zip bomb?)")


def sent_with_secret(tmp_path, size):
    """ada's notebook and an exchange submission_secret.txt of `size` bytes (read from disk)."""
    (tmp_path / "secret").write_bytes(b"s" * size)
    secret = Entry(("ada", "submission_secret.txt"), datetime.datetime(2026, 10, 1, tzinfo=UTC), size,
                   archive._file_reader(tmp_path / "secret"))
    return StudentFiles([("nb.ipynb", entry("ada", "nb.ipynb"))], "", {"submission_secret.txt": secret}, [])


def test_a_submission_secret_is_kept_up_to_64_kib(tmp_path):
    found = collector(tmp_path)
    assert found.collect_student("ada", sent_with_secret(tmp_path, 64 * 1024), Budget(Limits())) == Outcome(
        "ada", "collected", "")
    assert (found.config.submitted("ada", "hw") / "submission_secret.txt").stat().st_size == 64 * 1024


def test_a_larger_submission_secret_is_left_with_a_note(tmp_path):
    found = collector(tmp_path)
    outcome = found.collect_student("ada", sent_with_secret(tmp_path, 64 * 1024 + 1), Budget(Limits()))
    assert outcome == Outcome("ada", "collected", "submission_secret.txt not kept (larger than the 0.1 MB limit)")
    assert not (found.config.submitted("ada", "hw") / "submission_secret.txt").exists()


def test_an_id_differing_only_in_case_from_one_collected_is_refused(tmp_path):
    found = collector(tmp_path)
    found.config.submitted("Ada").mkdir(parents=True)
    outcome = found.collect_student("ada", files(entry("ada", "nb.ipynb")), Budget(Limits()))
    assert outcome.status == "refused"
    assert outcome.detail.startswith("student id 'ada' differs only in case from 'Ada', already in submitted/")
    assert found.collect_student("Ada", files(entry("Ada", "nb.ipynb")), Budget(Limits())).status == "collected"


def test_choose_the_shallowest_of_equal_names(tmp_path):
    found = collector(tmp_path)
    top, deep = entry("ada", "nb.ipynb"), entry("ada", "old", "nb.ipynb")
    chosen, extra, reasons = found._choose([("nb.ipynb", deep), ("nb.ipynb", top)])
    assert chosen == {"nb": ("nb.ipynb", top)} and extra == ["ada/old/nb.ipynb"] and reasons == []


def test_choose_refuses_to_guess_between_equal_depths(tmp_path):
    found = collector(tmp_path)
    one, two = entry("ada", "x", "nb.ipynb"), entry("ada", "y", "nb.ipynb")
    chosen, extra, reasons = found._choose([("nb.ipynb", one), ("nb.ipynb", two)])
    assert chosen == {}
    assert reasons == ["nb.ipynb not collected: several files could be it (ada/x/nb.ipynb, ada/y/nb.ipynb)"]
    assert extra == ["ada/x/nb.ipynb", "ada/y/nb.ipynb"]
    c1, c2 = entry("ada", "nb (1).ipynb"), entry("ada", "nb (2).ipynb")
    _, _, reasons = found._choose([(c1.parts[-1], c1), (c2.parts[-1], c2)])
    assert reasons == ["nb.ipynb not collected: several files could be it (nb (1).ipynb, nb (2).ipynb)"]


def test_choose_the_one_shallowest_over_several_deeper(tmp_path):
    found = collector(tmp_path)
    top, old, older = entry("ada", "nb.ipynb"), entry("ada", "x", "nb.ipynb"), entry("ada", "y", "nb.ipynb")
    chosen, extra, reasons = found._choose([("nb.ipynb", old), ("nb.ipynb", top), ("nb.ipynb", older)])
    assert chosen == {"nb": ("nb.ipynb", top)} and reasons == []
    assert extra == ["ada/x/nb.ipynb", "ada/y/nb.ipynb"]


def write(found, contents, kept=None, stamp="2026-10-01 12:00:00.000000 UTC"):
    return found._write("ada", contents, kept or {}, stamp)


def test_write_new_unchanged_stamped_and_replaced(tmp_path):
    found = collector(tmp_path, notebooks=("a", "b"))
    folder = found.config.submitted("ada", "hw")
    assert write(found, {"a.ipynb": b"1", "b.ipynb": b"2"}, {"submission_secret.txt": b"s"}) == "collected"
    assert (folder / "submission_secret.txt").read_bytes() == b"s"
    assert write(found, {"a.ipynb": b"1", "b.ipynb": b"2"}, stamp="later") == "unchanged"
    assert (folder / TIMESTAMP_FILE).read_text() == "2026-10-01 12:00:00.000000 UTC"
    (folder / TIMESTAMP_FILE).unlink()
    assert write(found, {"a.ipynb": b"1", "b.ipynb": b"2"}) == "collected (timestamp added)"
    assert write(found, {"a.ipynb": b"1", "b.ipynb": b"3"}, stamp="2026-10-02 00:00:00.000000 UTC") == "replaced"
    assert (folder / "b.ipynb").read_bytes() == b"3"
    assert not (folder / "submission_secret.txt").exists()  # the new submission brought none
    assert (folder / TIMESTAMP_FILE).read_text() == "2026-10-02 00:00:00.000000 UTC"
    assert write(found, {"a.ipynb": b"1"}) == "replaced"
    assert sorted(p.name for p in folder.iterdir()) == ["a.ipynb", TIMESTAMP_FILE]


def test_a_write_cut_short_leaves_no_old_time(tmp_path, monkeypatch):
    """A changed submission whose notebook cannot be written (a full disk) loses its old
    timestamp.txt: the next collect sees no time and writes the submission again."""
    found = collector(tmp_path)
    folder = found.config.submitted("ada", "hw")
    assert write(found, {"nb.ipynb": b"1"}) == "collected"

    def full(path, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(collect, "write_atomic", full)
    with pytest.raises(OSError):
        write(found, {"nb.ipynb": b"2"}, stamp="2026-10-02 00:00:00.000000 UTC")
    assert not (folder / TIMESTAMP_FILE).exists()
    assert (folder / "nb.ipynb").read_bytes() == b"1"


def test_write_dry_run_writes_nothing(tmp_path):
    found = collector(tmp_path, dry_run=True)
    assert write(found, {"nb.ipynb": b"1"}) == "collected (dry run)"
    assert not found.config.submitted().exists()


def test_write_never_outside_submitted(tmp_path):
    found = collector(tmp_path)
    found.config.submitted().mkdir(parents=True)
    with pytest.raises(RuntimeError, match="refusing to write outside"):
        found._write("../escape", {"nb.ipynb": b"1"}, {}, "stamp")
    assert not (tmp_path / "course" / "escape").exists()


def test_add_keeps_going_after_one_student_fails(tmp_path, monkeypatch):
    found = collector(tmp_path)
    real = found.collect_student

    def collect_student(student, files, budget):
        if student == "bo":
            raise ValueError("x" * 300)
        return real(student, files, budget)
    monkeypatch.setattr(found, "collect_student", collect_student)
    students = {"bo": files(entry("bo", "nb.ipynb")), "ada": files(entry("ada", "nb.ipynb"))}
    outcomes = found.add(students, [Refusal("zed/link", "symbolic link", "zed"), Refusal("x", "y")], Budget(Limits()))
    assert [(o.student, o.status) for o in outcomes] == [("ada", "collected"), ("bo", "refused"),
                                                         ("zed", "refused"), ("-", "refused")]
    assert outcomes[1].detail == f"could not be collected (ValueError: {'x' * 200})"
    assert outcomes[2].detail == "zed/link: symbolic link"


def test_add_stops_on_a_full_disk(tmp_path, monkeypatch):
    found = collector(tmp_path)

    def collect_student(student, files, budget):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(found, "collect_student", collect_student)
    with pytest.raises(SystemExit) as stopped:
        found.add({"ada": files(entry("ada", "nb.ipynb"))}, [], Budget(Limits()))
    assert str(stopped.value) == ("collect stopped: the disk is full (writing the submission of ada: [Errno 28] No "
                                  "space left on device). The students collected before are kept; free some space "
                                  "and run collect again.")


def test_summary():
    outcomes = [Outcome("ada", "collected"), Outcome("bo", "replaced", "nb.ipynb from 'x'"),
                Outcome("cy", "unchanged"), Outcome("dee", "refused", "no nb.ipynb"),
                Outcome("eve", "collected (dry run)")]
    assert summary(outcomes).splitlines() == [
        "student  status               detail",
        "ada      collected",
        "bo       replaced             nb.ipynb from 'x'",
        "cy       unchanged",
        "dee      refused              no nb.ipynb",
        "eve      collected (dry run)",
        "3 collected, 1 unchanged, 1 refused"]
    assert summary([]) == "student  status  detail\n0 collected, 0 unchanged, 0 refused"


def test_summary_keeps_one_line_per_outcome():
    """A refused id or file name may hold a line break ("carol\n"): it is shown escaped."""
    lines = summary([Outcome("carol\n", "refused", "a\r\nb.ipynb: bad"), Outcome("ada", "collected")]).splitlines()
    assert lines == ["student  status     detail", "carol\\n  refused    a\\r\\nb.ipynb: bad", "ada      collected",
                     "1 collected, 0 unchanged, 1 refused"]


def test_roster_ids_without_a_gradebook(tmp_path):
    assert collect.roster_ids(CourseConfig(root=tmp_path)) == (set(), {})


def known_assignment(monkeypatch):
    """Any assignment has the one notebook nb.ipynb: for collect's first check (in autograder.api,
    which reads it from autograder.course) and for the collector."""
    for module in (course, collect):
        monkeypatch.setattr(module, "course_notebooks", lambda config, assignment: ["nb"])


def test_run_argument_errors(tmp_path, monkeypatch):
    known_assignment(monkeypatch)
    base = dict(assignment="hw", source=None, from_exchange=False, pattern=None, layout=None, zip_timezone="UTC",
                max_file_mb=20.0, max_total_mb=1024.0, check_owner=True, dry_run=False)
    config = CourseConfig(root=tmp_path)
    with pytest.raises(SystemExit, match=r"^give a SOURCE \(folder or \.zip\) or --from-exchange$"):
        cli.run_collect(SimpleNamespace(**base), config)
    with pytest.raises(SystemExit, match="^give either a SOURCE or --from-exchange, not both$"):
        cli.run_collect(SimpleNamespace(**dict(base, source="x", from_exchange=True)), config)
    with pytest.raises(SystemExit, match="unknown time zone 'Mars/Olympus'"):
        cli.run_collect(SimpleNamespace(**dict(base, source="x", zip_timezone="Mars/Olympus")), config)
    with pytest.raises(SystemExit, match="not found: "):
        cli.run_collect(SimpleNamespace(**dict(base, source=str(tmp_path / "missing"))), config)
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(SystemExit, match="not a readable zip file"):
        cli.run_collect(SimpleNamespace(**dict(base, source=str(tmp_path / "bad.zip"))), config)


def test_run_collects_a_folder_and_exits_1_on_a_refusal(tmp_path, monkeypatch, capsys):
    known_assignment(monkeypatch)
    source = tmp_path / "in"
    (source / "ada").mkdir(parents=True)
    (source / "ada" / "nb.ipynb").write_bytes(NOTEBOOK)
    args = SimpleNamespace(assignment="hw", source=str(source), from_exchange=False, pattern=None, layout=None,
                           zip_timezone="Europe/Paris", max_file_mb=1.0, max_total_mb=2.0, check_owner=True,
                           dry_run=False)
    config = CourseConfig(root=tmp_path / "course")
    assert cli.run_collect(args, config) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"collect hw from {source} into {config.submitted()}\n")
    assert out.rstrip().endswith("1 collected, 0 unchanged, 0 refused")
    (source / "a+b").mkdir()
    (source / "a+b" / "nb.ipynb").write_bytes(NOTEBOOK)
    assert cli.run_collect(args, config) == 1


def test_collect_path_opens_zips_in_a_folder_in_the_given_zone(tmp_path, monkeypatch, los_angeles):
    """A zip in the source folder is the first nesting level and its times are read in the zone given."""
    monkeypatch.setattr(collect, "course_notebooks", lambda config, assignment: ["nb"])
    source = tmp_path / "in"
    (source / "ada").mkdir(parents=True)
    (source / "ada" / "work.zip").write_bytes(zip_bytes({"nb.ipynb": NOTEBOOK}))  # 2026-10-01 12:00 in the zone
    config = CourseConfig(root=tmp_path / "course")
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    outcomes = collect.collect_path(config, "hw", source, limits=Limits(depth=1), timezone=plus2)
    assert outcomes == [Outcome("ada", "collected", "")]
    assert (config.submitted("ada", "hw") / TIMESTAMP_FILE).read_text() == "2026-10-01 10:00:00.000000 UTC"


def test_collect_path_of_a_download_with_zips_in_it(tmp_path, monkeypatch, los_angeles):
    """An LMS download whose student entry is itself a zip: one nesting level, times in the zone given."""
    monkeypatch.setattr(collect, "course_notebooks", lambda config, assignment: ["nb"])
    download = tmp_path / "download.zip"
    download.write_bytes(zip_bytes({"smithada_1001_77_work.zip": zip_bytes({"nb.ipynb": NOTEBOOK})}))
    config = CourseConfig(root=tmp_path / "course")
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    outcomes = collect.collect_path(config, "hw", download, limits=Limits(depth=1), timezone=plus2)
    assert outcomes == [Outcome("1001", "collected", "")]
    assert (config.submitted("1001", "hw") / TIMESTAMP_FILE).read_text() == "2026-10-01 10:00:00.000000 UTC"


def big_notebook():
    """A valid notebook of 21 MB, over the default limit for one file (20 MB)."""
    return NOTEBOOK[:-1] + b" " * (21 * MB) + b"}"


def test_collect_path_takes_a_file_up_to_the_limit_given(tmp_path, monkeypatch):
    monkeypatch.setattr(collect, "course_notebooks", lambda config, assignment: ["nb"])
    source = tmp_path / "in"
    (source / "ada").mkdir(parents=True)
    (source / "ada" / "nb.ipynb").write_bytes(big_notebook())
    config = CourseConfig(root=tmp_path / "course")
    assert collect.collect_path(config, "hw", source, limits=Limits(file_bytes=22 * MB)) == [
        Outcome("ada", "collected", "")]
    assert (config.submitted("ada", "hw") / "nb.ipynb").stat().st_size == len(big_notebook())


def test_collect_exchange_takes_what_exchange_accepts(tmp_path, monkeypatch, los_angeles):
    import autograder.exchange
    from autograder.exchange import InboundEntry

    monkeypatch.setattr(collect, "course_notebooks", lambda config, assignment: ["nb"])
    inbound = tmp_path / "inbound"
    ada = inbound / "ada+hw+2026-10-01 12:00:00.000000 UTC+x"
    (ada / "sub").mkdir(parents=True)
    (ada / "nb.ipynb").write_bytes(NOTEBOOK)
    (ada / TIMESTAMP_FILE).write_text("2020-01-01 00:00:00.000000 UTC")  # the student's claim: not used
    (ada / "submission_secret.txt").write_text("secret")
    (ada / "sub" / "link").symlink_to(ada / "nb.ipynb")
    forged = inbound / "bob+hw+2026-10-01 13:00:00.000000 UTC+y"
    forged.mkdir()
    entries = [InboundEntry("ada", ada, time=datetime.datetime(2026, 10, 2, 1, 0, tzinfo=UTC), note="claimed earlier"),
               InboundEntry("bob", forged, problem="written by user mallory, not bob")]
    calls = []
    monkeypatch.setattr(autograder.exchange, "exchange_submissions",
                        lambda config, assignment, check_owner: calls.append((assignment, check_owner)) or entries)
    config = CourseConfig(root=tmp_path / "course")
    outcomes = collect.collect_exchange(config, "hw", check_owner=False)
    assert calls == [("hw", False)]
    assert [(o.student, o.status, o.detail) for o in outcomes] == [
        ("ada", "collected", "claimed earlier"),
        ("ada", "refused", "ada/sub/link: symbolic link (not followed)"),
        ("bob", "refused", f"{forged.name}: written by user mallory, not bob")]
    folder = config.submitted("ada", "hw")
    assert sorted(p.name for p in folder.iterdir()) == ["nb.ipynb", "submission_secret.txt", TIMESTAMP_FILE]
    assert (folder / TIMESTAMP_FILE).read_text() == "2026-10-02 01:00:00.000000 UTC"
    assert (folder / "submission_secret.txt").read_text() == "secret"


def inbound_folder(tmp_path, name):
    folder = tmp_path / "inbound" / name
    folder.mkdir(parents=True)
    return folder


def test_collect_exchange_checks_owners_unless_told_and_goes_on_after_a_refusal(tmp_path, monkeypatch, los_angeles):
    """Owners are checked by default; a refused entry does not stop the others; a notebook may sit
    in a subfolder and a zip is opened; roster students are named."""
    import autograder.exchange
    from autograder.exchange import InboundEntry

    monkeypatch.setattr(collect, "course_notebooks", lambda config, assignment: ["nb"])
    monkeypatch.setattr(collect, "roster_ids", lambda config: ({"bo"}, {}))
    forged = inbound_folder(tmp_path, "bo+hw+x")
    ada = inbound_folder(tmp_path, "ada+hw+y")
    (ada / "sub").mkdir()
    (ada / "sub" / "nb.ipynb").write_bytes(NOTEBOOK)
    (ada / "extra.zip").write_bytes(zip_bytes({"notes.txt": b"hello"}))
    entries = [InboundEntry("bo", forged, problem="written by user mallory, not bo"),
               InboundEntry("ada", ada, time=datetime.datetime(2026, 10, 2, 1, 0, tzinfo=UTC))]
    calls = []
    monkeypatch.setattr(autograder.exchange, "exchange_submissions",
                        lambda config, assignment, check_owner: calls.append((config, assignment, check_owner))
                        or entries)
    config = CourseConfig(root=tmp_path / "course")
    outcomes = collect.collect_exchange(config, "hw")
    assert calls == [(config, "hw", True)]
    assert [(o.student, o.status, o.detail) for o in outcomes] == [
        ("ada", "collected", "ignored: ada/extra.zip/notes.txt; not on the roster"),
        ("bo", "refused", "bo+hw+x: written by user mallory, not bo")]
    assert (config.submitted("ada", "hw") / "nb.ipynb").read_bytes() == NOTEBOOK


def test_collect_exchange_dry_run_writes_nothing(tmp_path, monkeypatch):
    import autograder.exchange
    from autograder.exchange import InboundEntry

    monkeypatch.setattr(collect, "course_notebooks", lambda config, assignment: ["nb"])
    ada = inbound_folder(tmp_path, "ada+hw+y")
    (ada / "nb.ipynb").write_bytes(NOTEBOOK)
    monkeypatch.setattr(autograder.exchange, "exchange_submissions", lambda config, assignment, check_owner: [
        InboundEntry("ada", ada, time=datetime.datetime(2026, 10, 2, tzinfo=UTC))])
    config = CourseConfig(root=tmp_path / "course")
    assert collect.collect_exchange(config, "hw", dry_run=True) == [Outcome("ada", "collected (dry run)", "")]
    assert not config.submitted().exists()


def test_collect_exchange_takes_a_file_up_to_the_limit_given(tmp_path, monkeypatch):
    import autograder.exchange
    from autograder.exchange import InboundEntry

    monkeypatch.setattr(collect, "course_notebooks", lambda config, assignment: ["nb"])
    ada = inbound_folder(tmp_path, "ada+hw+y")
    (ada / "nb.ipynb").write_bytes(big_notebook())
    monkeypatch.setattr(autograder.exchange, "exchange_submissions", lambda config, assignment, check_owner: [
        InboundEntry("ada", ada, time=datetime.datetime(2026, 10, 2, tzinfo=UTC))])
    config = CourseConfig(root=tmp_path / "course")
    assert collect.collect_exchange(config, "hw", limits=Limits(file_bytes=22 * MB)) == [
        Outcome("ada", "collected", "")]


def test_collect_arguments():
    import argparse

    parser = argparse.ArgumentParser()
    cli.collect_arguments(parser)
    args = parser.parse_args(["hw"])
    assert vars(args) == dict(assignment="hw", source=None, from_exchange=False, pattern=None, layout=None,
                              zip_timezone="UTC", max_file_mb=20.0, max_total_mb=1024.0, check_owner=True,
                              dry_run=False)
    args = parser.parse_args(["hw", "in.zip", "--from-exchange", "--pattern", "moodle", "--layout", "lms",
                              "--zip-timezone", "Europe/Paris", "--max-file-mb", "2.5", "--max-total-mb", "9",
                              "--no-owner-check", "--dry-run"])
    assert vars(args) == dict(assignment="hw", source="in.zip", from_exchange=True, pattern="moodle", layout="lms",
                              zip_timezone="Europe/Paris", max_file_mb=2.5, max_total_mb=9.0, check_owner=False,
                              dry_run=True)
    with pytest.raises(SystemExit):
        parser.parse_args(["hw", "--layout", "other"])
    assert parser.parse_args(["hw", "--layout", "folders"]).layout == "folders"
    text = " ".join(parser.format_help().split())
    for phrase in ["assignment id, e.g. scoring_functions", "a folder STUDENT_ID/NOTEBOOK.ipynb, or an LMS download .zip",
                   "collect from nbgrader's exchange (course.toml: exchange, course_id)",
                   "LMS file name pattern: canvas, moodle, or a regex with a group (?P<student>...) (default: "
                   "course.toml [lms] filename_pattern, else canvas)",
                   "how student ids are found: folder names or LMS file names (default: lms for a .zip or with "
                   "--pattern, folders otherwise)",
                   "time zone of zip entry times without a UTC timestamp (default: UTC)",
                   "largest notebook taken (default: 20)", "most read from one download, nested zips included "
                   "(default: 1024)",
                   "--from-exchange: take entries whatever user wrote them (only for hubs where every student runs "
                   "as one system user; see INSTRUCTORS.md)",
                   "report what would be collected, write nothing"]:
        assert re.search(r"(?<![\w])" + re.escape(phrase) + r"(?![\w])", text), phrase  # not inside other text


def test_run_passes_its_arguments_on(tmp_path, monkeypatch, capsys):
    known_assignment(monkeypatch)
    calls = []
    monkeypatch.setattr(collect, "collect_exchange", lambda *a: calls.append(("exchange",) + a) or [
        Outcome("ada", "collected")])
    monkeypatch.setattr(collect, "collect_path", lambda *a: calls.append(("path",) + a) or [
        Outcome("ada", "refused", "no nb.ipynb")])
    config = CourseConfig(root=tmp_path, exchange="/srv/exchange")
    args = SimpleNamespace(assignment="hw", source=None, from_exchange=True, pattern="moodle", layout="lms",
                           zip_timezone="Europe/Paris", max_file_mb=1.5, max_total_mb=3.0, check_owner=False,
                           dry_run=True)
    assert cli.run_collect(args, config) == 0
    limits = Limits(file_bytes=int(1.5 * MB), total_bytes=3 * MB)
    assert calls.pop() == ("exchange", config, "hw", limits, True, False)
    assert capsys.readouterr().out.startswith(f"collect hw from nbgrader exchange /srv/exchange into "
                                              f"{config.submitted()}\n")
    args.from_exchange, args.source = False, "in.zip"
    assert cli.run_collect(args, config) == 1
    _, *passed = calls.pop()
    assert passed[:6] == [config, "hw", "in.zip", "moodle", "lms", limits] and passed[6] is True
    assert str(passed[7]) == "Europe/Paris"
    assert capsys.readouterr().out.startswith(f"collect hw from in.zip into {config.submitted()}\n")
