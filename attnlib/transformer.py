"""The Transformer (Vaswani et al., 2017) assembled from the course's pieces.

Taught in the chapter *The Transformer*. Row convention: a batch of sequences
is ``(batch, n, d_model)``; attention weights are ``(batch, heads, queries, keys)``
with every row summing to 1; masks are boolean, True = keep.

Parameters live in one dict of float64 arrays (see ``init_transformer``).
Every ``*_forward`` returns ``(output, cache)``; the matching backward in
``attnlib.transformer_backward`` takes dL/d(output) and the cache.

Matrix products go through ``matmul`` so that ``count_multiply_adds`` can
count the multiply-adds of any computation (used to compare decoding with and
without a key-value cache).
"""
import contextlib

import numpy as np

from attnlib.masks import causal_mask
from attnlib.multihead import merge_heads, split_heads
from attnlib.positional import sinusoidal_encoding
from attnlib.softmax import masked_softmax, softmax

LAYER_NORM_EPS = 1e-6
_counters = []  # active multiply-add counters (a stack, for nested counting)


# --- counting multiply-adds ------------------------------------------------------

def matmul(a, b):
    """a @ b, adding its multiply-adds (rows x inner x columns, per batch) to active counters."""
    out = a @ b
    if _counters:
        inner = a.shape[-1]
        for counter in _counters:
            counter[0] += int(out.size * inner)
    return out


@contextlib.contextmanager
def count_multiply_adds():
    """``with count_multiply_adds() as ops:`` ... ``ops[0]`` is the count of the block."""
    counter = [0]
    _counters.append(counter)
    try:
        yield counter
    finally:
        _counters.remove(counter)


# --- the pieces of a block -------------------------------------------------------

def layer_norm_forward(x, gain, bias, eps=LAYER_NORM_EPS):
    """Layer normalisation over the feature axis (Ba, Kiros & Hinton, 2016).

    y = gain * (x - mean) / sqrt(var + eps) + bias, mean and var over the last axis
    of each token on its own. x: (..., d); gain, bias: (d,). Returns (y, cache).
    """
    mean = x.mean(axis=-1, keepdims=True)  # (..., 1)
    inv_std = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + eps)  # (..., 1)
    normalised = (x - mean) * inv_std  # (..., d): mean 0, variance ~1 per token
    return gain * normalised + bias, (normalised, inv_std, gain)


def feed_forward_forward(x, W_1, b_1, W_2, b_2):
    """Position-wise feed-forward network FFN(x) = max(0, x W_1 + b_1) W_2 + b_2.

    The same two-layer MLP on every token on its own (no residual here: the
    block adds it). x: (..., d); W_1: (d, d_ff); W_2: (d_ff, d). Returns (y, cache).
    """
    pre = matmul(x, W_1) + b_1  # (..., d_ff)
    hidden = np.maximum(pre, 0.0)  # (..., d_ff)
    return matmul(hidden, W_2) + b_2, (x, pre, hidden, W_1, W_2)  # (..., d)


def attention_forward(x_q, x_kv, W_q, W_k, W_v, W_o, num_heads, mask=None):
    """Multi-head attention: queries from x_q, keys and values from x_kv.

    Self-attention passes the same array twice; cross-attention passes the
    decoder's states as x_q and the encoder's output (the memory) as x_kv.
    x_q: (batch, m, d); x_kv: (batch, n, d); W_*: (d, d); mask broadcastable to
    (batch, heads, m, n). The same computation as
    ``attnlib.multihead.multi_head_attention``, written with ``matmul`` and
    keeping what the backward needs. Returns (output (batch, m, d), cache);
    cache["weights"] is (batch, heads, m, n).
    """
    Q = split_heads(matmul(x_q, W_q), num_heads)  # (batch, heads, m, d_head)
    K = split_heads(matmul(x_kv, W_k), num_heads)  # (batch, heads, n, d_head)
    V = split_heads(matmul(x_kv, W_v), num_heads)  # (batch, heads, n, d_head)
    scores = matmul(Q, K.swapaxes(-1, -2)) / np.sqrt(Q.shape[-1])  # (batch, heads, m, n)
    weights = softmax(scores) if mask is None else masked_softmax(scores, mask=mask)
    heads = merge_heads(matmul(weights, V))  # (batch, m, d)
    cache = {"x_q": x_q, "x_kv": x_kv, "heads": heads, "W": (W_q, W_k, W_v, W_o),
             "num_heads": num_heads, "attention": (Q, K, V, weights), "weights": weights}
    return matmul(heads, W_o), cache  # (batch, m, d)


# --- residual connection with layer normalisation, post-LN or pre-LN -------------

def residual_forward(x, sublayer, gain, bias, norm):
    """One sublayer with its residual connection and layer norm.

    post-LN (Vaswani et al., 2017): y = LayerNorm(x + sublayer(x))
    pre-LN  (common today):        y = x + sublayer(LayerNorm(x))
    sublayer: a function of one (batch, n, d) array returning (output, cache).
    Returns (y (batch, n, d), cache).
    """
    if norm == "post":
        z, sub_cache = sublayer(x)
        y, norm_cache = layer_norm_forward(x + z, gain, bias)
    elif norm == "pre":
        x_normed, norm_cache = layer_norm_forward(x, gain, bias)
        z, sub_cache = sublayer(x_normed)
        y = x + z
    else:
        raise ValueError(f"norm must be 'post' or 'pre'; got {norm!r}")
    return y, (norm, norm_cache, sub_cache)


def _attention_weights(params, prefix):
    return tuple(params[f"{prefix}.{name}"] for name in ("W_q", "W_k", "W_v", "W_o"))


def _ffn_weights(params, prefix):
    return tuple(params[f"{prefix}.{name}"] for name in ("W_1", "b_1", "W_2", "b_2"))


def _norm(params, prefix):
    return params[f"{prefix}.gain"], params[f"{prefix}.bias"]


def encoder_block_forward(x, params, prefix, num_heads, norm, src_mask=None):
    """Self-attention sublayer, then feed-forward sublayer, each with residual and norm.

    x: (batch, n, d); params[f"{prefix}.self.W_q"] etc. Returns (y (batch, n, d), cache).
    """
    def self_attention(h):
        return attention_forward(h, h, *_attention_weights(params, f"{prefix}.self"),
                                 num_heads, mask=src_mask)

    def feed_forward(h):
        return feed_forward_forward(h, *_ffn_weights(params, f"{prefix}.ffn"))

    h, attention_cache = residual_forward(x, self_attention, *_norm(params, f"{prefix}.norm1"),
                                          norm)
    y, ffn_cache = residual_forward(h, feed_forward, *_norm(params, f"{prefix}.norm2"), norm)
    return y, (attention_cache, ffn_cache)


def decoder_block_forward(y, memory, params, prefix, num_heads, norm, src_mask=None):
    """Causal self-attention, cross-attention to the memory, feed-forward, each with
    residual and norm.

    y: (batch, m, d) decoder states; memory: (batch, n, d) the encoder's output.
    In cross-attention the queries come from the decoder, keys and values from
    the memory. Returns (output (batch, m, d), cache).
    """
    causal = causal_mask(y.shape[1])  # (m, m): position i sees j <= i

    def self_attention(h):
        return attention_forward(h, h, *_attention_weights(params, f"{prefix}.self"),
                                 num_heads, mask=causal)

    def cross_attention(h):
        return attention_forward(h, memory, *_attention_weights(params, f"{prefix}.cross"),
                                 num_heads, mask=src_mask)

    def feed_forward(h):
        return feed_forward_forward(h, *_ffn_weights(params, f"{prefix}.ffn"))

    h, self_cache = residual_forward(y, self_attention, *_norm(params, f"{prefix}.norm1"), norm)
    h, cross_cache = residual_forward(h, cross_attention, *_norm(params, f"{prefix}.norm2"), norm)
    out, ffn_cache = residual_forward(h, feed_forward, *_norm(params, f"{prefix}.norm3"), norm)
    return out, (self_cache, cross_cache, ffn_cache)


# --- the whole model -----------------------------------------------------------------

def init_transformer(vocab_size, d_model, num_heads, d_ff, num_encoder_layers,
                     num_decoder_layers, norm="pre", rng=None):
    """Random parameters of an encoder-decoder Transformer, as a dict of arrays.

    One embedding (vocab_size, d_model) serves the source, the target and the
    pre-softmax projection (tied, as in Vaswani et al., 2017, section 3.4).
    Per encoder layer i: "enc.i.self.W_q/W_k/W_v/W_o" (d, d), "enc.i.ffn.W_1"
    (d, d_ff), "b_1" (d_ff,), "W_2" (d_ff, d), "b_2" (d,), and layer norms
    "enc.i.norm1/norm2.gain/bias" (d,). Per decoder layer the same plus
    "dec.i.cross.*" and "dec.i.norm3.*". Pre-LN adds final norms "enc.norm.*"
    and "dec.norm.*". No biases in the attention projections (as the paper's
    equations). Weights N(0, 1/fan_in); gains 1, biases 0.
    """
    if d_model % num_heads:
        raise ValueError(f"d_model = {d_model} is not divisible by num_heads = {num_heads}")
    if norm not in ("post", "pre"):
        raise ValueError(f"norm must be 'post' or 'pre'; got {norm!r}")
    rng = np.random.default_rng(0) if rng is None else rng
    params = {"embedding": rng.normal(0.0, 1.0 / np.sqrt(d_model), (vocab_size, d_model))}

    def weight(rows, cols):
        return rng.normal(0.0, 1.0 / np.sqrt(rows), (rows, cols))

    def add_block(prefix, attentions, norms):
        for attention in attentions:
            for name in ("W_q", "W_k", "W_v", "W_o"):
                params[f"{prefix}.{attention}.{name}"] = weight(d_model, d_model)
        params[f"{prefix}.ffn.W_1"] = weight(d_model, d_ff)
        params[f"{prefix}.ffn.b_1"] = np.zeros(d_ff)
        params[f"{prefix}.ffn.W_2"] = weight(d_ff, d_model)
        params[f"{prefix}.ffn.b_2"] = np.zeros(d_model)
        for i in range(1, norms + 1):
            params[f"{prefix}.norm{i}.gain"] = np.ones(d_model)
            params[f"{prefix}.norm{i}.bias"] = np.zeros(d_model)

    for i in range(num_encoder_layers):
        add_block(f"enc.{i}", ["self"], norms=2)
    for i in range(num_decoder_layers):
        add_block(f"dec.{i}", ["self", "cross"], norms=3)
    if norm == "pre":  # the residual stream is never normalised: one norm at each stack's end
        for stack in ("enc", "dec"):
            params[f"{stack}.norm.gain"] = np.ones(d_model)
            params[f"{stack}.norm.bias"] = np.zeros(d_model)
    return params


def transformer_parameter_count(vocab_size, d_model, d_ff, num_encoder_layers,
                                num_decoder_layers, norm="pre", tied=True):
    """Number of parameters of ``init_transformer``'s model, from the sizes alone.

    attention sublayer: 4 d^2 (W_q, W_k, W_v, W_o); feed-forward: 2 d d_ff + d_ff + d;
    layer norm: 2 d (gain and bias). Encoder layer: 1 attention, 1 FFN, 2 norms;
    decoder layer: 2 attentions, 1 FFN, 3 norms; pre-LN adds 2 final norms.
    Embeddings: V d once when tied, 3 V d (source, target, output) when not.
    """
    attention, norm_size = 4 * d_model**2, 2 * d_model
    ffn = 2 * d_model * d_ff + d_ff + d_model
    encoder_layer = attention + ffn + 2 * norm_size
    decoder_layer = 2 * attention + ffn + 3 * norm_size
    final_norms = 2 * norm_size if norm == "pre" else 0
    embeddings = vocab_size * d_model * (1 if tied else 3)
    return (num_encoder_layers * encoder_layer + num_decoder_layers * decoder_layer
            + final_norms + embeddings)


def model_config(params):
    """(num_encoder_layers, num_decoder_layers, norm) read off a parameter dict."""
    layers = {stack: len({key.split(".")[1] for key in params
                          if key.startswith(f"{stack}.") and key.split(".")[1].isdigit()})
              for stack in ("enc", "dec")}
    return layers["enc"], layers["dec"], "pre" if "enc.norm.gain" in params else "post"


def embed_forward(params, tokens):
    """Token embeddings scaled by sqrt(d_model) plus the sinusoidal positions.

    tokens: (batch, n) ints. Returns (batch, n, d).
    """
    d_model = params["embedding"].shape[1]
    positions = sinusoidal_encoding(tokens.shape[1], d_model)  # (n, d)
    return params["embedding"][tokens] * np.sqrt(d_model) + positions  # (batch, n, d)


def encode(params, source, num_heads):
    """The encoder stack. source: (batch, n) ints. Returns (memory (batch, n, d), cache)."""
    num_encoder_layers, _, norm = model_config(params)
    h, caches = embed_forward(params, source), []
    for i in range(num_encoder_layers):
        h, cache = encoder_block_forward(h, params, f"enc.{i}", num_heads, norm)
        caches.append(cache)
    final = None
    if norm == "pre":
        h, final = layer_norm_forward(h, *_norm(params, "enc.norm"))
    return h, {"blocks": caches, "final": final}


def decode(params, target_in, memory, num_heads):
    """The decoder stack and the output projection (tied to the embedding).

    target_in: (batch, m) ints, the target shifted right (starting with BOS);
    memory: (batch, n, d). Returns (logits (batch, m, vocab), cache).
    """
    _, num_decoder_layers, norm = model_config(params)
    h, caches = embed_forward(params, target_in), []
    for i in range(num_decoder_layers):
        h, cache = decoder_block_forward(h, memory, params, f"dec.{i}", num_heads, norm)
        caches.append(cache)
    final = None
    if norm == "pre":
        h, final = layer_norm_forward(h, *_norm(params, "dec.norm"))
    logits = matmul(h, params["embedding"].T)  # (batch, m, vocab): the pre-softmax projection
    return logits, {"blocks": caches, "final": final, "h": h}


def transformer_forward(params, source, target_in, num_heads):
    """Encoder then decoder. Returns (logits (batch, m, vocab), cache)."""
    memory, encoder_cache = encode(params, source, num_heads)
    logits, decoder_cache = decode(params, target_in, memory, num_heads)
    return logits, {"encoder": encoder_cache, "decoder": decoder_cache, "memory": memory,
                    "source": source, "target_in": target_in}


def cross_attention_maps(cache):
    """The cross-attention weights of every decoder layer: a list of (batch, heads, m, n)."""
    return [blocks[1][2]["weights"] for blocks in cache["decoder"]["blocks"]]


# --- autoregressive decoding, with and without a key-value cache -------------------

def start_kv_cache(params, memory, num_heads):
    """A key-value cache for ``decoder_step``: one dict per decoder layer.

    "K", "V": the self-attention keys and values of the tokens decoded so far,
    (batch, heads, t, d_head), empty at the start; "cross_K", "cross_V": the
    cross-attention keys and values of the memory, computed once since the
    memory does not change while decoding. memory: (batch, n, d).
    """
    _, num_decoder_layers, _ = model_config(params)
    batch, d_model = memory.shape[0], memory.shape[2]
    empty = np.zeros((batch, num_heads, 0, d_model // num_heads))
    cache = []
    for i in range(num_decoder_layers):
        _, W_k, W_v, _ = _attention_weights(params, f"dec.{i}.cross")
        cache.append({"K": empty, "V": empty,
                      # (batch, heads, n, d_head) each
                      "cross_K": split_heads(matmul(memory, W_k), num_heads),
                      "cross_V": split_heads(matmul(memory, W_v), num_heads)})
    return cache


def _attend_to_cache(h, W_q, W_o, K, V, num_heads):
    """One query per sequence against cached keys and values. h: (batch, 1, d)."""
    q = split_heads(matmul(h, W_q), num_heads)  # (batch, heads, 1, d_head)
    weights = softmax(matmul(q, K.swapaxes(-1, -2)) / np.sqrt(q.shape[-1]))  # (batch, heads, 1, t)
    return matmul(merge_heads(matmul(weights, V)), W_o)  # (batch, 1, d)


def decoder_step(params, tokens, position, kv_cache, num_heads):
    """Run the decoder on ONE new token per sequence, reusing the cache.

    tokens: (batch,) ints, the tokens at ``position``. The new token's key and
    value are appended to each layer's cache (in place); its query attends to
    all cached keys, itself included, so no mask is needed.
    Returns logits (batch, vocab) for the next token.
    """
    _, num_decoder_layers, norm = model_config(params)
    d_model = params["embedding"].shape[1]
    h = (params["embedding"][tokens] * np.sqrt(d_model)
         + sinusoidal_encoding(position + 1, d_model)[position])[:, None]  # (batch, 1, d)
    for i, layer in enumerate(kv_cache):  # the sublayers below are called in this iteration
        W_q, W_k, W_v, W_o = _attention_weights(params, f"dec.{i}.self")
        cross_W_q, _, _, cross_W_o = _attention_weights(params, f"dec.{i}.cross")

        def self_attention(x):  # append the new key and value, then attend to all cached
            k, v = split_heads(matmul(x, W_k), num_heads), split_heads(matmul(x, W_v), num_heads)
            layer["K"] = np.concatenate([layer["K"], k], axis=2)  # (batch, heads, t, d_head)
            layer["V"] = np.concatenate([layer["V"], v], axis=2)
            return _attend_to_cache(x, W_q, W_o, layer["K"], layer["V"], num_heads), None

        def cross_attention(x):  # the memory's keys and values were computed once
            return _attend_to_cache(x, cross_W_q, cross_W_o, layer["cross_K"], layer["cross_V"],
                                    num_heads), None

        def feed_forward(x):
            return feed_forward_forward(x, *_ffn_weights(params, f"dec.{i}.ffn"))

        for k, sublayer in enumerate((self_attention, cross_attention, feed_forward), start=1):
            h, _ = residual_forward(h, sublayer, *_norm(params, f"dec.{i}.norm{k}"), norm)
    if norm == "pre":
        h, _ = layer_norm_forward(h, *_norm(params, "dec.norm"))
    return matmul(h[:, 0], params["embedding"].T)  # (batch, vocab)


def recompute_step(params, prefix, memory, num_heads):
    """The next-token logits by running the whole decoder over the prefix again.

    prefix: (batch, t) ints. Causal masking makes the last position see the
    whole prefix. Returns logits (batch, vocab) of the last position.
    """
    logits, _ = decode(params, prefix, memory, num_heads)
    return logits[:, -1]  # (batch, vocab)


def greedy_decode(params, source, bos, steps, num_heads, use_cache=True):
    """Greedy autoregressive decoding: feed back the most probable token each step.

    source: (batch, n) ints. Returns (tokens (batch, steps) ints, logits
    (batch, steps, vocab)); the BOS token is not part of the result.
    """
    memory, _ = encode(params, source, num_heads)
    batch = len(source)
    prefix = np.full((batch, 1), bos)  # (batch, 1)
    kv_cache = start_kv_cache(params, memory, num_heads) if use_cache else None
    all_logits = []
    for position in range(steps):
        if use_cache:
            logits = decoder_step(params, prefix[:, -1], position, kv_cache, num_heads)
        else:
            logits = recompute_step(params, prefix, memory, num_heads)
        all_logits.append(logits)
        prefix = np.concatenate([prefix, logits.argmax(axis=-1)[:, None]], axis=1)
    return prefix[:, 1:], np.stack(all_logits, axis=1)
