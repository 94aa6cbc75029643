"""Mutants of the rnn_attention assignment: one known mistake each, each breaking one named check."""
from mutants import Mutant

PADDED_CONCAT_WRONG_ORDER = '''
def padded_rnn_forward(X, lengths, A, b):
    batch, steps, _ = X.shape
    lengths = np.asarray(lengths)
    h = np.zeros((batch, A.shape[1]))
    H = np.zeros((batch, steps, A.shape[1]))
    for t in range(steps):
        real = (t < lengths)[:, None]
        h_new = np.tanh(np.concatenate([h, X[:, t]], axis=-1) @ A + b)
        h = np.where(real, h_new, h)
        H[:, t] = np.where(real, h_new, 0.0)
    return H, h
'''

PADDED_ROWS_NOT_ZEROED = '''
def padded_rnn_forward(X, lengths, A, b):
    batch, steps, _ = X.shape
    lengths = np.asarray(lengths)
    h = np.zeros((batch, A.shape[1]))
    H = np.zeros((batch, steps, A.shape[1]))
    for t in range(steps):
        h_new = np.tanh(np.concatenate([X[:, t], h], axis=-1) @ A + b)
        h = np.where((t < lengths)[:, None], h_new, h)
        H[:, t] = h_new
    return H, h
'''

LAST_STATE_READS_PADDING = '''
def padded_rnn_forward(X, lengths, A, b):
    batch, steps, _ = X.shape
    lengths = np.asarray(lengths)
    h = np.zeros((batch, A.shape[1]))
    H = np.zeros((batch, steps, A.shape[1]))
    for t in range(steps):
        h = np.tanh(np.concatenate([X[:, t], h], axis=-1) @ A + b)
        H[:, t] = np.where((t < lengths)[:, None], h, 0.0)
    return H, h
'''

_ALIGN_HEAD = '''
def attention_rnn_align(X, A, b, align):
    batch, steps, _ = X.shape
    hidden = A.shape[1]
    H, C = np.zeros((batch, steps, hidden)), np.zeros((batch, steps, hidden))
    weights = np.zeros((batch, steps, steps))
    c = np.zeros((batch, hidden))
    h = np.zeros((batch, hidden))
    for t in range(steps):
'''

ALIGN_RNN_FEEDS_STATE = _ALIGN_HEAD + '''
        h = np.tanh(np.concatenate([X[:, t], h], axis=-1) @ A + b)  # h_{t-1} instead of c_{t-1}
        H[:, t] = h
        scores = np.asarray(align(H[:, : t + 1], H[:, t]), dtype=float)
        exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
        alpha = exp / exp.sum(axis=-1, keepdims=True)
        C[:, t] = (alpha[:, :, None] * H[:, : t + 1]).sum(axis=1)
        weights[:, t, : t + 1] = alpha
    return H, C, weights
'''

ALIGN_RNN_NAIVE_SOFTMAX = _ALIGN_HEAD + '''
        H[:, t] = np.tanh(np.concatenate([X[:, t], c], axis=-1) @ A + b)
        exp = np.exp(np.asarray(align(H[:, : t + 1], H[:, t]), dtype=float))
        alpha = exp / exp.sum(axis=-1, keepdims=True)
        c = (alpha[:, :, None] * H[:, : t + 1]).sum(axis=1)
        C[:, t] = c
        weights[:, t, : t + 1] = alpha
    return H, C, weights
'''

ALIGN_RNN_WEIGHTS_IN_COLUMNS = _ALIGN_HEAD + '''
        H[:, t] = np.tanh(np.concatenate([X[:, t], c], axis=-1) @ A + b)
        scores = np.asarray(align(H[:, : t + 1], H[:, t]), dtype=float)
        exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
        alpha = exp / exp.sum(axis=-1, keepdims=True)
        c = (alpha[:, :, None] * H[:, : t + 1]).sum(axis=1)
        C[:, t] = c
        weights[:, : t + 1, t] = alpha  # column t instead of row t
    return H, C, weights
'''

WEIGHTS_M_PLUS_T = '''
decoder_weight_count = 30 + 20
'''

SCORES_N_SQUARED = '''
attention_rnn_score_count = 50 * 50
'''

MUTANTS = [
    Mutant("padded_concat_wrong_order", "padded_rnn_forward", PADDED_CONCAT_WRONG_ORDER,
           "test_padded_rnn_forward", "with the token FIRST", "full length"),
    Mutant("padded_rows_not_zeroed", "padded_rnn_forward", PADDED_ROWS_NOT_ZEROED,
           "test_padded_rnn_forward", "on padding (t >= lengths[r]) must be exactly 0", "padded rows"),
    Mutant("last_state_reads_padding", "padded_rnn_forward", LAST_STATE_READS_PADDING,
           "test_padded_rnn_forward", "your last state read the padding", "last state"),
    Mutant("align_rnn_feeds_state", "attention_rnn_align", ALIGN_RNN_FEEDS_STATE,
           "test_attention_rnn_align", "you fed h_{t-1} into the step", "recurrence"),
    Mutant("align_rnn_naive_softmax", "attention_rnn_align", ALIGN_RNN_NAIVE_SOFTMAX,
           "test_attention_rnn_align", "subtract the row maximum before np.exp", "align"),
    Mutant("align_rnn_weights_in_columns", "attention_rnn_align", ALIGN_RNN_WEIGHTS_IN_COLUMNS,
           "test_attention_rnn_align", "you stored them in column t", "weights"),
    Mutant("decoder_weights_m_plus_t", "decoder_weight_count", WEIGHTS_M_PLUS_T,
           "test_decoder_weight_count", "m * t = 600 weights", "answer"),
    Mutant("attention_rnn_scores_n_squared", "attention_rnn_score_count", SCORES_N_SQUARED,
           "test_attention_rnn_score_count", "n (n + 1) / 2 = 1275", "answer"),
]
