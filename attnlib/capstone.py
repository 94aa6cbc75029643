"""A self-attention classifier from scratch: forward, hand-written backward, training.

Taught in the chapter *Capstone: a self-attention classifier from scratch*.

Convention: rows are tokens. A batch of token ids has shape ``(batch, n)``; the
embedded sequence ``X`` has shape ``(batch, n, d)``; attention weights have shape
``(batch, queries, keys)`` and every row sums to 1.

The model::

    H   = E[tokens] + PE[:n]                                  (batch, n, d)
    for each layer l:
        G = H + attention(H W_q, H W_k, H W_v) W_o           (batch, n, d)
        H = G + relu(G W_1 + b_1) W_2 + b_2                   (batch, n, d)
    z   = mean over positions of the last layer's H           (batch, d)
    logits = z W_out + b_out                                  (batch, classes)
    loss   = mean cross-entropy of softmax(logits)

Every ``*_forward`` returns its output and a ``cache``; the matching
``*_backward`` takes the gradient of the loss with respect to that output and
the cache, and returns the gradients with respect to the inputs/parameters.
"""
import numpy as np

from attnlib.positional import sinusoidal_encoding
from attnlib.scoring import scaled_dot_product_attention
from attnlib.softmax import softmax

LAYER_PARAMETERS = ("W_q", "W_k", "W_v", "W_o")
FEED_FORWARD_PARAMETERS = ("W_1", "b_1", "W_2", "b_2")

# The training recipe of the chapter, asserted for seeds 0-9 by tests/test_capstone_seeds.py.
TRAINING = {"num_steps": 2500, "batch_size": 64, "peak_lr": 3e-3, "warmup_steps": 200,
            "max_grad_norm": 1.0, "d": 32, "num_layers": 2}


# --- scaled dot-product attention --------------------------------------------

def attention_forward(queries, keys, values, mask=None):
    """Scaled dot-product attention that also returns what the backward needs.

    queries: (..., m, d); keys: (..., n, d); values: (..., n, d_v).
    mask: None or boolean broadcastable to (..., m, n), True = keep.
    Returns (output (..., m, d_v), cache) with cache = (queries, keys, values, weights).
    """
    output, weights = scaled_dot_product_attention(queries, keys, values, mask=mask)
    return output, (queries, keys, values, weights)


def softmax_backward(grad_weights, weights):
    """Gradient through a row-wise softmax P = softmax(S), given dL/dP.

    The Jacobian of one row is dP_j/dS_k = P_j (delta_jk - P_k), so
    dL/dS_k = P_k (dL/dP_k - sum_j dL/dP_j P_j).
    grad_weights, weights: (..., m, n). Returns dL/dS of the same shape.
    """
    row_dot = (grad_weights * weights).sum(axis=-1, keepdims=True)  # (..., m, 1)
    return weights * (grad_weights - row_dot)  # (..., m, n)


def attention_backward(grad_output, cache):
    """Backward pass of O = softmax(Q K^T / sqrt(d)) V.

    grad_output: dL/dO, (..., m, d_v); cache from ``attention_forward``.
    Returns (dL/dQ (..., m, d), dL/dK (..., n, d), dL/dV (..., n, d_v)).
    """
    queries, keys, values, weights = cache
    scale = 1.0 / np.sqrt(queries.shape[-1])
    grad_values = weights.swapaxes(-1, -2) @ grad_output  # (..., n, d_v)
    grad_weights = grad_output @ values.swapaxes(-1, -2)  # (..., m, n)
    grad_scores = softmax_backward(grad_weights, weights)  # (..., m, n)
    grad_queries = scale * grad_scores @ keys  # (..., m, d)
    grad_keys = scale * grad_scores.swapaxes(-1, -2) @ queries  # (..., n, d)
    return grad_queries, grad_keys, grad_values


# --- one self-attention layer with a residual connection ---------------------
def sum_over_tokens(left, right):
    """Sum over batch and positions of the outer products of matching rows.

    left: (batch, n, p); right: (batch, n, q). Returns (p, q), the weight gradient
    of a projection applied to every token (one matrix product, not a loop).
    """
    return left.reshape(-1, left.shape[-1]).T @ right.reshape(-1, right.shape[-1])


def self_attention_layer_forward(X, W_q, W_k, W_v, W_o):
    """H = X + attention(X W_q, X W_k, X W_v) W_o.

    X: (batch, n, d); W_q, W_k: (d, d_k); W_v: (d, d_v); W_o: (d_v, d).
    Returns (H (batch, n, d), weights (batch, n, n), cache).
    """
    Q, K, V = X @ W_q, X @ W_k, X @ W_v  # (batch, n, d_k), (batch, n, d_k), (batch, n, d_v)
    O, attention_cache = attention_forward(Q, K, V)  # (batch, n, d_v)
    H = X + O @ W_o  # (batch, n, d)
    weights = attention_cache[3]  # (batch, n, n)
    return H, weights, (X, O, W_q, W_k, W_v, W_o, attention_cache)


def self_attention_layer_backward(grad_H, cache):
    """Backward of ``self_attention_layer_forward``.

    grad_H: (batch, n, d). Returns (dL/dX (batch, n, d), dict of dL/dW for
    "W_q", "W_k", "W_v", "W_o"). Weight gradients sum over batch and positions.
    """
    X, O, W_q, W_k, W_v, W_o, attention_cache = cache
    grads = {"W_o": sum_over_tokens(O, grad_H)}  # (d_v, d)
    grad_O = grad_H @ W_o.T  # (batch, n, d_v)
    grad_Q, grad_K, grad_V = attention_backward(grad_O, attention_cache)
    grads["W_q"] = sum_over_tokens(X, grad_Q)  # (d, d_k)
    grads["W_k"] = sum_over_tokens(X, grad_K)  # (d, d_k)
    grads["W_v"] = sum_over_tokens(X, grad_V)  # (d, d_v)
    # X feeds the residual and the three projections.
    grad_X = grad_H + grad_Q @ W_q.T + grad_K @ W_k.T + grad_V @ W_v.T  # (batch, n, d)
    return grad_X, grads


# --- a position-wise feed-forward layer with a residual connection ------------

def feed_forward_forward(H, W_1, b_1, W_2, b_2):
    """F = H + relu(H W_1 + b_1) W_2 + b_2, applied to every token on its own.

    H: (batch, n, d); W_1: (d, d_ff); b_1: (d_ff,); W_2: (d_ff, d); b_2: (d,).
    Returns (F (batch, n, d), cache).
    """
    pre = H @ W_1 + b_1  # (batch, n, d_ff)
    hidden = np.maximum(pre, 0.0)  # (batch, n, d_ff)
    F = H + hidden @ W_2 + b_2  # (batch, n, d)
    return F, (H, pre, hidden, W_1, W_2)


def feed_forward_backward(grad_F, cache):
    """Backward of ``feed_forward_forward``.

    grad_F: (batch, n, d). Returns (dL/dH (batch, n, d), dict of gradients for
    "W_1", "b_1", "W_2", "b_2").
    """
    H, pre, hidden, W_1, W_2 = cache
    grads = {"W_2": sum_over_tokens(hidden, grad_F),  # (d_ff, d)
             "b_2": grad_F.sum(axis=(0, 1))}  # (d,)
    grad_pre = (grad_F @ W_2.T) * (pre > 0)  # (batch, n, d_ff): relu passes only where active
    grads["W_1"] = sum_over_tokens(H, grad_pre)  # (d, d_ff)
    grads["b_1"] = grad_pre.sum(axis=(0, 1))  # (d_ff,)
    grad_H = grad_F + grad_pre @ W_1.T  # (batch, n, d): residual plus the MLP path
    return grad_H, grads


# --- the classifier ----------------------------------------------------------

def init_classifier(vocab_size, d, num_classes, num_layers=1, d_ff=None, rng=None):
    """Random parameters of the classifier, as a dict of float64 arrays.

    Keys: "embedding" (vocab_size, d); for each layer l = 1..num_layers the
    attention weights "l.W_q", "l.W_k", "l.W_v", "l.W_o" (d, d) and the
    feed-forward weights "l.W_1" (d, d_ff), "l.b_1" (d_ff,), "l.W_2" (d_ff, d),
    "l.b_2" (d,); then "W_out" (d, num_classes) and "b_out" (num_classes,).
    d_ff defaults to 2 d. Weights are scaled by 1/sqrt(fan_in), biases start at 0.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    d_ff = 2 * d if d_ff is None else d_ff
    params = {"embedding": rng.normal(0.0, 1.0, (vocab_size, d))}
    for layer in range(1, num_layers + 1):
        for name in LAYER_PARAMETERS:
            params[f"{layer}.{name}"] = rng.normal(0.0, 1.0 / np.sqrt(d), (d, d))
        params[f"{layer}.W_1"] = rng.normal(0.0, 1.0 / np.sqrt(d), (d, d_ff))
        params[f"{layer}.b_1"] = np.zeros(d_ff)
        params[f"{layer}.W_2"] = rng.normal(0.0, 1.0 / np.sqrt(d_ff), (d_ff, d))
        params[f"{layer}.b_2"] = np.zeros(d)
    params["W_out"] = rng.normal(0.0, 1.0 / np.sqrt(d), (d, num_classes))
    params["b_out"] = np.zeros(num_classes)
    return params


def count_layers(params):
    """Number of self-attention layers stored in ``params``."""
    return sum(1 for key in params if key.endswith(".W_q"))


def cross_entropy_forward(logits, labels):
    """Mean softmax cross-entropy. logits: (batch, classes); labels: (batch,) ints.

    Returns (loss scalar, probabilities (batch, classes)).
    """
    probs = softmax(logits)  # (batch, classes)
    batch = np.arange(len(labels))
    loss = -np.log(probs[batch, labels]).mean()
    return loss, probs


def classifier_forward(params, tokens, labels):
    """Run the classifier on a batch. tokens: (batch, n) ints; labels: (batch,) ints.

    Returns (loss, cache); cache["probs"] (batch, classes) and cache["weights"]
    (a list with one (batch, n, n) attention map per layer) are there to inspect.
    """
    n, d = tokens.shape[1], params["embedding"].shape[1]
    X = params["embedding"][tokens] + sinusoidal_encoding(n, d)  # (batch, n, d)
    H, layer_caches, maps = X, [], []
    for layer in range(1, count_layers(params) + 1):
        H, weights, attention_cache = self_attention_layer_forward(
            H, *(params[f"{layer}.{name}"] for name in LAYER_PARAMETERS))  # (batch, n, d)
        H, feed_forward_cache = feed_forward_forward(
            H, *(params[f"{layer}.{name}"] for name in FEED_FORWARD_PARAMETERS))  # (batch, n, d)
        layer_caches.append((attention_cache, feed_forward_cache))
        maps.append(weights)
    pooled = H.mean(axis=1)  # (batch, d)
    logits = pooled @ params["W_out"] + params["b_out"]  # (batch, classes)
    loss, probs = cross_entropy_forward(logits, labels)
    cache = {"tokens": tokens, "labels": labels, "layers": layer_caches,
             "pooled": pooled, "n": n, "probs": probs, "weights": maps}
    return loss, cache


def classifier_backward(params, cache):
    """Gradients of the mean loss with respect to every parameter, by hand.

    Returns a dict with the same keys and shapes as ``params``.
    """
    probs, labels, n = cache["probs"], cache["labels"], cache["n"]
    batch = len(labels)
    grad_logits = probs.copy()  # (batch, classes)
    grad_logits[np.arange(batch), labels] -= 1.0
    grad_logits /= batch  # the loss is a mean over the batch
    grads = {"W_out": cache["pooled"].T @ grad_logits,  # (d, classes)
             "b_out": grad_logits.sum(axis=0)}  # (classes,)
    grad_pooled = grad_logits @ params["W_out"].T  # (batch, d)
    grad_H = np.repeat(grad_pooled[:, None, :] / n, n, axis=1)  # (batch, n, d)
    for layer in range(len(cache["layers"]), 0, -1):
        attention_cache, feed_forward_cache = cache["layers"][layer - 1]
        grad_H, feed_forward_grads = feed_forward_backward(grad_H, feed_forward_cache)
        grad_H, attention_grads = self_attention_layer_backward(grad_H, attention_cache)
        for name, grad in {**attention_grads, **feed_forward_grads}.items():
            grads[f"{layer}.{name}"] = grad
    grad_embedding = np.zeros_like(params["embedding"])  # (vocab, d)
    np.add.at(grad_embedding, cache["tokens"], grad_H)  # a token used twice collects twice
    grads["embedding"] = grad_embedding
    return {key: grads[key] for key in params}


def predict(params, tokens):
    """Class probabilities (batch, classes) and attention maps for a batch of tokens."""
    dummy_labels = np.zeros(len(tokens), dtype=int)
    _, cache = classifier_forward(params, tokens, dummy_labels)
    return cache["probs"], cache["weights"]


# --- optimiser ---------------------------------------------------------------

def init_adam(params):
    """Zero first and second moment estimates for ``adam_update``."""
    return {"step": 0,
            "m": {key: np.zeros_like(value) for key, value in params.items()},
            "v": {key: np.zeros_like(value) for key, value in params.items()}}


def adam_update(params, grads, state, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step (Kingma & Ba, 2015), updating ``params`` and ``state`` in place.

    m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2;
    p <- p - lr * m_hat / (sqrt(v_hat) + eps) with bias-corrected m_hat, v_hat.
    """
    state["step"] += 1
    t = state["step"]
    for key, grad in grads.items():
        state["m"][key] = beta1 * state["m"][key] + (1 - beta1) * grad
        state["v"][key] = beta2 * state["v"][key] + (1 - beta2) * grad ** 2
        m_hat = state["m"][key] / (1 - beta1 ** t)
        v_hat = state["v"][key] / (1 - beta2 ** t)
        params[key] -= lr * m_hat / (np.sqrt(v_hat) + eps)


# --- the synthetic task -------------------------------------------------------

def make_first_token_repeat_data(num_sequences, length, vocab_size, rng):
    """Task "does the first token appear again later in the sequence?".

    Half the sequences (label 1) contain the first token at exactly one later,
    uniformly chosen position; the other half (label 0) never repeat it. All
    other positions are drawn uniformly from the remaining vocab_size - 1 tokens.
    Returns (tokens (num_sequences, length) ints, labels (num_sequences,) ints).
    """
    first = rng.integers(vocab_size, size=num_sequences)  # (sequences,)
    # Draw from the other tokens: an offset in 1..vocab_size-1 never lands on `first`.
    offsets = rng.integers(1, vocab_size, size=(num_sequences, length - 1))
    rest = (first[:, None] + offsets) % vocab_size  # (sequences, length - 1)
    labels = rng.permutation(np.arange(num_sequences) % 2)  # exactly balanced
    where = rng.integers(length - 1, size=num_sequences)  # position of the repeat in `rest`
    rows = np.flatnonzero(labels == 1)
    rest[rows, where[rows]] = first[rows]
    tokens = np.concatenate([first[:, None], rest], axis=1)  # (sequences, length)
    return tokens, labels


# --- training -----------------------------------------------------------------

def learning_rate(step, num_steps, peak_lr, warmup_steps):
    """Learning rate at ``step`` (0-based): a linear warm-up, then a cosine decay to 0.

    The rate climbs from peak_lr / warmup_steps to peak_lr over the first
    warmup_steps steps (Adam's early steps, taken with poor moment estimates,
    stay small), then follows half a cosine from peak_lr down to 0 at num_steps.
    """
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, num_steps - warmup_steps)  # 0 -> 1
    return float(peak_lr * 0.5 * (1.0 + np.cos(np.pi * progress)))


def clip_by_global_norm(grads, max_norm):
    """Scale all gradients by one factor so that their joint L2 norm is at most max_norm.

    Returns (clipped gradients, the norm before clipping). One rare batch with a
    huge gradient then moves the weights no further than max_norm allows,
    while the direction of the step is kept.
    """
    norm = np.sqrt(sum(float(np.sum(grad ** 2)) for grad in grads.values()))
    if norm <= max_norm:
        return grads, norm
    return {key: grad * (max_norm / norm) for key, grad in grads.items()}, norm


def accuracy(params, tokens, labels):
    """Fraction of sequences whose most probable class is the label."""
    probs, _ = predict(params, tokens)  # (batch, classes)
    return float((probs.argmax(axis=1) == labels).mean())


def train_classifier(rng, num_steps=TRAINING["num_steps"], batch_size=TRAINING["batch_size"],
                     peak_lr=TRAINING["peak_lr"], warmup_steps=TRAINING["warmup_steps"],
                     max_grad_norm=TRAINING["max_grad_norm"], d=TRAINING["d"],
                     num_layers=TRAINING["num_layers"], sequence_length=12, vocab_size=10,
                     test_data=None, eval_every=100):
    """Train a classifier on the first-token-repeat task; every batch is freshly drawn.

    rng draws the initial weights and then every training batch, so one seed
    fixes the whole run. Each step: forward, hand-written backward, clip the
    global gradient norm, one Adam step at ``learning_rate(step, ...)``.
    test_data: optional (tokens, labels) measured every eval_every steps.
    Returns (params, history) with history["loss"] and history["train_accuracy"]
    (one entry per step) and history["test_accuracy"] (a list of (step, accuracy)).
    """
    params = init_classifier(vocab_size, d, num_classes=2, num_layers=num_layers, rng=rng)
    adam_state = init_adam(params)
    history = {"loss": [], "train_accuracy": [], "test_accuracy": []}
    for step in range(num_steps):
        tokens, labels = make_first_token_repeat_data(batch_size, sequence_length, vocab_size, rng)
        loss, cache = classifier_forward(params, tokens, labels)  # tokens: (batch, n)
        grads, _ = clip_by_global_norm(classifier_backward(params, cache), max_grad_norm)
        adam_update(params, grads, adam_state,
                    lr=learning_rate(step, num_steps, peak_lr, warmup_steps))
        history["loss"].append(loss)
        history["train_accuracy"].append((cache["probs"].argmax(axis=1) == labels).mean())
        if test_data is not None and (step + 1) % eval_every == 0:
            history["test_accuracy"].append((step + 1, accuracy(params, *test_data)))
    return params, history


# --- gradient checking ----------------------------------------------------------

def numerical_gradient(loss_fn, array, eps=1e-6):
    """Central-difference gradient of a scalar ``loss_fn()`` with respect to ``array``.

    ``array`` is perturbed in place, one entry at a time, and restored:
    dL/da ~ (L(a + eps) - L(a - eps)) / (2 eps), with error O(eps^2).
    Returns an array of the same shape as ``array``.
    """
    grad = np.zeros_like(array, dtype=float)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        loss_plus = loss_fn()
        array[index] = original - eps
        loss_minus = loss_fn()
        array[index] = original
        grad[index] = (loss_plus - loss_minus) / (2 * eps)
    return grad


def relative_error(grad, reference):
    """||grad - reference|| / (||grad|| + ||reference||), 0 when both are 0."""
    denominator = np.linalg.norm(grad) + np.linalg.norm(reference)
    return 0.0 if denominator == 0 else np.linalg.norm(grad - reference) / denominator
