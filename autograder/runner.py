"""The student's side of grading: runs inside the sandbox, knows no tests.

It executes the student's cells in an IPython shell, then answers the
grader's requests: call one of the student's functions on grader-chosen
inputs and send back plain values (autograder.wire). Whether the answer is
right is decided by the grader, in its own process; nothing here can change
that, so nothing here needs to be trusted.

Started as `python runner.py UID` with the protocol on stdin/stdout. It
moves the protocol to private descriptors, sends the student's own output
to bounded buffers, drops to UID (when started as root) and waits.
"""
import io
import os
import sys
import time
import tracemalloc

MAX_CELL_OUTPUT = 64 * 1024
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
    """Move the protocol off fds 0/1 so that prints and os.write(1, ...) cannot reach it."""
    read_fd, write_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    output = os.open("output.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)
    return read_fd, write_fd


def drop_privileges(uid):
    """Become an unprivileged user (only possible, and only needed, when started as root).

    uid -1 means stay as we are (grading without the sandbox, for comparison).
    """
    if os.geteuid() != 0 or uid < 0:
        return
    if os.getcwd() != SANDBOX_HOME:  # never hand a real folder to the sandbox uid
        raise SystemExit(f"refusing to drop privileges outside {SANDBOX_HOME}")
    os.chown(".", uid, uid)
    os.chown("output.log", uid, uid)
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
        config = Config()
        config.HistoryManager.enabled = False
        config.InteractiveShell.colors = "nocolor"
        self.shell = InteractiveShell.instance(config=config)
        self.output = BoundedText()
        sys.stdout = sys.stderr = self.output
        self.peak_memory = None  # set while the grader measures memory

    def stub(self, number):
        """A stand-in for a function the grader passed: calling it asks the grader."""
        def call_grader(*args, **kwargs):
            buffers, callables = [], []
            tree = self.wire.encode([list(args), kwargs], buffers, callables)
            self.channel.send({"op": "callback", "callable": number, "args": tree}, buffers)
            return self.serve(until_reply=True)
        return call_grader

    def serve(self, until_reply=False):
        """Answer requests; return the value of the reply we wait for (when until_reply)."""
        while True:
            message, buffers = self.channel.receive()
            op = message.get("op")
            if op in ("return", "raise") and until_reply:
                if op == "raise":
                    raise RuntimeError(message.get("message", "the grader's function failed"))
                return self.wire.decode(message["value"], buffers, self.stub)
            handler = {"exec": self.execute, "call": self.call, "get": self.get}.get(op)
            if handler is None:
                raise SystemExit(f"unexpected message {op!r}")
            handler(message, buffers)

    def execute(self, message, buffers):
        result = self.shell.run_cell(message["code"], store_history=False, silent=False)
        error = result.error_before_exec or result.error_in_exec
        self.channel.send({"op": "done", "ok": error is None,
                           "error": "" if error is None else f"{type(error).__name__}: {error}"[:2000],
                           "output": self.output.take()})

    def call(self, message, buffers):
        try:
            function = self.shell.user_ns[message["name"]]
        except KeyError:
            return self.send_error("NameError", f"name '{message['name']}' is not defined")
        try:
            args, kwargs = self.wire.decode(message["args"], buffers, self.stub)
            before = [a.copy() for a in args if isinstance(a, self.wire.np.ndarray)]
            measure = message.get("measure_memory")
            if measure:
                tracemalloc.start()
            try:
                value = function(*args, **kwargs)
            finally:
                peak = tracemalloc.get_traced_memory()[1] if measure else None
                if measure:
                    tracemalloc.stop()
        except BaseException as error:  # even SystemExit: report it, keep serving
            return self.send_error(type(error).__name__, str(error))
        # In-place changes to array arguments travel back, so the tests can see them.
        arrays = [a for a in args if isinstance(a, self.wire.np.ndarray)]
        changed = {str(i): a for i, (a, old) in enumerate(zip(arrays, before))
                   if a.shape != old.shape or not self.wire.np.array_equal(a, old, equal_nan=True)}
        self.reply({"value": value, "changed": changed, "peak_memory": peak})

    def get(self, message, buffers):
        if message["name"] not in self.shell.user_ns:
            return self.send_error("NameError", f"name '{message['name']}' is not defined")
        self.reply({"value": self.shell.user_ns[message["name"]], "changed": {}, "peak_memory": None})

    def reply(self, payload):
        buffers = []
        try:
            tree = self.wire.encode(payload, buffers, None)
        except self.wire.Unsupported as error:
            return self.send_error("TypeError", f"the answer must be numbers or numpy arrays; it contained {error}")
        self.channel.send({"op": "return", "value": tree}, buffers)

    def send_error(self, kind, text):
        self.channel.send({"op": "raise", "type": kind, "message": text[:2000]})


def main():
    uid = int(sys.argv[1])
    read_fd, write_fd = private_channel()
    drop_privileges(uid)
    import wire  # the file next to this one (the sandbox holds only these two)

    channel = wire.Channel(read_fd, write_fd)
    channel.send({"op": "ready", "pid": os.getpid(), "started": time.time()})
    Runner(channel, wire).serve()


if __name__ == "__main__":
    main()
