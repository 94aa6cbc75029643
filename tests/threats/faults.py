"""Submissions that crash, hang or flood. Each loses only what its fault broke:
a fault in an extra cell costs nothing (the cell defines no answer), a fault in
a function costs the question whose test called it."""
from threats import ADDITIVE, SCALED, SCORING, Case, answer, build, notebook_file, scores


def in_function(grade_id, code, name=None):
    """The reference answer of `grade_id` with `code` run first inside its function."""
    name = name or grade_id
    body = "\n".join("    " + line for line in code.strip().splitlines())
    return {grade_id: answer(SCORING, grade_id).replace('"""\n', '"""\n' + body + "\n", 1)}


def extra_cell(code, after="masked_softmax"):
    return {after: [code]}


SYS_EXIT = '''import sys
for leave in (lambda: sys.exit(3), exit, quit, lambda: (_ for _ in ()).throw(SystemExit(1))):
    try:
        leave()
    except SystemExit:
        pass
sys.exit("bye")
'''

SEGFAULT = '''import ctypes
ctypes.string_at(0)
'''

MEMORY_BOMB_CELL = '''hog = []
while True:
    hog.append(np.ones(2 ** 24))  # 128 MB more every turn, until the limit
'''

MEMORY_BOMB_CALL = '''hog = [np.ones(2 ** 24) for _ in range(10 ** 6)]'''

FORK_BOMB = '''import os
while True:
    os.fork()  # every process forks again, until the process limit says no
'''

FORK_SLEEPERS = '''import os, time
children = 0
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:  # each child holds a process slot and never finishes
        while True:
            time.sleep(3600)
    children += 1
print("started", children, "children")
'''

HUGE_OUTPUT = '''import os, sys
print("x" * 100_000_000)
for _ in range(20):
    sys.stdout.write("y" * 1_000_000 + "\\n")
os.write(1, b"z" * 50_000_000)  # straight to the file descriptors, past Python
os.write(2, b"w" * 50_000_000)
"v" * 10_000_000  # and a huge value as the cell's result
'''

HUGE_FILE = '''import os
for folder in (os.path.expanduser("~"), "/tmp"):
    try:
        with open(os.path.join(folder, "big.bin"), "wb") as handle:
            for _ in range(1024):
                handle.write(b"\\0" * 2 ** 20)  # 1 GB in all
    except OSError as error:
        print(folder, error)
'''

HUGE_ANSWER = '''def scaled_dot_product_attention(queries, keys, values, valid_lens=None):
    huge = np.zeros(30_000_000)  # 240 MB: the grader has to receive and hold it
    return huge, huge
'''

SLEEPY_CELLS = ["import time\ntime.sleep(4)  # each cell is within the per-cell limit"] * 12

CASES = [
    Case("sys-exit", "sys.exit", notebook_file(build(after=extra_cell(SYS_EXIT))), scores(),
         note="sys.exit, exit(), quit(), raise SystemExit in an extra cell"),
    Case("os-exit-cell", "os._exit", notebook_file(build(after=extra_cell("import os\nos._exit(1)"))),
         scores(), fault="exited with code 1", note="os._exit(1) in an extra cell"),
    Case("os-exit-call", "os._exit",
         notebook_file(build(answers=in_function("scaled_dot_product_attention", "import os\nos._exit(1)"))),
         scores(**{SCALED: 0}), status={SCALED: "fault"}, reasons={SCALED: "exited with code 1"},
         note="os._exit(1) inside scaled_dot_product_attention, called by its test"),
    Case("segfault-cell", "segfault", notebook_file(build(after=extra_cell(SEGFAULT))), scores(),
         fault="SIGSEGV", note="ctypes.string_at(0) in an extra cell"),
    Case("segfault-call", "segfault",
         notebook_file(build(answers=in_function("additive_attention", SEGFAULT))),
         scores(**{ADDITIVE: 0}), status={ADDITIVE: "fault"}, reasons={ADDITIVE: "SIGSEGV"},
         note="a segfault inside additive_attention"),
    Case("loop-cell", "infinite loop", notebook_file(build(after=extra_cell("while True:\n    pass"))),
         scores(), fault="time limit", note="while True: pass in an extra cell"),
    Case("loop-call", "infinite loop",
         notebook_file(build(answers=in_function("scaled_dot_product_attention", "while True:\n    pass"))),
         scores(**{SCALED: 0}), status={SCALED: "fault"}, reasons={SCALED: "time limit"},
         note="while True: pass inside scaled_dot_product_attention"),
    Case("memory-cell", "memory bomb", notebook_file(build(after=extra_cell(MEMORY_BOMB_CELL))), scores(),
         note="an extra cell keeps 128 MB arrays until the memory limit, and holds them"),
    Case("memory-call", "memory bomb",
         notebook_file(build(answers=in_function("scaled_dot_product_attention", MEMORY_BOMB_CALL))),
         scores(**{SCALED: 0}), status={SCALED: "error"}, reasons={SCALED: "MemoryError"},
         note="scaled_dot_product_attention allocates without end"),
    Case("fork-bomb", "fork bomb", notebook_file(build(after=extra_cell(FORK_BOMB))), scores(),
         note="while True: os.fork() in an extra cell"),
    Case("fork-sleepers", "fork bomb", notebook_file(build(after=extra_cell(FORK_SLEEPERS))), scores(),
         note="an extra cell fills the process limit with children that never end"),
    Case("huge-output", "gigantic output", notebook_file(build(after=extra_cell(HUGE_OUTPUT))), scores(),
         note="100 MB print, 20 MB of writes, 100 MB to fds 1 and 2, a 10 MB cell result"),
    Case("huge-answer", "gigantic output",
         notebook_file(build(answers={"scaled_dot_product_attention": HUGE_ANSWER})),
         scores(**{SCALED: 0}), note="scaled_dot_product_attention answers with 240 MB arrays"),
    Case("huge-file", "huge files", notebook_file(build(after=extra_cell(HUGE_FILE))), scores(),
         note="writes 1 GB to its home and to /tmp"),
    Case("time-budget", "infinite loop",
         notebook_file(build(after={"test_masked_softmax": SLEEPY_CELLS})),
         scores(**{ADDITIVE: 0, SCALED: 0}), status={ADDITIVE: "fault", SCALED: "fault"},
         reasons={ADDITIVE: "time budget", SCALED: "time budget"},
         note="twelve 4 s cells: each within the cell limit, together over the notebook's budget"),
]
