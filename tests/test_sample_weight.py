"""An integer sample weight k means "this row, k times"."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from sklearn_sgdlogreg import SGDLogisticRegression


def _weighted_problem(n_classes):
    X, y = make_classification(
        n_samples=60,
        n_features=5,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        random_state=0,
    )
    return X, y, np.random.default_rng(0).integers(0, 4, size=len(y))


def _weighted_and_repeated_fits(n_classes, **params):
    """Fit once with integer weights and once with the rows repeated."""
    X, y, weights = _weighted_problem(n_classes)
    weighted = SGDLogisticRegression(**params).fit(X, y, sample_weight=weights)
    repeated = SGDLogisticRegression(**params).fit(
        np.repeat(X, weights, axis=0), np.repeat(y, weights)
    )
    return weighted, repeated


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("batch_size, atol", [(1, 4e-3), (8, 2e-3)])
def test_weighted_and_repeated_fits_agree_at_convergence(n_classes, batch_size, atol):
    """With small batches the weighted and the repeated data are visited in
    different batches (a row of weight 3 takes one step of three samples'
    rates, its copies three steps), so the two runs differ by SGD noise that
    shrinks as the rate decays; after 1,500 epochs both are within 6e-3 of
    the weighted optimum (LogisticRegression's, C = 1 / (alpha sum(s))) and
    within ``atol`` of each other."""
    X, y, weights = _weighted_problem(n_classes)
    weighted, repeated = _weighted_and_repeated_fits(
        n_classes, alpha=0.01, batch_size=batch_size, max_iter=1500, tol=None,
        random_state=0,
    )  # fmt: skip
    optimum = LogisticRegression(C=1 / (0.01 * weights.sum()), tol=1e-10)
    optimum.fit(X, y, sample_weight=weights)
    for model in (weighted, repeated):
        np.testing.assert_allclose(model.coef_, optimum.coef_, atol=6e-3)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=atol)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, atol=atol)
    assert np.abs(weighted.coef_).max() > 0.1  # the models are not trivial
    assert weighted.t_ == repeated.t_ == 1 + 1500 * weights.sum()


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize(
    "learning_rate", ["auto", "optimal", "constant", "invscaling", "adaptive"]
)
def test_weighted_and_repeated_full_batch_fits_agree_to_seven_digits(
    n_classes, learning_rate
):
    """One batch an epoch: the same gradient, and the same step, since the
    schedule counts a row of weight k as k samples."""
    weighted, repeated = _weighted_and_repeated_fits(
        n_classes,
        alpha=0.01,
        batch_size=1000,
        max_iter=300,
        tol=None,
        learning_rate=learning_rate,
        eta0=0.02,
    )
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        weighted.intercept_, repeated.intercept_, rtol=1e-7, atol=1e-9
    )
    assert weighted.t_ == repeated.t_
