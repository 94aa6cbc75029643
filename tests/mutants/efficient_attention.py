"""Mutants of the efficient_attention assignment: one known mistake each."""
from mutants import Mutant

FEATURE_MAP_EXP = '''
def elu_feature_map(x):
    return np.exp(np.asarray(x, dtype=float))
'''

FEATURE_MAP_RELU = '''
def elu_feature_map(x):
    return np.maximum(np.asarray(x, dtype=float), 0.0)
'''

FEATURE_MAP_ELU_WITHOUT_ONE = '''
def elu_feature_map(x):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, np.exp(np.minimum(x, 0.0)) - 1.0)
'''

LINEAR_WITHOUT_NORMALISER = '''
def linear_attention(queries, keys, values):
    phi_q = elu_feature_map(queries)
    phi_k = elu_feature_map(keys)
    return phi_q @ (phi_k.swapaxes(-1, -2) @ np.asarray(values, dtype=float))
'''

RECURRENT_READ_BEFORE_UPDATE = '''
def linear_attention_recurrent(queries, keys, values):
    phi_q = elu_feature_map(queries)
    phi_k = elu_feature_map(keys)
    values = np.asarray(values, dtype=float)
    *lead, n, d = phi_k.shape
    S = np.zeros((*lead, d, values.shape[-1]))
    z = np.zeros((*lead, d))
    outputs = []
    for t in range(n):
        q_t = phi_q[..., t, :]
        outputs.append((q_t[..., :, None] * S).sum(axis=-2) / (q_t * z).sum(axis=-1, keepdims=True))
        S = S + phi_k[..., t, :, None] * values[..., t, None, :]
        z = z + phi_k[..., t, :]
    return np.stack(outputs, axis=-2)
'''

TILED_WITHOUT_RESCALING_ACCUMULATOR = '''
def tiled_attention(queries, keys, values, block_size):
    scaled = np.asarray(queries, dtype=float) / np.sqrt(queries.shape[-1])
    m = np.full(scaled.shape[:-1], -np.inf)
    l = np.zeros(scaled.shape[:-1])
    acc = np.zeros(scaled.shape[:-1] + (values.shape[-1],))
    for start in range(0, keys.shape[-2], block_size):
        s = scaled @ keys[..., start:start + block_size, :].swapaxes(-1, -2)
        m_new = np.maximum(m, s.max(axis=-1))
        e = np.exp(s - m_new[..., None])
        l = l * np.exp(m - m_new) + e.sum(axis=-1)
        acc = acc + e @ values[..., start:start + block_size, :]
        m = m_new
    return acc / l[..., None]
'''

TILED_WITHOUT_SCALE = '''
def tiled_attention(queries, keys, values, block_size):
    q = np.asarray(queries, dtype=float)
    m = np.full(q.shape[:-1], -np.inf)
    l = np.zeros(q.shape[:-1])
    acc = np.zeros(q.shape[:-1] + (values.shape[-1],))
    for start in range(0, keys.shape[-2], block_size):
        s = q @ keys[..., start:start + block_size, :].swapaxes(-1, -2)
        m_new = np.maximum(m, s.max(axis=-1))
        r = np.exp(m - m_new)
        e = np.exp(s - m_new[..., None])
        l = l * r + e.sum(axis=-1)
        acc = acc * r[..., None] + e @ values[..., start:start + block_size, :]
        m = m_new
    return acc / l[..., None]
'''

TILED_DROPS_LAST_PARTIAL_BLOCK = '''
def tiled_attention(queries, keys, values, block_size):
    scaled = np.asarray(queries, dtype=float) / np.sqrt(queries.shape[-1])
    m = np.full(scaled.shape[:-1], -np.inf)
    l = np.zeros(scaled.shape[:-1])
    acc = np.zeros(scaled.shape[:-1] + (values.shape[-1],))
    for block in range(keys.shape[-2] // block_size):
        start = block * block_size
        s = scaled @ keys[..., start:start + block_size, :].swapaxes(-1, -2)
        m_new = np.maximum(m, s.max(axis=-1))
        r = np.exp(m - m_new)
        e = np.exp(s - m_new[..., None])
        l = l * r + e.sum(axis=-1)
        acc = acc * r[..., None] + e @ values[..., start:start + block_size, :]
        m = m_new
    return acc / l[..., None]
'''

TILED_NAIVE_FULL_MATRIX = '''
def tiled_attention(queries, keys, values, block_size):
    s = queries @ keys.swapaxes(-1, -2) / np.sqrt(queries.shape[-1])
    w = np.exp(s - s.max(axis=-1, keepdims=True))
    return (w / w.sum(axis=-1, keepdims=True)) @ values
'''

MUTANTS = [
    Mutant("feature_map_exp", "elu_feature_map", FEATURE_MAP_EXP,
           "test_elu_feature_map", "your feature map is exp(x)"),
    Mutant("feature_map_relu", "elu_feature_map", FEATURE_MAP_RELU,
           "test_elu_feature_map", "your feature map is relu(x)"),
    Mutant("feature_map_elu_without_one", "elu_feature_map", FEATURE_MAP_ELU_WITHOUT_ONE,
           "test_elu_feature_map", "elu(x) without the + 1"),
    Mutant("linear_without_normaliser", "linear_attention", LINEAR_WITHOUT_NORMALISER,
           "test_linear_attention", "you forgot the normaliser"),
    Mutant("recurrent_reads_before_update", "linear_attention_recurrent", RECURRENT_READ_BEFORE_UPDATE,
           "test_linear_attention_recurrent", "update S_t and z_t first, then compute o_t"),
    Mutant("tiled_without_rescaling_accumulator", "tiled_attention", TILED_WITHOUT_RESCALING_ACCUMULATOR,
           "test_tiled_attention", "forgetting to rescale the accumulator"),
    Mutant("tiled_without_scale", "tiled_attention", TILED_WITHOUT_SCALE,
           "test_tiled_attention", "(1/sqrt(d) scale)"),
    Mutant("tiled_drops_last_partial_block", "tiled_attention", TILED_DROPS_LAST_PARTIAL_BLOCK,
           "test_tiled_attention", "shorter block of keys was dropped"),
    Mutant("tiled_builds_full_matrix", "tiled_attention", TILED_NAIVE_FULL_MATRIX,
           "test_tiled_attention", "it stores the whole (m, n) score matrix"),
]
