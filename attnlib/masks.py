"""Boolean attention masks, True = keep, shape (queries, keys)."""
import numpy as np


def causal_mask(num_queries, num_keys=None):
    """Token i may attend to tokens j <= i. Returns (queries, keys) bool."""
    num_keys = num_queries if num_keys is None else num_keys
    return np.tril(np.ones((num_queries, num_keys), dtype=bool))
