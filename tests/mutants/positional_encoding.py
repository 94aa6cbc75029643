"""Mutants of the positional_encoding assignment: one known mistake each."""
from mutants import Mutant

COS_ON_EVEN_COLUMNS = '''
def sinusoidal_encoding(num_positions, d):
    positions = np.arange(num_positions)[:, None]
    angles = positions / 10000.0 ** (np.arange(0, d, 2) / d)
    PE = np.zeros((num_positions, d))
    PE[:, 0::2] = np.cos(angles)
    PE[:, 1::2] = np.sin(angles[:, : d // 2])
    return PE
'''

EXPONENT_I_OVER_D = '''
def sinusoidal_encoding(num_positions, d):
    positions = np.arange(num_positions)[:, None]
    angles = positions / 10000.0 ** (np.arange((d + 1) // 2) / d)  # 10000^(i/d): wrong
    PE = np.zeros((num_positions, d))
    PE[:, 0::2] = np.sin(angles)
    PE[:, 1::2] = np.cos(angles[:, : d // 2])
    return PE
'''

SIN_COS_IN_HALVES = '''
def sinusoidal_encoding(num_positions, d):
    positions = np.arange(num_positions)[:, None]
    angles = positions / 10000.0 ** (np.arange(0, d, 2) / d)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)[:, :d]
'''

ROTATION_TRANSPOSED = '''
def offset_rotation(k, d):
    angles = k / 10000.0 ** (np.arange(0, d, 2) / d)
    cos, sin = np.cos(angles), np.sin(angles)
    even, odd = np.arange(0, d, 2), np.arange(1, d, 2)
    M = np.zeros((d, d))
    M[even, even], M[even, odd] = cos, sin
    M[odd, even], M[odd, odd] = -sin, cos
    return M
'''

DOTS_SLICE_MINUS_K = '''
def offset_dot_products(PE, k):
    PE = np.asarray(PE, dtype=float)
    if k < 0:
        return (PE[-k:] * PE[:k]).sum(axis=1)
    return (PE[:-k] * PE[k:]).sum(axis=1)  # PE[:-0] is empty
'''

COMPARES_WITH_UNSHUFFLED_OUTPUT = '''
def is_permutation_equivariant(f, X, perm):
    return bool(np.allclose(f(X[perm]), f(X)))  # tests invariance
'''

SHUFFLES_OUTPUT_BY_INVERSE = '''
def is_permutation_equivariant(f, X, perm):
    return bool(np.allclose(f(X[perm]), np.asarray(f(X))[np.argsort(perm)]))
'''

EXACT_EQUALITY = '''
def is_permutation_equivariant(f, X, perm):
    return bool(np.array_equal(f(X[perm]), np.asarray(f(X))[perm]))
'''

POSITIONS_MULTIPLIED = '''
def self_attention_with_positions(X, W_q, W_k, W_v):
    n, d = X.shape
    return self_attention(X * sinusoidal_encoding(n, d), W_q, W_k, W_v)
'''

POSITIONS_AFTER_ATTENTION = '''
def self_attention_with_positions(X, W_q, W_k, W_v):
    n, d = X.shape
    return self_attention(X, W_q, W_k, W_v) + sinusoidal_encoding(n, d)
'''

MUTANTS = [
    Mutant("cos_on_even_columns", "sinusoidal_encoding", COS_ON_EVEN_COLUMNS,
           "test_sinusoidal_encoding", "sin and cos are swapped"),
    Mutant("exponent_i_over_d", "sinusoidal_encoding", EXPONENT_I_OVER_D,
           "test_sinusoidal_encoding", "you used 10000^(i/d)"),
    Mutant("sin_cos_in_halves", "sinusoidal_encoding", SIN_COS_IN_HALVES,
           "test_sinusoidal_encoding", "concatenated in two halves"),
    Mutant("rotation_transposed", "offset_rotation", ROTATION_TRANSPOSED,
           "test_offset_rotation", "the matrix is transposed"),
    Mutant("dots_slice_minus_k", "offset_dot_products", DOTS_SLICE_MINUS_K,
           "test_offset_dot_products", "PE[:-k] is EMPTY when k = 0"),
    Mutant("compares_with_unshuffled_output", "is_permutation_equivariant",
           COMPARES_WITH_UNSHUFFLED_OUTPUT, "test_is_permutation_equivariant",
           "it is permutation-INVARIANT"),
    Mutant("shuffles_output_by_inverse", "is_permutation_equivariant", SHUFFLES_OUTPUT_BY_INVERSE,
           "test_is_permutation_equivariant", "not by its inverse"),
    Mutant("exact_equality", "is_permutation_equivariant", EXACT_EQUALITY,
           "test_is_permutation_equivariant", "compare with np.allclose"),
    Mutant("positions_multiplied", "self_attention_with_positions", POSITIONS_MULTIPLIED,
           "test_self_attention_with_positions", "multiplied instead of added"),
    Mutant("positions_after_attention", "self_attention_with_positions", POSITIONS_AFTER_ATTENTION,
           "test_self_attention_with_positions", "added after attention"),
]
