"""Sinusoidal positional encoding (Vaswani et al., 2017).

Taught in the chapter *Positional encoding*.
"""
import numpy as np


def sinusoidal_encoding(num_positions, d, base=10000.0):
    """PE[p, 2i] = sin(p / base^(2i/d)), PE[p, 2i+1] = cos(p / base^(2i/d)).

    Returns (num_positions, d). d may be odd: the last column is then a sine.
    """
    positions = np.arange(num_positions)[:, None]  # (positions, 1)
    pair_index = np.arange(0, d, 2)  # 2i for i = 0, 1, ...
    angles = positions / base ** (pair_index / d)  # (positions, ceil(d/2))
    encoding = np.zeros((num_positions, d))
    encoding[:, 0::2] = np.sin(angles)
    encoding[:, 1::2] = np.cos(angles[:, : d // 2])
    return encoding


def pair_frequencies(d, base=10000.0):
    """Angular frequencies w_i = base^(-2i/d) of the pairs (2i, 2i+1), i < d/2.

    The same frequencies drive the sinusoidal encoding and the rotary embedding.
    Returns (d // 2,).
    """
    return 1.0 / base ** (np.arange(0, d - 1, 2) / d)


def rotation_for_offset(k, d, base=10000.0):
    """The block-rotation matrix M_k with PE[p + k] = PE[p] @ M_k for every p.

    Row convention: PE[p] is a row vector and M_k acts on the right. M_k is
    block diagonal; the 2x2 block of pair i is [[cos k w_i, -sin k w_i],
    [sin k w_i, cos k w_i]], built from the offset k alone (p does not appear).
    M_k is orthogonal and M_j @ M_k = M_{j+k}. d must be even.
    Returns (d, d).
    """
    if d % 2:
        raise ValueError(f"d must be even for a block rotation; got {d}")
    angles = k * pair_frequencies(d, base)  # (d/2,)
    cos, sin = np.cos(angles), np.sin(angles)
    M = np.zeros((d, d))
    even, odd = np.arange(0, d, 2), np.arange(1, d, 2)
    M[even, even] = cos  # sin' = sin cos(kw) + cos sin(kw)
    M[odd, even] = sin
    M[even, odd] = -sin  # cos' = cos cos(kw) - sin sin(kw)
    M[odd, odd] = cos
    return M


def learned_position_table(rng, max_positions, d, scale=0.02):
    """A learned absolute position table: one trainable row per position.

    Initialised with N(0, scale^2) entries (training would then update them like
    any other weight). Returns (max_positions, d).
    """
    return rng.normal(0.0, scale, size=(max_positions, d))


def lookup_positions(table, positions):
    """Rows of a learned position table for integer positions.

    table: (max_positions, d); positions: (n,) integers. Returns (n, d).
    A learned table knows only the positions it was built for: any position
    outside 0 .. max_positions - 1 raises ValueError.
    """
    positions = np.asarray(positions)
    max_positions = table.shape[0]
    if positions.size and (positions.min() < 0 or positions.max() >= max_positions):
        raise ValueError(
            f"position {positions.max()} is outside the table: "
            f"it has rows for positions 0..{max_positions - 1} only"
        )
    return table[positions]  # (n, d)


def rotary_embedding(X, positions=None, base=10000.0):
    """Rotary position embedding (RoPE, Su et al., 2021) of queries or keys.

    The pair (x_{2i}, x_{2i+1}) of the token at position m is rotated by the
    angle m * w_i, w_i = base^(-2i/d):
        x'_{2i}   = x_{2i} cos(m w_i) - x_{2i+1} sin(m w_i)
        x'_{2i+1} = x_{2i} sin(m w_i) + x_{2i+1} cos(m w_i)
    so that rotary_embedding(q, m) . rotary_embedding(k, n) depends on m - n only.

    X: (..., n, d) with d even; positions: (n,) or None for 0 .. n-1.
    Returns an array of the same shape as X.
    """
    n, d = X.shape[-2], X.shape[-1]
    if d % 2:
        raise ValueError(f"d must be even to rotate pairs; got {d}")
    positions = np.arange(n) if positions is None else np.asarray(positions)
    angles = positions[:, None] * pair_frequencies(d, base)  # (n, d/2)
    cos, sin = np.cos(angles), np.sin(angles)  # (n, d/2)
    x_even, x_odd = X[..., 0::2], X[..., 1::2]  # (..., n, d/2)
    rotated = np.empty(np.shape(X))
    rotated[..., 0::2] = x_even * cos - x_odd * sin
    rotated[..., 1::2] = x_even * sin + x_odd * cos
    return rotated
