"""SimpleRNN: h_t = tanh(A [x_t; h_{t-1}] + b), h_0 = 0.

Taught in the chapter *Recurrent networks and forgetting*.
Row convention: ``[x_t; h_{t-1}]`` is the row ``concat(x_t, h_{t-1})`` of size
``input_size + hidden_size`` and ``A`` is stored as a matrix of shape
``(input_size + hidden_size, hidden_size)``, so the update is ``concat @ A + b``.
"""
import numpy as np


def init_simple_rnn(rng, input_size, hidden_size, scale=None):
    """Random SimpleRNN parameters (A, b).

    A: (input_size + hidden_size, hidden_size), entries N(0, scale^2) with
    scale = 1/sqrt(input_size + hidden_size) by default; b: (hidden_size,) zeros.
    """
    fan_in = input_size + hidden_size
    scale = 1.0 / np.sqrt(fan_in) if scale is None else scale
    A = rng.normal(0.0, scale, size=(fan_in, hidden_size))
    b = np.zeros(hidden_size)
    return A, b


def simple_rnn_step(x_t, h_prev, A, b):
    """One step: x_t (batch, input_size), h_prev (batch, hidden) -> (batch, hidden)."""
    return np.tanh(np.concatenate([x_t, h_prev], axis=-1) @ A + b)


def simple_rnn_forward(X, A, b, h0=None):
    """Run a SimpleRNN over a batch of sequences.

    X: (batch, steps, input_size). h0: (batch, hidden) or None for zeros.
    Returns all hidden states H: (batch, steps, hidden); H[:, t] is h_{t+1}.
    """
    batch, steps, _ = X.shape
    hidden = A.shape[1]
    h = np.zeros((batch, hidden)) if h0 is None else h0
    states = []
    for t in range(steps):  # serial: h_t needs h_{t-1}
        h = simple_rnn_step(X[:, t], h, A, b)  # (batch, hidden)
        states.append(h)
    return np.stack(states, axis=1)  # (batch, steps, hidden)
