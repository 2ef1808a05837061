"""Bad and extreme inputs, generated: each gets its exact outcome.

Every bad input to every method is refused with the error scikit-learn's
own estimators give (or a clearer one), before the estimator changes: a
fitted model that is handed bad data or bad settings predicts as before.
Every odd but valid input (duplicate or unsorted CSR entries, explicit
zeros, other dtypes and containers) trains the same model as its plain
CSR equivalent. Inputs that could crash compiled code run in a subprocess
in tests/test_robustness.py.
"""

import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_sgdlogreg import SGDLogisticRegression


def _data(n_classes=3, n_samples=120, n_features=12, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n_samples, n_features, density=0.3, format="csr", random_state=seed)
    X.data = rng.normal(size=X.nnz)
    y = rng.integers(0, n_classes, size=n_samples)
    return X, y


@pytest.fixture(scope="module")
def fitted():
    """A fitted model and its data; tests copy it before changing it."""
    X, y = _data()
    return SGDLogisticRegression(random_state=0).fit(X, y), X, y


def _copy(model):
    """An independent copy (pickles continue exactly, tests/test_persistence.py)."""
    return pickle.loads(pickle.dumps(model))


def _refused_and_unchanged(fitted, call, message, error=ValueError):
    """``call(model, X, y)`` on a copy of the fitted model raises ``error``
    matching ``message``, and the model predicts as before."""
    model, X, y = fitted
    model = _copy(model)
    before = model.predict_proba(X)
    with pytest.raises(error, match=message):
        call(model, X, y)
    np.testing.assert_array_equal(model.predict_proba(X), before)


# --- settings ---------------------------------------------------------------

_INVALID_PARAMS = [
    ("alpha", -1.0),
    ("alpha", "a lot"),
    ("l1_ratio", 2.0),
    ("l1_ratio", -0.1),
    ("max_iter", 0),
    ("max_iter", 2.5),
    ("batch_size", 0),
    ("eta0", -1.0),
    ("validation_fraction", 1.0),
    ("validation_fraction", 0.0),
    ("n_iter_no_change", 0),
    ("class_weight", "bad"),
    ("average", -1),
    ("average", "sometimes"),
    ("init", "ones"),
    ("penalty", "l3"),
    ("learning_rate", "fast"),
    ("tol", "small"),
    ("power_t", np.inf),
    ("fit_intercept", "yes"),
    ("shuffle", 2),
    ("verbose", -1),
    ("warm_start", "no"),
    ("early_stopping", "no"),
    ("random_state", "seed"),
]


@pytest.mark.parametrize("name, value", _INVALID_PARAMS)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_an_invalid_setting_is_named_and_changes_nothing(fitted, name, value, method):
    def call(model, X, y):
        getattr(model.set_params(**{name: value}), method)(X, y)

    _refused_and_unchanged(
        fitted,
        call,
        f"The '{name}' parameter of SGDLogisticRegression must be",
        InvalidParameterError,
    )


# --- X ----------------------------------------------------------------------


def _with_value(X, value, sparse):
    X = X.copy() if sparse else X.toarray()
    if sparse:
        X.data[4] = value
    else:
        X[1, 2] = value
    return X


_NAN = "Input X contains NaN"
_INF = r"Input X contains infinity or a value too large for dtype\('float64'\)"

# name: (make bad X from good X, the error's message)
_BAD_X = {
    "NaN, dense": (lambda X: _with_value(X, np.nan, False), _NAN),
    "NaN, CSR": (lambda X: _with_value(X, np.nan, True), _NAN),
    "infinity, dense": (lambda X: _with_value(X, np.inf, False), _INF),
    "-infinity, CSR": (lambda X: _with_value(X, -np.inf, True), _INF),
    "no rows": (lambda X: X[:0], r"Found array with 0 sample\(s\)"),
    "no rows, dense": (lambda X: X.toarray()[:0], r"Found array with 0 sample\(s\)"),
    "three dimensions": (
        lambda X: X.toarray()[:, :, None],
        "Found array with dim 3",  # the rest of the message varies by version
    ),
    "strings": (
        lambda X: np.full(X.shape, "word"),
        "could not convert string to float",
    ),
    "complex": (lambda X: X.toarray() + 1j, "Complex data not supported"),
}

# Methods that read X; the training ones also take y.
_READERS = ["partial_fit", "predict", "predict_proba", "predict_log_proba",
            "decision_function", "score"]  # fmt: skip


def _call(model, method, X, y):
    if method == "partial_fit":
        return model.partial_fit(X, y[: X.shape[0]])
    if method == "score":
        return model.score(X, y[: X.shape[0]])
    return getattr(model, method)(X)


@pytest.mark.parametrize("how", list(_BAD_X))
@pytest.mark.parametrize("method", ["fit", *_READERS])
def test_bad_x_is_refused_and_changes_nothing(fitted, how, method):
    make, message = _BAD_X[how]

    def call(model, X, y):
        bad = make(X)
        if method == "fit":
            model.fit(bad, y[: bad.shape[0]])
        else:
            _call(model, method, bad, y)

    _refused_and_unchanged(fitted, call, message)


@pytest.mark.parametrize("method", _READERS)
@pytest.mark.parametrize("n_features", [5, 13])
def test_x_with_other_features_is_refused(fitted, method, n_features):
    model, X, y = fitted
    model = _copy(model)
    other = sp.random(X.shape[0], n_features, density=0.3, format="csr")
    with pytest.raises(
        ValueError,
        match=f"X has {n_features} features, but SGDLogisticRegression is "
        f"expecting 12 features as input",
    ):
        _call(model, method, other, y)


# --- y and sample_weight ----------------------------------------------------

_BAD_Y = {
    "NaN label": (
        lambda y: np.where(np.arange(y.size) == 3, np.nan, y.astype(float)),
        "Input y contains NaN",
    ),
    "one label short": (
        lambda y: y[:-1],
        r"inconsistent numbers of samples: \[120, 119\]",
    ),
    "two columns": (
        lambda y: np.c_[y, y],
        r"y should be a 1d array, got an array of shape \(120, 2\)",
    ),
    "no labels": (lambda y: y[:0], r"inconsistent numbers of samples: \[120, 0\]"),
}


@pytest.mark.parametrize("how", list(_BAD_Y))
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_bad_y_is_refused_and_changes_nothing(fitted, how, method):
    make, message = _BAD_Y[how]
    _refused_and_unchanged(
        fitted, lambda model, X, y: getattr(model, method)(X, make(y)), message
    )


def test_one_class_is_refused_by_fit(fitted):
    model, X, y = fitted
    with pytest.raises(ValueError, match="at least 2 classes in the data"):
        _copy(model).fit(X, np.zeros_like(y))


def test_a_label_outside_classes_is_refused_by_partial_fit():
    X, y = _data()
    with pytest.raises(
        ValueError, match=r"y has labels not in classes: array\(\[2\]\)"
    ):
        SGDLogisticRegression().partial_fit(X, y, classes=[0, 1])


def test_other_classes_on_a_later_call_are_refused(fitted):
    model, X, y = fitted
    model = _copy(model)
    with pytest.raises(ValueError, match="is not the same as on the first call"):
        model.partial_fit(X, y, classes=[0, 1, 2, 3])


_BAD_WEIGHTS = {
    "negative": (lambda n: -np.ones(n), "Negative values in data passed to"),
    "NaN": (lambda n: np.full(n, np.nan), "Input sample_weight contains NaN"),
    "infinite": (
        lambda n: np.full(n, np.inf),
        "Input sample_weight contains infinity",
    ),
    "one short": (lambda n: np.ones(n - 1), r"sample_weight.shape == \(119,\)"),
    "two columns": (lambda n: np.ones((n, 2)), "Sample weights must be 1D"),
    "strings": (lambda n: np.full(n, "heavy"), "could not convert string to float"),
}


@pytest.mark.parametrize("how", list(_BAD_WEIGHTS))
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_bad_sample_weight_is_refused_and_changes_nothing(fitted, how, method):
    make, message = _BAD_WEIGHTS[how]

    def call(model, X, y):
        getattr(model, method)(X, y, sample_weight=make(y.size))

    _refused_and_unchanged(fitted, call, message)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"coef_init": np.zeros((2, 12))}, r"coef_init has shape \(2, 12\); expected"),
        ({"coef_init": np.zeros((3, 11))}, r"coef_init has shape \(3, 11\); expected"),
        ({"intercept_init": np.zeros(2)}, r"intercept_init has shape \(2,\)"),
        ({"coef_init": np.full((3, 12), "w")}, "could not convert string to float"),
    ],
)
def test_bad_initial_weights_are_refused(fitted, kwargs, message):
    _refused_and_unchanged(
        fitted, lambda model, X, y: model.fit(X, y, **kwargs), message
    )


# --- odd but valid X: the same model as its plain CSR ------------------------


def _duplicated(X):
    """Every entry split in two halves stored twice, in reverse order."""
    coo = X.tocoo()
    rows = np.r_[coo.row, coo.row]
    cols = np.r_[coo.col, coo.col]
    vals = np.r_[coo.data / 2, coo.data / 2]
    order = np.lexsort((-cols, rows))
    counts = np.bincount(rows, minlength=X.shape[0])
    indptr = np.r_[0, np.cumsum(counts)]
    return sp.csr_matrix((vals[order], cols[order], indptr), shape=X.shape)


def _unsorted(X):
    X = X.copy()
    for i in range(X.shape[0]):
        lo, hi = X.indptr[i], X.indptr[i + 1]
        X.indices[lo:hi] = X.indices[lo:hi][::-1].copy()
        X.data[lo:hi] = X.data[lo:hi][::-1].copy()
    X.has_sorted_indices = False
    return X


def _explicit_zeros(X):
    """Every row stores a 0 at column 0 or 1 besides its entries."""
    dense = X.toarray()
    rows, cols = np.nonzero(dense)
    extra_col = np.where(dense[:, 0] == 0, 0, 1)
    keep = dense[np.arange(dense.shape[0]), extra_col] == 0
    rows = np.r_[rows, np.arange(dense.shape[0])[keep]]
    cols = np.r_[cols, extra_col[keep]]
    vals = np.r_[dense[np.nonzero(dense)], np.zeros(keep.sum())]
    X = sp.csr_matrix((vals, (rows, cols)), shape=X.shape)
    assert (X.data == 0).any()
    return X


def _integers(X):
    X = X.copy()
    X.data = np.round(X.data * 3)
    return X


_SAME_AS_CSR = {
    "duplicate entries": (_duplicated, lambda X: X, 1e-14),
    "unsorted indices": (_unsorted, lambda X: X, 1e-14),
    "explicit zeros": (_explicit_zeros, lambda X: X, 1e-14),
    "csr_array": (sp.csr_array, lambda X: X, 0),
    "CSC": (sp.csc_matrix, lambda X: X, 0),
    "COO": (sp.coo_matrix, lambda X: X, 0),
    "dense": (lambda X: X.toarray(), lambda X: X, 0),
    "Fortran dense": (lambda X: np.asfortranarray(X.toarray()), lambda X: X, 0),
    "nested lists": (lambda X: X.toarray().tolist(), lambda X: X, 0),
    "DataFrame": (lambda X: pd.DataFrame(X.toarray()), lambda X: X, 0),
    "int64 CSR": (lambda X: _integers(X).astype(np.int64), _integers, 0),
    "bool CSR": (lambda X: X.astype(bool), lambda X: X.astype(bool).astype(float), 0),
    "empty rows": (
        lambda X: sp.vstack([X, sp.csr_matrix((5, X.shape[1]))], format="csr"),
        lambda X: sp.vstack([X, sp.csr_matrix((5, X.shape[1]))], format="csr"),
        0,
    ),
}


@pytest.mark.parametrize("how", list(_SAME_AS_CSR))
@pytest.mark.parametrize("n_classes", [2, 3])
def test_odd_but_valid_x_trains_the_model_of_its_plain_csr(how, n_classes):
    X, y = _data(n_classes)
    odd, plain, atol = _SAME_AS_CSR[how]
    plain_X = plain(X)
    y = np.r_[y, y[:5]] if plain_X.shape[0] > y.size else y
    expected = SGDLogisticRegression(random_state=0).fit(plain_X, y)
    clf = SGDLogisticRegression(random_state=0).fit(odd(X), y)
    np.testing.assert_allclose(clf.coef_, expected.coef_, rtol=0, atol=atol)
    np.testing.assert_allclose(clf.intercept_, expected.intercept_, rtol=0, atol=atol)
    np.testing.assert_allclose(
        clf.predict_proba(odd(X)),
        expected.predict_proba(plain_X),
        atol=max(atol, 1e-15),
    )


# --- extreme values: a finite model or a named divergence --------------------


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    scale=st.floats(1e-300, 1e150),
    weight=st.floats(5e-324, 1e300, allow_subnormal=True),
    alpha=st.floats(1e-12, 1e6),
    batch_size=st.integers(1, 200),
    n_classes=st.integers(2, 4),
    learning_rate=st.sampled_from(["auto", "optimal", "constant", "adagrad"]),
)
def test_extreme_scales_train_a_finite_model_or_name_the_divergence(
    scale, weight, alpha, batch_size, n_classes, learning_rate
):
    X, y = _data(n_classes, n_samples=60)
    X = X * scale
    clf = SGDLogisticRegression(
        alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
        eta0=0.1, max_iter=5, random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            clf.fit(X, y, sample_weight=np.full(y.size, weight))
        except ValueError as error:
            assert re.search(r"diverged in epoch \d|overflows float64", str(error))
            return
    assert np.isfinite(clf.coef_).all() and np.isfinite(clf.intercept_).all()
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
