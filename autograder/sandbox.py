"""One student's process, fenced in: bubblewrap namespaces, rlimits, an unprivileged uid.

The sandbox sees the Python installation (read only), runner.py and wire.py
(read only) and an empty, size-limited home folder and /tmp. It has no
network, no view of other processes, of solutions/, of the gradebook or of
any other submission. Limits: address space, CPU seconds, processes, file
size, open files; wall-clock deadlines are enforced from outside, by the
grader, which kills the whole sandbox when one passes, and every process
left under the sandbox's uid with it. `Limits.from_env()` reads overrides
from AUTOGRADER_LIMIT_* variables (the test suite lowers the time limits).
"""
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

from autograder import wire

HERE = Path(__file__).resolve().parent
FIRST_SANDBOX_UID = 61000  # one unprivileged uid per parallel slot: their process limits stay apart
HOME = "/home/student"


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


def processes_of_uid(uid):
    """Process ids whose real uid is `uid` (zombies included: they still count against RLIMIT_NPROC)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            found.append(int(entry.name))
                        break
        except (OSError, ValueError, IndexError):
            continue
    return found


class Sandbox:
    """A started runner; `request` sends one message and returns its reply."""

    def __init__(self, limits=None, isolate=True, slot=0):
        self.limits = limits or Limits()
        self.isolate = isolate
        self.uid = FIRST_SANDBOX_UID + slot
        self.process = None
        self.channel = None

    # -- starting and stopping -------------------------------------------------
    def command(self):
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
        # bwrap makes missing parent folders mode 0700, which the dropped uid could not
        # enter: create every parent of a mount point ourselves, mode 0755.
        mount_points = [binds[i + 2] for i, word in enumerate(binds) if word == "--ro-bind"] + ["/grader/x"]
        parents = sorted({str(parent) for point in mount_points for parent in Path(point).parents} - {"/"})
        folders = [word for parent in parents for word in ("--perms", "0755", "--dir", parent)]
        user_namespace = [] if os.geteuid() == 0 else ["--unshare-user"]
        return ["bwrap", "--die-with-parent", "--new-session", *user_namespace,
                "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--ro-bind", "/usr", "/usr",
                # The writable folders first: a Python installation that lives under /tmp
                # (a checkout there) is then bound on top of the new /tmp, not hidden by it.
                "--perms", "1777", "--size", str(self.limits.home_bytes), "--tmpfs", "/tmp",
                "--size", str(self.limits.home_bytes), "--tmpfs", HOME,
                *folders, *binds,
                "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                "--ro-bind-try", "/etc/fonts", "/etc/fonts",
                "--proc", "/proc", "--dev", "/dev",
                "--ro-bind", str(HERE / "runner.py"), "/grader/runner.py",
                "--ro-bind", str(HERE / "wire.py"), "/grader/wire.py",
                "--chdir", HOME,
                *python, "/grader/runner.py", str(self.uid)]

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

    def _set_limits(self):
        os.setsid()  # its own process group: a kill reaches every process it started
        limits = self.limits
        for name, value in [(resource.RLIMIT_AS, limits.memory_bytes),
                            (resource.RLIMIT_CPU, limits.cpu_seconds),
                            (resource.RLIMIT_NPROC, limits.processes),
                            (resource.RLIMIT_FSIZE, limits.file_bytes),
                            (resource.RLIMIT_NOFILE, limits.open_files),
                            (resource.RLIMIT_CORE, 0)]:
            resource.setrlimit(name, (value, value))

    def start(self):
        # Without the sandbox the runner still gets a folder of its own to write in.
        self.workdir = None if self.isolate else tempfile.TemporaryDirectory(prefix="runner-")
        self.process = subprocess.Popen(
            self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=self.environment(), cwd=self.workdir.name if self.workdir else None,
            preexec_fn=self._set_limits)
        self.channel = wire.Channel(self.process.stdout.fileno(), self.process.stdin.fileno())
        reply, _ = self._receive(time.monotonic() + self.limits.start_seconds, "starting Python")
        if reply.get("op") != "ready":
            self.stop()
            raise SandboxFault("the student's process did not start properly")
        return self

    def stop(self):
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
        self._end_leftovers()

    def _end_leftovers(self, seconds=10.0):
        """Wait until no process of the sandbox's uid is left, killing any that are.

        Killing bwrap ends the sandbox's pid namespace, but its processes die a
        moment later: a restart under the same uid before they are gone would find
        the process limit still full (after a fork bomb). The uid belongs to this
        slot of this grading run alone, so every process of it is this sandbox's.
        """
        if not self.isolate or os.geteuid() != 0:
            return
        deadline = time.monotonic() + seconds
        while True:
            left = processes_of_uid(self.uid)
            if not left or time.monotonic() > deadline:
                return
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)

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
