"""Mutants of the scoring_functions assignment: one known mistake each, each breaking one named check."""
from mutants import Mutant

LOG_SOFTMAX_WITHOUT_MAX = '''
def log_softmax(scores, axis=-1):
    scores = np.asarray(scores, dtype=float)
    return scores - np.log(np.exp(scores).sum(axis=axis, keepdims=True))
'''

LOG_SOFTMAX_HARD_CODED_AXIS = '''
def log_softmax(scores, axis=-1):
    scores = np.asarray(scores, dtype=float)
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
'''

LOG_SOFTMAX_WITHOUT_KEEPDIMS = '''
def log_softmax(scores, axis=-1):
    scores = np.asarray(scores, dtype=float)
    shifted = scores - scores.max(axis=axis)
    return shifted - np.log(np.exp(shifted).sum(axis=axis))
'''

_MASK_TAIL = '''
    if causal:
        position = np.arange(num_queries)[:, None] + (num_keys - num_queries)
        mask &= np.arange(num_keys) <= position
    if keep is not None:
        mask &= np.asarray(keep, dtype=bool)
    masked = np.where(mask, scores, -np.inf)
    row_max = masked.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    exp = np.where(mask, np.exp(masked - row_max), 0.0)
    total = exp.sum(axis=-1, keepdims=True)
    return np.divide(exp, total, out=np.zeros_like(exp), where=total > 0), mask
'''

MASK_WITH_ZERO = '''
def attention_weights(scores, valid_lens=None, causal=False, keep=None):
    scores = np.asarray(scores, dtype=float)
    num_queries, num_keys = scores.shape[-2:]
    mask = np.ones(scores.shape, dtype=bool)
    if valid_lens is not None:
        lengths = np.asarray(valid_lens)
        if lengths.ndim == 1:
            lengths = lengths[:, None]
        mask &= np.arange(num_keys) < lengths[..., None]
    if causal:
        mask &= np.arange(num_keys) <= np.arange(num_queries)[:, None] + (num_keys - num_queries)
    if keep is not None:
        mask &= np.asarray(keep, dtype=bool)
    masked = np.where(mask, scores, 0.0)  # 0 instead of -inf
    exp = np.exp(masked - masked.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True), mask
'''

PER_QUERY_LENGTHS_IGNORED = '''
def attention_weights(scores, valid_lens=None, causal=False, keep=None):
    scores = np.asarray(scores, dtype=float)
    num_queries, num_keys = scores.shape[-2:]
    mask = np.ones(scores.shape, dtype=bool)
    if valid_lens is not None:
        mask &= np.arange(num_keys) < np.asarray(valid_lens)[:, None, None]
''' + _MASK_TAIL

NONE_LENGTHS_NOT_HANDLED = '''
def attention_weights(scores, valid_lens=None, causal=False, keep=None):
    scores = np.asarray(scores, dtype=float)
    num_queries, num_keys = scores.shape[-2:]
    mask = np.ones(scores.shape, dtype=bool)
    lengths = np.asarray(valid_lens)
    if lengths.ndim == 1:
        lengths = lengths[:, None]
    mask &= np.arange(num_keys) < lengths[..., None]
''' + _MASK_TAIL

CAUSAL_LOWER_TRIANGLE = '''
def attention_weights(scores, valid_lens=None, causal=False, keep=None):
    scores = np.asarray(scores, dtype=float)
    num_queries, num_keys = scores.shape[-2:]
    mask = np.ones(scores.shape, dtype=bool)
    if valid_lens is not None:
        lengths = np.asarray(valid_lens)
        if lengths.ndim == 1:
            lengths = lengths[:, None]
        mask &= np.arange(num_keys) < lengths[..., None]
    if causal:
        mask &= np.tril(np.ones((num_queries, num_keys), dtype=bool))
    if keep is not None:
        mask &= np.asarray(keep, dtype=bool)
    masked = np.where(mask, scores, -np.inf)
    row_max = masked.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    exp = np.where(mask, np.exp(masked - row_max), 0.0)
    total = exp.sum(axis=-1, keepdims=True)
    return np.divide(exp, total, out=np.zeros_like(exp), where=total > 0), mask
'''

BILINEAR_BATCH_TRANSPOSE = '''
def bilinear_attention(queries, keys, values, W, keep=None):
    scores = queries @ W @ keys.T
    weights, _ = attention_weights(scores, keep=keep)
    return weights @ values, weights
'''

BILINEAR_KEEP_IGNORED = '''
def bilinear_attention(queries, keys, values, W, keep=None):
    scores = queries @ W @ keys.swapaxes(-1, -2)
    weights, _ = attention_weights(scores)
    return weights @ values, weights
'''

VARIANCE_OF_SCALED_SCORE = '''
unscaled_score_variance = 1
'''

MUTANTS = [
    Mutant("log_softmax_without_max", "log_softmax", LOG_SOFTMAX_WITHOUT_MAX,
           "test_log_softmax", "subtract the maximum before np.exp", "stable"),
    Mutant("log_softmax_hard_coded_axis", "log_softmax", LOG_SOFTMAX_HARD_CODED_AXIS,
           "test_log_softmax", "you normalised along a hard-coded axis", "axis"),
    Mutant("log_softmax_without_keepdims", "log_softmax", LOG_SOFTMAX_WITHOUT_KEEPDIMS,
           "test_log_softmax", "keepdims=True", "values"),
    Mutant("mask_with_zero", "attention_weights", MASK_WITH_ZERO,
           "test_attention_weights", "you replaced masked scores by 0, but exp(0) = 1", "weights"),
    Mutant("per_query_lengths_ignored", "attention_weights", PER_QUERY_LENGTHS_IGNORED,
           "test_attention_weights", "(batch, queries)", "per-query lengths"),
    Mutant("none_lengths_not_handled", "attention_weights", NONE_LENGTHS_NOT_HANDLED,
           "test_attention_weights", "default `None`", "padding"),
    Mutant("causal_lower_triangle_with_cache", "attention_weights", CAUSAL_LOWER_TRIANGLE,
           "test_attention_weights", "the queries are the LAST positions", "causal"),
    Mutant("bilinear_batch_transpose", "bilinear_attention", BILINEAR_BATCH_TRANSPOSE,
           "test_bilinear_attention", "swapaxes(-1, -2)", "batch"),
    Mutant("bilinear_keep_ignored", "bilinear_attention", BILINEAR_KEEP_IGNORED,
           "test_bilinear_attention", "pass keep on to the masked softmax", "mask"),
    Mutant("variance_of_scaled_score", "unscaled_score_variance", VARIANCE_OF_SCALED_SCORE,
           "test_unscaled_score_variance", "so its variance is d = 64", "answer"),
]
