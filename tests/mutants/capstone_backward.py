"""Mutants of the capstone_backward assignment: one known mistake each."""
from mutants import Mutant

SOFTMAX_BACKWARD_DIAGONAL_ONLY = '''
def softmax_backward(grad_weights, weights):
    return np.asarray(weights, dtype=float) * np.asarray(grad_weights, dtype=float)
'''

SOFTMAX_BACKWARD_WRONG_AXIS = '''
def softmax_backward(grad_weights, weights):
    row_dot = (grad_weights * weights).sum(axis=0, keepdims=True)
    return weights * (grad_weights - row_dot)
'''

ATTENTION_BACKWARD_DIAGONAL_ONLY = '''
def attention_backward(queries, keys, values, grad_output):
    _, P = attention_forward(queries, keys, values)
    scale = 1.0 / np.sqrt(queries.shape[-1])
    dP = grad_output @ values.swapaxes(-1, -2)
    dS = P * dP
    return scale * dS @ keys, scale * dS.swapaxes(-1, -2) @ queries, P.swapaxes(-1, -2) @ grad_output
'''

ATTENTION_BACKWARD_WITHOUT_SCALE = '''
def attention_backward(queries, keys, values, grad_output):
    _, P = attention_forward(queries, keys, values)
    dS = softmax_backward(grad_output @ values.swapaxes(-1, -2), P)
    return dS @ keys, dS.swapaxes(-1, -2) @ queries, P.swapaxes(-1, -2) @ grad_output
'''

DK_WITHOUT_TRANSPOSE = '''
def attention_backward(queries, keys, values, grad_output):
    _, P = attention_forward(queries, keys, values)
    scale = 1.0 / np.sqrt(queries.shape[-1])
    dS = softmax_backward(grad_output @ values.swapaxes(-1, -2), P)
    return scale * dS @ keys, scale * dS @ queries, P.swapaxes(-1, -2) @ grad_output
'''

DV_WITHOUT_TRANSPOSE = '''
def attention_backward(queries, keys, values, grad_output):
    _, P = attention_forward(queries, keys, values)
    scale = 1.0 / np.sqrt(queries.shape[-1])
    dS = softmax_backward(grad_output @ values.swapaxes(-1, -2), P)
    return scale * dS @ keys, scale * dS.swapaxes(-1, -2) @ queries, P @ grad_output
'''

ONE_SIDED_DIFFERENCES = '''
def numerical_gradient(f, x, eps=1e-6):
    x = np.array(x, dtype=float)
    base = f(x)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        bumped = x.copy()
        bumped[index] += eps
        grad[index] = (f(bumped) - base) / eps
    return grad
'''

GRADIENT_DOES_NOT_RESTORE_X = '''
def numerical_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x, dtype=float)
    for index in np.ndindex(x.shape):
        x[index] += eps
        f_plus = f(x)
        x[index] -= 2 * eps
        f_minus = f(x)
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad
'''

RELATIVE_ERROR_ASYMMETRIC = '''
def relative_error(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))
'''

RELATIVE_ERROR_NAN_FOR_ZEROS = '''
def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))
'''

MUTANTS = [
    Mutant("softmax_backward_diagonal_only", "softmax_backward", SOFTMAX_BACKWARD_DIAGONAL_ONLY,
           "test_softmax_backward", "ignores the off-diagonal terms of the softmax Jacobian"),
    Mutant("softmax_backward_wrong_axis", "softmax_backward", SOFTMAX_BACKWARD_WRONG_AXIS,
           "test_softmax_backward", "take the row sum over the LAST axis"),
    Mutant("attention_backward_diagonal_only", "attention_backward", ATTENTION_BACKWARD_DIAGONAL_ONLY,
           "test_attention_backward", "ignoring the off-diagonal terms of the softmax Jacobian"),
    Mutant("attention_backward_without_scale", "attention_backward", ATTENTION_BACKWARD_WITHOUT_SCALE,
           "test_attention_backward", "without the 1/sqrt(d) scale"),
    Mutant("dk_without_transpose", "attention_backward", DK_WITHOUT_TRANSPOSE,
           "test_attention_backward", "dK = dS^T Q / sqrt(d)"),
    Mutant("dv_without_transpose", "attention_backward", DV_WITHOUT_TRANSPOSE,
           "test_attention_backward", "dV = P^T dO"),
    Mutant("one_sided_differences", "numerical_gradient", ONE_SIDED_DIFFERENCES,
           "test_numerical_gradient", "one-sided differences"),
    Mutant("gradient_does_not_restore_x", "numerical_gradient", GRADIENT_DOES_NOT_RESTORE_X,
           "test_numerical_gradient", "numerical_gradient changed x"),
    Mutant("relative_error_asymmetric", "relative_error", RELATIVE_ERROR_ASYMMETRIC,
           "test_relative_error", "must be symmetric"),
    Mutant("relative_error_nan_for_zeros", "relative_error", RELATIVE_ERROR_NAN_FOR_ZEROS,
           "test_relative_error", "0/0 gives NaN"),
]
