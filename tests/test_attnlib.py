"""The reference code behaves as the book says."""
import numpy as np
import pytest

from attnlib.scoring import additive_attention, scaled_dot_product_attention
from attnlib.softmax import lengths_to_mask, masked_softmax, softmax


def test_softmax_rows_sum_to_one_and_survive_large_scores():
    scores = np.array([[1000.0, 1001.0, 1002.0], [-5.0, 0.0, 5.0]])
    weights = softmax(scores)
    assert np.all(np.isfinite(weights))
    assert np.allclose(weights.sum(axis=-1), 1.0)
    assert np.allclose(weights[0], softmax(np.array([0.0, 1.0, 2.0])))


@pytest.mark.parametrize("valid_lens", [np.array([2, 6]), np.array([[1, 3], [10, 4]])])
def test_masked_softmax_zeroes_masked_keys(valid_lens):
    scores = np.random.default_rng(0).normal(size=(2, 2, 10))
    weights = masked_softmax(scores, valid_lens)
    keep = lengths_to_mask(valid_lens, 10)
    assert np.all(weights[~np.broadcast_to(keep, weights.shape)] == 0.0)
    assert np.allclose(weights.sum(axis=-1), 1.0)


def test_masked_softmax_empty_row_is_zero_not_nan():
    weights = masked_softmax(np.ones((2, 3, 4)), np.array([0, 2]))
    assert np.all(weights[0] == 0.0)
    assert np.allclose(weights[1].sum(axis=-1), 1.0)


def test_masked_softmax_rejects_bad_valid_lens_shape():
    with pytest.raises(ValueError, match="valid_lens"):
        masked_softmax(np.ones((2, 3, 4)), np.ones((2, 3, 1)))


def test_additive_attention_worked_shapes():
    rng = np.random.default_rng(0)
    queries, keys, values = (rng.normal(size=s) for s in [(2, 2, 20), (2, 10, 2), (2, 10, 4)])
    W_q, W_k, w_v = rng.normal(size=(20, 16)), rng.normal(size=(2, 16)), rng.normal(size=16)
    output, weights = additive_attention(queries, keys, values, W_q, W_k, w_v, np.array([2, 6]))
    assert output.shape == (2, 2, 4) and weights.shape == (2, 2, 10)
    query, key = queries[1, 0] @ W_q, keys[1, 3] @ W_k
    scores = np.tanh(query + keys[1, :6] @ W_k) @ w_v
    assert np.allclose(weights[1, 0, :6], softmax(scores))
    assert np.isclose(scores[3], w_v @ np.tanh(query + key))


def test_scaled_dot_product_attention_scales_by_sqrt_d():
    rng = np.random.default_rng(1)
    queries, keys, values = (rng.normal(size=s) for s in [(2, 2, 2), (2, 10, 2), (2, 10, 4)])
    output, weights = scaled_dot_product_attention(queries, keys, values, np.array([2, 6]))
    expected = masked_softmax(queries @ keys.swapaxes(-1, -2) / np.sqrt(2), np.array([2, 6]))
    assert np.allclose(weights, expected)
    assert np.allclose(output, expected @ values)


def test_scaled_dot_product_attention_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="same size"):
        scaled_dot_product_attention(np.ones((1, 2, 3)), np.ones((1, 2, 4)), np.ones((1, 2, 4)))
