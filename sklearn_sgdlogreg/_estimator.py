"""SGDLogisticRegression: the scikit-learn face of the mini-batch solver."""

import contextlib
import functools
import threading
import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import row_norms, safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._epoch import has_duplicate_entries
from ._losses import loss_for
from ._penalties import ElasticNet
from ._schedules import make_schedule
from ._solver import Batches, Solver
from ._stopping import StoppingRule

# average="auto" averages when the first call fills this many batches.
AUTO_AVERAGE_BATCHES = 4
# loss_curve_ keeps the objectives of this many last epochs (a stream of
# partial_fit calls adds one a call).
LOSS_CURVE_LENGTH = 10_000

_TRAINING = set()  # ids of the estimators a fit or partial_fit is running on
_TRAINING_LOCK = threading.Lock()


@contextlib.contextmanager
def _input_attributes_kept_on_error(estimator):
    """Put back ``n_features_in_`` and ``feature_names_in_`` if the checks
    after ``validate_data`` (which sets them) refuse the call."""
    names = ("n_features_in_", "feature_names_in_")
    saved = {name: estimator.__dict__[name] for name in names
             if name in estimator.__dict__}  # fmt: skip
    try:
        yield
    except BaseException:
        for name in names:
            estimator.__dict__.pop(name, None)
        estimator.__dict__.update(saved)
        raise


def _one_call_at_a_time(method):
    """Refuse a training call on an estimator that another call is training.

    Two threads stepping one solver would interleave their updates and lose
    some without a word; serialising them here would hide a user's race.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with _TRAINING_LOCK:
            if id(self) in _TRAINING:
                raise RuntimeError(
                    f"{type(self).__name__}.{method.__name__} was called while "
                    f"another call is training this estimator: concurrent calls "
                    f"would lose updates. Serialise them (a threading.Lock "
                    f"around the calls) or train one estimator per thread."
                )
            _TRAINING.add(id(self))
        try:
            return method(self, *args, **kwargs)
        finally:
            with _TRAINING_LOCK:
                _TRAINING.discard(id(self))

    return wrapper


class SGDLogisticRegression(ClassifierMixin, BaseEstimator):
    r"""Logistic regression trained by mini-batch stochastic gradient descent.

    Two classes give a sigmoid model with one weight vector; three or more a
    multinomial (softmax) model with one weight vector per class. The fit
    minimises

    .. math::

        J(W, b) = \frac{\sum_i s_i \, \mathrm{CE}(y_i, \mathrm{softmax}(x_i W + b))}
                       {\sum_i s_i} + \alpha R(W)

    where :math:`s_i` is ``sample_weight`` times ``class_weight`` (1 when
    neither is given), :math:`R(W) = \rho \|W\|_1 + \frac{1 - \rho}{2}
    \|W\|_2^2` with :math:`\rho` = ``l1_ratio`` (``penalty="l2"`` is
    :math:`\rho = 0`, ``"l1"`` is :math:`\rho = 1`) and the intercept is not
    penalised. The minimiser is that of ``LogisticRegression(C=1 / (alpha *
    sum(s)))`` with the same penalty and ``l1_ratio``.

    Each mini-batch B of m samples, starting at sample t, takes the step

    .. math::

        \theta \leftarrow \theta - \eta_B \nabla J_B(\theta), \qquad
        \eta_B = \sum_{k=0}^{m-1} \eta(t + k),

    where :math:`\nabla J_B` is the batch estimate of the gradient, the lab's
    :math:`\frac1m X_B^T(\hat y - y)` with sample weights, and
    :math:`\eta(t)` the per-sample learning rate of ``SGDClassifier``. A
    batch step is the sum of the per-sample steps, so ``eta0`` means what it
    means in ``SGDClassifier`` at any ``batch_size``. The penalty is applied
    lazily (L2 as a shared scale, L1 as the cumulative penalty of Tsuruoka
    et al., as in ``SGDClassifier``), so a batch costs only what its
    non-zeros cost. Each coordinate's step is capped so that it moves no
    further than a Newton step along that coordinate would, and the whole
    step is damped
    to the Newton step of the batch loss along it: summed per-sample rates
    are large for a batch, and the intercept and frequent features would
    otherwise overshoot (``docs/derivation.md`` derives all of this).

    The epoch runs in compiled code. A batch with enough work (non-zeros
    times outputs of at least 65,536: a default batch of a many-class text
    problem) is split among the threads OpenMP allows: the physical cores,
    or one under ``threadpoolctl.threadpool_limits(1)`` or
    ``OMP_NUM_THREADS=1``, as scikit-learn's own OpenMP code counts them.
    Every sum is added in one fixed order, so for given data, parameters
    and ``random_state`` the model is the same, to the bit, at any thread
    count.

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        The regularisation term R.
    alpha : float, default=1e-4
        Strength of the penalty. Also sets the ``"auto"`` and ``"optimal"``
        learning rates.
    l1_ratio : float or None, default=0.15
        Share of L1 in the elastic-net penalty; used with
        ``penalty="elasticnet"`` only.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the training data) in ``fit``.
    tol : float, "auto" or None, default="auto"
        ``fit`` stops when the objective (or, with ``early_stopping``, the
        validation log-loss) has not improved on its best value so far by at
        least ``tol`` times that value for ``n_iter_no_change`` consecutive
        epochs. Relative, unlike SGDClassifier's absolute ``tol``: the
        objective of a text problem with many classes is about 2, that of
        a small dense problem can be 0.01, and one absolute tolerance stops
        the first late and the second early (``docs/defaults.md``).
        ``"auto"``: 2e-2 when ``average="auto"`` averages (which it does
        with ``learning_rate="auto"`` only), else 3.5e-3. The average stops improving on
        new data while the iterates' objective still falls by about 1% an
        epoch (at weak ``alpha`` the optimum is far away), and the last
        iterate of a fit with few batches an epoch keeps improving below 1%.
        None: run ``max_iter`` epochs.
    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.
    verbose : int, default=0
        Above 0, ``fit`` prints one line per epoch (epoch, objective, norm
        of W, ``t``, seconds) and ``partial_fit`` one line per call (samples
        seen, ``t_ - 1``; the call's samples per second; its objective).
    random_state : int, RandomState instance or None, default=None
        Seeds shuffling, the validation split and ``init="random"``.
    learning_rate : str, default="auto"
        One of ``"auto"``, ``"optimal"``, ``"constant"``, ``"invscaling"``,
        ``"adaptive"``, ``"adagrad"``: the per-sample schedule
        :math:`\eta(t)`. ``"auto"``: ``"optimal"`` bounded by
        ``2 / mean ||x_i||^2`` (the mean over the rows of non-zero weight
        seen so far), a rate of the order of one sample's inverse
        curvature: at weak ``alpha``, ``"optimal"`` stays far above it for
        many epochs and its steps jump from batch to batch. The others are
        ``SGDClassifier``'s: ``"optimal"``: :math:`1 / (\alpha (t_0 + t - 1))`
        with Bottou's :math:`t_0`; ``"constant"``: ``eta0``; ``"invscaling"``:
        ``eta0 / t ** power_t``; ``"adaptive"``: ``eta0``, divided by 5
        each time the stopping criterion fails. ``"adagrad"``: per-feature
        rates ``eta0 / sqrt(sum of the feature's squared batch gradients)``,
        where ``eta0`` is the step of one batch (try 1.0), for sparse data
        whose features differ widely in frequency.
    eta0 : float, default=0.01
        Initial per-sample learning rate of the ``"constant"``,
        ``"invscaling"`` and ``"adaptive"`` schedules.
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training data,
        score it after each epoch by log-loss, stop when it stops improving
        and keep the coefficients of the best epoch.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    n_iter_no_change : int, default=3
        Epochs without improvement before stopping. (SGDClassifier uses 5;
        3 stops text fits two epochs sooner with the same held-out log-loss,
        see ``docs/defaults.md``.)
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``. ``"balanced"``
        uses ``n_samples / (n_classes * count(class))``, counting the rows of
        non-zero weight; in ``partial_fit`` the counts are running counts of
        all the data seen so far.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution instead of ``init``.
    average : bool, int or "auto", default="auto"
        Return the average of the iterates (weighted by their batches'
        summed sample weight) as the model. An int starts averaging once
        that many samples have been seen (in units of sample weight).
        ``"auto"``: with ``learning_rate="auto"``, average from the second
        epoch on (after as many samples as the first call to ``fit`` or
        ``partial_fit`` had), if that first call has at least 4 batches of
        samples and the penalty is ``"l2"`` or None;
        otherwise return the last iterate. Averaging
        removes the noise of many small steps; with one to three batches an
        epoch there is little noise, and the average only lags behind the
        iterates (``docs/defaults.md``). An average of iterates has almost no
        exact zeros, which is what an L1 penalty is for.
    batch_size : int, default=256
        Samples per gradient step. 1 is per-sample SGD; ``n_samples`` or more
        is full-batch gradient descent. An epoch costs about the same at any
        size (the loop is compiled), and smaller batches learn more per
        epoch: on tf-idf text 256 stops one or two epochs sooner than 1024
        with the same held-out log-loss (``docs/defaults.md``). AdaGrad's
        steps run in Python, so with it large batches are much cheaper.
    init : {"zeros", "random"}, default="zeros"
        Initial weights when neither ``coef_init`` nor a warm start gives
        them: the lab's "randomly or 0". ``"random"`` draws each weight from
        N(0, 0.01^2).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        One row for two classes (the positive class ``classes_[1]``),
        one row per class otherwise. Read-only: to set the model by hand,
        assign new arrays to ``coef_`` and ``intercept_``; the next
        ``partial_fit`` continues from them.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Read-only, as ``coef_``.
    n_iter_ : int
        Epochs run by the last ``fit`` (1 per ``partial_fit``).
    t_ : float
        One plus the number of samples the model was trained on, the ``t``
        of the schedule. It counts samples, not batch steps, as in
        ``SGDClassifier``, in units of sample weight: a row of weight 2 is
        two samples, as two copies of it would be, so integer weights and
        repeated rows take the same steps (rescaling every weight changes
        the schedule as repeating the data would). Weights whose mean over
        the first ``fit`` or ``partial_fit`` data is below 1 count as if
        scaled to mean 1, so that weights summing to 1 still train.
    loss_curve_ : list of float
        Training objective J after each epoch: the weighted mean of each
        batch's loss just before its step, plus the penalty at the end of the
        epoch. The last 10,000 epochs at most: each ``partial_fit`` call adds
        one, and a stream should not grow the model.
    validation_scores_ : list of float
        With ``early_stopping``: minus the validation log-loss per epoch
        (higher is better, as scikit-learn's ``neg_log_loss`` scorer).
    best_validation_score_ : float
        With ``early_stopping``: the best of ``validation_scores_``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined when X has feature names that are all strings.

    Notes
    -----
    A pickled (or joblib-saved) model holds what continuing with
    ``partial_fit`` needs, once: the solver's weights, which ``coef_`` and
    ``intercept_`` are recomputed from on load, bit for bit, and, while
    averaging, the average's correction, a second array of ``coef_``'s size.
    So a model pickles to about the size of ``coef_``, or twice it while
    averaging (``average="auto"`` averages from the second epoch of most
    fits). An L1 or elastic-net penalty adds its cumulative state (an array
    of ``coef_``'s size and a vector), ``learning_rate="adagrad"`` its two
    per-feature vectors;
    a ``coef_`` the solver does not determine (the best epoch of
    ``early_stopping``, a ``sparsify``-ed or hand-set one) is saved beside
    the solver's state.

    See Also
    --------
    sklearn.linear_model.SGDClassifier : Per-sample SGD, one-vs-rest.
    sklearn.linear_model.LogisticRegression : Exact solvers, no streaming.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_sgdlogreg import SGDLogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SGDLogisticRegression(random_state=0).fit(X, y)
    >>> clf.coef_.shape
    (3, 4)
    >>> clf.predict_proba(X[:1]).sum().round(6)
    np.float64(1.0)
    """

    # The HTML repr (in notebooks) links the estimator's name to its API page.
    _doc_link_module = "sklearn_sgdlogreg"
    _doc_link_template = (
        "https://sklearn-sgdlogreg.readthedocs.io/en/latest/api/generated/"
        "{estimator_module}.{estimator_name}.html"
    )

    _parameter_constraints = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [
            Interval(Real, None, None, closed="neither"),
            None,
            StrOptions({"auto"}),
        ],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "learning_rate": [
            StrOptions(
                {"auto", "optimal", "constant", "invscaling", "adaptive", "adagrad"}
            )
        ],
        "eta0": [Interval(Real, 0, None, closed="left")],
        "power_t": [Interval(Real, None, None, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "warm_start": ["boolean"],
        "average": [
            Interval(Integral, 1, None, closed="left"),
            "boolean",
            StrOptions({"auto"}),
        ],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"zeros", "random"})],
    }

    def __init__(
        self,
        penalty="l2",
        *,
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol="auto",
        shuffle=True,
        verbose=0,
        random_state=None,
        learning_rate="auto",
        eta0=0.01,
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=3,
        class_weight=None,
        warm_start=False,
        average="auto",
        batch_size=256,
        init="zeros",
    ):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.batch_size = batch_size
        self.init = init

    # ------------------------------------------------------------------ #
    # Training
    # ------------------------------------------------------------------ #

    @_fit_context(prefer_skip_nested_validation=True)
    @_one_call_at_a_time
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the model on (X, y) for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. CSR input is used as it is, without a copy, when
            its dtype is float32 or float64 and its indices are sorted with
            no duplicates (duplicate entries are summed, on a copy).
        y : array-like of shape (n_samples,)
            Target labels.
        coef_init : array-like of shape (n_classes, n_features), default=None
            Initial weights ((1, n_features) for two classes).
        intercept_init : array-like of shape (n_classes,), default=None
            Initial intercept ((1,) for two classes).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight k counts the row k times.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self._check_schedule_params()
        if self.warm_start and hasattr(self, "coef_") and coef_init is None:
            coef_init, intercept_init = self.coef_, self.intercept_
        with _input_attributes_kept_on_error(self):
            X, y, squared_norms = self._training_data(X, y, reset=True)
            classes, y_index = np.unique(y, return_inverse=True)
            self._check_two_classes(classes)
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
            counts = _weighted_class_counts(y_index, sample_weight, len(classes))
            sample_weight = self._weigh_classes(sample_weight, y_index, classes, counts)
            _check_weight_sum(sample_weight)
            if not sample_weight.any():
                applied = (
                    f" once class_weight={self.class_weight!r} is applied"
                    if self.class_weight is not None
                    else ""
                )
                raise ValueError(f"Every sample has zero weight{applied}.")
            rng = check_random_state(self.random_state)
            solver = self._new_solver(X, classes, coef_init, intercept_init, rng)
            train, validation = np.arange(X.shape[0]), None
            if self.early_stopping:
                train, validation = self._validation_split(y_index, sample_weight, rng)
                if not self.shuffle:
                    train = np.sort(train)  # visited in the data's order
            parts = self._parts(classes, solver)
        # Every check has passed: only now does the previous model go.
        self._reset(classes, counts, rng, solver)
        self._partial_fit(
            X, y_index, sample_weight, train, validation, self.max_iter, parts,
            squared_norms, warn=True,
        )  # fmt: skip
        self._check_model_finite()
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_one_call_at_a_time
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), continuing from where the last call stopped.

        The step counter ``t_``, the owed penalties and the average all
        carry over, so a stream of ``partial_fit`` calls learns as one
        ``fit`` over the concatenated stream would, but for what only the
        whole data could tell: ``learning_rate="auto"`` bounds the rate by
        the mean squared row norm of the rows seen so far, and
        ``average="auto"`` starts after the first call's rows (so a first
        chunk of fewer than 4 batches means no average). The loss, schedule and
        penalty are built from the current parameters at every call, so a
        parameter changed by ``set_params`` between calls applies from the
        next call on (``average`` too: averaging starts, or stops, there);
        ``learning_rate`` cannot change between ``"adagrad"`` and the others,
        whose states differ. A batch whose weights are all zero changes
        nothing.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call, ignored after.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        tic = time.perf_counter()
        first = not hasattr(self, "_solver")
        if not first:
            # scikit-learn's fit context skips this on later partial_fit
            # calls; a setting changed by set_params since must still be
            # checked before it reaches the solver.
            self._validate_params()
        self._check_schedule_params()
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if self.early_stopping:
            raise ValueError(
                "early_stopping must be False with partial_fit: a stream has no "
                "held-out part to stop on. Score a validation set between calls."
            )
        with _input_attributes_kept_on_error(self):
            X, y, squared_norms = self._training_data(X, y, reset=first)
            classes, counts, X, rng, solver = self._stream_state(classes, X, first)
            # Refuses a schedule the solver cannot take.
            parts = self._parts(classes, solver)
            y_index = _class_indices(y, classes)
            sample_weight = _weights_of_chunk(sample_weight, X)
            counts = counts + _weighted_class_counts(
                y_index, sample_weight, len(classes)
            )
            sample_weight = self._weigh_classes(sample_weight, y_index, classes, counts)
            _check_weight_sum(sample_weight)
            hand_set = None if first else self._hand_set_model()
        # Every check has passed: only now does the estimator change.
        if first:
            self._reset(classes, counts, rng, solver)
        elif hand_set is not None:
            self._solver.set_weights(*hand_set)
            self._show_solvers_model()  # which is now the one set by hand
        self._class_counts = counts
        if not sample_weight.any():
            # Weightless data is absent data: nothing moves, not even t_.
            if first:
                self.t_, self.n_iter_ = self._solver.t, 1
            return self
        self._partial_fit(
            X, y_index, sample_weight, np.arange(X.shape[0]), None, 1, parts,
            squared_norms, verbose=False,
        )  # fmt: skip
        if self.verbose:
            seconds = time.perf_counter() - tic
            print(
                f"-- partial_fit: {self._solver.t - 1:.10g} samples seen, "
                f"{X.shape[0] / seconds:,.0f} samples/s, objective: "
                f"{self.loss_curve_[-1]:.6f}"
            )
        return self

    def _training_data(self, X, y, reset):
        """fit's and partial_fit's checks of X and y: X as CSR of float64 or
        float32, y, and the squared norms of X's rows."""
        if sp.issparse(X):
            X = _checked_csr(X)  # before validate_data reads it
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
            reset=reset,
        )  # fmt: skip
        X = _as_csr(X)
        if _has_duplicate_entries(X):
            # Entries of one cell are one input, their sum, to the curvature
            # caps and the row norms too: summed on a copy, so the caller's X
            # is left as it is. (Unsorted indices, as TfidfVectorizer leaves
            # them, need no copy.)
            X = X.copy()
            X.sum_duplicates()
        check_classification_targets(y)
        return X, y, _squared_row_norms(X)

    def _stream_state(self, classes, X, first):
        """What a partial_fit call continues from: the classes, the running
        class counts, X in the solver's dtype, the rng and the solver (new
        ones on the first call, not yet the estimator's)."""
        if first:
            classes = np.unique(classes)
            self._check_two_classes(classes)
            rng = check_random_state(self.random_state)
            solver = self._new_solver(X, classes, rng=rng)
            return classes, np.zeros(len(classes)), X, rng, solver
        self._check_same_classes(classes)
        # The solver's weights are of the first chunk's dtype.
        X = X.astype(self._solver.dtype, copy=False)
        return self.classes_, self._class_counts, X, self._rng, self._solver

    def _partial_fit(
        self, X, y_index, sample_weight, train, validation, max_iter, parts,
        squared_norms, warn=False, verbose=True,
    ):  # fmt: skip
        """Up to ``max_iter`` epochs over the rows ``train``: fit's and
        partial_fit's one training path.

        ``parts``: the loss, schedule and penalty that ``_parts`` built from
        the current parameters. ``validation``: rows to score each epoch for
        early stopping, or None.
        """
        loss, schedule, penalty = parts
        if validation is None:  # every row trains: no copies of the two
            self._solver.observe(sample_weight, squared_norms)
        else:
            self._solver.observe(sample_weight[train], squared_norms[train])
        if self._solver.weight_unit != 1:
            sample_weight = sample_weight / self._solver.weight_unit
        self._solver.set_average(self._average_start())
        schedule.fit_to_data(self._solver.mean_squared_norm)
        rule = StoppingRule(self._tol(), self.n_iter_no_change)
        best = None
        converged = False
        for epoch in range(1, max_iter + 1):
            tic = time.perf_counter()
            batches = Batches(
                train,
                sample_weight,
                self.batch_size,
                self._rng if self.shuffle else None,
            )
            objective = self._solver.run_epoch(
                X, y_index, sample_weight, batches, loss, schedule, penalty,
                self.fit_intercept,
            )  # fmt: skip
            self.loss_curve_.append(objective)
            del self.loss_curve_[:-LOSS_CURVE_LENGTH]
            if not np.isfinite(objective):
                self._discard_diverged(epoch)
            value = objective
            if validation is not None:
                value, best = self._validate(
                    X, y_index, sample_weight, validation, best
                )
            if self.verbose and verbose:
                print(self._progress_line(epoch, objective, time.perf_counter() - tic))
            if rule.stalled(value) and schedule.stalled():
                converged = True
                break
        self.n_iter_ = epoch
        self.t_ = self._solver.t
        # partial_fit goes on from the solver, not from the best epoch.
        self._show_solvers_model(best)
        if warn and not converged and self.tol is not None:
            self._warn_not_converged()
        return self

    def _reset(self, classes, class_counts, rng, solver):
        """Forget the previous model: from here on, these classes and solver."""
        self.classes_ = classes
        self._class_counts = class_counts
        self._rng = rng
        self._solver = solver
        self._show_solvers_model()
        self.loss_curve_ = []
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
        else:
            # Not left over from an earlier fit with early stopping.
            self.__dict__.pop("validation_scores_", None)
            self.__dict__.pop("best_validation_score_", None)

    def _parts(self, classes, solver):
        """The loss, schedule and penalty of the current parameters, for
        ``classes``; refuses a schedule ``solver`` cannot continue with."""
        schedule = make_schedule(
            self.learning_rate, self.eta0, self.power_t, self.alpha
        )
        if schedule.per_feature != solver.per_feature:
            raise ValueError(
                f"learning_rate={self.learning_rate!r} cannot continue a model "
                f"trained with learning_rate="
                f"{'adagrad' if solver.per_feature else 'a shared rate'}: "
                f"AdaGrad keeps per-feature state the other schedules do not. "
                f"Call fit to start again."
            )
        return (
            loss_for(len(classes)),
            schedule,
            ElasticNet.from_params(self.penalty, self.alpha, self.l1_ratio),
        )

    def _average_start(self):
        if self.average is False:
            return None
        if isinstance(self.average, str):  # "auto"
            if (
                self.learning_rate != "auto"
                or self.penalty in ("l1", "elasticnet")
                or self._solver.first_samples < AUTO_AVERAGE_BATCHES * self.batch_size
            ):
                return None
            # A start counts the batch that reaches it: just past the first
            # call's samples is the first batch of the second epoch.
            return np.nextafter(self._solver.first_samples, np.inf)
        # Beyond the int64 samples counter, averaging never starts.
        return 1 if self.average is True else min(int(self.average), 2**62)

    def _validate(self, X, y_index, sample_weight, validation, best):
        """Score the validation rows; return their log-loss and the best model."""
        score = -self._log_loss(
            X[validation], y_index[validation], sample_weight[validation]
        )
        self.validation_scores_.append(score)
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            # The solver makes new arrays each epoch: no copy needed.
            best = (self.coef_, self.intercept_)
        return -score, best

    def _new_solver(self, X, classes, coef_init=None, intercept_init=None, rng=None):
        n_features = X.shape[1]
        n_outputs = loss_for(len(classes)).n_outputs(len(classes))
        dtype = X.dtype
        if coef_init is not None:
            if sp.issparse(coef_init):  # a sparsified coef_ on warm start
                coef_init = coef_init.toarray()
            coef = np.asarray(coef_init, dtype=dtype)
            if coef.shape != (n_outputs, n_features):
                raise ValueError(
                    f"coef_init has shape {coef.shape}; expected "
                    f"{(n_outputs, n_features)} for {len(classes)} classes "
                    f"and {n_features} features."
                )
            if not _all_finite(coef):
                raise ValueError("coef_init has non-finite values (NaN or inf).")
            W = np.array(coef.T, order="C")
        elif self.init == "random":
            W = rng.normal(0.0, 0.01, size=(n_features, n_outputs)).astype(dtype)
        else:
            W = np.zeros((n_features, n_outputs), dtype=dtype)
        intercept = np.zeros(n_outputs, dtype=dtype)
        if intercept_init is not None:
            intercept_init = np.asarray(intercept_init, dtype=dtype).reshape(-1)
            if intercept_init.shape != (n_outputs,):
                raise ValueError(
                    f"intercept_init has shape {intercept_init.shape}; expected "
                    f"{(n_outputs,)}."
                )
            if not _all_finite(intercept_init):
                raise ValueError("intercept_init has non-finite values (NaN or inf).")
            intercept[:] = intercept_init
        if not self.fit_intercept:
            intercept[:] = 0
        schedule = make_schedule(
            self.learning_rate, self.eta0, self.power_t, self.alpha
        )
        # The average starts in _partial_fit, which knows the data.
        return Solver(W, intercept, per_feature=schedule.per_feature)

    def _check_same_classes(self, classes):
        if classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on the first call to "
                f"partial_fit: {self.classes_!r}."
            )

    def _weigh_classes(self, sample_weight, y_index, classes, counts):
        """``sample_weight`` times each row's class weight.

        ``counts``: the rows of non-zero weight of each class seen so far,
        this data included, so that ``"balanced"`` in ``partial_fit``
        balances a stream whose class frequencies it learns as it goes.
        """
        if self.class_weight is None or not sample_weight.any():
            return sample_weight
        return sample_weight * self._class_weights(classes, counts)[y_index]

    def _class_weights(self, classes, counts):
        """The weight of each class: ``class_weight`` resolved, with
        ``"balanced"`` from ``counts`` (rows of non-zero weight per class)."""
        if self.class_weight == "balanced":
            with np.errstate(divide="ignore"):
                weights = counts.sum() / (len(classes) * counts)
            return np.where(counts > 0, weights, 0.0)
        # y only matters to "balanced": any labels do for a dict.
        weights = compute_class_weight(self.class_weight, classes=classes, y=classes)
        bad = ~np.isfinite(weights) | (weights < 0)
        if bad.any():
            raise ValueError(
                f"class_weight must be finite and non-negative; it gives "
                f"{weights[bad][0]!r} to class {classes[bad][0]!r}."
            )
        return weights

    def _validation_split(self, y_index, sample_weight, rng):
        splitter = StratifiedShuffleSplit(
            test_size=self.validation_fraction, random_state=rng
        )
        try:
            train, validation = next(splitter.split(np.zeros(len(y_index)), y_index))
        except ValueError as exc:
            raise ValueError(
                f"early_stopping could not hold out a stratified "
                f"validation_fraction={self.validation_fraction}: {exc}"
            ) from exc
        if not sample_weight[train].any() or not sample_weight[validation].any():
            raise ValueError(
                "early_stopping needs samples of non-zero weight in both the "
                "training and the validation part."
            )
        return train, validation

    def _check_schedule_params(self):
        if self.learning_rate in ("auto", "optimal") and self.alpha == 0:
            raise ValueError(
                f"alpha must be > 0 with learning_rate={self.learning_rate!r}: "
                f"its rate is 1 / (alpha * (t0 + t - 1))."
            )
        if self.learning_rate not in ("auto", "optimal") and self.eta0 <= 0:
            raise ValueError(
                f"eta0 must be > 0 with learning_rate={self.learning_rate!r}."
            )

    @staticmethod
    def _check_two_classes(classes):
        if len(classes) < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, "
                f"but the data contains only one class: {classes[0]!r}."
            )

    def _show_solvers_model(self, model=None):
        """From now on ``coef_`` and ``intercept_`` are the solver's model,
        computed when first read, or ``model`` (the best epoch's), a fixed
        one that ``partial_fit`` does not continue from."""
        self._shown = model
        self._shown_by_hand = False

    def _model(self):
        """``(coef_, intercept_)``: the one shown, else the solver's."""
        if self.__dict__.get("_shown") is not None:
            return self._shown
        if "_solver" not in self.__dict__:
            raise AttributeError(
                f"This {type(self).__name__} instance is not fitted yet: it has "
                f"no coef_ or intercept_."
            )
        return self._solver.coef_intercept()

    def _check_model_finite(self):
        """After a fit: the model read as users read it is finite.

        Each epoch checks the weights and the average's scalars; the
        average's correction U is checked in full only now and then, and
        an overflow there shows only in the averaged model.
        """
        if not _all_finite(*self._model()):
            self._discard_diverged(self.n_iter_)

    def _show_by_hand(self, coef, intercept):
        self._shown = (coef, intercept)
        self._shown_by_hand = True

    @property
    def coef_(self):
        """Weights, shape (1, n_features) or (n_classes, n_features); read-only."""
        return self._model()[0]

    @coef_.setter
    def coef_(self, value):
        self._show_by_hand(value, self._model()[1])

    @property
    def intercept_(self):
        """Intercepts, shape (1,) or (n_classes,); read-only."""
        return self._model()[1]

    @intercept_.setter
    def intercept_(self, value):
        self._show_by_hand(self._model()[0], value)

    def _log_loss(self, X, y_index, sample_weight):
        raw = self._raw_prediction(X)
        loss, _ = loss_for(len(self.classes_)).loss_gradient(raw, y_index)
        return float(sample_weight @ loss / sample_weight.sum())

    def _progress_line(self, epoch, objective, seconds):
        return (
            f"-- Epoch {epoch}, objective: {objective:.6f}, norm W: "
            f"{self._solver.weight_norm():.4f}, t: {self._solver.t:.10g}, "
            f"{seconds:.3f} s"
        )

    def _hand_set_model(self):
        """``(W, intercept)`` from a ``coef_`` or ``intercept_`` assigned by
        hand since the solver last trained, checked; None if neither was."""
        if not self.__dict__.get("_shown_by_hand", False):
            return None
        coef = self.coef_.toarray() if sp.issparse(self.coef_) else self.coef_
        coef = np.asarray(coef, dtype=self._solver.dtype)
        intercept = np.asarray(self.intercept_, dtype=self._solver.dtype).reshape(-1)
        n_outputs = self._solver.V.shape[1]
        if coef.shape != (n_outputs, self.n_features_in_) or intercept.shape != (
            n_outputs,
        ):
            raise ValueError(
                f"coef_ and intercept_ set by hand have shapes {coef.shape} and "
                f"{intercept.shape}; the model needs "
                f"{(n_outputs, self.n_features_in_)} and {(n_outputs,)}."
            )
        if not _all_finite(coef, intercept):
            raise ValueError("coef_ or intercept_ set by hand is not finite.")
        return np.array(coef.T, order="C"), intercept.copy()

    def _discard_diverged(self, epoch):
        """Forget the model (it is no longer finite) and say what to change."""
        self._forget_model()
        rate = (
            f"learning_rate={self.learning_rate!r}"
            if self.learning_rate in ("auto", "optimal", "adagrad")
            else f"learning_rate={self.learning_rate!r}, eta0={self.eta0}"
        )
        raise ValueError(
            f"Training diverged in epoch {epoch}: the objective or the weights "
            f"are no longer finite, and the model was discarded. Likely causes: "
            f"a rate too large for the scale of X ({rate}, alpha={self.alpha}), "
            f"extreme sample or class weights, or an extreme coef_init or "
            f"intercept_init. Scale X (StandardScaler, or normalize rows), "
            f"lower eta0, or use learning_rate='auto'."
        )

    def _forget_model(self):
        """Back to no model: what a fit that did not finish leaves."""
        for name in ("_shown", "_shown_by_hand", "_solver", "classes_", "t_",
                     "n_iter_"):  # fmt: skip
            self.__dict__.pop(name, None)

    def _tol(self):
        """The relative tolerance of the stopping rule (``tol="auto"`` resolved)."""
        if not isinstance(self.tol, str):
            return self.tol
        auto_average = self.average == "auto" and self._solver.average is not None
        return 2e-2 if auto_average else 3.5e-3

    def _warn_not_converged(self):
        change = relative = float("nan")
        if len(self.loss_curve_) > 1:
            change = self.loss_curve_[-1] - self.loss_curve_[-2]
            relative = change / abs(self.loss_curve_[-2])
        watched = "validation log-loss" if self.early_stopping else "objective"
        warnings.warn(
            f"Maximum number of epochs ({self.max_iter}) reached before the "
            f"{watched} stopped improving by tol={self._tol()} (relative) for "
            f"{self.n_iter_no_change} epochs; the last change of the objective "
            f"was {change:.3g} ({relative:+.2%}). Increase max_iter, raise tol, "
            f"or try a larger batch_size or a smaller eta0.",
            ConvergenceWarning,
        )

    # ------------------------------------------------------------------ #
    # Prediction
    # ------------------------------------------------------------------ #

    def _raw_prediction(self, X):
        scores = safe_sparse_dot(X, self.coef_.T, dense_output=True)
        return np.asarray(scores) + self.intercept_

    def _validated_raw_prediction(self, X):
        """Scores of new data, shape (n_samples, n_outputs), after checks."""
        check_is_fitted(self)
        if sp.issparse(X):
            # SciPy's product reads the structure without bounds checks.
            X = _checked_csr(X)
        X = validate_data(
            self, X, accept_sparse="csr", reset=False, dtype=[np.float64, np.float32]
        )
        return self._raw_prediction(X)

    def decision_function(self, X):
        """Scores: log-odds of ``classes_[1]`` for two classes, else per class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        raw = self._validated_raw_prediction(X)
        return raw[:, 0] if raw.shape[1] == 1 else raw

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[scores.argmax(axis=1)]

    def predict_proba(self, X):
        """Class probabilities, from a log-sum-exp that never overflows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        raw = self._validated_raw_prediction(X)
        return loss_for(len(self.classes_)).predict_proba(raw)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed without ``log(0)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, taken from the scores directly so that
            probabilities too small for a float keep their logarithm.
        """
        raw = self._validated_raw_prediction(X)
        return loss_for(len(self.classes_)).predict_log_proba(raw)

    def densify(self):
        """Store ``coef_`` as a dense array (the default).

        Returns
        -------
        self : object
        """
        check_is_fitted(self)
        coef, intercept = self._model()
        if sp.issparse(coef):
            # Still set by hand if it was: partial_fit starts from it.
            self._shown = (coef.toarray(), intercept)
        return self

    def sparsify(self):
        """Store ``coef_`` as a CSR matrix, worth it when most weights are 0.

        Prediction works on either form; ``partial_fit`` continues from the
        solver's own state either way.

        Returns
        -------
        self : object
        """
        check_is_fitted(self)
        coef, intercept = self._model()
        self._shown = (sp.csr_matrix(coef), intercept)
        # Only its form changed: partial_fit continues from the solver, as
        # it would have (or from the model set by hand, if that is it).
        self._shown_by_hand = self.__dict__.get("_shown_by_hand", False)
        return self

    def __sizeof__(self):
        # What Dask weighs the estimator by when it decides whether to move
        # a model to the data or the data to the model (dask-ml's
        # Incremental): the solver's arrays, not the object's few bytes.
        size = object.__sizeof__(self)
        if "_solver" in self.__dict__:
            size += self._solver.__sizeof__()
        return size

    def __setstate__(self, state):
        if "_exported" in state:
            # coef_ is a property now: a stored coef_ would be shadowed.
            raise ValueError(
                "This SGDLogisticRegression was pickled by an earlier version "
                "of sklearn-sgdlogreg, whose state this version does not read; "
                "fit it again."
            )
        super().__setstate__(state)

    def __sklearn_is_fitted__(self):
        # validate_data sets n_features_in_ before a first call's own checks
        # can refuse it: that attribute alone is not a fitted model.
        return hasattr(self, "_solver")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_class = True
        return tags


def _weighted_class_counts(y_index, sample_weight, n_classes):
    """Rows of non-zero weight per class."""
    return np.bincount(y_index[sample_weight > 0], minlength=n_classes).astype(float)


def _class_indices(y, classes):
    """Each label's index in ``classes``; labels not in them are refused."""
    unknown = ~np.isin(y, classes)
    if unknown.any():
        raise ValueError(
            f"y has labels not in classes: {np.unique(y[unknown])!r}; "
            f"classes are {classes!r}."
        )
    return np.searchsorted(classes, y)


def _weights_of_chunk(sample_weight, X):
    """Validated weights of a partial_fit chunk, which may all be zero.

    scikit-learn's own check refuses all-zero weights (from 1.8, and only
    there can it be told not to); a stream may hold such a chunk, and it
    changes nothing.
    """
    if (
        sample_weight is not None
        and np.ndim(sample_weight) <= 1
        and np.size(sample_weight) in (1, X.shape[0])
        and not np.any(sample_weight)
    ):
        return np.zeros(X.shape[0], dtype=X.dtype)
    return _check_sample_weight(
        sample_weight, X, dtype=X.dtype, ensure_non_negative=True
    )


def _has_duplicate_entries(X):
    """Whether a CSR matrix stores some cell twice (scipy sums them)."""
    if X.has_canonical_format:  # known sorted without duplicates
        return False
    indptr = X.indptr.astype(X.indices.dtype, copy=False)
    return has_duplicate_entries(X.indices, indptr, X.shape[1])


def _check_weight_sum(sample_weight):
    """Refuse weights (class weights applied) whose sum overflows float64."""
    if not np.isfinite(sample_weight.sum(dtype=np.float64)):
        raise ValueError(
            "The sample weights (times class_weight) sum to more than float64 "
            "holds. Divide them by a common factor: the objective does not "
            "change, the schedule counts fewer samples."
        )


def _as_csr(X):
    """CSR view of validated X: sparse input as it is, dense input converted.

    Sparse input is used as it comes: the solver needs neither sorted nor
    de-duplicated indices (TfidfVectorizer's are unsorted), so no copy. (A
    column stored twice in a row counts twice in its rate cap, as the sum
    of the squares rather than the square of the sum: the path differs
    from that of the summed matrix, the optimum does not.) Dense input goes
    through the same sparse loop so that dense and sparse copies of the same
    data give the same model. Strided arrays are copied into contiguous
    ones, which the compiled loop takes; the index dtypes are already int32
    or int64 (``_checked_csr``, or SciPy's conversion).
    """
    if not sp.issparse(X):
        return sp.csr_matrix(X)
    arrays = (X.data, X.indices, X.indptr)
    if not all(a.flags.c_contiguous for a in arrays):
        X = sp.csr_matrix(
            tuple(np.ascontiguousarray(a) for a in arrays), shape=X.shape, copy=False
        )
    return X


def _all_finite(*arrays):
    """Whether no entry is NaN or infinite, without a temporary of their
    size (min and max carry a NaN or an infinity through)."""
    return all(
        np.isfinite(a.min()) and np.isfinite(a.max()) for a in arrays if a.size
    )


def _squared_row_norms(X):
    """Squared norm of each row of CSR ``X``, refusing rows that overflow.

    Their squares feed the ``"auto"`` rate's bound and every score: a row
    whose squared norm overflows float64 would make the bound 0 and train
    nothing, or the scores infinite.
    """
    if X.dtype != np.float64:  # squares of float32 overflow sooner
        X = sp.csr_matrix(
            (X.data.astype(np.float64), X.indices, X.indptr), shape=X.shape
        )
    with np.errstate(over="ignore"):
        squared = row_norms(X, squared=True)
    if not np.isfinite(squared).all():
        row = int(np.flatnonzero(~np.isfinite(squared))[0])
        raise ValueError(
            f"X is too large to train on: the squared norm of row {row} "
            f"overflows float64 (its largest |value| is "
            f"{np.abs(X[row].data).max():.3g}). Scale X, e.g. with "
            f"StandardScaler, MaxAbsScaler or normalize."
        )
    return squared


def _checked_csr(X):
    """Refuse a CSR matrix whose structure cannot be read safely; give one
    with int32 or int64 indices (a copy of them if they had another dtype).

    SciPy does not check a structure changed after construction, and both
    the compiled loop and SciPy's products read it without bounds checks;
    SciPy's routines take int32 and int64 indices only. Other sparse formats
    are left to SciPy's conversion.
    """
    if X.format == "coo":
        _check_coordinates(X)
        return X
    if X.format == "csc":
        _check_compressed(X, "CSC", "columns", "row")
        return X
    if X.format != "csr":
        return X
    _check_compressed(X, "CSR", "rows", "column")
    indptr, indices = X.indptr, X.indices
    if indices.dtype == indptr.dtype and indptr.dtype in (np.int32, np.int64):
        return X
    wide = max(indptr[-1], X.shape[1]) > np.iinfo(np.int32).max
    index_dtype = np.int64 if wide else np.int32
    return type(X)(
        (X.data, indices.astype(index_dtype), indptr.astype(index_dtype)),
        shape=X.shape,
    )


def _check_coordinates(X):
    """Refuse a COO matrix with an index outside its shape: SciPy's
    conversion to CSR would write out of bounds."""
    rows, columns = ("row", X.row, X.shape[0]), ("column", X.col, X.shape[1])
    for name, index, size in (rows, columns):
        if index.size and (index.min() < 0 or index.max() >= size):
            raise ValueError(
                f"X is not a valid sparse matrix: it has {name} indices outside "
                f"0..{size - 1}."
            )


def _check_compressed(X, kind, major, minor):
    """Refuse a CSR or CSC structure (``kind``) that cannot be read safely:
    one indptr entry per ``major`` line plus one, ``minor`` indices in
    range."""
    indptr, indices = X.indptr, X.indices
    n_major, n_minor = X.shape if kind == "CSR" else X.shape[::-1]
    for name, array in (("indptr", indptr), ("indices", indices)):
        if array.ndim != 1 or array.dtype.kind not in "iu":
            raise ValueError(
                f"X is not a valid {kind} matrix: its {name} must be a 1-d array "
                f"of integers, not {array.ndim}-d {array.dtype}."
            )
    if indptr.size != n_major + 1:
        raise ValueError(
            f"X is not a valid {kind} matrix: its indptr has {indptr.size} "
            f"entries; {n_major} {major} need {n_major + 1}."
        )
    if (
        indptr[0] != 0
        or indptr[-1] > min(indices.size, X.data.size)
        or np.any(indptr[1:] < indptr[:-1])
    ):
        raise ValueError(
            f"X is not a valid {kind} matrix: its indptr must start at 0, never "
            f"decrease and end within its indices and data."
        )
    used = indices[: indptr[-1]]
    if used.size and (used.min() < 0 or used.max() >= n_minor):
        raise ValueError(
            f"X is not a valid {kind} matrix: it has {minor} indices outside "
            f"0..{n_minor - 1}."
        )
