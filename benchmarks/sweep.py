"""The alpha sweep: each method at the alphas a grid search visits.

``python -m benchmarks.sweep [--task multiclass|binary|both]
[--alphas 1e-4,1e-5,1e-6,1e-7] [--saga]`` (about 6 minutes on 2 cores
without ``--saga``; saga at weak alpha on 53 classes takes minutes per
alpha).

On the fixed Debian split (``debian_tfidf_split``), at each alpha: fit
seconds, epochs, seconds per epoch, held-out accuracy and log-loss of the
default ``SGDLogisticRegression(alpha=..., random_state=0)`` on one thread
(``threadpool_limits(1)``) and on every core, and of
``SGDClassifier(loss="log_loss", alpha=..., random_state=0)`` with
``n_jobs=1`` and, for 53 classes (its one-vs-rest fits run in parallel),
``n_jobs=-1``. With ``--saga``, ``LogisticRegression(solver="saga",
C=1 / (alpha n), max_iter=300)`` adds the optimum's held-out log-loss. Each
row ends with the speed-up of this estimator over SGDClassifier at the same
thread count and whether its held-out log-loss is no worse.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn_sgdlogreg._epoch import effective_n_threads
from threadpoolctl import threadpool_limits

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_tfidf_split

ALPHAS = (1e-4, 1e-5, 1e-6, 1e-7)


def _measure(make, X, y, X_test, y_test, limit=None):
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


def sweep(task, alphas=ALPHAS, saga=False):
    """Measure every method at every alpha; return ``{(alpha, name): row}``."""
    X, X_test, y, y_test = debian_tfidf_split(task)
    n_threads = effective_n_threads()
    methods = {
        "ours, 1 thread": (
            lambda a: SGDLogisticRegression(alpha=a, random_state=0),
            1,
        ),
        f"ours, {n_threads} threads": (
            lambda a: SGDLogisticRegression(alpha=a, random_state=0),
            None,
        ),
        "SGDClassifier n_jobs=1": (
            lambda a: SGDClassifier(loss="log_loss", alpha=a, random_state=0),
            None,
        ),
    }
    if task == "multiclass":
        methods["SGDClassifier n_jobs=-1"] = (
            lambda a: SGDClassifier(
                loss="log_loss", alpha=a, random_state=0, n_jobs=-1
            ),
            None,
        )
    if saga:
        methods["saga"] = (
            lambda a: LogisticRegression(
                solver="saga", C=1 / (a * X.shape[0]), max_iter=300, tol=1e-4
            ),
            None,
        )
    SGDLogisticRegression(max_iter=1, tol=None).fit(X, y)  # warm-up
    rows = {}
    for alpha in alphas:
        for name, (make, limit) in methods.items():
            rows[(alpha, name)] = _measure(
                lambda make=make, alpha=alpha: make(alpha),
                X, y, X_test, y_test, limit,
            )  # fmt: skip
        for name in methods:
            print(_format(task, alpha, name, rows), flush=True)
    return rows


def _format(task, alpha, name, rows):
    row = rows[(alpha, name)]
    text = (
        f"| {task} | {alpha:g} | {name} | {row['seconds']:.2f} | {row['epochs']} | "
        f"{row['per_epoch']:.3f} | {row['accuracy']:.4f} | {row['log_loss']:.4f} |"
    )
    reference = {"ours, 1 thread": "SGDClassifier n_jobs=1"}
    if name.startswith("ours") and name != "ours, 1 thread":
        reference[name] = (
            "SGDClassifier n_jobs=-1"
            if task == "multiclass"
            else "SGDClassifier n_jobs=1"
        )
    other = rows.get((alpha, reference.get(name)))
    if other is not None:
        ratio = other["seconds"] / row["seconds"]
        better = "no worse" if row["log_loss"] <= other["log_loss"] else "worse"
        text += f" {ratio:.1f}x, log-loss {better} |"
    else:
        text += " |"
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--task", choices=["multiclass", "binary", "both"], default="both"
    )
    parser.add_argument("--alphas", default=",".join(f"{a:g}" for a in ALPHAS))
    parser.add_argument("--saga", action="store_true")
    args = parser.parse_args(argv)
    alphas = [float(a) for a in args.alphas.split(",")]
    print(
        "| task | alpha | method | fit s | epochs | s/epoch | accuracy | log-loss "
        "| speed-up against SGDClassifier at the same threads |"
    )
    print("|---" * 9 + "|")
    for task in ("multiclass", "binary") if args.task == "both" else (args.task,):
        sweep(task, alphas, args.saga)


if __name__ == "__main__":
    main()
