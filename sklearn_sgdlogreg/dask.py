"""Data-parallel training on a Dask cluster.

:class:`DaskSGDLogisticRegression` fits on a Dask array of CSR blocks without
moving the data: each block is validated and kept on the worker that made it,
and every epoch each worker runs the compiled mini-batch epoch over its own
blocks, from the same starting model, in parallel. The workers' moves are
then added up: the start moves by the number of workers times the mean of
their moves, weighted by the samples each trained on, which to first order
is what one machine taking all their steps in turn would do. (Iterative
parameter mixing, Mann et al., NIPS 2009; McDonald, Hall and Mann, NAACL
2010, takes the mean move itself; scaling it up by the number of workers is
a server learning rate, Reddi et al., ICLR 2021. The scaling-out page of the
documentation measures both.) The result starts the next epoch.

Only models travel: to each worker once an epoch, back through a tree of
sums, and to the client at the end. The mixing is done on the cluster, so
the client holds no data and no worker's model.

Needs the ``[dask]`` extra (``dask[array]`` and ``distributed``) and a
``distributed.Client``: the current one is used.
"""

import copy
import operator
import time

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    column_or_1d,
)

from ._estimator import (
    SGDLogisticRegression,
    _as_csr,
    _check_weight_sum,
    _checked_csr,
    _has_duplicate_entries,
    _squared_row_norms,
    _weights_of_chunk,
)
from ._solver import Batches
from ._stopping import StoppingRule

__all__ = ["DaskSGDLogisticRegression"]


class DaskSGDLogisticRegression(SGDLogisticRegression):
    """:class:`~sklearn_sgdlogreg.SGDLogisticRegression`, fitted on a Dask
    cluster, every worker training on its own blocks at once.

    ``fit`` on a Dask array of CSR (or dense) blocks, chunked by rows only,
    trains data-parallel: each epoch, every worker runs one epoch of the
    mini-batch solver over the blocks it holds, starting from the same
    model, and their moves are added up (the mean move, weighted by the
    samples each trained on, times the number of workers). The step
    counter advances by all the samples of the epoch, and the average
    (``average``) holds the iterates of every worker. The blocks
    never leave the workers; the mixing runs on the cluster.

    What one machine's ``fit`` does, it does, except: ``learning_rate=
    "adagrad"`` (per-feature accumulators, not mixed) and
    ``early_stopping=True`` (score a held-out set between fits instead) are
    refused; the cumulative L1 penalty's charges start afresh every epoch
    (each worker's model has paid them); and the mixture of models trained
    in parallel is not the model one machine trains in sequence, so the
    path differs (the documentation's scaling-out page measures by how
    much).

    Anything else (NumPy arrays, SciPy matrices) is fitted on this machine
    as by :class:`~sklearn_sgdlogreg.SGDLogisticRegression`. The fitted
    model is an ordinary one: it pickles, and ``partial_fit`` continues it
    on one machine. ``predict``, ``predict_proba``, ``predict_log_proba``
    and ``decision_function`` on a Dask array return a Dask array, computed
    block by block on the workers when asked.

    Parameters are those of :class:`~sklearn_sgdlogreg.SGDLogisticRegression`.

    Examples
    --------
    >>> import dask.array as da
    >>> from distributed import Client, LocalCluster
    >>> from sklearn_sgdlogreg.dask import DaskSGDLogisticRegression
    >>> from sklearn_sgdlogreg.datasets import PlantedBagOfWords
    >>> X, y = PlantedBagOfWords(n_features=2**12).sample(4_000, random_state=0)
    >>> with LocalCluster(n_workers=2, threads_per_worker=1,
    ...                   dashboard_address=None) as cluster, Client(cluster):
    ...     dX = da.from_array(X, chunks=(1_000, X.shape[1]), asarray=False)
    ...     dy = da.from_array(y, chunks=1_000)
    ...     clf = DaskSGDLogisticRegression(random_state=0).fit(dX, dy)
    ...     proba = clf.predict_proba(dX)  # lazy
    ...     shape = proba.compute().shape
    >>> shape
    (4000, 2)
    """

    # How the workers' moves combine: "sum" adds them up (the start moved
    # by the number of workers times the samples-weighted mean move), as
    # one machine would take their steps in turn; "average" takes the mean
    # move. docs/scaling.md compares them.
    _combine = "sum"

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit on a Dask array data-parallel, or on local data as the base class.

        Parameters
        ----------
        X : dask.array.Array of shape (n_samples, n_features), or local data
            Blocks of CSR matrices (or dense arrays), one block per row
            chunk.
        y : dask.array.Array or array-like of shape (n_samples,)
            Chunked as X's rows; a local array is split to match.
        coef_init, intercept_init : array-like, default=None
            As in :meth:`SGDLogisticRegression.fit`.
        sample_weight : dask.array.Array or array-like, default=None
            Chunked as X's rows; a local array is split to match.

        Returns
        -------
        self : object
        """
        if not _is_dask_collection(X):
            return super().fit(
                X, y, coef_init=coef_init, intercept_init=intercept_init,
                sample_weight=sample_weight,
            )  # fmt: skip
        self._validate_params()
        self._check_schedule_params()
        for name, refused, why in (
            ("learning_rate", "adagrad", "its per-feature state is not mixed"),
            ("early_stopping", True, "score a held-out set between fits"),
        ):
            if getattr(self, name) == refused:
                raise ValueError(
                    f"{name}={refused!r} is not supported on a Dask array "
                    f"({why})."
                )
        if self.warm_start and hasattr(self, "_solver") and coef_init is None:
            coef_init, intercept_init = self.coef_, self.intercept_
        from distributed import default_client

        client = default_client()
        parts, n_features, dtype, classes, counts = _prepare(
            client, X, y, sample_weight
        )
        self._check_two_classes(classes)
        if self.class_weight is not None:
            weights = self._class_weights(classes, counts)
            parts = client.map(_weigh_classes, parts, classes=classes,
                               weights=weights, pure=False)  # fmt: skip
        else:
            parts = client.map(_index_classes, parts, classes=classes, pure=False)
        summaries = client.gather(client.map(_summarise, parts, pure=False))
        weight_sum = sum(summary[0] for summary in summaries)
        rows = sum(summary[1] for summary in summaries)
        if not rows:
            raise ValueError("Every sample has zero weight.")
        _check_weight_sum(np.array([weight_sum]))
        mean_squared_norm = sum(
            summary[2] * (summary[0] / weight_sum) for summary in summaries
        )
        rng = check_random_state(self.random_state)
        empty = sp.csr_matrix((0, n_features), dtype=dtype)
        solver = self._new_solver(empty, classes, coef_init, intercept_init, rng)
        solver.observe_summary(weight_sum, rows, mean_squared_norm)
        if solver.weight_unit != 1:
            parts = client.map(_divide_weights, parts, unit=solver.weight_unit,
                               pure=False)  # fmt: skip
        self._reset(classes, counts, rng, solver)
        del solver  # the estimator's reference is let go once it is sent
        self.n_features_in_ = n_features
        self.__dict__.pop("feature_names_in_", None)
        try:
            self._fit_on_cluster(client, parts)
        except BaseException:
            # Half a fit (a worker lost, an interrupt) is no model: forget
            # it, as a diverged fit is forgotten.
            self._forget_model()
            raise
        return self

    def _fit_on_cluster(self, client, parts):
        """Up to ``max_iter`` epochs, each on every worker at once."""
        from distributed import wait

        wait(parts)
        shares = _by_worker(client, parts)
        loss, schedule, penalty = self._parts(self.classes_, self._solver)
        self._solver.set_average(self._average_start())
        schedule.fit_to_data(self._solver.mean_squared_norm)
        settings = (loss, schedule, penalty, self.batch_size, self.shuffle,
                    self.fit_intercept)  # fmt: skip
        rule = StoppingRule(self._tol(), self.n_iter_no_change)
        state = client.scatter(self._solver, hash=False)
        # The client holds no model while the cluster trains: only the
        # final one comes back.
        del self._solver
        converged = False
        for epoch in range(1, self.max_iter + 1):
            tic = time.perf_counter()
            contributions = [
                client.submit(
                    _train_share, state, settings,
                    int(self._rng.randint(np.iinfo(np.int32).max)), *share,
                    # Where the share is; elsewhere only if that worker is
                    # lost (its parts are then recomputed there).
                    workers=[worker], allow_other_workers=True, pure=False,
                )  # fmt: skip
                for worker, share in shares.items()
            ]
            total = _tree_sum(client, contributions)
            gain = len(shares) if self._combine == "sum" else 1.0
            mixed = client.submit(_mix, state, total, penalty, gain, pure=False)
            objective = client.submit(operator.itemgetter(1), mixed).result()
            state = client.submit(operator.itemgetter(0), mixed, pure=False)
            self.loss_curve_.append(objective)
            if not np.isfinite(objective):
                self._discard_diverged(epoch)
            if self.verbose:
                print(
                    f"-- Epoch {epoch}, objective: {objective:.6f}, "
                    f"{time.perf_counter() - tic:.3f} s"
                )
            if rule.stalled(objective) and schedule.stalled():
                converged = True
                break
        self._solver = state.result()
        self.n_iter_ = epoch
        self.t_ = self._solver.t
        self._show_solvers_model()
        self._check_model_finite()
        if not converged and self.tol is not None:
            self._warn_not_converged()

    def decision_function(self, X):
        """Scores; a Dask array for a Dask array (lazy, block by block).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask.array.Array}

        Returns
        -------
        scores : ndarray or dask.array.Array
        """
        if _is_dask_collection(X):
            return self._by_block(X, "decision_function")
        return super().decision_function(X)

    def predict(self, X):
        """Most probable class; a Dask array for a Dask array (lazy).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask.array.Array}

        Returns
        -------
        y_pred : ndarray or dask.array.Array
        """
        if _is_dask_collection(X):
            return self._by_block(X, "predict")
        return super().predict(X)

    def predict_proba(self, X):
        """Class probabilities; a Dask array for a Dask array (lazy).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask.array.Array}

        Returns
        -------
        proba : ndarray or dask.array.Array of shape (n_samples, n_classes)
        """
        if _is_dask_collection(X):
            return self._by_block(X, "predict_proba")
        return super().predict_proba(X)

    def predict_log_proba(self, X):
        """Log-probabilities; a Dask array for a Dask array (lazy).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask.array.Array}

        Returns
        -------
        log_proba : ndarray or dask.array.Array of shape (n_samples, n_classes)
        """
        if _is_dask_collection(X):
            return self._by_block(X, "predict_log_proba")
        return super().predict_log_proba(X)

    def _by_block(self, X, method):
        """``method`` of this model, mapped over X's blocks."""
        check_is_fitted(self)
        # Labels, or scores in the promoted dtype of X and the model.
        dtype = (
            self.classes_.dtype
            if method == "predict"
            else np.result_type(X.dtype, self._solver.dtype)
        )
        if X.ndim != 2 or X.numblocks[1] != 1:
            raise ValueError(
                f"X must be a 2-D Dask array chunked by rows only; it has "
                f"{X.numblocks} blocks."
            )
        # This module imports Dask only inside functions, so the model
        # unpickles on any worker.
        model = self
        n_outputs = len(self.classes_)
        if method == "decision_function" and n_outputs == 2:
            n_outputs = 1
        if method == "predict" or n_outputs == 1:
            return X.map_blocks(
                _apply, model, method, dtype=dtype, drop_axis=1,
                meta=np.empty((0,), dtype=dtype),
            )  # fmt: skip
        return X.map_blocks(
            _apply, model, method, dtype=dtype,
            chunks=(X.chunks[0], (n_outputs,)),
            meta=np.empty((0, 0), dtype=dtype),
        )  # fmt: skip


def _apply(block, model, method):
    return getattr(model, method)(block)


def _is_dask_collection(X):
    try:
        from dask import is_dask_collection
    except ImportError:
        return False
    return is_dask_collection(X)


class _Part:
    """A block of training data, kept on the worker that made it.

    ``labels`` are the raw labels until :func:`_index_classes` turns them
    into class indices.
    """

    def __init__(self, X, labels, sample_weight, squared_norms):
        self.X = X
        self.labels = labels
        self.sample_weight = sample_weight
        self.squared_norms = squared_norms

    def replace(self, **changes):
        """A new part with some attributes changed: a task must not change
        its inputs, which Dask may hand to another task or recompute."""
        part = copy.copy(self)
        part.__dict__.update(changes)
        return part

    def __sizeof__(self):
        # Dask's memory accounting (spilling, transfers) reads this.
        arrays = [self.X.data, self.X.indices, self.X.indptr, self.labels,
                  self.sample_weight, self.squared_norms]  # fmt: skip
        return object.__sizeof__(self) + sum(a.nbytes for a in arrays)


def _blocks(X, y, sample_weight):
    """The delayed row blocks of X, and of y and sample_weight split to match."""
    import dask.array as da

    if X.ndim != 2 or X.numblocks[1] != 1:
        raise ValueError(
            f"X must be a 2-D Dask array chunked by rows only; it has "
            f"{X.numblocks} blocks. Rechunk it, e.g. X.rechunk({{1: -1}})."
        )
    x_blocks = list(X.to_delayed()[:, 0])

    def matching(v, name):
        if v is None:
            return [None] * len(x_blocks)
        if not _is_dask_collection(v):
            if any(np.isnan(c) for c in X.chunks[0]):
                raise ValueError(
                    f"{name} must be a Dask array chunked as X's rows when X's "
                    f"chunk sizes are unknown."
                )
            v = da.from_array(np.asarray(v), chunks=(X.chunks[0],))
        if v.numblocks[0] != len(x_blocks):
            raise ValueError(
                f"{name} has {v.numblocks[0]} blocks and X has "
                f"{len(x_blocks)}: chunk them alike."
            )
        return list(v.to_delayed().ravel())

    return x_blocks, matching(y, "y"), matching(sample_weight, "sample_weight")


def _prepare(client, X, y, sample_weight):
    """Checked blocks on the workers (futures) and what the client needs to
    know of them: n_features, dtype, the classes and their counts."""
    import dask

    parts = client.compute(
        [
            dask.delayed(_check_block)(x, v, w)
            for x, v, w in zip(*_blocks(X, y, sample_weight))
        ]
    )
    headers = client.gather(client.map(_header, parts, pure=False))
    n_features = {header[0] for header in headers}
    if len(n_features) != 1:
        raise ValueError(f"X's blocks have different numbers of columns: "
                         f"{sorted(n_features)}.")  # fmt: skip
    dtype = np.result_type(*(header[1] for header in headers))
    classes = np.unique(np.concatenate([header[2] for header in headers]))
    counts = np.zeros(len(classes))
    for _, _, labels, label_counts in headers:
        counts[np.searchsorted(classes, labels)] += label_counts
    if dtype != np.float32:
        dtype = np.dtype(np.float64)
    parts = client.map(_as_dtype, parts, dtype=dtype, pure=False)
    return parts, n_features.pop(), dtype, classes, counts


def _check_block(X, y, sample_weight):
    """One block of (X, y, sample_weight), checked as ``fit`` checks its
    data, as a :class:`_Part`."""
    if sp.issparse(X):
        X = _checked_csr(X)
    # A block may be empty (a filter left nothing of it) or weightless.
    X = _as_csr(
        check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32],
                    ensure_min_samples=0)
    )  # fmt: skip
    if _has_duplicate_entries(X):
        X = X.copy()
        X.sum_duplicates()
    y = column_or_1d(y, warn=True)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"A block of X has {X.shape[0]} rows and its block of y "
            f"{y.shape[0]}."
        )
    check_classification_targets(y)
    sample_weight = _weights_of_chunk(sample_weight, X)
    _check_weight_sum(sample_weight)
    return _Part(X, y, sample_weight, _squared_row_norms(X))


def _header(part):
    """A part's columns, dtype, labels and rows of non-zero weight per label."""
    labels, index = np.unique(part.labels, return_inverse=True)
    counts = np.bincount(index[part.sample_weight > 0], minlength=len(labels))
    return part.X.shape[1], part.X.dtype, labels, counts


def _as_dtype(part, dtype):
    return part.replace(X=part.X.astype(dtype, copy=False))


def _index_classes(part, classes):
    return part.replace(labels=np.searchsorted(classes, part.labels).astype(np.intp))


def _weigh_classes(part, classes, weights):
    part = _index_classes(part, classes)
    return part.replace(sample_weight=part.sample_weight * weights[part.labels])


def _divide_weights(part, unit):
    return part.replace(sample_weight=part.sample_weight / unit)


def _summarise(part):
    """A part's summed weight, rows of non-zero weight and weighted mean
    squared row norm (``Solver.observe_summary``)."""
    weight_sum = float(part.sample_weight.sum(dtype=np.float64))
    rows = int(np.count_nonzero(part.sample_weight))
    mean = 0.0
    if weight_sum > 0:
        mean = float(
            np.dot(np.divide(part.sample_weight, weight_sum), part.squared_norms)
        )
    return weight_sum, rows, mean


def _by_worker(client, parts):
    """The parts each worker holds, by worker address."""
    holders = client.who_has(parts)
    shares = {}
    for part in parts:
        worker = sorted(holders[part.key])[0]
        shares.setdefault(worker, []).append(part)
    return shares


def _train_share(start, settings, seed, *parts):
    """One epoch over a worker's parts from the model ``start``; its
    contribution to the mixture, or None if it diverged."""
    loss, schedule, penalty, batch_size, shuffle, fit_intercept = settings
    # The start is shared by every task of this worker process: trained on
    # a copy.
    solver = copy.deepcopy(start)
    rng = np.random.RandomState(seed)
    weighted_loss = loss_weight = 0.0
    order = rng.permutation(len(parts)) if shuffle else range(len(parts))
    for i in order:
        part = parts[i]
        if not part.sample_weight.any():
            continue  # weightless rows are absent rows
        batches = Batches(
            np.arange(part.X.shape[0]), part.sample_weight, batch_size,
            rng if shuffle else None,
        )  # fmt: skip
        objective = solver.run_epoch(
            part.X, part.labels, part.sample_weight, batches, loss, schedule,
            penalty, fit_intercept,
        )  # fmt: skip
        if not np.isfinite(objective):
            return None
        # run_epoch's objective is the weighted mean loss plus the penalty.
        weighted_loss += (
            objective - solver.penalty_value(penalty)
        ) * batches.total_weight
        loss_weight += batches.total_weight
    return solver.contribution(start, weighted_loss, loss_weight)


def _add(a, b):
    return None if a is None or b is None else a + b


def _tree_sum(client, futures):
    """The sum of ``futures``' contributions, added pairwise on the cluster."""
    while len(futures) > 1:
        pairs = [
            client.submit(_add, futures[i], futures[i + 1], pure=False)
            for i in range(0, len(futures) - 1, 2)
        ]
        futures = pairs + futures[len(pairs) * 2 :]
    return futures[0]


def _mix(start, total, penalty, gain):
    """The mixed model and its epoch's objective (inf if a share diverged)."""
    if total is None:
        return start, np.inf
    mixed = start.mixed(total, gain)
    parts = total.parts
    objective = parts["weighted_loss"] / parts["loss_weight"]
    objective += mixed.penalty_value(penalty)
    if not (np.isfinite(mixed.weight_norm()) and np.isfinite(mixed.intercept).all()):
        objective = np.inf
    return mixed, objective

