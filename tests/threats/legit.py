"""Honest submissions: they must score exactly what they score when their notebook
runs the way it always did (one kernel, the source's test cells in place), with
or without prints, plots, slowness or a different but correct style."""
from threats import ADDITIVE, MASKED, SCORING, SOFTMAX, Case, answer, build, notebook_file, scores

PRINTS_AND_PLOTS = {
    "softmax": answer(SCORING, "softmax") + '''
%matplotlib inline
import matplotlib.pyplot as plt
from IPython.display import display, Markdown
demo = softmax(np.array([[1.0, 2.0, 3.0]]))
print("softmax of 1, 2, 3:", demo)
display(Markdown("**softmax** looks right"))
plt.figure(figsize=(3, 2))
plt.bar(range(3), demo[0])
plt.title("softmax")
plt.show()
demo
''',
    "masked_softmax": answer(SCORING, "masked_softmax").replace(
        "def masked_softmax(scores, valid_lens=None):",
        "def masked_softmax(scores, valid_lens=None):\n    print('masked_softmax called with', np.shape(scores))") + '''
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.imshow(masked_softmax(np.zeros((1, 4, 6)), np.array([3]))[0], cmap="viridis")
fig.savefig("weights.png")  # a file in the sandbox's own home
plt.close(fig)
''',
}

SLOW = {
    "softmax": '''import time
time.sleep(2)  # a slow cell, well within the per-cell limit
''' + answer(SCORING, "softmax").replace(
        "def softmax(scores):", "def softmax(scores):\n    time.sleep(0.05)  # and a slow function"),
}

NAMEDTUPLE = {
    "scaled_dot_product_attention": '''from collections import namedtuple
Attention = namedtuple("Attention", ["output", "weights"])

def scaled_dot_product_attention(queries, keys, values, valid_lens=None):
    d = queries.shape[-1]
    weights = masked_softmax(queries @ keys.swapaxes(-1, -2) / np.sqrt(d), valid_lens)
    return Attention(weights @ values, weights)  # a tuple all the same
''',
}

IN_PLACE = {
    "softmax": '''def softmax(scores):
    """Shifts the caller's (float) array in place: harmless, softmax does not see the shift."""
    scores = np.asarray(scores, dtype=float)
    scores -= scores.max(axis=-1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=-1, keepdims=True)
''',
}

IN_PLACE_RESULT = {
    "softmax": '''def softmax(scores):
    """Overwrites the caller's array with the weights and returns that same array: the
    tests then compute their expectations from the weights instead of the scores."""
    scores = np.asarray(scores, dtype=float)
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores
''',
}

HELPERS = {
    "softmax": '''import math
EPSILON = 0.0  # a module-level constant the functions read

def _shift(scores):
    return scores - scores.max(axis=-1, keepdims=True)

def softmax(scores):
    exp = np.exp(_shift(np.asarray(scores, dtype=float))) + EPSILON
    return exp / exp.sum(axis=-1, keepdims=True)
''',
    "scaled_dot_product_attention": '''def scaled_dot_product_attention(queries, keys, values, valid_lens=None):
    scores = np.einsum("bqd,bkd->bqk", queries, keys) / math.sqrt(queries.shape[-1])
    weights = masked_softmax(scores, valid_lens)
    return weights @ values, weights
''',
}

# A thread a cell started, still running (and taking the GIL back and forth) while the
# tests call the functions: every call's child must start and answer all the same.
THREADS = {
    "softmax": '''import threading
import time

def _keep_busy():
    while True:
        sum(range(1000))
        time.sleep(0)

threading.Thread(target=_keep_busy, daemon=True).start()

def softmax(scores):
    scores = np.asarray(scores, dtype=float)
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    time.sleep(0)  # hands the GIL to the thread, if it is there
    return exp / exp.sum(axis=-1, keepdims=True)
''',
}

CASES = [
    Case("reference", "legitimate", notebook_file(build()), scores(), legit=True,
         note="the reference solution"),
    Case("partial", "legitimate", notebook_file(build(blank=["additive_attention"])),
         scores(**{ADDITIVE: 0}), legit=True, reasons={ADDITIVE: "NotImplementedError"},
         note="additive_attention left unanswered"),
    Case("prints-and-plots", "legitimate", notebook_file(build(answers=PRINTS_AND_PLOTS)), scores(),
         legit=True, note="%matplotlib inline, plots, display(), prints in cells and in functions"),
    Case("slow", "legitimate", notebook_file(build(answers=SLOW)), scores(), legit=True,
         note="time.sleep(2) in a cell, 50 ms per softmax call"),
    Case("namedtuple", "legitimate", notebook_file(build(answers=NAMEDTUPLE)), scores(), legit=True,
         note="returns a namedtuple (output, weights)"),
    Case("in-place", "legitimate", notebook_file(build(answers=IN_PLACE)), scores(), legit=True,
         note="softmax shifts its (float) argument in place"),
    Case("in-place-result", "legitimate", notebook_file(build(answers=IN_PLACE_RESULT)),
         scores(**{SOFTMAX: 0}), legit=True, status={SOFTMAX: "failed"},
         note="softmax overwrites its argument with the weights and returns it: question 1 fails "
              "without the sandbox too; question 2 passes only because the answer IS the argument"),
    Case("helpers", "legitimate", notebook_file(build(answers=HELPERS)), scores(), legit=True,
         note="own helpers, constants, imports, einsum"),
    Case("threads", "legitimate", notebook_file(build(answers=THREADS)), scores(), legit=True,
         note="a cell starts a thread that runs on while the functions are called"),
    Case("wrong-but-honest", "legitimate",
         notebook_file(build(answers={"masked_softmax": answer(SCORING, "masked_softmax").replace(
             "valid_lens[..., None]", "valid_lens[..., None] + 1")})),
         scores(**{MASKED: 0}), legit=True, status={MASKED: "failed"},
         note="an honest off-by-one in masked_softmax"),
]
