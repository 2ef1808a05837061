"""Behaviour of SGDLogisticRegression as a scikit-learn classifier."""

import re
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.multiclass import OneVsRestClassifier
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_sgdlogreg import SGDLogisticRegression


def _data(n_classes=3, n_samples=300, n_features=20, seed=0, sparse=True):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=8,
        n_classes=n_classes,
        random_state=seed,
    )
    X[np.abs(X) < 0.8] = 0  # sparse-ish, as text is
    return (sp.csr_matrix(X) if sparse else X), y


@pytest.mark.parametrize("n_classes", [2, 4])
def test_shapes_and_probabilities(n_classes):
    X, y = _data(n_classes)
    clf = SGDLogisticRegression(random_state=0).fit(X, y)
    n_outputs = 1 if n_classes == 2 else n_classes
    assert clf.coef_.shape == (n_outputs, X.shape[1])
    assert clf.intercept_.shape == (n_outputs,)
    scores = clf.decision_function(X)
    assert scores.shape == (
        (X.shape[0],) if n_classes == 2 else (X.shape[0], n_classes)
    )
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-10)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, y) > 0.6


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparse_and_dense_input_give_the_same_model(n_classes):
    X, y = _data(n_classes)
    params = dict(random_state=0, batch_size=16, max_iter=5, tol=None)
    sparse_model = SGDLogisticRegression(**params).fit(X, y)
    dense_model = SGDLogisticRegression(**params).fit(X.toarray(), y)
    np.testing.assert_allclose(
        sparse_model.coef_, dense_model.coef_, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(
        sparse_model.intercept_, dense_model.intercept_, rtol=1e-12
    )


def test_float32_trains_and_predicts_in_float32():
    X, y = _data(3)
    clf32 = SGDLogisticRegression(random_state=0, max_iter=5, tol=None).fit(
        X.astype(np.float32), y
    )
    clf64 = SGDLogisticRegression(random_state=0, max_iter=5, tol=None).fit(X, y)
    assert clf32.coef_.dtype == np.float32
    assert clf32.intercept_.dtype == np.float32
    assert clf32.predict_proba(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(clf32.coef_, clf64.coef_, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_every_compiled_variant_learns_the_same_model(n_classes):
    # The compiled epoch has a variant per value and index type: int64
    # indices must give the int32 model exactly, float32 values it to float
    # precision, with every branch of the step (L1, average, damping) in use.
    X, y = _data(n_classes)
    params = dict(
        random_state=0, max_iter=4, tol=None, batch_size=32,
        penalty="elasticnet", average=50,
    )  # fmt: skip
    reference = SGDLogisticRegression(**params).fit(X, y)
    X64 = X.copy()
    X64.indices = X64.indices.astype(np.int64)
    X64.indptr = X64.indptr.astype(np.int64)
    wide = SGDLogisticRegression(**params).fit(X64, y)
    np.testing.assert_array_equal(wide.coef_, reference.coef_)
    np.testing.assert_array_equal(wide.intercept_, reference.intercept_)
    single = SGDLogisticRegression(**params).fit(X.astype(np.float32), y)
    assert single.coef_.dtype == np.float32
    np.testing.assert_allclose(single.coef_, reference.coef_, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("sorted_indices", [True, False])
def test_fit_does_not_copy_a_csr_matrix(sorted_indices):
    rng = np.random.default_rng(0)
    X = sp.random(20000, 500, density=0.05, format="csr", random_state=0)
    if not sorted_indices:  # as TfidfVectorizer leaves them
        for i in range(X.shape[0]):
            row = slice(X.indptr[i], X.indptr[i + 1])
            X.indices[row], X.data[row] = X.indices[row][::-1], X.data[row][::-1]
        X.has_sorted_indices = False
    y = rng.integers(0, 2, size=X.shape[0])
    clf = SGDLogisticRegression(max_iter=1, tol=None, random_state=0)
    tracemalloc.start()
    clf.fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size_of_X = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert peak < 0.5 * size_of_X, (peak, size_of_X)
    assert X.has_sorted_indices == sorted_indices  # the input is untouched


def test_string_and_integer_labels_give_the_same_model():
    X, y = _data(3)
    names = np.array(["cat", "dog", "emu"])[y]
    clf_int = SGDLogisticRegression(random_state=0).fit(X, y)
    clf_str = SGDLogisticRegression(random_state=0).fit(X, names)
    np.testing.assert_array_equal(clf_str.classes_, ["cat", "dog", "emu"])
    np.testing.assert_allclose(clf_str.coef_, clf_int.coef_)
    np.testing.assert_array_equal(
        clf_str.predict(X), np.array(["cat", "dog", "emu"])[clf_int.predict(X)]
    )


@pytest.mark.parametrize(
    "learning_rate, extra",
    [
        ("optimal", {}),
        ("optimal", {"average": 100, "penalty": "elasticnet"}),
        ("invscaling", {"eta0": 0.5}),
        ("constant", {"eta0": 0.05, "penalty": "l1"}),
        ("adagrad", {"eta0": 0.5, "penalty": "elasticnet"}),
    ],
)
def test_partial_fit_over_chunks_equals_fit(learning_rate, extra):
    """Schedule, accumulators, owed penalties and average all carry over."""
    X, y = _data(3, n_samples=320)
    batch_size = 32
    params = dict(
        random_state=0,
        batch_size=batch_size,
        shuffle=False,
        tol=None,
        learning_rate=learning_rate,
        **{"average": False, **extra},
    )
    fitted = SGDLogisticRegression(max_iter=3, **params).fit(X, y)
    streamed = SGDLogisticRegression(**params)
    for _ in range(3):
        for start in range(0, X.shape[0], 4 * batch_size):
            chunk = slice(start, start + 4 * batch_size)
            streamed.partial_fit(X[chunk], y[chunk], classes=np.unique(y))
    np.testing.assert_allclose(streamed.coef_, fitted.coef_, rtol=1e-12)
    np.testing.assert_allclose(streamed.intercept_, fitted.intercept_, rtol=1e-12)
    assert streamed.t_ == fitted.t_ == 1 + 3 * X.shape[0]


def test_shuffled_stream_learns_as_well_as_fit():
    from sklearn.metrics import log_loss

    X, y = _data(3, n_samples=2048)
    n_epochs = 20
    # Not average="auto": it starts after the first call's rows, which
    # differ between the two.
    fitted = SGDLogisticRegression(
        random_state=0, max_iter=n_epochs, tol=None, average=False
    )
    fitted.fit(X, y)
    streamed = SGDLogisticRegression(random_state=0, average=False)
    for _ in range(n_epochs):
        for start in range(0, X.shape[0], 512):
            streamed.partial_fit(
                X[start : start + 512], y[start : start + 512], classes=np.unique(y)
            )
    fit_loss = log_loss(y, fitted.predict_proba(X))
    stream_loss = log_loss(y, streamed.predict_proba(X))
    assert streamed.t_ == fitted.t_
    assert abs(stream_loss - fit_loss) < 0.02 * fit_loss


def test_random_state_makes_fits_reproducible_and_clone_resets():
    X, y = _data(3)
    clf = SGDLogisticRegression(random_state=3, batch_size=8, max_iter=3, tol=None)
    first = clf.fit(X, y).coef_.copy()
    again = clone(clf).fit(X, y).coef_
    other = clone(clf).set_params(random_state=4).fit(X, y).coef_
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    assert not hasattr(clone(clf), "coef_")


def test_all_zero_weight_batch_changes_nothing():
    X, y = _data(3)
    clf = SGDLogisticRegression(random_state=0).partial_fit(X, y, classes=np.unique(y))
    coef, intercept, t = clf.coef_.copy(), clf.intercept_.copy(), clf.t_
    clf.partial_fit(X[:50], y[:50], sample_weight=np.zeros(50))
    np.testing.assert_array_equal(clf.coef_, coef)
    np.testing.assert_array_equal(clf.intercept_, intercept)
    assert clf.t_ == t


def test_zero_weight_rows_count_as_absent():
    X, y = _data(2)
    weights = np.ones(X.shape[0])
    weights[::3] = 0
    keep = weights > 0
    params = dict(batch_size=X.shape[0], shuffle=False, max_iter=4, tol=None)
    weighted = SGDLogisticRegression(**params).fit(X, y, sample_weight=weights)
    removed = SGDLogisticRegression(**params).fit(X[keep], y[keep])
    np.testing.assert_allclose(weighted.coef_, removed.coef_, rtol=1e-10)
    assert weighted.t_ == removed.t_ == 1 + 4 * keep.sum()


def test_class_weight_multiplies_sample_weight():
    X, y = _data(2)
    params = dict(random_state=0, max_iter=3, tol=None, batch_size=32)
    by_class = SGDLogisticRegression(class_weight={0: 3.0, 1: 1.0}, **params).fit(X, y)
    by_sample = SGDLogisticRegression(**params).fit(
        X, y, sample_weight=np.where(y == 0, 3.0, 1.0)
    )
    np.testing.assert_allclose(by_class.coef_, by_sample.coef_, rtol=1e-12)


def test_balanced_class_weight_in_partial_fit_uses_running_counts():
    X, y = _data(2, n_samples=400)
    y[:150] = 0  # a first chunk dominated by class 0
    classes = np.array([0, 1])
    params = dict(class_weight="balanced", shuffle=False, batch_size=50)
    clf = SGDLogisticRegression(**params)
    clf.partial_fit(X[:200], y[:200], classes=classes)
    clf.partial_fit(X[200:], y[200:])
    counts = np.bincount(y[:200], minlength=2).astype(float)
    assert counts.min() > 0
    reference = SGDLogisticRegression(shuffle=False, batch_size=50)
    reference.partial_fit(
        X[:200], y[:200], classes=classes, sample_weight=(200 / (2 * counts))[y[:200]]
    )
    counts += np.bincount(y[200:], minlength=2)
    reference.partial_fit(X[200:], y[200:], sample_weight=(400 / (2 * counts))[y[200:]])
    np.testing.assert_allclose(clf.coef_, reference.coef_, rtol=1e-12)


def test_one_vs_rest_by_composition():
    X, y = _data(3)
    ovr = OneVsRestClassifier(SGDLogisticRegression(random_state=0)).fit(X, y)
    assert len(ovr.estimators_) == 3
    for k, binary in enumerate(ovr.estimators_):
        assert binary.coef_.shape == (1, X.shape[1])
        direct = SGDLogisticRegression(random_state=0).fit(X, (y == k).astype(int))
        np.testing.assert_allclose(binary.coef_, direct.coef_)
    assert ovr.score(X, y) > 0.7


def test_warm_start_continues_from_the_previous_solution():
    X, y = _data(3)
    params = dict(random_state=0, max_iter=2, tol=None, batch_size=32)
    warm = SGDLogisticRegression(warm_start=True, **params).fit(X, y)
    previous = warm.coef_.copy(), warm.intercept_.copy()
    warm.fit(X, y)
    explicit = SGDLogisticRegression(**params).fit(
        X, y, coef_init=previous[0], intercept_init=previous[1]
    )
    np.testing.assert_allclose(warm.coef_, explicit.coef_, rtol=1e-12)
    cold = SGDLogisticRegression(**params).fit(X, y)
    assert not np.allclose(warm.coef_, cold.coef_)


def test_random_init_is_the_labs_other_start():
    X, y = _data(2)
    one_epoch = dict(random_state=0, max_iter=1, tol=None)
    zeros = SGDLogisticRegression(**one_epoch).fit(X, y)
    random = SGDLogisticRegression(init="random", **one_epoch).fit(X, y)
    again = SGDLogisticRegression(init="random", **one_epoch).fit(X, y)
    np.testing.assert_array_equal(random.coef_, again.coef_)
    assert not np.allclose(random.coef_, zeros.coef_)
    # The objective is strictly convex: both starts reach the same optimum.
    converged = dict(
        random_state=0,
        max_iter=1000,
        tol=None,
        alpha=0.01,
        batch_size=X.shape[0],
        learning_rate="constant",
        eta0=1 / X.shape[0],
    )
    from_zeros = SGDLogisticRegression(**converged).fit(X, y)
    from_random = SGDLogisticRegression(init="random", **converged).fit(X, y)
    np.testing.assert_allclose(from_random.coef_, from_zeros.coef_, atol=1e-5)


def test_early_stopping_keeps_the_best_epoch():
    X, y = _data(3, n_samples=600)
    params = dict(
        random_state=0,
        early_stopping=True,
        n_iter_no_change=3,
        tol=1e-4,
        batch_size=16,
        learning_rate="constant",
        eta0=0.5,
    )
    clf = SGDLogisticRegression(**params).fit(X, y)
    scores = np.array(clf.validation_scores_)
    assert len(scores) == clf.n_iter_ == len(clf.loss_curve_)
    best_epoch = int(scores.argmax()) + 1
    assert clf.best_validation_score_ == scores.max()
    assert best_epoch < clf.n_iter_
    rerun = SGDLogisticRegression(**{**params, "max_iter": best_epoch, "tol": None})
    rerun.fit(X, y)
    np.testing.assert_allclose(clf.coef_, rerun.coef_, rtol=1e-12)


def test_convergence_warning_says_what_happened_and_what_to_try():
    X, y = _data(3)
    with pytest.warns(ConvergenceWarning, match="last change of the objective") as w:
        SGDLogisticRegression(max_iter=2, random_state=0).fit(X, y)
    assert "Increase max_iter" in str(w[0].message)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = _data(3)
    clf = SGDLogisticRegression(verbose=1, max_iter=3, tol=None).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == clf.n_iter_ == 3
    pattern = r"-- Epoch (\d+), objective: ([\d.]+), norm W: ([\d.]+), .* ([\d.]+) s"
    for epoch, line in enumerate(lines, start=1):
        match = re.match(pattern, line)
        assert match and int(match.group(1)) == epoch
        assert float(match.group(2)) == pytest.approx(
            clf.loss_curve_[epoch - 1], rel=1e-5
        )


def test_sparsify_and_densify_keep_predictions():
    X, y = _data(3)
    clf = SGDLogisticRegression(penalty="l1", alpha=0.01, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    clf.sparsify()
    assert sp.issparse(clf.coef_)
    np.testing.assert_allclose(clf.predict_proba(X), proba)
    clf.densify()
    assert isinstance(clf.coef_, np.ndarray)
    np.testing.assert_allclose(clf.predict_proba(X), proba)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"alpha": -1}, "'alpha' parameter of SGDLogisticRegression must be"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"learning_rate": "fast"}, "'learning_rate' parameter"),
        ({"penalty": "l3"}, "'penalty' parameter"),
        ({"average": -2}, "'average' parameter"),
    ],
)
def test_invalid_parameters_are_named(params, message):
    X, y = _data(2)
    with pytest.raises(InvalidParameterError, match=message):
        SGDLogisticRegression(**params).fit(X, y)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c, X, y: c.set_params(alpha=0).fit(X, y), "alpha must be > 0"),
        (
            lambda c, X, y: c.set_params(learning_rate="constant", eta0=0).fit(X, y),
            "eta0 must be > 0",
        ),
        (
            lambda c, X, y: c.fit(X, y, coef_init=np.zeros((2, 3))),
            "coef_init has shape",
        ),
        (
            lambda c, X, y: c.fit(X, y, intercept_init=np.zeros(5)),
            "intercept_init has shape",
        ),
        (lambda c, X, y: c.partial_fit(X, y), "classes must be passed"),
        (
            lambda c, X, y: c.partial_fit(X, y + 10, classes=np.unique(y)),
            "y has labels not in classes",
        ),
        (lambda c, X, y: c.fit(X, np.zeros_like(y)), "at least 2 classes"),
        (
            lambda c, X, y: c.fit(X, y, sample_weight=-np.ones(len(y))),
            "Negative values in data passed to `sample_weight`",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    X, y = _data(3)
    with pytest.raises(ValueError, match=message):
        call(SGDLogisticRegression(), X, y)


def test_partial_fit_rejects_a_different_class_set_and_feature_count():
    X, y = _data(3)
    clf = SGDLogisticRegression().partial_fit(X, y, classes=np.unique(y))
    with pytest.raises(ValueError, match="is not the same as on the first call"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :5], y)
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full((2, X.shape[1]), np.nan))


def test_zero_weight_chunk_leaves_balanced_class_counts_alone():
    X, y = _data(2, n_samples=600)
    classes = np.array([0, 1])
    params = dict(class_weight="balanced", random_state=0, batch_size=64)
    plain = SGDLogisticRegression(**params)
    with_gap = SGDLogisticRegression(**params)
    plain.partial_fit(X[:300], y[:300], classes=classes)
    with_gap.partial_fit(X[:300], y[:300], classes=classes)
    with_gap.partial_fit(X[y == 1], y[y == 1], sample_weight=np.zeros((y == 1).sum()))
    plain.partial_fit(X[300:], y[300:])
    with_gap.partial_fit(X[300:], y[300:])
    np.testing.assert_array_equal(with_gap.coef_, plain.coef_)


def test_warm_start_after_sparsify_and_sparse_coef_init():
    X, y = _data(3)
    clf = SGDLogisticRegression(warm_start=True, max_iter=2, tol=None, random_state=0)
    clf.fit(X, y).sparsify()
    start_coef, start_intercept = clf.coef_.copy(), clf.intercept_.copy()
    clf.fit(X, y)
    explicit = SGDLogisticRegression(max_iter=2, tol=None, random_state=0).fit(
        X, y, coef_init=start_coef, intercept_init=start_intercept
    )
    np.testing.assert_allclose(clf.coef_, explicit.coef_, rtol=1e-12)


def _malformed(X, part):
    """A copy of X with a broken CSR structure (scipy does not check these)."""
    X = X.copy()
    if part == "index":
        X.indices[3] = X.shape[1] + 7
    else:
        X.indptr[5] = X.indptr[4] - 1
    return X


@pytest.mark.parametrize(
    "part, message",
    [("index", r"column indices outside 0\.\.19"), ("indptr", "indptr must")],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_malformed_csr_matrix_is_refused_not_read_out_of_range(
    part, message, method
):
    # The compiled loop does not bounds-check: a broken structure must stop
    # at the door with a clear error.
    X, y = _data(3)
    fit = getattr(SGDLogisticRegression(), method)
    kwargs = {"classes": np.unique(y)} if method == "partial_fit" else {}
    with pytest.raises(ValueError, match=message):
        fit(_malformed(X, part), y, **kwargs)


def test_a_failed_call_leaves_the_previous_model_as_it_was():
    """Every check runs before the estimator changes: a refused fit,
    partial_fit or schedule switch leaves a model that predicts and
    continues exactly as if the call had not been made."""
    X, y = _data(3)
    params = {"random_state": 0, "batch_size": 32, "class_weight": "balanced"}
    untouched = SGDLogisticRegression(**params).partial_fit(X, y, classes=[0, 1, 2])
    model = SGDLogisticRegression(**params).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="coef_init has shape"):
        model.fit(X, y, coef_init=np.zeros((3, X.shape[1] - 1)))
    with pytest.raises(ValueError, match="cannot continue"):
        model.set_params(learning_rate="adagrad").partial_fit(X, y)
    model.set_params(learning_rate="auto")
    np.testing.assert_array_equal(model.predict_proba(X), untouched.predict_proba(X))
    model.partial_fit(X, y)
    untouched.partial_fit(X, y)
    np.testing.assert_array_equal(model.coef_, untouched.coef_)


def test_a_failed_first_partial_fit_leaves_the_estimator_unfitted():
    X, y = _data(2)
    clf = SGDLogisticRegression(random_state=0)
    with pytest.raises(ValueError):
        clf.partial_fit(X, y, classes=[0, 1], sample_weight=np.ones(len(y) + 1))
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.partial_fit(X, y, classes=[0, 1])
    fresh = SGDLogisticRegression(random_state=0).partial_fit(X, y, classes=[0, 1])
    np.testing.assert_array_equal(clf.coef_, fresh.coef_)


def test_a_refit_without_early_stopping_drops_its_validation_scores():
    X, y = _data(2, n_samples=600)
    clf = SGDLogisticRegression(early_stopping=True, random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    clf.set_params(early_stopping=False).fit(X, y)
    assert not hasattr(clf, "validation_scores_")
    assert not hasattr(clf, "best_validation_score_")
