"""Weak-alpha candidates for the defaults: held-out log-loss epoch by epoch.

``python -m benchmarks.candidates [--epochs 30] [--task multiclass|binary]``
(about 40 minutes on 2 cores for every candidate on both tasks).

Each candidate runs ``partial_fit`` over the Debian training split once per
epoch (``random_state=0``) at alpha 1e-4 to 1e-7 and scores the held-out
log-loss after each epoch. Printed per cell: the first epoch at which it
reaches the target (the lower of SGDClassifier's held-out log-loss and 1.01
times LogisticRegression's, passed in ``TARGETS``), the best value, and
where each stopping rule in ``RULES`` would have stopped (replayed on the
run's ``loss_curve_``) with the held-out log-loss there. The tables of
``docs/defaults.md`` ("weak alpha") come from this.
"""

import argparse

import numpy as np
from sklearn.metrics import log_loss

from sklearn_sgdlogreg import SGDLogisticRegression, _estimator, _schedules
from sklearn_sgdlogreg._stopping import StoppingRule
from sklearn_sgdlogreg.datasets import debian_tfidf_split

ALPHAS = (1e-4, 1e-5, 1e-6, 1e-7)
# min(SGDClassifier's held-out log-loss, 1.01 x saga's) on the Debian split.
TARGETS = {
    "multiclass": (1.4074, 0.7811, 0.6608, 0.7721),
    "binary": (0.2201, 0.1505, 0.1348, 0.1705),
}
RULES = ((3.5e-3, 3), (1e-2, 3), (1e-2, 2), (2e-2, 3), (3e-2, 3))


class _Bounded(_schedules.Optimal):
    """``"optimal"`` bounded at a fixed per-sample rate."""

    def __init__(self, alpha, bound):
        super().__init__(alpha)
        self.bound = bound

    def rate(self, t):
        return np.minimum(self.bound, super().rate(t))


def _candidates(n_train):
    opt = {"learning_rate": "optimal"}
    return {
        "optimal, last iterate": ({**opt, "average": False}, None),
        "optimal, average from sample 1": ({**opt, "average": True}, None),
        "optimal, average from epoch 2": ({**opt, "average": n_train + 1}, None),
        "adagrad eta0=1": ({"learning_rate": "adagrad", "eta0": 1.0,
                            "average": False}, None),
        "adagrad eta0=1, average from sample 1": (
            {"learning_rate": "adagrad", "eta0": 1.0, "average": True}, None),
        "constant 0.5, average from sample 1": (
            {"learning_rate": "constant", "eta0": 0.5, "average": True}, None),
        "bounded at 0.5": ({**opt, "average": False}, 0.5),
        "bounded at 0.5, average from epoch 2": ({**opt, "average": n_train + 1}, 0.5),
        "bounded at 2, average from epoch 2": ({**opt, "average": n_train + 1}, 2.0),
        "bounded at 4, average from epoch 2": ({**opt, "average": n_train + 1}, 4.0),
    }  # fmt: skip


def _stop(curve, tol, n_iter_no_change):
    """The epoch at which the estimator's stopping rule stops on ``curve``."""
    rule = StoppingRule(tol, n_iter_no_change)
    for epoch, value in enumerate(curve, start=1):
        if rule.stalled(value):
            return epoch
    return len(curve)


def run(task, n_epochs):
    X, X_test, y, y_test = debian_tfidf_split(task)
    classes = np.unique(y)
    original = _estimator.make_schedule
    for name, (params, bound) in _candidates(X.shape[0]).items():
        if bound is not None:
            _estimator.make_schedule = lambda *a, bound=bound: _Bounded(a[3], bound)
        try:
            cells = []
            for alpha, target in zip(ALPHAS, TARGETS[task]):
                model = SGDLogisticRegression(alpha=alpha, random_state=0, **params)
                held_out = []
                for _ in range(n_epochs):
                    model.partial_fit(X, y, classes=classes)
                    held_out.append(
                        log_loss(y_test, model.predict_proba(X_test), labels=classes)
                    )
                held_out = np.array(held_out)
                reached = np.flatnonzero(held_out <= target)
                first = str(reached[0] + 1) if reached.size else "-"
                stops = " ".join(
                    f"{tol:g}/{n}:{e}({held_out[e - 1]:.4f})"
                    for tol, n in RULES
                    for e in [_stop(model.loss_curve_, tol, n)]
                )
                cells.append(
                    f"alpha={alpha:g} first={first} best={held_out.min():.4f}"
                    f"@{held_out.argmin() + 1} stops {stops}"
                )
        finally:
            _estimator.make_schedule = original
        print(f"{task} | {name}\n  " + "\n  ".join(cells), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--task", choices=["multiclass", "binary"])
    args = parser.parse_args(argv)
    for task in (args.task,) if args.task else ("multiclass", "binary"):
        run(task, args.epochs)


if __name__ == "__main__":
    main()
