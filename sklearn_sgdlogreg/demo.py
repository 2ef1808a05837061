"""The main demo: Debian package sections from their descriptions.

Run ``python -m sklearn_sgdlogreg.demo``. It trains SGDLogisticRegression and
SGDClassifier(loss="log_loss") at the same alpha on the tf-idf of the
shipped Debian corpus, multiclass (53 sections) and binary (libraries
against the rest), and prints held-out accuracy, log-loss and fit time.
"""

import argparse
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss

from . import SGDLogisticRegression
from .datasets import debian_tfidf_split


def _evaluate(model, X_train, y_train, X_test, y_test):
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - tic
    proba = model.predict_proba(X_test)
    return (
        accuracy_score(y_test, model.classes_[proba.argmax(axis=1)]),
        log_loss(y_test, proba, labels=model.classes_),
        seconds,
        model.n_iter_,
    )


def main(argv=None):
    """Print the demo's table.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``--task`` picks one task.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--task", choices=["multiclass", "binary", "both"], default="both"
    )
    parser.add_argument("--alpha", type=float, default=1e-4)
    args = parser.parse_args(argv)
    tasks = ["multiclass", "binary"] if args.task == "both" else [args.task]

    print(
        f"{'task':<11} {'model':<32} {'accuracy':>8} {'log-loss':>8} "
        f"{'fit s':>7} {'epochs':>6}"
    )
    for task in tasks:
        X_train, X_test, y_train, y_test = debian_tfidf_split(task)
        models = {
            "SGDLogisticRegression()": SGDLogisticRegression(
                alpha=args.alpha, random_state=0
            ),
            'SGDClassifier("log_loss")': SGDClassifier(
                loss="log_loss", alpha=args.alpha, random_state=0
            ),
        }
        for name, model in models.items():
            accuracy, loss, seconds, epochs = _evaluate(
                model, X_train, y_train, X_test, y_test
            )
            print(
                f"{task:<11} {name:<32} {accuracy:8.4f} {loss:8.4f} "
                f"{seconds:7.2f} {epochs:6d}"
            )
        print(
            f"{'':<11} ({X_train.shape[0]} training and {X_test.shape[0]} test "
            f"documents, {X_train.shape[1]} tf-idf features, "
            f"{len(set(y_train))} classes)"
        )


if __name__ == "__main__":
    main()
