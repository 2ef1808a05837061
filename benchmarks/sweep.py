"""The alpha sweep: each method at the alphas a grid search visits.

Run inside ``python -m benchmarks`` (workloads ``alphas`` and ``tuning``),
or alone: ``python -m benchmarks.sweep [--task multiclass|binary|both]
[--alphas 1e-4,1e-5,1e-6,1e-7] [--saga-max-iter N] [--no-tuning]``.

On the fixed Debian split (``debian_tfidf_split``), at each alpha: fit
seconds, epochs, seconds per epoch, held-out accuracy and log-loss of the
default ``SGDLogisticRegression(alpha=..., random_state=0)`` on one thread
(``threadpool_limits(1)``) and on every core, of
``SGDClassifier(loss="log_loss", alpha=..., random_state=0)`` with
``n_jobs=1`` and, for 53 classes (its one-vs-rest fits run in parallel),
``n_jobs=-1``, and of ``LogisticRegression(solver="saga", C=1 / (alpha n))``,
the optimum. The tuning rows run ``GridSearchCV`` over the same alphas
(``cv=3``, ``scoring="neg_log_loss"``) for this estimator (every core) and
for SGDClassifier (``n_jobs=-1`` on 53 classes), and score each refitted
best model on the held-out split.
"""

import argparse
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg._epoch import effective_n_threads
from sklearn_sgdlogreg.datasets import debian_tfidf_split

from .measure import one_pass_seconds

ALPHAS = (1e-4, 1e-5, 1e-6, 1e-7)
#: saga's epochs at each alpha, to keep the benchmark within 15 minutes: at
#: 1e-6 and 1e-7 it needs more to converge (a row says when it stopped there).
SAGA_MAX_ITER = 100
OURS_1, OURS_ALL = "ours, 1 thread", "ours, all cores"
SGD_1, SGD_ALL, SAGA = "SGDClassifier n_jobs=1", "SGDClassifier n_jobs=-1", "saga"


@dataclass
class AlphaSweep:
    """The rows of one task: ``rows[(alpha, method)]`` is a dict of numbers."""

    task: str
    n_train: int
    n_threads: int
    floor_seconds: float
    alphas: tuple
    rows: dict = field(default_factory=dict)
    tuning: dict = field(default_factory=dict)

    @property
    def sgd_all(self):
        """SGDClassifier's all-core row: ``n_jobs=-1`` on 53 classes; on
        binary it has one problem and ``n_jobs=1`` is all it can use."""
        return SGD_ALL if self.task == "multiclass" else SGD_1


def _methods(task, n_train, saga_max_iter):
    def ours(alpha):
        return SGDLogisticRegression(alpha=alpha, random_state=0)

    def sgd(alpha, n_jobs=None):
        return SGDClassifier(
            loss="log_loss", alpha=alpha, random_state=0, n_jobs=n_jobs
        )

    methods = {OURS_1: (ours, 1), OURS_ALL: (ours, None), SGD_1: (sgd, None)}
    if task == "multiclass":
        methods[SGD_ALL] = (lambda a: sgd(a, n_jobs=-1), None)
    if saga_max_iter:
        methods[SAGA] = (
            lambda a: LogisticRegression(
                solver="saga", C=1 / (a * n_train), max_iter=saga_max_iter, tol=1e-4
            ),
            None,
        )
    return methods


def _fit_and_score(make, X, y, X_test, y_test, limit=None):
    with threadpool_limits(limit), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make()
        tic = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - tic
    epochs = int(np.max(model.n_iter_))
    proba = model.predict_proba(X_test)
    return {
        "seconds": seconds,
        "epochs": epochs,
        "per_epoch": seconds / epochs,
        "accuracy": accuracy_score(y_test, model.classes_[proba.argmax(1)]),
        "log_loss": log_loss(y_test, proba, labels=model.classes_),
    }


def _tune(estimator, X, y, X_test, y_test, alphas):
    search = GridSearchCV(
        estimator, {"alpha": list(alphas)}, cv=3, scoring="neg_log_loss"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tic = time.perf_counter()
        search.fit(X, y)
        seconds = time.perf_counter() - tic
    proba = search.predict_proba(X_test)
    return {
        "seconds": seconds,
        "best_alpha": search.best_params_["alpha"],
        "log_loss": log_loss(y_test, proba, labels=search.classes_),
    }


def run_alpha_sweep(task, alphas=ALPHAS, saga_max_iter=SAGA_MAX_ITER, tuning=True,
                    n_documents=None, log=print):
    """Measure every method at every alpha, and the grid searches.

    Parameters
    ----------
    task : {"multiclass", "binary"}
    alphas : tuple of float
    saga_max_iter : int
        0 leaves saga out.
    tuning : bool
        Whether to run the two grid searches.
    n_documents : int or None
        A subset of the corpus (a smoke run); None for all of it.
    log : callable

    Returns
    -------
    sweep : AlphaSweep
    """
    X, X_test, y, y_test = debian_tfidf_split(task, n_documents=n_documents)
    n_outputs = 1 if task == "binary" else len(np.unique(y))
    with threadpool_limits(1):
        floor = one_pass_seconds(X, n_outputs)
    sweep = AlphaSweep(task, X.shape[0], effective_n_threads(), floor, tuple(alphas))
    SGDLogisticRegression(max_iter=1, tol=None).fit(X, y)  # warm-up
    for alpha in alphas:
        for name, (make, limit) in _methods(task, X.shape[0], saga_max_iter).items():
            log(f"[{task} alpha={alpha:g}] {name}")
            sweep.rows[(alpha, name)] = _fit_and_score(
                lambda make=make, alpha=alpha: make(alpha),
                X, y, X_test, y_test, limit,
            )  # fmt: skip
    if tuning:
        log(f"[{task}] GridSearchCV, this estimator")
        sweep.tuning["ours"] = _tune(
            SGDLogisticRegression(random_state=0), X, y, X_test, y_test, alphas
        )
        log(f"[{task}] GridSearchCV, SGDClassifier")
        n_jobs = -1 if task == "multiclass" else None
        sweep.tuning["sgdclassifier"] = _tune(
            SGDClassifier(loss="log_loss", random_state=0, n_jobs=n_jobs),
            X, y, X_test, y_test, alphas,
        )  # fmt: skip
    return sweep


def main(argv=None):
    """Run the sweep alone and print its tables and targets."""
    from .report import alpha_table, checks_text
    from .targets import alpha_checks

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--task", choices=["multiclass", "binary", "both"], default="both"
    )
    parser.add_argument("--alphas", default=",".join(f"{a:g}" for a in ALPHAS))
    parser.add_argument("--saga-max-iter", type=int, default=SAGA_MAX_ITER)
    parser.add_argument("--no-tuning", action="store_true")
    args = parser.parse_args(argv)
    alphas = tuple(float(a) for a in args.alphas.split(","))
    tasks = ("multiclass", "binary") if args.task == "both" else (args.task,)
    sweeps = [
        run_alpha_sweep(t, alphas, args.saga_max_iter, not args.no_tuning)
        for t in tasks
    ]
    for sweep in sweeps:
        print(alpha_table(sweep))
    print(checks_text(alpha_checks(sweeps)))


if __name__ == "__main__":
    main()
