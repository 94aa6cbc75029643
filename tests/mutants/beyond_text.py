"""Mutants of the beyond_text assignment: one known mistake each, each breaking one named check."""
from mutants import Mutant

DILATION_WITHOUT_STRIDE = '''
def dilated_band_mask(n, window, dilation=1):
    offsets = np.arange(n)[:, None] - np.arange(n)[None, :]
    return np.abs(offsets) <= window * dilation  # every frame of the span, not every r-th
'''

LOCAL_MASK_COLUMN_MAJOR = '''
def local_2d_mask(height, width, size):
    half = size // 2
    cols, rows = np.divmod(np.arange(height * width), height)  # pixels numbered down the columns
    return (np.abs(rows[:, None] - rows[None, :]) <= half) & (np.abs(cols[:, None] - cols[None, :]) <= half)
'''

LOCAL_ATTENTION_MASK_WITH_ZERO = '''
def local_image_attention(image, size):
    image = np.asarray(image, dtype=float)
    height, width, channels = image.shape
    pixels = image.reshape(height * width, channels)
    keep = np.asarray(local_2d_mask(height, width, size), dtype=bool)
    scores = np.where(keep, pixels @ pixels.T / np.sqrt(channels), 0.0)  # 0 instead of -inf
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = exp / exp.sum(axis=-1, keepdims=True)
    return (weights @ pixels).reshape(height, width, channels), weights
'''

LOCAL_ATTENTION_UNSCALED = '''
def local_image_attention(image, size):
    image = np.asarray(image, dtype=float)
    height, width, channels = image.shape
    pixels = image.reshape(height * width, channels)
    keep = np.asarray(local_2d_mask(height, width, size), dtype=bool)
    scores = np.where(keep, pixels @ pixels.T, -np.inf)  # no 1 / sqrt(C)
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = exp / exp.sum(axis=-1, keepdims=True)
    return (weights @ pixels).reshape(height, width, channels), weights
'''

_GAT_HEAD = '''
def multi_head_graph_attention(node_features, W, a, adjacency=None, concat=True):
    features = np.asarray(node_features, dtype=float)
    W, a = np.asarray(W, dtype=float), np.asarray(a, dtype=float)
    heads, _, out_features = W.shape
    nodes = len(features)
    projected = features @ W
    own = projected @ a[:, :out_features, None]
    other = projected @ a[:, out_features:, None]
    raw = own + other.swapaxes(-1, -2)
'''
_GAT_SOFTMAX = '''
    masked = np.where(keep, scores, -np.inf)
    exp = np.exp(masked - masked.max(axis=-1, keepdims=True))
    weights = exp / exp.sum(axis=-1, keepdims=True)
    per_head = weights @ projected
'''
_GAT_MERGE = '''
    if concat:
        return per_head.swapaxes(0, 1).reshape(nodes, heads * out_features), weights
    return per_head.mean(axis=0), weights
'''
_GAT_SCORES = '''
    scores = np.where(raw > 0, raw, 0.2 * raw)
'''
_GAT_KEEP = '''
    keep = np.ones((nodes, nodes), dtype=bool) if adjacency is None else np.asarray(adjacency) != 0
    keep = keep | np.eye(nodes, dtype=bool)
'''

GAT_PLAIN_RELU = _GAT_HEAD + '''
    scores = np.maximum(raw, 0.0)  # ReLU instead of LeakyReLU(0.2)
''' + _GAT_KEEP + _GAT_SOFTMAX + _GAT_MERGE

GAT_WITHOUT_SELF_LOOPS = _GAT_HEAD + _GAT_SCORES + '''
    keep = np.ones((nodes, nodes), dtype=bool) if adjacency is None else np.asarray(adjacency) != 0
''' + _GAT_SOFTMAX + _GAT_MERGE

GAT_NONE_ADJACENCY = _GAT_HEAD + _GAT_SCORES + '''
    keep = np.asarray(adjacency, dtype=bool) | np.eye(nodes, dtype=bool)  # None becomes False
''' + _GAT_SOFTMAX + _GAT_MERGE

GAT_MERGE_WITHOUT_TRANSPOSE = _GAT_HEAD + _GAT_SCORES + _GAT_KEEP + _GAT_SOFTMAX + '''
    if concat:
        return per_head.reshape(nodes, heads * out_features), weights  # (heads, nodes, F') reshaped as it is
    return per_head.mean(axis=0), weights
'''

PATCH_SHAPE_WITHOUT_CHANNELS = '''
vit_patch_tokens_shape = (196, 256)
'''

MUTANTS = [
    Mutant("dilation_without_stride", "dilated_band_mask", DILATION_WITHOUT_STRIDE,
           "test_dilated_band_mask", "offset i - j is a multiple of the dilation", "dilation"),
    Mutant("local_mask_column_major", "local_2d_mask", LOCAL_MASK_COLUMN_MAJOR,
           "test_local_2d_mask", "You numbered the pixels column-major", "non-square image"),
    Mutant("local_attention_mask_with_zero", "local_image_attention", LOCAL_ATTENTION_MASK_WITH_ZERO,
           "test_local_image_attention", "exp(0) = 1 still gives them weight", "mask"),
    Mutant("local_attention_unscaled", "local_image_attention", LOCAL_ATTENTION_UNSCALED,
           "test_local_image_attention", "x_p . x_q / sqrt(C)", "scores"),
    Mutant("gat_plain_relu", "multi_head_graph_attention", GAT_PLAIN_RELU,
           "test_multi_head_graph_attention", "negative slope 0.2", "score"),
    Mutant("gat_without_self_loops", "multi_head_graph_attention", GAT_WITHOUT_SELF_LOOPS,
           "test_multi_head_graph_attention", "includes i itself", "neighbours"),
    Mutant("gat_none_adjacency", "multi_head_graph_attention", GAT_NONE_ADJACENCY,
           "test_multi_head_graph_attention", "default `None`", "neighbours"),
    Mutant("gat_merge_heads_without_transpose", "multi_head_graph_attention", GAT_MERGE_WITHOUT_TRANSPOSE,
           "test_multi_head_graph_attention", "a transpose on the wrong axes", "heads"),
    Mutant("patch_shape_without_channels", "vit_patch_tokens_shape", PATCH_SHAPE_WITHOUT_CHANNELS,
           "test_vit_patch_tokens_shape", "16 * 16 * 3 = 768", "answer"),
]
