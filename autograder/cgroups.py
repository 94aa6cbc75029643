"""The peak memory of one call of the student's code, measured by the kernel from
outside the student's process: a memory cgroup for each sandbox, and for each
measured call a cgroup of its own that every process of the sandbox moves into
while the call runs.

Every page the sandbox's processes fault in during the call (numpy, an anonymous
mmap, shared memory, a tmpfs file, a forked helper process) is charged to the
call's cgroup, and the kernel keeps its high-water mark; the student's code can
neither see nor leave the cgroup (the sandbox has no cgroup file system). Pages
touched before the call stay charged where they were, so what a call costs is
what it newly takes, as tracemalloc would say of Python's allocations.

cgroup v1's memory controller (memory.max_usage_in_bytes), as root. Elsewhere
`SandboxCgroup.create` returns None and the grader falls back to measuring
inside the student's process (autograder.runner, tracemalloc).
"""
from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

_numbers = itertools.count()


def memory_hierarchy() -> Path | None:
    """The folder of this process's own cgroup in the v1 memory hierarchy, or None."""
    try:
        memberships = Path("/proc/self/cgroup").read_text(encoding="ascii").splitlines()
        mounts = Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    own = next((line.split(":", 2)[2] for line in memberships
                if "memory" in line.split(":", 2)[1].split(",")), None)
    if own is None:
        return None
    for line in mounts:
        left, _, right = line.partition(" - ")
        kind = right.split()
        if kind and kind[0] == "cgroup" and "memory" in kind[-1].split(","):
            root, mount_point = left.split()[3:5]
            folder = Path(mount_point) / os.path.relpath(own, root)
            return folder if (folder / "memory.max_usage_in_bytes").exists() else None
    return None


def read_pids(folder: Path) -> list[int]:
    try:
        return [int(word) for word in (folder / "cgroup.procs").read_text(encoding="ascii").split()]
    except (OSError, ValueError):
        return []


def move(pids: Iterable[int], folder: Path) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):  # it ended meanwhile
            (folder / "cgroup.procs").write_text(str(pid), encoding="ascii")


class CallPeak:
    bytes: int | None = None  # the call's peak, set when the call is over (None: not measured)


class SandboxCgroup:
    """The memory cgroup of one sandbox (created by the grader, joined by the sandbox's
    first process before it executes anything)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def create(cls) -> SandboxCgroup | None:
        """A new cgroup under this process's own, or None where there is none to be had."""
        if os.geteuid() != 0:
            return None
        base = memory_hierarchy()
        if base is None:
            return None
        remove_stale(base)
        folder = base / f"autograder-{os.getpid()}-{next(_numbers)}"
        try:
            folder.mkdir()
        except OSError:
            return None
        return cls(folder)

    def join(self) -> None:
        """Put the calling process into the cgroup (in the sandbox's first process, before exec)."""
        (self.folder / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")

    def pids(self) -> list[int]:
        return read_pids(self.folder)

    def end_others(self, keep: Iterable[int]) -> None:
        """SIGKILL every process of this sandbox but `keep` (what cells left running)."""
        for pid in set(self.pids()) - set(keep):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    @contextlib.contextmanager
    def measure(self) -> Iterator[CallPeak]:
        """Move every process of the sandbox into a new cgroup for the time of the block;
        the CallPeak it yields then holds the bytes charged there at peak."""
        peak = CallPeak()
        call = self.folder / f"call-{next(_numbers)}"
        call.mkdir()
        try:
            for _ in range(100):  # a process forked meanwhile is born where its parent was
                left = self.pids()
                if not left:
                    break
                move(left, call)
            yield peak
            peak.bytes = int((call / "memory.max_usage_in_bytes").read_text(encoding="ascii"))
        finally:
            for _ in range(100):
                left = read_pids(call)
                if not left:
                    break
                move(left, self.folder)
            remove(call)

    def remove(self) -> None:
        remove(self.folder)


def remove_stale(base: Path) -> None:
    """Remove the empty cgroups of graders that are gone (a grade killed with kill -9)."""
    for folder in base.glob("autograder-*-*"):
        owner = folder.name.split("-")[1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            for call in folder.glob("call-*"):
                remove(call, seconds=0)
            remove(folder, seconds=0)


def remove(folder: Path, seconds: float = 5.0) -> None:
    """rmdir a cgroup once its processes are gone (they may take a moment to die)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
