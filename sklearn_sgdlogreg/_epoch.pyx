# cython: language_level=3, boundscheck=False, wraparound=False
# cython: cdivision=True, initializedcheck=False
"""One epoch of the shared-rate step, compiled.

This is the step of ``_solver``'s module docstring for the schedules whose
rate every feature shares (constant, optimal, invscaling, adaptive), run as
one loop over all the batches of an epoch, so that a batch costs what its
non-zeros cost. In the general step each row is read once for its scores,
loss and gradient while it is in cache, then once more for the damping: a
Cauchy-Schwarz bound of the step's curvature (scalars only) and, when that
bound cannot show the step needs no damping, the exact curvature. Then the
rows of W the batch touched are updated. ``_losses`` holds the same sigmoid
and softmax for the rest of the package; the two are kept in step by the
tests against ``tests/_reference.py``.

Two forms of the same step. The general one (``shared_rate_epoch``) numbers
the batch's distinct columns and keeps K numbers for each; the binary one
(``binary_epoch``: one output, and X at least as large as its workspace)
adds into per-feature arrays instead, which spares the numbering
(``binary_rows``), and takes the exact curvature in every batch.

Notation as in ``_solver``: the weights are ``W = scale * V``; the L1
penalty a row still owes is ``l1_total - l1_applied[j]``, in units of V;
``sum_t m_t W_t = P V - U`` is the lazily kept average.
"""

from libc.math cimport exp, log, log1p
from libc.stdint cimport int32_t, int64_t
from libc.time cimport time_t

import numpy as np


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define PREFETCH(address) __builtin_prefetch(address)
    #else
    #define PREFETCH(address)
    #endif
    """
    void PREFETCH(const void *address) noexcept nogil

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int32_t
    int64_t

# y += a x, y = a x and v = a v + b g over n entries, in C with restrict so that
# the compiler knows the arrays do not overlap and vectorises the loops
# (Cython cannot say it).
cdef extern from *:
    """
    static inline void axpy_double(Py_ssize_t n, double a,
                                   const double *__restrict x,
                                   double *__restrict y) {
        for (Py_ssize_t k = 0; k < n; k++) y[k] += a * x[k];
    }
    static inline void axpy_float(Py_ssize_t n, double a,
                                  const float *__restrict x,
                                  double *__restrict y) {
        for (Py_ssize_t k = 0; k < n; k++) y[k] += a * (double)x[k];
    }
    static inline void scale_into(Py_ssize_t n, double a,
                                  const double *__restrict x,
                                  double *__restrict y) {
        for (Py_ssize_t k = 0; k < n; k++) y[k] = a * x[k];
    }
    static inline void blend_double(Py_ssize_t n, double a,
                                    double *__restrict v, double b,
                                    const double *__restrict g) {
        for (Py_ssize_t k = 0; k < n; k++) v[k] = a * v[k] + b * g[k];
    }
    static inline void blend_float(Py_ssize_t n, double a,
                                   float *__restrict v, double b,
                                   const double *__restrict g) {
        for (Py_ssize_t k = 0; k < n; k++) v[k] = (float)(a * v[k] + b * g[k]);
    }
    """
    void axpy_double(Py_ssize_t n, double a, const double *x, double *y) noexcept nogil
    void axpy_float(Py_ssize_t n, double a, const float *x, double *y) noexcept nogil
    void scale_into(Py_ssize_t n, double a, const double *x, double *y) noexcept nogil
    void blend_double(
        Py_ssize_t n, double a, double *v, double b, const double *g
    ) noexcept nogil
    void blend_float(
        Py_ssize_t n, double a, float *v, double b, const double *g
    ) noexcept nogil


cdef inline void axpy(
    Py_ssize_t n, double a, const floating *x, double *y
) noexcept nogil:
    if floating is double:
        axpy_double(n, a, x, y)
    else:
        axpy_float(n, a, x, y)


cdef inline void blend(
    Py_ssize_t n, double a, floating *v, double b, const double *g
) noexcept nogil:
    """v = a v + b g."""
    if floating is double:
        blend_double(n, a, v, b, g)
    else:
        blend_float(n, a, v, b, g)


cdef extern from "<time.h>" nogil:
    cdef struct timespec:
        time_t tv_sec
        long tv_nsec
    int timespec_get(timespec *ts, int base)
    int TIME_UTC


cdef inline double seconds() noexcept nogil:
    """Wall-clock seconds (C11), cheap enough to read a few times a batch."""
    cdef timespec now
    timespec_get(&now, TIME_UTC)
    return now.tv_sec + 1e-9 * now.tv_nsec


cdef inline double lap(bint timed, double tic, double *total) noexcept nogil:
    """Add the seconds since ``tic`` to ``total``; return the time now."""
    if not timed:
        return 0.0
    cdef double now = seconds()
    total[0] += now - tic
    return now


# Below this the scale factor is folded into V, to keep V's entries finite
# and the lazy average exact: between folds P V - U loses up to
# log10(1 / SMALLEST_SCALE) digits to cancellation (P V grows as the scale
# shrinks). A fold costs one pass over W, and a default fit shrinks the scale
# by about 50 in its first epoch and 2 or less in each later one.
cdef double SMALLEST_SCALE = 1e-4


cdef inline double soft_threshold(double v, double amount) noexcept nogil:
    if v > amount:
        return v - amount
    if v < -amount:
        return v + amount
    return 0.0


cdef double loss_gradient(
    double *z, Py_ssize_t y, Py_ssize_t n_outputs
) noexcept nogil:
    """Loss of scores ``z``; overwrites ``z`` with ``p - onehot(y)``."""
    cdef Py_ssize_t k
    cdef double e, top, total, loss
    if n_outputs == 1:
        # log(1 + exp(z)) - y z = max(z, 0) + log(1 + exp(-|z|)) - y z, and
        # sigma(z) from the same exp(-|z|): nothing overflows.
        e = exp(-z[0]) if z[0] >= 0 else exp(z[0])
        # max(z, 0) - y z first: for y = 1 and z >> 0 it is 0, and the loss
        # is all in log1p(e), which z + log1p(e) - z would round away.
        loss = ((1 - y) * z[0] if z[0] > 0 else -y * z[0]) + log1p(e)
        z[0] = (1.0 / (1.0 + e) if z[0] >= 0 else e / (1.0 + e)) - y
        return loss
    top = z[0]
    for k in range(1, n_outputs):
        if z[k] > top:
            top = z[k]
    loss = top - z[y]
    total = 0.0
    for k in range(n_outputs):
        z[k] = exp(z[k] - top)
        total += z[k]
    loss += log(total)
    for k in range(n_outputs):
        z[k] /= total
    z[y] -= 1.0
    return loss


cdef double curvature_along(
    const double *gradient, Py_ssize_t y, const double *d, Py_ssize_t n_outputs
) noexcept nogil:
    """``d^T H d`` for the Hessian H at the probabilities behind ``gradient``."""
    cdef Py_ssize_t k
    cdef double p, quadratic = 0.0, mean = 0.0
    if n_outputs == 1:
        p = gradient[0] + y
        return p * (1.0 - p) * d[0] * d[0]
    for k in range(n_outputs):
        p = gradient[k] + (k == y)
        quadratic += p * d[k] * d[k]
        mean += p * d[k]
    return quadratic - mean * mean


cdef struct Batch:
    # A batch's rows of non-zero weight, in visiting order, with what the
    # passes over them read: their bounds in X, labels and weights. Shuffled
    # rows are scattered over X and y; gathered once, they are read in order
    # by every pass, which no longer waits on memory to find each row.
    Py_ssize_t size
    Py_ssize_t *start  # row q's non-zeros are start[q] .. stop[q] - 1
    Py_ssize_t *stop
    Py_ssize_t *label  # its class index
    double *weight  # its sample weight
    double *omega  # weight / (size * mean weight): its share of the gradient
    double omega_sum


cdef Py_ssize_t gather_batch(
    Batch *batch, const Py_ssize_t *order, Py_ssize_t first, Py_ssize_t end,
    const index_t *indptr, const Py_ssize_t *y, const double *sample_weight,
    double mean_weight,
) noexcept nogil:
    """Gather the rows ``order[first:end]`` of non-zero weight; return how many.

    Zero-weight rows are skipped as if absent.
    """
    cdef Py_ssize_t p, r, q, m = 0
    for p in range(first, end):
        r = order[p]
        if sample_weight[r] != 0:
            batch.start[m] = indptr[r]
            batch.stop[m] = indptr[r + 1]
            batch.label[m] = y[r]
            batch.weight[m] = sample_weight[r]
            m += 1
    batch.size = m
    batch.omega_sum = 0.0
    for q in range(m):
        batch.omega[q] = batch.weight[q] / (m * mean_weight)
        batch.omega_sum += batch.omega[q]
    return m


cdef void fold_scale(
    floating *V, double *l1_applied, Py_ssize_t n_features, Py_ssize_t K,
    double scale, floating *U, double P,
) noexcept nogil:
    """Multiply the scale factor into V (and the L1 it has paid, in its units).

    With an average (``U`` not NULL), also move ``P V`` into U: ``U <- U - P
    V``, so that the average's sum ``P V - U`` is kept with P = 0 from here
    on. (Dividing P by the scale instead, as the identity also allows, makes
    P V and U grow by 1/scale at every fold, and P V - U, their difference,
    loses those digits: after a few folds the average was noise.) The caller
    then sets the scale to 1 and P to 0, and multiplies the L1 total by the
    old scale. (Scalars by value: a pointer to the loop's scale would keep it
    out of registers.)
    """
    cdef Py_ssize_t j, k
    for j in range(n_features):
        for k in range(K):
            if U != NULL:
                U[j * K + k] -= P * V[j * K + k]
            V[j * K + k] *= scale
        l1_applied[j] *= scale


cdef inline void prefetch_row(
    const Batch *batch, Py_ssize_t q, const floating *X_data,
    const index_t *X_indices,
) noexcept nogil:
    """Ask for the start of row q of the batch (three cache lines of its
    values, two of its indices: most text rows) ahead of its pass."""
    if q < batch.size:
        PREFETCH(X_data + batch.start[q])
        PREFETCH(X_data + batch.start[q] + 8)
        PREFETCH(X_data + batch.start[q] + 16)
        PREFETCH(X_indices + batch.start[q])
        PREFETCH(X_indices + batch.start[q] + 16)


# How many rows ahead of the binary step's pass a row is asked for: far
# enough for its first lines to arrive (shuffled rows are scattered over X),
# near enough to stay in the L1 cache. On the Debian matrix 4 beat 2 and 8;
# the general step, with more work a row, keeps to the row after next.
cdef enum:
    ROWS_AHEAD = 4


# One output (binary). The batch's gradient and curvature sums are added into
# arrays indexed by feature, not into slots of the batch's numbered columns:
# with one number a feature, the numbering (a look-up and a branch the
# processor cannot predict, per non-zero) would cost more than the sums. A
# byte a feature (``seen``) lists the distinct features in ``cols``, without
# a branch, for the caps and the update, which clear the sums after them.
# ``sums[2 j]`` and ``sums[2 j + 1]`` sit side by side, in one cache line.

cdef void pay_owed_l1(
    const Batch *batch, const index_t *X_indices, floating *V,
    double *l1_applied, double l1_total, floating *U, double P,
) noexcept nogil:
    """Soft-threshold the batch's features by the L1 penalty they owe.

    One output. ``U`` is NULL when no average is being recorded.
    """
    cdef Py_ssize_t q, nz, j
    cdef double owed, v
    for q in range(batch.size):
        for nz in range(batch.start[q], batch.stop[q]):
            j = X_indices[nz]
            owed = l1_total - l1_applied[j]
            if owed > 0:
                # The stored (rounded) new weight, as in the update.
                v = <floating>soft_threshold(V[j], owed)
                if U != NULL:
                    U[j] += (v - V[j]) * P
                V[j] = <floating>v
                l1_applied[j] = l1_total


cdef Py_ssize_t binary_rows(
    const Batch *batch, const floating *X_data, const index_t *X_indices,
    const floating *V, double scale, double intercept,
    double *score_gradient, double *sums, unsigned char *seen, index_t *cols,
    double *totals,
) noexcept nogil:
    """Score the batch's rows and add their gradient into ``sums``.

    Row q's score gradient ``p - y`` goes to ``score_gradient[q]``; feature
    j's gradient ``sum_i omega_i (p_i - y_i) x_ij`` to ``sums[2 j]`` and its
    curvature sum ``sum_i omega_i x_ij^2`` to ``sums[2 j + 1]``. ``totals``
    gets the rows' weighted loss and the intercept's gradient. Returns the
    number of distinct features, listed in ``cols``.
    """
    cdef Py_ssize_t q, lo, hi, nz, j, n_cols = 0
    cdef double z, z_odd, w, g, x, loss = 0.0, g_b = 0.0
    for q in range(batch.size):
        prefetch_row(batch, q + ROWS_AHEAD, X_data, X_indices)
        lo = batch.start[q]
        hi = batch.stop[q]
        # Two sums, so that each add need not wait for the one before.
        z = 0.0
        z_odd = 0.0
        nz = lo
        while nz + 1 < hi:
            z += X_data[nz] * V[X_indices[nz]]
            z_odd += X_data[nz + 1] * V[X_indices[nz + 1]]
            nz += 2
        if nz < hi:
            z += X_data[nz] * V[X_indices[nz]]
        z = (z + z_odd) * scale + intercept
        loss += batch.weight[q] * loss_gradient(&z, batch.label[q], 1)
        score_gradient[q] = z
        w = batch.omega[q]
        g = w * z
        g_b += g
        for nz in range(lo, hi):
            j = X_indices[nz]
            x = X_data[nz]
            cols[n_cols] = <index_t>j
            n_cols += 1 - seen[j]
            seen[j] = 1
            sums[2 * j] += x * g
            sums[2 * j + 1] += w * x * x
    totals[0] = loss
    totals[1] = g_b
    return n_cols


cdef double binary_caps(
    Py_ssize_t n_cols, const index_t *cols, double *sums, double eta, double c
) noexcept nogil:
    """Cap each feature's rate at its Newton step; return the step's descent.

    Turns ``sums[2 j]`` into feature j's step ``rate_j g_j`` and
    ``sums[2 j + 1]`` into its rate ``min(eta, 1 / (c curvature_j))``, and
    returns ``sum_j rate_j g_j^2``.
    """
    cdef Py_ssize_t l, j
    cdef double h, rate, g, descent = 0.0
    for l in range(n_cols):
        j = cols[l]
        h = c * sums[2 * j + 1]
        rate = eta if h * eta <= 1.0 else 1.0 / h
        g = sums[2 * j]
        sums[2 * j] = rate * g
        sums[2 * j + 1] = rate
        descent += rate * g * g
    return descent


cdef double binary_curvature(
    const Batch *batch, const floating *X_data, const index_t *X_indices,
    const double *score_gradient, const double *sums, double intercept_step,
) noexcept nogil:
    """``sum_i omega_i p_i (1 - p_i) dz_i^2``: the curvature along the step.

    ``dz_i = sum_j x_ij s_j + s_b`` is the change of row i's score, with the
    steps ``s_j`` in ``sums[2 j]`` (after ``binary_caps``).
    """
    cdef Py_ssize_t q, nz
    cdef double dz, p, curvature = 0.0
    for q in range(batch.size):
        dz = intercept_step
        for nz in range(batch.start[q], batch.stop[q]):
            dz += X_data[nz] * sums[2 * <Py_ssize_t>X_indices[nz]]
        p = score_gradient[q] + batch.label[q]
        curvature += batch.omega[q] * p * (1.0 - p) * dz * dz
    return curvature


cdef void binary_update(
    Py_ssize_t n_cols, const index_t *cols, double *sums, unsigned char *seen,
    floating *V, double *l1_applied, floating *U, double P, double damping,
    double scale, double new_scale, double l1, double l2, double l1_total,
) noexcept nogil:
    """Move the batch's features by their damped steps; clear their sums.

    As in the general update: ``W_j <- S(W_j - eta_j g_j, eta_j l1) / (1 +
    eta_j l2)`` in units of V at the new scale. ``U`` is NULL when no
    average is being recorded.
    """
    cdef Py_ssize_t l, j
    cdef double eta_j, denominator, v
    for l in range(n_cols):
        j = cols[l]
        eta_j = sums[2 * j + 1] * damping
        denominator = (1.0 + eta_j * l2) * new_scale
        v = (scale * V[j] - damping * sums[2 * j]) / denominator
        if l1:
            v = soft_threshold(v, l1 * eta_j / denominator)
            l1_applied[j] = l1_total
        if U != NULL:
            # The stored (rounded) new weight, as in the general update.
            U[j] += (<floating>v - V[j]) * P
        V[j] = <floating>v
        sums[2 * j] = 0.0
        sums[2 * j + 1] = 0.0
        seen[j] = 0


cdef store_scalars(
    state, double scale, Py_ssize_t t, double l1_total, double P,
    Py_ssize_t average_total, double *phase,
):
    """Write an epoch's scalars back into the ``SolverState``."""
    state.scale, state.t, state.l1_total = scale, t, l1_total
    if state.phase_seconds is not None:
        state.phase_seconds += [phase[0], phase[1], phase[2], phase[3]]
    if state.average is not None:
        state.average.P, state.average.total = P, average_total


def shared_rate_epoch(
    const floating[::1] data,
    const index_t[::1] indices,
    const index_t[::1] indptr,
    const Py_ssize_t[::1] order,
    const Py_ssize_t[::1] batch_starts,
    const double[::1] batch_steps,
    const Py_ssize_t[::1] y,
    const double[::1] sample_weight,
    state,
    penalty,
    double curvature_bound,
    bint fit_intercept,
):
    """Run the batches ``order[batch_starts[b]:batch_starts[b + 1]]``.

    Parameters
    ----------
    data, indices, indptr : ndarray
        The CSR arrays of X.
    order : ndarray of intp
        Rows to visit, in order.
    batch_starts : ndarray of intp of shape (n_batches + 1,)
        Where each batch starts in ``order``; the last entry is ``len(order)``.
    batch_steps : ndarray of shape (n_batches,)
        Each batch's summed per-sample rate, for its count of rows of
        non-zero weight (the schedule's ``batch_steps``).
    y : ndarray of intp
        Class index of each row.
    sample_weight : ndarray of float64
        Zero-weight rows are skipped as if absent.
    state : SolverState
        Updated in place: V, intercept, scale, t, the owed L1, the average;
        when ``state.phase_seconds`` is an array, the seconds of the step's
        phases (rows, caps, damping, update) are added to it.
    penalty : ElasticNet
    curvature_bound : float
        Bound on the loss's second derivative in the score (1/4 for the
        sigmoid, 1/2 for the softmax).
    fit_intercept : bool

    Returns
    -------
    weighted_loss : float
        Sum of ``sample_weight[i] * loss_i`` over the visited rows, each
        loss taken just before the step on its batch.
    """
    cdef floating[:, ::1] V = state.V
    cdef floating[::1] intercept = state.intercept
    cdef double[::1] l1_applied = state.l1_applied
    # Profiling only (benchmarks/profile_epoch.py): four clock reads a batch
    # are a tenth of a per-sample epoch, so they are off unless asked for.
    cdef bint timed = state.phase_seconds is not None
    cdef double phase[4]
    phase[:] = [0.0, 0.0, 0.0, 0.0]
    cdef double scale = state.scale, l1_total = state.l1_total
    cdef double mean_weight = state.mean_weight
    cdef Py_ssize_t t = state.t
    cdef double l1 = penalty.l1, l2 = penalty.l2
    average = state.average
    cdef bint has_average = average is not None
    # Without an average these are never read; any arrays of the type do.
    cdef floating[:, ::1] U = average.U if has_average else V[:0]
    cdef floating[::1] intercept_sum = (
        average.intercept_sum if has_average else intercept
    )
    cdef double P = average.P if has_average else 0.0
    cdef Py_ssize_t average_total = average.total if has_average else 0
    cdef Py_ssize_t average_start = average.start if has_average else 0

    cdef Py_ssize_t n_features = V.shape[0], K = V.shape[1]
    cdef Py_ssize_t n_batches = batch_starts.shape[0] - 1
    cdef Py_ssize_t b, p, q, r, m, nz, lo, hi, position, j, l, k, n_cols
    cdef Py_ssize_t capacity = 1, largest = 1
    cdef double c = curvature_bound, weighted_loss = 0.0
    cdef double eta, eta_b, eta_j, omega_sum, w, x, x_rate, z, g, dz_0, h
    cdef double owed, descent, bound, curvature
    cdef double damping, new_scale, denominator, threshold, v, A, D
    cdef double row_squares, intercept_squares, p_max, A2, D2

    for b in range(n_batches):
        m = batch_starts[b + 1] - batch_starts[b]
        largest = max(largest, m)
        nz = 0
        for p in range(batch_starts[b], batch_starts[b + 1]):
            r = order[p]
            nz += indptr[r + 1] - indptr[r]
        capacity = max(capacity, nz)

    # Workspace. A batch's distinct columns are numbered 0..n_cols-1 in
    # first-seen order; ``local_of[j]`` is j's number when ``cols`` agrees,
    # which makes clearing the map between batches unnecessary (it starts at
    # zeros so that every stale entry indexes within ``cols``). ``slot``
    # holds the number of each non-zero of the batch, in visiting order, so
    # that later passes need not look it up again. X's index type numbers
    # them too: it holds nnz(X), so any batch's. Halving the width of these,
    # when it can, keeps a batch's working set within the L2 cache.
    index_type = np.asarray(indices).dtype
    cdef Py_ssize_t n_local = min(capacity, n_features)
    cdef index_t[::1] local_of = np.zeros(n_features, dtype=index_type)
    cdef index_t[::1] cols = np.empty(n_local, dtype=index_type)
    cdef index_t[::1] slot = np.empty(capacity, dtype=index_type)
    cdef double[:, ::1] grad = np.empty((n_local, K))
    # Per column: the batch's curvature sum, then the column's rate.
    cdef double[::1] rate = np.empty(n_local)
    # Per column: rate * |gradient row|^2, its share of the descent.
    cdef double[::1] share = np.empty(n_local)
    cdef double[::1] row_curvature = np.empty(largest)
    cdef Py_ssize_t[:, ::1] batch_rows = np.empty((3, largest), dtype=np.intp)
    cdef double[:, ::1] batch_weights = np.empty((2, largest))
    cdef Batch batch
    batch.start = &batch_rows[0, 0]
    batch.stop = &batch_rows[1, 0]
    batch.label = &batch_rows[2, 0]
    batch.weight = &batch_weights[0, 0]
    batch.omega = &batch_weights[1, 0]
    cdef double[:, ::1] G = np.empty((largest, K))
    cdef double[::1] grad_b = np.empty(K)
    cdef double[::1] dz = np.empty(K)

    # Raw pointers: memoryview indexing in the inner loops keeps the
    # compiler from holding strides and bases in registers.
    cdef const floating *X_data = &data[0] if data.shape[0] else NULL
    cdef const index_t *X_indices = &indices[0] if indices.shape[0] else NULL
    cdef floating *V_rows = &V[0, 0] if n_features else NULL
    cdef double *grad_rows = &grad[0, 0] if n_local else NULL
    cdef double *G_row
    cdef double *grad_row
    cdef floating *V_row

    cdef const Py_ssize_t *order_ptr = &order[0] if order.shape[0] else NULL
    cdef const Py_ssize_t *y_ptr = &y[0] if y.shape[0] else NULL
    cdef const double *weight_ptr = (
        &sample_weight[0] if sample_weight.shape[0] else NULL
    )
    cdef double tic
    with nogil:
        for b in range(n_batches):
            m = gather_batch(
                &batch, order_ptr, batch_starts[b], batch_starts[b + 1],
                &indptr[0], y_ptr, weight_ptr, mean_weight,
            )
            if m == 0:
                continue
            eta = batch_steps[b]
            eta_b = min(eta, 1.0 / (c * batch.omega_sum)) if fit_intercept else 0.0
            tic = seconds() if timed else 0.0
            # One sweep per row: number its new columns (each pays the
            # L1 penalty it owes before it is read), score the row, take
            # its loss and score gradient, and add its share to the
            # weight gradient and the curvature sums while the row is in
            # cache.
            n_cols = 0
            position = 0
            for k in range(K):
                grad_b[k] = 0.0
            for q in range(m):
                if q + 2 < m:
                    # Ask for the row after next while this one is
                    # computed (its K outputs take longer than the
                    # binary step's one: no need to ask further ahead).
                    PREFETCH(X_data + batch.start[q + 2])
                    PREFETCH(X_indices + batch.start[q + 2])
                lo = batch.start[q]
                hi = batch.stop[q]
                G_row = &G[q, 0]
                for k in range(K):
                    G_row[k] = 0.0
                for nz in range(lo, hi):
                    j = X_indices[nz]
                    l = local_of[j]
                    if l >= n_cols or cols[l] != j:
                        l = n_cols
                        n_cols += 1
                        local_of[j] = l
                        cols[l] = j
                        owed = l1_total - l1_applied[j] if l1 else 0.0
                        if owed > 0:
                            for k in range(K):
                                # The stored (rounded) new weight.
                                v = <floating>soft_threshold(V_rows[j * K + k], owed)
                                if has_average and average_total:
                                    U[j, k] += (v - V_rows[j * K + k]) * P
                                V_rows[j * K + k] = v
                            l1_applied[j] = l1_total
                        # The row that numbers a column is the first to
                        # add to its gradient: it stores instead, which
                        # spares zeroing K numbers a column each batch.
                        # ~l marks the non-zero that does.
                        slot[position + nz - lo] = ~l
                    else:
                        slot[position + nz - lo] = l
                    axpy(K, X_data[nz], V_rows + j * K, G_row)
                for k in range(K):
                    G_row[k] = G_row[k] * scale + intercept[k]
                weighted_loss += batch.weight[q] * loss_gradient(
                    G_row, batch.label[q], K
                )
                w = batch.omega[q]
                for k in range(K):
                    grad_b[k] += w * G_row[k]
                # Bound of the row's Hessian, diag(p) - p p^T: below
                # diag(p), so at most max_k p_k; a variance, so at most
                # sum_k p_k (d_k - d_k*)^2 <= 2 (1 - max_k p_k) |d|^2;
                # and at most c. Much below c at the start (p near
                # uniform) and for confident rows. (Rounding can put
                # p_max a hair above 1, hence the 0.)
                if K > 1:
                    p_max = 0.0
                    for k in range(K):
                        p_max = max(p_max, G_row[k] + (k == batch.label[q]))
                    row_curvature[q] = max(0.0, min(c, p_max, 2.0 * (1.0 - p_max)))
                for nz in range(lo, hi):
                    x = X_data[nz]
                    l = slot[position + nz - lo]
                    if l < 0:
                        l = ~l
                        slot[position + nz - lo] = l
                        rate[l] = w * x * x
                        scale_into(K, w * x, G_row, grad_rows + l * K)
                    else:
                        rate[l] += w * x * x
                        axpy_double(K, w * x, G_row, grad_rows + l * K)
                position += hi - lo

            tic = lap(timed, tic, &phase[0])
            # Per-coordinate Newton caps. <G, X step> = sum_j rate_j
            # |g_j|^2, so the step's first-order descent needs no pass
            # over X.
            intercept_squares = 0.0
            for k in range(K):
                intercept_squares += grad_b[k] * grad_b[k]
            descent = eta_b * intercept_squares
            for l in range(n_cols):
                h = c * rate[l]  # the curvature sum, then the rate
                rate[l] = eta if h * eta <= 1.0 else 1.0 / h
                row_squares = 0.0
                for k in range(K):
                    row_squares += grad_rows[l * K + k] * grad_rows[l * K + k]
                share[l] = rate[l] * row_squares
                descent += share[l]

            tic = lap(timed, tic, &phase[1])
            # Damping. The step changes row i's scores by dz_i =
            # sum_j x_ij s_j + s_b (s_j = rate_j g_j), and by
            # Cauchy-Schwarz |dz_i|^2 <= A_i D_i with A_i = sum_j rate_j
            # x_ij^2 + eta_b and D_i = sum_j share_j + eta_b |g_b|^2, or
            # <= A2_i D2_i with A2_i = sum_j x_ij^2 + 1 and D2_i = sum_j
            # |s_j|^2 + |s_b|^2. With the row's Hessian bound, sum_i
            # omega_i f_i min(A D, A2 D2) bounds the curvature along the
            # step; when it is within the descent the Newton factor is
            # >= 1 and the exact curvature (K numbers per non-zero) is
            # not needed: from the fifth epoch of a text fit on, it
            # rarely is. With one output the exact curvature costs what
            # the bound does, so it is always taken.
            bound = 0.0
            position = 0
            for q in range(m if K > 1 else 0):
                lo = batch.start[q]
                hi = batch.stop[q]
                A = eta_b
                D = eta_b * intercept_squares
                A2 = 1.0
                D2 = eta_b * eta_b * intercept_squares
                for nz in range(lo, hi):
                    x = X_data[nz]
                    l = slot[position + nz - lo]
                    A += rate[l] * x * x
                    D += share[l]
                    A2 += x * x
                    D2 += rate[l] * share[l]
                bound += batch.omega[q] * row_curvature[q] * min(A * D, A2 * D2)
                position += hi - lo
            curvature = 0.0
            if K == 1 or bound > descent:
                position = 0
                for q in range(m):
                    lo = batch.start[q]
                    hi = batch.stop[q]
                    for k in range(K):
                        dz[k] = eta_b * grad_b[k]
                    for nz in range(lo, hi):
                        l = slot[position + nz - lo]
                        axpy_double(K, X_data[nz] * rate[l],
                                    grad_rows + l * K, &dz[0])
                    curvature += batch.omega[q] * curvature_along(
                        &G[q, 0], batch.label[q], &dz[0], K
                    )
                    position += hi - lo
            damping = descent / curvature if descent < curvature else 1.0
            eta *= damping
            eta_b *= damping
            tic = lap(timed, tic, &phase[2])
            # W_j <- S(W_j - eta_j g_j, eta_j l1) / (1 + eta_j l2), in units
            # of V at the new scale; the untouched rows' shrink is the scale's.
            new_scale = scale / (1.0 + eta * l2)
            if l1:
                l1_total += eta * l1 / scale
            for l in range(n_cols):
                j = cols[l]
                if l + 4 < n_cols:
                    # The rows of V are scattered and K wide: fetch the one
                    # four columns ahead while this one is updated.
                    V_row = V_rows + cols[l + 4] * K
                    for k in range(0, K, 8):
                        PREFETCH(V_row + k)
                eta_j = rate[l] * damping
                denominator = (1.0 + eta_j * l2) * new_scale
                V_row = V_rows + j * K
                grad_row = grad_rows + l * K
                if has_average and average_total:
                    for k in range(K):
                        dz[k] = V_row[k]  # the old row, free workspace now
                # Multiplying by the reciprocals (a division per row, not
                # per weight) rounds differently in the last bit only.
                blend(K, scale / denominator, V_row, -eta_j / denominator, grad_row)
                if l1:
                    threshold = l1 * eta_j / denominator
                    for k in range(K):
                        V_row[k] = soft_threshold(V_row[k], threshold)
                    l1_applied[j] = l1_total
                if has_average and average_total:
                    for k in range(K):
                        U[j, k] += (V_row[k] - dz[k]) * P
            for k in range(K):
                intercept[k] -= eta_b * grad_b[k]
            scale = new_scale
            lap(timed, tic, &phase[3])
            t += m
            if has_average and t - 1 >= average_start:
                P += m * scale
                average_total += m
                for k in range(K):
                    intercept_sum[k] += m * intercept[k]
            if scale < SMALLEST_SCALE:
                fold_scale(V_rows, &l1_applied[0], n_features, K, scale,
                           &U[0, 0] if has_average else NULL, P)
                l1_total *= scale
                P = 0.0
                scale = 1.0
    store_scalars(state, scale, t, l1_total, P, average_total, phase)
    return weighted_loss


def binary_epoch(
    const floating[::1] data,
    const index_t[::1] indices,
    const index_t[::1] indptr,
    const Py_ssize_t[::1] order,
    const Py_ssize_t[::1] batch_starts,
    const double[::1] batch_steps,
    const Py_ssize_t[::1] y,
    const double[::1] sample_weight,
    state,
    penalty,
    double curvature_bound,
    bint fit_intercept,
):
    """``shared_rate_epoch`` with one output, by feature (see ``binary_rows``).

    The same step, parameters and return value. Its workspace is two
    doubles, a byte and an index a feature, so ``_solver.takes_binary_step``
    runs it only when X takes at least that much memory.

    A function of its own, not a branch of ``shared_rate_epoch``: with the
    binary step compiled into the same function, the compiler kept less of
    the general step in registers, and a multiclass epoch took 20% longer.
    """
    if state.V.shape[1] != 1:
        raise ValueError(f"binary_epoch takes one output, not {state.V.shape[1]}.")
    cdef floating[:, ::1] V = state.V
    cdef floating[::1] intercept = state.intercept
    cdef double[::1] l1_applied = state.l1_applied
    cdef bint timed = state.phase_seconds is not None
    cdef double phase[4]
    phase[:] = [0.0, 0.0, 0.0, 0.0]
    cdef double scale = state.scale, l1_total = state.l1_total
    cdef double mean_weight = state.mean_weight
    cdef Py_ssize_t t = state.t
    cdef double l1 = penalty.l1, l2 = penalty.l2
    average = state.average
    cdef bint has_average = average is not None
    cdef floating[:, ::1] U = average.U if has_average else V[:0]
    cdef floating[::1] intercept_sum = (
        average.intercept_sum if has_average else intercept
    )
    cdef double P = average.P if has_average else 0.0
    cdef Py_ssize_t average_total = average.total if has_average else 0
    cdef Py_ssize_t average_start = average.start if has_average else 0

    cdef Py_ssize_t n_features = V.shape[0]
    cdef Py_ssize_t n_batches = batch_starts.shape[0] - 1
    cdef Py_ssize_t b, m, n_cols, largest = 1
    cdef double c = curvature_bound, weighted_loss = 0.0, g_b = 0.0
    cdef double eta, eta_b, descent, curvature, damping, new_scale, tic
    cdef double totals[2]
    for b in range(n_batches):
        largest = max(largest, batch_starts[b + 1] - batch_starts[b])

    cdef double[::1] sums = np.zeros(2 * n_features)
    cdef unsigned char[::1] seen = np.zeros(n_features, dtype=np.uint8)
    # binary_rows writes one entry past the count of distinct features.
    cdef index_t[::1] cols = np.empty(n_features + 1, dtype=np.asarray(indices).dtype)
    cdef Py_ssize_t[:, ::1] batch_rows = np.empty((3, largest), dtype=np.intp)
    cdef double[:, ::1] batch_weights = np.empty((2, largest))
    cdef double[::1] score_gradient = np.empty(largest)
    cdef Batch batch
    batch.start = &batch_rows[0, 0]
    batch.stop = &batch_rows[1, 0]
    batch.label = &batch_rows[2, 0]
    batch.weight = &batch_weights[0, 0]
    batch.omega = &batch_weights[1, 0]

    cdef const floating *X_data = &data[0] if data.shape[0] else NULL
    cdef const index_t *X_indices = &indices[0] if indices.shape[0] else NULL
    cdef floating *V_rows = &V[0, 0] if n_features else NULL
    cdef const Py_ssize_t *order_ptr = &order[0] if order.shape[0] else NULL
    cdef const Py_ssize_t *y_ptr = &y[0] if y.shape[0] else NULL
    cdef const double *weight_ptr = (
        &sample_weight[0] if sample_weight.shape[0] else NULL
    )
    cdef floating *U_ptr
    with nogil:
        for b in range(n_batches):
            m = gather_batch(
                &batch, order_ptr, batch_starts[b], batch_starts[b + 1],
                &indptr[0], y_ptr, weight_ptr, mean_weight,
            )
            if m == 0:
                continue
            eta = batch_steps[b]
            eta_b = min(eta, 1.0 / (c * batch.omega_sum)) if fit_intercept else 0.0
            tic = seconds() if timed else 0.0
            # Where the update records the average, if it does.
            U_ptr = &U[0, 0] if has_average and average_total and n_features else NULL
            if l1:
                pay_owed_l1(&batch, X_indices, V_rows, &l1_applied[0],
                            l1_total, U_ptr, P)
            n_cols = binary_rows(
                &batch, X_data, X_indices, V_rows, scale, intercept[0],
                &score_gradient[0], &sums[0], &seen[0], &cols[0], totals,
            )
            weighted_loss += totals[0]
            g_b = totals[1]
            tic = lap(timed, tic, &phase[0])
            descent = eta_b * g_b * g_b
            descent += binary_caps(n_cols, &cols[0], &sums[0], eta, c)
            tic = lap(timed, tic, &phase[1])
            # A Cauchy-Schwarz bound (as in the general step) would cost what
            # the exact curvature costs with one output: a pass over the batch.
            curvature = binary_curvature(
                &batch, X_data, X_indices, &score_gradient[0], &sums[0],
                eta_b * g_b,
            )
            damping = descent / curvature if descent < curvature else 1.0
            eta *= damping
            eta_b *= damping
            tic = lap(timed, tic, &phase[2])
            new_scale = scale / (1.0 + eta * l2)
            if l1:
                l1_total += eta * l1 / scale
            binary_update(n_cols, &cols[0], &sums[0], &seen[0], V_rows,
                          &l1_applied[0], U_ptr, P, damping, scale, new_scale,
                          l1, l2, l1_total)
            intercept[0] -= eta_b * g_b
            scale = new_scale
            lap(timed, tic, &phase[3])
            t += m
            if has_average and t - 1 >= average_start:
                P += m * scale
                average_total += m
                intercept_sum[0] += m * intercept[0]
            if scale < SMALLEST_SCALE:
                fold_scale(V_rows, &l1_applied[0], n_features, 1, scale,
                           &U[0, 0] if has_average else NULL, P)
                l1_total *= scale
                P = 0.0
                scale = 1.0
    store_scalars(state, scale, t, l1_total, P, average_total, phase)
    return weighted_loss
