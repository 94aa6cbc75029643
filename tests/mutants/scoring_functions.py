"""Mutants of the scoring_functions assignment: one known mistake each."""
from mutants import Mutant

SOFTMAX_WITHOUT_MAX = '''
def softmax(scores):
    exp = np.exp(np.asarray(scores, dtype=float))
    return exp / exp.sum(axis=-1, keepdims=True)
'''

SOFTMAX_WRONG_AXIS = '''
def softmax(scores):
    scores = np.asarray(scores, dtype=float)
    exp = np.exp(scores - scores.max(axis=0, keepdims=True))
    return exp / exp.sum(axis=0, keepdims=True)
'''

MASK_AFTER_SOFTMAX = '''
def masked_softmax(scores, valid_lens=None):
    weights = softmax(scores)
    if valid_lens is None:
        return weights
    valid_lens = np.asarray(valid_lens)
    if valid_lens.ndim == 1:
        valid_lens = valid_lens[:, None]
    keep = np.arange(weights.shape[-1]) < valid_lens[..., None]
    return np.where(keep, weights, 0.0)
'''

MASK_WITH_MINUS_INF = '''
def masked_softmax(scores, valid_lens=None):
    scores = np.asarray(scores, dtype=float)
    if valid_lens is None:
        return softmax(scores)
    valid_lens = np.asarray(valid_lens)
    if valid_lens.ndim == 1:
        valid_lens = valid_lens[:, None]
    keep = np.arange(scores.shape[-1]) < valid_lens[..., None]
    masked = np.where(keep, scores, -np.inf)
    exp = np.exp(masked - masked.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)
'''

SCALE_BY_NUM_KEYS = '''
def scaled_dot_product_attention(queries, keys, values, valid_lens=None):
    scores = queries @ keys.swapaxes(-1, -2) / np.sqrt(keys.shape[-2])
    weights = masked_softmax(scores, valid_lens)
    return weights @ values, weights
'''

NO_SCALING = '''
def scaled_dot_product_attention(queries, keys, values, valid_lens=None):
    scores = queries @ keys.swapaxes(-1, -2)
    weights = masked_softmax(scores, valid_lens)
    return weights @ values, weights
'''

ADDITIVE_WITHOUT_TANH = '''
def additive_attention(queries, keys, values, W_q, W_k, w_v, valid_lens=None):
    features = (queries @ W_q)[:, :, None, :] + (keys @ W_k)[:, None, :, :]
    weights = masked_softmax(features @ w_v, valid_lens)
    return weights @ values, weights
'''

MUTANTS = [
    Mutant("softmax_without_max", "softmax", SOFTMAX_WITHOUT_MAX,
           "test_softmax", "subtract the row maximum"),
    Mutant("softmax_wrong_axis", "softmax", SOFTMAX_WRONG_AXIS,
           "test_softmax", "must run over the LAST axis"),
    Mutant("mask_after_softmax", "masked_softmax", MASK_AFTER_SOFTMAX,
           "test_masked_softmax", "mask before normalising"),
    Mutant("mask_with_minus_inf", "masked_softmax", MASK_WITH_MINUS_INF,
           "test_masked_softmax", "valid length 0 became NaN"),
    Mutant("scale_by_num_keys", "scaled_dot_product_attention", SCALE_BY_NUM_KEYS,
           "test_scaled_dot_product_attention", "sqrt(number of keys)"),
    Mutant("no_scaling", "scaled_dot_product_attention", NO_SCALING,
           "test_scaled_dot_product_attention", "scores are not scaled"),
    Mutant("additive_without_tanh", "additive_attention", ADDITIVE_WITHOUT_TANH,
           "test_additive_attention", "w_v . tanh(q_i W_q + k_j W_k)"),
]
