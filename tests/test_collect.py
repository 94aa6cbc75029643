"""`collect`: submissions from a folder or an LMS zip into COURSE/submitted/STUDENT/ASSIGNMENT/."""
import datetime
import io
import os
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import archive, collect
from autograder.archive import Limits, entry_name_problem, zip_entry_time
from autograder.cli import main
from autograder.collect import collect_path
from autograder.config import load_config
from autograder.submissions import match_notebooks, read_timestamp
from submission_factory import make_submission, write_submission

ASSIGNMENT = "scoring_functions"
OCT_1 = datetime.datetime(2026, 10, 1, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="module")
def notebook_bytes():
    return nbformat.writes(make_submission(ASSIGNMENT)).encode()


@pytest.fixture
def config(tmp_path):
    return load_config(tmp_path / "course")


def submitted(config, student):
    return config.submitted(student, ASSIGNMENT)


def statuses(outcomes):
    return {o.student: o.status for o in outcomes if o.status != "refused"}


def refusals(outcomes):
    return [f"{o.student} {o.detail}" for o in outcomes if o.status == "refused"]


def all_files(root):
    return {p for p in Path(root).rglob("*")}


def zip_bytes(members):
    """A zip in memory; members: name -> bytes, or a ZipInfo -> bytes (symlinks, dates)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name, (2026, 10, 1, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


# ---------------------------------------------------------------- a folder

def test_folder_import_copies_notebooks_in_nbgrader_layout(config, tmp_path, notebook_bytes):
    source = tmp_path / "download"
    alice = write_submission(source, "alice", ASSIGNMENT, make_submission(ASSIGNMENT))
    os.utime(alice, (OCT_1.timestamp(), OCT_1.timestamp()))
    write_submission(source, "bob", f"{ASSIGNMENT} (1)", make_submission(ASSIGNMENT))
    (source / "bob" / "notes.txt").write_text("my notes")
    (source / "carol").mkdir()
    (source / "carol" / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [')  # not valid JSON
    (source / "dave").mkdir()
    (source / "dave" / f"{ASSIGNMENT}.ipynb").write_text('{"nbformat": 3, "worksheets": []}')
    write_submission(source, "bad id", ASSIGNMENT, make_submission(ASSIGNMENT))
    (source / "erin").mkdir()
    (source / "erin" / f"{ASSIGNMENT}.ipynb").symlink_to(config.root.parent / "secret.txt")
    (config.root.parent / "secret.txt").write_text("the gradebook password")

    outcomes = collect_path(config, ASSIGNMENT, source)

    assert statuses(outcomes) == {"alice": "collected", "bob": "collected", "carol": "collected",
                                  "dave": "collected"}
    for student in ("alice", "bob", "carol", "dave"):
        assert sorted(p.name for p in submitted(config, student).iterdir()) == [
            f"{ASSIGNMENT}.ipynb", "timestamp.txt"]
    assert (submitted(config, "alice") / "timestamp.txt").read_text() == "2026-10-01 12:00:00.000000 UTC"
    assert read_timestamp(submitted(config, "alice")) == OCT_1
    assert (submitted(config, "bob") / f"{ASSIGNMENT}.ipynb").read_bytes() == \
        (source / "bob" / f"{ASSIGNMENT} (1).ipynb").read_bytes()
    # Broken notebooks are copied as they are (the grader gives them 0) and reported.
    assert (submitted(config, "carol") / f"{ASSIGNMENT}.ipynb").read_text() == '{"cells": ['
    detail = {o.student: o.detail for o in outcomes if o.status != "refused"}
    assert "not valid JSON" in detail["carol"]
    assert "not a version 4 Jupyter notebook" in detail["dave"]
    assert "ignored: bob/notes.txt" in detail["bob"] and "(1)" in detail["bob"]
    refused = refusals(outcomes)
    assert any(r.startswith("bad id invalid student id") for r in refused)
    assert any(r.startswith("erin ") and "symbolic link" in r for r in refused)
    assert not config.submitted("erin").exists() and not config.submitted("bad id").exists()


def test_files_outside_student_folders_and_empty_folders_are_refused(config, tmp_path):
    source = tmp_path / "download"
    (source / "frank").mkdir(parents=True)
    (source / "frank" / "answers.py").write_text("print(1)")
    (source / f"{ASSIGNMENT}.ipynb").write_text("{}")
    outcomes = collect_path(config, ASSIGNMENT, source)
    assert statuses(outcomes) == {}
    refused = refusals(outcomes)
    assert any("frank no scoring_functions.ipynb" in r and "ignored: frank/answers.py" in r for r in refused)
    assert any("not inside a student folder" in r for r in refused)
    assert not config.submitted().exists()


# ---------------------------------------------------------------- an LMS zip

def test_canvas_zip_with_nested_zips_renamed_notebooks_and_hostile_entries(config, tmp_path, notebook_bytes):
    symlink = zipfile.ZipInfo("leeann_888_999_scoring_functions.ipynb", date_time=(2026, 10, 1, 12, 0, 0))
    symlink.external_attr = 0o120777 << 16
    student_zip = zip_bytes({
        "my work/scoring_functions.ipynb": notebook_bytes,
        "my work/data.csv": b"1,2,3",
        "../../evil.ipynb": notebook_bytes,
    })
    batch_zip = zip_bytes({"kimchris_444_555_scoring_functions (2).ipynb": notebook_bytes})
    download = tmp_path / "submissions.zip"
    download.write_bytes(zip_bytes({
        "smithalice_111_222_scoring_functions.ipynb": notebook_bytes,
        "jonesbob_late_333_444_Bob_Jones_scoring_functions-2.ipynb": notebook_bytes,
        "doedan_666_777_submission.zip": student_zip,
        "batch2.zip": batch_zip,
        "readme.txt": b"not a submission",
        "scoring_functions.ipynb": notebook_bytes,
        "../../evil.ipynb": notebook_bytes,
        "/tmp/evil.ipynb": notebook_bytes,
        "..\\..\\evil2.ipynb": notebook_bytes,
        symlink: b"/etc/passwd",
    }))
    before = all_files(tmp_path)

    outcomes = collect_path(config, ASSIGNMENT, download)

    assert statuses(outcomes) == {"111": "collected", "333": "collected", "666": "collected",
                                  "444": "collected"}
    for student in ("111", "333", "666", "444"):
        assert (submitted(config, student) / f"{ASSIGNMENT}.ipynb").read_bytes() == notebook_bytes
        assert (submitted(config, student) / "timestamp.txt").read_text() == "2026-10-01 12:00:00.000000 UTC"
    detail = {o.student: o.detail for o in outcomes if o.status != "refused"}
    assert "Bob_Jones_scoring_functions-2" in detail["333"]
    assert "ignored: doedan_666_777_submission.zip/my work/data.csv" in detail["666"]
    refused = refusals(outcomes)
    assert any(r.startswith("666 ") and "evil.ipynb" in r and "climbs out" in r for r in refused)
    assert sum("climbs out" in r for r in refused) == 3
    assert any("/tmp/evil.ipynb" in r and "absolute path" in r for r in refused)
    assert any(r.startswith("888 ") and "symbolic link" in r for r in refused)
    assert any(r.startswith("- readme.txt") and "does not match the LMS pattern 'canvas'" in r for r in refused)
    assert any(r.startswith("- scoring_functions.ipynb") and "does not match" in r for r in refused)
    # Nothing was written anywhere but COURSE/submitted/.
    written = all_files(tmp_path) - before
    assert written and all(config.submitted() in p.parents or p == config.submitted() or p == config.root
                           for p in written)
    assert not any(p.name.startswith("evil") for p in all_files(tmp_path.parent))
    assert not list(Path.cwd().glob("evil*"))


def test_zip_entry_over_the_size_limit_is_refused(config, tmp_path, notebook_bytes):
    download = tmp_path / "canvas.zip"
    huge = notebook_bytes + b" " * (2 * archive.MB)  # compresses to almost nothing
    download.write_bytes(zip_bytes({"smithalice_111_222_scoring_functions.ipynb": huge,
                                    "jonesbob_333_444_scoring_functions.ipynb": notebook_bytes}))
    outcomes = collect_path(config, ASSIGNMENT, download, limits=Limits(file_bytes=archive.MB))
    assert statuses(outcomes) == {"333": "collected"}
    assert any(r.startswith("111 ") and "more than the 1.0 MB limit" in r for r in refusals(outcomes))
    assert not config.submitted("111").exists()


def test_zip_bombs_are_refused_by_total_size_and_nesting_depth(config, tmp_path, notebook_bytes):
    layer = zip_bytes({"smithalice_111_222_scoring_functions.ipynb": notebook_bytes})
    for depth in range(4):
        layer = zip_bytes({f"layer{depth}.zip": layer})
    download = tmp_path / "deep.zip"
    download.write_bytes(layer)
    outcomes = collect_path(config, ASSIGNMENT, download)
    assert statuses(outcomes) == {}
    assert any("nested more than 3 levels deep" in r for r in refusals(outcomes))

    many = {f"student{i}_{i}00_1_scoring_functions.ipynb": b"{" + b" " * archive.MB for i in range(1, 6)}
    download.write_bytes(zip_bytes({"part.zip": zip_bytes(many)}))
    limits = Limits(file_bytes=2 * archive.MB, total_bytes=int(3.5 * archive.MB))
    outcomes = collect_path(config, ASSIGNMENT, download, limits=limits)
    assert download.stat().st_size < 100_000  # 5 MB of notebooks
    assert sorted(statuses(outcomes)) == ["100", "200", "300"]
    assert sum("limit for the whole download" in r for r in refusals(outcomes)) == 2


def test_moodle_folders_and_lms_ids_from_the_roster(config, tmp_path, notebook_bytes):
    from autograder.gradebook import open_gradebook

    config.root.mkdir(parents=True)
    with open_gradebook(config) as gradebook:
        gradebook.update_or_create_student("s1001", lms_user_id="1234567")
    download = tmp_path / "moodle.zip"
    download.write_bytes(zip_bytes({
        "Alice Smith_1234567_assignsubmission_file_/scoring_functions.ipynb": notebook_bytes,
        "Bob Jones_7654321_assignsubmission_file_scoring_functions.ipynb": notebook_bytes,
        "Carl Doe_555_assignsubmission_onlinetext_onlinetext.html": b"<p>see notebook</p>",
    }))
    outcomes = collect_path(config, ASSIGNMENT, download, pattern="moodle")
    assert statuses(outcomes) == {"s1001": "collected", "7654321": "collected"}
    detail = {o.student: o.detail for o in outcomes}
    assert "not on the roster" in detail["7654321"] and "roster" not in detail["s1001"]
    assert any(r.startswith("555 no scoring_functions.ipynb") for r in refusals(outcomes))


def test_pattern_from_course_toml_and_invalid_patterns(tmp_path, notebook_bytes):
    root = tmp_path / "course"
    root.mkdir()
    (root / "course.toml").write_text('[lms]\nfilename_pattern = "(?P<student>[a-z]+)--"\n')
    config = load_config(root)
    download = tmp_path / "d.zip"
    download.write_bytes(zip_bytes({"alice--scoring_functions.ipynb": notebook_bytes}))
    assert statuses(collect_path(config, ASSIGNMENT, download)) == {"alice": "collected"}
    with pytest.raises(SystemExit, match="named group"):
        collect_path(config, ASSIGNMENT, download, pattern=r"(\d+)_")
    with pytest.raises(SystemExit, match="not a valid regular expression"):
        collect_path(config, ASSIGNMENT, download, pattern=r"(?P<student>[")


def test_ambiguous_notebooks_are_not_guessed(config, tmp_path, notebook_bytes):
    download = tmp_path / "canvas.zip"
    download.write_bytes(zip_bytes({
        "smithalice_111_222_scoring_functions (1).ipynb": notebook_bytes,
        "smithalice_111_223_scoring_functions-2.ipynb": notebook_bytes,
    }))
    outcomes = collect_path(config, ASSIGNMENT, download)
    assert statuses(outcomes) == {}
    assert any("several files could be it" in r for r in refusals(outcomes))


# ---------------------------------------------------------------- collecting again

def test_recollect_leaves_unchanged_submissions_alone_and_replaces_changed_ones(config, tmp_path):
    source = tmp_path / "download"
    for student in ("alice", "bob"):
        path = write_submission(source, student, ASSIGNMENT, make_submission(ASSIGNMENT))
        os.utime(path, (OCT_1.timestamp(), OCT_1.timestamp()))
    assert statuses(collect_path(config, ASSIGNMENT, source)) == {"alice": "collected", "bob": "collected"}
    stats = {p: p.stat().st_mtime_ns for p in config.submitted().rglob("*")}
    contents = {p: p.read_bytes() for p in config.submitted().rglob("*") if p.is_file()}

    assert statuses(collect_path(config, ASSIGNMENT, source)) == {"alice": "unchanged", "bob": "unchanged"}
    assert {p: p.stat().st_mtime_ns for p in config.submitted().rglob("*")} == stats

    later = OCT_1 + datetime.timedelta(days=1)
    path = write_submission(source, "alice", ASSIGNMENT, make_submission(ASSIGNMENT, blank={"log_softmax"}))
    os.utime(path, (later.timestamp(), later.timestamp()))
    assert statuses(collect_path(config, ASSIGNMENT, source)) == {"alice": "replaced", "bob": "unchanged"}
    alice = submitted(config, "alice")
    assert (alice / f"{ASSIGNMENT}.ipynb").read_bytes() == path.read_bytes()
    assert read_timestamp(alice) == later
    for bob_file in submitted(config, "bob").iterdir():
        assert bob_file.stat().st_mtime_ns == stats[bob_file] and bob_file.read_bytes() == contents[bob_file]


def test_renamed_notebook_replaces_the_earlier_file(config, tmp_path):
    source = tmp_path / "download"
    write_submission(source, "alice", ASSIGNMENT, make_submission(ASSIGNMENT))
    collect_path(config, ASSIGNMENT, source)
    (source / "alice" / f"{ASSIGNMENT}.ipynb").unlink()
    write_submission(source, "alice", "Untitled", make_submission(ASSIGNMENT, blank={"log_softmax"}))
    assert statuses(collect_path(config, ASSIGNMENT, source)) == {"alice": "replaced"}
    assert sorted(p.name for p in submitted(config, "alice").iterdir()) == [f"{ASSIGNMENT}.ipynb", "timestamp.txt"]


def test_dry_run_writes_nothing(config, tmp_path):
    source = tmp_path / "download"
    write_submission(source, "alice", ASSIGNMENT, make_submission(ASSIGNMENT))
    assert statuses(collect_path(config, ASSIGNMENT, source, dry_run=True)) == {"alice": "collected (dry run)"}
    assert not config.submitted().exists()


# ---------------------------------------------------------------- the command

def test_cli_prints_a_summary_and_exits_1_when_something_was_refused(tmp_path, capsys, notebook_bytes):
    download = tmp_path / "canvas.zip"
    download.write_bytes(zip_bytes({"smithalice_111_222_scoring_functions.ipynb": notebook_bytes,
                                    "../evil.ipynb": notebook_bytes}))
    course = tmp_path / "course"
    assert main(["--course", str(course), "collect", ASSIGNMENT, str(download)]) == 1
    out = capsys.readouterr().out
    assert "111" in out and "collected" in out and "climbs out" in out
    assert out.strip().endswith("1 collected, 0 unchanged, 1 refused")
    assert main(["--course", str(course), "collect", ASSIGNMENT, str(download), "--pattern", "canvas"]) == 1
    assert capsys.readouterr().out.strip().endswith("0 collected, 1 unchanged, 1 refused")
    with pytest.raises(SystemExit, match="unknown assignment"):
        main(["--course", str(course), "collect", "no_such_assignment", str(download)])
    with pytest.raises(SystemExit, match="SOURCE"):
        main(["--course", str(course), "collect", ASSIGNMENT])


# ---------------------------------------------------------------- the pieces

@pytest.mark.parametrize("name, problem", [
    ("alice/nb.ipynb", ""),
    ("./alice/nb.ipynb", ""),
    ("../nb.ipynb", "climbs out"),
    ("alice/../../nb.ipynb", "climbs out"),
    ("..\\..\\nb.ipynb", "climbs out"),
    ("/etc/nb.ipynb", "absolute"),
    ("\\\\server\\share\\nb.ipynb", "absolute"),
    ("C:/Users/nb.ipynb", "absolute"),
])
def test_entry_name_problem(name, problem):
    assert (problem in entry_name_problem(name)) if problem else entry_name_problem(name) == ""


def test_zip_entry_time_prefers_the_utc_extended_timestamp():
    info = zipfile.ZipInfo("a", date_time=(2026, 10, 1, 14, 0, 0))
    assert zip_entry_time(info) == datetime.datetime(2026, 10, 1, 14, 0, tzinfo=datetime.timezone.utc)
    info.extra = b"\x55\x54\x05\x00\x01" + int(OCT_1.timestamp()).to_bytes(4, "little")
    assert zip_entry_time(info) == OCT_1


@pytest.mark.parametrize("files, expected, matched", [
    (["scoring_functions.ipynb"], ["scoring_functions"], {"scoring_functions": "scoring_functions.ipynb"}),
    (["scoring_functions (1).ipynb"], ["scoring_functions"], {"scoring_functions": "scoring_functions (1).ipynb"}),
    (["Alice_Smith_123_scoring_functions-2.ipynb"], ["scoring_functions"],
     {"scoring_functions": "Alice_Smith_123_scoring_functions-2.ipynb"}),
    (["Untitled.ipynb"], ["scoring_functions"], {"scoring_functions": "Untitled.ipynb"}),
    (["a.ipynb", "b.ipynb"], ["scoring_functions"], {}),
    (["Untitled.ipynb"], ["part1", "part2"], {}),
    (["Part1 copy.ipynb", "x_part2-3.ipynb", "notes.ipynb"], ["part1", "part2"],
     {"part1": "Part1 copy.ipynb", "part2": "x_part2-3.ipynb"}),
    (["self_attention (1).ipynb", "attention.ipynb"], ["attention", "self_attention"],
     {"attention": "attention.ipynb", "self_attention": "self_attention (1).ipynb"}),
])
def test_match_notebooks(files, expected, matched):
    assert match_notebooks(files, expected)[0] == matched


def test_zip_entry_that_lies_about_its_size_is_refused(config, tmp_path, notebook_bytes):
    """A header claiming 100 bytes for a 3 MB member: reading stops at 100 and the CRC fails."""
    data = bytearray(zip_bytes({"smithalice_111_222_scoring_functions.ipynb": notebook_bytes + b" " * 3 * archive.MB}))
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    data[local + 22:local + 26] = (100).to_bytes(4, "little")
    data[central + 24:central + 28] = (100).to_bytes(4, "little")
    download = tmp_path / "liar.zip"
    download.write_bytes(bytes(data))
    outcomes = collect_path(config, ASSIGNMENT, download, limits=Limits(file_bytes=archive.MB))
    assert statuses(outcomes) == {}
    assert any(r.startswith("111 ") and "cannot be read" in r for r in refusals(outcomes))
    assert not config.submitted().exists()


# ---------------------------------------------------------------- one student's trouble

def deep_notebook(depth):
    """The reference answers with a cell's metadata nested `depth` levels deep."""
    text = nbformat.writes(make_submission(ASSIGNMENT))
    return text.replace('"metadata": {', '"metadata": {"deep": ' + '{"a": ' * depth + "1" + "}" * depth + ", ", 1)


def test_one_students_trouble_costs_that_student_only(config, tmp_path, monkeypatch):
    """Deep nesting, a string in metadata.nbgrader, an exception while reading one student's
    files, "carol\\n" next to "carol_": each student is collected or refused on their own."""
    source = tmp_path / "download"
    good = nbformat.writes(make_submission(ASSIGNMENT))
    meta = make_submission(ASSIGNMENT)
    next(c for c in meta.cells if c.cell_type == "code").metadata["nbgrader"] = "solution"
    files = {"amy": good, "deep400": deep_notebook(400), "deep900": deep_notebook(900), "deep5000": deep_notebook(5000),
             "meta": nbformat.writes(meta), "victim": good.replace("{", '{"VICTIM": 1, ', 1),
             "carol\n": good, "carol_": good, "zed": good}
    for student, text in files.items():
        (source / student).mkdir(parents=True)
        (source / student / f"{ASSIGNMENT}.ipynb").write_text(text)
    real = collect.notebook_bytes_problem

    def tripping(data):
        if b'"VICTIM"' in data:
            raise RuntimeError("injected: reading this one broke")
        return real(data)

    monkeypatch.setattr(collect, "notebook_bytes_problem", tripping)
    outcomes = collect_path(config, ASSIGNMENT, source)

    collected = ("amy", "deep400", "deep900", "deep5000", "meta", "carol_", "zed")
    assert statuses(outcomes) == {student: "collected" for student in collected}
    detail = {o.student: o.detail for o in outcomes}
    for student in ("deep400", "deep900"):  # 900 raised RecursionError in nbformat's validator
        assert "nested more than 100 levels deep): copied, it will score 0" in detail[student]
    assert "not valid JSON (nested too deeply): copied, it will score 0" in detail["deep5000"]
    assert "metadata.nbgrader is a str, not a mapping" in detail["meta"]
    assert detail["amy"] == detail["zed"] == detail["carol_"] == ""
    refused = refusals(outcomes)
    assert len(refused) == 2 and any(r.startswith("victim could not be collected (RuntimeError: injected")
                                     for r in refused) and any(r.startswith("carol\n invalid student id 'carol\\n'")
                                                               for r in refused), refused
    assert sorted(p.name for p in config.submitted().iterdir()) == sorted(collected)
    for student in ("deep400", "deep900", "deep5000"):
        assert (submitted(config, student) / f"{ASSIGNMENT}.ipynb").read_text() == files[student]


def test_an_id_that_differs_only_in_case_is_refused(config, tmp_path):
    source = tmp_path / "download"
    write_submission(source, "carol_", ASSIGNMENT, make_submission(ASSIGNMENT))
    assert statuses(collect_path(config, ASSIGNMENT, source)) == {"carol_": "collected"}
    later = tmp_path / "later"
    write_submission(later, "Carol_", ASSIGNMENT, make_submission(ASSIGNMENT))
    outcomes = collect_path(config, ASSIGNMENT, later)
    assert refusals(outcomes) == [f"Carol_ student id 'Carol_' differs only in case from 'carol_', already in "
                                  f"submitted/ (refused: they would share a folder): Carol_/{ASSIGNMENT}.ipynb"]
    assert sorted(p.name for p in config.submitted().iterdir()) == ["carol_"]


def test_a_full_disk_stops_collect_with_one_message_and_a_rerun_completes(config, tmp_path, monkeypatch,
                                                                          notebook_bytes):
    import errno

    source = tmp_path / "download"
    for student in ("amy", "ben", "cat"):
        (source / student).mkdir(parents=True)
        (source / student / f"{ASSIGNMENT}.ipynb").write_bytes(notebook_bytes)
    real = collect.write_atomic

    def full_at_ben(path, content):
        if path.parent.parent.name == "ben" and path.name == "timestamp.txt":  # ben's notebook is written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, content)

    monkeypatch.setattr(collect, "write_atomic", full_at_ben)
    with pytest.raises(SystemExit) as stopped:
        collect_path(config, ASSIGNMENT, source)
    message = str(stopped.value)
    assert message.startswith("collect stopped: the disk is full (writing the submission of ben") and \
        "The students collected before are kept" in message, message
    assert read_timestamp(submitted(config, "amy")) is not None  # amy whole
    assert not (submitted(config, "ben") / "timestamp.txt").exists()  # ben not marked collected
    assert not config.submitted("cat").exists()

    monkeypatch.setattr(collect, "write_atomic", real)
    assert statuses(collect_path(config, ASSIGNMENT, source)) == {
        "amy": "unchanged", "ben": "collected (timestamp added)", "cat": "collected"}
    for student in ("amy", "ben", "cat"):
        assert (submitted(config, student) / f"{ASSIGNMENT}.ipynb").read_bytes() == notebook_bytes
