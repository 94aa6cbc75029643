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
