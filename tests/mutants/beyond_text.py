"""Mutants of the beyond_text assignment: one known mistake each."""
from mutants import Mutant

BAND_OFF_BY_ONE = '''
def band_mask(n, window):
    positions = np.arange(n)
    return np.abs(positions[:, None] - positions[None, :]) < window
'''

BAND_CAUSAL_ONLY = '''
def band_mask(n, window):
    positions = np.arange(n)
    offsets = positions[:, None] - positions[None, :]
    return (offsets >= 0) & (offsets <= window)
'''

TRUNCATED_MASK_AFTER_SOFTMAX = '''
def truncated_attention(queries, keys, values, window):
    queries, keys = np.asarray(queries, dtype=float), np.asarray(keys, dtype=float)
    n, d = queries.shape
    scores = queries @ keys.T / np.sqrt(d)
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = exp / exp.sum(axis=-1, keepdims=True)
    weights = np.where(band_mask(n, window), weights, 0.0)
    return weights @ values, weights
'''

TRUNCATED_NOT_SCALED = '''
def truncated_attention(queries, keys, values, window):
    queries, keys = np.asarray(queries, dtype=float), np.asarray(keys, dtype=float)
    n, d = queries.shape
    scores = np.where(band_mask(n, window), queries @ keys.T, -np.inf)
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = exp / exp.sum(axis=-1, keepdims=True)
    return weights @ values, weights
'''

PIXELS_COLUMN_MAJOR = '''
def image_to_pixel_vectors(image):
    image = np.asarray(image)
    height, width, channels = image.shape
    return image.transpose(1, 0, 2).reshape(height * width, channels)
'''

PATCHES_PLAIN_RESHAPE = '''
def image_to_patches(image, patch):
    image = np.asarray(image)
    height, width, channels = image.shape
    if height % patch or width % patch:
        raise ValueError("image size is not a multiple of the patch size")
    return image.reshape((height // patch) * (width // patch), patch * patch * channels)
'''

PATCHES_CHANNEL_FIRST = '''
def image_to_patches(image, patch):
    image = np.asarray(image)
    height, width, channels = image.shape
    if height % patch or width % patch:
        raise ValueError("image size is not a multiple of the patch size")
    rows, cols = height // patch, width // patch
    grid = image.reshape(rows, patch, cols, patch, channels).transpose(0, 2, 4, 1, 3)
    return grid.reshape(rows * cols, patch * patch * channels)
'''

PATCHES_COLUMN_MAJOR = '''
def image_to_patches(image, patch):
    image = np.asarray(image)
    height, width, channels = image.shape
    if height % patch or width % patch:
        raise ValueError("image size is not a multiple of the patch size")
    rows, cols = height // patch, width // patch
    grid = image.reshape(rows, patch, cols, patch, channels).transpose(0, 2, 3, 1, 4)
    return grid.reshape(rows * cols, patch * patch * channels)
'''

PATCHES_GRID_COLUMN_MAJOR = '''
def image_to_patches(image, patch):
    image = np.asarray(image)
    height, width, channels = image.shape
    if height % patch or width % patch:
        raise ValueError("image size is not a multiple of the patch size")
    rows, cols = height // patch, width // patch
    grid = image.reshape(rows, patch, cols, patch, channels).transpose(2, 0, 1, 3, 4)
    return grid.reshape(rows * cols, patch * patch * channels)
'''

_GAT_HEAD = '''
def graph_attention(node_features, adjacency, W, a_src, a_dst, add_self_loops=True):
    projected = np.asarray(node_features, dtype=float) @ W
'''

_GAT_SCORES = '''
    raw = (projected @ a_dst)[:, None] + (projected @ a_src)[None, :]
    scores = np.where(raw > 0, raw, 0.2 * raw)
'''

_GAT_SAFE_SOFTMAX = '''
    masked = np.where(keep, scores, -np.inf)
    row_max = masked.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    exp = np.where(keep, np.exp(masked - row_max), 0.0)
    total = exp.sum(axis=-1, keepdims=True)
    weights = np.divide(exp, total, out=np.zeros_like(exp), where=total > 0)
    return weights @ projected, weights
'''

GRAPH_NO_SELF_LOOPS = _GAT_HEAD + _GAT_SCORES + '''
    keep = np.asarray(adjacency) != 0
''' + _GAT_SAFE_SOFTMAX

GRAPH_SWAPPED_ATTENTION_VECTOR = _GAT_HEAD + '''
    raw = (projected @ a_src)[:, None] + (projected @ a_dst)[None, :]
    scores = np.where(raw > 0, raw, 0.2 * raw)
    keep = np.asarray(adjacency) != 0
    if add_self_loops:
        keep = keep | np.eye(len(keep), dtype=bool)
''' + _GAT_SAFE_SOFTMAX

GRAPH_MASK_AFTER_SOFTMAX = _GAT_HEAD + _GAT_SCORES + '''
    keep = np.asarray(adjacency) != 0
    if add_self_loops:
        keep = keep | np.eye(len(keep), dtype=bool)
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = exp / exp.sum(axis=-1, keepdims=True) * keep
    return weights @ projected, weights
'''

GRAPH_ISOLATED_NODE_NAN = _GAT_HEAD + _GAT_SCORES + '''
    keep = np.asarray(adjacency) != 0
    if add_self_loops:
        keep = keep | np.eye(len(keep), dtype=bool)
    masked = np.where(keep, scores, -np.inf)
    exp = np.exp(masked - masked.max(axis=-1, keepdims=True))
    weights = exp / exp.sum(axis=-1, keepdims=True)
    return weights @ projected, weights
'''

MUTANTS = [
    Mutant("band_off_by_one", "band_mask", BAND_OFF_BY_ONE,
           "test_band_mask", "using < instead of <= is off by one"),
    Mutant("band_causal_only", "band_mask", BAND_CAUSAL_ONLY,
           "test_band_mask", "A causal band (only j <= i)"),
    Mutant("truncated_mask_after_softmax", "truncated_attention", TRUNCATED_MASK_AFTER_SOFTMAX,
           "test_truncated_attention", "mask the scores before the softmax"),
    Mutant("truncated_not_scaled", "truncated_attention", TRUNCATED_NOT_SCALED,
           "test_truncated_attention", "the scores are not scaled"),
    Mutant("pixels_column_major", "image_to_pixel_vectors", PIXELS_COLUMN_MAJOR,
           "test_image_to_pixel_vectors", "your pixels are in column-major order"),
    Mutant("patches_plain_reshape", "image_to_patches", PATCHES_PLAIN_RESHAPE,
           "test_image_to_patches", "cuts strips of pixels, not squares"),
    Mutant("patches_channel_first", "image_to_patches", PATCHES_CHANNEL_FIRST,
           "test_image_to_patches", "flattened channel-first"),
    Mutant("patches_column_major", "image_to_patches", PATCHES_COLUMN_MAJOR,
           "test_image_to_patches", "column by column (column-major)"),
    Mutant("patches_grid_column_major", "image_to_patches", PATCHES_GRID_COLUMN_MAJOR,
           "test_image_to_patches", "not down the columns"),
    Mutant("graph_no_self_loops", "graph_attention", GRAPH_NO_SELF_LOOPS,
           "test_graph_attention", "every node must attend to itself"),
    Mutant("graph_swapped_attention_vector", "graph_attention", GRAPH_SWAPPED_ATTENTION_VECTOR,
           "test_graph_attention", "did not swap them"),
    Mutant("graph_mask_after_softmax", "graph_attention", GRAPH_MASK_AFTER_SOFTMAX,
           "test_graph_attention", "not after the softmax"),
    Mutant("graph_isolated_node_nan", "graph_attention", GRAPH_ISOLATED_NODE_NAN,
           "test_graph_attention", "a row with no kept key must be all zeros"),
]
