"""Bad and extreme input: a clear error before anything changes, or a sound
model; never a crash, a silent NaN model or an untrained one."""

import pickle
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedShuffleSplit

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg import _estimator


def _data(n_classes=3, n_samples=300, n_features=20, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n_samples, n_features, density=0.3, random_state=seed, format="csr")
    X.data = rng.normal(size=X.nnz)
    y = rng.integers(0, n_classes, size=n_samples)
    return X, y


def _broken(X, how):
    """A copy of CSR ``X`` broken after construction, as SciPy allows."""
    X = X.copy()
    if how == "short indptr":
        X.indptr = X.indptr[:-2]
    elif how == "one indptr entry missing":
        X.indptr = np.delete(X.indptr, 5)
    elif how == "float indptr":
        X.indptr = X.indptr.astype(float)
    elif how == "huge index":
        X.indices[3] = 10**9
    elif how == "negative index":
        X.indices[3] = -2
    return X


_BROKEN = {
    "short indptr": "indptr has",
    "one indptr entry missing": "indptr has",
    "float indptr": "1-d array of integers",
    "huge index": r"column indices outside 0\.\.19",
    "negative index": r"column indices outside 0\.\.19",
}


@pytest.mark.parametrize("how", list(_BROKEN))
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_broken_csr_is_refused_by_training(how, method):
    X, y = _data()
    kwargs = {"classes": np.unique(y)} if method == "partial_fit" else {}
    clf = SGDLogisticRegression()
    with pytest.raises(ValueError, match=_BROKEN[how]):
        getattr(clf, method)(_broken(X, how), y, **kwargs)
    assert not hasattr(clf, "n_features_in_")


@pytest.mark.parametrize("how", list(_BROKEN))
@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "predict_log_proba", "decision_function"]
)
def test_a_broken_csr_is_refused_by_prediction(how, method):
    X, y = _data()
    clf = SGDLogisticRegression(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=_BROKEN[how]):
        getattr(clf, method)(_broken(X, how))


@pytest.mark.parametrize("dtype", [np.uint32, np.int16, np.uint64, np.int8])
def test_other_index_dtypes_train_the_same_model(dtype):
    X, y = _data(n_features=20)
    other = X.copy()
    other.indices = other.indices.astype(dtype)
    other.indptr = other.indptr.astype(np.int64 if dtype != np.int8 else np.int16)
    expected = SGDLogisticRegression(random_state=0).fit(X, y)
    clf = SGDLogisticRegression(random_state=0).fit(other, y)
    np.testing.assert_array_equal(clf.coef_, expected.coef_)
    np.testing.assert_array_equal(clf.predict_proba(other), expected.predict_proba(X))


def test_strided_csr_arrays_train_the_same_model():
    X, y = _data()
    strided = X.copy()
    strided.data = np.repeat(X.data, 2)[::2]
    assert not strided.data.flags.c_contiguous
    expected = SGDLogisticRegression(random_state=0).fit(X, y)
    clf = SGDLogisticRegression(random_state=0).fit(strided, y)
    np.testing.assert_array_equal(clf.coef_, expected.coef_)


@pytest.mark.parametrize(
    "params, fit_kwargs, message",
    [
        ({"class_weight": {0: np.nan, 1: 1, 2: 1}}, {}, "class_weight must be finite"),
        ({"class_weight": {0: np.inf, 1: 1, 2: 1}}, {}, "class_weight must be finite"),
        ({"class_weight": {0: -1.0, 1: 1, 2: 1}}, {}, "class_weight must be finite"),
        ({}, {"coef_init": np.full((3, 20), np.nan)}, "coef_init has non-finite"),
        ({}, {"intercept_init": [np.inf, 0, 0]}, "intercept_init has non-finite"),
        ({"penalty": "elasticnet", "l1_ratio": None}, {}, "l1_ratio must be a number"),
    ],
)
def test_bad_settings_are_refused_before_the_model_changes(params, fit_kwargs, message):
    X, y = _data()
    clf = SGDLogisticRegression(random_state=0).fit(X, y)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match=message):
        clf.set_params(**params).fit(X, y, **fit_kwargs)
    np.testing.assert_array_equal(clf.predict_proba(X), before)


@pytest.mark.parametrize(
    "params",
    [
        {"learning_rate": "constant", "eta0": 1e306},
        {"learning_rate": "invscaling", "eta0": 1.0, "power_t": -100.0},
        {"learning_rate": "optimal", "alpha": 1e22},
        {"alpha": 1e22},
        {"learning_rate": "adaptive", "eta0": 1e300},
        {"learning_rate": "adagrad", "eta0": 1e300},
    ],
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_extreme_settings_train_finite_or_raise(params, n_classes):
    """Divergence is named and leaves no model; a finite model is sound."""
    X, y = _data(n_classes)
    clf = SGDLogisticRegression(random_state=0, max_iter=20, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            clf.fit(X, y)
        except ValueError as error:
            assert "diverged in epoch" in str(error)
            with pytest.raises(NotFittedError):
                clf.predict(X)
            return
    assert np.isfinite(clf.coef_).all() and np.isfinite(clf.intercept_).all()
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_a_huge_batch_size_is_full_batch_descent():
    X, y = _data()
    full = SGDLogisticRegression(batch_size=X.shape[0], random_state=0).fit(X, y)
    huge = SGDLogisticRegression(batch_size=2**62, random_state=0).fit(X, y)
    np.testing.assert_array_equal(huge.coef_, full.coef_)
    assert np.abs(huge.coef_).max() > 0.1


def test_an_average_start_beyond_any_stream_averages_nothing():
    X, y = _data()
    params = {"random_state": 0, "max_iter": 6, "tol": None}
    last = SGDLogisticRegression(average=False, **params).fit(X, y)
    never = SGDLogisticRegression(average=10**30, **params).fit(X, y)
    np.testing.assert_array_equal(never.coef_, last.coef_)


def test_weights_whose_sum_overflows_float32_train():
    """A weight of 3e37 is 3e37 samples: the schedule anneals within the
    first batch and goes on as Bottou's rate per batch; the model trains."""
    X, y = _data()
    X = X.astype(np.float32)
    ones = SGDLogisticRegression(random_state=0).fit(X, y)
    huge = SGDLogisticRegression(random_state=0).fit(
        X, y, sample_weight=np.full(X.shape[0], 3e37, dtype=np.float32)
    )
    assert np.isfinite(huge.coef_).all() and np.abs(huge.coef_).max() > 0.1
    assert huge.t_ == pytest.approx(1 + huge.n_iter_ * X.shape[0] * 3e37, rel=1e-6)
    trained = log_loss(y, huge.predict_proba(X))
    assert trained < 1.05 * log_loss(y, ones.predict_proba(X))


@pytest.mark.parametrize("weight", [5e-324, 1e-310, 1e-30, 1e-3, 0.5])
def test_weights_of_mean_below_one_count_a_row_as_a_sample(weight):
    """Weights of 1e-30 would make the data 1e-28 samples, too few to move
    the model: below a mean of 1 they count as if scaled to mean 1."""
    X, y = _data()
    ones = SGDLogisticRegression(random_state=0).fit(X, y)
    small = SGDLogisticRegression(random_state=0).fit(
        X, y, sample_weight=np.full(X.shape[0], weight)
    )
    np.testing.assert_allclose(small.coef_, ones.coef_, rtol=1e-9, atol=1e-12)
    assert small.t_ == pytest.approx(ones.t_, rel=1e-12)


def test_rows_whose_squared_norm_overflows_are_refused():
    X, y = _data()
    with pytest.raises(ValueError, match="overflows float64"):
        SGDLogisticRegression().fit(X * 1e200, y)


def test_l1_ratio_none_is_accepted_without_elastic_net():
    X, y = _data()
    expected = SGDLogisticRegression(random_state=0).fit(X, y)
    clf = SGDLogisticRegression(l1_ratio=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.coef_, expected.coef_)


def test_partial_fit_refuses_early_stopping():
    X, y = _data()
    clf = SGDLogisticRegression(early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping must be False"):
        clf.partial_fit(X, y, classes=np.unique(y))
    assert not hasattr(clf, "classes_")


def test_max_iter_1_warns_in_fit_and_partial_fit_never_warns():
    X, y = _data()
    with pytest.warns(ConvergenceWarning, match="Maximum number of epochs"):
        SGDLogisticRegression(max_iter=1, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        SGDLogisticRegression(random_state=0).partial_fit(X, y, classes=[0, 1, 2])


def test_no_shuffle_with_early_stopping_visits_rows_in_their_order():
    X, y = _data()
    params = {"shuffle": False, "max_iter": 1, "tol": None, "random_state": 0}
    clf = SGDLogisticRegression(early_stopping=True, **params).fit(X, y)
    splitter = StratifiedShuffleSplit(
        test_size=0.1, random_state=np.random.RandomState(0)
    )
    train, _ = next(splitter.split(np.zeros(len(y)), y))
    rows = np.sort(train)
    expected = SGDLogisticRegression(**params).fit(X[rows], y[rows])
    np.testing.assert_allclose(clf.coef_, expected.coef_, rtol=1e-12)


def test_coef_set_by_hand_is_where_partial_fit_continues():
    X, y = _data()
    params = {"learning_rate": "constant", "eta0": 0.1, "shuffle": False,
              "average": False, "random_state": 0}  # fmt: skip
    clf = SGDLogisticRegression(**params).partial_fit(X, y, classes=[0, 1, 2])
    clf.coef_ = np.zeros_like(clf.coef_)
    clf.intercept_ = np.zeros_like(clf.intercept_)
    clf.partial_fit(X, y)
    fresh = SGDLogisticRegression(**params).partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_allclose(clf.coef_, fresh.coef_, rtol=1e-12)
    clf.coef_ = np.zeros((3, 19))
    with pytest.raises(ValueError, match="set by hand have shapes"):
        clf.partial_fit(X, y)


def test_loss_curve_keeps_the_last_epochs_of_a_stream(monkeypatch):
    monkeypatch.setattr(_estimator, "LOSS_CURVE_LENGTH", 5)
    X, y = _data()
    clf = SGDLogisticRegression(random_state=0)
    seen = []
    for _ in range(8):
        clf.partial_fit(X, y, classes=[0, 1, 2])
        seen.append(clf.loss_curve_[-1])
    assert clf.loss_curve_ == seen[-5:]


def test_a_training_call_during_another_is_refused(monkeypatch):
    """The second call comes while the first is inside the solver, as a
    second thread's would."""
    X, y = _data()
    clf = SGDLogisticRegression(random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    inner = SGDLogisticRegression._partial_fit
    errors = []

    def reentrant(self, *args, **kwargs):
        try:
            self.partial_fit(X, y)
        except RuntimeError as error:
            errors.append(str(error))
        return inner(self, *args, **kwargs)

    monkeypatch.setattr(SGDLogisticRegression, "_partial_fit", reentrant)
    clf.partial_fit(X, y)
    assert len(errors) == 1 and "another call is training" in errors[0]
    monkeypatch.undo()
    clf.partial_fit(X, y)  # free again once the first call ended


def test_threads_training_separate_estimators_do_not_interfere():
    X, y = _data()
    expected = SGDLogisticRegression(random_state=0).fit(X, y).coef_
    models = [SGDLogisticRegression(random_state=0) for _ in range(4)]
    threads = [threading.Thread(target=m.fit, args=(X, y)) for m in models]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for model in models:
        np.testing.assert_array_equal(model.coef_, expected)


def test_two_dimensional_zero_weights_are_refused_by_partial_fit():
    X, y = _data()
    with pytest.raises(ValueError, match="1D|1-d|shape"):
        SGDLogisticRegression().partial_fit(
            X, y, classes=[0, 1, 2], sample_weight=np.zeros((X.shape[0], 1))
        )


@pytest.mark.parametrize("batch_size", [1, 7, 256])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_rows_of_weight_zero_are_absent(batch_size, n_classes):
    """Same random_state, same model as the fit without those rows: they
    take no place in the batches, the shuffles or the statistics."""
    X, y = _data(n_classes, n_samples=400)
    weight = np.random.default_rng(1).integers(0, 3, size=X.shape[0]).astype(float)
    kept = weight > 0
    params = {"batch_size": batch_size, "random_state": 0, "max_iter": 5, "tol": None}
    with_zeros = SGDLogisticRegression(**params).fit(X, y, sample_weight=weight)
    without = SGDLogisticRegression(**params).fit(
        X[kept], y[kept], sample_weight=weight[kept]
    )
    np.testing.assert_allclose(with_zeros.coef_, without.coef_, rtol=1e-12, atol=1e-15)
    assert with_zeros.t_ == without.t_


@pytest.mark.parametrize("form", ["coo", "csc"])
@pytest.mark.parametrize("method", ["fit", "predict"])
def test_other_sparse_formats_with_an_index_out_of_range_are_refused(form, method):
    X, y = _data()
    clf = SGDLogisticRegression(random_state=0).fit(X, y)
    bad = X.tocoo() if form == "coo" else X.tocsc()
    if form == "coo":
        bad.col[3] = 25
    else:
        bad.indices[3] = 400
    with pytest.raises(ValueError, match="indices outside"):
        clf.fit(bad, y) if method == "fit" else clf.predict(bad)


@pytest.mark.parametrize("save", ["sparsify", "joblib"])
def test_a_model_nobody_edited_continues_exactly(save, tmp_path):
    """sparsify() and a joblib round trip (which does not keep object
    identities) are not a coef_ set by hand."""
    import joblib

    X, y = _data()
    one = SGDLogisticRegression(random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    two = SGDLogisticRegression(random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    if save == "sparsify":
        two.sparsify()
    else:
        joblib.dump(two, tmp_path / "model.joblib")
        two = joblib.load(tmp_path / "model.joblib")
    one.partial_fit(X, y)
    two.partial_fit(X, y)
    np.testing.assert_array_equal(two.densify().coef_, one.coef_)


def test_a_refused_fit_keeps_the_previous_input_shape():
    X, y = _data()
    clf = SGDLogisticRegression(random_state=0).fit(X, y)
    wide = sp.hstack([X, X], format="csr") * 1e200
    with pytest.raises(ValueError, match="overflows float64"):
        clf.fit(wide, y)
    assert clf.n_features_in_ == X.shape[1]
    clf.predict(X)


_IN_A_SUBPROCESS = r"""
import sys
import numpy as np
import scipy.sparse as sp
from sklearn_sgdlogreg import SGDLogisticRegression

how = sys.argv[1]
rng = np.random.default_rng(0)
X = sp.random(300, 20, density=0.3, random_state=0, format="csr")
y = rng.integers(0, 3, size=300)
model = SGDLogisticRegression(random_state=0).fit(X, y)
bad = X.copy()
if how == "csr short indptr":
    bad.indptr = bad.indptr[:-2]
elif how == "csr huge index":
    bad.indices[3] = 10**9
elif how == "csr negative index":
    bad.indices[3] = -5
elif how == "coo column past the shape":
    bad = X.tocoo()
    bad.col[3] = 25
elif how == "coo row past the shape":
    bad = X.tocoo()
    bad.row[3] = 10**6
elif how == "csc short indptr":
    bad = X.tocsc()
    bad.indptr = bad.indptr[:-3]
elif how == "csc huge index":
    bad = X.tocsc()
    bad.indices[3] = 10**9
for method in ("fit", "partial_fit", "predict_proba", "decision_function"):
    try:
        if method == "fit":
            SGDLogisticRegression().fit(bad, y)
        elif method == "partial_fit":
            SGDLogisticRegression().partial_fit(bad, y, classes=[0, 1, 2])
        else:
            getattr(model, method)(bad)
    except ValueError as error:
        print(method, "refused:", error)
    else:
        print(method, "accepted")
"""


@pytest.mark.parametrize(
    "how",
    [
        "csr short indptr", "csr huge index", "csr negative index",
        "coo column past the shape", "coo row past the shape",
        "csc short indptr", "csc huge index",
    ],
)  # fmt: skip
def test_structures_that_could_crash_are_refused_in_a_subprocess(how):
    """Run where a segmentation fault fails this test (a negative return
    code) instead of ending the test run."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _IN_A_SUBPROCESS, how],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    lines = result.stdout.splitlines()
    assert len(lines) == 4, result.stdout
    for line in lines:
        assert "refused: X is not a valid" in line, line


@pytest.mark.parametrize(
    "change, effect",
    [
        # A rate of 1e-12 moves nothing: the next call barely changes coef_.
        ({"eta0": 1e-12}, lambda moved, usual: moved < 1e-9 * usual),
        # A strong L2 shrinks the weights: the next call ends far smaller.
        ({"alpha": 10.0}, lambda moved, usual: moved > 0.5 * usual),
    ],
)
def test_set_params_between_partial_fit_calls_applies_from_the_next(change, effect):
    X, y = _data()
    classes = np.unique(y)
    usual = SGDLogisticRegression(learning_rate="constant", eta0=0.01, random_state=0)
    usual.partial_fit(X[:150], y[:150], classes=classes)
    changed = pickle.loads(pickle.dumps(usual)).set_params(**change)
    start = usual.coef_.copy()
    usual.partial_fit(X[150:], y[150:])
    changed.partial_fit(X[150:], y[150:])
    usual_move = np.abs(usual.coef_ - start).max()
    changed_move = np.abs(changed.coef_ - start).max()
    assert effect(changed_move, usual_move), (changed_move, usual_move)
    if "alpha" in change:
        assert np.linalg.norm(changed.coef_) < 0.5 * np.linalg.norm(usual.coef_)


@pytest.mark.parametrize(
    "intercept, expected",
    [
        ([np.inf], [0.0, 1.0]),
        ([-np.inf], [1.0, 0.0]),
        ([np.inf, 0.0, -np.inf], [1.0, 0.0, 0.0]),
        ([0.0, -np.inf, np.inf], [0.0, 0.0, 1.0]),
        ([np.inf, np.inf, 0.0], [0.5, 0.5, 0.0]),
    ],
)
def test_infinite_scores_give_their_limit_probabilities(intercept, expected):
    """An infinite score is a probability of 1 (shared among ties), never
    the NaN that exp(inf - inf) gives."""
    X, y = _data(len(expected))
    clf = SGDLogisticRegression(random_state=0).fit(X, y)
    clf.intercept_ = np.array(intercept)
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(proba, np.tile(expected, (len(y), 1)))
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(
            clf.predict_log_proba(X), np.log(np.tile(expected, (len(y), 1)))
        )
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(expected)])


def test_the_exported_model_is_read_only():
    """An edit in place would be lost by the next export and by a pickle;
    assigning a new array is honoured (test above)."""
    X, y = _data()
    clf = SGDLogisticRegression(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="read-only"):
        clf.intercept_ += 5
    with pytest.raises(ValueError, match="read-only"):
        clf.coef_[0, 0] = 0.0


def test_l1_state_is_dropped_while_no_l1_runs():
    """Charges saved before a stretch of L2 neither pull weights to 0 when
    L1 returns nor go stale through the stretch's scale folds."""
    X, y = _data()
    clf = SGDLogisticRegression(penalty="l1", random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))
    assert clf._solver.l1_received is not None
    clf.set_params(penalty="l2").partial_fit(X, y)
    assert clf._solver.l1_entitled is None and clf._solver.l1_received is None
    clf.set_params(penalty="l1").partial_fit(X, y)
    assert np.abs(clf._solver.l1_received).max() > 0  # charged afresh
