"""SimpleRNN with self-attention over its own earlier states.

Taught in the chapter *Self-attention inside an RNN*, a simplified SimpleRNN
version of the LSTMN of Cheng, Dong & Lapata (EMNLP 2016):

    h_t = tanh(A [x_t; c_{t-1}] + b)
    alpha_j = softmax_j( align(h_j, h_t) )         for j = 1..t
    c_t = sum_{j <= t} alpha_j h_j

with h_0 = c_0 = 0, so c_1 = h_1 (one state, weight 1). The recurrent update
is the SimpleRNN step of ``attnlib.rnn`` with the context ``c_{t-1}`` in place
of ``h_{t-1}``, so the parameters (A, b) have exactly the SimpleRNN shapes and
come from ``attnlib.rnn.init_simple_rnn``.

Alignment function: scaled dot product, align(h_j, h_t) = h_j . h_t / sqrt(hidden),
with the new state h_t as the query and the states h_1..h_t as keys and values
(no extra parameters).

Row convention: states are rows; a batch of sequences is (batch, steps, size).
"""
import numpy as np

from attnlib.rnn import simple_rnn_step
from attnlib.scoring import scaled_dot_product_attention


def self_attention_context(h_t, states):
    """Context of the newest state over all states so far.

    h_t: (batch, hidden), the query. states: (batch, t, hidden), h_1..h_t
    (keys and values; h_t is the last row). Scaled dot-product scores.
    Returns (context (batch, hidden), weights (batch, t)); weights sum to 1.
    """
    context, weights = scaled_dot_product_attention(
        h_t[:, None, :], states, states
    )  # (batch, 1, hidden), (batch, 1, t)
    return context[:, 0], weights[:, 0]


def attention_rnn_forward(X, A, b):
    """Run the SimpleRNN + self-attention recurrence over a batch of sequences.

    X: (batch, steps, input_size); A: (input_size + hidden, hidden); b: (hidden,).
    Returns (H, C, weights):
      H: (batch, steps, hidden), H[:, t] is h_{t+1};
      C: (batch, steps, hidden), C[:, t] is c_{t+1};
      weights: (batch, steps, steps), row t holds step t+1's weights over
      h_1..h_{t+1}; entries right of the diagonal are exactly 0 (causal).
    """
    batch, steps, _ = X.shape
    hidden = A.shape[1]
    H = np.zeros((batch, steps, hidden))
    C = np.zeros((batch, steps, hidden))
    weights = np.zeros((batch, steps, steps))
    c = np.zeros((batch, hidden))  # c_0 = 0
    for t in range(steps):  # serial, like the SimpleRNN
        H[:, t] = simple_rnn_step(X[:, t], c, A, b)  # (batch, hidden)
        c, w = self_attention_context(H[:, t], H[:, : t + 1])  # (batch, hidden), (batch, t+1)
        C[:, t] = c
        weights[:, t, : t + 1] = w
    return H, C, weights
