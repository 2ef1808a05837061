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
    g_W   = X_B^T G,  G_i = s_i / (m s_bar) * dloss/dz_i
    eta_j = min(eta, 1 / d_j)                       curvature cap, see below
    W_j  <- soft_threshold((W_j - eta_j g_j) / (1 + eta_j l2), eta_j l1)
    b    <- b - min(eta, 1 / d_b) * sum_i G_i

``d_j = c * sum_i (s_i / (m s_bar)) |x_ij| (|x_i|_1 + 1)`` is a bound on the
batch loss's curvature along feature j (c bounds the loss's second
derivative): it never lets a step overshoot the batch's minimum along a
feature that many samples share, while rare features keep the full step.
Every coordinate uses one step size for its data gradient and its penalty,
so the fixed points are the minimisers of the objective.
"""

import numpy as np
import scipy.sparse as sp

from ._penalties import soft_threshold

# Below this the scale factor is folded into V, to keep V's entries finite.
_SMALLEST_SCALE = 1e-9


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

    def __init__(self, coef, intercept, average_start=None):
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

    def observe_weights(self, sample_weight):
        """Update the running mean weight with the weights of new data."""
        self.weight_sum += float(sample_weight.sum())
        self.n_weighted += int(np.count_nonzero(sample_weight))

    @property
    def mean_weight(self):
        return self.weight_sum / self.n_weighted

    def fold_scale(self):
        """Multiply the scale into V (rare: O(n_features * n_outputs))."""
        self.V *= self.scale
        self.l1_total *= self.scale
        self.l1_applied *= self.scale
        if self.average is not None:
            self.average.P /= self.scale
        self.scale = 1.0

    def pay_l1(self):
        """Apply every feature's owed L1 penalty (once per epoch)."""
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
        self.pay_l1()
        return self.scale * self.V

    def averaged(self):
        """Averaged weights and intercept, or None before averaging starts."""
        if self.average is None or not self.average.total:
            return None
        self.pay_l1()
        avg = self.average
        coef = (avg.P * self.V - avg.U) / avg.total
        return coef, avg.intercept_sum / avg.total


class _Compactor:
    """Maps a batch's column indices to 0..n_distinct-1 without sorting."""

    def __init__(self, n_features):
        self._mark = np.empty(n_features, dtype=np.intp)
        self._local = np.empty(n_features, dtype=np.intp)

    def __call__(self, indices):
        positions = np.arange(indices.size)
        # Any one writer per column wins; comparing finds exactly that one.
        self._mark[indices] = positions
        cols = indices[self._mark[indices] == positions]
        self._local[cols] = np.arange(cols.size)
        return cols, self._local[indices]


def run_epoch(X, y, sample_weight, order, state, loss, schedule, penalty,
              batch_size, fit_intercept):
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
    dtype = state.V.dtype
    compact = _Compactor(X.shape[1])
    has_negative = X.data.size and X.data.min() < 0
    c = loss.curvature_bound
    mean_weight = state.mean_weight
    contiguous = np.array_equal(order, np.arange(order[0], order[0] + order.size)) \
        if order.size else True
    weighted_loss = 0.0

    for start in range(0, order.size, batch_size):
        if contiguous:
            rows = slice(order[0] + start, order[0] + min(start + batch_size, order.size))
        else:
            rows = order[start:start + batch_size]
        s = sample_weight[rows]
        n_batch = np.count_nonzero(s)
        if n_batch == 0:
            continue
        X_b = X[rows]
        cols, local = compact(X_b.indices)
        X_c = sp.csr_matrix((X_b.data, local, X_b.indptr), shape=(X_b.shape[0], cols.size))

        V_old = state.V[cols]
        V_c = V_old
        if penalty.l1:
            owed = (state.l1_total - state.l1_applied[cols]).astype(dtype)
            V_c = soft_threshold(V_c, owed[:, np.newaxis])

        raw = X_c @ V_c
        raw *= state.scale
        raw += state.intercept
        sample_loss, G = loss.loss_gradient(raw, y[rows])
        omega = (s / (n_batch * mean_weight)).astype(dtype, copy=False)
        weighted_loss += float(s @ sample_loss)
        G *= omega[:, np.newaxis]
        grad_W = X_c.T @ G

        eta = schedule.batch_step(state.t, n_batch)
        X_abs = X_c if not has_negative else abs(X_c)
        row_l1 = X_abs @ np.ones(cols.size, dtype=dtype)
        if fit_intercept:
            row_l1 += 1
        curvature = c * (X_abs.T @ (omega * row_l1))
        with np.errstate(divide="ignore"):
            eta_j = np.minimum(eta, 1.0 / curvature).astype(dtype)

        new_scale = state.scale / (1.0 + eta * penalty.l2)
        W_c = state.scale * V_c - eta_j[:, np.newaxis] * grad_W
        W_c /= (1.0 + eta_j * penalty.l2)[:, np.newaxis]
        if penalty.l1:
            W_c = soft_threshold(W_c, (eta_j * penalty.l1)[:, np.newaxis])
            state.l1_total += eta * penalty.l1 / new_scale
            state.l1_applied[cols] = state.l1_total
        V_new = W_c / dtype.type(new_scale)
        state.V[cols] = V_new

        if fit_intercept:
            eta_b = min(eta, 1.0 / (c * float(omega @ row_l1)))
            state.intercept -= dtype.type(eta_b) * G.sum(axis=0)

        state.scale = new_scale
        state.t += n_batch
        avg = state.average
        if avg is not None:
            avg.record_change(cols, V_new - V_old)
            if state.t - 1 >= avg.start:
                avg.record_iterate(n_batch, state.scale, state.intercept)
        if state.scale < _SMALLEST_SCALE:
            state.fold_scale()

    return weighted_loss
