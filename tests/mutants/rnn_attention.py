"""Mutants of the rnn_attention assignment: one known mistake each."""
from mutants import Mutant

STEP_WRONG_ORDER = '''
def simple_rnn_step(x_t, h_prev, A, b):
    return np.tanh(np.concatenate([h_prev, x_t], axis=-1) @ A + b)
'''

STEP_WITHOUT_TANH = '''
def simple_rnn_step(x_t, h_prev, A, b):
    return np.concatenate([x_t, h_prev], axis=-1) @ A + b
'''

FORWARD_FROM_ONES = '''
def simple_rnn_forward(X, A, b):
    batch, steps, _ = X.shape
    h = np.ones((batch, A.shape[1]))
    states = []
    for t in range(steps):
        h = simple_rnn_step(X[:, t], h, A, b)
        states.append(h)
    return np.stack(states, axis=1)
'''

FORWARD_LAST_STATE_ONLY = '''
def simple_rnn_forward(X, A, b):
    batch, steps, _ = X.shape
    h = np.zeros((batch, A.shape[1]))
    for t in range(steps):
        h = simple_rnn_step(X[:, t], h, A, b)
    return h
'''

CONTEXTS_ATTEND_TO_FUTURE = '''
def attention_contexts(H):
    scores = H @ H.swapaxes(-1, -2) / np.sqrt(H.shape[-1])
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = exp / exp.sum(axis=-1, keepdims=True)
    return weights @ H, weights
'''

CONTEXTS_SOFTMAX_WRONG_AXIS = '''
def attention_contexts(H):
    steps = H.shape[-2]
    scores = H @ H.swapaxes(-1, -2) / np.sqrt(H.shape[-1])
    scores = np.where(np.tril(np.ones((steps, steps), dtype=bool)), scores, -np.inf)
    exp = np.exp(scores - scores.max(axis=-2, keepdims=True))
    weights = exp / exp.sum(axis=-2, keepdims=True)
    return weights @ H, weights
'''

CONTEXTS_NOT_SCALED = '''
def attention_contexts(H):
    steps = H.shape[-2]
    scores = H @ H.swapaxes(-1, -2)
    scores = np.where(np.tril(np.ones((steps, steps), dtype=bool)), scores, -np.inf)
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = exp / exp.sum(axis=-1, keepdims=True)
    return weights @ H, weights
'''

ATTENTION_RNN_FEEDS_STATE = '''
def attention_rnn_forward(X, A, b):
    batch, steps, _ = X.shape
    hidden = A.shape[1]
    H = np.zeros((batch, steps, hidden))
    C = np.zeros((batch, steps, hidden))
    h = np.zeros((batch, hidden))
    for t in range(steps):
        h = simple_rnn_step(X[:, t], h, A, b)  # h_{t-1} instead of c_{t-1}
        H[:, t] = h
        C[:, t] = attention_contexts(H[:, : t + 1])[0][:, -1]
    return H, C
'''

MUTANTS = [
    Mutant("step_concat_wrong_order", "simple_rnn_step", STEP_WRONG_ORDER,
           "test_simple_rnn_step", "concatenated in the wrong order"),
    Mutant("step_without_tanh", "simple_rnn_step", STEP_WITHOUT_TANH,
           "test_simple_rnn_step", "you forgot the tanh"),
    Mutant("forward_from_ones", "simple_rnn_forward", FORWARD_FROM_ONES,
           "test_simple_rnn_forward", "not from ones, random values or x_1"),
    Mutant("forward_last_state_only", "simple_rnn_forward", FORWARD_LAST_STATE_ONLY,
           "test_simple_rnn_forward", "you returned only the last state"),
    Mutant("contexts_attend_to_future", "attention_contexts", CONTEXTS_ATTEND_TO_FUTURE,
           "test_attention_contexts", "your weights attend to future states"),
    Mutant("contexts_softmax_wrong_axis", "attention_contexts", CONTEXTS_SOFTMAX_WRONG_AXIS,
           "test_attention_contexts", "softmax over the wrong axis"),
    Mutant("contexts_not_scaled", "attention_contexts", CONTEXTS_NOT_SCALED,
           "test_attention_contexts", "the scores are not scaled"),
    Mutant("attention_rnn_feeds_state", "attention_rnn_forward", ATTENTION_RNN_FEEDS_STATE,
           "test_attention_rnn_forward", "you fed h_{t-1} into the step"),
]
