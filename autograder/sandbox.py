"""One student's process, fenced in: bubblewrap namespaces, rlimits, an unprivileged uid.

The sandbox sees the Python installation (read only), runner.py and wire.py
(read only) and an empty, size-limited home folder and /tmp. It has no
network, no view of other processes, of solutions/, of the gradebook or of
any other submission. Limits: address space, CPU seconds, processes, file
size, open files; wall-clock deadlines are enforced from outside, by the
grader, which kills the whole sandbox when one passes: bubblewrap's pid
namespace, whose end takes every process the student started with it.
Only those: the grader never signals a process by its uid (autograder.uids
leases the uid, from a range checked free). The sandbox dies with the process
that started it, even when that one is killed with kill -9.
`Limits.from_env()` reads overrides from AUTOGRADER_LIMIT_* variables (the
test suite lowers the time limits).
"""
import contextlib
import ctypes
import json
import multiprocessing.util
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

from autograder import cgroups, uids, wire

HERE = Path(__file__).resolve().parent
HOME = "/home/student"
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class Limits:
    memory_bytes: int = 2 * 2**30
    cpu_seconds: int = 600
    processes: int = 64
    file_bytes: int = 16 * 2**20
    open_files: int = 256
    home_bytes: int = 64 * 2**20
    start_seconds: float = 60.0  # starting Python, numpy and IPython
    cell_seconds: float = 60.0  # one student cell, or one test cell's calls together
    notebook_seconds: float = 600.0  # everything for one notebook, restarts included

    ENV_PREFIX = "AUTOGRADER_LIMIT_"

    @classmethod
    def from_env(cls, environ=None, base=None):
        """The limits with overrides from the environment: AUTOGRADER_LIMIT_<FIELD>=value,
        e.g. AUTOGRADER_LIMIT_CELL_SECONDS=5 or AUTOGRADER_LIMIT_MEMORY_BYTES=1073741824.

        Unknown names and values that are not positive numbers stop with a message
        (a typo must not silently grade with the defaults).
        """
        environ = os.environ if environ is None else environ
        limits = base or cls()
        known = {field.name: field.type for field in fields(cls)}
        changes = {}
        for key, text in environ.items():
            if not key.startswith(cls.ENV_PREFIX):
                continue
            name = key[len(cls.ENV_PREFIX):].lower()
            if name not in known:
                raise SystemExit(f"{key}: unknown limit; known: "
                                 + ", ".join(cls.ENV_PREFIX + n.upper() for n in known))
            kind = int if known[name] in (int, "int") else float
            try:
                value = kind(text)
            except ValueError:
                value = 0
            if not value > 0:
                raise SystemExit(f"{key}={text!r}: expected a positive {kind.__name__}")
            changes[name] = value
        return replace(limits, **changes)


class SandboxFault(BaseException):
    """The student's process died, hung or broke the protocol. The text says which.

    A BaseException, like KeyboardInterrupt, so that a test's `except Exception`
    around a student call cannot swallow it and go on with a dead process.
    """


class CallFault(SandboxFault):
    """One call of a student function crashed (its own child process died); the
    student's process itself is fine and needs no restart."""


def bubblewrap_available():
    return shutil.which("bwrap") is not None


def describe_exit(code):
    if code is None:
        return "the process did not end"
    if code < 0 or code >= 128:
        number = -code if code < 0 else code - 128
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
        hints = {"SIGKILL": " (killed: memory or time limit)", "SIGXCPU": " (CPU time limit)",
                 "SIGSEGV": " (segmentation fault)", "SIGXFSZ": " (file size limit)"}
        return f"the process was ended by {name}{hints.get(name, '')}"
    return f"the process exited with code {code} (sys.exit, os._exit or a crash)"


def die_with_parent(parent):
    """Have the kernel SIGKILL this process when its parent ends (kill -9 included),
    and end now if that happened already (the parent is no longer `parent`)."""
    if _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(1)


# A sandbox launched ahead for this process's next submission (see keep_one_ready).
_spare = None
_keep_one_ready = False


def keep_one_ready():
    """From now on, each sandbox this process takes with `started_sandbox` launches the next
    one: its Python, numpy and IPython start while the current submission is judged and
    recorded. For a grading pool's worker, which judges one submission after another.

    The two never meet: each has its own pid, network and IPC namespaces and its own /tmp
    and home, and the next one runs no student code before the current one is stopped (so
    a fork bomb's processes are gone before the next runner forks its first call)."""
    global _keep_one_ready
    if not _keep_one_ready:
        _keep_one_ready = True
        multiprocessing.util.Finalize(None, discard_spare, exitpriority=10)  # a pool worker's exit


def discard_spare():
    global _spare
    spare, _spare = _spare, None
    if spare is not None:
        spare.stop()


def started_sandbox(limits, isolate, uid):
    """A ready Sandbox with these settings: the spare launched ahead when it matches and
    started properly, else a new one."""
    global _spare
    spare, _spare = _spare, None
    sandbox = None
    if spare is not None and (spare.limits, spare.isolate, spare.uid) == (limits, isolate, uid):
        try:
            sandbox = spare.wait_ready()
        except SandboxFault:  # it failed to start (and is stopped): start one as usual
            sandbox = None
    elif spare is not None:
        spare.stop()
    if sandbox is None:
        sandbox = Sandbox(limits, isolate, uid).start()
    if _keep_one_ready:
        _spare = Sandbox(limits, isolate, uid).launch()
    return sandbox


class Sandbox:
    """A started runner; `request` sends one message and returns its reply.

    uid: the unprivileged uid the student's code runs under when the grader is
    root (None: this process's own, autograder.uids.process_uid)."""

    def __init__(self, limits=None, isolate=True, uid=None):
        self.limits = limits or Limits()
        self.isolate = isolate
        self.uid = uid
        self.process = None
        self.channel = None
        self.init_pidfd = None  # the sandbox's pid namespace init: ending it ends everything inside
        self.init_pid = self.runner_pid = None  # host pids of that init and of the runner
        self.cgroup = None  # its memory cgroup, where there is one (autograder.cgroups)

    # -- starting and stopping -------------------------------------------------
    def command(self, info_fd=None):
        """The command line; bwrap writes its pid namespace's init pid to info_fd."""
        python = [sys.executable, "-s", "-E"]
        if not self.isolate:
            return python + [str(HERE / "runner.py"), "-1"]
        if not bubblewrap_available():
            raise SystemExit("bubblewrap (bwrap) is not installed: install the Debian package "
                             "bubblewrap, or grade with --no-sandbox on a machine you trust")
        binds = []
        for prefix in sorted({os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}):
            binds += ["--ro-bind", prefix, prefix]
        if os.path.realpath(sys.prefix) != sys.prefix:
            binds += ["--symlink", os.path.realpath(sys.prefix), sys.prefix]
        for top in ("bin", "lib", "lib64", "sbin"):
            path = Path("/") / top
            if path.is_symlink():
                binds += ["--symlink", os.readlink(path), str(path)]
            elif path.exists():
                binds += ["--ro-bind", str(path), str(path)]
        optional = ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                    "--ro-bind-try", "/etc/fonts", "/etc/fonts"]
        # bwrap makes missing parent folders mode 0700, which the dropped uid could not
        # enter: create every parent of a mount point ourselves, mode 0755.
        words = binds + optional
        mount_points = [words[i + 2] for i, word in enumerate(words) if word in ("--ro-bind", "--ro-bind-try")]
        parents = sorted({str(parent) for point in mount_points + ["/grader/x"]
                          for parent in Path(point).parents} - {"/"})
        folders = [word for parent in parents for word in ("--perms", "0755", "--dir", parent)]
        user_namespace = [] if os.geteuid() == 0 else ["--unshare-user"]
        uid = -1 if os.geteuid() != 0 else self.uid if self.uid is not None else uids.process_uid()
        return ["bwrap", "--die-with-parent", "--new-session", *user_namespace, "--info-fd", str(info_fd),
                "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--ro-bind", "/usr", "/usr",
                # The writable folders first: a Python installation that lives under /tmp
                # (a checkout there) is then bound on top of the new /tmp, not hidden by it.
                "--perms", "1777", "--size", str(self.limits.home_bytes), "--tmpfs", "/tmp",
                "--size", str(self.limits.home_bytes), "--tmpfs", HOME,
                *folders, *binds, *optional,
                "--proc", "/proc", "--dev", "/dev",
                "--ro-bind", str(HERE / "runner.py"), "/grader/runner.py",
                "--ro-bind", str(HERE / "wire.py"), "/grader/wire.py",
                "--chdir", HOME,
                *python, "/grader/runner.py", str(uid)]

    def environment(self):
        env = {"PATH": "/usr/bin:/bin", "HOME": HOME, "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
               "MPLCONFIGDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
        # One thread per student process: parallel jobs do not fight over cores,
        # and numbers do not depend on the machine's core count.
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = "1"
        if not self.isolate:
            env["HOME"] = env["MPLCONFIGDIR"] = self.workdir.name
        return env

    def _set_limits(self, parent):
        os.setsid()  # its own process group: a kill reaches every process it started
        if self.cgroup is not None:  # before anything runs: all the sandbox's processes are born in it
            self.cgroup.join()
        die_with_parent(parent)  # (bwrap's --die-with-parent does it again for the sandbox's inside)
        limits = self.limits
        for name, value in [(resource.RLIMIT_AS, limits.memory_bytes),
                            (resource.RLIMIT_CPU, limits.cpu_seconds),
                            (resource.RLIMIT_NPROC, limits.processes),
                            (resource.RLIMIT_FSIZE, limits.file_bytes),
                            (resource.RLIMIT_NOFILE, limits.open_files),
                            (resource.RLIMIT_CORE, 0)]:
            resource.setrlimit(name, (value, value))

    def start(self):
        return self.launch().wait_ready()

    def launch(self):
        """Start the sandbox's processes without waiting for the runner (see wait_ready)."""
        # Without the sandbox the runner still gets a folder of its own to write in.
        self.workdir = None if self.isolate else tempfile.TemporaryDirectory(prefix="runner-")
        deadline = self.start_deadline = time.monotonic() + self.limits.start_seconds
        info_read, info_write = os.pipe() if self.isolate else (None, None)
        parent = os.getpid()
        self.cgroup = cgroups.SandboxCgroup.create()
        try:
            self.process = subprocess.Popen(
                self.command(info_write), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=self.environment(), cwd=self.workdir.name if self.workdir else None,
                pass_fds=() if info_write is None else (info_write,),
                preexec_fn=lambda: self._set_limits(parent))
        finally:
            if info_write is not None:
                os.close(info_write)
        if info_read is not None:
            self.init_pidfd = self._open_init(info_read, deadline)
        self.channel = wire.Channel(self.process.stdout.fileno(), self.process.stdin.fileno())
        return self

    def wait_ready(self):
        """Wait until the runner says it is ready (Python, numpy and IPython loaded), within
        start_seconds of the launch, or a moment more for a sandbox launched long ago."""
        deadline = max(self.start_deadline, time.monotonic() + 1.0)
        reply, _ = self._receive(deadline, "starting Python")
        if reply.get("op") != "ready":
            self.stop()
            raise SandboxFault("the student's process did not start properly")
        if self.cgroup is not None:  # no student code has run yet: bwrap, its init and the runner
            others = set(self.cgroup.pids()) - {self.process.pid, self.init_pid}
            self.runner_pid = others.pop() if len(others) == 1 else None
        return self

    def measured(self):
        """A context for one call whose peak memory the kernel measures (autograder.cgroups):
        processes the cells left running are ended first, then the call's CallPeak.bytes is
        every page the sandbox took while it ran (None where there is no cgroup)."""
        if self.cgroup is None:
            return contextlib.nullcontext(cgroups.CallPeak())
        if self.runner_pid is not None:
            self.cgroup.end_others({self.process.pid, self.init_pid, self.runner_pid})
        return self.cgroup.measure()

    def _open_init(self, info_read, deadline):
        """A pidfd on the init of bwrap's pid namespace (from --info-fd), or None if bwrap
        failed before starting it (then the runner's silence says why)."""
        data = b""
        try:
            while time.monotonic() < deadline and select.select([info_read], [], [], 0.5)[0]:
                chunk = os.read(info_read, 4096)
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(info_read)
        try:
            init = self.init_pid = int(json.loads(data)["child-pid"])
            pidfd = os.pidfd_open(init)
        except (ValueError, KeyError, TypeError, OSError):
            return None
        # The pid is bwrap's child unless it died already and the number was reused.
        try:
            with open(f"/proc/{init}/status", encoding="ascii", errors="replace") as handle:
                parent = next(int(line.split()[1]) for line in handle if line.startswith("PPid:"))
        except (OSError, StopIteration, ValueError):
            parent = None
        if parent != self.process.pid:
            os.close(pidfd)
            return None
        return pidfd

    def stop(self, seconds=10.0):
        """End the sandbox and wait until every process in it is gone.

        Killing bwrap ends its pid namespace's init, and with it, by the kernel,
        every process inside; they die a moment later, and a restart under the same
        uid before they are gone would find the process limit still full (after a
        fork bomb). The init's pidfd becomes readable only when all of them are gone.
        """
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            stream.close()
        if self.workdir is not None:
            self.workdir.cleanup()
        if self.init_pidfd is not None:
            try:
                signal.pidfd_send_signal(self.init_pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            select.select([self.init_pidfd], [], [], seconds)
            os.close(self.init_pidfd)
            self.init_pidfd = None
        if self.cgroup is not None:  # what is left in it was started by this sandbox
            self.cgroup.end_others(())
            self.cgroup.remove()

    def alive(self):
        return self.process is not None and self.process.poll() is None

    # -- talking ---------------------------------------------------------------
    def _receive(self, deadline, doing):
        try:
            return self.channel.receive(deadline)
        except TimeoutError:
            self.stop()
            raise SandboxFault(f"time limit: {doing} took too long and was stopped")
        except EOFError:
            self.process.wait()
            code = self.process.returncode
            detail = self.process.stderr.read(2000).decode("utf-8", "replace").strip().splitlines()
            self.stop()
            reason = describe_exit(code)
            if detail and code not in (0, None) and "runner" not in " ".join(detail):
                reason += f": {detail[-1][:200]}"
            raise SandboxFault(f"{reason} while {doing}")
        except (wire.WireError, RecursionError) as error:
            self.stop()
            raise SandboxFault(f"the student's process sent a broken message while {doing} ({error})")
        except MemoryError:
            self.stop()
            raise SandboxFault(f"the student's process sent more than the grader can hold while {doing}")

    def request(self, message, buffers=(), deadline=None, doing="running", on_callback=None):
        """Send a request; serve callbacks until its reply arrives; return (reply, buffers)."""
        if self.process is None or self.process.stdout.closed:  # stopped: nothing to ask
            raise SandboxFault(f"the student's process is not running (while {doing})")
        try:
            self.channel.send(message, buffers)
        except (BrokenPipeError, OSError):
            return self._receive(deadline, doing)  # it died: the receive says how
        while True:
            reply, reply_buffers = self._receive(deadline, doing)
            if reply.get("op") != "callback":
                return reply, reply_buffers
            if on_callback is None:
                self.stop()
                raise SandboxFault("the student's process asked for a function it was never given")
            answer, answer_buffers = on_callback(reply, reply_buffers)
            try:
                self.channel.send(answer, answer_buffers)
            except OSError:
                pass  # it died meanwhile: the next receive says how
