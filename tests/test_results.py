"""autograder.results, function by function: results.json written atomically and read back, only
under a valid student id and for the student and assignment it names, and what counts as a full
disk. Fast unit tests (see CONTRIBUTING.md, "Mutation check")."""
import errno
import json
import os

import pytest

from autograder import results
from autograder.config import CourseConfig
from autograder.results import (CheckResult, QuestionResult, ReviewFlag, SubmissionResult, disk_full, load_result,
                                load_results, results_path, save_result, write_atomic)


def sample(student="ada", assignment="hw"):
    return SubmissionResult(
        student, assignment, "sha256:abc", "graded", timestamp="2026-10-01T12:00:00+00:00",
        graded_at="2026-10-02T08:00:00+00:00", seconds=2.5,
        questions=[QuestionResult("nb", "q1", 2.0, 2.0, results.PASSED),
                   QuestionResult("nb", "q2", 1.5, 6.0, results.FAILED, ["divide by sqrt(d)"],
                                  [CheckResult("shapes", 1.5, 1.5, results.PASSED),
                                   CheckResult("scaling", 4.5, 0.0, results.FAILED, "divide by sqrt(d)")])],
        flags=[ReviewFlag("nb", 3, 1, "monkeypatch", "assigns to np.allclose", "np.allclose = None")],
        faults=["timeout"])


def test_scores_add_up():
    assert sample().score == 3.5
    assert sample().max_score == 8.0
    assert SubmissionResult("a", "hw", "", "graded").score == 0


def test_json_round_trip():
    original = sample()
    text = original.to_json()
    assert text.startswith('{\n "assignment": "hw",\n "digest"')  # indent 1, keys sorted
    data = json.loads(text)
    assert data["questions"][1] == {
        "notebook": "nb", "question": "q2", "score": 1.5, "max_score": 6.0, "status": "failed",
        "messages": ["divide by sqrt(d)"],
        "checks": [{"name": "shapes", "points": 1.5, "score": 1.5, "status": "passed", "message": ""},
                   {"name": "scaling", "points": 4.5, "score": 0.0, "status": "failed", "message": "divide by sqrt(d)"}]}
    assert SubmissionResult.from_dict(data) == original
    assert isinstance(data["questions"][1]["checks"][0], dict)  # from_dict leaves its argument alone
    del data["questions"][1]["checks"]  # written before questions had checks
    assert SubmissionResult.from_dict(data).questions[1].checks == []


def test_from_dict_without_questions_or_flags():
    loaded = SubmissionResult.from_dict({"student": "a", "assignment": "hw", "digest": "d", "status": "graded"})
    assert (loaded.questions, loaded.flags, loaded.faults, loaded.timestamp) == ([], [], [], "")


def config_for(tmp_path):
    return CourseConfig(root=tmp_path)


def test_save_and_load(tmp_path):
    config = config_for(tmp_path)
    path = save_result(config, sample())
    assert path == results_path(config, "ada", "hw") == tmp_path / "autograded" / "ada" / "hw" / "results.json"
    assert path.read_text(encoding="utf-8") == sample().to_json()
    assert load_result(config, "ada", "hw") == sample()
    assert os.listdir(path.parent) == ["results.json"]  # no temporary file left
    assert save_result(config, sample()) == path  # saved again over the old one


@pytest.mark.parametrize("content", ["{not json", '{"student": "ada"}', "[]", "\udcff"])
def test_an_unreadable_result_is_none(tmp_path, content):
    config = config_for(tmp_path)
    path = results_path(config, "ada", "hw")
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8", errors="surrogateescape")
    assert load_result(config, "ada", "hw") is None
    assert load_result(config, "bob", "hw") is None  # no file at all


def test_load_results_sorted_and_by_assignment(tmp_path):
    config = config_for(tmp_path)
    for student, assignment in (("cy", "one"), ("ada", "two"), ("bo", "one"), ("ada", "one")):
        save_result(config, sample(student, assignment))
    assert [(r.assignment, r.student) for r in load_results(config)] == [
        ("one", "ada"), ("one", "bo"), ("one", "cy"), ("two", "ada")]
    assert [r.student for r in load_results(config, "two")] == ["ada"]
    assert load_results(config, "three") == []


def test_load_results_keeps_only_valid_ids_filed_where_they_belong(tmp_path):
    config = config_for(tmp_path)
    save_result(config, sample("ada", "hw"))
    save_result(config, sample("carol\n", "hw"))  # a folder from before ids were checked whole
    moved = save_result(config, sample("bo", "hw"))
    moved.parent.parent.rename(tmp_path / "autograded" / "eve")  # bo's result under eve's name
    other = results_path(config, "fay", "hw")
    other.parent.mkdir(parents=True)
    other.write_text(sample("fay", "quiz").to_json(), encoding="utf-8")  # filed under the wrong assignment
    assert [r.student for r in load_results(config)] == ["ada"]


def test_write_atomic_text_and_bytes(tmp_path):
    path = tmp_path / "out.txt"
    write_atomic(path, "Zoë\n")
    assert path.read_bytes() == "Zoë\n".encode("utf-8")
    write_atomic(path, b"\x00\xff")
    assert path.read_bytes() == b"\x00\xff"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_write_atomic_syncs_before_renaming(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", a)), real_replace(a, b))[1])
    write_atomic(tmp_path / "out.txt", "data")
    assert events[0] == "fsync"
    temporary = events[1][1]
    assert events[1][0] == "replace" and os.path.dirname(temporary) == str(tmp_path)  # renamed on one disk
    assert os.path.basename(temporary).startswith(".out.txt.") and temporary.endswith(".tmp")


def test_write_atomic_keeps_the_old_file_and_no_temporary_when_it_fails(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    path.write_text("old", encoding="utf-8")

    def replace(source, target):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        write_atomic(path, "new")
    assert path.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_write_atomic_removes_the_temporary_on_interrupt(tmp_path, monkeypatch):
    def fsync(fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "out.txt", "new")
    assert os.listdir(tmp_path) == []


class Wrapper(Exception):
    """Like SQLAlchemy's errors: the database driver's error in .orig."""

    def __init__(self, message, orig=None):
        super().__init__(message)
        self.orig = orig


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EDQUOT, "quota"),
    Exception("database or disk is full"),
    Exception("could not extend file: No space left on device"),
    Exception("Disk quota exceeded"),
    Wrapper("(sqlite3.OperationalError) ...", orig=OSError(errno.ENOSPC, "x")),
])
def test_disk_full(error):
    assert disk_full(error)


@pytest.mark.parametrize("error", [
    None, OSError(errno.EACCES, "Permission denied"), OSError("no errno"), ValueError("disk"),
    Wrapper("wrapped", orig=ValueError("other")),
])
def test_not_disk_full(error):
    assert not disk_full(error)


def test_disk_full_found_in_the_cause_or_context():
    try:
        try:
            raise OSError(errno.ENOSPC, "full")
        except OSError as full:
            raise RuntimeError("writing the gradebook") from full
    except RuntimeError as error:
        assert disk_full(error)
    try:
        try:
            raise OSError(errno.EDQUOT, "quota")
        except OSError:
            raise RuntimeError("while handling")
    except RuntimeError as error:
        assert disk_full(error)


def test_disk_full_stops_on_a_cycle():
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert not disk_full(first)
    looped = Wrapper("c")
    looped.orig = looped
    assert not disk_full(looped)


# -- file modes: results readable by the course team, as open() would make them ---------------

@pytest.fixture
def umask():
    """os.umask, to set the process umask in one test; the old umask is put back after it."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664), (0o077, 0o600)])
def test_write_atomic_gives_the_mode_open_would(tmp_path, umask, mask, mode):
    """mkstemp makes 0600 files; write_atomic gives 0666 minus the umask, like open()."""
    umask(mask)
    write_atomic(tmp_path / "out.txt", "data")
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == mode
    assert results.current_umask() == mask


def test_current_umask_reads_without_setting_it(umask, monkeypatch):
    """On Linux the umask is read from /proc, never set: setting it, even for an instant,
    would race with threads creating files meanwhile."""
    umask(0o027)

    def no_setting(mask):
        raise AssertionError("os.umask called")
    monkeypatch.setattr(os, "umask", no_setting)
    assert results.current_umask() == 0o027


def test_current_umask_without_proc_sets_it_back(umask, monkeypatch):
    """Where there is no /proc (not Linux) the umask is read by setting it, then put back."""
    umask(0o027)
    real_path = results.Path
    monkeypatch.setattr(results, "Path", lambda text: real_path("/nonexistent" + str(text)))
    assert results.current_umask() == 0o027
    assert os.umask(0o027) == 0o027  # still the process's umask


def test_write_atomic_interrupted_just_after_the_rename(tmp_path, monkeypatch):
    """An interrupt arriving once the new file is in place: the new content stays, nothing is
    left behind and the interrupt itself reaches the caller (not an error about the temporary)."""
    real_replace = os.replace

    def replace_then_interrupt(source, target):
        real_replace(source, target)
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "out.txt", "new")
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "new"
    assert os.listdir(tmp_path) == ["out.txt"]


@pytest.fixture
def ascii_locale():
    """A process whose locale encoding is ASCII (LANG=C without Python's UTF-8 coercion, or an
    old server): files written as UTF-8 must still read back."""
    import locale

    old = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    yield
    locale.setlocale(locale.LC_CTYPE, old)


def test_results_json_is_ascii_and_reads_back_whatever_the_locale(tmp_path, ascii_locale):
    """Messages in any language are escaped (\\uXXXX), so the file reads back the same under any
    locale encoding; it is read as UTF-8 all the same."""
    config = config_for(tmp_path)
    written = sample()
    written.questions[1].messages = ["divide by √d", "注意力权重之和应为 1"]
    path = save_result(config, written)
    assert path.read_bytes().isascii() and "\\u221a" in path.read_text(encoding="ascii")
    assert load_result(config, "ada", "hw") == written
