"""Attention pooling with additive and scaled dot-product scores.

Taught in the chapter *Attention scoring functions*.
"""
import numpy as np

from attnlib.softmax import masked_softmax


def additive_attention(queries, keys, values, W_q, W_k, w_v, valid_lens=None, mask=None):
    """Additive (Bahdanau) attention: a(q, k) = w_v . tanh(W_q q + W_k k).

    queries: (batch, queries, q_size); keys: (batch, keys, k_size);
    values: (batch, keys, v_size); W_q: (q_size, hidden); W_k: (k_size, hidden);
    w_v: (hidden,). In row convention ``q @ W_q`` is the book's ``W_q q``.
    Returns (output (batch, queries, v_size), weights (batch, queries, keys)).
    """
    projected_queries = queries @ W_q  # (batch, queries, hidden)
    projected_keys = keys @ W_k  # (batch, keys, hidden)
    # Broadcast every query against every key.
    features = np.tanh(
        projected_queries[:, :, None, :] + projected_keys[:, None, :, :]
    )  # (batch, queries, keys, hidden)
    scores = features @ w_v  # (batch, queries, keys)
    weights = masked_softmax(scores, valid_lens, mask)  # (batch, queries, keys)
    return weights @ values, weights  # (batch, queries, v_size)


def scaled_dot_product_attention(queries, keys, values, valid_lens=None, mask=None):
    """Scaled dot-product attention: softmax(Q K^T / sqrt(d)) V.

    queries: (..., queries, d); keys: (..., keys, d); values: (..., keys, v_size).
    Leading (batch, head) axes broadcast. mask: boolean, True = keep.
    Returns (output (..., queries, v_size), weights (..., queries, keys)).
    """
    d = queries.shape[-1]
    if keys.shape[-1] != d:
        raise ValueError(
            f"queries and keys need the same size for a dot product: {d} != {keys.shape[-1]}"
        )
    scores = queries @ keys.swapaxes(-1, -2) / np.sqrt(d)  # (..., queries, keys)
    weights = masked_softmax(scores, valid_lens, mask)  # (..., queries, keys)
    return weights @ values, weights  # (..., queries, v_size)
