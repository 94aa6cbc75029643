"""The sandbox's uids: a configured range, checked free, each uid leased to one grader at a time.

When the grader runs as root, every sandbox drops to a uid of its own, so that one
submission's fork bomb cannot fill another's process limit (RLIMIT_NPROC counts per
uid). Those uids must belong to nobody else on the machine: a hub may have
directory-service users or container subuid ranges anywhere. So the range is
configured (AUTOGRADER_SANDBOX_UIDS, else course.toml's [sandbox] uids, else
DEFAULT_RANGE) and checked before any sandbox starts: no user or group of that
number (asked through NSS, so LDAP and systemd's dynamic users count), no overlap
with /etc/subuid or /etc/subgid, and no process running under it that a grader
did not start. Any of these stops the run with a message saying which.

Concurrent runs (and the workers of one run) never share a uid: a uid is leased
by holding an flock on LOCK_DIR/<uid> for as long as the holder lives. The kernel
drops the lock when the holder dies, even by kill -9, so nothing is ever stale.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import grp
import os
import pwd
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

ENV_VARIABLE = "AUTOGRADER_SANDBOX_UIDS"
# Unused by Debian (system 100-999, users 1000-59999, Debian's own 60000-64999),
# by systemd (dynamic users 61184-65519, containers 524288-1879048191, foreign
# 2147352576 and up) and by the usual subuid ranges (100000 up, 65536 per user).
DEFAULT_RANGE = range(2_000_000_000, 2_000_001_000)
MAX_RANGE = 65536  # every uid is looked up through NSS at start
LOCK_DIR = Path("/run/autograder-sandbox-uids")
SUBORDINATE_FILES = (Path("/etc/subuid"), Path("/etc/subgid"))
LEFTOVER_SECONDS = 5.0  # how long a killed run's sandboxes may take to disappear


def parse_range(text: object, origin: str) -> range:
    """'FIRST-LAST' (inclusive) as a range; a clear stop for anything else."""
    first, dash, last = str(text).strip().partition("-")
    try:
        uids = range(int(first), int(last) + 1) if dash else None
    except ValueError:
        uids = None
    if uids is None:
        raise SystemExit(f"{origin}: expected a uid range FIRST-LAST such as "
                         f"{DEFAULT_RANGE.start}-{DEFAULT_RANGE.stop - 1}, got {text!r}")
    if not 1000 <= uids.start <= uids.stop - 1 < 2**32 - 1:
        raise SystemExit(f"{origin}: {text!r} must run from at least 1000 up to at most {2**32 - 2}")
    if len(uids) > MAX_RANGE:
        raise SystemExit(f"{origin}: {text!r} has {len(uids)} uids; at most {MAX_RANGE}")
    return uids


def configured_range(course_setting: str = "", environ: Mapping[str, str] | None = None) -> range:
    """The range to use: the environment variable, else the course's setting, else the default."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_VARIABLE):
        return parse_range(environ[ENV_VARIABLE], ENV_VARIABLE)
    if course_setting:
        return parse_range(course_setting, "course.toml [sandbox] uids")
    return DEFAULT_RANGE


def describe(uids: range) -> str:
    return f"{uids.start}-{uids.stop - 1}"


def range_problems(uids: range, subordinate_files: Iterable[Path | str] = SUBORDINATE_FILES) -> list[str]:
    """Why the range is not free for the sandbox (users, groups, subordinate ranges); [] if it is."""
    problems = []
    for uid in uids:
        try:
            problems.append(f"uid {uid} belongs to the user {pwd.getpwuid(uid).pw_name!r}")
        except KeyError:
            pass
        try:
            problems.append(f"gid {uid} belongs to the group {grp.getgrgid(uid).gr_name!r}")
        except KeyError:
            pass
        if len(problems) >= 5:
            break
    for path in subordinate_files:
        try:
            lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            fields = line.strip().split(":")
            if len(fields) != 3 or not fields[1].isdigit() or not fields[2].isdigit():
                continue
            start, count = int(fields[1]), int(fields[2])
            if start < uids.stop and uids.start < start + count:
                problems.append(f"{path} line {number} gives {fields[0]!r} the ids "
                                f"{start}-{start + count - 1}")
    return problems


def process_owners(uids: range) -> dict[int, list[int]]:
    """{uid: [pid, ...]} of the processes running under a uid of the range (real,
    effective, saved or file-system uid; zombies too: they still hold a process slot)."""
    found: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="utf-8", errors="replace") as handle:
                owners = next(line.split()[1:] for line in handle if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        for uid in {int(owner) for owner in owners if owner.isdigit()}:
            if uid in uids:
                found.setdefault(uid, []).append(int(entry.name))
    return found


def _command_of(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "?"


def _lock_dir():
    """LOCK_DIR, created root-only; refused when someone else could plant locks in it."""
    LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(LOCK_DIR)
    if not os.path.isdir(LOCK_DIR) or os.path.islink(LOCK_DIR) or info.st_uid != 0 or info.st_mode & 0o022:
        raise SystemExit(f"{LOCK_DIR} must be a folder owned by root and writable by root only")
    return LOCK_DIR


def _try_lock(uid):
    """An open, flock'ed descriptor on uid's lock file, or None when another holder has it."""
    fd = os.open(_lock_dir() / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return None
        raise
    return fd


def _wait_until_gone(uid, seconds):
    """The pids still running under uid after waiting up to `seconds` (a run killed a
    moment ago may still be tearing its sandboxes down)."""
    deadline = time.monotonic() + seconds
    while True:
        left = process_owners(range(uid, uid + 1)).get(uid, [])
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def stray_processes(uids: range, wait: float = 0.0) -> dict[int, list[int]]:
    """{uid: [pid, ...]} of the processes under a uid of the range that no running grader
    holds (after waiting up to `wait` seconds for each to disappear): someone else's."""
    stray = {}
    for uid in sorted(process_owners(uids)):
        fd = _try_lock(uid)
        if fd is None:
            continue  # leased by a grader that is running: its sandbox's processes
        try:
            left = _wait_until_gone(uid, wait)
        finally:
            os.close(fd)
        if left:
            stray[uid] = left
    return stray


class Lease:
    """Uids of the range held for this process (and the children it forks) until release()."""

    def __init__(self, uids: range, count: int, subordinate_files: Iterable[Path | str] = SUBORDINATE_FILES) -> None:
        self.range = uids
        self.held: dict[int, int] = {}  # uid -> locked descriptor
        problems = range_problems(uids, subordinate_files)
        if problems:
            raise SystemExit(f"the sandbox uid range {describe(uids)} is not free on this machine: "
                             + "; ".join(problems) + f". Choose a range that nothing uses with {ENV_VARIABLE}"
                             " or course.toml's [sandbox] uids (see INSTRUCTORS.md).")
        try:
            self._check_processes()
            self._take(count)
        except BaseException:
            self.release()
            raise

    def _check_processes(self):
        """Every process under a uid of the range must be a live grader's sandbox."""
        for uid, pids in stray_processes(self.range, LEFTOVER_SECONDS).items():
            raise SystemExit(
                f"the sandbox uid range {describe(self.range)} is not free: uid {uid} runs process "
                f"{pids[0]} ({_command_of(pids[0])}), which no grader started. The grader never "
                f"touches processes it did not start; choose another range with {ENV_VARIABLE} "
                "or course.toml's [sandbox] uids (see INSTRUCTORS.md).")

    def _take(self, count):
        for uid in self.range:
            if len(self.held) == count:
                return
            fd = _try_lock(uid)
            if fd is None:
                continue
            if _wait_until_gone(uid, LEFTOVER_SECONDS):  # started since the check: not ours to use
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # for a curious administrator
            self.held[uid] = fd
        if len(self.held) < count:
            raise SystemExit(f"only {len(self.held)} of the {len(self.range)} sandbox uids "
                             f"{describe(self.range)} are free (other grading runs hold the rest), "
                             f"{count} needed: lower --jobs, wait, or widen the range with {ENV_VARIABLE}")

    @property
    def uids(self) -> list[int]:
        return sorted(self.held)

    def release(self) -> None:
        for fd in self.held.values():
            os.close(fd)
        self.held = {}

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def worker_uids(course_setting: str, count: int, isolate: bool = True) -> Iterator[list[int] | list[None]]:
    """One leased uid per grading worker while the block runs; None for each when the
    sandbox drops to no uid (without root, or without the sandbox)."""
    if not isolate or os.geteuid() != 0:
        yield [None] * count
        return
    with Lease(configured_range(course_setting), count) as lease:
        yield lease.uids


_process_lease: Lease | None = None


def process_uid() -> int:
    """A uid for sandboxes started outside a grading pool (a test, the benchmark): one per
    process, leased at first use from the configured range and held until the process ends."""
    global _process_lease
    if _process_lease is None:
        _process_lease = Lease(configured_range(), 1)
    return _process_lease.uids[0]


def _forget_in_child():
    """A forked child must not use its parent's uid: it leases its own if it needs one.
    (Closing the inherited descriptor does not release the parent's lock.)"""
    global _process_lease
    if _process_lease is not None:
        _process_lease.release()
        _process_lease = None


os.register_at_fork(after_in_child=_forget_in_child)
