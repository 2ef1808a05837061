"""The fitted objective against LogisticRegression's optimum on real text.

Settings: 4,000 Debian package descriptions (3,200 for training, tf-idf),
alpha=1e-3, batch_size=256, the "optimal" schedule and the last iterate, 60
epochs with no early stop. LogisticRegression solves the same problem (C = 1 / (alpha *
n_samples)) to tol=1e-10.
"""

import numpy as np
import pytest
from _reference import objective
from sklearn.linear_model import LogisticRegression

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_tfidf_split

ALPHA = 1e-3


@pytest.fixture(scope="module", params=["binary", "multiclass"])
def text_task(request):
    X, _, y, _ = debian_tfidf_split(request.param, n_documents=4000)
    return X, y


def _objective(model, X, y, sample_weight, l1_ratio=0.0):
    y_index = np.searchsorted(model.classes_, y)
    return objective(
        model.coef_, model.intercept_, X, y_index, sample_weight, ALPHA, l1_ratio
    )


def test_objective_within_a_thousandth_of_logistic_regression(text_task):
    X, y = text_task
    ones = np.ones(X.shape[0])
    exact = LogisticRegression(C=1 / (ALPHA * X.shape[0]), tol=1e-10, max_iter=10000)
    exact.fit(X, y)
    ours = SGDLogisticRegression(
        alpha=ALPHA, batch_size=256, max_iter=60, tol=None, random_state=0,
        learning_rate="optimal", average=False,
    ).fit(X, y)
    optimum = _objective(exact, X, y, ones)
    gap = (_objective(ours, X, y, ones) - optimum) / optimum
    assert 0 <= gap < 1e-3, gap


def test_weighted_objective_matches_logistic_regression_at_scaled_C(text_task):
    """C = 1 / (alpha * sum(s)) with weights: the normalisation in J."""
    X, y = text_task
    rng = np.random.default_rng(0)
    sample_weight = rng.uniform(0.2, 3.0, size=X.shape[0])
    exact = LogisticRegression(
        C=1 / (ALPHA * sample_weight.sum()), tol=1e-10, max_iter=10000
    ).fit(X, y, sample_weight=sample_weight)
    ours = SGDLogisticRegression(
        alpha=ALPHA, batch_size=256, max_iter=60, tol=None, random_state=0,
        learning_rate="optimal", average=False,
    ).fit(X, y, sample_weight=sample_weight)
    optimum = _objective(exact, X, y, sample_weight)
    gap = (_objective(ours, X, y, sample_weight) - optimum) / optimum
    assert 0 <= gap < 1e-3, gap
