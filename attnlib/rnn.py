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


def simple_rnn_first_input_jacobians(X, A, b):
    """Exact Jacobians of every hidden state with respect to the first input.

    By the chain rule, with z_t the pre-activation and A = [A_x; A_h]
    (A_x: first input_size rows, A_h: last hidden rows):
        dh_1/dx_1 = diag(1 - h_1^2) A_x^T
        dh_t/dx_1 = diag(1 - h_t^2) A_h^T dh_{t-1}/dx_1.
    X: (batch, steps, input_size). Returns J: (batch, steps, hidden, input_size)
    with J[:, t] = dh_{t+1}/dx_1 (entry [i, k] = d h_{t+1, i} / d x_{1, k}).
    """
    input_size = X.shape[-1]
    A_x, A_h = A[:input_size], A[input_size:]  # (input, hidden), (hidden, hidden)
    H = simple_rnn_forward(X, A, b)  # (batch, steps, hidden)
    tanh_slope = 1.0 - H**2  # tanh'(z_t) = 1 - h_t^2, (batch, steps, hidden)
    jacobians = np.zeros(H.shape + (input_size,))  # (batch, steps, hidden, input)
    J = tanh_slope[:, 0, :, None] * A_x.T  # (batch, hidden, input)
    jacobians[:, 0] = J
    for t in range(1, X.shape[1]):  # serial, like the forward pass
        J = tanh_slope[:, t, :, None] * (A_h.T @ J)  # (batch, hidden, input)
        jacobians[:, t] = J
    return jacobians


def finite_difference_first_input_jacobians(forward, x, eps=1e-6):
    """Central finite-difference Jacobians of every output state w.r.t. x_1.

    forward: maps a batch (batch, steps, input_size) to states (batch, steps, hidden).
    x: one sequence (steps, input_size). All 2 * input_size perturbed copies
    run as one batch. Returns (steps, hidden, input_size), like one batch
    element of ``simple_rnn_first_input_jacobians``.
    """
    input_size = x.shape[-1]
    shift = np.zeros((input_size,) + x.shape)  # (input, steps, input)
    shift[np.arange(input_size), 0, np.arange(input_size)] = eps  # nudge x_1[k]
    states = forward(np.concatenate([x + shift, x - shift]))  # (2 input, steps, hidden)
    plus, minus = states[:input_size], states[input_size:]  # (input, steps, hidden)
    return ((plus - minus) / (2 * eps)).transpose(1, 2, 0)  # (steps, hidden, input)
