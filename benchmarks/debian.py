"""The Debian workloads: every method on one task, timed, scored, traced."""

import sys
import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import accuracy_score

from sklearn_sgdlogreg.datasets import debian_tfidf_split

from .measure import (
    ModelShape,
    batch_nbytes,
    csr_nbytes,
    median_seconds,
    one_pass_seconds,
    traced_peak,
)
from .methods import debian_methods, epoch_curve, held_out_log_loss, iteration_curve


@dataclass
class Row:
    """Results of one method on one workload."""

    name: str
    role: str | None
    fit_seconds: float
    epochs: int
    accuracy: float
    log_loss: float
    peak_bytes: int
    memory_capped: bool
    batch_bytes: int | None
    curve: list = field(default_factory=list)

    @property
    def epoch_seconds(self):
        return self.fit_seconds / self.epochs


@dataclass
class Workload(ModelShape):
    """A training matrix, its one-pass floor, and the rows run on it."""

    name: str
    n_train: int
    n_test: int
    n_features: int
    nnz: int
    n_classes: int
    floor_seconds: float
    x_bytes: int
    rows: list = field(default_factory=list)


    def row(self, role):
        """The first row with this role."""
        return next(row for row in self.rows if row.role == role)


def _n_iter(estimator):
    # LogisticRegression and SGDClassifier's one-vs-rest report one count
    # per problem; the fit lasts as long as the longest.
    return int(np.max(estimator.n_iter_))


def run_method(method, X, y, X_test, y_test, repeats, n_outputs, log=None):
    """Time, score, trace and draw the curve of one method.

    Parameters
    ----------
    method : Method
    X, y : training data
    X_test, y_test : held-out data
    repeats : int
        Timed fits; the median is reported.
    n_outputs : int
        K, for the batch memory estimate.
    log : callable or None, default=None
        Receives a progress line per phase; None for silence.

    Returns
    -------
    row : Row
    """
    log = log or (lambda message: None)
    tic = time.perf_counter()
    seconds, estimator = median_seconds(lambda: method.make().fit(X, y), repeats)
    epochs = _n_iter(estimator)
    loss = held_out_log_loss(estimator, X_test, y_test)
    log(f"    fit {seconds:.2f} s (median of {repeats}), {epochs} epochs, "
        f"log-loss {loss:.4f} [{time.perf_counter() - tic:.0f} s]")
    tic = time.perf_counter()
    peak = traced_peak(lambda: method.make(**method.memory_overrides).fit(X, y))
    log(f"    peak {peak / 1e6:.1f} MB [{time.perf_counter() - tic:.0f} s]")
    tic = time.perf_counter()
    final_point = [(seconds, loss)]
    if method.curve == "epochs":
        curve = epoch_curve(method, X, y, X_test, y_test, epochs) if epochs > 1 \
            else final_point
    else:
        curve = iteration_curve(method, X, y, X_test, y_test, epochs) + final_point
    log(f"    curve of {len(curve)} points [{time.perf_counter() - tic:.0f} s]")
    return Row(
        name=method.name,
        role=method.role,
        fit_seconds=seconds,
        epochs=epochs,
        accuracy=accuracy_score(y_test, estimator.predict(X_test)),
        log_loss=loss,
        peak_bytes=peak,
        memory_capped=bool(method.memory_overrides),
        batch_bytes=None if method.batch_size is None
        else batch_nbytes(X, method.batch_size, n_outputs),
        curve=curve,
    )


def run_debian(task, repeats=3, n_documents=None, alpha=1e-4, per_sample=True,
               logreg_max_iter=1000, log=None):
    """Every method on one Debian task.

    Parameters
    ----------
    task : {"multiclass", "binary"}
    repeats : int, default=3
    n_documents : int or None, default=None
        A stratified subset (for ``--quick``); None for all documents.
    alpha : float, default=1e-4
    per_sample, logreg_max_iter
        See :func:`~benchmarks.methods.debian_methods`.
    log : callable or None, default=None
        Progress messages go there; None writes them to stderr.

    Returns
    -------
    workload : Workload
    """
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    log(f"[debian {task}] loading the tf-idf split")
    X, X_test, y, y_test = debian_tfidf_split(task, n_documents=n_documents)
    n_classes = np.unique(y).size
    n_outputs = 1 if n_classes == 2 else n_classes
    workload = Workload(
        name=f"debian {task}",
        n_train=X.shape[0],
        n_test=X_test.shape[0],
        n_features=X.shape[1],
        nnz=X.nnz,
        n_classes=n_classes,
        floor_seconds=one_pass_seconds(X, n_outputs),
        x_bytes=csr_nbytes(X),
    )
    for method in debian_methods(X.shape[0], alpha=alpha, per_sample=per_sample,
                                 logreg_max_iter=logreg_max_iter):
        log(f"[debian {task}] {method.name}")
        workload.rows.append(
            run_method(method, X, y, X_test, y_test, repeats, n_outputs, log)
        )
    return workload
