"""How an epoch's time and memory grow, on the synthetic generator.

Three sweeps of the default ``SGDLogisticRegression``: the number of
documents (so nnz), the non-zeros per document (nnz at a fixed number of
documents), and the number of classes (K outputs at a fixed nnz). Then a
stream of ``partial_fit`` calls over a million documents drawn chunk by
chunk, whose retained memory should not grow with the number of chunks.
"""

import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field

import numpy as np

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import PlantedBagOfWords

from .measure import (
    ModelShape,
    batch_nbytes,
    csr_nbytes,
    median_seconds,
    one_pass_seconds,
    traced_peak,
    weights_nbytes,
)
from .methods import held_out_log_loss

#: Epochs per timed fit in the sweeps (tol=None, so exactly these).
SWEEP_EPOCHS = 2


@dataclass
class SweepRow(ModelShape):
    """Per-epoch cost of the default model on one synthetic data set."""

    sweep: str
    n_samples: int
    nnz_per_row: float
    n_classes: int
    n_features: int
    nnz: int
    epoch_seconds: float
    floor_seconds: float
    peak_bytes: int
    x_bytes: int



@dataclass
class Stream:
    """``partial_fit`` over chunks: per-chunk seconds and memory."""

    n_samples: int
    chunk_size: int
    n_features: int
    chunk_x_bytes: int
    w_bytes: int
    batch_bytes: int
    seconds: list = field(default_factory=list)
    peak_bytes: list = field(default_factory=list)
    retained_bytes: list = field(default_factory=list)
    log_loss: float = float("nan")
    planted_log_loss: float = float("nan")


def sweep_settings(quick=False):
    """(sweep name, n_samples, nnz_per_row, n_classes, n_features) to run."""
    if quick:
        docs, classes_n, features = (2_000, 4_000, 8_000), 4_000, 2**16
        per_row, classes = (10, 40), (2, 5, 10)
    else:
        docs, classes_n, features = (10_000, 30_000, 100_000, 300_000), 30_000, 2**16
        per_row, classes = (10, 40, 160), (2, 5, 10, 20, 50)
    settings = [("n_samples", n, 40, 2, 2**20) for n in docs]
    settings += [("nnz/row", classes_n, k, 2, 2**20) for k in per_row]
    settings += [("n_classes", classes_n, 40, c, features) for c in classes]
    return settings


def run_sweep_row(sweep, n_samples, nnz_per_row, n_classes, n_features, repeats):
    """Time ``SWEEP_EPOCHS`` epochs and trace one, on fresh synthetic data."""
    source = PlantedBagOfWords(n_classes=n_classes, n_features=n_features,
                               nnz_per_row=nnz_per_row, random_state=0)
    X, y = source.sample(n_samples, random_state=1)

    def fit(max_iter):
        model = SGDLogisticRegression(max_iter=max_iter, tol=None, random_state=0)
        return model.fit(X, y)

    seconds, _ = median_seconds(lambda: fit(SWEEP_EPOCHS), repeats)
    n_outputs = 1 if n_classes == 2 else n_classes
    return SweepRow(
        sweep=sweep,
        n_samples=n_samples,
        nnz_per_row=nnz_per_row,
        n_classes=n_classes,
        n_features=n_features,
        nnz=X.nnz,
        epoch_seconds=seconds / SWEEP_EPOCHS,
        floor_seconds=one_pass_seconds(X, n_outputs, repeats=3),
        peak_bytes=traced_peak(lambda: fit(1)),
        x_bytes=csr_nbytes(X),
    )


def run_sweeps(repeats=3, quick=False, log=None):
    """All the sweep rows; a setting shared by two sweeps is run once."""
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    rows, done = [], {}
    for sweep, *setting in sweep_settings(quick):
        key = tuple(setting)
        if key not in done:
            log(f"[synthetic] {sweep}: n_samples={setting[0]}, "
                f"nnz/row={setting[1]}, n_classes={setting[2]}")
            done[key] = run_sweep_row(sweep, *setting, repeats=repeats)
        row = done[key]
        rows.append(SweepRow(**{**row.__dict__, "sweep": sweep}))
    return rows


def run_stream(n_samples=1_000_000, chunk_size=20_000, n_features=2**20, log=None):
    """``partial_fit`` on a binary stream drawn chunk by chunk, traced.

    Each chunk is generated, passed to ``partial_fit`` and dropped, so the
    stream is never held whole. Per call: the seconds, the peak tracemalloc
    sees above what was held before the call, and what stays held once the
    chunk is dropped (the model's state).

    Returns
    -------
    stream : Stream
    """
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    log(f"[synthetic] partial_fit stream: {n_samples} documents in chunks of "
        f"{chunk_size}")
    source = PlantedBagOfWords(n_classes=2, n_features=n_features, random_state=0)
    model = SGDLogisticRegression(random_state=0)
    stream = Stream(
        n_samples=n_samples, chunk_size=chunk_size, n_features=n_features,
        chunk_x_bytes=0, w_bytes=weights_nbytes(n_features, 1), batch_bytes=0,
    )
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for X, y in source.chunks(n_samples, chunk_size, random_state=1):
                stream.chunk_x_bytes = max(stream.chunk_x_bytes, csr_nbytes(X))
                stream.batch_bytes = max(stream.batch_bytes,
                                         batch_nbytes(X, model.batch_size, 1))
                tracemalloc.reset_peak()
                before, _ = tracemalloc.get_traced_memory()
                tic = time.perf_counter()
                model.partial_fit(X, y, classes=[0, 1])
                stream.seconds.append(time.perf_counter() - tic)
                stream.peak_bytes.append(tracemalloc.get_traced_memory()[1] - before)
                del X, y
                stream.retained_bytes.append(
                    tracemalloc.get_traced_memory()[0] - baseline
                )
    finally:
        tracemalloc.stop()
    X_test, y_test = source.sample(20_000, random_state=2)
    stream.log_loss = held_out_log_loss(model, X_test, y_test)
    planted = source.predict_proba(X_test)
    stream.planted_log_loss = float(
        -np.mean(np.log(planted[np.arange(y_test.size), y_test]))
    )
    return stream
