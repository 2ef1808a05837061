"""L1 and elastic-net penalties on tf-idf text, against saga's optimum.

Settings: 4,000 Debian descriptions (3,200 for training; for multiclass,
the 2,547 documents of the 8 largest sections of 6,000), alpha=3e-4, the
default schedule unless a test says otherwise, no early stop; saga solves
the same objective (C = 1 / (alpha * n_samples), the same l1_ratio) to
tol=1e-6.
"""

import numpy as np
import pytest
import sklearn
from _reference import objective
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.utils.fixes import parse_version

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg._penalties import ElasticNet
from sklearn_sgdlogreg.datasets import debian_tfidf_split

ALPHA = 3e-4


@pytest.fixture(scope="module")
def binary_text():
    X, _, y, _ = debian_tfidf_split("binary", n_documents=4000)
    return X, y


@pytest.fixture(scope="module")
def multiclass_text():
    """The 8 largest sections: saga on all 53 would take a minute."""
    X, _, y, _ = debian_tfidf_split("multiclass", n_documents=6000)
    names, counts = np.unique(y, return_counts=True)
    keep = np.isin(y, names[np.argsort(counts)[-8:]])
    return X[keep], y[keep]


_saga_fits = {}


def _saga(X, y, l1_ratio):
    """saga's solution, fitted once per data set and l1_ratio (it is slow)."""
    key = (id(X), l1_ratio)
    if key not in _saga_fits:
        params = dict(
            solver="saga", l1_ratio=l1_ratio, C=1 / (ALPHA * X.shape[0]),
            tol=1e-6, max_iter=5000,
        )
        if parse_version(sklearn.__version__) < parse_version("1.8"):
            params["penalty"] = "elasticnet"  # before 1.8, l1_ratio alone is unused
        _saga_fits[key] = LogisticRegression(**params).fit(X, y)
    return _saga_fits[key]


def _gap_and_sparsity(X, y, l1_ratio, **params):
    saga = _saga(X, y, l1_ratio)
    penalty = "l1" if l1_ratio == 1 else "elasticnet"
    ours = SGDLogisticRegression(
        penalty=penalty,
        l1_ratio=l1_ratio,
        alpha=ALPHA,
        tol=None,
        random_state=0,
        **params,
    ).fit(X, y)
    y_index = np.searchsorted(ours.classes_, y)
    ones = np.ones(X.shape[0])

    def J(model):
        return objective(
            model.coef_, model.intercept_, X, y_index, ones, ALPHA, l1_ratio
        )

    optimum = J(saga)
    return (
        (J(ours) - optimum) / optimum,
        np.mean(ours.coef_ == 0),
        np.mean(saga.coef_ == 0),
    )


def test_l1_is_sparse_and_near_sagas_optimum(binary_text):
    gap, zeros, saga_zeros = _gap_and_sparsity(
        *binary_text, l1_ratio=1.0, batch_size=64, max_iter=60
    )
    assert gap < 0.01, gap
    assert zeros > 0.7 and saga_zeros > 0.9, (zeros, saga_zeros)


@pytest.mark.parametrize("alpha", [1e-4, 1e-5])
def test_l1_is_about_as_sparse_as_sgdclassifiers_at_no_worse_objective(alpha):
    """The cumulative penalty, as SGDClassifier's: on 4,000 documents at
    alpha=1e-4 a soft threshold per step left 73% of the weights exactly 0
    where SGDClassifier leaves 96%. After 300 epochs: 95.8% against 96.0% at
    1e-4, 78.3% against 80.9% at 1e-5; the objectives within 0.1% at 1e-4
    (ours 0.86% above saga's, SGDClassifier's 0.87%), 1% at 1e-5."""
    X, _, y, _ = debian_tfidf_split("binary", n_documents=5000)
    params = dict(penalty="l1", alpha=alpha, max_iter=300, tol=None, random_state=0)
    theirs = SGDClassifier(loss="log_loss", **params).fit(X, y)
    ours = SGDLogisticRegression(**params).fit(X, y)
    y_index = np.searchsorted(ours.classes_, y)

    def J(model):
        return objective(
            model.coef_, model.intercept_, X, y_index, np.ones(len(y)), alpha, 1.0
        )

    assert np.mean(ours.coef_ == 0) > (0.99 if alpha == 1e-4 else 0.96) * np.mean(
        theirs.coef_ == 0
    )
    assert J(ours) < (1.001 if alpha == 1e-4 else 1.01) * J(theirs)


@pytest.mark.parametrize("task", ["binary_text", "multiclass_text"])
def test_elastic_net_is_near_sagas_optimum(task, request):
    gap, zeros, _ = _gap_and_sparsity(
        *request.getfixturevalue(task), l1_ratio=0.5, batch_size=256, max_iter=60
    )
    assert gap < 0.01, gap
    assert zeros > 0.6, zeros


def test_multinomial_l1_is_near_sagas_optimum(multiclass_text):
    # Pure L1 adds no curvature, and along most weights of saga's support the
    # loss curves by less than alpha: the "optimal" rates 1 / (alpha t) fall
    # too fast there (next test), while invscaling's 1 / sqrt(t) do not.
    gap, zeros, saga_zeros = _gap_and_sparsity(
        *multiclass_text,
        l1_ratio=1.0,
        batch_size=1024,
        learning_rate="invscaling",
        eta0=100.0,
        max_iter=100,
    )
    assert gap < 0.005, gap  # 0.18%
    assert zeros > 0.99 and saga_zeros > 0.99, (zeros, saga_zeros)  # 99.7%


@pytest.mark.xfail(
    strict=True,
    reason="with the default 'optimal' schedule, multinomial pure L1 converges "
    "as about t ** -0.25: 3.3% above saga's objective after 60 epochs at "
    "batch_size=64, 1.5% after 2000 (use invscaling, as above)",
)
def test_multinomial_l1_with_the_optimal_schedule(multiclass_text):
    gap, _, _ = _gap_and_sparsity(
        *multiclass_text, l1_ratio=1.0, batch_size=64, max_iter=60
    )
    assert gap < 0.01, gap


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_penalty_value_of_scaled_weights(dtype):
    # The solver passes its weights as scale * V without multiplying them out.
    V = np.random.default_rng(0).normal(size=(40, 3)).astype(dtype)
    penalty = ElasticNet(alpha=0.3, l1_ratio=0.4)
    W = 0.5 * V.astype(np.float64)
    expected = 0.3 * (0.4 * np.abs(W).sum() + 0.6 / 2 * (W**2).sum())
    assert penalty.value(V, scale=0.5) == pytest.approx(expected, rel=1e-6)
    assert ElasticNet(0.3, 0.0).value(V, 0.5) == pytest.approx(
        0.3 / 2 * (W**2).sum(), rel=1e-6
    )
