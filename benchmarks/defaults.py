"""How the defaults were chosen: two grids, printed as Markdown tables.

Run ``python -m benchmarks.defaults`` (about 4 minutes on 2 cores).

1. Stopping and batch size: ``batch_size`` x stopping rule on the two Debian
   tasks and four small dense data sets (standardised), held-out log-loss, fit
   time and epochs of each. The rules are the relative ``tol`` the estimator
   uses and, for comparison, the absolute ``tol`` of SGDClassifier (the
   package's rule before), replayed on the ``loss_curve_`` of a ``tol=None``
   fit and refitted for the epochs it would have run.
2. Learning rates: every schedule x ``eta0`` on the two Debian tasks, to show
   that the default's held-out log-loss is within 2% of the grid's best. The
   grid's fits stop at ``max_iter=30`` epochs (a poor ``eta0`` would otherwise
   run 1000); the default stops by itself before that.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_tfidf_split

BATCH_SIZES = (256, 512, 1024)
#: The grids below chose among SGDClassifier's schedules for the last
#: iterate, before learning_rate and average became "auto".
LAST_ITERATE = {"learning_rate": "optimal", "average": False}
# (relative, tol, n_iter_no_change); the default is (True, 3.5e-3, 3).
STOPPING = (
    (False, 1e-3, 3),
    (False, 2e-3, 3),
    (True, 1e-3, 3),
    (True, 3.5e-3, 3),
    (True, 3.5e-3, 5),
    (True, 5e-3, 2),
)
SCHEDULES = ("constant", "invscaling", "adaptive", "adagrad")
ETA0S = (0.001, 0.01, 0.1, 1.0)


def _datasets(text_only=False):
    data = {
        "debian multiclass": debian_tfidf_split("multiclass"),
        "debian binary": debian_tfidf_split("binary"),
    }
    if text_only:
        return data
    for name, load in [("iris", load_iris), ("digits", load_digits),
                       ("breast cancer", load_breast_cancer), ("wine", load_wine)]:
        X, y = load(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        data[name] = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    return data


def _fit(params, X_train, X_test, y_train, y_test):
    model = SGDLogisticRegression(random_state=0, **params)
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - tic
    return log_loss(y_test, model.predict_proba(X_test)), seconds, model.n_iter_


def _absolute_stop(loss_curve, tol, n_iter_no_change):
    """The epoch at which the absolute rule stops, or None if it has not yet.

    An epoch improves when its objective is below ``best - tol``, SGDClassifier's
    form and this package's before ``tol`` became relative.
    """
    best, no_improvement = np.inf, 0
    for epoch, value in enumerate(loss_curve, start=1):
        no_improvement = 0 if value < best - tol else no_improvement + 1
        best = min(best, value)
        if no_improvement >= n_iter_no_change:
            return epoch
    return None


def _fit_absolute(batch_size, tol, n_iter_no_change, name, split, curves):
    """Fit for as many epochs as the absolute rule would have run.

    ``fit`` with ``max_iter=k`` and ``tol=None`` runs exactly the first k
    epochs of a longer fit, so the rule is replayed on one long curve per data
    set and batch size (cached in ``curves``) and the model refitted to its
    stopping epoch; the seconds are those of the refit.
    """
    max_iter = 32
    while True:
        key = (name, batch_size, max_iter)
        if key not in curves:
            curves[key] = SGDLogisticRegression(
                batch_size=batch_size, tol=None, max_iter=max_iter, random_state=0,
                **LAST_ITERATE,
            ).fit(split[0], split[2]).loss_curve_
        stop = _absolute_stop(curves[key], tol, n_iter_no_change)
        if stop is not None:
            params = {"batch_size": batch_size, "tol": None, "max_iter": stop,
                      **LAST_ITERATE}
            return _fit(params, *split)
        max_iter *= 2


def stopping_grid():
    """Print held-out log-loss, seconds and epochs per setting and data set."""
    data = _datasets()
    print("| batch_size | rule | " + " | ".join(data) + " |")
    print("|---" * (len(data) + 2) + "|")
    curves = {}
    for b in BATCH_SIZES:
        for relative, tol, n in STOPPING:
            cells = []
            for name, split in data.items():
                if relative:
                    params = {"batch_size": b, "tol": tol, "n_iter_no_change": n,
                              **LAST_ITERATE}
                    result = _fit(params, *split)
                else:
                    result = _fit_absolute(b, tol, n, name, split, curves)
                cells.append("{:.4f} / {:.2f}s / {}ep".format(*result))
            kind = "relative" if relative else "absolute"
            print(f"| {b} | {kind} tol={tol:g} n={n} | " + " | ".join(cells) + " |",
                  flush=True)


def schedule_grid():
    """Print held-out log-loss per schedule and eta0, and the default's gap."""
    for name, split in _datasets(text_only=True).items():
        default_loss, _, _ = _fit(LAST_ITERATE, *split)
        results = {("optimal (former default)", "-"): default_loss}
        for schedule in SCHEDULES:
            for eta0 in ETA0S:
                params = {"learning_rate": schedule, "eta0": eta0, "max_iter": 30}
                results[(schedule, eta0)] = _fit(params, *split)[0]
        best = min(results.values())
        print(f"\n{name}: held-out log-loss by schedule and eta0")
        print("| schedule | " + " | ".join(f"eta0={e:g}" for e in ETA0S) + " |")
        print("|---" * (len(ETA0S) + 1) + "|")
        print(f"| optimal (former default, no eta0) | {default_loss:.4f} |" + " |" * 3)
        for schedule in SCHEDULES:
            print(f"| {schedule} | " + " | ".join(
                f"{results[(schedule, e)]:.4f}" for e in ETA0S) + " |")
        print(f"default {default_loss:.4f}, best of grid {best:.4f}: the default "
              f"is {100 * (default_loss - best) / best:+.2f}% from the best "
              f"(target: within 2%)", flush=True)


#: The defaults before learning_rate, average and tol became "auto".
FORMER_DEFAULTS = {**LAST_ITERATE, "tol": 3.5e-3}


def small_data_grid():
    """Print the small dense sets and make_classification at small batches:
    the former defaults, the current ones and SGDClassifier, held-out
    log-loss / epochs."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import SGDClassifier

    data = {name: split for name, split in _datasets().items()
            if not name.startswith("debian")}
    for n_classes in (2, 3):
        X, y = make_classification(n_samples=2000, n_features=20, n_informative=8,
                                   n_classes=n_classes, random_state=0)
        data[f"make_classification {n_classes} classes"] = train_test_split(
            X, y, test_size=0.25, random_state=0, stratify=y)
    def second_epoch(split):  # an int average counts the batch reaching it
        return len(split[2]) + 1

    rows = [(b, label, lambda split, p=params: p)
            for b in (256, 32, 8, 1)
            for label, params in (("former", FORMER_DEFAULTS), ("now", {}))]
    # How the parts of "auto" do on their own, at the default batch size.
    rows[2:2] = [
        (256, "bound, last iterate", lambda split: {"average": False}),
        (256, "bound, average from epoch 2",
         lambda split: {"average": second_epoch(split), "tol": 3.5e-3}),
        (256, "bound, average from epoch 2, tol=1e-2 n=2",
         lambda split: {"average": second_epoch(split), "tol": 1e-2,
                        "n_iter_no_change": 2}),
    ]
    print("| batch_size | defaults | " + " | ".join(data) + " |")
    print("|---" * (len(data) + 2) + "|")
    for b, label, params in rows:
        cells = ["{:.4f} / {ep}ep".format(loss, ep=epochs) for loss, _, epochs in
                 (_fit({"batch_size": b, **params(split)}, *split)
                  for split in data.values())]
        print(f"| {b} | {label} | " + " | ".join(cells) + " |", flush=True)
    cells = []
    for X_train, X_test, y_train, y_test in data.values():
        model = SGDClassifier(loss="log_loss", random_state=0).fit(X_train, y_train)
        cells.append(f"{log_loss(y_test, model.predict_proba(X_test)):.4f} / "
                     f"{model.n_iter_}ep")
    print("| - | SGDClassifier | " + " | ".join(cells) + " |")


def main(argv=None):
    """Print the grids (``--only stopping|schedules|small`` for one)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["stopping", "schedules", "small"])
    args = parser.parse_args(argv)
    if args.only == "small":
        small_data_grid()
        return
    if args.only != "schedules":
        print("## Stopping rule and batch size: held-out log-loss / fit seconds / "
              "epochs\n")
        stopping_grid()
    if args.only != "stopping":
        print("\n## Learning-rate schedules\n")
        schedule_grid()


if __name__ == "__main__":
    main()
