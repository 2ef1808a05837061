"""The methods compared, all at the same regularisation, and their curves.

Every method minimises (or, for SGD, aims at) the same objective: mean
log-loss plus ``alpha / 2 * |W|^2``. ``LogisticRegression`` writes it as
``C * sum(loss) + |W|^2 / 2``, hence ``C = 1 / (alpha * n_train)``.
"""

import time
import warnings
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import log_loss

from sklearn_sgdlogreg import SGDLogisticRegression

#: max_iter of the LogisticRegression fits that trace its curve; a fit
#: restarts from zero, so each point costs its own full time.
LBFGS_CURVE_ITERATIONS = (3, 10)


@dataclass
class Method:
    """One row of a workload's table.

    Parameters
    ----------
    name : str
        Label in the table and the plot.
    make : callable
        ``make(**overrides)`` returns a fresh estimator.
    role : str or None
        What the targets look it up by: ``"default"``, ``"sgdclassifier"``,
        ``"logreg"``; None for the others.
    batch_size : int or None
        Samples per gradient step, for the memory budget; None when the
        method has no batches.
    curve : {"epochs", "iterations"}
        ``"epochs"``: one ``partial_fit`` per epoch, timing only those calls.
        ``"iterations"``: separate fits at growing ``max_iter``.
    memory_overrides : dict
        Parameters of the untimed memory run. Empty for a full fit; a
        ``max_iter`` cap where the peak is reached early and a full fit
        would only cost time (marked in the table).
    """

    name: str
    make: callable
    role: str | None = None
    batch_size: int | None = None
    curve: str = "epochs"
    memory_overrides: dict = field(default_factory=dict)


def _factory(cls, **params):
    def make(**overrides):
        return cls(**{**params, **overrides})

    return make


def debian_methods(n_train, alpha=1e-4, random_state=0, per_sample=True,
                   full_batch_epochs=20, logreg_max_iter=1000):
    """The methods run on one Debian task.

    Parameters
    ----------
    n_train : int
        Training samples: sets ``C`` and the full batch size.
    alpha : float, default=1e-4
    random_state : int, default=0
    per_sample : bool, default=True
        Whether to include per-sample steps (``batch_size=1``), a full fit.
    full_batch_epochs : int, default=20
        Epoch cap of full-batch gradient descent, which converges slowly.
    logreg_max_iter : int, default=1000
        Iteration cap of LogisticRegression; lower it only for smoke runs,
        as it then misses the optimum the targets compare to.

    Returns
    -------
    methods : list of Method
    """
    sgd = partial(_factory, SGDLogisticRegression, alpha=alpha,
                  random_state=random_state)
    C = 1.0 / (alpha * n_train)
    capped = {"max_iter": 2}
    default_batch_size = SGDLogisticRegression().batch_size
    methods = [
        Method(f"SGDLogReg b={default_batch_size} (default)", sgd(),
               role="default", batch_size=default_batch_size),
    ]
    if per_sample:
        methods.append(Method("SGDLogReg b=1", sgd(batch_size=1), batch_size=1,
                              memory_overrides=capped))
    methods += [
        Method("SGDLogReg b=1024", sgd(batch_size=1024), batch_size=1024,
               memory_overrides=capped),
        Method("SGDLogReg b=4096", sgd(batch_size=4096), batch_size=4096,
               memory_overrides=capped),
        Method(f"SGDLogReg b=n (<={full_batch_epochs} ep.)",
               sgd(batch_size=n_train, max_iter=full_batch_epochs),
               batch_size=n_train, memory_overrides=capped),
        Method("SGDClassifier log_loss",
               _factory(SGDClassifier, loss="log_loss", alpha=alpha,
                        random_state=random_state),
               role="sgdclassifier", batch_size=1, memory_overrides=capped),
        Method("LogisticRegression saga",
               _factory(LogisticRegression, C=C, solver="saga",
                        max_iter=logreg_max_iter),
               role="logreg", curve="iterations", memory_overrides=capped),
        # L-BFGS keeps 10 pairs of W-sized vectors: 12 iterations fill them.
        Method("LogisticRegression lbfgs",
               _factory(LogisticRegression, C=C, solver="lbfgs",
                        max_iter=logreg_max_iter),
               role="logreg", curve="iterations",
               memory_overrides={"max_iter": min(12, logreg_max_iter)}),
    ]
    return methods


def held_out_log_loss(estimator, X_test, y_test):
    """Log-loss of ``estimator.predict_proba`` on the held-out data."""
    proba = estimator.predict_proba(X_test)
    return log_loss(y_test, proba, labels=estimator.classes_)


def epoch_curve(method, X, y, X_test, y_test, n_epochs):
    """Held-out log-loss after each of ``n_epochs`` ``partial_fit`` epochs.

    Returns
    -------
    points : list of (seconds, log_loss)
        Cumulative seconds spent in ``partial_fit`` only.
    """
    estimator = method.make()
    classes = np.unique(y)
    seconds, points = 0.0, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n_epochs):
            tic = time.perf_counter()
            estimator.partial_fit(X, y, classes=classes)
            seconds += time.perf_counter() - tic
            points.append((seconds, held_out_log_loss(estimator, X_test, y_test)))
    return points


def iteration_curve(method, X, y, X_test, y_test, n_iter):
    """Held-out log-loss of fits stopped at growing ``max_iter`` below ``n_iter``.

    Returns
    -------
    points : list of (seconds, log_loss)
        Each point is the time of its own fit.
    """
    points = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for max_iter in LBFGS_CURVE_ITERATIONS:
            if max_iter >= n_iter:
                break
            estimator = method.make(max_iter=max_iter)
            tic = time.perf_counter()
            estimator.fit(X, y)
            seconds = time.perf_counter() - tic
            points.append((seconds, held_out_log_loss(estimator, X_test, y_test)))
    return points
