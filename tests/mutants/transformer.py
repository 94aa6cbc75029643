"""Mutants of the transformer assignment: one known mistake each, each breaking one named check."""
from mutants import Mutant


def _attend_step(scale="np.sqrt(size)", project="heads.reshape(-1) @ W_o"):
    return f'''
def attend_step(x, K_cache, V_cache, W_q, W_k, W_v, W_o, num_heads):
    size = x.shape[-1] // num_heads
    q = (x @ W_q).reshape(num_heads, size)
    K_cache = np.concatenate([K_cache, (x @ W_k).reshape(num_heads, 1, size)], axis=1)
    V_cache = np.concatenate([V_cache, (x @ W_v).reshape(num_heads, 1, size)], axis=1)
    scores = np.einsum("hd,htd->ht", q, K_cache) / {scale}
    heads = np.einsum("ht,htd->hd", softmax(scores), V_cache)
    return {project}, K_cache, V_cache
'''


NO_SCALING = _attend_step(scale="1.0")
SCALE_BY_D_MODEL = _attend_step(scale="np.sqrt(x.shape[-1])")
FORGOTTEN_OUTPUT_PROJECTION = _attend_step(project="heads.reshape(-1)")


def _greedy(embed="E[token] + P[position]", logits="(x + out) @ E.T", feed="int(np.argmax(row))",
            threaded="out, keys, values = step(x, keys, values)"):
    return f'''
def greedy_generate(step, E, P, bos, steps, num_heads):
    keys = np.zeros((num_heads, 0, E.shape[1] // num_heads))
    values = keys.copy()
    token, tokens, logits = bos, [], []
    for position in range(steps):
        x = {embed}
        {threaded}
        row = {logits}
        token = {feed}
        tokens.append(token)
        logits.append(row)
    return np.array(tokens), np.array(logits)
'''


NO_RESIDUAL = _greedy(logits="out @ E.T")
POSITION_OFF_BY_ONE = _greedy(embed="E[token] + P[position + 1]")
BOS_EVERY_STEP = _greedy(embed="E[bos] + P[position]")
FRESH_CACHE_EVERY_STEP = _greedy(threaded="out, _, _ = step(x, keys, values)")

ATTENTION_READS_UNNORMALISED_INPUT = '''
def pre_ln_block(X, p, num_heads):
    attention = [p[name] for name in ("W_q", "W_k", "W_v", "W_o")]
    H = X + causal_self_attention(X, *attention, num_heads)
    mlp = [p[name] for name in ("W_1", "b_1", "W_2", "b_2")]
    return H + feed_forward(layer_norm(H, p["gain_2"], p["bias_2"]), *mlp)
'''

FFN_READS_UNNORMALISED_INPUT = '''
def pre_ln_block(X, p, num_heads):
    attention = [p[name] for name in ("W_q", "W_k", "W_v", "W_o")]
    H = X + causal_self_attention(layer_norm(X, p["gain_1"], p["bias_1"]), *attention, num_heads)
    mlp = [p[name] for name in ("W_1", "b_1", "W_2", "b_2")]
    return H + feed_forward(H, *mlp)
'''

STACK_WITHOUT_FINAL_NORM = '''
def pre_ln_stack(X, block, blocks, final_gain, final_bias):
    for p in blocks:
        X = block(X, p)
    return X
'''

CACHE_KEYS_ONLY = '''
kv_cache_bytes = 12 * 1000 * 768 * 4
'''

BLOCK_WITHOUT_ATTENTION_BIASES = '''
block_parameter_count = 4 * 512 * 512 + (2 * 512 * 2048 + 2048 + 512) + 2 * 2 * 512
'''

MUTANTS = [
    Mutant("no_scaling", "attend_step", NO_SCALING, "test_attend_step",
           "did not scale the scores", "attention"),
    Mutant("scale_by_d_model", "attend_step", SCALE_BY_D_MODEL, "test_attend_step",
           "scaled by sqrt(d) = 2", "attention"),
    Mutant("forgotten_output_projection", "attend_step", FORGOTTEN_OUTPUT_PROJECTION, "test_attend_step",
           "you left out the output projection", "projections"),
    Mutant("fresh_cache_every_step", "greedy_generate", FRESH_CACHE_EVERY_STEP, "test_greedy_generate",
           "the caches the previous step returned", "cache"),
    Mutant("no_residual", "greedy_generate", NO_RESIDUAL, "test_greedy_generate",
           "add the residual connection", "logits"),
    Mutant("position_off_by_one", "greedy_generate", POSITION_OFF_BY_ONE, "test_greedy_generate",
           "must use position vector P[0]", "logits"),
    Mutant("bos_every_step", "greedy_generate", BOS_EVERY_STEP, "test_greedy_generate",
           "not bos again", "feedback"),
    Mutant("attention_reads_unnormalised_input", "pre_ln_block", ATTENTION_READS_UNNORMALISED_INPUT,
           "test_pre_ln_block", "the attention read X itself", "attention sublayer"),
    Mutant("ffn_reads_unnormalised_input", "pre_ln_block", FFN_READS_UNNORMALISED_INPUT,
           "test_pre_ln_block", "the feed-forward network read H itself", "feed-forward sublayer"),
    Mutant("stack_without_final_norm", "pre_ln_stack", STACK_WITHOUT_FINAL_NORM, "test_pre_ln_stack",
           "you left out the final layer norm", "stack"),
    Mutant("cache_keys_only", "kv_cache_bytes", CACHE_KEYS_ONLY, "test_kv_cache_bytes",
           "a key AND a value", "answer"),
    Mutant("block_without_attention_biases", "block_parameter_count", BLOCK_WITHOUT_ATTENTION_BIASES,
           "test_block_parameter_count", "4 d biases", "answer"),
]
