# cython: language_level=3, boundscheck=False, wraparound=False
# cython: cdivision=True, initializedcheck=False
"""One epoch of the shared-rate step, compiled.

This is the step of ``_solver``'s module docstring for the schedules whose
rate every feature shares (constant, optimal, invscaling, adaptive), run as
one loop over all the batches of an epoch, so that a batch costs what its
non-zeros cost. Each row is read once for its scores, loss and gradient
while it is in cache, then once more for the damping: a Cauchy-Schwarz bound
of the step's curvature (scalars only) and, when that bound cannot show the
step needs no damping, the exact curvature. Then the rows of W the batch
touched are updated. ``_losses`` holds the same sigmoid and softmax for the
rest of the package; the two are kept in step by the tests against
``tests/_reference.py``.

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


# Below this the scale factor is folded into V, to keep V's entries finite.
cdef double SMALLEST_SCALE = 1e-9


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
    # that later passes need not look it up again.
    # X's index type numbers them too: it holds nnz(X), so any batch's.
    # Halving the width of these, when it can, keeps a batch's working set
    # within the L2 cache.
    index_type = np.asarray(indices).dtype
    cdef index_t[::1] local_of = np.zeros(n_features, dtype=index_type)
    cdef index_t[::1] cols = np.empty(min(capacity, n_features), dtype=index_type)
    cdef index_t[::1] slot = np.empty(capacity, dtype=index_type)
    cdef double[:, ::1] grad = np.empty((min(capacity, n_features), K))
    # Per column: the batch's curvature sum, then the column's rate.
    cdef double[::1] rate = np.empty(min(capacity, n_features))
    # Per column: rate * |gradient row|^2, its share of the descent.
    cdef double[::1] share = np.empty(min(capacity, n_features))
    cdef Py_ssize_t[::1] rows = np.empty(largest, dtype=np.intp)
    cdef double[::1] omega = np.empty(largest)
    cdef double[::1] row_curvature = np.empty(largest)
    cdef double[:, ::1] G = np.empty((largest, K))
    cdef double[::1] grad_b = np.empty(K)
    cdef double[::1] dz = np.empty(K)

    # Raw pointers: memoryview indexing in the inner loops keeps the
    # compiler from holding strides and bases in registers.
    cdef const floating *X_data = &data[0] if data.shape[0] else NULL
    cdef const index_t *X_indices = &indices[0] if indices.shape[0] else NULL
    cdef floating *V_rows = &V[0, 0] if n_features else NULL
    cdef double *grad_rows = &grad[0, 0]
    cdef double *G_row
    cdef double *grad_row
    cdef floating *V_row

    cdef double tic
    with nogil:
        for b in range(n_batches):
            m = 0
            for p in range(batch_starts[b], batch_starts[b + 1]):
                r = order[p]
                if sample_weight[r] != 0:
                    rows[m] = r
                    m += 1
            if m == 0:
                continue
            eta = batch_steps[b]
            omega_sum = 0.0
            for q in range(m):
                omega[q] = sample_weight[rows[q]] / (m * mean_weight)
                omega_sum += omega[q]
            eta_b = min(eta, 1.0 / (c * omega_sum)) if fit_intercept else 0.0

            tic = seconds() if timed else 0.0
            # One sweep per row: number its new columns (each pays the L1
            # penalty it owes before it is read), score the row, take its
            # loss and score gradient, and add its share to the weight
            # gradient and the curvature sums while the row is in cache.
            n_cols = 0
            position = 0
            for k in range(K):
                grad_b[k] = 0.0
            for q in range(m):
                if q + 2 < m:
                    # Shuffled rows are scattered over X: ask for the row
                    # after next while this one is computed.
                    PREFETCH(X_data + indptr[rows[q + 2]])
                    PREFETCH(X_indices + indptr[rows[q + 2]])
                r = rows[q]
                lo = indptr[r]
                hi = indptr[r + 1]
                G_row = &G[q, 0]
                z = 0.0
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
                        if K == 1:
                            rate[l] = 0.0
                            grad_rows[l] = 0.0
                        owed = l1_total - l1_applied[j] if l1 else 0.0
                        if owed > 0:
                            for k in range(K):
                                v = soft_threshold(V_rows[j * K + k], owed)
                                if has_average and average_total:
                                    U[j, k] += (v - V_rows[j * K + k]) * P
                                V_rows[j * K + k] = v
                            l1_applied[j] = l1_total
                        # The row that numbers a column is the first to
                        # add to its gradient: it stores instead, which
                        # spares zeroing K numbers a column each batch. ~l
                        # marks the non-zero that does.
                        slot[position + nz - lo] = ~l if K > 1 else l
                    else:
                        slot[position + nz - lo] = l
                    x = X_data[nz]
                    if K == 1:
                        # A register, not memory, accumulates one output.
                        z += x * V_rows[j]
                    else:
                        axpy(K, x, V_rows + j * K, G_row)
                if K == 1:
                    G_row[0] = z
                for k in range(K):
                    G_row[k] = G_row[k] * scale + intercept[k]
                weighted_loss += sample_weight[r] * loss_gradient(G_row, y[r], K)
                w = omega[q]
                for k in range(K):
                    grad_b[k] += w * G_row[k]
                if K > 1:
                    # Bound of the row's Hessian, diag(p) - p p^T: below
                    # diag(p), so at most max_k p_k; a variance, so at most
                    # sum_k p_k (d_k - d_k*)^2 <= 2 (1 - max_k p_k) |d|^2; and
                    # at most c. Much below c at the start (p near uniform)
                    # and for confident rows. (Rounding can put p_max a hair
                    # above 1, hence the 0.)
                    p_max = 0.0
                    for k in range(K):
                        p_max = max(p_max, G_row[k] + (k == y[r]))
                    row_curvature[q] = max(0.0, min(c, p_max, 2.0 * (1.0 - p_max)))
                if K == 1:
                    # Its own loop: the general one's inner loop over the
                    # outputs costs more than the arithmetic when K = 1.
                    g = w * G_row[0]
                    for nz in range(lo, hi):
                        x = X_data[nz]
                        l = slot[position + nz - lo]
                        rate[l] += w * x * x
                        grad_rows[l] += x * g
                else:
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
            # Per-coordinate Newton caps. <G, X step> = sum_j rate_j |g_j|^2,
            # so the step's first-order descent needs no pass over X.
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
            # sum_j x_ij s_j + s_b (s_j = rate_j g_j), and by Cauchy-Schwarz
            # |dz_i|^2 <= A_i D_i with A_i = sum_j rate_j x_ij^2 + eta_b and
            # D_i = sum_j share_j + eta_b |g_b|^2, or <= A2_i D2_i with A2_i =
            # sum_j x_ij^2 + 1 and D2_i = sum_j |s_j|^2 + |s_b|^2. With the
            # row's Hessian bound, sum_i omega_i f_i min(A D, A2 D2) bounds the
            # curvature along the step; when it is within the descent the
            # Newton factor is >= 1 and the exact curvature (K numbers per
            # non-zero) is not needed: from the fifth epoch of a text fit on,
            # it rarely is. With one output the exact curvature costs what
            # the bound does, so it is always taken.
            bound = 0.0
            position = 0
            for q in range(m if K > 1 else 0):
                r = rows[q]
                lo = indptr[r]
                hi = indptr[r + 1]
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
                bound += omega[q] * row_curvature[q] * min(A * D, A2 * D2)
                position += hi - lo
            damping = 1.0
            if K == 1 or bound > descent:
                curvature = 0.0
                position = 0
                for q in range(m):
                    r = rows[q]
                    lo = indptr[r]
                    hi = indptr[r + 1]
                    for k in range(K):
                        dz[k] = eta_b * grad_b[k]
                    dz_0 = dz[0]
                    for nz in range(lo, hi):
                        l = slot[position + nz - lo]
                        x_rate = X_data[nz] * rate[l]
                        if K == 1:
                            dz_0 += x_rate * grad_rows[l]
                        else:
                            axpy_double(K, x_rate, grad_rows + l * K, &dz[0])
                    if K == 1:
                        dz[0] = dz_0
                    curvature += omega[q] * curvature_along(&G[q, 0], y[r], &dz[0], K)
                    position += hi - lo
                if descent < curvature:
                    damping = descent / curvature
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
                if K > 1 and l + 4 < n_cols:
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
            t += m
            lap(timed, tic, &phase[3])

            if has_average and t - 1 >= average_start:
                P += m * scale
                average_total += m
                for k in range(K):
                    intercept_sum[k] += m * intercept[k]
            if scale < SMALLEST_SCALE:
                for j in range(n_features):
                    for k in range(K):
                        V_rows[j * K + k] *= scale
                    l1_applied[j] *= scale
                l1_total *= scale
                if has_average:
                    P /= scale
                scale = 1.0
    state.scale, state.t, state.l1_total = scale, t, l1_total
    if timed:
        state.phase_seconds += phase
    if has_average:
        average.P, average.total = P, average_total
    return weighted_loss
