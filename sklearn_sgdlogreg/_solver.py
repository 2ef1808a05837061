"""The mini-batch loop: batches over CSR rows, one gradient step per batch.

The weights are stored as ``W = scale * V`` (V of shape (n_features,
n_outputs)) so that the L2 shrinkage of every weight costs one scalar
multiplication, and the L1 penalty is owed per feature (``l1_total -
l1_applied[j]``, in units of V) and paid when the feature's row is next
touched. A batch therefore costs what its non-zeros cost: it reads and
writes only the rows of V of the features it contains.

One step on a batch B of m samples (weights s_i, mean weight s_bar over the
data seen), per-sample schedule eta(t)::

    eta   = eta(t) + ... + eta(t + m - 1)          sum of per-sample rates
    w_i   = s_i / (m s_bar)
    g_W   = X_B^T G,  G_i = w_i * dloss/dz_i
    eta_j = min(eta, 1 / (c * sum_i w_i x_ij^2))    per-coordinate cap
    eta_b = min(eta, 1 / (c * sum_i w_i))
    dz    = X_B (eta_j g_j) + eta_b g_b             the step's change of scores
    s*    = <G, dz> / sum_i w_i dz_i^T H_i dz_i     Newton step along it
    eta, eta_j, eta_b  *=  min(1, s*)
    W_j  <- soft_threshold(W_j - eta_j g_j, eta_j l1) / (1 + eta_j l2)
    b    <- b - eta_b g_b

``c * sum_i w_i x_ij^2`` bounds the batch loss's second derivative along
feature j (c bounds the loss's second derivative in the score), and ``c *
sum_i w_i`` along the intercept: no coordinate moves further than a Newton
step along it would. Summed per-sample rates are large for a batch, and the
intercept and the features that many samples share would overshoot by a
factor of up to m without the cap; rare features keep the full step. The caps
bound coordinates one at a time, so the whole step is then damped to the
Newton step of the batch loss along it (H_i: the loss's Hessian in the scores
of sample i). Every coordinate uses one step size for its data gradient and
its penalty, so the fixed points are the minimisers of the objective.

For the schedules whose rate all features share, the loop over an epoch's
batches runs in compiled code (``_epoch.pyx``); AdaGrad's step, whose rates
are per feature, runs here in NumPy.
"""

import numpy as np
import scipy.sparse as sp

from ._epoch import binary_epoch, shared_rate_epoch
from ._penalties import soft_threshold

#: Set to True (benchmarks/profile_epoch.py does) to have new solver states
#: clock the phases of the compiled step.
time_phases = False


class Average:
    """The running average of the iterates, kept lazily.

    With iterates ``W_t = scale_t V_t`` weighted by their batch sizes m_t,
    ``sum_t m_t W_t = P V - U`` where ``P = sum_t m_t scale_t`` and U gains
    ``dV * P`` whenever rows of V change by ``dV``. Only the touched rows of
    U change per batch.
    """

    def __init__(self, start, n_features, n_outputs, dtype):
        self.start = start
        self.P = 0.0
        self.U = np.zeros((n_features, n_outputs), dtype=dtype)
        self.total = 0
        self.intercept_sum = np.zeros(n_outputs, dtype=dtype)

    def record_change(self, rows, delta):
        if self.total:
            self.U[rows] += delta * self.P

    def record_iterate(self, n_samples, scale, intercept):
        self.P += n_samples * scale
        self.total += n_samples
        self.intercept_sum += n_samples * intercept


class SolverState:
    """Everything the loop needs to continue where it stopped.

    Parameters
    ----------
    coef : ndarray of shape (n_features, n_outputs)
        Initial weights; owned by the state from now on.
    intercept : ndarray of shape (n_outputs,)
    average_start : int or None
        Number of samples after which averaging starts; None for no average.
    """

    def __init__(self, coef, intercept, average_start=None, per_feature=False):
        n_features, n_outputs = coef.shape
        self.V = coef
        self.scale = 1.0
        self.intercept = intercept
        self.t = 1
        self.l1_total = 0.0
        self.l1_applied = np.zeros(n_features)
        self.weight_sum = 0.0
        self.n_weighted = 0
        self.average = (
            None
            if average_start is None
            else Average(average_start, n_features, n_outputs, coef.dtype)
        )
        self.adagrad = AdaGradState(n_features, n_outputs) if per_feature else None
        # Seconds of the compiled step's phases (rows, caps, damping,
        # update), clocked only when a profiler sets ``time_phases``.
        self.phase_seconds = np.zeros(4) if time_phases else None

    def observe_weights(self, sample_weight):
        """Update the running mean weight with the weights of new data."""
        self.weight_sum += float(sample_weight.sum())
        self.n_weighted += int(np.count_nonzero(sample_weight))

    @property
    def mean_weight(self):
        return self.weight_sum / self.n_weighted

    def pay_owed_penalties(self):
        """Apply every feature's owed penalty (once per epoch)."""
        if self.adagrad is not None:
            self.adagrad.pay_penalty(self, slice(None))
            return
        owed = self.l1_total - self.l1_applied
        if not owed.any():
            return
        V_new = soft_threshold(self.V, owed[:, np.newaxis].astype(self.V.dtype))
        if self.average is not None:
            self.average.record_change(slice(None), V_new - self.V)
        self.V[...] = V_new
        self.l1_applied[:] = self.l1_total

    def coef(self):
        """Current weights, shape (n_features, n_outputs)."""
        self.pay_owed_penalties()
        return self.scale * self.V

    def averaged(self):
        """Averaged weights and intercept, or None before averaging starts."""
        if self.average is None or not self.average.total:
            return None
        self.pay_owed_penalties()
        avg = self.average
        coef = (avg.P * self.V - avg.U) / avg.total
        return coef, avg.intercept_sum / avg.total


class AdaGradState:
    """Per-feature AdaGrad accumulators and the penalty each row still owes.

    A feature's rate is ``eta0 / sqrt(sum of its squared gradients)`` (the
    squared norm of its row of the batch gradient, summed over the steps that
    touched it). While a row is untouched its rate is constant, so the
    penalty steps it misses have a closed form (:func:`repeated_prox`) and
    are paid when it is next touched.
    """

    def __init__(self, n_features, n_outputs):
        self.squared_sum = np.zeros(n_features)
        self.intercept_squared_sum = np.zeros(n_outputs)
        self.paid_until = np.zeros(n_features, dtype=np.int64)
        self.n_steps = 0
        self.eta0 = None
        self.penalty = None

    def rates(self, rows):
        squared_sum = self.squared_sum[rows]
        with np.errstate(divide="ignore"):
            # A feature that never had a gradient has no rate yet.
            return np.where(squared_sum > 0, self.eta0 / np.sqrt(squared_sum), 0.0)

    def pay_penalty(self, state, rows, record_average=True):
        """Apply to ``rows`` the penalty steps they missed while untouched.

        ``record_average=False`` when the caller records the rows' whole
        change in the average itself (a batch step does).
        """
        if self.penalty is None:
            return
        if isinstance(rows, slice):
            # Only the end-of-epoch payment passes a slice: index it once.
            rows = np.arange(self.paid_until.size)[rows]
        missed = self.n_steps - self.paid_until[rows]
        rows, missed = rows[missed > 0], missed[missed > 0]
        if not rows.size:
            return
        V_rows = state.V[rows]
        V_new = repeated_prox(V_rows, self.rates(rows), self.penalty, missed)
        if record_average and state.average is not None:
            state.average.record_change(rows, V_new - V_rows)
        state.V[rows] = V_new
        self.paid_until[rows] = self.n_steps


def repeated_prox(W, eta, penalty, n_times):
    """``n_times`` elastic-net prox steps with rate ``eta``, per row, at once.

    One step maps ``w`` to ``S(w, eta l1) / (1 + eta l2)``; k of them give
    ``sign(w) max(|w| q^k - (l1 / l2) (1 - q^k), 0)`` with ``q = 1 / (1 + eta
    l2)`` (``|w| - k eta l1`` when l2 = 0).
    """
    eta = np.asarray(eta, dtype=float)[:, np.newaxis]
    k = np.asarray(n_times, dtype=float)[:, np.newaxis]
    log_q = -np.log1p(eta * penalty.l2)
    decay = np.exp(k * log_q)
    if penalty.l2 > 0:
        threshold = penalty.l1 / penalty.l2 * -np.expm1(k * log_q)
    else:
        threshold = k * eta * penalty.l1
    magnitude = np.maximum(np.abs(W) * decay - threshold, 0.0)
    return (np.sign(W) * magnitude).astype(W.dtype, copy=False)


class _Compactor:
    """Maps a batch's column indices to 0..n_distinct-1 without sorting."""

    def __init__(self, n_features):
        index_dtype = np.int32 if n_features < 2**31 else np.int64
        self._mark = np.empty(n_features, dtype=index_dtype)
        self._local = np.empty(n_features, dtype=index_dtype)

    def __call__(self, indices):
        positions = np.arange(indices.size, dtype=self._mark.dtype)
        # Any one writer per column wins; comparing finds exactly that one.
        self._mark[indices] = positions
        cols = indices[self._mark[indices] == positions]
        self._local[cols] = np.arange(cols.size, dtype=self._local.dtype)
        return cols, self._local[indices]


def batch_gradient(X, y, omega, coef, intercept, loss, coef_scale=1.0):
    """Loss and gradient of ``sum_i omega_i * loss(y_i, x_i W + b)``.

    The lab's ``X^T (y_hat - y)``, with weights: the one place the solver
    computes a gradient.

    Parameters
    ----------
    X : sparse matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Class indices.
    omega : ndarray of shape (n_samples,)
        Weight of each sample's loss.
    coef : ndarray of shape (n_features, n_outputs)
    intercept : ndarray of shape (n_outputs,)
    loss : a loss from ``_losses``
    coef_scale : float, default=1.0
        The weights are ``coef_scale * coef`` (the solver's lazy L2 scale).

    Returns
    -------
    sample_loss : ndarray of shape (n_samples,)
        Unweighted loss of each sample.
    grad_coef : ndarray of shape (n_features, n_outputs)
    grad_intercept : ndarray of shape (n_outputs,)
    gradient : ndarray of shape (n_samples, n_outputs)
        ``omega_i * dloss / dz_i``, the gradient with respect to the scores.
    """
    raw_prediction = X @ coef
    if coef_scale != 1.0:
        raw_prediction *= coef_scale
    raw_prediction += intercept
    sample_loss, gradient = loss.loss_gradient(raw_prediction, y)
    gradient *= omega[:, np.newaxis]
    return sample_loss, X.T @ gradient, gradient.sum(axis=0), gradient


def run_epoch(
    X,
    y,
    sample_weight,
    order,
    state,
    loss,
    schedule,
    penalty,
    batch_size,
    fit_intercept,
):
    """One pass over the rows ``order`` of X in batches; updates ``state``.

    Parameters
    ----------
    X : csr_matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Class indices.
    sample_weight : ndarray of shape (n_samples,)
    order : ndarray of int
        The rows to visit, in order.
    state : SolverState
    loss, schedule, penalty
        Objects from ``_losses``, ``_schedules``, ``_penalties``.
    batch_size : int
    fit_intercept : bool

    Returns
    -------
    weighted_loss : float
        Sum over the visited rows of ``s_i * loss_i``, each loss taken just
        before the step on its batch.
    """
    epoch = _shared_rate_epoch if state.adagrad is None else _adagrad_epoch
    return epoch(
        X,
        y,
        sample_weight,
        order,
        state,
        loss,
        schedule,
        penalty,
        batch_size,
        fit_intercept,
    )


def _adagrad_epoch(
    X,
    y,
    sample_weight,
    order,
    state,
    loss,
    schedule,
    penalty,
    batch_size,
    fit_intercept,
):
    """The epoch of AdaGrad, batch by batch in NumPy."""
    # The end-of-epoch payment of owed penalties needs them too.
    state.adagrad.eta0 = schedule.eta0
    state.adagrad.penalty = penalty if penalty.l1 or penalty.l2 else None
    compact = _Compactor(X.shape[1])
    mean_weight = state.mean_weight
    weighted_loss = 0.0
    for rows in _batches(order, batch_size):
        s = sample_weight[rows]
        n_batch = np.count_nonzero(s)
        if n_batch == 0:
            continue
        X_b = X[rows]
        cols, local = compact(X_b.indices)
        X_c = sp.csr_array(
            (X_b.data, local, X_b.indptr), shape=(X_b.shape[0], cols.size)
        )
        omega = (s / (n_batch * mean_weight)).astype(state.V.dtype, copy=False)
        V_old = state.V[cols] if state.average is not None else None
        sample_loss = _adagrad_step(
            state, X_c, cols, y[rows], omega, loss, schedule, penalty, fit_intercept
        )
        weighted_loss += float(s @ sample_loss)
        state.t += n_batch
        avg = state.average
        if avg is not None:
            avg.record_change(cols, state.V[cols] - V_old)
            if state.t - 1 >= avg.start:
                avg.record_iterate(n_batch, state.scale, state.intercept)
    return weighted_loss


def _shared_rate_epoch(
    X,
    y,
    sample_weight,
    order,
    state,
    loss,
    schedule,
    penalty,
    batch_size,
    fit_intercept,
):
    """The epoch of the shared-rate schedules, in compiled code (``_epoch``)."""
    order = np.ascontiguousarray(order, dtype=np.intp)
    stops = np.arange(0, order.size + batch_size, batch_size, dtype=np.intp)
    batch_starts = np.minimum(stops, order.size)
    weighted = sample_weight[order] != 0
    counts = (
        np.add.reduceat(weighted, batch_starts[:-1], dtype=np.intp)
        if order.size
        else np.zeros(0, dtype=np.intp)
    )
    steps = schedule.batch_steps(state.t, counts)
    indices, indptr = X.indices, X.indptr
    if indptr.dtype != indices.dtype:
        indptr = indptr.astype(indices.dtype)
    epoch = (
        binary_epoch if takes_binary_step(X, state.V.shape[1]) else shared_rate_epoch
    )
    return epoch(
        X.data,
        indices,
        indptr,
        order,
        batch_starts,
        steps,
        np.asarray(y, dtype=np.intp),
        np.asarray(sample_weight, dtype=float),
        state,
        penalty,
        loss.curvature_bound,
        fit_intercept,
    )


def takes_binary_step(X, n_outputs):
    """Whether an epoch runs the binary step by feature, ``_epoch.binary_epoch``.

    Its workspace is two doubles, a byte and an index a feature. It runs when
    X takes at least that much memory, so that the workspace adds no more
    than size(X) to a fit's peak; a wide hashed feature space seen through a
    few rows (a ``partial_fit`` chunk, say) takes the general step.
    """
    workspace = X.shape[1] * (2 * 8 + 1 + X.indices.itemsize)
    return n_outputs == 1 and workspace <= X.data.nbytes + X.indices.nbytes


def _batches(order, batch_size):
    """Row selections of successive batches: slices when ``order`` is a range."""
    first = order[0] if order.size else 0
    if np.array_equal(order, np.arange(first, first + order.size)):
        for start in range(0, order.size, batch_size):
            yield slice(first + start, first + min(start + batch_size, order.size))
    else:
        for start in range(0, order.size, batch_size):
            yield order[start : start + batch_size]


def _newton_rates(X_c, omega, c):
    """Per-feature and intercept rate caps: inverse curvature along each."""
    X_squared = sp.csr_array((X_c.data**2, X_c.indices, X_c.indptr), shape=X_c.shape)
    with np.errstate(divide="ignore"):
        return 1.0 / (c * (X_squared.T @ omega)), 1.0 / (c * float(omega.sum()))


def _damping(X_c, y, G, omega, step_W, step_b, loss):
    """The fraction of a step that a Newton step along it would take, at most 1.

    Moving the weights by ``-s * step`` changes the scores of sample i by
    ``-s * dz_i`` with ``dz = X step_W + step_b``. To second order the batch
    loss changes by ``-s <G, dz> + s^2 / 2 * sum_i omega_i dz_i^T H_i dz_i``,
    smallest at ``s = <G, dz> / sum_i omega_i dz_i^T H_i dz_i``. The
    per-coordinate caps keep each coordinate within its own Newton step; this
    keeps the moves of many coordinates together from overshooting, which
    summed per-sample rates otherwise do at the start of a fit.
    """
    dz = X_c @ step_W
    dz += step_b
    with np.errstate(divide="ignore", invalid="ignore"):
        unweighted = np.where(omega[:, np.newaxis] > 0, G / omega[:, np.newaxis], 0.0)
    curvature = float(omega @ loss.curvature_along(unweighted, y, dz))
    descent = float(np.einsum("ij,ij->", G, dz))
    if descent >= curvature:
        return 1.0
    return descent / curvature


def _adagrad_step(state, X_c, cols, y, omega, loss, schedule, penalty, fit_intercept):
    """One AdaGrad step: each touched feature moves at its own rate."""
    dtype = state.V.dtype
    acc = state.adagrad
    acc.pay_penalty(state, cols, record_average=False)
    V_c = state.V[cols]
    sample_loss, grad_W, grad_b, G = batch_gradient(
        X_c, y, omega, V_c, state.intercept, loss
    )
    acc.squared_sum[cols] += np.einsum("ij,ij->i", grad_W, grad_W)
    newton, newton_b = _newton_rates(X_c, omega, loss.curvature_bound)
    eta_j = np.minimum(acc.rates(cols), newton)
    eta_b = 0.0
    if fit_intercept:
        acc.intercept_squared_sum += grad_b**2
        with np.errstate(divide="ignore", invalid="ignore"):
            rate_b = np.where(
                acc.intercept_squared_sum > 0,
                schedule.eta0 / np.sqrt(acc.intercept_squared_sum),
                0.0,
            )
        eta_b = np.minimum(rate_b, newton_b)
    grad_W *= eta_j.astype(dtype)[:, np.newaxis]
    grad_b *= eta_b.astype(dtype) if fit_intercept else dtype.type(0)
    damping = _damping(X_c, y, G, omega, grad_W, grad_b, loss)
    if damping < 1.0:
        eta_j *= damping
        grad_W *= dtype.type(damping)
        grad_b *= dtype.type(damping)

    eta_j = eta_j.astype(dtype)[:, np.newaxis]
    V_c -= grad_W
    if penalty.l1:
        V_c = soft_threshold(V_c, eta_j * dtype.type(penalty.l1))
    if penalty.l2:
        V_c /= 1 + eta_j * dtype.type(penalty.l2)
    state.V[cols] = V_c
    acc.n_steps += 1
    acc.paid_until[cols] = acc.n_steps
    state.intercept -= grad_b
    return sample_loss
