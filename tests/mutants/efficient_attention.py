"""Mutants of the efficient_attention assignment: one known mistake each, each breaking one named check."""
from mutants import Mutant

_CHUNK_HEAD = '''
def chunked_linear_attention(queries, keys, values, chunk_size):
    phi_q = elu_feature_map(queries)
    phi_k = elu_feature_map(keys)
    values = np.asarray(values, dtype=float)
    *lead, n, d = phi_k.shape
    state = np.zeros((*lead, d, values.shape[-1]))
    key_total = np.zeros((*lead, 1, d))
    outputs = []
    for start in range(0, n, chunk_size):
        q = phi_q[..., start:start + chunk_size, :]
        k = phi_k[..., start:start + chunk_size, :]
        v = values[..., start:start + chunk_size, :]
'''
_CHUNK_READ = '''
        numerator = q @ state + sims @ v
        denominator = (q * key_total).sum(axis=-1, keepdims=True) + sims.sum(axis=-1, keepdims=True)
        outputs.append(numerator / denominator)
'''

CHUNK_STATE_NOT_CARRIED = _CHUNK_HEAD + '''
        sims = np.tril(q @ k.swapaxes(-1, -2))
''' + _CHUNK_READ + '''
    return np.concatenate(outputs, axis=-2)  # the state never grows: each chunk sees only itself
'''

CHUNK_BATCH_TRANSPOSE = _CHUNK_HEAD + '''
        sims = np.tril(q @ k.T)
''' + _CHUNK_READ + '''
        state = state + k.swapaxes(-1, -2) @ v
        key_total = key_total + k.sum(axis=-2, keepdims=True)
    return np.concatenate(outputs, axis=-2)
'''

_TILED_HEAD = '''
def causal_tiled_attention(queries, keys, values, block_size):
    queries = np.asarray(queries, dtype=float)
    keys = np.asarray(keys, dtype=float)
    values = np.asarray(values, dtype=float)
    n = queries.shape[-2]
    scaled = queries / np.sqrt(queries.shape[-1])
    output = np.empty(queries.shape[:-1] + (values.shape[-1],))
    for q_start in range(0, n, block_size):
        q_block = scaled[..., q_start:q_start + block_size, :]
        q_pos = np.arange(q_start, q_start + q_block.shape[-2])[:, None]
        best = np.full(q_block.shape[:-1] + (1,), -np.inf)
        denom = np.zeros(q_block.shape[:-1] + (1,))
        acc = np.zeros(q_block.shape[:-1] + (values.shape[-1],))
        for k_start in range(0, q_start + q_block.shape[-2], block_size):
            k_block = keys[..., k_start:k_start + block_size, :]
            scores = q_block @ k_block.swapaxes(-1, -2)
            k_pos = np.arange(k_start, k_start + k_block.shape[-2])
'''
_TILED_TAIL = '''
            shrink = np.exp(best - new_best)
            block_exp = np.exp(scores - new_best)
            denom = denom * shrink + block_exp.sum(axis=-1, keepdims=True)
            acc = acc * shrink + block_exp @ values[..., k_start:k_start + block_size, :]
            best = new_best
        output[..., q_start:q_start + block_size, :] = acc / denom
    return output
'''

TILED_MASK_WITH_ZERO = _TILED_HEAD + '''
            scores = np.where(k_pos <= q_pos, scores, 0.0)  # 0 instead of -inf
            new_best = np.maximum(best, scores.max(axis=-1, keepdims=True))
''' + _TILED_TAIL

TILED_HARD_CODED_AXIS = _TILED_HEAD + '''
            scores = np.where(k_pos <= q_pos, scores, -np.inf)
            new_best = np.maximum(best, scores.max(axis=1, keepdims=True))  # the keys only for 2-D input
''' + _TILED_TAIL

TILED_FULL_SCORE_MATRIX = '''
def causal_tiled_attention(queries, keys, values, block_size):
    queries = np.asarray(queries, dtype=float)
    n = queries.shape[-2]
    scores = queries @ np.asarray(keys, dtype=float).swapaxes(-1, -2) / np.sqrt(queries.shape[-1])  # (..., n, n)
    scores = np.where(np.tril(np.ones((n, n), dtype=bool)), scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return (weights / weights.sum(axis=-1, keepdims=True)) @ np.asarray(values, dtype=float)
'''

NAIVE_BYTES_AS_ENTRIES = '''
naive_score_bytes = 4096 * 4096
'''

MUTANTS = [
    Mutant("chunk_state_not_carried", "chunked_linear_attention", CHUNK_STATE_NOT_CARRIED,
           "test_chunked_linear_attention", "carry the state (S, z) of all earlier chunks", "across chunks"),
    Mutant("chunk_batch_transpose", "chunked_linear_attention", CHUNK_BATCH_TRANSPOSE,
           "test_chunked_linear_attention", "swapaxes(-1, -2)", "batch"),
    Mutant("tiled_mask_with_zero", "causal_tiled_attention", TILED_MASK_WITH_ZERO,
           "test_causal_tiled_attention", "exp(0) = 1 still gives them weight", "diagonal tiles"),
    Mutant("tiled_hard_coded_axis", "causal_tiled_attention", TILED_HARD_CODED_AXIS,
           "test_causal_tiled_attention", "axis=-1", "batch"),
    Mutant("tiled_full_score_matrix", "causal_tiled_attention", TILED_FULL_SCORE_MATRIX,
           "test_causal_tiled_attention", "it stores the whole (n, n) score matrix", "memory"),
    Mutant("naive_bytes_as_entries", "naive_score_bytes", NAIVE_BYTES_AS_ENTRIES,
           "test_naive_score_bytes", "entries of 8 bytes each", "answer"),
]
