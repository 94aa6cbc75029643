"""Mutants of the self_attention assignment: one known mistake each."""
from mutants import Mutant

MASK_STRICT = '''
def causal_mask(n):
    return np.tril(np.ones((n, n), dtype=bool), k=-1)
'''

MASK_ONE_AHEAD = '''
def causal_mask(n):
    return np.tril(np.ones((n, n), dtype=bool), k=1)
'''


def _self_attention(scores_line, mask_step="", weights_line="attention = softmax(scores)",
                    values="V", transpose="K.swapaxes(-1, -2)"):
    return f'''
def self_attention(X, W_q, W_k, W_v, causal=False):
    X = np.asarray(X, dtype=float)
    Q = X @ W_q
    K = X @ W_k
    V = X @ W_v
    d_k = Q.shape[-1]
    n = X.shape[-2]
    scores = {scores_line.replace("K_T", transpose)}
    if causal:
        {mask_step or "scores = np.where(causal_mask(n), scores, -np.inf)"}
    {weights_line}
    return attention @ {values}, attention
'''


MASK_AFTER_SOFTMAX = '''
def self_attention(X, W_q, W_k, W_v, causal=False):
    X = np.asarray(X, dtype=float)
    Q, K, V = X @ W_q, X @ W_k, X @ W_v
    attention = softmax(Q @ K.swapaxes(-1, -2) / np.sqrt(Q.shape[-1]))
    if causal:
        attention = np.where(causal_mask(X.shape[-2]), attention, 0.0)
    return attention @ V, attention
'''

SCALE_BY_SEQUENCE_LENGTH = _self_attention("Q @ K_T / np.sqrt(n)")
NO_SCALING = _self_attention("Q @ K_T")
SOFTMAX_OVER_QUERIES = _self_attention(
    "Q @ K_T / np.sqrt(d_k)",
    weights_line="attention = np.exp(scores - scores.max(axis=-2, keepdims=True)); "
                 "attention = attention / attention.sum(axis=-2, keepdims=True)")
AVERAGES_X_NOT_VALUES = _self_attention("Q @ K_T / np.sqrt(d_k)", values="X")
K_DOT_T_ON_BATCH = _self_attention("Q @ K_T / np.sqrt(d_k)", transpose="K.T")

MUTANTS = [
    Mutant("causal_mask_strict", "causal_mask", MASK_STRICT,
           "test_causal_mask", "not j < i"),
    Mutant("causal_mask_one_ahead", "causal_mask", MASK_ONE_AHEAD,
           "test_causal_mask", "not j <= i + 1"),
    Mutant("mask_after_softmax", "self_attention", MASK_AFTER_SOFTMAX,
           "test_self_attention", "you applied the mask after the softmax"),
    Mutant("scale_by_sequence_length", "self_attention", SCALE_BY_SEQUENCE_LENGTH,
           "test_self_attention", "divided the scores by sqrt(n), the sequence length"),
    Mutant("no_scaling", "self_attention", NO_SCALING,
           "test_self_attention", "the scores are not scaled"),
    Mutant("softmax_over_queries", "self_attention", SOFTMAX_OVER_QUERIES,
           "test_self_attention", "softmax runs over the wrong axis"),
    Mutant("averages_X_not_values", "self_attention", AVERAGES_X_NOT_VALUES,
           "test_self_attention", "instead of the values V = X W_v"),
    Mutant("K_dot_T_on_batch", "self_attention", K_DOT_T_ON_BATCH,
           "test_self_attention", "K.T reverses all three axes"),
]
