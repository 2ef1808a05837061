"""A pickled model holds what continuing needs, once, and continues exactly."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_sgdlogreg import SGDLogisticRegression


def _wide_text_like(n_classes, n_samples=1200, n_features=40_000, seed=0):
    """A sparse problem whose model (not its overheads) makes the pickle."""
    rng = np.random.default_rng(seed)
    per_row = 80
    X = sp.csr_matrix(
        (
            rng.random(n_samples * per_row),
            rng.integers(0, n_features, size=n_samples * per_row),
            np.arange(0, n_samples * per_row + 1, per_row),
        ),
        shape=(n_samples, n_features),
    )
    X.sum_duplicates()
    y = rng.integers(0, n_classes, size=n_samples)
    # Each class owns a few columns, so the fit learns something.
    X = sp.hstack([X, sp.csr_matrix(np.eye(n_classes)[y])], format="csr")
    return X, y


def _model_bytes(clf):
    coef = clf.coef_.data if sp.issparse(clf.coef_) else clf.coef_
    return coef.nbytes + clf.intercept_.nbytes


@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.parametrize(
    "average, largest_ratio",
    [(False, 1.1), (True, 2.1), ("auto", 2.1)],
)
def test_pickle_is_the_model_plus_what_continuing_needs(
    n_classes, average, largest_ratio
):
    """Without averaging the solver's weights are the model; with it, the
    average's correction U (one more array of coef_'s size) is kept too."""
    X, y = _wide_text_like(n_classes)
    clf = SGDLogisticRegression(average=average, max_iter=3, tol=None)
    clf.fit(X, y)
    assert (clf._solver.average is not None) == (average is not False)
    ratio = len(pickle.dumps(clf)) / _model_bytes(clf)
    assert 1.0 < ratio <= largest_ratio


@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.parametrize("average", [False, True, "auto"])
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
def test_unpickled_model_predicts_and_continues_bit_for_bit(
    n_classes, average, penalty
):
    X, y = _wide_text_like(n_classes, n_samples=800)
    clf = SGDLogisticRegression(
        average=average, penalty=penalty, l1_ratio=0.3, random_state=0
    )
    clf.partial_fit(X[:400], y[:400], classes=np.arange(n_classes))
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.coef_, clf.coef_)
    np.testing.assert_array_equal(restored.intercept_, clf.intercept_)
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    clf.partial_fit(X[400:], y[400:])
    restored.partial_fit(X[400:], y[400:])
    np.testing.assert_array_equal(restored.coef_, clf.coef_)
    np.testing.assert_array_equal(restored.intercept_, clf.intercept_)
    assert restored.t_ == clf.t_


def test_pickle_keeps_a_model_the_solver_does_not_determine():
    """The best epoch of early stopping and a sparsified coef_ are saved."""
    X, y = _wide_text_like(3, n_samples=600)
    stopped = SGDLogisticRegression(early_stopping=True, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(stopped))
    np.testing.assert_array_equal(restored.coef_, stopped.coef_)
    sparse = SGDLogisticRegression(random_state=0).fit(X, y).sparsify()
    restored = pickle.loads(pickle.dumps(sparse))
    assert sp.issparse(restored.coef_)
    assert (restored.coef_ != sparse.coef_).nnz == 0


def test_coef_set_by_hand_survives_the_round_trip_and_is_honoured():
    X, y = _wide_text_like(2, n_samples=400)
    clf = SGDLogisticRegression(random_state=0, average=False)
    clf.partial_fit(X, y, classes=[0, 1])
    clf.coef_ = np.zeros_like(clf.coef_)
    clf.intercept_ = np.zeros_like(clf.intercept_)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.coef_, 0.0)
    clf.partial_fit(X, y)
    restored.partial_fit(X, y)
    np.testing.assert_array_equal(restored.coef_, clf.coef_)


def test_a_pickle_of_an_earlier_version_is_refused_by_name():
    from sklearn_sgdlogreg import SGDLogisticRegression

    clf = SGDLogisticRegression()
    with pytest.raises(ValueError, match="pickled by an earlier version"):
        clf.__setstate__({"_exported": (None, None), "alpha": 1e-4})
