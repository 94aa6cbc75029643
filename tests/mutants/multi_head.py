"""Mutants of the multi_head assignment (grouped-query attention): one known mistake each,
each failing one named check."""
import dataclasses

from mutants import Mutant

SPLIT_RESHAPE_ONLY = '''
def split_query_groups(Q, num_heads, num_kv_heads):
    batch, n, d = Q.shape
    group, d_head = num_heads // num_kv_heads, d // num_heads
    return Q.reshape(batch, num_kv_heads, group, n, d_head)
'''

# The transpose on the wrong axes: (group, num_kv_heads) cut, then swapped back, so KV head k
# gets every num_kv_heads-th query head instead of a block of consecutive ones.
SPLIT_STRIDED_GROUPS = '''
def split_query_groups(Q, num_heads, num_kv_heads):
    batch, n, d = Q.shape
    group, d_head = num_heads // num_kv_heads, d // num_heads
    return Q.reshape(batch, n, group, num_kv_heads, d_head).transpose(0, 3, 2, 1, 4)
'''


def _gqa(share="np.repeat(heads(X @ W_k, num_kv_heads), group, axis=1)",
         share_v="np.repeat(heads(X @ W_v, num_kv_heads), group, axis=1)",
         scale="np.sqrt(d_head)", masked="np.where(mask, scores, -np.inf)",
         weights="weights = softmax(scores)", projection=" @ W_o"):
    """Grouped-query attention written with np.repeat (another form than the reference's)."""
    return f'''
def grouped_query_attention(X, W_q, W_k, W_v, W_o, num_heads, num_kv_heads, mask=None):
    batch, n, d = X.shape
    d_head, group = d // num_heads, num_heads // num_kv_heads

    def heads(Y, count):
        return Y.reshape(batch, n, count, d_head).transpose(0, 2, 1, 3)

    Q = heads(X @ W_q, num_heads)
    K = {share}
    V = {share_v}
    scores = Q @ K.swapaxes(-1, -2) / {scale}
    if mask is not None:
        scores = {masked}
    {weights}
    merged = (weights @ V).transpose(0, 2, 1, 3).reshape(batch, n, d)
    return merged{projection}, weights
'''


KV_HEADS_TILED = _gqa(share="np.tile(heads(X @ W_k, num_kv_heads), (1, group, 1, 1))",
                      share_v="np.tile(heads(X @ W_v, num_kv_heads), (1, group, 1, 1))")
SCALE_BY_D_MODEL = _gqa(scale="np.sqrt(d)")
FORGETS_W_O = _gqa(projection="")
MASK_WITH_ZERO = _gqa(masked="np.where(mask, scores, 0.0)")
MASK_AFTER_SOFTMAX = _gqa(masked="scores", weights="weights = softmax(scores)\n"
                          "    if mask is not None:\n        weights = np.where(mask, weights, 0.0)")

OFFSETS_HARD_CODED_AXIS = '''
def attended_offsets(weights):
    weights = np.asarray(weights, dtype=float)
    offsets = weights.argmax(axis=1) - np.arange(weights.shape[-2])
    found = np.zeros(weights.shape[:-2], dtype=int)
    for index in np.ndindex(found.shape):
        values, counts = np.unique(offsets[index], return_counts=True)
        found[index] = values[counts.argmax()]
    return found
'''

MUTANTS = [
    Mutant("split_reshape_without_transpose", "split_query_groups", SPLIT_RESHAPE_ONLY,
           "test_split_query_groups", "which mixes the tokens", check="tokens"),
    Mutant("split_transpose_wrong_axes", "split_query_groups", SPLIT_STRIDED_GROUPS,
           "test_split_query_groups", "consecutive heads share a KV head", check="groups"),
    Mutant("kv_heads_tiled", "grouped_query_attention", KV_HEADS_TILED,
           "test_grouped_query_attention", "not np.tile", check="groups"),
    Mutant("scale_by_d_model", "grouped_query_attention", SCALE_BY_D_MODEL,
           "test_grouped_query_attention", "scaled the scores by sqrt(d_model)", check="scaling"),
    Mutant("forgets_W_o", "grouped_query_attention", FORGETS_W_O,
           "test_grouped_query_attention", "forgot the output projection", check="output projection"),
    Mutant("mask_with_zero", "grouped_query_attention", MASK_WITH_ZERO,
           "test_grouped_query_attention", "exp(0) = 1 still gives them weight", check="mask"),
    Mutant("mask_after_softmax", "grouped_query_attention", MASK_AFTER_SOFTMAX,
           "test_grouped_query_attention", "you applied the mask after the softmax", check="mask"),
    Mutant("offsets_hard_coded_axis", "attended_offsets", OFFSETS_HARD_CODED_AXIS,
           "test_attended_offsets", "an axis counted", check="stacked maps"),
]
# A cell starts with its first line of code, as in a notebook (IPython drops leading blank
# lines, so the line numbers of a traceback count from there).
MUTANTS = [dataclasses.replace(mutant, code=mutant.code.lstrip("\n")) for mutant in MUTANTS]
