"""A SimpleRNN decoder with cross-attention over encoder states (Bahdanau et al., 2015).

Taught in the chapter *Attention for sequence-to-sequence*.

Cross-attention: the **query** is the decoder state (target side); the **keys
and values** are the encoder states (source side). At decoder step j, with
state s_{j-1}:

    alpha_{j,i} = softmax_i(align(h_i, s_{j-1}))     weights over the m source states
    c_j         = sum_i alpha_{j,i} h_i              context, (encoder_size,)
    s_j         = tanh([x'_j; s_{j-1}; c_j] A' + b')  new decoder state

Row convention: ``[x'_j; s_{j-1}; c_j]`` is one row of size
``input_size + hidden_size + encoder_size`` and ``A'`` has shape
``(input_size + hidden_size + encoder_size, hidden_size)``.
"""
import numpy as np

from attnlib.scoring import additive_attention
from attnlib.softmax import masked_softmax


def init_attention_decoder(rng, input_size, hidden_size, encoder_size, attention_size):
    """Random parameters of an attention decoder, as a dict of arrays.

    A: (input_size + hidden_size + encoder_size, hidden_size), b: (hidden_size,) zeros;
    W_q: (hidden_size, attention_size) projects the decoder state (the query);
    W_k: (encoder_size, attention_size) projects the encoder states (the keys);
    w_v: (attention_size,) reduces an additive feature to one score.
    Entries are N(0, 1/fan_in), like ``attnlib.rnn.init_simple_rnn``.
    """
    fan_in = input_size + hidden_size + encoder_size
    return {
        "A": rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=(fan_in, hidden_size)),
        "b": np.zeros(hidden_size),
        "W_q": rng.normal(0.0, 1.0 / np.sqrt(hidden_size), size=(hidden_size, attention_size)),
        "W_k": rng.normal(0.0, 1.0 / np.sqrt(encoder_size), size=(encoder_size, attention_size)),
        "w_v": rng.normal(0.0, 1.0 / np.sqrt(attention_size), size=attention_size),
    }


def cross_attention(decoder_state, encoder_states, params, score="additive", valid_lens=None):
    """Attend from one decoder state (query) over all encoder states (keys = values).

    decoder_state: (batch, hidden_size); encoder_states: (batch, m, encoder_size).
    score: "additive" (w_v . tanh(W_q s + W_k h)) or "dot" ((W_q s) . (W_k h), unscaled).
    valid_lens: None or (batch,): only the first valid_len source states count.
    Returns (context (batch, encoder_size), weights (batch, m)); each weight row sums to 1.
    """
    queries = decoder_state[:, None, :]  # (batch, 1, hidden): one query per sequence
    if score == "additive":
        context, weights = additive_attention(
            queries, encoder_states, encoder_states,
            params["W_q"], params["W_k"], params["w_v"], valid_lens=valid_lens,
        )  # (batch, 1, encoder_size), (batch, 1, m)
    elif score == "dot":
        projected_query = queries @ params["W_q"]  # (batch, 1, attention)
        projected_keys = encoder_states @ params["W_k"]  # (batch, m, attention)
        scores = projected_query @ projected_keys.swapaxes(-1, -2)  # (batch, 1, m)
        weights = masked_softmax(scores, valid_lens)  # (batch, 1, m)
        context = weights @ encoder_states  # (batch, 1, encoder_size)
    else:
        raise ValueError(f"score must be 'additive' or 'dot'; got {score!r}")
    return context[:, 0], weights[:, 0]


def attention_decoder_step(x_t, s_prev, encoder_states, params, score="additive",
                           valid_lens=None):
    """One decoder step: attend with s_{j-1}, then update the state.

    x_t: (batch, input_size) the input x'_j (embedding of the previous target word);
    s_prev: (batch, hidden_size) the state s_{j-1}, used as the query;
    encoder_states: (batch, m, encoder_size) h_1..h_m, used as keys and values.
    Returns (s_j (batch, hidden_size), c_j (batch, encoder_size), weights (batch, m)).
    """
    context, weights = cross_attention(s_prev, encoder_states, params, score, valid_lens)
    update_input = np.concatenate([x_t, s_prev, context], axis=-1)  # (batch, input + hidden + enc)
    s_new = np.tanh(update_input @ params["A"] + params["b"])  # (batch, hidden)
    return s_new, context, weights


def attention_decoder_forward(X_target, encoder_states, params, s0=None, score="additive",
                              valid_lens=None):
    """Run the attention decoder over t steps (serial: s_j needs s_{j-1}).

    X_target: (batch, t, input_size) the decoder inputs x'_1..x'_t;
    encoder_states: (batch, m, encoder_size); s0: (batch, hidden_size) or None,
    which means s_0 = h_m, the last (valid) encoder state (then encoder_size
    must equal hidden_size).
    Returns (states (batch, t, hidden) = s_1..s_t, contexts (batch, t, encoder_size)
    = c_1..c_t, weights (batch, t, m): row j holds the weights of decoder step j).
    """
    batch, steps, _ = X_target.shape
    if s0 is None:
        last = encoder_states.shape[1] - 1 if valid_lens is None else np.asarray(valid_lens) - 1
        s0 = encoder_states[np.arange(batch), last]  # (batch, encoder_size): s_0 = h_m
    s = s0
    states, contexts, weights = [], [], []
    for j in range(steps):
        s, context, alpha = attention_decoder_step(
            X_target[:, j], s, encoder_states, params, score, valid_lens
        )  # (batch, hidden), (batch, encoder_size), (batch, m)
        states.append(s)
        contexts.append(context)
        weights.append(alpha)
    return np.stack(states, axis=1), np.stack(contexts, axis=1), np.stack(weights, axis=1)
