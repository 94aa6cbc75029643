"""Mutants of the self_attention assignment: one known mistake each, each failing one named check."""
import dataclasses

from mutants import Mutant


def _prefix_lm_mask(rule="(key <= query) | (key < prefix)", padding="key < lengths"):
    return f'''
def prefix_lm_mask(n, prefix=0, valid_lens=None):
    query = np.arange(n)[:, None]
    key = np.arange(n)[None, :]
    mask = {rule}
    if valid_lens is None:
        return mask
    lengths = np.asarray(valid_lens)[:, None, None]
    return mask & ({padding})
'''


PREFIX_IGNORED = _prefix_lm_mask(rule="key <= query")
PREFIX_OFF_BY_ONE = _prefix_lm_mask(rule="(key <= query) | (key <= prefix)")
PADDING_DROPS_QUERIES = _prefix_lm_mask(padding="query < lengths")


def _column_self_attention(scores="K.swapaxes(-1, -2) @ Q / np.sqrt(Q.shape[-2])",
                           masked="np.where(keep, A, -np.inf)",
                           weights="E = np.exp(A - A.max(axis=-2, keepdims=True))\n"
                                   "    A_prime = E / E.sum(axis=-2, keepdims=True)"):
    return f'''
def column_self_attention(I, W_q, W_k, W_v, keep=None):
    I = np.asarray(I, dtype=float)
    Q = W_q @ I
    K = W_k @ I
    V = W_v @ I
    A = {scores}
    if keep is not None:
        A = {masked}
    {weights}
    return V @ A_prime, A_prime
'''


COLUMN_SOFTMAX_OVER_ROWS = _column_self_attention(weights="A_prime = softmax(A)")
COLUMN_UNSCALED = _column_self_attention(scores="K.swapaxes(-1, -2) @ Q")
COLUMN_HARD_CODED_AXIS = _column_self_attention(
    weights="E = np.exp(A - A.max(axis=0, keepdims=True))\n    A_prime = E / E.sum(axis=0, keepdims=True)")
COLUMN_MISSING_KEEPDIMS = _column_self_attention(
    weights="E = np.exp(A - A.max(axis=-2))\n    A_prime = E / E.sum(axis=-2)")
COLUMN_K_DOT_T = _column_self_attention(scores="K.T @ Q / np.sqrt(Q.shape[-2])")
COLUMN_MASK_WITH_ZERO = _column_self_attention(masked="np.where(keep, A, 0.0)")


def _padded_cross_attention(padding="if source_lens is not None:\n"
                                    "        keep = np.arange(K.shape[-2]) < np.asarray(source_lens)[:, None, None]\n"
                                    "        scores = np.where(keep, scores, -np.inf)",
                            weights="weights = softmax(scores)"):
    return f'''
def padded_cross_attention(target, source, W_q, W_k, W_v, source_lens=None):
    Q = target @ W_q
    K = source @ W_k
    V = source @ W_v
    scores = Q @ K.swapaxes(-1, -2) / np.sqrt(Q.shape[-1])
    {padding}
    {weights}
    return weights @ V, weights
'''


CROSS_NONE_DEFAULT = _padded_cross_attention(
    padding="lengths = source_lens[:, None, None]\n"
            "    scores = np.where(np.arange(K.shape[-2]) < lengths, scores, -np.inf)")
CROSS_PADDING_WITH_ZERO = _padded_cross_attention(
    padding="if source_lens is not None:\n"
            "        keep = np.arange(K.shape[-2]) < np.asarray(source_lens)[:, None, None]\n"
            "        scores = np.where(keep, scores, 0.0)")
CROSS_PADDING_AFTER_SOFTMAX = _padded_cross_attention(
    padding="",
    weights="weights = softmax(scores)\n"
            "    if source_lens is not None:\n"
            "        weights = np.where(np.arange(K.shape[-2]) < np.asarray(source_lens)[:, None, None], weights, 0.0)")

MUTANTS = [
    Mutant("prefix_ignored", "prefix_lm_mask", PREFIX_IGNORED,
           "test_prefix_lm_mask", "prefix=2 changed nothing", check="prefix"),
    Mutant("prefix_off_by_one", "prefix_lm_mask", PREFIX_OFF_BY_ONE,
           "test_prefix_lm_mask", "j < prefix, not j <= prefix", check="prefix"),
    Mutant("padding_drops_queries", "prefix_lm_mask", PADDING_DROPS_QUERIES,
           "test_prefix_lm_mask", "padding drops keys", check="padding"),
    Mutant("column_softmax_over_rows", "column_self_attention", COLUMN_SOFTMAX_OVER_ROWS,
           "test_column_self_attention", "every COLUMN of A' must sum to 1", check="weights"),
    Mutant("column_unscaled", "column_self_attention", COLUMN_UNSCALED,
           "test_column_self_attention", "the scores are not scaled", check="weights"),
    Mutant("column_hard_coded_axis", "column_self_attention", COLUMN_HARD_CODED_AXIS,
           "test_column_self_attention", "an axis counted from the front (axis=0)", check="batch"),
    Mutant("column_missing_keepdims", "column_self_attention", COLUMN_MISSING_KEEPDIMS,
           "test_column_self_attention", "keepdims=True", check="batch"),
    Mutant("column_K_dot_T_on_batch", "column_self_attention", COLUMN_K_DOT_T,
           "test_column_self_attention", "swapaxes(-1, -2)", check="batch"),
    Mutant("column_mask_with_zero", "column_self_attention", COLUMN_MASK_WITH_ZERO,
           "test_column_self_attention", "exp(0) = 1 still gives them weight", check="mask"),
    Mutant("cross_none_default", "padded_cross_attention", CROSS_NONE_DEFAULT,
           "test_padded_cross_attention", "default `None`", check="sizes"),
    Mutant("cross_padding_with_zero", "padded_cross_attention", CROSS_PADDING_WITH_ZERO,
           "test_padded_cross_attention", "exp(0) = 1 still gives them weight", check="padding"),
    Mutant("cross_padding_after_softmax", "padded_cross_attention", CROSS_PADDING_AFTER_SOFTMAX,
           "test_padded_cross_attention", "mask the scores before the softmax", check="padding"),
]
# A cell starts with its first line of code, as in a notebook (IPython drops leading blank
# lines, so the line numbers of a traceback count from there).
MUTANTS = [dataclasses.replace(mutant, code=mutant.code.lstrip("\n")) for mutant in MUTANTS]
