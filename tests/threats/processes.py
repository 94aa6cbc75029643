"""Submissions about the sandbox's processes and file system, graded by
tests/test_sandbox_processes.py (not by test_threats.py's load_cases): a function
that reads what the system's libraries need from /etc, and a cell that leaves a
daemon behind (double fork, new session, deaf to SIGTERM and SIGHUP), which must
end with the sandbox's pid namespace without costing a point."""
from threats import Case, build, notebook_file, scores
from threats.faults import extra_cell, in_function

# The dynamic loader's cache and fontconfig's folder are bound into the sandbox's
# /etc; the unprivileged uid must be able to reach them (ctypes.util, matplotlib).
READS_ETC = '''import os
with open("/etc/ld.so.cache", "rb") as handle:
    assert handle.read(4), "the loader's cache is empty"
'''

DAEMON = '''import os, signal, time
if os.fork() == 0:
    os.setsid()  # a session and process group of its own: out of reach of a killpg
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        while True:
            time.sleep(3600)
    os._exit(0)
os.wait()
print("a daemon is running")
'''

CASES = [
    Case("reads-etc", "legitimate", notebook_file(build(answers=in_function("softmax", READS_ETC))), scores(),
         note="softmax first reads /etc/ld.so.cache, as code that loads a shared library does"),
    Case("daemon", "fork bomb", notebook_file(build(after=extra_cell(DAEMON))), scores(),
         note="an extra cell leaves a setsid'd double-forked daemon that ignores SIGTERM and SIGHUP"),
]
