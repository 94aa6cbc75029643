"""Boolean attention masks, True = keep, shape (queries, keys).

``causal_mask`` is taught in the chapter *Self-attention*, ``band_mask`` in
*Self-attention for speech* and ``adjacency_mask`` in *Graphs*.
"""
import numpy as np


def causal_mask(num_queries, num_keys=None):
    """Token i may attend to tokens j <= i. Returns (queries, keys) bool."""
    num_keys = num_queries if num_keys is None else num_keys
    return np.tril(np.ones((num_queries, num_keys), dtype=bool))


def band_mask(n, window):
    """Truncated (windowed) attention: position i may attend to j when |i - j| <= window.

    Returns an (n, n) bool array, True = keep. ``window = 0`` keeps only the
    diagonal; ``window >= n - 1`` keeps everything (full attention). Row i keeps
    ``min(i, window) + 1 + min(n - 1 - i, window)`` keys: fewer near the edges.
    """
    if window < 0:
        raise ValueError(f"window must be >= 0; got {window}")
    positions = np.arange(n)
    offsets = positions[:, None] - positions[None, :]  # (n, n): i - j
    return np.abs(offsets) <= window


def adjacency_mask(adjacency, add_self_loops=True):
    """Turn a graph's adjacency matrix into an attention keep-mask.

    adjacency: (nodes, nodes), nonzero/True at [i, j] when node j is a neighbour
    of node i (node i attends to node j: rows are queries, columns keys).
    add_self_loops: also keep [i, i], so every node attends to itself as GAT does.
    Returns an (nodes, nodes) bool array, True = keep.
    """
    mask = np.asarray(adjacency) != 0  # (nodes, nodes) bool
    if mask.ndim != 2 or mask.shape[0] != mask.shape[1]:
        raise ValueError(f"adjacency must be square (nodes, nodes); got {mask.shape}")
    if add_self_loops:
        mask = mask | np.eye(len(mask), dtype=bool)
    return mask
