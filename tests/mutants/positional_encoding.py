"""Mutants of the positional_encoding assignment: one known mistake each, each breaking one named check."""
from mutants import Mutant


def _relative_scores(offsets="np.arange(n)[None, :] - np.arange(n)[:, None]",
                     lookup="w_K[np.clip(offsets, -kappa, kappa) + kappa]", default=True,
                     transpose="keys.swapaxes(-1, -2)", scale="np.sqrt(queries.shape[-1])"):
    infer = "    if kappa is None:\n        kappa = (len(w_K) - 1) // 2\n" if default else ""
    return f'''
def relative_scores(queries, keys, w_K, kappa=None):
    queries, keys, w_K = (np.asarray(a, dtype=float) for a in (queries, keys, w_K))
{infer}    n = queries.shape[-2]
    offsets = {offsets}
    a_K = {lookup}
    content = queries @ {transpose}
    relative = np.einsum("...id,ijd->...ij", queries, a_K)
    return (content + relative) / {scale}
'''


OFFSET_SIGN_FLIPPED = _relative_scores(offsets="np.arange(n)[:, None] - np.arange(n)[None, :]")
KAPPA_NONE_NOT_HANDLED = _relative_scores(default=False)
KEYS_T_ON_A_BATCH = _relative_scores(transpose="keys.T")
SCORES_NOT_SCALED = _relative_scores(scale="1.0")


def _relative_attention(fill="-np.inf", row_max="scores.max(axis=-1, keepdims=True)"):
    return f'''
def relative_attention(X, W_q, W_k, W_v, w_K, kappa, causal=False):
    scores = relative_scores(X @ W_q, X @ W_k, w_K, kappa)
    if causal:
        n = scores.shape[-1]
        scores = np.where(np.tril(np.ones((n, n), dtype=bool)), scores, {fill})
    scores = scores - {row_max}
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ (X @ W_v), weights
'''


MASK_WITH_ZERO = _relative_attention(fill="0.0")
MAX_WITHOUT_KEEPDIMS = _relative_attention(row_max="scores.max(axis=-1)")


def _offset_map(pairs="current, following = PE[p], PE[p + k]",
                residual="np.linalg.norm(current @ M - following) / np.linalg.norm(following)"):
    return f'''
def offset_map(PE, k):
    PE = np.asarray(PE, dtype=float)
    p = np.arange(max(0, -k), len(PE) - max(0, k))
    {pairs}
    M = np.linalg.lstsq(current, following, rcond=None)[0]
    residual = {residual}
    return M, float(residual)
'''


SLICES_FOR_POSITIVE_K_ONLY = _offset_map(pairs="current, following = PE[:-k or None], PE[k:]")
ABSOLUTE_RESIDUAL = _offset_map(residual="np.linalg.norm(current @ M - following)")

OFFSET_ARGMAX_OVER_EVERYTHING = '''
def recover_offset(row_from, row_to, max_offset):
    row_from, row_to = np.asarray(row_from, dtype=float), np.asarray(row_to, dtype=float)
    d = row_from.shape[-1]
    frequencies = 1.0 / 10000.0 ** (np.arange(0, d, 2) / d)
    turned = (np.arctan2(row_to[..., 0::2], row_to[..., 1::2])
              - np.arctan2(row_from[..., 0::2], row_from[..., 1::2]))
    candidates = np.arange(-max_offset, max_offset + 1)
    fit = np.cos(turned[..., None, :] - candidates[:, None] * frequencies).sum(axis=-1)
    return candidates[fit.argmax() % len(candidates)]
'''

ANGLE_WITH_I_NOT_2I = '''
pair_rotation_angle = 3 / 10000 ** (1 / 8)
'''

MUTANTS = [
    Mutant("offset_sign_flipped", "relative_scores", OFFSET_SIGN_FLIPPED,
           "test_relative_scores", "you used the offset i - j", "offsets"),
    Mutant("kappa_none_not_handled", "relative_scores", KAPPA_NONE_NOT_HANDLED,
           "test_relative_scores", "default `None`", "kappa=None"),
    Mutant("keys_T_on_a_batch", "relative_scores", KEYS_T_ON_A_BATCH,
           "test_relative_scores", "swapaxes(-1, -2)", "batch"),
    Mutant("scores_not_scaled", "relative_scores", SCORES_NOT_SCALED,
           "test_relative_scores", "divide the whole score", "scaling"),
    Mutant("mask_with_zero", "relative_attention", MASK_WITH_ZERO,
           "test_relative_attention", "exp(0) = 1 still gives them weight", "causal"),
    Mutant("max_without_keepdims", "relative_attention", MAX_WITHOUT_KEEPDIMS,
           "test_relative_attention", "keepdims=True", "output"),
    Mutant("slices_for_positive_k_only", "offset_map", SLICES_FOR_POSITIVE_K_ONLY,
           "test_offset_map", "with k = -2 the pairs look back", "map"),
    Mutant("absolute_residual", "offset_map", ABSOLUTE_RESIDUAL,
           "test_offset_map", "a relative error", "residual"),
    Mutant("offset_argmax_over_everything", "recover_offset", OFFSET_ARGMAX_OVER_EVERYTHING,
           "test_recover_offset", "one offset per pair", "batch"),
    Mutant("angle_with_i_not_2i", "pair_rotation_angle", ANGLE_WITH_I_NOT_2I,
           "test_pair_rotation_angle", "the exponent uses 2i", "answer"),
]
