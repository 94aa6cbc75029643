"""Backward pass and training of the Transformer of ``attnlib.transformer``.

Taught in the chapter *The Transformer*. It extends the capstone's
gradient-checked backward (``attnlib.capstone``): scaled dot-product attention,
softmax cross-entropy, Adam and the central-difference check are imported from
there; what is new here is the backward of layer normalisation, of the
position-wise feed-forward network, of multi-head self- and cross-attention
(through split and merge of heads), of the residual connection in its post-LN
and pre-LN forms, and of the tied embedding / pre-softmax projection.

Every ``*_backward(grad, cache)`` takes dL/d(output) of the matching forward.
"""
import numpy as np

from attnlib.capstone import (adam_update, attention_backward, cross_entropy_forward, init_adam,
                              sum_over_tokens)
from attnlib.multihead import merge_heads, split_heads
from attnlib.transformer import layer_norm_forward, transformer_forward


def layer_norm_backward(grad_y, cache):
    """Backward of ``layer_norm_forward``. grad_y: (..., d).

    With x_hat = (x - mean) * inv_std and g = grad_y * gain:
    dL/dx = inv_std * (g - mean(g) - x_hat * mean(g * x_hat)), means over the features.
    Returns (dL/dx (..., d), dL/dgain (d,), dL/dbias (d,)).
    """
    normalised, inv_std, gain = cache
    g = grad_y * gain  # (..., d)
    grad_x = inv_std * (g - g.mean(axis=-1, keepdims=True)
                        - normalised * (g * normalised).mean(axis=-1, keepdims=True))
    axes = tuple(range(grad_y.ndim - 1))  # every axis but the features
    return grad_x, (grad_y * normalised).sum(axis=axes), grad_y.sum(axis=axes)


def feed_forward_backward(grad_y, cache):
    """Backward of ``attnlib.transformer.feed_forward_forward`` (no residual inside).

    Returns (dL/dx (..., d), {"W_1", "b_1", "W_2", "b_2"} gradients).
    """
    x, pre, hidden, W_1, W_2 = cache
    d, d_ff = W_1.shape
    grad_pre = (grad_y @ W_2.T) * (pre > 0)  # (..., d_ff): relu passes where it was active
    grads = {"W_2": sum_over_tokens(hidden, grad_y),  # (d_ff, d)
             "b_2": grad_y.reshape(-1, d).sum(axis=0),
             "W_1": sum_over_tokens(x, grad_pre),  # (d, d_ff)
             "b_1": grad_pre.reshape(-1, d_ff).sum(axis=0)}
    return grad_pre @ W_1.T, grads


def attention_backward_multi_head(grad_out, cache):
    """Backward of ``attnlib.transformer.attention_forward``.

    Splitting and merging heads only move entries, so their backward is the
    other one of the pair; the attention itself is the capstone's backward,
    run on all heads at once. grad_out: (batch, m, d).
    Returns (dL/dx_q (batch, m, d), dL/dx_kv (batch, n, d), {"W_q", "W_k", "W_v", "W_o"}).
    For self-attention x_q and x_kv are the same array: add the two gradients.
    """
    W_q, W_k, W_v, W_o = cache["W"]
    x_q, x_kv, num_heads = cache["x_q"], cache["x_kv"], cache["num_heads"]
    grads = {"W_o": sum_over_tokens(cache["heads"], grad_out)}  # (d, d)
    grad_heads = split_heads(grad_out @ W_o.T, num_heads)  # (batch, heads, m, d_head)
    grad_Q, grad_K, grad_V = (merge_heads(g)  # (batch, m or n, d) each
                              for g in attention_backward(grad_heads, cache["attention"]))
    grads["W_q"] = sum_over_tokens(x_q, grad_Q)  # (d, d)
    grads["W_k"] = sum_over_tokens(x_kv, grad_K)
    grads["W_v"] = sum_over_tokens(x_kv, grad_V)
    return grad_Q @ W_q.T, grad_K @ W_k.T + grad_V @ W_v.T, grads


def residual_backward(grad_y, cache, sublayer_backward):
    """Backward of ``residual_forward``: the residual path passes the gradient unchanged.

    sublayer_backward(grad_z, sub_cache) -> (grad_input, grads, extra).
    Returns (dL/dx, sublayer grads, dL/dgain, dL/dbias, extra).
    """
    norm, norm_cache, sub_cache = cache
    if norm == "post":  # y = LN(x + z)
        grad_sum, grad_gain, grad_bias = layer_norm_backward(grad_y, norm_cache)
        grad_in, grads, extra = sublayer_backward(grad_sum, sub_cache)
        return grad_sum + grad_in, grads, grad_gain, grad_bias, extra
    grad_normed, grads, extra = sublayer_backward(grad_y, sub_cache)  # y = x + sub(LN(x))
    grad_x, grad_gain, grad_bias = layer_norm_backward(grad_normed, norm_cache)
    return grad_y + grad_x, grads, grad_gain, grad_bias, extra


def _self_attention_backward(grad, cache):
    grad_q, grad_kv, grads = attention_backward_multi_head(grad, cache)
    return grad_q + grad_kv, grads, None  # the same input gave queries, keys and values


def _cross_attention_backward(grad, cache):
    grad_q, grad_memory, grads = attention_backward_multi_head(grad, cache)
    return grad_q, grads, grad_memory  # keys and values came from the memory


def _feed_forward_backward(grad, cache):
    grad_x, grads = feed_forward_backward(grad, cache)
    return grad_x, grads, None


def _backward_sublayers(grad, caches, names, prefix, backwards, grads):
    """Run residual_backward over a block's sublayers in reverse; collect gradients."""
    extras = []
    for k in range(len(caches), 0, -1):
        grad, sub, grad_gain, grad_bias, extra = residual_backward(grad, caches[k - 1],
                                                                   backwards[k - 1])
        grads.update({f"{prefix}.{names[k - 1]}.{key}": value for key, value in sub.items()})
        grads[f"{prefix}.norm{k}.gain"], grads[f"{prefix}.norm{k}.bias"] = grad_gain, grad_bias
        extras.append(extra)
    return grad, extras


def encoder_block_backward(grad_y, cache, prefix, grads):
    """Backward of ``encoder_block_forward``; writes parameter gradients into ``grads``.

    Returns dL/dx (batch, n, d).
    """
    grad_x, _ = _backward_sublayers(grad_y, cache, ["self", "ffn"], prefix,
                                    [_self_attention_backward, _feed_forward_backward], grads)
    return grad_x


def decoder_block_backward(grad_out, cache, prefix, grads):
    """Backward of ``decoder_block_forward``; writes parameter gradients into ``grads``.

    Returns (dL/dy (batch, m, d), dL/dmemory (batch, n, d)).
    """
    grad_y, extras = _backward_sublayers(
        grad_out, cache, ["self", "cross", "ffn"], prefix,
        [_self_attention_backward, _cross_attention_backward, _feed_forward_backward], grads)
    return grad_y, extras[1]  # extras come in reverse: ffn, cross, self


def _embedding_backward(grads, tokens, grad_x, d_model):
    """X = E[tokens] * sqrt(d) + PE: scatter-add the gradient into the used rows."""
    # A token used twice collects both gradients.
    np.add.at(grads["embedding"], tokens, grad_x * np.sqrt(d_model))


def sequence_cross_entropy(logits, targets):
    """Mean softmax cross-entropy over every target token, with its gradient.

    logits: (batch, m, vocab); targets: (batch, m) ints. The capstone's
    ``cross_entropy_forward`` on the (batch * m, vocab) rows.
    Returns (loss, dL/dlogits (batch, m, vocab)).
    """
    batch, m, vocab = logits.shape
    loss, probs = cross_entropy_forward(logits.reshape(-1, vocab), targets.reshape(-1))
    grad = probs.copy()  # (batch * m, vocab): softmax minus one-hot, over the mean's count
    grad[np.arange(batch * m), targets.reshape(-1)] -= 1.0
    return loss, (grad / (batch * m)).reshape(batch, m, vocab)


def transformer_backward(params, cache, grad_logits):
    """Gradients of the loss for every parameter, given dL/dlogits (batch, m, vocab).

    Returns a dict with the keys and shapes of ``params``.
    """
    d_model = params["embedding"].shape[1]
    decoder, encoder = cache["decoder"], cache["encoder"]
    grads = {"embedding": sum_over_tokens(grad_logits, decoder["h"])}  # (vocab, d): logits = h E^T
    grad_h = grad_logits @ params["embedding"]  # (batch, m, d)
    if decoder["final"] is not None:
        grad_h, grads["dec.norm.gain"], grads["dec.norm.bias"] = layer_norm_backward(
            grad_h, decoder["final"])
    grad_memory = np.zeros_like(cache["memory"])  # every decoder layer reads the memory
    for i in range(len(decoder["blocks"]) - 1, -1, -1):
        grad_h, grad_mem = decoder_block_backward(grad_h, decoder["blocks"][i], f"dec.{i}", grads)
        grad_memory += grad_mem
    _embedding_backward(grads, cache["target_in"], grad_h, d_model)
    if encoder["final"] is not None:
        grad_memory, grads["enc.norm.gain"], grads["enc.norm.bias"] = layer_norm_backward(
            grad_memory, encoder["final"])
    for i in range(len(encoder["blocks"]) - 1, -1, -1):
        grad_memory = encoder_block_backward(grad_memory, encoder["blocks"][i], f"enc.{i}", grads)
    _embedding_backward(grads, cache["source"], grad_memory, d_model)
    return {key: grads[key] for key in params}


def loss_and_gradients(params, source, target, bos, num_heads):
    """Teacher forcing: the decoder reads [BOS, target[:-1]] and predicts target.

    source: (batch, n) ints; target: (batch, m) ints. Returns (loss, grads, cache).
    """
    bos_column = np.full((len(target), 1), bos)  # (batch, 1)
    target_in = np.concatenate([bos_column, target[:, :-1]], axis=1)  # (batch, m)
    logits, cache = transformer_forward(params, source, target_in, num_heads)
    loss, grad_logits = sequence_cross_entropy(logits, target)
    return loss, transformer_backward(params, cache, grad_logits), cache


# --- a toy sequence-to-sequence task and training ------------------------------------

def make_reversal_data(num_sequences, length, num_digits, rng, exclude=None):
    """Digit strings and their reversals, all distinct (and none in ``exclude``).

    Returns (source (num_sequences, length) ints in [0, num_digits),
    target = source[:, ::-1]).
    """
    seen = set() if exclude is None else {tuple(row) for row in exclude}
    rows = []
    while len(rows) < num_sequences:
        row = tuple(rng.integers(num_digits, size=length))
        if row not in seen:
            seen.add(row)
            rows.append(row)
    source = np.array(rows)
    return source, source[:, ::-1].copy()


def train_transformer(params, source, target, bos, num_heads, steps, batch_size, lr, rng,
                      warmup=100):
    """Adam on mini-batches drawn with ``rng``; the learning rate rises linearly over
    ``warmup`` steps, then stays. Updates ``params`` in place; returns the losses."""
    state, losses = init_adam(params), []
    for step in range(1, steps + 1):
        rows = rng.integers(len(source), size=batch_size)
        loss, grads, _ = loss_and_gradients(params, source[rows], target[rows], bos, num_heads)
        adam_update(params, grads, state, lr=lr * min(1.0, step / warmup))
        losses.append(loss)
    return np.array(losses)
