"""Timing, memory and the one-pass floor: the numbers every table row needs."""

import gc
import statistics
import time
import tracemalloc
import warnings

import numpy as np


def csr_nbytes(X):
    """Bytes of a CSR matrix: data, indices and indptr.

    Parameters
    ----------
    X : csr_matrix

    Returns
    -------
    nbytes : int
    """
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def weights_nbytes(n_features, n_outputs, itemsize=8):
    """Bytes of a dense weight matrix W of shape (n_features, n_outputs)."""
    return n_features * n_outputs * itemsize


class ModelShape:
    """``n_outputs`` and ``w_bytes`` for records with n_classes and n_features."""

    @property
    def n_outputs(self):
        return 1 if self.n_classes == 2 else self.n_classes

    @property
    def w_bytes(self):
        return weights_nbytes(self.n_features, self.n_outputs)


def batch_nbytes(X, batch_size, n_outputs):
    """What one mini-batch needs at the least, for the memory budget.

    The batch's rows of X, its scores and their gradients (``m x K`` each),
    and the rows of W it touches and their gradient. The batch is the
    ``batch_size`` rows with the most non-zeros, so no batch needs more.

    Parameters
    ----------
    X : csr_matrix of shape (n_samples, n_features)
    batch_size : int
    n_outputs : int
        K: 1 for a binary model, n_classes for a multinomial one.

    Returns
    -------
    nbytes : int
    """
    m = min(batch_size, X.shape[0])
    row_nnz = np.sort(np.diff(X.indptr))[::-1]
    nnz = int(row_nnz[:m].sum())
    rows = nnz * (X.data.itemsize + X.indices.itemsize) + (m + 1) * X.indptr.itemsize
    scores_and_gradients = 2 * m * n_outputs * 8
    touched_weights = 2 * min(nnz, X.shape[1]) * n_outputs * 8
    return rows + scores_and_gradients + touched_weights


def median_seconds(run, repeats):
    """Median wall time of ``repeats`` calls of ``run()``.

    Parameters
    ----------
    run : callable
        Called with no argument; its last return value is passed back.
    repeats : int

    Returns
    -------
    seconds : float
    result : object
        What the last call returned.
    """
    times = []
    for _ in range(repeats):
        # A collection left over from the previous run would land in this one.
        gc.collect()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tic = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - tic)
    return statistics.median(times), result


def traced_peak(run):
    """Peak bytes that ``run()`` allocates, as tracemalloc sees them.

    Memory held before the call (the training data, for one) is not counted.
    tracemalloc sees NumPy's and SciPy's array buffers; it does not see what
    compiled code allocates with its own allocator.

    Parameters
    ----------
    run : callable

    Returns
    -------
    peak : int
        Bytes above what was allocated when ``run`` started.
    """
    gc.collect()
    already_tracing = tracemalloc.is_tracing()
    if not already_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    start, _ = tracemalloc.get_traced_memory()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not already_tracing:
            tracemalloc.stop()
    return peak - start


def one_pass_seconds(X, n_outputs, repeats=5, random_state=0):
    """Median time of ``X @ W`` plus ``X.T @ R`` with SciPy: one epoch's floor.

    A first-order epoch computes every sample's scores and sends every
    sample's gradient back through X, so it cannot cost less than these two
    sparse products.

    The passes are timed back to back after an untimed one, as the epochs of
    a fit run: each finds in cache what the one before left there. (Timed
    after a garbage collection each, as whole fits are, the binary Debian
    floor came out twice as long, 6.5 ms against 3.2 ms, which flattered
    the epoch-to-floor ratio; the multiclass floor, whose W does not fit in
    cache, is the same either way.)

    Parameters
    ----------
    X : csr_matrix of shape (n_samples, n_features)
    n_outputs : int
        K, the number of columns of W and R.
    repeats : int, default=5
    random_state : int, default=0

    Returns
    -------
    seconds : float
    """
    rng = np.random.default_rng(random_state)
    W = rng.standard_normal((X.shape[1], n_outputs)).astype(X.dtype)
    R = rng.standard_normal((X.shape[0], n_outputs)).astype(X.dtype)

    gc.collect()
    X @ W
    X.T @ R
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        X @ W
        X.T @ R
        times.append(time.perf_counter() - tic)
    return statistics.median(times)
