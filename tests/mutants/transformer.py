"""Mutants of the transformer assignment: one known mistake each."""
from mutants import Mutant


def _attend_step(scale="np.sqrt(size)", order="append first"):
    attend_first = order == "attend first"
    keys = "K_cache" if attend_first else "K_new"
    values = "V_cache" if attend_first else "V_new"
    return f'''
def attend_step(x, K_cache, V_cache, W_q, W_k, W_v, W_o, num_heads):
    size = x.shape[-1] // num_heads
    q = (x @ W_q).reshape(num_heads, size)
    K_new = np.concatenate([K_cache, (x @ W_k).reshape(num_heads, 1, size)], axis=1)
    V_new = np.concatenate([V_cache, (x @ W_v).reshape(num_heads, 1, size)], axis=1)
    scores = np.einsum("hd,htd->ht", q, {keys}) / {scale}
    heads = np.einsum("ht,htd->hd", softmax(scores), {values})
    return heads.reshape(-1) @ W_o, K_new, V_new
'''


NO_SCALING = _attend_step(scale="1.0")
SCALE_BY_D_MODEL = _attend_step(scale="np.sqrt(x.shape[-1])")
ATTEND_BEFORE_APPEND = _attend_step(order="attend first")


def _greedy(embed="E[token] + P[position]", logits="(x + out) @ E.T"):
    return f'''
def greedy_decode(step, E, P, bos, steps, num_heads):
    keys = np.zeros((num_heads, 0, E.shape[1] // num_heads))
    values = keys.copy()
    token, tokens, logits = bos, [], []
    for position in range(steps):
        x = {embed}
        out, keys, values = step(x, keys, values)
        row = {logits}
        token = int(np.argmax(row))
        tokens.append(token)
        logits.append(row)
    return np.array(tokens), np.array(logits)
'''


NO_RESIDUAL = _greedy(logits="out @ E.T")
POSITION_OFF_BY_ONE = _greedy(embed="E[token] + P[position + 1]")

POST_LN_KEPT = '''
def pre_ln_block(X, p, num_heads):
    H = layer_norm(X + causal_self_attention(X, p["W_q"], p["W_k"], p["W_v"], p["W_o"], num_heads),
                   p["gain_1"], p["bias_1"])
    return layer_norm(H + feed_forward(H, p["W_1"], p["b_1"], p["W_2"], p["b_2"]), p["gain_2"], p["bias_2"])
'''

NORMALISED_RESIDUAL_PATH = '''
def pre_ln_block(X, p, num_heads):
    X = layer_norm(X, p["gain_1"], p["bias_1"])
    H = X + causal_self_attention(X, p["W_q"], p["W_k"], p["W_v"], p["W_o"], num_heads)
    H = layer_norm(H, p["gain_2"], p["bias_2"])
    return H + feed_forward(H, p["W_1"], p["b_1"], p["W_2"], p["b_2"])
'''

STACK_WITHOUT_FINAL_NORM = '''
def pre_ln_stack(X, block, blocks, final_gain, final_bias):
    for p in blocks:
        X = block(X, p)
    return X
'''

CACHE_KEYS_ONLY = '''
def kv_cache_entries(steps, num_layers, d_model):
    return int(num_layers * steps * d_model)
'''

BLOCK_WITHOUT_ATTENTION_BIASES = '''
def block_parameters(d_model, d_ff, cross_attention):
    attention = 4 * d_model * d_model
    ffn = 2 * d_model * d_ff + d_ff + d_model
    norms = (3 if cross_attention else 2) * 2 * d_model
    return int((2 if cross_attention else 1) * attention + ffn + norms)
'''

MUTANTS = [
    Mutant("no_scaling", "attend_step", NO_SCALING, "test_attend_step",
           "did not scale the scores"),
    Mutant("scale_by_d_model", "attend_step", SCALE_BY_D_MODEL, "test_attend_step",
           "scaled by sqrt(d) = 2"),
    Mutant("attend_before_append", "attend_step", ATTEND_BEFORE_APPEND, "test_attend_step",
           "append the new token's key and value to the caches first"),
    Mutant("no_residual", "greedy_decode", NO_RESIDUAL, "test_greedy_decode",
           "add the residual connection"),
    Mutant("position_off_by_one", "greedy_decode", POSITION_OFF_BY_ONE, "test_greedy_decode",
           "must use position vector P[0]"),
    Mutant("post_ln_kept", "pre_ln_block", POST_LN_KEPT, "test_pre_ln_block",
           "that is the post-LN output"),
    Mutant("normalised_residual_path", "pre_ln_block", NORMALISED_RESIDUAL_PATH, "test_pre_ln_block",
           "the residual path carries X itself"),
    Mutant("stack_without_final_norm", "pre_ln_stack", STACK_WITHOUT_FINAL_NORM, "test_pre_ln_stack",
           "you left out the final layer norm"),
    Mutant("cache_keys_only", "kv_cache_entries", CACHE_KEYS_ONLY, "test_kv_cache_entries",
           "you counted the keys only"),
    Mutant("block_without_attention_biases", "block_parameters", BLOCK_WITHOUT_ATTENTION_BIASES,
           "test_block_parameters", "count without attention biases"),
]
