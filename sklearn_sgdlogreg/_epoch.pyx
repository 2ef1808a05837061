# cython: language_level=3, boundscheck=False, wraparound=False
# cython: cdivision=True, initializedcheck=False
"""One epoch of the shared-rate step, compiled.

This is the step of ``_solver``'s module docstring for the schedules whose
rate every feature shares (constant, optimal, invscaling, adaptive), run as
one loop over all the batches of an epoch, so that a batch costs what its
non-zeros cost. A step runs in four phases:

1. rows: each row of the batch is read once, while it is in cache, for its
   scores, loss and score gradient, and adds its share to the weight
   gradient and the per-feature curvature sums (each feature first pays the
   L1 penalty it owes);
2. caps: each feature's rate is capped at its Newton step;
3. curvature: the curvature of the batch loss along the whole step, from
   which the damping factor follows;
4. update: the rows of W the batch touched move, and the scale, the
   intercept and the average take the step (``finish_batch``).

The weights and their lazy bookkeeping (``W = scale * V``, the L1 a feature
still owes, the average ``sum_t m_t W_t = P V - U``) are one ``Weights``
struct with a few small functions (``pay_owed_l1``, ``begin_shrink``,
``finish_batch``, ``fold_scale``), in the spirit of scikit-learn's
``WeightVector``.

The phases come in two forms. The general one numbers the batch's distinct
columns and keeps K numbers for each (``score_rows``, ``cap_rates``,
``step_curvature``, ``update_columns``). The binary one (one output, and X
at least as large as its workspace) adds into per-feature records instead,
which spares the numbering (``binary_rows``, ``binary_caps``,
``binary_curvature``, ``binary_update``).

The loss (``loss_gradient``, ``curvature_along``) is the one the whole
package uses: ``_losses`` calls it through ``loss_gradient_rows`` and
``curvature_along_rows``.

Built with ``-DSGDLOGREG_PROFILE`` (``CPPFLAGS=-DSGDLOGREG_PROFILE pip install
-e .``), the step clocks its four phases into ``phase_seconds()``; otherwise
the clocks compile to nothing.
"""

from cython.parallel cimport prange, threadid
from libc.math cimport exp, fabs, log, log1p
from libc.stdint cimport int32_t, int64_t

import joblib
import numpy as np


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define PREFETCH(address) __builtin_prefetch(address)
    #else
    #define PREFETCH(address)
    #endif
    #ifdef SGDLOGREG_PROFILE
    #include <time.h>
    #define SGDLOGREG_PROFILED 1
    static double sgdlogreg_clock(void) {
        struct timespec now;
        timespec_get(&now, TIME_UTC);
        return now.tv_sec + 1e-9 * now.tv_nsec;
    }
    #else
    #define SGDLOGREG_PROFILED 0
    static double sgdlogreg_clock(void) { return 0.0; }
    #endif
    """
    void PREFETCH(const void *address) noexcept nogil
    const bint SGDLOGREG_PROFILED
    double sgdlogreg_clock() noexcept nogil

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int sgdlogreg_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int sgdlogreg_max_threads(void) { return 1; }
    #endif
    """
    int sgdlogreg_max_threads() noexcept nogil


def effective_n_threads():
    """The threads an epoch may use, taken as scikit-learn takes them.

    OpenMP's limit (``OMP_NUM_THREADS``, or ``threadpoolctl``'s
    ``threadpool_limits``), at most the physical cores, as
    ``sklearn.utils._openmp_helpers._openmp_effective_n_threads``; 1 when
    the module was built without OpenMP.

    Returns
    -------
    n_threads : int
    """
    return max(1, min(sgdlogreg_max_threads(),
                      joblib.cpu_count(only_physical_cores=True)))

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int32_t
    int64_t

def has_duplicate_entries(
    const index_t[::1] indices, const index_t[::1] indptr, Py_ssize_t n_features
):
    """Whether some row of a CSR matrix stores a column twice.

    Sorted or not: each column remembers the last row it was seen in, so
    the check costs one pass over the indices and a vector of
    ``n_features``, not a sorted copy of X.
    """
    cdef Py_ssize_t[::1] last_row = np.full(n_features, -1, dtype=np.intp)
    cdef Py_ssize_t i, p, j
    cdef bint found = False
    with nogil:
        for i in range(indptr.shape[0] - 1):
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                if last_row[j] == i:
                    found = True
                    break
                last_row[j] = i
            if found:
                break
    return found


def sums(const floating[:, ::1] V):
    """``(sum of squares, sum of absolute values)`` of V, in double, in one
    pass and without a temporary."""
    cdef Py_ssize_t i, n = V.shape[0] * V.shape[1]
    cdef const floating *v = &V[0, 0] if n else NULL
    cdef double squares = 0.0, absolutes = 0.0
    with nogil:
        for i in range(n):
            squares += <double>v[i] * v[i]
            absolutes += fabs(v[i])
    return squares, absolutes


def row_sums(
    const floating[:, ::1] V, const index_t[::1] rows, unsigned char[::1] seen
):
    """``(sum of squares, sum of absolute values, distinct rows)`` over the
    distinct rows of V listed in ``rows`` (repeats count once).

    ``seen``: zeros of V's length, which are zeros again on return. Costs a
    pass over ``rows`` and one over each distinct row: the columns of a
    chunk, not all of V.
    """
    cdef Py_ssize_t p, k, j, distinct = 0, K = V.shape[1]
    cdef double v, squares = 0.0, absolutes = 0.0
    with nogil:
        for p in range(rows.shape[0]):
            j = rows[p]
            if seen[j]:
                continue
            seen[j] = 1
            distinct += 1
            for k in range(K):
                v = V[j, k]
                squares += v * v
                absolutes += fabs(v)
        for p in range(rows.shape[0]):
            seen[rows[p]] = 0
    return squares, absolutes, distinct


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
    static inline void blend_recorded_double(Py_ssize_t n, double a,
                                             double *__restrict v, double b,
                                             const double *__restrict g,
                                             double *__restrict u, double p) {
        for (Py_ssize_t k = 0; k < n; k++) {
            double old = v[k];
            v[k] = a * old + b * g[k];
            u[k] += (v[k] - old) * p;
        }
    }
    static inline void blend_recorded_float(Py_ssize_t n, double a,
                                            float *__restrict v, double b,
                                            const double *__restrict g,
                                            float *__restrict u, double p) {
        for (Py_ssize_t k = 0; k < n; k++) {
            double old = v[k];
            v[k] = (float)(a * old + b * g[k]);
            u[k] += ((double)v[k] - old) * p;
        }
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
    void blend_recorded_double(
        Py_ssize_t n, double a, double *v, double b, const double *g,
        double *u, double p,
    ) noexcept nogil
    void blend_recorded_float(
        Py_ssize_t n, double a, float *v, double b, const double *g,
        float *u, double p,
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


cdef inline void blend_recorded(
    Py_ssize_t n, double a, floating *v, double b, const double *g,
    floating *u, double p,
) noexcept nogil:
    """v = a v + b g, and u += (new v - old v) p: the average's record of
    the change, in the same pass over the row."""
    if floating is double:
        blend_recorded_double(n, a, v, b, g, u, p)
    else:
        blend_recorded_float(n, a, v, b, g, u, p)


# ---------------------------------------------------------------------------
# Phase clocks, compiled in only with -DSGDLOGREG_PROFILE.

cdef enum Phase:
    ROWS, CAPS, CURVATURE, UPDATE

cdef double _phase_seconds[4]

#: Whether this build clocks the step's phases.
PROFILED = bool(SGDLOGREG_PROFILED)


def phase_seconds():
    """Seconds spent in each phase (rows, caps, curvature, update) so far.

    All zeros unless the module was built with ``-DSGDLOGREG_PROFILE``.

    Returns
    -------
    seconds : ndarray of shape (4,)
    """
    return np.array([_phase_seconds[p] for p in range(4)])


cdef inline double clock() noexcept nogil:
    """Wall-clock seconds (C11) in a profiling build, else 0."""
    return sgdlogreg_clock()


cdef inline double lap(double tic, Phase phase) noexcept nogil:
    """Add the seconds since ``tic`` to ``phase``; return the time now."""
    if not SGDLOGREG_PROFILED:
        return 0.0
    cdef double now = clock()
    _phase_seconds[<int>phase] += now - tic
    return now


# ---------------------------------------------------------------------------
# The loss, on one row of scores.

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


def loss_gradient_rows(double[:, ::1] raw_prediction, const Py_ssize_t[::1] y):
    """Per-row loss; overwrites each row of scores with its gradient.

    Parameters
    ----------
    raw_prediction : ndarray of shape (n_samples, n_outputs), float64
        Scores; on return, ``p - onehot(y)`` (``sigma(z) - y`` for one
        output).
    y : ndarray of intp of shape (n_samples,)

    Returns
    -------
    loss : ndarray of shape (n_samples,)
    """
    cdef Py_ssize_t i, n_outputs = raw_prediction.shape[1]
    loss = np.empty(raw_prediction.shape[0])
    cdef double[::1] out = loss
    with nogil:
        for i in range(raw_prediction.shape[0]):
            out[i] = loss_gradient(&raw_prediction[i, 0], y[i], n_outputs)
    return loss


def curvature_along_rows(
    const double[:, ::1] gradient, const Py_ssize_t[::1] y,
    const double[:, ::1] direction,
):
    """Per-row ``d^T H d`` at the probabilities behind ``gradient``.

    Parameters
    ----------
    gradient : ndarray of shape (n_samples, n_outputs), float64
        Unweighted score gradients from :func:`loss_gradient_rows`.
    y : ndarray of intp of shape (n_samples,)
    direction : ndarray of shape (n_samples, n_outputs), float64

    Returns
    -------
    curvature : ndarray of shape (n_samples,)
    """
    cdef double[::1] curvature = np.empty(gradient.shape[0])
    cdef Py_ssize_t i
    for i in range(gradient.shape[0]):
        curvature[i] = curvature_along(
            &gradient[i, 0], y[i], &direction[i, 0], gradient.shape[1]
        )
    return np.asarray(curvature)


# ---------------------------------------------------------------------------
# The weights and their lazy bookkeeping.

# Below this the scale factor is folded into V, to keep V's entries finite
# and the lazy average exact: between folds P V - U loses up to
# log10(1 / SMALLEST_SCALE) digits to cancellation (P V grows as the scale
# shrinks). A fold costs one pass over W, and a default fit shrinks the scale
# by about 50 in its first epoch and 2 or less in each later one.
cdef double SMALLEST_SCALE = 1e-4


cdef struct Weights:
    # W = scale * V. The arrays are of X's dtype (float or double), which
    # a struct cannot be generic over; each function casts them once.
    void *V  # (n_features, K), C order
    void *intercept  # (K,)
    void *U  # the average's correction, (n_features, K); NULL without one
    void *intercept_sum  # the average's sum of m_t b_t, (K,)
    double *l1_applied  # per feature: the shared L1 it has been charged
    double *l1_entitled  # per feature: all the L1 charged to it, units of V
    double *l1_received  # (n_features, K): the L1 each weight moved by, signed
    Py_ssize_t n_features, K
    double scale
    double l1_total  # the L1 every feature owes in all, in units of V
    double l1, l2  # the penalty's strengths
    double t  # one plus the samples trained on, in units of sample weight
    bint has_average
    double P  # sum_t m_t scale_t since the last fold
    double average_total  # the average's summed iterate weights
    double average_start
    double average_per_sample  # an iterate's weight per sample of its batch
    Py_ssize_t folds  # how many times fold_scale rewrote every row of V


cdef Weights load_weights(
    solver, penalty, floating[:, ::1] V, floating[::1] intercept
) except *:
    """The ``Weights`` of a ``_solver.Solver``, whose arrays it points into."""
    cdef Weights weights
    cdef floating[:, ::1] U
    cdef floating[::1] intercept_sum
    cdef double[::1] l1_applied = solver.l1_applied
    weights.V = &V[0, 0] if V.shape[0] else NULL
    weights.intercept = &intercept[0]
    weights.l1_applied = &l1_applied[0] if V.shape[0] else NULL
    weights.l1_entitled, weights.l1_received = NULL, NULL
    cdef double[::1] l1_entitled
    cdef double[:, ::1] l1_received
    if penalty.l1 and V.shape[0]:
        l1_entitled, l1_received = solver.l1_entitled, solver.l1_received
        weights.l1_entitled = &l1_entitled[0]
        weights.l1_received = &l1_received[0, 0]
    weights.n_features, weights.K = V.shape[0], V.shape[1]
    weights.scale, weights.l1_total, weights.t = solver.scale, solver.l1_total, solver.t
    weights.l1, weights.l2 = penalty.l1, penalty.l2
    average = solver.average
    weights.has_average = average is not None
    weights.U, weights.intercept_sum = NULL, NULL
    weights.P, weights.average_total, weights.average_start = 0.0, 0.0, 0.0
    weights.average_per_sample = 1.0
    weights.folds = 0
    if weights.has_average:
        U, intercept_sum = average.U, average.intercept_sum
        weights.U = &U[0, 0] if V.shape[0] else NULL
        weights.intercept_sum = &intercept_sum[0]
        weights.P, weights.average_total = average.P, average.total
        weights.average_start = average.start
        weights.average_per_sample = 1.0 / solver.samples_per_row
    return weights


cdef store_weights(const Weights *weights, solver):
    """Write the scalars an epoch changed back into the ``Solver``."""
    solver.scale, solver.t, solver.l1_total = weights.scale, weights.t, weights.l1_total
    solver.scale_folds += weights.folds
    if weights.has_average:
        solver.average.P, solver.average.total = weights.P, weights.average_total


cdef inline floating *recorded_average(
    const Weights *weights, const floating *V
) noexcept nogil:
    """The average's U (typed as V) while it records changes of V, else NULL."""
    if weights.has_average and weights.average_total:
        return <floating *>weights.U
    return NULL


cdef inline double toward_zero(double v, double entitled, double received) noexcept nogil:
    """``v`` moved toward 0, not past it, by the L1 it has yet to receive.

    Tsuruoka, Tsujii and Ananiadou's cumulative penalty (ACL 2009), which
    SGDClassifier uses: a weight is owed all the L1 charged to it
    (``entitled``) less what it has received (``received``, signed: the
    moves the penalty made). A weight that a step pushed across 0 and the
    penalty stopped at 0 keeps the rest of its charge, so a weight that
    noise keeps near 0 is pulled back to 0 by the charges it has saved up,
    and ends exactly 0 where a step's own soft threshold would leave it
    hovering; a weight away from 0 receives its charge step by step, so the
    fixed points are those of the prox.
    """
    if v > 0:
        return max(0.0, v - max(0.0, entitled + received))
    if v < 0:
        return min(0.0, v + max(0.0, entitled - received))
    return v


cdef inline void charge_l1(
    const Weights *weights, floating *V_row, floating *U_row, Py_ssize_t j
) noexcept nogil:
    """Move row j of V toward 0 by the L1 it has yet to receive; ``U_row``
    NULL: no average to record the move in."""
    cdef Py_ssize_t k
    cdef double old, v
    cdef double *received = weights.l1_received + j * weights.K
    for k in range(weights.K):
        old = V_row[k]
        # The stored (rounded) new weight, as in the update.
        v = <floating>toward_zero(old, weights.l1_entitled[j], received[k])
        received[k] += v - old
        if U_row != NULL:
            U_row[k] += (v - old) * weights.P
        V_row[k] = <floating>v


cdef inline void pay_owed_l1(
    const Weights *weights, floating *V_row, floating *U_row, Py_ssize_t j
) noexcept nogil:
    """Charge row j of V the shared L1 of the steps since it was last
    touched, and move it by what it owes; ``U_row`` NULL: no average."""
    cdef double owed = weights.l1_total - weights.l1_applied[j]
    if owed <= 0:
        return
    weights.l1_entitled[j] += owed
    weights.l1_applied[j] = weights.l1_total
    charge_l1(weights, V_row, U_row, j)


cdef inline void charge_step_l1(
    const Weights *weights, floating *V_row, Py_ssize_t j, double amount
) noexcept nogil:
    """Charge a row the batch moved the L1 of its own step (its rate, not
    the shared one, which it is no longer owed), and move it by what it
    owes."""
    weights.l1_entitled[j] += amount
    weights.l1_applied[j] = weights.l1_total
    charge_l1(weights, V_row, NULL, j)


cdef double begin_shrink(Weights *weights, double eta) noexcept nogil:
    """Owe every feature the L1 of a step of rate ``eta``; return the new scale.

    The L2 shrink of the untouched rows is the scale's, ``1 / (1 + eta
    l2)``; the step's update works in units of V at the new scale.
    """
    if weights.l1:
        weights.l1_total += eta * weights.l1 / weights.scale
    return weights.scale / (1.0 + eta * weights.l2)


cdef void fold_scale(Weights *weights, floating *V) noexcept nogil:
    """Multiply the scale into V (and the L1 it has paid, in its units).

    With an average, also move ``P V`` into U (``U <- U - P V``) so that the
    average's sum ``P V - U`` is kept with P = 0 from here on. Dividing P by
    the scale instead, as the identity also allows, makes P V and U grow by
    1 / scale at every fold, and their difference loses those digits.
    """
    cdef floating *U = <floating *>weights.U if weights.has_average else NULL
    cdef Py_ssize_t i, j, K = weights.K
    for j in range(weights.n_features):
        for i in range(j * K, (j + 1) * K):
            if U != NULL:
                U[i] -= weights.P * V[i]
            V[i] *= weights.scale
            if weights.l1_received != NULL:
                weights.l1_received[i] *= weights.scale
        weights.l1_applied[j] *= weights.scale
        if weights.l1_entitled != NULL:
            weights.l1_entitled[j] *= weights.scale
    weights.l1_total *= weights.scale
    weights.P = 0.0
    weights.scale = 1.0
    weights.folds += 1


cdef void finish_batch(
    Weights *weights, floating *V, double m, double new_scale, double eta_b,
    const double *intercept_gradient,
) noexcept nogil:
    """The step's end: intercept, scale, step counter, average, fold.

    ``V`` is ``weights.V``, typed; ``m`` the batch's samples (summed weight).
    """
    cdef floating *intercept = <floating *>weights.intercept
    cdef floating *intercept_sum = <floating *>weights.intercept_sum
    cdef Py_ssize_t k
    for k in range(weights.K):
        intercept[k] -= eta_b * intercept_gradient[k]
    weights.scale = new_scale
    weights.t += m
    if weights.has_average and weights.t - 1 >= weights.average_start:
        m *= weights.average_per_sample
        weights.P += m * weights.scale
        weights.average_total += m
        for k in range(weights.K):
            intercept_sum[k] += m * intercept[k]
    if weights.scale < SMALLEST_SCALE:
        fold_scale(weights, V)


def pay_all_owed_l1(solver, floating[:, ::1] V, penalty):
    """Pay every feature's owed L1 penalty into ``V`` (the solver's).

    Parameters
    ----------
    solver : _solver.Solver
    V : ndarray of shape (n_features, n_outputs)
        ``solver.V``, typed.
    penalty : ElasticNet
    """
    cdef floating[::1] intercept = solver.intercept
    cdef Weights weights = load_weights(solver, penalty, V, intercept)
    cdef floating *U = (
        recorded_average(&weights, &V[0, 0]) if weights.n_features else NULL
    )
    cdef Py_ssize_t j, K = weights.K
    if not weights.l1:
        return
    with nogil:
        for j in range(weights.n_features):
            pay_owed_l1(&weights, &V[j, 0], U + j * K if U != NULL else NULL, j)


# ---------------------------------------------------------------------------
# A batch: its rows of non-zero weight, gathered.

cdef struct Batch:
    # A batch's rows of non-zero weight, in visiting order, with what the
    # passes over them read: their bounds in X, labels and weights. Shuffled
    # rows are scattered over X and y; gathered once, they are read in order
    # by every pass, which then does not wait on memory to find each row.
    Py_ssize_t size
    double weight_sum  # the samples the step counts
    Py_ssize_t *start  # row q's non-zeros are start[q] .. stop[q] - 1
    Py_ssize_t *stop
    Py_ssize_t *offset  # where row q's non-zeros start among the batch's
    Py_ssize_t *label  # its class index
    double *weight  # its sample weight
    double *omega  # weight / weight_sum: its share of the gradient
    double omega_sum
    double *row_term  # per row: its term of a sum the step adds up in order
    int n_threads  # the threads the step's parallel loops use


cdef Py_ssize_t gather_batch(
    Batch *batch, const Py_ssize_t *order, Py_ssize_t first, Py_ssize_t end,
    const index_t *indptr, const Py_ssize_t *y, const double *sample_weight,
    double weight_sum,
) noexcept nogil:
    """Gather the rows ``order[first:end]`` of non-zero weight; return how many.

    Zero-weight rows are skipped as if absent.
    """
    cdef Py_ssize_t p, r, q, m = 0, nnz = 0
    for p in range(first, end):
        r = order[p]
        if sample_weight[r] != 0:
            batch.start[m] = indptr[r]
            batch.stop[m] = indptr[r + 1]
            batch.offset[m] = nnz
            nnz += indptr[r + 1] - indptr[r]
            batch.label[m] = y[r]
            batch.weight[m] = sample_weight[r]
            m += 1
    batch.size = m
    batch.weight_sum = weight_sum
    batch.offset[m] = nnz
    batch.omega_sum = 0.0
    for q in range(m):
        batch.omega[q] = batch.weight[q] / weight_sum
        batch.omega_sum += batch.omega[q]
    return m


cdef inline double sum_in_order(const double *terms, Py_ssize_t n) noexcept nogil:
    """``terms[0] + ... + terms[n - 1]``, added in that order.

    The parallel loops write one term per row or column and leave the sum to
    this, so that the step adds in the same order for any thread count.
    """
    cdef Py_ssize_t i
    cdef double total = 0.0
    for i in range(n):
        total += terms[i]
    return total


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


# How many rows ahead of a pass a row is asked for: far enough for its first
# lines to arrive (shuffled rows are scattered over X), near enough to stay
# in the L1 cache. The binary step does little a row, so it asks further
# ahead (on the Debian matrix, 4 rows is faster than 2 or 8).
cdef enum:
    ROWS_AHEAD = 2
    ROWS_AHEAD_BINARY = 4


# ---------------------------------------------------------------------------
# The general step: the batch's distinct columns numbered 0..n_cols-1.

cdef struct Columns:
    # The workspace of the general step, sized for the largest batch. A
    # batch's distinct columns are numbered in first-seen order;
    # ``local_of[j]`` is j's number when ``cols`` agrees, which makes
    # clearing the map between batches unnecessary (it starts at zeros so
    # that every stale entry indexes within ``cols``). ``slot`` holds the
    # number of each non-zero of the batch, in visiting order, so that later
    # passes need not look it up again. They are of X's index type (it holds
    # nnz(X), so any batch's), which keeps a batch's working set small.
    void *local_of  # (n_features,)
    void *cols  # (n_local,): the column of each number
    void *slot  # (capacity,)
    Py_ssize_t n_cols
    double *gradient  # (n_local, K): the batch gradient, per column
    double *curvature  # (n_local,): sum_i omega_i x_ij^2, per column
    double *rate  # (n_local,): the column's capped rate
    double *share  # (n_local,): rate |gradient row|^2, its share of the descent
    double *score_gradient  # (largest, K): row q's scores, then p - onehot(y)
    double *row_curvature  # (largest,): bound of row q's loss Hessian
    double *intercept_gradient  # (K,)
    double *dz  # (n_threads, K): a row's change of scores along the step
    double *old_row  # (n_threads, K): a row of V before its update


cdef inline Py_ssize_t number_column(
    Columns *ws, Weights *weights, index_t j, floating *V, floating *U
) noexcept nogil:
    """j's number in the batch, as ``~number`` when j is new to the batch.

    A new column first pays the L1 it owes, before the batch reads it.
    """
    cdef index_t *local_of = <index_t *>ws.local_of
    cdef index_t *cols = <index_t *>ws.cols
    cdef Py_ssize_t col = local_of[j]
    if col < ws.n_cols and cols[col] == j:
        return col
    col = ws.n_cols
    ws.n_cols += 1
    local_of[j] = <index_t>col
    cols[col] = j
    if weights.l1:
        pay_owed_l1(weights, V + j * weights.K,
                    U + j * weights.K if U != NULL else NULL, j)
    return ~col


cdef void number_columns(
    Columns *ws, const Batch *batch, Weights *weights, const index_t *X_indices,
    floating *V,
) noexcept nogil:
    """Phase 1a: number the batch's columns in first-seen order.

    ``slot`` gets ``~number`` at a column's first non-zero in the batch (the
    row that adds to it first stores instead, which spares zeroing K
    numbers a column each batch), its number elsewhere.
    """
    cdef index_t *slot = <index_t *>ws.slot
    cdef floating *U = recorded_average(weights, V)
    cdef Py_ssize_t q, nz
    ws.n_cols = 0
    for q in range(batch.size):
        for nz in range(batch.start[q], batch.stop[q]):
            slot[batch.offset[q] + nz - batch.start[q]] = <index_t>number_column(
                ws, weights, X_indices[nz], V, U
            )


cdef inline double hessian_bound(
    const double *gradient, Py_ssize_t y, Py_ssize_t K, double c
) noexcept nogil:
    """A bound of the row's loss Hessian ``diag(p) - p p^T``, K > 1.

    Below diag(p), so at most max_k p_k; a variance, so at most sum_k p_k
    (d_k - d_k*)^2 <= 2 (1 - max_k p_k) |d|^2; and at most c. Much below c
    at the start (p near uniform) and for confident rows. (Rounding can put
    p_max a hair above 1, hence the 0.)
    """
    cdef Py_ssize_t k
    cdef double p_max = 0.0
    for k in range(K):
        p_max = max(p_max, gradient[k] + (k == y))
    return max(0.0, min(c, p_max, 2.0 * (1.0 - p_max)))


cdef void score_row(
    Columns *ws, const Batch *batch, Py_ssize_t q, const Weights *weights,
    const floating *V, const floating *X_data, const index_t *X_indices,
    double c,
) noexcept nogil:
    """Row q's scores, its weighted loss (into ``row_term[q]``), its score
    gradient and the bound of its Hessian."""
    cdef Py_ssize_t K = weights.K, k, nz
    cdef const floating *intercept = <const floating *>weights.intercept
    cdef double *z_row = ws.score_gradient + q * K
    prefetch_row(batch, q + ROWS_AHEAD, X_data, X_indices)
    for k in range(K):
        z_row[k] = 0.0
    for nz in range(batch.start[q], batch.stop[q]):
        axpy(K, X_data[nz], V + X_indices[nz] * K, z_row)
    for k in range(K):
        z_row[k] = z_row[k] * weights.scale + intercept[k]
    batch.row_term[q] = batch.weight[q] * loss_gradient(z_row, batch.label[q], K)
    if K > 1:
        ws.row_curvature[q] = hessian_bound(z_row, batch.label[q], K, c)


cdef void add_rows_to_columns(
    Columns *ws, const Batch *batch, const floating *X_data, index_t *slot,
    Py_ssize_t K, Py_ssize_t lo, Py_ssize_t hi,
) noexcept nogil:
    """Add the rows' shares to the gradient and curvature sums of the
    columns numbered ``lo .. hi - 1``, row by row (``slot``: ``ws.slot``,
    typed)."""
    cdef Py_ssize_t q, nz, col, position
    cdef double omega, x
    cdef double *z_row
    for q in range(batch.size):
        omega = batch.omega[q]
        z_row = ws.score_gradient + q * K
        for nz in range(batch.start[q], batch.stop[q]):
            position = batch.offset[q] + nz - batch.start[q]
            col = slot[position]
            if (~col if col < 0 else col) < lo or (~col if col < 0 else col) >= hi:
                continue
            x = X_data[nz]
            if col < 0:
                col = ~col
                slot[position] = <index_t>col
                ws.curvature[col] = omega * x * x
                scale_into(K, omega * x, z_row, ws.gradient + col * K)
            else:
                ws.curvature[col] += omega * x * x
                axpy_double(K, omega * x, z_row, ws.gradient + col * K)


cdef double score_rows(
    Columns *ws, const Batch *batch, Weights *weights, const floating *X_data,
    const index_t *X_indices, double c,
) noexcept nogil:
    """Phase 1: score the rows, add their gradient; return their weighted loss.

    The rows are scored in parallel (1b), with V read only: the columns pay
    their owed L1 first, as they are numbered (1a). Each thread then adds
    the rows, in order, into its own block of columns (1c), so that every
    sum is added in the same order for any thread count.
    """
    cdef floating *V = <floating *>weights.V
    cdef Py_ssize_t K = weights.K, q, k, block
    cdef int n_threads = batch.n_threads
    number_columns(ws, batch, weights, X_indices, V)
    if n_threads > 1:
        for q in prange(batch.size, schedule="static", num_threads=n_threads):
            score_row(ws, batch, q, weights, V, X_data, X_indices, c)
    else:
        for q in range(batch.size):
            score_row(ws, batch, q, weights, V, X_data, X_indices, c)
    for k in range(K):
        ws.intercept_gradient[k] = 0.0
    for q in range(batch.size):
        for k in range(K):
            ws.intercept_gradient[k] += batch.omega[q] * ws.score_gradient[q * K + k]
    if n_threads > 1:
        for block in prange(n_threads, schedule="static", num_threads=n_threads):
            add_rows_to_columns(ws, batch, X_data, <index_t *>ws.slot, K,
                                block * ws.n_cols // n_threads,
                                (block + 1) * ws.n_cols // n_threads)
    else:
        add_rows_to_columns(ws, batch, X_data, <index_t *>ws.slot, K, 0, ws.n_cols)
    return sum_in_order(batch.row_term, batch.size)


cdef inline double squared_norm(const double *v, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    cdef double squares = 0.0
    for k in range(n):
        squares += v[k] * v[k]
    return squares


cdef void cap_column(
    Columns *ws, Py_ssize_t col, Py_ssize_t K, double eta, double c
) noexcept nogil:
    """Column ``col``'s rate, capped at its Newton step, and its share of
    the descent."""
    cdef double h = c * ws.curvature[col]
    ws.rate[col] = eta if h * eta <= 1.0 else 1.0 / h
    ws.share[col] = ws.rate[col] * squared_norm(ws.gradient + col * K, K)


cdef double cap_rates(
    Columns *ws, const Batch *batch, Py_ssize_t K, double eta, double eta_b,
    double c,
) noexcept nogil:
    """Phase 2: cap each column's rate at its Newton step; return the descent.

    ``<G, X step> = sum_j rate_j |g_j|^2``, so the step's first-order
    descent needs no pass over X.
    """
    cdef Py_ssize_t col
    cdef int n_threads = batch.n_threads
    if n_threads > 1:
        for col in prange(ws.n_cols, schedule="static", num_threads=n_threads):
            cap_column(ws, col, K, eta, c)
    else:
        for col in range(ws.n_cols):
            cap_column(ws, col, K, eta, c)
    cdef double descent = eta_b * squared_norm(ws.intercept_gradient, K)
    for col in range(ws.n_cols):
        descent += ws.share[col]
    return descent


cdef void bound_row(
    const Columns *ws, const Batch *batch, Py_ssize_t q, const floating *X_data,
    const index_t *slot, double eta_b, double intercept_squares,
) noexcept nogil:
    """Row q's term of the scalar bound of the curvature along the step.

    The step changes row i's scores by dz_i = sum_j x_ij s_j + s_b (s_j =
    rate_j g_j), and by Cauchy-Schwarz |dz_i|^2 <= A_i D_i with A_i =
    sum_j rate_j x_ij^2 + eta_b and D_i = sum_j share_j + eta_b |g_b|^2, or
    <= A2_i D2_i with A2_i = sum_j x_ij^2 + 1 and D2_i = sum_j |s_j|^2 +
    |s_b|^2. With the row's Hessian bound, omega_i f_i min(A D, A2 D2).
    """
    cdef Py_ssize_t nz, col
    cdef double x
    cdef double A = eta_b, D = eta_b * intercept_squares
    cdef double A2 = 1.0, D2 = eta_b * eta_b * intercept_squares
    for nz in range(batch.start[q], batch.stop[q]):
        x = X_data[nz]
        col = slot[batch.offset[q] + nz - batch.start[q]]
        A += ws.rate[col] * x * x
        D += ws.share[col]
        A2 += x * x
        D2 += ws.rate[col] * ws.share[col]
    batch.row_term[q] = batch.omega[q] * ws.row_curvature[q] * min(A * D, A2 * D2)


cdef void curve_row(
    const Columns *ws, const Batch *batch, Py_ssize_t q, const floating *X_data,
    const index_t *slot, Py_ssize_t K, double eta_b, double *dz,
) noexcept nogil:
    """Row q's term ``omega_q dz_q^T H_q dz_q`` of the curvature along the
    step (``dz``: K doubles of the calling thread's)."""
    cdef Py_ssize_t k, nz, col
    for k in range(K):
        dz[k] = eta_b * ws.intercept_gradient[k]
    for nz in range(batch.start[q], batch.stop[q]):
        col = slot[batch.offset[q] + nz - batch.start[q]]
        axpy_double(K, X_data[nz] * ws.rate[col], ws.gradient + col * K, dz)
    batch.row_term[q] = batch.omega[q] * curvature_along(
        ws.score_gradient + q * K, batch.label[q], dz, K
    )


cdef double step_curvature(
    const Columns *ws, const Batch *batch, const floating *X_data,
    const index_t *slot, Py_ssize_t K, double eta_b, double descent,
) noexcept nogil:
    """Phase 3: ``sum_i omega_i dz_i^T H_i dz_i`` along the step, or 0.

    0 when the scalar bound (``bound_row``) shows the curvature within the
    descent: the Newton factor is then >= 1 and the exact curvature (K
    numbers per non-zero) is not needed. From the fifth epoch of a text fit
    on, it rarely is. With one output the exact curvature costs what the
    bound does, so it is always taken.
    """
    cdef Py_ssize_t q
    cdef int n_threads = batch.n_threads
    cdef double intercept_squares = squared_norm(ws.intercept_gradient, K)
    if K > 1:
        if n_threads > 1:
            for q in prange(batch.size, schedule="static", num_threads=n_threads):
                bound_row(ws, batch, q, X_data, slot, eta_b, intercept_squares)
        else:
            for q in range(batch.size):
                bound_row(ws, batch, q, X_data, slot, eta_b, intercept_squares)
        if sum_in_order(batch.row_term, batch.size) <= descent:
            return 0.0
    if n_threads > 1:
        for q in prange(batch.size, schedule="static", num_threads=n_threads):
            curve_row(ws, batch, q, X_data, slot, K, eta_b, ws.dz + threadid() * K)
    else:
        for q in range(batch.size):
            curve_row(ws, batch, q, X_data, slot, K, eta_b, ws.dz + threadid() * K)
    return sum_in_order(batch.row_term, batch.size)


cdef void update_column(
    const Columns *ws, Weights *weights, floating *V, floating *U,
    const index_t *cols, Py_ssize_t col, double damping, double new_scale,
    double *old_row,
) noexcept nogil:
    """``W_j <- S(W_j - eta_j g_j, eta_j l1) / (1 + eta_j l2)`` for the
    column numbered ``col``, in units of V at the new scale (``old_row``:
    K doubles of the calling thread's)."""
    cdef Py_ssize_t k, K = weights.K
    cdef floating *V_row
    cdef double eta_j, denominator
    if col + 4 < ws.n_cols:
        # The rows of V are scattered and K wide: fetch the one four
        # columns ahead while this one is updated.
        V_row = V + cols[col + 4] * K
        for k in range(0, K, 8):
            PREFETCH(V_row + k)
        if U != NULL:  # the average's row, as scattered
            for k in range(0, K, 8):
                PREFETCH(U + cols[col + 4] * K + k)
    eta_j = ws.rate[col] * damping
    denominator = (1.0 + eta_j * weights.l2) * new_scale
    V_row = V + cols[col] * K
    if U != NULL and not weights.l1:
        # One pass over the row for the step and the average's record.
        blend_recorded(K, weights.scale / denominator, V_row, -eta_j / denominator,
                       ws.gradient + col * K, U + cols[col] * K, weights.P)
        return
    if U != NULL:
        for k in range(K):
            old_row[k] = V_row[k]
    # Multiplying by the reciprocals (a division per row, not per weight)
    # rounds differently in the last bit only.
    blend(K, weights.scale / denominator, V_row, -eta_j / denominator,
          ws.gradient + col * K)
    if weights.l1:
        charge_step_l1(weights, V_row, cols[col], weights.l1 * eta_j / denominator)
    if U != NULL:
        for k in range(K):
            U[cols[col] * K + k] += (V_row[k] - old_row[k]) * weights.P


cdef void update_columns(
    const Columns *ws, const Batch *batch, Weights *weights, floating *V,
    const index_t *cols, double damping, double new_scale,
) noexcept nogil:
    """Phase 4: move the batch's columns (rows of V), in parallel; the
    shrink of the untouched rows is the scale's. ``V`` and ``cols`` are
    ``weights.V`` and ``ws.cols``, typed."""
    cdef floating *U = recorded_average(weights, V)
    cdef Py_ssize_t col
    cdef int n_threads = batch.n_threads
    if n_threads > 1:
        for col in prange(ws.n_cols, schedule="static", num_threads=n_threads):
            update_column(ws, weights, V, U, cols, col, damping, new_scale,
                          ws.old_row + threadid() * weights.K)
    else:
        for col in range(ws.n_cols):
            update_column(ws, weights, V, U, cols, col, damping, new_scale,
                          ws.old_row + threadid() * weights.K)


# ---------------------------------------------------------------------------
# The binary step, by feature. With one number a feature, numbering the
# batch's columns (a look-up and a branch the processor cannot predict, per
# non-zero) would cost more than the sums: they are added into records
# indexed by feature instead. A byte a feature (``seen``) lists the distinct
# features in ``cols``, without a branch, for the caps and the update, which
# clear the records after them.

cdef union CurvatureOrRate:
    # One double, named for what it holds in each phase: the rows phase sums
    # the curvature into it, the caps phase turns that into the rate. A
    # third double a feature would grow the workspace by 40%, and with it
    # the cache the step sweeps and the size of X it needs (see
    # ``_solver.takes_binary_step``).
    double curvature  # sum_i omega_i x_ij^2, in the rows phase
    double rate  # the capped rate, from the caps phase on


cdef struct Feature:
    double gradient  # sum_i omega_i (p_i - y_i) x_ij
    CurvatureOrRate h


cdef struct ByFeature:
    # The workspace of the binary step.
    Feature *feature  # (n_features,)
    unsigned char *seen  # (n_features,)
    void *cols  # (n_features + 1,): the batch's distinct features
    Py_ssize_t n_cols
    double *share  # (n_cols,): each listed feature's share of the descent
    double *score_gradient  # (largest,): row q's p - y
    double intercept_gradient


cdef void binary_score_row(
    ByFeature *ws, const Batch *batch, Py_ssize_t q, const Weights *weights,
    const floating *V, const floating *X_data, const index_t *X_indices,
) noexcept nogil:
    """Row q's score, weighted loss (into ``row_term[q]``) and score
    gradient."""
    cdef Py_ssize_t nz = batch.start[q], hi = batch.stop[q]
    # Two sums, so that each add need not wait for the one before.
    cdef double z = 0.0, z_odd = 0.0
    prefetch_row(batch, q + ROWS_AHEAD_BINARY, X_data, X_indices)
    while nz + 1 < hi:
        z += X_data[nz] * V[X_indices[nz]]
        z_odd += X_data[nz + 1] * V[X_indices[nz + 1]]
        nz += 2
    if nz < hi:
        z += X_data[nz] * V[X_indices[nz]]
    z = (z + z_odd) * weights.scale + (<const floating *>weights.intercept)[0]
    batch.row_term[q] = batch.weight[q] * loss_gradient(&z, batch.label[q], 1)
    ws.score_gradient[q] = z


cdef double binary_rows(
    ByFeature *ws, const Batch *batch, Weights *weights, const floating *X_data,
    const index_t *X_indices,
) noexcept nogil:
    """Phase 1: score the rows, add their gradient; return their weighted loss.

    The batch's features first pay the L1 they owe. Then one sweep a row, on
    one thread: with one output a row's score costs about what adding it
    into the feature records costs, and each row is read once while in
    cache. (Split among threads by feature blocks, as the general form is by
    column blocks, every thread would read every row.)
    """
    cdef index_t *cols = <index_t *>ws.cols
    cdef floating *V = <floating *>weights.V
    cdef floating *U = recorded_average(weights, V)
    cdef Py_ssize_t q, nz, j, n_cols = 0
    cdef double omega, g, x, g_b = 0.0
    if weights.l1:
        for q in range(batch.size):
            for nz in range(batch.start[q], batch.stop[q]):
                j = X_indices[nz]
                pay_owed_l1(weights, V + j, U + j if U != NULL else NULL, j)
    for q in range(batch.size):
        binary_score_row(ws, batch, q, weights, V, X_data, X_indices)
        omega = batch.omega[q]
        g = omega * ws.score_gradient[q]
        g_b += g
        for nz in range(batch.start[q], batch.stop[q]):
            j = X_indices[nz]
            x = X_data[nz]
            cols[n_cols] = <index_t>j
            n_cols += 1 - ws.seen[j]
            ws.seen[j] = 1
            ws.feature[j].gradient += x * g
            ws.feature[j].h.curvature += omega * x * x
    ws.n_cols = n_cols
    ws.intercept_gradient = g_b
    return sum_in_order(batch.row_term, batch.size)


cdef inline void binary_cap_feature(
    ByFeature *ws, index_t j, Py_ssize_t col, double eta, double c
) noexcept nogil:
    """Feature j's rate, capped at its Newton step, and its share of the
    descent (listed as ``col``)."""
    cdef Feature *f = &ws.feature[j]
    cdef double h = c * f.h.curvature
    f.h.rate = eta if h * eta <= 1.0 else 1.0 / h
    ws.share[col] = f.h.rate * f.gradient * f.gradient


cdef double binary_caps(
    ByFeature *ws, const Batch *batch, const index_t *cols, double eta,
    double eta_b, double c,
) noexcept nogil:
    """Phase 2: cap each feature's rate at its Newton step; return the descent
    ``rate_b g_b^2 + sum_j rate_j g_j^2``. ``cols`` is ``ws.cols``, typed."""
    cdef Py_ssize_t col
    cdef int n_threads = batch.n_threads
    if n_threads > 1:
        for col in prange(ws.n_cols, schedule="static", num_threads=n_threads):
            binary_cap_feature(ws, cols[col], col, eta, c)
    else:
        for col in range(ws.n_cols):
            binary_cap_feature(ws, cols[col], col, eta, c)
    return (eta_b * ws.intercept_gradient * ws.intercept_gradient
            + sum_in_order(ws.share, ws.n_cols))


cdef void binary_curve_row(
    const ByFeature *ws, const Batch *batch, Py_ssize_t q, const floating *X_data,
    const index_t *X_indices, double eta_b,
) noexcept nogil:
    """Row q's term ``omega_q p_q (1 - p_q) dz_q^2`` of the curvature along
    the step; ``dz_q = sum_j x_qj rate_j g_j + rate_b g_b``."""
    cdef Py_ssize_t nz
    cdef double dz = eta_b * ws.intercept_gradient
    cdef double p = ws.score_gradient[q] + batch.label[q]
    cdef const Feature *f
    for nz in range(batch.start[q], batch.stop[q]):
        f = &ws.feature[X_indices[nz]]
        dz += X_data[nz] * (f.h.rate * f.gradient)
    batch.row_term[q] = batch.omega[q] * p * (1.0 - p) * dz * dz


cdef double binary_curvature(
    const ByFeature *ws, const Batch *batch, const floating *X_data,
    const index_t *X_indices, double eta_b,
) noexcept nogil:
    """Phase 3: the curvature along the step, ``sum_i omega_i p_i (1 - p_i)
    dz_i^2``.

    A Cauchy-Schwarz bound (as in the general step) would cost what this
    costs with one output: a pass over the batch.
    """
    cdef Py_ssize_t q
    cdef int n_threads = batch.n_threads
    if n_threads > 1:
        for q in prange(batch.size, schedule="static", num_threads=n_threads):
            binary_curve_row(ws, batch, q, X_data, X_indices, eta_b)
    else:
        for q in range(batch.size):
            binary_curve_row(ws, batch, q, X_data, X_indices, eta_b)
    return sum_in_order(batch.row_term, batch.size)


cdef void binary_update_feature(
    ByFeature *ws, Weights *weights, floating *V, floating *U, index_t j,
    double damping, double new_scale,
) noexcept nogil:
    """Move feature j by its damped step, as ``update_column`` does; clear
    its record."""
    cdef Feature *f = &ws.feature[j]
    cdef double eta_j = f.h.rate * damping
    cdef double denominator = (1.0 + eta_j * weights.l2) * new_scale
    cdef floating old = V[j]
    V[j] = <floating>(
        (weights.scale * V[j] - damping * (f.h.rate * f.gradient)) / denominator
    )
    if weights.l1:
        charge_step_l1(weights, V + j, j, weights.l1 * eta_j / denominator)
    if U != NULL:
        U[j] += (V[j] - old) * weights.P
    f.gradient = 0.0
    f.h.curvature = 0.0  # ready for the next batch's sum
    ws.seen[j] = 0


cdef void binary_update(
    ByFeature *ws, const Batch *batch, Weights *weights, floating *V,
    const index_t *cols, double damping, double new_scale,
) noexcept nogil:
    """Phase 4: move the batch's features, in parallel."""
    cdef floating *U = recorded_average(weights, V)
    cdef Py_ssize_t col
    cdef int n_threads = batch.n_threads
    if n_threads > 1:
        for col in prange(ws.n_cols, schedule="static", num_threads=n_threads):
            binary_update_feature(ws, weights, V, U, cols[col], damping, new_scale)
    else:
        for col in range(ws.n_cols):
            binary_update_feature(ws, weights, V, U, cols[col], damping, new_scale)


# ---------------------------------------------------------------------------
# The epoch.

# A batch is split among threads when its non-zeros times K reach this:
# below it, starting the threads of the step's parallel loops costs about
# what they save. (A binary Debian batch of 256 rows, about 10,000
# non-zeros, takes longer on 2 threads than on 1; a 53-class one, 550,000
# multiply-adds, 20% less time.)
cdef enum:
    PARALLEL_WORK = 65536

cdef struct Workspace:
    Batch batch
    Columns columns  # for the general form
    ByFeature by_feature  # for the binary form


cdef class _Workspace:
    """The arrays behind an epoch's ``Workspace``, which points into them.

    Kept by the solver between epochs (``solver._workspace``): its
    per-feature arrays are n_features long, and allocating them again for
    every ``partial_fit`` chunk would cost in proportion to n_features. The
    steps leave them as they found them (records cleared, stale numbers
    checked against ``n_cols``), so a workspace serves any later epoch it is
    large enough for.
    """

    cdef Workspace ws
    cdef list arrays
    cdef tuple shape  # (n_features, K, index dtype, by_feature, n_threads)
    cdef Py_ssize_t largest, capacity

    def serves(self, Py_ssize_t n_features, Py_ssize_t K, Py_ssize_t largest,
               Py_ssize_t capacity, index_dtype, bint by_feature, int n_threads):
        """Whether this workspace can run an epoch of these sizes."""
        return (
            self.shape == (n_features, K, index_dtype, by_feature, n_threads)
            and largest <= self.largest and capacity <= self.capacity
        )

    cdef double *doubles(self, shape):
        array = np.zeros(shape)
        self.arrays.append(array)
        return <double *><size_t>array.ctypes.data

    cdef void *of_type(self, n, dtype):
        array = np.zeros(n, dtype=dtype)
        self.arrays.append(array)
        return <void *><size_t>array.ctypes.data

    def __init__(self, Py_ssize_t n_features, Py_ssize_t K, Py_ssize_t largest,
                 Py_ssize_t capacity, index_dtype, bint by_feature, int n_threads):
        self.arrays = []
        self.shape = (n_features, K, index_dtype, by_feature, n_threads)
        self.largest, self.capacity = largest, capacity
        cdef Batch *batch = &self.ws.batch
        batch.start = <Py_ssize_t *>self.of_type(largest, np.intp)
        batch.stop = <Py_ssize_t *>self.of_type(largest, np.intp)
        batch.offset = <Py_ssize_t *>self.of_type(largest + 1, np.intp)
        batch.label = <Py_ssize_t *>self.of_type(largest, np.intp)
        batch.weight = self.doubles(largest)
        batch.omega = self.doubles(largest)
        batch.row_term = self.doubles(largest)
        if by_feature:
            self.ws.by_feature.feature = <Feature *>self.doubles(2 * n_features)
            self.ws.by_feature.seen = <unsigned char *>self.of_type(
                n_features, np.uint8
            )
            self.ws.by_feature.cols = self.of_type(n_features + 1, index_dtype)
            self.ws.by_feature.share = self.doubles(min(capacity, n_features))
            self.ws.by_feature.score_gradient = self.doubles(largest)
            return
        cdef Py_ssize_t n_local = min(capacity, n_features)
        cdef Columns *columns = &self.ws.columns
        columns.local_of = self.of_type(n_features, index_dtype)
        columns.cols = self.of_type(n_local, index_dtype)
        columns.slot = self.of_type(capacity, index_dtype)
        columns.gradient = self.doubles((n_local, K))
        columns.curvature = self.doubles(n_local)
        columns.rate = self.doubles(n_local)
        columns.share = self.doubles(n_local)
        columns.score_gradient = self.doubles((largest, K))
        columns.row_curvature = self.doubles(largest)
        columns.intercept_gradient = self.doubles(K)
        columns.dz = self.doubles((n_threads, K))
        columns.old_row = self.doubles((n_threads, K))


cdef double take_step(
    Workspace *space, bint by_feature, Weights *weights, const floating *X_data,
    const index_t *X_indices, double eta, double eta_b, double c,
) noexcept nogil:
    """One step on the gathered batch, in the binary or the general form of
    each phase; return the batch's weighted loss."""
    cdef floating *V = <floating *>weights.V
    cdef const Batch *batch = &space.batch
    cdef Columns *general = &space.columns
    cdef ByFeature *binary = &space.by_feature
    cdef double loss, descent, curvature_along_step, damping, new_scale
    cdef double tic = clock()
    if by_feature:
        loss = binary_rows(binary, batch, weights, X_data, X_indices)
    else:
        loss = score_rows(general, batch, weights, X_data, X_indices, c)
    tic = lap(tic, ROWS)
    if by_feature:
        descent = binary_caps(binary, batch, <const index_t *>binary.cols, eta,
                              eta_b, c)
    else:
        descent = cap_rates(general, batch, weights.K, eta, eta_b, c)
    tic = lap(tic, CAPS)
    if by_feature:
        curvature_along_step = binary_curvature(
            binary, batch, X_data, X_indices, eta_b
        )
    else:
        curvature_along_step = step_curvature(
            general, batch, X_data, <const index_t *>general.slot, weights.K,
            eta_b, descent,
        )
    damping = 1.0
    if descent < curvature_along_step:
        damping = descent / curvature_along_step
    tic = lap(tic, CURVATURE)
    new_scale = begin_shrink(weights, eta * damping)
    if by_feature:
        binary_update(binary, batch, weights, V, <const index_t *>binary.cols,
                      damping, new_scale)
        finish_batch(weights, V, batch.weight_sum, new_scale, eta_b * damping,
                     &binary.intercept_gradient)
    else:
        update_columns(general, batch, weights, V, <const index_t *>general.cols,
                       damping, new_scale)
        finish_batch(weights, V, batch.weight_sum, new_scale, eta_b * damping,
                     general.intercept_gradient)
    lap(tic, UPDATE)
    return loss


def shared_rate_epoch(
    const floating[::1] data,
    const index_t[::1] indices,
    const index_t[::1] indptr,
    const Py_ssize_t[::1] order,
    const Py_ssize_t[::1] batch_starts,
    const double[::1] batch_weights,
    const double[::1] batch_steps,
    const Py_ssize_t[::1] y,
    const double[::1] sample_weight,
    solver,
    penalty,
    double curvature_bound,
    bint fit_intercept,
    bint by_feature,
    int n_threads=1,
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
    batch_weights : ndarray of shape (n_batches,)
        Each batch's summed sample weight: the samples its step counts.
    batch_steps : ndarray of shape (n_batches,)
        Each batch's summed per-sample rate, for its samples (the
        schedule's ``batch_steps``).
    y : ndarray of intp
        Class index of each row.
    sample_weight : ndarray of float64
        Zero-weight rows are skipped as if absent.
    solver : _solver.Solver
        Updated in place: V, intercept, scale, t, the owed L1, the average.
    penalty : ElasticNet
    curvature_bound : float
        Bound on the loss's second derivative in the score (1/4 for the
        sigmoid, 1/2 for the softmax).
    fit_intercept : bool
    by_feature : bool
        Take the binary step by feature (one output only): its workspace is
        two doubles, a byte and an index a feature.
    n_threads : int, default=1
        Threads for the step's parallel loops, in batches with enough work
        (``PARALLEL_WORK``). Each thread writes its own rows or columns and
        every sum is added in one fixed order, so the model does not depend
        on the thread count.

    Returns
    -------
    weighted_loss : float
        Sum of ``sample_weight[i] * loss_i`` over the visited rows, each
        loss taken just before the step on its batch.
    """
    cdef floating[:, ::1] V = solver.V
    cdef floating[::1] intercept = solver.intercept
    cdef Weights weights = load_weights(solver, penalty, V, intercept)
    if by_feature and weights.K != 1:
        raise ValueError(f"The binary step takes one output, not {weights.K}.")
    cdef double c = curvature_bound
    cdef Py_ssize_t b, p, m, nz, n_batches = batch_starts.shape[0] - 1
    cdef Py_ssize_t capacity = 1, largest = 1
    for b in range(n_batches):
        largest = max(largest, batch_starts[b + 1] - batch_starts[b])
        nz = 0
        for p in range(batch_starts[b], batch_starts[b + 1]):
            nz += indptr[order[p] + 1] - indptr[order[p]]
        capacity = max(capacity, nz)
    n_threads = max(1, n_threads)
    index_dtype = np.asarray(indices).dtype
    cdef _Workspace space = getattr(solver, "_workspace", None)
    if space is None or not space.serves(
        weights.n_features, weights.K, largest, capacity, index_dtype,
        by_feature, n_threads,
    ):
        space = _Workspace(
            weights.n_features, weights.K, largest, capacity, index_dtype,
            by_feature, n_threads,
        )
        solver._workspace = space
    # Raw pointers: memoryview indexing in the inner loops keeps the
    # compiler from holding strides and bases in registers.
    cdef const floating *X_data = &data[0] if data.shape[0] else NULL
    cdef const index_t *X_indices = &indices[0] if indices.shape[0] else NULL
    cdef const Py_ssize_t *order_ptr = &order[0] if order.shape[0] else NULL
    cdef const Py_ssize_t *y_ptr = &y[0] if y.shape[0] else NULL
    cdef const double *weight_ptr = (
        &sample_weight[0] if sample_weight.shape[0] else NULL
    )
    cdef double eta, eta_b, weighted_loss = 0.0
    with nogil:
        for b in range(n_batches):
            m = gather_batch(
                &space.ws.batch, order_ptr, batch_starts[b], batch_starts[b + 1],
                &indptr[0], y_ptr, weight_ptr, batch_weights[b],
            )
            if m == 0:
                continue
            space.ws.batch.n_threads = 1
            if space.ws.batch.offset[m] * weights.K >= PARALLEL_WORK:
                space.ws.batch.n_threads = n_threads
            eta = batch_steps[b]
            eta_b = 0.0
            if fit_intercept:
                eta_b = min(eta, 1.0 / (c * space.ws.batch.omega_sum))
            weighted_loss += take_step(
                &space.ws, by_feature, &weights, X_data, X_indices, eta, eta_b, c
            )
    store_weights(&weights, solver)
    return weighted_loss
