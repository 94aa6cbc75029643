"""attnlib.transformer and attnlib.transformer_backward behave as the Transformer chapter says."""
import numpy as np
import pytest

from attnlib.capstone import numerical_gradient, relative_error
from attnlib.multihead import multi_head_attention
from attnlib.transformer import (attention_forward, count_multiply_adds, decoder_block_forward,
                                 decoder_step, encode, greedy_decode, init_transformer,
                                 layer_norm_forward, recompute_step, start_kv_cache,
                                 transformer_parameter_count)
from attnlib.transformer_backward import (layer_norm_backward, loss_and_gradients,
                                          make_reversal_data, train_transformer)


def test_layer_norm_normalises_each_token_then_applies_gain_and_bias():
    x = np.random.default_rng(0).normal(4.0, 3.0, size=(2, 3, 6))
    y, _ = layer_norm_forward(x, np.full(6, 2.0), np.full(6, -1.0))
    assert np.allclose(y.mean(axis=-1), -1.0) and np.allclose(y.var(axis=-1), 4.0, atol=1e-4)


def test_layer_norm_backward_matches_central_differences():
    rng = np.random.default_rng(1)
    x, gain, bias, G = rng.normal(size=(3, 5)), rng.normal(size=5), rng.normal(size=5), rng.normal(size=(3, 5))
    analytic = layer_norm_backward(G, layer_norm_forward(x, gain, bias)[1])
    for array, grad in zip((x, gain, bias), analytic):
        numeric = numerical_gradient(lambda: np.sum(layer_norm_forward(x, gain, bias)[0] * G), array)
        assert relative_error(grad, numeric) < 1e-7


def test_attention_forward_is_the_multi_head_attention_of_chapter_7():
    rng = np.random.default_rng(2)
    queries, memory = rng.normal(size=(2, 3, 8)), rng.normal(size=(2, 5, 8))
    weights = [rng.normal(size=(8, 8)) for _ in range(4)]
    keep = rng.random((3, 5)) < 0.7
    keep[:, 0] = True
    ours, cache = attention_forward(queries, memory, *weights, 4, mask=keep)
    reference, reference_weights = multi_head_attention(queries, memory, memory, *weights, 4, mask=keep)
    assert np.allclose(ours, reference) and np.allclose(cache["weights"], reference_weights)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_parameter_formula_counts_the_built_arrays(norm):
    for vocab, d, heads, d_ff, n_enc, n_dec in [(7, 8, 2, 12, 1, 2), (30, 16, 4, 40, 3, 1)]:
        params = init_transformer(vocab, d, heads, d_ff, n_enc, n_dec, norm=norm)
        assert sum(a.size for a in params.values()) == transformer_parameter_count(
            vocab, d, d_ff, n_enc, n_dec, norm=norm)


def test_parameter_formula_for_the_paper_configurations():
    # By hand: per encoder layer 4d^2 + 2 d d_ff + d_ff + d + 4d, per decoder layer
    # 8d^2 + 2 d d_ff + d_ff + d + 6d, plus the shared 37000 x d embedding.
    assert transformer_parameter_count(37000, 512, 2048, 6, 6, norm="post") == 63_045_632
    assert transformer_parameter_count(37000, 1024, 4096, 6, 6, norm="post") == 214_171_648
    assert transformer_parameter_count(37000, 512, 2048, 6, 6, norm="pre") == 63_045_632 + 4 * 512
    untied = transformer_parameter_count(37000, 512, 2048, 6, 6, norm="post", tied=False)
    assert untied == 63_045_632 + 2 * 37000 * 512


def test_bad_sizes_and_norm_names_are_refused_clearly():
    with pytest.raises(ValueError, match="divisible"):
        init_transformer(5, 10, 3, 8, 1, 1)
    with pytest.raises(ValueError, match="'post' or 'pre'"):
        init_transformer(5, 8, 2, 8, 1, 1, norm="sandwich")


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_whole_model_backward_matches_central_differences(norm):
    rng = np.random.default_rng(3)
    params = init_transformer(5, 4, 2, 6, 1, 2, norm=norm, rng=rng)
    source, target = rng.integers(0, 4, size=(2, 2, 3))
    _, grads, _ = loss_and_gradients(params, source, target, bos=4, num_heads=2)

    def loss():
        return loss_and_gradients(params, source, target, bos=4, num_heads=2)[0]

    for key, value in params.items():
        assert relative_error(grads[key], numerical_gradient(loss, value)) < 1e-6, key


def test_decoder_block_is_causal():
    rng = np.random.default_rng(4)
    params = init_transformer(5, 8, 2, 8, 1, 1, rng=rng)
    y, memory = rng.normal(size=(1, 4, 8)), rng.normal(size=(1, 3, 8))
    out, _ = decoder_block_forward(y, memory, params, "dec.0", 2, "pre")
    y[0, 2] += 1.0
    changed, _ = decoder_block_forward(y, memory, params, "dec.0", 2, "pre")
    assert np.array_equal(out[0, :2], changed[0, :2]) and not np.allclose(out[0, 2:], changed[0, 2:])


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_cached_decoding_equals_recomputation(norm):
    rng = np.random.default_rng(5)
    params = init_transformer(9, 16, 4, 24, 2, 3, norm=norm, rng=rng)
    source = rng.integers(0, 8, size=(2, 7))
    tokens, logits = greedy_decode(params, source, 8, 12, 4, use_cache=True)
    tokens_full, logits_full = greedy_decode(params, source, 8, 12, 4, use_cache=False)
    assert np.abs(logits - logits_full).max() < 1e-12 and np.array_equal(tokens, tokens_full)


def test_cache_grows_by_one_key_and_value_per_step_and_work_is_linear():
    rng = np.random.default_rng(6)
    params = init_transformer(9, 16, 4, 24, 1, 2, rng=rng)
    memory, _ = encode(params, rng.integers(0, 8, size=(1, 5)), 4)
    cache, prefix, cached, full = start_kv_cache(params, memory, 4), np.full((1, 1), 8), [], []
    for position in range(10):
        with count_multiply_adds() as ops:
            logits = decoder_step(params, prefix[:, -1], position, cache, 4)
        cached.append(ops[0])
        with count_multiply_adds() as ops:
            recompute_step(params, prefix, memory, 4)
        full.append(ops[0])
        assert all(layer["K"].shape == (1, 4, position + 1, 4) for layer in cache)
        prefix = np.concatenate([prefix, logits.argmax(axis=-1)[:, None]], axis=1)
    assert set(np.diff(cached)) == {2 * 2 * 16}  # 2 layers x (scores + weighted values) x d
    assert set(np.diff(full, 2)) == {2 * 2 * 2 * 16}


def test_reversal_data_is_distinct_and_held_out_sets_are_disjoint():
    rng = np.random.default_rng(7)
    source, target = make_reversal_data(300, 4, 5, rng)
    held_out, _ = make_reversal_data(100, 4, 5, rng, exclude=source)
    assert np.array_equal(target, source[:, ::-1])
    rows = {tuple(r) for r in source}
    assert len(rows) == 300 and not rows & {tuple(r) for r in held_out}


@pytest.mark.parametrize("seed", [1, 4, 8])
def test_reversal_is_learned_to_95_percent_on_other_seeds(seed):
    """The chapter trains seed 0; the same recipe must work for other seeds."""
    rng = np.random.default_rng(seed)
    source, target = make_reversal_data(4000, 6, 10, rng)
    test_source, test_target = make_reversal_data(500, 6, 10, rng, exclude=source)
    model = init_transformer(11, 32, 4, 64, 1, 1, norm="pre", rng=rng)
    train_transformer(model, source, target, 10, 4, steps=400, batch_size=32, lr=5e-3, rng=rng)
    predicted, _ = greedy_decode(model, test_source, 10, 6, 4)
    assert np.mean(np.all(predicted == test_target, axis=1)) >= 0.95
