"""Self-attention: queries, keys and values all come from one sequence.

Taught in the chapter *Self-attention*. Row convention: ``X`` holds one token
per row, so ``Q = X @ W_q``.
"""
import numpy as np

from attnlib.masks import causal_mask
from attnlib.scoring import scaled_dot_product_attention


def self_attention(X, W_q, W_k, W_v, causal=False):
    """Single-head scaled dot-product self-attention of a sequence with itself.

    X: (n, d) or (batch, n, d). W_q, W_k: (d, d_k). W_v: (d, d_v).
    Q = X W_q, K = X W_k, V = X W_v, A = Q K^T / sqrt(d_k),
    A' = softmax(A) over the key axis, O = A' V.
    causal=True lets token i attend only to tokens j <= i (future weights are 0).
    Returns (output (..., n, d_v), weights (..., n, n)); rows are queries.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim not in (2, 3):
        raise ValueError(f"X must have shape (n, d) or (batch, n, d); got {X.shape}")
    queries = X @ W_q  # (..., n, d_k)
    keys = X @ W_k  # (..., n, d_k)
    values = X @ W_v  # (..., n, d_v)
    mask = causal_mask(X.shape[-2]) if causal else None  # (n, n), True = keep
    return scaled_dot_product_attention(queries, keys, values, mask=mask)
