"""Efficient attention: linear attention and exact tiled (online-softmax) attention.

Taught in the chapter *Efficient attention*.

Linear attention (Katharopoulos et al., 2020) replaces the softmax similarity
``exp(q . k / sqrt(d))`` by a kernel ``phi(q) . phi(k)`` with
``phi(x) = elu(x) + 1``. Because matrix products associate,
``(phi(Q) phi(K)^T) V = phi(Q) (phi(K)^T V)``, and the right-hand order costs
O(n) in the sequence length. In the causal case the running sums
``S_t = sum_{j<=t} phi(k_j) v_j^T`` and ``z_t = sum_{j<=t} phi(k_j)`` turn the
layer into a recurrent network.

Tiled attention computes *exact* softmax attention block by block with an
online softmax (Milakov & Gimelshein, 2018; Rabe & Staats, 2021; Dao et al.,
2022): a running maximum, a running denominator and a rescaled accumulator,
so no (queries, keys) matrix is ever stored.

Convention: rows are tokens; queries (..., m, d), keys (..., n, d),
values (..., n, d_v); leading (batch, head) axes broadcast.
"""
import numpy as np

from attnlib.masks import causal_mask


def elu_feature_map(x):
    """phi(x) = elu(x) + 1, elementwise: x + 1 for x > 0 and exp(x) for x <= 0.

    Always strictly positive, so the linear-attention denominator never vanishes.
    """
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0)))


def linear_attention(queries, keys, values, causal=False):
    """Linear attention with phi = elu + 1, in its parallel form.

    Non-causal: o_i = phi(q_i) (phi(K)^T V) / (phi(q_i) . sum_j phi(k_j)),
    computed right-to-left (associativity): O(n d d_v) time, O(n d + d d_v) memory.
    Causal: query i only sums over keys j <= i; this parallel (masked) form
    builds the (queries, keys) kernel matrix, so it costs O(n^2) like softmax
    attention. ``linear_attention_recurrent`` gives the same numbers in O(n).

    queries: (..., m, d); keys: (..., n, d); values: (..., n, d_v).
    Returns (..., m, d_v).
    """
    phi_q = elu_feature_map(queries)  # (..., m, d)
    phi_k = elu_feature_map(keys)  # (..., n, d)
    if causal:
        kernel = phi_q @ phi_k.swapaxes(-1, -2)  # (..., m, n), all > 0
        kernel = np.where(causal_mask(kernel.shape[-2], kernel.shape[-1]), kernel, 0.0)
        return (kernel @ values) / kernel.sum(axis=-1, keepdims=True)  # (..., m, d_v)
    key_value_summary = phi_k.swapaxes(-1, -2) @ values  # (..., d, d_v): phi(K)^T V
    key_sum = phi_k.sum(axis=-2)  # (..., d): phi(K)^T 1
    numerator = phi_q @ key_value_summary  # (..., m, d_v)
    denominator = phi_q @ key_sum[..., :, None]  # (..., m, 1)
    return numerator / denominator  # (..., m, d_v)


def linear_attention_recurrent(queries, keys, values):
    """Causal linear attention as a recurrent network (one token per step).

    State S_t = S_{t-1} + phi(k_t) v_t^T  (..., d, d_v) and
    z_t = z_{t-1} + phi(k_t)  (..., d), with S_0 = 0 and z_0 = 0;
    output o_t = phi(q_t) S_t / (phi(q_t) . z_t).
    The state has a fixed size, whatever the sequence length.

    queries, keys: (..., n, d); values: (..., n, d_v). Returns (..., n, d_v).
    """
    phi_q = elu_feature_map(queries)  # (..., n, d)
    phi_k = elu_feature_map(keys)  # (..., n, d)
    *lead, n, d = phi_k.shape
    d_v = values.shape[-1]
    S = np.zeros((*lead, d, d_v))  # (..., d, d_v)
    z = np.zeros((*lead, d))  # (..., d)
    outputs = []
    for t in range(n):  # serial, like any RNN
        S = S + phi_k[..., t, :, None] * values[..., t, None, :]  # (..., d, d_v)
        z = z + phi_k[..., t, :]  # (..., d)
        q_t = phi_q[..., t, :]  # (..., d)
        numerator = (q_t[..., None, :] @ S)[..., 0, :]  # (..., d_v)
        denominator = (q_t * z).sum(axis=-1, keepdims=True)  # (..., 1)
        outputs.append(numerator / denominator)
    return np.stack(outputs, axis=-2)  # (..., n, d_v)


def tiled_attention(queries, keys, values, block_size):
    """Exact scaled dot-product attention, softmax(Q K^T / sqrt(d)) V, in tiles.

    Queries are processed in blocks of ``block_size`` rows; for each query block
    the keys and values stream in blocks of ``block_size``. An online softmax
    keeps, per query, the running maximum m of the scores seen so far, the
    running denominator l = sum exp(score - m) and an accumulator
    acc = sum exp(score - m) v. When a new block raises the maximum from m to
    m', the old l and acc are rescaled by exp(m - m'). At the end, acc / l is
    the softmax-weighted average. The block size need not divide the lengths.

    Only (..., block, block) scores exist at any time: memory is
    O(n d + block^2) instead of O(n^2).

    queries: (..., m, d); keys: (..., n, d); values: (..., n, d_v).
    Returns (..., m, d_v).
    """
    d = queries.shape[-1]
    if keys.shape[-1] != d:
        raise ValueError(f"queries and keys need the same size: {d} != {keys.shape[-1]}")
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1; got {block_size}")
    num_queries, num_keys = queries.shape[-2], keys.shape[-2]
    lead = np.broadcast_shapes(queries.shape[:-2], keys.shape[:-2], values.shape[:-2])
    output = np.empty((*lead, num_queries, values.shape[-1]))  # (..., m, d_v)
    scale = 1.0 / np.sqrt(d)
    for q_start in range(0, num_queries, block_size):
        q_block = queries[..., q_start:q_start + block_size, :] * scale  # (..., bq, d)
        running_max = np.full(q_block.shape[:-1], -np.inf)  # (..., bq)
        running_sum = np.zeros(q_block.shape[:-1])  # (..., bq)
        accumulator = np.zeros((*q_block.shape[:-1], values.shape[-1]))  # (..., bq, d_v)
        for k_start in range(0, num_keys, block_size):
            k_block = keys[..., k_start:k_start + block_size, :]  # (..., bk, d)
            v_block = values[..., k_start:k_start + block_size, :]  # (..., bk, d_v)
            scores = q_block @ k_block.swapaxes(-1, -2)  # (..., bq, bk)
            new_max = np.maximum(running_max, scores.max(axis=-1))  # (..., bq)
            rescale = np.exp(running_max - new_max)  # (..., bq); exp(-inf) = 0 at start
            exp_scores = np.exp(scores - new_max[..., None])  # (..., bq, bk)
            running_sum = running_sum * rescale + exp_scores.sum(axis=-1)
            accumulator = accumulator * rescale[..., None] + exp_scores @ v_block
            running_max = new_max
        output[..., q_start:q_start + block_size, :] = accumulator / running_sum[..., None]
    return output
