"""The losses on raw predictions: gradients, probabilities, stability."""

import numpy as np
import pytest
from scipy.special import expit

from sklearn_sgdlogreg._losses import (
    BinaryCrossEntropy,
    MultinomialCrossEntropy,
    loss_for,
)


def _finite_difference(f, z, h=1e-6):
    grad = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[idx] = h
        grad[idx] = (f(z + step) - f(z - step)) / (2 * h)
    return grad


@pytest.mark.parametrize(
    "loss, n_outputs", [(BinaryCrossEntropy(), 1), (MultinomialCrossEntropy(), 4)]
)
def test_gradient_matches_finite_differences(loss, n_outputs):
    rng = np.random.default_rng(0)
    raw = rng.normal(scale=3, size=(7, n_outputs))
    y = rng.integers(0, max(n_outputs, 2), size=7)
    _, gradient = loss.loss_gradient(raw, y)
    numeric = _finite_difference(lambda z: loss.loss_gradient(z, y)[0].sum(), raw)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-8)


def test_binary_loss_is_the_labs_cross_entropy():
    z = np.array([[-2.0], [0.5], [3.0]])
    y = np.array([0, 1, 1])
    y_hat = expit(z[:, 0])
    expected = -(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
    loss, gradient = BinaryCrossEntropy.loss_gradient(z, y)
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    np.testing.assert_allclose(gradient[:, 0], y_hat - y, rtol=1e-12)


def test_softmax_of_two_classes_is_the_sigmoid_of_the_difference():
    rng = np.random.default_rng(1)
    raw = rng.normal(scale=4, size=(20, 2))
    y = rng.integers(0, 2, size=20)
    difference = (raw[:, 1] - raw[:, 0])[:, None]
    soft_loss, soft_grad = MultinomialCrossEntropy.loss_gradient(raw, y)
    sig_loss, sig_grad = BinaryCrossEntropy.loss_gradient(difference, y)
    np.testing.assert_allclose(soft_loss, sig_loss, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(soft_grad[:, 1], sig_grad[:, 0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        MultinomialCrossEntropy.predict_proba(raw),
        BinaryCrossEntropy.predict_proba(difference),
        rtol=1e-12,
    )


@pytest.mark.parametrize("n_classes", [2, 5])
def test_probabilities_are_finite_for_huge_scores(n_classes):
    loss = loss_for(n_classes)
    n_outputs = loss.n_outputs(n_classes)
    raw = np.array([[1e308] * n_outputs, [-1e308] * n_outputs, [800.0] * n_outputs])
    if n_outputs > 1:
        raw[:, 0] = [-1e308, 1e308, -800.0]
    proba = loss.predict_proba(raw)
    log_proba = loss.predict_log_proba(raw)
    assert np.isfinite(proba).all()
    assert not np.isnan(log_proba).any()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    y = np.zeros(3, dtype=int)
    sample_loss, gradient = loss.loss_gradient(raw, y)
    assert np.isfinite(gradient).all()
    assert not np.isnan(sample_loss).any()


def test_tiny_probabilities_keep_their_precision():
    # 1 - expit(40) rounds to 0 in float64; expit(-40) does not.
    proba = BinaryCrossEntropy.predict_proba(np.array([[40.0]]))
    np.testing.assert_allclose(proba[0, 0], np.exp(-40) / (1 + np.exp(-40)), rtol=1e-12)
    log_proba = BinaryCrossEntropy.predict_log_proba(np.array([[40.0]]))
    np.testing.assert_allclose(log_proba[0, 0], -40 - np.log1p(np.exp(-40)), rtol=1e-12)
