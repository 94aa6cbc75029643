"""Mutants of the multi_head assignment: one known mistake each."""
from mutants import Mutant

SPLIT_RESHAPE_ONLY = '''
def split_heads(X, num_heads):
    batch, n, d = X.shape
    return X.reshape(batch, num_heads, n, d // num_heads)
'''

MERGE_INTERLEAVED = '''
def merge_heads(X):
    batch, heads, n, d_head = X.shape
    return X.transpose(0, 2, 3, 1).reshape(batch, n, heads * d_head)
'''

MERGE_RESHAPE_ONLY = '''
def merge_heads(X):
    batch, heads, n, d_head = X.shape
    return X.reshape(batch, n, heads * d_head)
'''


def _multi_head(scale="np.sqrt(Q.shape[-1])", projection=" @ W_o"):
    return f'''
def multi_head_attention(X, W_q, W_k, W_v, W_o, num_heads, mask=None):
    Q = split_heads(X @ W_q, num_heads)
    K = split_heads(X @ W_k, num_heads)
    V = split_heads(X @ W_v, num_heads)
    scores = Q @ K.swapaxes(-1, -2) / {scale}
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    attention = softmax(scores)
    return merge_heads(attention @ V){projection}, attention
'''


SCALE_BY_D_MODEL = _multi_head(scale="np.sqrt(X.shape[-1])")
FORGETS_W_O = _multi_head(projection="")

MASK_AFTER_SOFTMAX = '''
def multi_head_attention(X, W_q, W_k, W_v, W_o, num_heads, mask=None):
    Q = split_heads(X @ W_q, num_heads)
    K = split_heads(X @ W_k, num_heads)
    V = split_heads(X @ W_v, num_heads)
    attention = softmax(Q @ K.swapaxes(-1, -2) / np.sqrt(Q.shape[-1]))
    if mask is not None:
        attention = np.where(mask, attention, 0.0)
    return merge_heads(attention @ V) @ W_o, attention
'''

COUNT_TIMES_HEADS = '''
def count_parameters(d_model, num_heads):
    return 4 * d_model * d_model * num_heads
'''

COUNT_WITHOUT_W_O = '''
def count_parameters(d_model, num_heads):
    return 3 * d_model * d_model
'''

MUTANTS = [
    Mutant("split_reshape_without_transpose", "split_heads", SPLIT_RESHAPE_ONLY,
           "test_split_heads", "without the transpose"),
    Mutant("merge_interleaves_heads", "merge_heads", MERGE_INTERLEAVED,
           "test_merge_heads", "interleaves the heads' features"),
    Mutant("merge_reshape_without_transpose", "merge_heads", MERGE_RESHAPE_ONLY,
           "test_merge_heads", "reshaped without moving the head axis back"),
    Mutant("scale_by_d_model", "multi_head_attention", SCALE_BY_D_MODEL,
           "test_multi_head_attention", "scaled the scores by sqrt(d_model)"),
    Mutant("forgets_W_o", "multi_head_attention", FORGETS_W_O,
           "test_multi_head_attention", "forgot the output projection"),
    Mutant("mask_after_softmax", "multi_head_attention", MASK_AFTER_SOFTMAX,
           "test_multi_head_attention", "you applied the mask after the softmax"),
    Mutant("count_times_heads", "count_parameters", COUNT_TIMES_HEADS,
           "test_count_parameters", "does not depend on num_heads"),
    Mutant("count_without_W_o", "count_parameters", COUNT_WITHOUT_W_O,
           "test_count_parameters", "add the output matrix W_O"),
]
