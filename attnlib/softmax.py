"""Softmax and masked softmax over the last (key) axis.

Taught in the chapter *Attention scoring functions*.
"""
import numpy as np


def softmax(scores):
    """Numerically stable softmax over the last axis.

    Subtracting the row maximum leaves the result unchanged (it cancels in the
    ratio) but keeps every exponent <= 0, so ``exp`` cannot overflow.

    scores: array (..., keys). Returns weights of the same shape; rows sum to 1.
    """
    scores = np.asarray(scores, dtype=float)
    shifted = scores - scores.max(axis=-1, keepdims=True)  # (..., keys), max is 0
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def lengths_to_mask(valid_lens, num_keys):
    """Turn valid lengths into a boolean keep-mask over keys.

    valid_lens: (batch,) one length per sequence, or (batch, queries) one per query.
    Returns a mask that broadcasts against scores of shape (batch, queries, keys):
    (batch, 1, keys) for per-sequence lengths, (batch, queries, keys) for per-query ones.
    """
    valid_lens = np.asarray(valid_lens)
    if valid_lens.ndim not in (1, 2):
        raise ValueError(
            f"valid_lens must have shape (batch,) or (batch, queries); got {valid_lens.shape}"
        )
    if valid_lens.ndim == 1:
        valid_lens = valid_lens[:, None]  # (batch, 1): same length for every query
    key_positions = np.arange(num_keys)  # (keys,)
    return key_positions < valid_lens[..., None]  # (batch, queries or 1, keys)


def masked_softmax(scores, valid_lens=None, mask=None):
    """Softmax over the last axis that gives masked keys a weight of exactly 0.

    scores: (batch, queries, keys).
    valid_lens: None, (batch,) or (batch, queries): only the first valid_len keys count.
    mask: None or a boolean array broadcastable to scores, True = keep.
    Both may be given; a key is kept only if both keep it.

    A row with no key kept (valid length 0) has nothing to attend to: it gets all
    weights 0 (and so a zero output), never NaN. Every other row sums to 1.
    """
    scores = np.asarray(scores, dtype=float)
    keep = np.ones(scores.shape, dtype=bool)
    if valid_lens is not None:
        if scores.ndim != 3:
            raise ValueError(
                "valid_lens needs scores of shape (batch, queries, keys); "
                f"got {scores.shape}. Pass a boolean mask for other layouts."
            )
        keep = keep & lengths_to_mask(valid_lens, scores.shape[-1])
    if mask is not None:
        keep = keep & np.asarray(mask, dtype=bool)
    masked = np.where(keep, scores, -np.inf)  # (batch, queries, keys)
    row_max = masked.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)  # empty rows: avoid inf - inf
    exp = np.where(keep, np.exp(masked - row_max), 0.0)
    total = exp.sum(axis=-1, keepdims=True)
    return np.divide(exp, total, out=np.zeros_like(exp), where=total > 0)
