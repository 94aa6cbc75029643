"""Multi-head attention (Vaswani et al., 2017) in its efficient reshape form.

Taught in the chapter *Multi-head self-attention*. Row convention: tokens are
rows; a batch is ``(batch, n, d)``; heads add an axis after the batch:
``(batch, heads, n, d / heads)``. Head i owns the columns
``i * d_head : (i + 1) * d_head`` of ``W_q``, ``W_k`` and ``W_v`` and the rows
with the same indices of ``W_o``.
"""
import numpy as np

from attnlib.scoring import scaled_dot_product_attention
from attnlib.softmax import lengths_to_mask


def split_heads(X, num_heads):
    """(batch, n, d) -> (batch, heads, n, d / heads), by reshape and transpose.

    Head i receives the feature columns i * d_head ... (i + 1) * d_head - 1.
    """
    batch, n, d = X.shape
    if d % num_heads:
        raise ValueError(f"d = {d} is not divisible by num_heads = {num_heads}")
    d_head = d // num_heads
    return X.reshape(batch, n, num_heads, d_head).transpose(0, 2, 1, 3)


def merge_heads(X):
    """Inverse of split_heads: (batch, heads, n, d_head) -> (batch, n, heads * d_head).

    Equivalent to concatenating the heads' outputs along the feature axis.
    """
    batch, heads, n, d_head = X.shape
    return X.transpose(0, 2, 1, 3).reshape(batch, n, heads * d_head)


def multi_head_attention(queries, keys, values, W_q, W_k, W_v, W_o, num_heads,
                         valid_lens=None, mask=None):
    """Multi-head scaled dot-product attention.

    queries: (batch, m, d_q) or (m, d_q); keys: (batch, n, d_k_in);
    values: (batch, n, d_v_in) (the same rank as queries).
    W_q: (d_q, d), W_k: (d_k_in, d), W_v: (d_v_in, d), W_o: (d, d_out);
    d must be divisible by num_heads; each head works in size d / num_heads.
    valid_lens: None, (batch,) or (batch, m) (batched input only).
    mask: None or boolean broadcastable to (batch, heads, m, n), True = keep;
    a (m, n) mask such as attnlib.masks.causal_mask applies to every head.
    Returns (output (batch, m, d_out), weights (batch, heads, m, n));
    without a batch axis in the input, both come back without it.
    """
    unbatched = np.ndim(queries) == 2
    if unbatched:
        queries, keys, values = (np.asarray(a)[None] for a in (queries, keys, values))
        if valid_lens is not None:
            raise ValueError("valid_lens needs batched input (batch, n, d)")
    if valid_lens is not None:
        lens_mask = lengths_to_mask(valid_lens, keys.shape[-2])[:, None]  # (batch, 1, m or 1, n)
        mask = lens_mask if mask is None else lens_mask & np.asarray(mask, dtype=bool)
    Q = split_heads(queries @ W_q, num_heads)  # (batch, heads, m, d_head)
    K = split_heads(keys @ W_k, num_heads)  # (batch, heads, n, d_head)
    V = split_heads(values @ W_v, num_heads)  # (batch, heads, n, d_head)
    heads, weights = scaled_dot_product_attention(Q, K, V, mask=mask)  # (batch, heads, m, d_head)
    output = merge_heads(heads) @ W_o  # (batch, m, d_out)
    if unbatched:
        return output[0], weights[0]
    return output, weights


def multi_head_self_attention(X, W_q, W_k, W_v, W_o, num_heads, valid_lens=None, mask=None):
    """Multi-head attention of X with itself: queries = keys = values = X.

    X: (batch, n, d_in) or (n, d_in). Returns (output (..., n, d_out),
    weights (..., heads, n, n)). See multi_head_attention for the weights.
    """
    return multi_head_attention(X, X, X, W_q, W_k, W_v, W_o, num_heads,
                                valid_lens=valid_lens, mask=mask)


def init_multi_head_weights(rng, d_model, d_in=None, d_out=None):
    """Random (W_q, W_k, W_v, W_o), entries N(0, 1 / fan_in), no biases.

    W_q, W_k, W_v: (d_in, d_model); W_o: (d_model, d_out); d_in and d_out
    default to d_model. The same weights serve any number of heads that
    divides d_model.
    """
    d_in = d_model if d_in is None else d_in
    d_out = d_model if d_out is None else d_out
    W_q, W_k, W_v = (rng.normal(0.0, 1.0 / np.sqrt(d_in), size=(d_in, d_model)) for _ in range(3))
    W_o = rng.normal(0.0, 1.0 / np.sqrt(d_model), size=(d_model, d_out))
    return W_q, W_k, W_v, W_o


def count_parameters(*arrays):
    """Total number of entries in the given weight arrays."""
    return int(sum(np.size(a) for a in arrays))


def multi_head_parameter_count(d_model, num_heads, bias=False):
    """Parameters of a multi-head self-attention layer with d_head = d_model / num_heads.

    Each head has W_q^i, W_k^i, W_v^i of shape (d_model, d_head); W_o is
    (num_heads * d_head, d_model). The total is 4 d_model^2 whatever num_heads
    is (plus 4 d_model with biases on the four projections).
    """
    if d_model % num_heads:
        raise ValueError(f"d_model = {d_model} is not divisible by num_heads = {num_heads}")
    d_head = d_model // num_heads
    per_head = 3 * d_model * d_head  # W_q^i, W_k^i, W_v^i
    output_projection = num_heads * d_head * d_model  # W_o
    biases = 3 * num_heads * d_head + d_model if bias else 0
    return num_heads * per_head + output_projection + biases
