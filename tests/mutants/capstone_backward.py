"""Mutants of the capstone_backward assignment: one known mistake each, one named check broken."""
from mutants import Mutant

ONE_SIDED_DIFFERENCES = '''def numerical_gradient(f, x, eps=1e-6):
    point = np.array(x, dtype=float)
    gradient = np.zeros_like(point)
    at_x = f(point.copy())
    for index in np.ndindex(point.shape):
        saved = point[index]
        point[index] = saved + eps
        gradient[index] = (f(point) - at_x) / eps
        point[index] = saved
    return gradient
'''

# Perturbs the caller's array in place and leaves every entry eps below where it was.
CHANGES_CALLERS_X = '''def numerical_gradient(f, x, eps=1e-6):
    gradient = np.zeros(np.shape(x))
    for index in np.ndindex(gradient.shape):
        x[index] += eps
        f_plus = f(x)
        x[index] -= 2 * eps
        f_minus = f(x)
        gradient[index] = (f_plus - f_minus) / (2 * eps)
    return gradient
'''

# Loops over the first axis only: right for a vector, a whole row at a time for a matrix.
PERTURBS_WHOLE_ROWS = '''def numerical_gradient(f, x, eps=1e-6):
    point = np.array(x, dtype=float)
    gradient = np.zeros_like(point)
    for i in range(len(point)):
        saved = point[i].copy()
        point[i] = saved + eps
        f_plus = f(point)
        point[i] = saved - eps
        f_minus = f(point)
        point[i] = saved
        gradient[i] = (f_plus - f_minus) / (2 * eps)
    return gradient
'''


def _bilinear(dv="weights.swapaxes(-1, -2) @ grad_output", dq="scale * grad_scores @ keys @ W.T",
              dk="scale * grad_scores.swapaxes(-1, -2) @ queries @ W",
              dw="scale * (queries.swapaxes(-1, -2) @ grad_scores @ keys).reshape(-1, *W.shape).sum(axis=0)"):
    """The reference answer with one of its four gradients replaced."""
    return f'''def bilinear_attention_backward(queries, keys, values, W, grad_output):
    _, weights = bilinear_attention_forward(queries, keys, values, W)
    scale = 1.0 / np.sqrt(keys.shape[-1])
    grad_scores = softmax_backward(grad_output @ values.swapaxes(-1, -2), weights)
    return {dq}, {dk}, {dv}, {dw}
'''


DV_TRANSPOSED = _bilinear(dv="grad_output.swapaxes(-1, -2) @ weights")
DQ_WITHOUT_SCALE = _bilinear(dq="grad_scores @ keys @ W.T")
DK_WITHOUT_W = _bilinear(dk="scale * grad_scores.swapaxes(-1, -2) @ queries")
DK_WITH_DOT_T = _bilinear(dk="scale * grad_scores.T @ queries @ W")
DW_NOT_SUMMED = _bilinear(dw="scale * queries.swapaxes(-1, -2) @ grad_scores @ keys")

CALLS_ONE_PER_ENTRY = '''calls_to_check_W_q = 32 * 32
'''

MUTANTS = [
    Mutant("one_sided_differences", "numerical_gradient", ONE_SIDED_DIFFERENCES,
           "test_numerical_gradient", "use central differences", check="central differences"),
    Mutant("perturbs_whole_rows", "numerical_gradient", PERTURBS_WHOLE_ROWS,
           "test_numerical_gradient", "perturb one entry at a time", check="any shape"),
    Mutant("changes_callers_x", "numerical_gradient", CHANGES_CALLERS_X,
           "test_numerical_gradient", "changed the caller's x", check="x unchanged"),
    Mutant("dv_transposed", "bilinear_attention_backward", DV_TRANSPOSED,
           "test_bilinear_attention_backward", "dV = P^T dO", check="dV"),
    Mutant("dq_without_scale", "bilinear_attention_backward", DQ_WITHOUT_SCALE,
           "test_bilinear_attention_backward", "you forgot the factor 1/sqrt(d_k)", check="dQ"),
    Mutant("dk_without_w", "bilinear_attention_backward", DK_WITHOUT_W,
           "test_bilinear_attention_backward", "dK = dS^T Q W / sqrt(d_k)", check="dK"),
    Mutant("dk_with_dot_t_on_a_batch", "bilinear_attention_backward", DK_WITH_DOT_T,
           "test_bilinear_attention_backward", "swapaxes(-1, -2)", check="leading axes"),
    Mutant("dw_not_summed_over_leading_axes", "bilinear_attention_backward", DW_NOT_SUMMED,
           "test_bilinear_attention_backward", "SUM over the leading axes", check="leading axes"),
    Mutant("calls_one_per_entry", "calls_to_check_W_q", CALLS_ONE_PER_ENTRY,
           "test_calls_to_check_W_q", "two calls (x + eps and x - eps)", check="answer"),
]
