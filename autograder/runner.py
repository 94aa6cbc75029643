"""The student's side of grading: runs inside the sandbox, knows no tests.

It executes the student's cells in an IPython shell, then answers the
grader's requests: call one of the student's functions on grader-chosen
inputs and send back plain values (autograder.wire). Whether the answer is
right is decided by the grader, in its own process; nothing here can change
that, so nothing here needs to be trusted.

Started as `python runner.py UID` with the protocol on stdin/stdout. It
moves the protocol to private descriptors, sends the student's own output
to bounded buffers, drops to UID (when started as root) and waits.

Every call of a student function runs in a child forked for it, so a call
that crashes ends only its child: the runner reports how it died and serves
on. A call's memory is the child's own: what it changes in Python objects,
and in shared mappings a cell made (the child gets private copies of them),
is gone when it ends. That does not make calls independent: a call can still
leave a file in the sandbox's /tmp or home, or a message in a process a cell
started, for the next call to read. Nothing relies on their independence: a
test's oracles are the grader's own code and the reference solution, never a
function of this process (autograder.judge), so a wrong answer gains nothing
from an echo. Processes the student's code starts never speak the protocol:
only the runner, or the child running a call, may send.
"""
import builtins
import ctypes
import gc
import io
import linecache
import pathlib
import mmap
import os
import signal
import sys
import time
import traceback
import tracemalloc

# Taken before any student code runs: patching the tracemalloc module later changes nothing here.
_trace_start, _trace_stop = tracemalloc.start, tracemalloc.stop
_trace_peak, _tracing = tracemalloc.get_traced_memory, tracemalloc.is_tracing

MAX_CELL_OUTPUT = 64 * 1024
MAP_FIXED = 0x10  # Linux's value; Python's mmap module does not export it
# Loaded once, before any student code: a call's child must not pay for it (nor a cell patch it).
_libc = ctypes.CDLL(None, use_errno=True)
_mmap, _mprotect = _libc.mmap, _libc.mprotect
_mmap.restype = ctypes.c_void_p
_mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
# glibc's fork, called with the GIL held (PyDLL): see Runner.fork_quietly.
_glibc_fork = ctypes.PyDLL(None, use_errno=True).fork
_glibc_fork.restype, _glibc_fork.argtypes = ctypes.c_int, []
SANDBOX_HOME = "/home/student"  # the sandbox's empty home (autograder.sandbox.HOME)


class BoundedText(io.TextIOBase):
    """A text stream that keeps the first MAX_CELL_OUTPUT characters and counts the rest."""

    def __init__(self):
        self.parts, self.size, self.dropped = [], 0, 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        room = MAX_CELL_OUTPUT - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def take(self):
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n[... {self.dropped} more characters of output not kept]"
        self.parts, self.size, self.dropped = [], 0, 0
        return text


def private_channel():
    """Move the protocol off fds 0/1 so that prints and os.write(1, ...) cannot reach it.

    What is written to the file descriptors directly (C code, os.write) goes to
    /dev/null: Python-level output is what the grader keeps, and a flood on the
    descriptors must not fill the home folder or hit the file size limit.
    """
    read_fd, write_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    return read_fd, write_fd


def shared_mappings():
    """{address span: permissions} of this process's shared memory mappings."""
    with open("/proc/self/maps", encoding="ascii", errors="replace") as handle:
        return dict(line.split()[:2] for line in handle if line.split()[1][3:4] == "s")


def privatise_shared_mappings(spans):
    """In a call's child: replace these shared memory mappings (an mmap made by a cell, which
    each forked call would otherwise share with the next) by private copies of themselves,
    so that no call can leave anything there for the next one."""
    for span, perms in spans.items():
        start, end = (int(part, 16) for part in span.split("-"))
        readable = perms[0] == "r" or _mprotect(start, end - start, mmap.PROT_READ) == 0
        saved = ctypes.string_at(start, end - start) if readable else b""
        protection = mmap.PROT_READ | mmap.PROT_WRITE
        where = _mmap(start, end - start, protection, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_FIXED, -1, 0)
        if where != start:
            os._exit(70)  # cannot happen with MAP_FIXED; never run the call on shared memory
        ctypes.memmove(start, saved, len(saved))
        wanted = (mmap.PROT_READ if perms[0] == "r" else 0) | (mmap.PROT_WRITE if perms[1] == "w" else 0) | \
                 (mmap.PROT_EXEC if perms[2] == "x" else 0)
        _mprotect(start, end - start, wanted)


def grader_error(kind, message):
    """The exception a function of the grader's raised, as the same built-in type when it is one."""
    error_type = getattr(builtins, str(kind), None)
    if isinstance(error_type, type) and issubclass(error_type, Exception):
        return error_type(message)
    return RuntimeError(message)


def drop_privileges(uid):
    """Become an unprivileged user (only possible, and only needed, when started as root).

    uid -1 means stay as we are (grading without the sandbox, for comparison).
    """
    if os.geteuid() != 0 or uid < 0:
        return
    if os.getcwd() != SANDBOX_HOME:  # never hand a real folder to the sandbox uid
        raise SystemExit(f"refusing to drop privileges outside {SANDBOX_HOME}")
    os.chown(".", uid, uid)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.geteuid() == 0 or os.getuid() == 0:
        raise SystemExit("could not drop root privileges")


class Runner:
    def __init__(self, channel, wire):
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        self.channel, self.wire = channel, wire
        self.speaker = self.runner_pid = os.getpid()  # the one process allowed to send (see send)
        config = Config()
        config.HistoryManager.enabled = False
        config.InteractiveShell.colors = "nocolor"
        self.shell = InteractiveShell.instance(config=config)
        self.output = BoundedText()
        sys.stdout = sys.stderr = self.output
        self.peak_memory = None  # set while the grader measures memory
        self.ready_fd = None  # in a call's child: where it tells the runner it answered
        self.own_shared = shared_mappings()  # the runner's own (glibc's), before any student code
        self.cell_shared = {}  # shared mappings the cells made (see privatise_shared_mappings)
        self.cell_of_file = {}  # IPython's file name of a cell's code -> the notebook cell it came from

    def send(self, message, buffers=()):
        self.send_packed(self.wire.pack(message, buffers))

    def send_packed(self, packed):
        """Send on the protocol, but only from the process that owns it: a process the
        student's code forked (a fork bomb, a pool) that gets back here just ends."""
        if os.getpid() != self.speaker:
            os._exit(0)
        self.channel.send_packed(packed)

    def stub(self, number, name="call_grader"):
        """A stand-in for a function the grader passed: calling it asks the grader."""
        def call_grader(*args, **kwargs):
            buffers, callables = [], []
            tree = self.wire.encode([list(args), kwargs], buffers, callables)
            self.send({"op": "callback", "callable": number, "args": tree}, buffers)
            return self.serve(until_reply=True)
        call_grader.__name__ = call_grader.__qualname__ = name
        return call_grader

    def serve(self, until_reply=False):
        """Answer requests; return the value of the reply we wait for (when until_reply)."""
        while True:
            message, buffers = self.channel.receive()
            op = message.get("op")
            if op in ("return", "raise") and until_reply:
                if op == "raise":
                    raise grader_error(message.get("type"), message.get("message", "the grader's function failed"))
                return self.wire.decode(message["value"], buffers, self.stub)
            handler = {"exec": self.execute, "call": self.call, "get": self.get}.get(op)
            if handler is None:
                raise SystemExit(f"unexpected message {op!r}")
            handler(message, buffers)

    def execute(self, message, buffers):
        """Run one cell. Past message["seconds"] it is interrupted, as a notebook server
        interrupts a kernel (KeyboardInterrupt in the cell): what it defined before stays
        defined. A cell that does not give way to the interrupt is ended by the grader."""
        seconds = message.get("seconds")
        timed = isinstance(seconds, (int, float)) and seconds > 0
        fired = []

        def interrupt_cell(signum, frame):
            fired.append(True)
            raise KeyboardInterrupt

        if timed:
            previous = signal.signal(signal.SIGALRM, interrupt_cell)
            signal.setitimer(signal.ITIMER_REAL, seconds)
        known_files = set(linecache.cache)
        try:
            result = self.shell.run_cell(message["code"], store_history=False, silent=False)
            error = result.error_before_exec or result.error_in_exec
        except KeyboardInterrupt as interrupt:  # it struck outside the cell's own code
            error = interrupt
        finally:
            if timed:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        if isinstance(message.get("cell"), int):
            for name in set(linecache.cache) - known_files:
                self.cell_of_file.setdefault(name, message["cell"])
        self.cell_shared = {span: perms for span, perms in shared_mappings().items() if span not in self.own_shared}
        text = "" if error is None else f"{type(error).__name__}: {error}"[:2000]
        if fired:
            text = (f"KeyboardInterrupt: the cell ran past its time limit ({seconds:.0f} s) and was "
                    "interrupted; what it defined before that is kept")
        # Processes an interrupted cell started and left running (a fork bomb) mean it did not stop.
        left = self.live_children() if fired else 0
        self.send({"op": "done", "ok": error is None and not fired, "error": text, "output": self.output.take(),
                   "interrupted": bool(fired), "left_running": left})

    def live_children(self):
        """How many processes this one started are still running."""
        self.reap()
        try:
            return sum(len(task.joinpath("children").read_text().split())
                       for task in pathlib.Path("/proc/self/task").iterdir())
        except OSError:
            return 0

    @staticmethod
    def fork_quietly():
        """fork() without Python's at-fork hooks, when this process has one thread.

        os.fork runs, in every call's child, the hooks the modules registered (threading,
        random, logging, IPython's history, and any a cell registered); their Python code
        writes to objects all over the heap, and each page written is copied: about half
        of what a call's child costs. With one thread, which holds the GIL through the
        fork, nothing they reset can be held or stale in the child, and the student's
        code gets no say in how a call starts. With more threads (a cell started some)
        one of them may hold a lock the child would wait for forever: os.fork resets
        those, so it is used then."""
        if len(os.listdir("/proc/self/task")) != 1:
            return os.fork()
        pid = _glibc_fork()
        if pid < 0:
            number = ctypes.get_errno()
            raise OSError(number, os.strerror(number))  # EAGAIN makes it a BlockingIOError
        return pid

    def fork(self):
        """fork(), and when the process limit is full (a cell left processes behind),
        end every other process of this user in the sandbox and try once more (only
        the runner itself: a call's child would end the runner with them)."""
        self.reap()
        try:
            return self.fork_quietly()
        except BlockingIOError:
            if self.speaker != self.runner_pid:
                raise
            try:
                os.kill(-1, signal.SIGKILL)  # all of this uid's processes here, except this one
            except OSError:
                pass
            self.reap(wait=True)
            return self.fork_quietly()

    def reap(self, wait=False):
        """Collect ended children (a zombie still counts against the process limit)."""
        while True:
            try:
                pid, _ = os.waitpid(-1, 0 if wait else os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def call(self, message, buffers):
        """Run one call in a child of its own; report how the child died if it did not answer."""
        ready_read, ready_write = os.pipe()
        # Objects that exist now move to the collector's permanent generation: the child's
        # collections then never walk (and so never copy) the pages the runner's heap is on.
        # What a cell made stays alive either way; garbage made later is still collected.
        gc.freeze()
        try:
            pid = self.fork()
        except OSError as error:
            os.close(ready_read), os.close(ready_write)
            return self.send_error("RuntimeError", f"could not start a process for the call ({error})")
        if pid == 0:
            os.close(ready_read)
            self.speaker, self.ready_fd = os.getpid(), ready_write
            try:
                privatise_shared_mappings(self.cell_shared)
                self.call_here(message, buffers)
            finally:
                os._exit(0)
        os.close(ready_write)
        try:
            answered = os.read(ready_read, 1) == b"1"  # until it answered, or ended without answering
        finally:
            os.close(ready_read)
        if answered:
            return
        _, status = os.waitpid(pid, 0)
        self.send({"op": "died", "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
                   "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else 0})

    def call_here(self, message, buffers):
        try:
            function = self.shell.user_ns[message["name"]]
        except KeyError:
            return self.send_error("NameError", f"name '{message['name']}' is not defined")
        try:
            # The earlier answers this function may call by name: the grader's reference ones.
            helpers = self.wire.decode(message.get("helpers") or {"dict": []}, buffers, lambda number: number)
            for helper, number in helpers.items():
                self.shell.user_ns[helper] = self.stub(number, helper)
            args, kwargs = self.wire.decode(message["args"], buffers, self.stub)
            before = [a.copy() for a in args if isinstance(a, self.wire.np.ndarray)]
            measure = message.get("measure_memory")
            if measure:
                _trace_start()
            try:
                value = function(*args, **kwargs)
            finally:
                # -1: the student's code stopped the measuring, so there is no peak to report.
                peak = (_trace_peak()[1] if _tracing() else -1) if measure else None
                if measure:
                    _trace_stop()
        except BaseException as error:  # even SystemExit: report it, keep serving
            return self.send_error(type(error).__name__, str(error), self.student_frames(error))
        # In-place changes to array arguments travel back, so the tests can see them
        # (compared byte for byte: the student's code may have replaced numpy's functions).
        arrays = [a for a in args if isinstance(a, self.wire.np.ndarray)]
        changed = {str(i): a for i, (a, old) in enumerate(zip(arrays, before))
                   if a.shape != old.shape or a.dtype != old.dtype or a.tobytes() != old.tobytes()}
        # An argument returned as it is comes back as the test's own array, as without the sandbox.
        aliases = {id(a): i for i, a in enumerate(arrays)}
        self.reply({"value": value, "changed": changed, "peak_memory": peak}, aliases)

    def get(self, message, buffers):
        if message["name"] not in self.shell.user_ns:
            return self.send_error("NameError", f"name '{message['name']}' is not defined")
        self.reply({"value": self.shell.user_ns[message["name"]], "changed": {}, "peak_memory": None})

    def reply(self, payload, aliases=None):
        buffers = []
        try:
            tree = {"dict": [[key, self.wire.encode(item, buffers, None, aliases=aliases if key == "value" else None)]
                             for key, item in payload.items()]}
            message = self.wire.pack({"op": "return", "value": tree}, buffers)  # all of it, before sending
        except self.wire.Unsupported as error:
            return self.send_error("TypeError", f"the answer must be numbers or numpy arrays; it contained {error}")
        except MemoryError:
            return self.send_error("MemoryError", "the answer is too large to send back to the grader")
        self.answer(message)

    def student_frames(self, error):
        """[[cell, line, function]] of the frames of the student's own cells, innermost last
        (the grader's and numpy's frames are left out: the student can act only on theirs)."""
        try:
            frames = traceback.extract_tb(error.__traceback__)
            return [[self.cell_of_file[frame.filename], frame.lineno or 0, str(frame.name)[:80]]
                    for frame in frames if frame.filename in self.cell_of_file][-3:]
        except Exception:  # a traceback the student's code made strange: say nothing of it
            return []

    def send_error(self, kind, text, where=()):
        self.answer(self.wire.pack({"op": "raise", "type": kind, "message": text[:2000], "where": list(where)}))

    def answer(self, packed):
        """Send the answer to a request. A call's child first tells the runner that it
        answered: once the grader has the answer, the child may be gone at any moment."""
        if self.ready_fd is not None:
            os.write(self.ready_fd, b"1")
            self.ready_fd = None
        self.send_packed(packed)


def main():
    # No collections while numpy and IPython load (they make objects, not garbage); what
    # they made then moves to the permanent generation, which no later collection walks.
    gc.disable()
    uid = int(sys.argv[1])
    read_fd, write_fd = private_channel()
    drop_privileges(uid)
    import wire  # the file next to this one (the sandbox holds only these two)

    channel = wire.Channel(read_fd, write_fd)
    runner = Runner(channel, wire)  # IPython loaded before "ready": a sandbox launched ahead is then warm
    gc.freeze()
    gc.enable()
    channel.send({"op": "ready", "pid": os.getpid(), "started": time.time()})
    runner.serve()


if __name__ == "__main__":
    main()
