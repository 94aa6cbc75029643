"""A wrong answer helped by the student's own helper, a measure dodged, a hang.

The first cases give additive_attention a wrong answer (uniform weights over the
valid keys, whatever the scores) and have masked_softmax, the helper whose value
the test's oracle is built from, echo that answer: through a file in the
sandbox's /tmp or home, or a shared memory mapping made at cell time that every
forked call inherits, or by rebinding the name between the tests. The oracle is
the reference's masked_softmax, run in the grader: none of them may earn a point.

Then: linear_attention building the quadratic matrix inside an anonymous mmap
(which tracemalloc does not see), correct functions followed by an endless loop
in the same cell (interrupted: the functions stay), the same with a loop that
swallows the interrupt (killed: that cell's function is lost), and a right
answer returned as arrays of dtype object (it counts).
"""
from threats import ADDITIVE, SCORING, SOFTMAX, Case, answer, build, notebook_file, scores
from threats.measuring import EFFICIENT, LINEAR

WRONG_ADDITIVE = '''def additive_attention(queries, keys, values, W_q, W_k, w_v, valid_lens=None):
    """Wrong: uniform weights over the valid keys, whatever the scores."""
    batch, n_q, n_k = queries.shape[0], queries.shape[1], keys.shape[1]
    lens = np.full(batch, n_k) if valid_lens is None else np.asarray(valid_lens)
    lens = lens[:, None] if lens.ndim == 1 else lens
    keep = np.arange(n_k) < lens[..., None]  # (batch, 1 or queries, keys)
    weights = np.broadcast_to(keep / keep.sum(axis=-1, keepdims=True), (batch, n_q, n_k)).copy()
    remember(weights)
    return weights @ values, weights
'''

# masked_softmax (defined right, by the answer cell before) now echoes what
# additive_attention left behind when the shapes fit.
ECHO = '''_right_masked_softmax = masked_softmax

def masked_softmax(scores, valid_lens=None):
    left = recall()
    if left is not None and left.shape == np.shape(scores):
        return left
    return _right_masked_softmax(scores, valid_lens)
'''


def through_file(path):
    return f'''import os

def remember(weights):
    np.save(os.path.expanduser("{path}"), weights)

def recall():
    where = os.path.expanduser("{path}")
    return np.load(where) if os.path.exists(where) else None
'''


THROUGH_SHARED_MEMORY = '''import mmap
import struct
_shared = mmap.mmap(-1, 1 << 20)  # MAP_SHARED: every forked call writes and reads the same pages

def remember(weights):
    data = np.ascontiguousarray(weights, dtype=float).tobytes()
    _shared[:16 + 8 * 4 + len(data)] = struct.pack("<qq4q", 1, weights.ndim, *weights.shape, *[0] * (4 - weights.ndim)) + data

def recall():
    stored, ndim, *shape = struct.unpack("<qq4q", _shared[:48])
    if not stored:
        return None
    shape = tuple(shape[:ndim])
    return np.frombuffer(_shared[48:48 + 8 * int(np.prod(shape))], dtype=float).reshape(shape)
'''


def echo_case(student, channel, note):
    code = channel + "\n" + WRONG_ADDITIVE + "\n" + ECHO
    return Case(student, "state between calls", notebook_file(build(answers={"additive_attention": code})),
                scores(**{ADDITIVE: 0}), status={ADDITIVE: "failed"}, note=note)


# The answer cell rebinds masked_softmax to match its wrong answer; a cell after
# the test puts the right one back.
REBOUND = WRONG_ADDITIVE.replace("    remember(weights)\n", "") + '''
def masked_softmax(scores, valid_lens=None):
    """Rebound to agree with the wrong additive_attention."""
    n_k = np.shape(scores)[-1]
    lens = np.full(np.shape(scores)[0], n_k) if valid_lens is None else np.asarray(valid_lens)
    lens = lens[:, None] if lens.ndim == 1 else lens
    keep = np.arange(n_k) < lens[..., None]
    return np.broadcast_to(keep / keep.sum(axis=-1, keepdims=True), np.shape(scores)).copy()
'''

ANONYMOUS_MMAP = '''import mmap

def linear_attention(queries, keys, values):
    """Right values, with the quadratic (m, n) matrix in an anonymous mmap, out of tracemalloc's sight."""
    phi_q = np.asarray(elu_feature_map(queries), dtype=float)
    phi_k = np.asarray(elu_feature_map(keys), dtype=float)
    shape = phi_q.shape[:-1] + phi_k.shape[-2:-1]  # (..., m, n)
    size = int(np.prod(shape))
    room = mmap.mmap(-1, max(8 * size, 8), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    similarities = np.frombuffer(room, dtype=float, count=size).reshape(shape)
    np.matmul(phi_q, phi_k.swapaxes(-1, -2), out=similarities)
    return (similarities @ np.asarray(values, dtype=float)) / similarities.sum(axis=-1, keepdims=True)
'''

HANGS = answer(SCORING, "softmax") + '''
while True:  # never ends: the grader interrupts the cell, softmax stays defined
    pass
'''

HANGS_STUBBORNLY = answer(SCORING, "softmax") + '''
while True:  # swallows the interrupt: the grader has to kill the process
    try:
        while True:
            pass
    except KeyboardInterrupt:
        pass
'''

OBJECT_ANSWER = answer(SCORING, "scaled_dot_product_attention").replace(
    "    return weights @ values, weights",
    "    # Right numbers, as arrays of Python floats (dtype object).\n"
    "    return np.array((weights @ values).tolist(), dtype=object), np.array(weights.tolist(), dtype=object)")
assert OBJECT_ANSWER != answer(SCORING, "scaled_dot_product_attention")

CASES = [
    echo_case("echo-tmp-file", through_file("/tmp/echo.npy"),
              "a wrong additive_attention leaves its weights in /tmp; masked_softmax echoes them"),
    echo_case("echo-home-file", through_file("~/echo.npy"),
              "the same through a file in the sandbox's home"),
    echo_case("echo-shared-mmap", THROUGH_SHARED_MEMORY,
              "the same through a shared mapping made at cell time, inherited by every forked call"),
    Case("rebound-helper", "rebinding a helper",
         notebook_file(build(answers={"additive_attention": REBOUND},
                             after={"test_additive_attention": [answer(SCORING, "masked_softmax")]})),
         scores(**{ADDITIVE: 0}), status={ADDITIVE: "failed"},
         note="the answer cell rebinds masked_softmax to agree with a wrong answer; a later cell restores it"),
    Case("ea-anonymous-mmap", "memory outside tracemalloc",
         notebook_file(build(EFFICIENT, answers={"linear_attention": ANONYMOUS_MMAP}), assignment=EFFICIENT),
         scores(EFFICIENT, **{LINEAR: 0}), assignment=EFFICIENT, status={LINEAR: "failed"},
         reasons={LINEAR: "at peak"},
         note="right values, the (m, n) matrix built in an anonymous mmap that tracemalloc does not see"),
    Case("hang-after-defining", "hang after defining", notebook_file(build(answers={"softmax": HANGS})),
         scores(), fault="interrupted",
         note="a right softmax, then an endless loop in the same cell: interrupted, softmax kept"),
    Case("hang-ignoring-interrupt", "hang after defining",
         notebook_file(build(answers={"softmax": HANGS_STUBBORNLY})),
         scores(**{SOFTMAX: 0}), reasons={SOFTMAX: "softmax"}, fault="time limit",
         note="a right softmax, then a loop that swallows KeyboardInterrupt: killed, softmax lost "
              "(the later questions call the reference softmax)"),
    Case("object-dtype-answer", "legitimate", notebook_file(build(answers={"scaled_dot_product_attention":
                                                                           OBJECT_ANSWER})),
         scores(), legit=True, note="a right answer returned as object arrays of Python floats"),
]
