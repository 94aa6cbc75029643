"""Grade one notebook: student code in the sandbox, tests and verdicts here.

The student's cells run in the sandbox (autograder.runner). The test cells of
the *source* notebook (visible and hidden parts) never go there: they run in
this process, where every student function is a `StudentFunction` stand-in
that calls the real one inside the sandbox on the test's inputs and gets
back plain numbers and arrays. So a test's `np.allclose` is the real one, an
assertion error cannot be swallowed by student code, and a question counts
as passed only when its test cell ran to the end here after calling the
student's code at least once.

Nothing a test compares with comes from the student's process. Only the
functions of the question under test are the student's: while a test runs,
the answer functions of the earlier questions are the reference solution's,
run here (the source notebook's solution cells, executed once in a namespace
of their own). The test's oracles use them, and the student's function, when
it calls one of them by name, calls the same reference (a callback into this
process), so a mistake in an earlier answer is not counted twice and no
helper the student can rebind, or feed state to, decides a verdict.

When the student's process dies or hangs, the question (or cell) that did it
is lost, a new process replays the cells that had run, and grading goes on.
A call that crashes ends only the child process the runner forked for it: the
question gets "fault" and nothing needs replaying.

The student can still reach this process in two ways, and both are bounded:
the test's own checks run here on the student's answers (a huge answer, or a
huge input the student's code passes to a function the test gave it), so each
test runs under an alarm and a cap on this process's address space; and a
student function may change the arrays the test passed it (their changes are
mirrored back, as a test may check them), so a test that passes with those
changes must pass without them too: a function cannot make a wrong answer
right by rewriting the test's data.
"""
import ast
import builtins
import contextlib
import functools
import io
import resource
import signal
import threading
import time
from dataclasses import dataclass, field

import nbformat
import numpy as np

from autograder import wire
from autograder.checks import CheckRecorder, declared_checks
from autograder.diagnose import explain
from autograder.results import ERROR, FAILED, FAULT, MISSING, PASSED, QuestionResult
from autograder.sandbox import CallFault, Limits, Sandbox, SandboxFault, describe_exit, started_sandbox

MAX_RESTARTS = 5
INTERRUPT_GRACE = 3.0  # how long a cell past its limit has to give way to the interrupt
INTERRUPTED = "KeyboardInterrupt: the cell ran past its time limit"  # runner.Runner.execute's words
GRACE_SECONDS = 5.0  # how long a test's own checks may run here past its deadline
MIN_GRADER_MEMORY = 2**30  # the least address space a test may add to this process


class BudgetUsed(SandboxFault):
    """The notebook's time budget is used up: nothing more of it runs."""


class StudentError(Exception):
    """The student's code raised inside the sandbox (the message says what)."""


@dataclass
class SourceCell:
    kind: str  # "solution", "test" or "provided"
    source: str
    grade_id: str = ""
    points: float = 0.0
    locked: bool = False
    checks: list = field(default_factory=list)  # CheckSpec of a test cell (autograder.checks)


@dataclass
class SourceNotebook:
    name: str
    cells: list  # SourceCell, in order
    student_names: set = field(default_factory=set)  # names the solution cells define
    value_names: set = field(default_factory=set)  # those bound to a value (concept answers), not a def

    @property
    def tests(self):
        return [cell for cell in self.cells if cell.kind == "test"]

    def answered_by(self):
        """{name: index in self.tests of the question whose answer cells define it}: an
        answer belongs to the first test cell after it (names after the last test: None)."""
        owner, pending, number = {}, set(), 0
        for cell in self.cells:
            if cell.kind == "solution":
                pending |= defined_names(cell.source)
            elif cell.kind == "test":
                owner.update({name: number for name in pending if name not in owner})
                pending, number = set(), number + 1
        owner.update({name: None for name in pending if name not in owner})
        return owner

    def earlier_answers(self, test):
        """Names the answers of the questions before `test` define (graded with the reference)."""
        number = self.tests.index(test)
        return {name for name, owner in self.answered_by().items() if owner is not None and owner < number}


def read_source(path, name):
    """Classify the code cells of an nbgrader source notebook."""
    notebook = nbformat.read(path, as_version=4)
    cells, names, values = [], set(), set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        grading = cell.metadata.get("nbgrader", {})
        kind = ("solution" if grading.get("solution") else
                "test" if grading.get("grade") else "provided")
        grade_id = grading.get("grade_id", "")
        cells.append(SourceCell(kind, cell.source, grade_id, float(grading.get("points", 0) or 0),
                                bool(grading.get("locked")),
                                declared_checks(cell.source, grade_id) if kind == "test" else []))
        if kind == "solution":
            names |= defined_names(cell.source)
            values |= defined_names(cell.source, values_only=True)
    return SourceNotebook(name, cells, names, values - functions_of(cells))


@functools.lru_cache(maxsize=1024)
def defined_names(source, values_only=False):
    """Top-level names a cell binds (functions, classes, assignments; only assignments
    with values_only). A frozenset, cached: every test of every submission asks which
    answers come before it, from the same source cells."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if not values_only:
                names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return frozenset(names)


def functions_of(cells):
    """Names a solution cell defines with def or class (never a concept answer)."""
    names = set()
    for cell in cells:
        if cell.kind == "solution":
            names |= defined_names(cell.source) - defined_names(cell.source, values_only=True)
    return names


def raise_student_error(kind, message, where=()):
    """Re-raise the student's exception here as the same built-in type when it is one,
    so that a test's `except ValueError` means what it says. Never StopIteration: raised
    inside map() or a generator of the test's, it would quietly end the test's loop."""
    exception_type = getattr(builtins, kind, None)
    if (isinstance(exception_type, type) and issubclass(exception_type, Exception)
            and not issubclass(exception_type, (StopIteration, StopAsyncIteration))):
        try:
            error = exception_type(message)
        except Exception:
            error = StudentError(f"{kind}: {message}")
    else:
        error = StudentError(f"{kind}: {message}")
    error.from_student = True
    error.where = where
    raise error


class Session:
    """The sandbox plus what is needed to rebuild it after a fault."""

    def __init__(self, limits, isolate, uid):
        self.limits, self.isolate, self.uid = limits, isolate, uid  # uid: see Sandbox
        self.sandbox = None
        self.replay = []  # (source, cell index) of the student cells that ran, in order
        self.restarts = 0
        self.deadline = None  # current wall-clock deadline (time.monotonic)
        self.notebook_deadline = None
        self.calls_answered = 0
        self.measuring = False
        self.peak_memory = 0
        self.write_back = True  # mirror the student's in-place changes into the test's arrays
        self.inputs_changed = False  # the student changed an array the test passed
        self.helpers = {}  # name -> reference function the student's calls see under that name
        self._callbacks = []

    def start(self):
        self.notebook_deadline = time.monotonic() + self.limits.notebook_seconds
        self.sandbox = started_sandbox(self.limits, self.isolate, self.uid)

    def stop(self):
        if self.sandbox is not None:
            self.sandbox.stop()

    def budget_used(self):
        return time.monotonic() >= self.notebook_deadline

    def budget_message(self):
        return f"the notebook's time budget ({self.limits.notebook_seconds:g} s) is used up"

    def restart(self):
        """A new process with the state of the old one: replay every cell that ran."""
        self.sandbox.stop()
        if self.budget_used():
            raise BudgetUsed(self.budget_message())
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            raise SandboxFault(f"the student's process crashed {MAX_RESTARTS} times; grading stopped")
        self.sandbox = Sandbox(self.limits, self.isolate, self.uid).start()
        for source, cell in self.replay:
            self._exec(source, "replaying a cell", cell)

    def _deadline(self):
        return min(time.monotonic() + self.limits.cell_seconds, self.notebook_deadline)

    def _exec(self, source, doing, cell=None):
        """Run a cell: the runner interrupts it at the deadline (keeping what it defined);
        only a cell that ignores the interrupt for INTERRUPT_GRACE is killed, with the process.
        `cell` (its index in the notebook) lets the runner say in which cell an error rose."""
        deadline = self._deadline()
        message = {"op": "exec", "code": source, "seconds": max(deadline - time.monotonic(), 0.01), "cell": cell}
        reply, _ = self._request(message, (), deadline + INTERRUPT_GRACE, doing)
        return reply

    def _request(self, message, buffers, deadline, doing):
        if self.budget_used():
            raise BudgetUsed(self.budget_message())
        return self.sandbox.request(message, buffers, deadline, doing, self._answer_callback)

    def run_cell(self, source, cell=None):
        """Run one student cell; return (ok, error text, output)."""
        reply = self._exec(source, "running a cell", cell)
        if reply.get("interrupted") and reply.get("left_running"):
            self.sandbox.stop()
            raise SandboxFault("time limit: the cell was interrupted, but processes it started went on running")
        self.replay.append((source, cell))
        return reply.get("ok", False), str(reply.get("error", "")), str(reply.get("output", ""))

    def call(self, name, args, kwargs):
        """Call the student's `name` in the sandbox; return its answer as plain values."""
        buffers = []
        try:
            tree = wire.encode([list(args), kwargs], buffers, self._callbacks)
        except wire.Unsupported as error:
            raise TypeError(f"the grader cannot pass {error} to the student's code") from None
        # The earlier answers the function may call by name are the reference's, run here.
        helpers = wire.encode(self.helpers, buffers, self._callbacks)
        doing = f"running {name}"
        # A measured call: the kernel counts what the sandbox takes (a cgroup); only where
        # there is none does the runner measure itself, with tracemalloc.
        with (self.sandbox.measured() if self.measuring else contextlib.nullcontext()) as outside:
            inside = self.measuring and self.sandbox.cgroup is None
            message = {"op": "call", "name": name, "args": tree, "helpers": helpers, "measure_memory": inside}
            reply, reply_buffers = self._request(message, buffers, self.deadline or self._deadline(), doing)
        if reply.get("op") == "raise":
            raise_student_error(str(reply.get("type", "Exception")), str(reply.get("message", "")),
                                student_frames(reply.get("where")))
        if reply.get("op") == "died":
            signal_number, code = reply.get("signal"), reply.get("code")
            status = -signal_number if isinstance(signal_number, int) and signal_number > 0 else code
            raise CallFault(f"{describe_exit(status if isinstance(status, int) else None)} while {doing}")
        try:
            if reply.get("op") != "return":
                raise wire.WireError(f"a {str(reply.get('op'))[:20]!r} message instead of an answer")
            parts = {key: tree for key, tree in reply["value"]["dict"]}
            changed = wire.decode(parts["changed"], reply_buffers)
            peak = wire.decode(parts["peak_memory"], reply_buffers)
            arrays = [a for a in args if isinstance(a, np.ndarray)]
            self._write_back(arrays, changed)
            # An argument the function returned as it is: the test's own array (with the
            # changes mirrored), as without the sandbox; a copy when changes are not mirrored.
            own = arrays if self.write_back else [changed.get(str(i), a.copy()) for i, a in enumerate(arrays)]
            value = wire.decode(parts["value"], reply_buffers, aliases=own)
            peak = None if peak is None else float("inf") if float(peak) < 0 else int(peak)
        except (wire.WireError, KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            # Only a tampered runner sends this: the stream can no longer be trusted.
            self.sandbox.stop()
            raise SandboxFault(f"{name} sent back a broken answer ({error})") from None
        if outside is not None and outside.bytes is not None:
            peak = outside.bytes
        if peak is not None:
            self.peak_memory = max(self.peak_memory, peak)
        self.calls_answered += 1
        return value

    def get_value(self, name):
        """The value the student's process holds under `name` (a concept question's answer)."""
        reply, reply_buffers = self._request({"op": "get", "name": name}, (), self._deadline(), f"reading {name}")
        if reply.get("op") == "raise":
            raise_student_error(str(reply.get("type", "Exception")), str(reply.get("message", "")))
        try:
            parts = {key: tree for key, tree in reply["value"]["dict"]}
            value = wire.decode(parts["value"], reply_buffers)
        except (wire.WireError, KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            self.sandbox.stop()
            raise SandboxFault(f"{name} came back broken ({error})") from None
        self.calls_answered += 1
        return value

    def _write_back(self, arrays, changed):
        """Mirror the student's in-place changes of array arguments (a test may check them)."""
        for index, new in dict(changed).items():
            index = int(index)
            if not 0 <= index < len(arrays) or not isinstance(new, np.ndarray):
                raise ValueError(f"no array argument {index}")
            self.inputs_changed = True
            original = arrays[index]
            if self.write_back and np.shape(new) == original.shape:
                with contextlib.suppress(TypeError, ValueError):
                    np.copyto(original, new, casting="unsafe")

    def _answer_callback(self, message, buffers):
        """The student's code called a function the test passed to it: run it here."""
        try:
            number = int(message["callable"])
            function = self._callbacks[number]
            args, kwargs = wire.decode(message["args"], buffers)
            value = function(*args, **kwargs)
            out = []
            return {"op": "return", "value": wire.encode(value, out, self._callbacks)}, out
        except Exception as error:  # a failing test function is the student's input's fault
            return {"op": "raise", "type": type(error).__name__, "message": f"{type(error).__name__}: {error}"[:500]}, []


def student_frames(where):
    """The runner's [[cell, line, function]] list, kept only when it has that shape."""
    frames = []
    for frame in where if isinstance(where, list) else []:
        if (isinstance(frame, list) and len(frame) == 3 and isinstance(frame[0], int)
                and isinstance(frame[1], int) and isinstance(frame[2], str)):
            frames.append((frame[0], frame[1], frame[2][:80]))
    return tuple(frames[-3:])


class StudentFunction:
    """Stands for one function of the student's; calling it runs the real one in the sandbox."""

    def __init__(self, session, name):
        self._session, self.__name__ = session, name

    def __call__(self, *args, **kwargs):
        return self._session.call(self.__name__, args, kwargs)

    def __repr__(self):
        return f"<student function {self.__name__}>"


class SandboxMemoryMeter:
    """Replaces `tracemalloc` in the tests: the student's allocations happen in the
    sandbox, so that is where they are measured; start/stop frame the calls.

    The kernel measures it, outside the student's process: every page the sandbox's
    processes take during the call (autograder.cgroups), whatever allocated it (numpy,
    an anonymous mmap, shared memory, a file in the sandbox's tmpfs, another process).
    Memory the cells took before the call is not the call's, as with tracemalloc.
    Only where the grader has no memory cgroup (not root, no v1 memory controller) does
    the runner measure inside the student's process with tracemalloc, which only sees
    Python's allocations; it then reports an unmeasurable peak (infinite here) when the
    student's code stops the tracing.
    """

    def __init__(self, session):
        self._session = session

    def start(self, *args):
        self._session.measuring, self._session.peak_memory = True, 0

    def stop(self):
        self._session.measuring = False

    def is_tracing(self):
        return self._session.measuring

    def get_traced_memory(self):
        return 0, self._session.peak_memory

    def reset_peak(self):
        self._session.peak_memory = 0


def failure_message(error):
    if isinstance(error, AssertionError):
        return str(error) or "a check of the tests failed (it has no message)"
    if isinstance(error, NotImplementedError) and not str(error):
        return "NotImplementedError: not answered yet (the cell still raises NotImplementedError)"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def address_space_bytes():
    """This process's virtual size (what RLIMIT_AS counts), or None where /proc has no statm."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def grader_guard(seconds, memory_bytes):
    """Bound what a test's own code may cost this process: at most `seconds` of wall
    time (an alarm raises SandboxFault) and `memory_bytes` more address space
    (allocations past it raise MemoryError). The student's code reaches this process
    through the size of its answers and the inputs it passes to the test's functions."""
    alarm = threading.current_thread() is threading.main_thread()
    if alarm:
        def expire(signum, frame):
            raise SandboxFault("time limit: the test's checks of your answers ran too long in the grader "
                               "(an answer, or an input your code passed to a function of the test, too large?)")
        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = address_space_bytes()
    cap = None if used is None else used + memory_bytes
    if cap is not None and hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    capped = cap is not None and (soft == resource.RLIM_INFINITY or cap < soft)
    if capped:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if capped:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class NotebookJudge:
    """Grades one student notebook against one source notebook."""

    def __init__(self, source, limits=None, isolate=True, uid=None):
        self.source = source
        self.limits = limits or Limits.from_env()
        self.session = Session(self.limits, isolate, uid)
        self.trusted = {"__name__": "__grader__"}
        self.reference = None  # the source's provided and solution cells, run here (see _reference)
        self.provided_done = 0  # source cells before this index were run here already
        self.faults = []
        self.outputs = {}  # student cell index -> (ok, error, output)
        self.student_sources = {}  # student cell index -> its source (to quote the line that raised)
        self.value_problems = {}  # concept answer -> why it could not be read
        self.cell_faults = []  # faults of student cells since the last test (said when it fails)

    # -- the trusted namespace -------------------------------------------------
    def _bind_names(self, test):
        """What every answer name means while `test` runs: the student's function for this
        question and later ones, the reference solution's for the earlier questions (in the
        test's oracles here, and for the student's code when it calls them by name)."""
        earlier = self.source.earlier_answers(test)
        reference = self._reference() if earlier else {}
        helpers = {name: reference[name] for name in earlier if callable(reference.get(name))}
        for name in self.source.student_names - self.source.value_names:
            self.trusted[name] = helpers.get(name) or StudentFunction(self.session, name)
        self.session.helpers = helpers
        for name in self.source.value_names:
            self.trusted.pop(name, None)  # unanswered: the test meets a NameError
            if name in earlier and name in reference:
                self.trusted[name] = reference[name]
        if "tracemalloc" in self.trusted:
            self.trusted["tracemalloc"] = SandboxMemoryMeter(self.session)

    def _fetch_values(self, test):
        """The concept answers (values, not functions) this test reads, from the student's
        process; one that cannot be read stays unbound and `value_problems` says why."""
        earlier = self.source.earlier_answers(test)
        for name in sorted((self.source.value_names - earlier) & names_used(test.source)):
            try:
                self.trusted[name] = self.session.get_value(name)
            except Exception as error:
                if not getattr(error, "from_student", False):
                    raise
                if not isinstance(error, NameError):
                    self.value_problems[name] = f"your answer {name} could not be read: {error}"


    def _reference(self):
        """The namespace of the reference solution: the source's provided and solution
        cells up to its last test, run once here. Test cells never run in it."""
        if self.reference is None:
            self.reference = {"__name__": "__reference__"}
            last_test = max(i for i, cell in enumerate(self.source.cells) if cell.kind == "test")
            for cell in self.source.cells[:last_test]:
                if cell.kind != "test":
                    with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
                        exec(compiled(cell.source, f"<reference {cell.grade_id or 'cell'}>"), self.reference)
        return self.reference

    def _run_provided_until(self, test):
        """Run here the instructor's provided cells (imports, helpers) that come before `test`."""
        stop = self.source.cells.index(test)
        for cell in self.source.cells[self.provided_done:stop]:
            if cell.kind == "provided":
                with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
                    exec(compiled(cell.source, f"<provided {cell.grade_id or 'cell'}>"), self.trusted)
        self.provided_done = max(self.provided_done, stop)

    # -- grading ---------------------------------------------------------------
    def grade(self, student_cells):
        """student_cells: [(cell index, source, grade_id)] of the student's code cells, in order.

        Returns (questions, faults, outputs); every test cell of the source gets a question.
        """
        tests = {cell.grade_id: cell for cell in self.source.tests}
        results = {}
        try:
            self.session.start()
        except SandboxFault as fault:
            self.faults.append(f"start: {fault}")
            return [self._result(t, 0.0, FAULT, [str(fault)]) for t in self.source.tests], self.faults, {}
        self.student_sources = {index: source for index, source, _ in student_cells}
        try:
            for index, source, grade_id in student_cells:
                if grade_id in tests:
                    if grade_id not in results:
                        results[grade_id] = self._run_test(tests[grade_id])
                    continue
                self._run_student_cell(index, self._effective_source(source, grade_id))
            for test in self.source.tests:  # tests the student deleted still count
                if test.grade_id not in results:
                    results[test.grade_id] = self._run_test(test)
        finally:
            self.session.stop()
        return [results[t.grade_id] for t in self.source.tests], self.faults, self.outputs

    def _effective_source(self, source, grade_id):
        """A locked cell of the source (provided code) runs as the instructor wrote it."""
        for cell in self.source.cells:
            if grade_id and cell.grade_id == grade_id and cell.locked and cell.kind != "solution":
                return cell.source
        return source

    def _run_student_cell(self, index, source):
        if self.session.budget_used():
            self.outputs[index] = (False, self.session.budget_message(), "")
            return
        try:
            ok, error, output = self.outputs[index] = self.session.run_cell(source, index)
        except SandboxFault as fault:
            self._cell_fault(index, str(fault))
            self.outputs[index] = (False, str(fault), "")
            if not isinstance(fault, BudgetUsed):
                self._recover()
            return
        if not ok and error.startswith(INTERRUPTED):
            self._cell_fault(index, "it ran past its time limit and was interrupted (what it defined before is kept)")
        if not ok and error.startswith("MemoryError"):
            # What the cell took stays taken: start again without it, as after a crash.
            self.session.replay.pop()
            self._cell_fault(index, "it ran out of memory (MemoryError); it was left out")
            self._recover()

    def _cell_fault(self, index, text):
        self.faults.append(f"cell {index}: {text}")
        self.cell_faults.append(f"cell {index} of your notebook did not finish: {text}")

    def _recover(self):
        try:
            self.session.restart()
        except SandboxFault as fault:
            self.faults.append(f"restart: {fault}")

    def _run_test(self, test):
        earlier, self.cell_faults = self.cell_faults, []
        if self.session.budget_used():
            result = self._result(test, 0.0, FAULT, [f"not graded: {self.session.budget_message()}"])
        elif not self.session.sandbox.alive():
            result = self._result(test, 0.0, FAULT, ["the student's process could not be restarted"])
        else:
            self._run_provided_until(test)
            self._bind_names(test)
            result = self._attempt(test, write_back=True)
            if result.score > 0 and self.session.inputs_changed:
                # It scored with the student's changes to the test's own arrays in place:
                # it must score as much on the test's data as the test made it, too.
                again = self._attempt(test, write_back=False)
                if again.score < result.score:
                    again.messages = ["your code changed the arrays the test gave it, and the test "
                                      "passes only with those changes in place"] + again.messages
                    result = again
        if result.status != PASSED:
            result.messages += earlier
        return result

    def _attempt(self, test, write_back):
        """Run the test cell here once; the result of the question and of each of its checks."""
        session = self.session
        session.calls_answered, session.write_back, session.inputs_changed = 0, write_back, False
        session.deadline = min(time.monotonic() + self.limits.cell_seconds, session.notebook_deadline)
        recorder = self.trusted["check"] = CheckRecorder(
            test.checks, lambda error: self._verdict(test, error, within_check=True), lambda: session.calls_answered)
        printed = io.StringIO()
        ended = None  # (status, message) of what ended the cell before its end
        try:
            with grader_guard(session.deadline - time.monotonic() + GRACE_SECONDS,
                              max(self.limits.memory_bytes, MIN_GRADER_MEMORY)):
                with contextlib.redirect_stdout(printed), np.errstate(all="ignore"):
                    self._fetch_values(test)
                    exec(compiled(test.source, f"<test {test.grade_id}>"), self.trusted)
        except BudgetUsed as fault:
            self.faults.append(f"{test.grade_id}: {fault}")
            ended = (FAULT, f"not graded: {fault}")
        except BaseException as error:
            ended = self._verdict(test, error)
            if ended is None:
                raise
            if isinstance(error, SandboxFault) and not isinstance(error, CallFault):
                self._recover()
        finally:
            session.deadline = None
            session.measuring = False
            session.write_back = True
        if not test.checks:  # the whole cell is one check
            if ended is None and session.calls_answered == 0:
                ended = (FAILED, "the tests could not call your code")
            if ended:
                return self._result(test, 0.0, ended[0], [ended[1]])
            return self._result(test, test.points, PASSED, [])
        checks = recorder.results(ended)
        failed = [check for check in checks if check.status != PASSED]
        messages, said = [], set()
        for check in failed:
            repeated = check.message in said
            said.add(check.message)
            messages.append(f"check {check.name!r} ({check.points:g} of {test.points:g} points): "
                            + ("did not pass either (the same reason as above)" if repeated else check.message))
        result = self._result(test, sum(check.score for check in checks), failed[0].status if failed else PASSED,
                              messages)
        result.checks = checks
        return result

    def _verdict(self, test, error, within_check=False):
        """What an exception in a test means: (status, message), or None when it must end
        the test cell (within a check: the student's process is gone or out of time) or
        the grading (KeyboardInterrupt, SystemExit)."""
        if isinstance(error, CallFault):  # the call's own process died; the student's process is fine
            self.faults.append(f"{test.grade_id}: {error}")
            return FAULT, f"your code crashed: {error}"
        if isinstance(error, BudgetUsed) or (within_check and isinstance(error, SandboxFault)):
            return None
        if isinstance(error, SandboxFault):
            self.faults.append(f"{test.grade_id}: {error}")
            return FAULT, f"grading stopped your code: {error}"
        if not isinstance(error, Exception):
            return None
        if isinstance(error, StudentError):
            return ERROR, self._described(error, str(error))
        status = ERROR if getattr(error, "from_student", False) else FAILED
        return status, self._described(error, failure_message(error))

    def _described(self, error, message):
        """The message, with the student's line that raised and the usual slip behind it."""
        if isinstance(error, NameError):
            for name, problem in self.value_problems.items():
                if f"'{name}'" in message:
                    return problem
        where = getattr(error, "where", ())
        if not where:
            return message
        cell, line, function = where[-1]
        lines = self.student_sources.get(cell, "").splitlines()
        line += leading_blank_lines(lines)  # IPython compiles the cell without them
        code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        place = "a cell" if function == "<module>" else f"your function {function}"
        message += f"\n  raised in {place} (cell {cell + 1} of your notebook, line {line}): {code}"
        hint = explain(type(error).__name__, message, code, "\n".join(lines))
        return message + (f"\n  likely cause: {hint}" if hint else "")

    def _result(self, test, score, status, messages):
        return QuestionResult(self.source.name, test.grade_id, float(score), test.points, status, messages)


def leading_blank_lines(lines):
    """How many blank lines open a cell (IPython drops them before compiling it, so its
    line numbers count from the first line with code)."""
    count = 0
    while count < len(lines) and not lines[count].strip():
        count += 1
    return count


@functools.lru_cache(maxsize=1024)
def compiled(source, filename):
    """The code of a source cell the grader runs (cached: code objects are immutable, and
    every submission of an assignment runs the same test, provided and reference cells)."""
    return compile(source, filename, "exec")


@functools.lru_cache(maxsize=256)
def names_used(source):
    """Every name a piece of code reads or writes (a frozenset: cached, as every submission
    of an assignment asks about the same test cells)."""
    try:
        return frozenset(node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name))
    except SyntaxError:
        return frozenset()


def missing_results(source, reason):
    return [QuestionResult(source.name, t.grade_id, 0.0, t.points, MISSING, [reason]) for t in source.tests]


def student_code_cells(notebook):
    """[(index, source, grade_id)] of a student notebook's code cells."""
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            cells.append((index, cell.source, grade_id if isinstance(grade_id, str) else ""))
    return cells
