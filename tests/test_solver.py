"""The solver against explicit computations: gradients and the update rule."""

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from _reference import minibatch_descent, objective
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg._epoch import effective_n_threads
from sklearn_sgdlogreg._losses import loss_for
from sklearn_sgdlogreg._penalties import ElasticNet
from sklearn_sgdlogreg._solver import batch_gradient, takes_binary_step


def _problem(n_classes, n_samples=40, n_features=12, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n_samples, n_features, density=0.3, random_state=seed, format="csr")
    X.data = rng.normal(size=X.nnz)
    y = rng.integers(0, n_classes, size=n_samples)
    sample_weight = rng.integers(0, 4, size=n_samples).astype(float)
    return X, y, sample_weight


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5])
def test_objective_gradient_matches_finite_differences(n_classes, l1_ratio):
    X, y, sample_weight = _problem(n_classes)
    alpha = 0.05
    loss = loss_for(n_classes)
    n_outputs = loss.n_outputs(n_classes)
    rng = np.random.default_rng(1)
    # Weights away from zero, where the L1 term is differentiable.
    W = rng.choice([-1, 1], size=(n_features := X.shape[1], n_outputs)) * rng.uniform(
        0.2, 1.0, size=(n_features, n_outputs)
    )
    b = rng.normal(size=n_outputs)

    _, grad_W, grad_b, _ = batch_gradient(
        X, y, sample_weight / sample_weight.sum(), W, b, loss
    )
    penalty = ElasticNet(alpha, l1_ratio)
    # A subgradient of the penalty (sign(0) = 0).
    grad_W = grad_W + penalty.l1 * np.sign(W) + penalty.l2 * W

    def J(W_, b_):
        return objective(W_.T, b_, X, y, sample_weight, alpha, l1_ratio)

    h = 1e-6
    numeric_W = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[idx] = h
        numeric_W[idx] = (J(W + step, b) - J(W - step, b)) / (2 * h)
    numeric_b = np.array(
        [(J(W, b + h * e) - J(W, b - h * e)) / (2 * h) for e in np.eye(n_outputs)]
    )
    np.testing.assert_allclose(grad_W, numeric_W, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(grad_b, numeric_b, rtol=1e-5, atol=1e-8)


def _optimal_rate(alpha):
    t0 = 1 / (alpha**-0.25 * alpha)
    return lambda t: 1 / (alpha * (t0 + t - 1))


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize(
    "penalty, l1_ratio", [("l2", 0.0), ("l1", 1.0), ("elasticnet", 0.4)]
)
@pytest.mark.parametrize("learning_rate", ["optimal", "constant", "adagrad"])
@pytest.mark.parametrize("batch_size", [1, 7, 100])
def test_lazy_solver_equals_the_eager_update_rule(
    n_classes, penalty, l1_ratio, learning_rate, batch_size
):
    """Scale factor, owed penalties paid late (AdaGrad's in closed form) and
    the caps change nothing but the cost."""
    X, y, sample_weight = _problem(n_classes)
    alpha, eta0, n_epochs = 0.1, 0.3, 3
    rates = {
        "optimal": dict(rate=_optimal_rate(alpha)),
        "constant": dict(rate=lambda t: eta0),
        "adagrad": dict(rate=None, adagrad_eta0=eta0),
    }
    coef, intercept, _, t = minibatch_descent(
        X,
        y,
        sample_weight,
        1 if n_classes == 2 else n_classes,
        alpha=alpha,
        l1_ratio=l1_ratio,
        batch_size=batch_size,
        n_epochs=n_epochs,
        **rates[learning_rate],
    )
    clf = SGDLogisticRegression(
        penalty=penalty,
        l1_ratio=l1_ratio,
        alpha=alpha,
        learning_rate=learning_rate,
        eta0=eta0,
        batch_size=batch_size,
        max_iter=n_epochs,
        tol=None,
        shuffle=False,
        average=False,
    ).fit(X, y, sample_weight=sample_weight)
    np.testing.assert_allclose(clf.coef_, coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, intercept, rtol=1e-9, atol=1e-12)
    assert clf.t_ == t == 1 + n_epochs * sample_weight.sum()
    if penalty == "l1":
        assert (clf.coef_ == 0).sum() == (coef == 0).sum() > 0


@pytest.mark.parametrize(
    "penalty, l1_ratio", [("l2", 0.0), ("l1", 1.0), ("elasticnet", 0.4)]
)
@pytest.mark.parametrize("batch_size", [1, 7])
def test_binary_steps_by_feature_and_by_numbered_column_agree(
    penalty, l1_ratio, batch_size
):
    """The binary step keeps two doubles, a byte and an index a feature, so it
    is taken only when X takes more memory than that; empty columns that
    make X the smaller send the same problem through the general step. Both
    follow the eager rule, and they agree on the average, with its lazily
    paid L1."""
    X, y, sample_weight = _problem(2)
    X_wide = sp.hstack([X, sp.csr_matrix((X.shape[0], 200))], format="csr")
    assert takes_binary_step(X, 1) and not takes_binary_step(X_wide, 1)
    alpha, n_epochs = 0.1, 3
    coef, intercept, _, _ = minibatch_descent(
        X_wide, y, sample_weight, 1, alpha=alpha, l1_ratio=l1_ratio,
        batch_size=batch_size, n_epochs=n_epochs, rate=_optimal_rate(alpha),
    )  # fmt: skip
    params = dict(
        penalty=penalty, l1_ratio=l1_ratio, alpha=alpha, learning_rate="optimal",
        batch_size=batch_size, max_iter=n_epochs, tol=None, shuffle=False,
    )  # fmt: skip
    wide = SGDLogisticRegression(average=False, **params).fit(
        X_wide, y, sample_weight=sample_weight
    )
    np.testing.assert_allclose(wide.coef_, coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(wide.intercept_, intercept, rtol=1e-9, atol=1e-12)

    by_feature = SGDLogisticRegression(average=5, **params).fit(
        X, y, sample_weight=sample_weight
    )
    wide = SGDLogisticRegression(average=5, **params).fit(
        X_wide, y, sample_weight=sample_weight
    )
    np.testing.assert_allclose(
        wide.coef_[:, : X.shape[1]], by_feature.coef_, rtol=1e-9, atol=1e-12
    )
    assert not wide.coef_[:, X.shape[1] :].any()
    np.testing.assert_allclose(wide.intercept_, by_feature.intercept_, rtol=1e-9)


def test_partial_fit_chunks_may_switch_between_the_binary_steps():
    """Which step a partial_fit call takes depends on its chunk's size; the
    state it leaves is the same either way."""
    X, y, sample_weight = _problem(2)
    X_wide = sp.hstack([X, sp.csr_matrix((X.shape[0], 200))], format="csr")
    chunks = [slice(0, 3), slice(3, 30), slice(30, 33), slice(33, 40)]
    taken = [takes_binary_step(X[chunk], 1) for chunk in chunks]
    assert taken == [False, True, False, True]
    assert not any(takes_binary_step(X_wide[chunk], 1) for chunk in chunks)
    params = dict(
        penalty="elasticnet", l1_ratio=0.4, alpha=0.1, batch_size=4,
        average=True, shuffle=False,
    )  # fmt: skip
    mixed = SGDLogisticRegression(**params)
    general = SGDLogisticRegression(**params)
    for _ in range(2):
        for chunk in chunks:
            weights = sample_weight[chunk]
            mixed.partial_fit(X[chunk], y[chunk], [0, 1], sample_weight=weights)
            general.partial_fit(X_wide[chunk], y[chunk], [0, 1], sample_weight=weights)
    np.testing.assert_allclose(
        general.coef_[:, : X.shape[1]], mixed.coef_, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(general.intercept_, mixed.intercept_, rtol=1e-9)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5])
def test_scale_factor_folded_into_the_weights_changes_nothing(n_classes, l1_ratio):
    """A strong penalty shrinks the scale factor below 1e-4 within a few dozen
    steps; the solver then multiplies it into V, several times here, and
    moves P V into U so that the average stays exact (with L2)."""
    X, y, sample_weight = _problem(n_classes)
    alpha, eta0, n_epochs = 1.0, 1.0, 4
    n_outputs = 1 if n_classes == 2 else n_classes
    coef, intercept, iterates, _ = minibatch_descent(
        X, y, sample_weight, n_outputs, alpha=alpha, l1_ratio=l1_ratio,
        batch_size=1, n_epochs=n_epochs, rate=lambda t: eta0,
    )  # fmt: skip
    params = dict(
        penalty="elasticnet", l1_ratio=l1_ratio, alpha=alpha,
        learning_rate="constant", eta0=eta0, batch_size=1, max_iter=n_epochs,
        tol=None, shuffle=False,
    )  # fmt: skip
    clf = SGDLogisticRegression(average=False, **params).fit(
        X, y, sample_weight=sample_weight
    )
    # Undamped, each step divides the scale by 1 + eta0 * alpha * (1 -
    # l1_ratio): 3e-39 or 3e-23 over these steps, so several folds, even if
    # damping slows the first steps down.
    n_steps = n_epochs * np.count_nonzero(sample_weight)
    assert (1 + eta0 * alpha * (1 - l1_ratio)) ** -n_steps < 1e-20
    np.testing.assert_allclose(clf.coef_, coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, intercept, rtol=1e-9, atol=1e-12)
    if l1_ratio:
        return  # the lazy average is not exact with L1 (derivation section 9)

    averaged = SGDLogisticRegression(average=True, **params).fit(
        X, y, sample_weight=sample_weight
    )
    total = sum(m for m, _, _ in iterates)
    expected = sum(m * W for m, W, _ in iterates) / total
    np.testing.assert_allclose(averaged.coef_, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("batch_size, averages", [(7, True), (18, False)])
def test_auto_rate_and_average_follow_their_definition(n_classes, batch_size, averages):
    """``learning_rate="auto"`` is ``"optimal"`` bounded by 2 / (weighted mean
    squared row norm); ``average="auto"`` averages from the second epoch on
    when the first epoch has at least 4 batches of samples (its 69 samples,
    in units of weight, at 7 a batch; not at 18), and ``tol="auto"`` then is
    2e-2."""
    X, y, sample_weight = _problem(n_classes)
    X.data *= 3.0  # rows of squared norm about 30: the bound is met early
    alpha, n_epochs = 1e-3, 3
    n_samples = sample_weight.sum()  # a row of weight k is k samples
    assert (n_samples >= 4 * batch_size) == averages
    squared_norms = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    bound = 2 / (sample_weight @ squared_norms / sample_weight.sum())
    optimal = _optimal_rate(alpha)
    assert optimal(n_epochs * n_samples) > bound  # binding throughout
    coef, intercept, iterates, _ = minibatch_descent(
        X, y, sample_weight, 1 if n_classes == 2 else n_classes, alpha=alpha,
        l1_ratio=0.0, rate=lambda t: np.minimum(bound, optimal(t)),
        batch_size=batch_size, n_epochs=n_epochs,
    )  # fmt: skip
    if averages:
        seen, kept = 0, []
        for m, W, b in iterates:
            if seen >= n_samples:
                kept.append((m, W, b))
            seen += m
        total = sum(m for m, _, _ in kept)
        coef = sum(m * W for m, W, _ in kept) / total
        intercept = sum(m * b for m, _, b in kept) / total

    clf = SGDLogisticRegression(
        alpha=alpha, batch_size=batch_size, max_iter=n_epochs, tol=None,
        shuffle=False,
    ).fit(X, y, sample_weight=sample_weight)  # fmt: skip
    np.testing.assert_allclose(clf.coef_, coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, intercept, rtol=1e-9, atol=1e-12)
    assert clf.set_params(tol="auto")._tol() == (2e-2 if averages else 3.5e-3)


@pytest.mark.parametrize("average", [True, 50])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_average_is_the_average_of_the_iterates(average, n_classes):
    X, y, sample_weight = _problem(n_classes)
    alpha, n_epochs, batch_size = 0.01, 3, 8
    _, _, iterates, _ = minibatch_descent(
        X,
        y,
        sample_weight,
        1 if n_classes == 2 else n_classes,
        alpha=alpha,
        l1_ratio=0.0,
        rate=_optimal_rate(alpha),
        batch_size=batch_size,
        n_epochs=n_epochs,
    )
    start = 1 if average is True else average
    seen, kept = 0, []
    for m, W, b in iterates:
        seen += m
        if seen >= start:
            kept.append((m, W, b))
    total = sum(m for m, _, _ in kept)
    expected_coef = sum(m * W for m, W, _ in kept) / total
    expected_intercept = sum(m * b for m, _, b in kept) / total

    clf = SGDLogisticRegression(
        alpha=alpha,
        learning_rate="optimal",
        average=average,
        batch_size=batch_size,
        max_iter=n_epochs,
        tol=None,
        shuffle=False,
    ).fit(X, y, sample_weight=sample_weight)
    np.testing.assert_allclose(clf.coef_, expected_coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, expected_intercept, rtol=1e-9)
    # The average is not the last iterate.
    assert not np.allclose(clf.coef_, iterates[-1][1])


@pytest.mark.parametrize("n_classes", [2, 3])
def test_adagrad_average_is_the_average_of_the_iterates(n_classes):
    """Without a penalty nothing is owed, so the lazy average is exact."""
    X, y, sample_weight = _problem(n_classes)
    _, _, iterates, _ = minibatch_descent(
        X,
        y,
        sample_weight,
        1 if n_classes == 2 else n_classes,
        alpha=0.0,
        l1_ratio=0.0,
        rate=None,
        batch_size=7,
        n_epochs=3,
        adagrad_eta0=0.5,
    )
    total = sum(m for m, _, _ in iterates)
    clf = SGDLogisticRegression(
        penalty=None,
        learning_rate="adagrad",
        eta0=0.5,
        batch_size=7,
        max_iter=3,
        tol=None,
        shuffle=False,
        average=True,
    ).fit(X, y, sample_weight=sample_weight)
    np.testing.assert_allclose(
        clf.coef_, sum(m * W for m, W, _ in iterates) / total, rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize(
    "learning_rate, before, after",
    [
        ("optimal", {"alpha": 1e-4}, {"alpha": 1e-2}),
        ("invscaling", {"eta0": 0.1}, {"eta0": 0.5, "alpha": 0.05}),
        ("constant", {"eta0": 0.1}, {"eta0": 0.02}),
    ],
)
def test_set_params_between_partial_fit_calls_is_honoured(learning_rate, before, after):
    """A partial_fit call builds its schedule and penalty from the parameters
    it finds, as SGDClassifier's does: the second chunk follows the eager
    rule with the new parameters from where the first chunk left off."""
    X, y, _ = _problem(3)
    ones = np.ones(X.shape[0])
    first, second = slice(0, 20), slice(20, 40)

    def eager(params, rows, t_start, init):
        alpha, eta0 = params.get("alpha", 1e-4), params.get("eta0", 0.01)
        rate = {
            "optimal": _optimal_rate(alpha),
            "invscaling": lambda t: eta0 / t**0.5,
            "constant": lambda t: eta0,
        }[learning_rate]
        return minibatch_descent(
            X[rows], y[rows], ones[rows], 3, alpha=alpha, l1_ratio=0.0,
            rate=lambda t: rate(t + t_start - 1), batch_size=7, n_epochs=1,
            init=init,
        )  # fmt: skip

    coef, intercept, _, t = eager(before, first, 1, None)
    expected, _, _, _ = eager({**before, **after}, second, t, (coef, intercept))
    unchanged, _, _, _ = eager(before, second, t, (coef, intercept))

    clf = SGDLogisticRegression(
        learning_rate=learning_rate, batch_size=7, shuffle=False, **before
    )
    clf.partial_fit(X[first], y[first], classes=[0, 1, 2])
    clf.set_params(**after).partial_fit(X[second], y[second])
    np.testing.assert_allclose(clf.coef_, expected, rtol=1e-9, atol=1e-12)
    assert not np.allclose(expected, unchanged, rtol=1e-3)


def test_partial_fit_refuses_to_switch_to_or_from_adagrad():
    X, y, _ = _problem(2)
    clf = SGDLogisticRegression().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="learning_rate='adagrad' cannot continue"):
        clf.set_params(learning_rate="adagrad", eta0=1.0).partial_fit(X, y)
    clf = SGDLogisticRegression(learning_rate="adagrad", eta0=1.0)
    clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="learning_rate='constant' cannot continue"):
        clf.set_params(learning_rate="constant").partial_fit(X, y)


def _threaded_problem(n_classes, n_samples, seed=0):
    X = sp.random(n_samples, 300, density=0.15, random_state=seed, format="csr")
    rng = np.random.default_rng(seed)
    X.data = rng.uniform(0.1, 1.0, size=X.nnz)
    y = rng.integers(0, n_classes, size=n_samples)
    return X, y


@pytest.mark.skipif(
    effective_n_threads() < 2, reason="one core, or a build without OpenMP"
)
@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.parametrize("average", [False, True])
def test_one_and_two_threads_give_the_same_model(n_classes, average):
    """Each thread writes its own rows or columns and every sum is added in
    one order, so the model does not depend on the thread count: the same
    bits, in both forms of the step, with L1 paid lazily and an average."""
    # Batches of 45 non-zeros a row: 2048 rows for the binary form's K = 1,
    # 512 for 5 classes, pass the threshold at which a batch is split.
    batch_size = 2048 if n_classes == 2 else 512
    X, y = _threaded_problem(n_classes, 4 * batch_size)
    assert takes_binary_step(X, 1 if n_classes == 2 else n_classes) == (n_classes == 2)
    params = dict(
        penalty="elasticnet", l1_ratio=0.3, alpha=1e-3, batch_size=batch_size,
        max_iter=3, tol=None, average=average, random_state=0,
    )  # fmt: skip
    with threadpool_limits(1):
        one = SGDLogisticRegression(**params).fit(X, y)
    with threadpool_limits(2):
        two = SGDLogisticRegression(**params).fit(X, y)
    np.testing.assert_array_equal(one.coef_, two.coef_)
    np.testing.assert_array_equal(one.intercept_, two.intercept_)
    assert one.loss_curve_ == two.loss_curve_
    if not average:  # the L1 penalty was paid: exact zeros beside non-zeros
        assert (one.coef_ == 0).any() and one.coef_.any()


def test_threadpool_limits_sets_the_epochs_threads():
    """The epoch takes its thread count as scikit-learn's OpenMP code does,
    so threadpoolctl's limit makes it single-threaded."""
    cores = joblib.cpu_count(only_physical_cores=True)
    with threadpool_limits(1):
        assert effective_n_threads() == 1
    with threadpool_limits(2):
        assert effective_n_threads() == min(2, cores) or not _epoch_has_openmp()
    assert 1 <= effective_n_threads() <= cores


def _epoch_has_openmp():
    """Whether threadpoolctl sees an OpenMP runtime loaded by this build."""
    return any(info["user_api"] == "openmp" for info in threadpool_info())
