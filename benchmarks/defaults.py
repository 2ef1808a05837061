"""How the defaults were chosen: two grids, printed as Markdown tables.

Run ``python -m benchmarks.defaults`` (about 3 minutes on 2 cores).

1. Stopping and batch size: ``batch_size`` x (``tol``, ``n_iter_no_change``)
   on the two Debian tasks and four small dense data sets (standardised),
   held-out log-loss and fit time of each.
2. Learning rates: every schedule x ``eta0`` on the two Debian tasks, to show
   that the default's held-out log-loss is within 2% of the grid's best. The
   grid's fits stop at ``max_iter=30`` epochs (a poor ``eta0`` would otherwise
   run 1000); the default stops by itself before that.
"""

import time
import warnings

from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_tfidf_split

BATCH_SIZES = (256, 512, 1024)
STOPPING = ((1e-3, 5), (1e-3, 3), (2e-3, 3))
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


def stopping_grid():
    """Print held-out log-loss, seconds and epochs per data set and setting."""
    settings = [(b, tol, n) for b in BATCH_SIZES for tol, n in STOPPING]
    print("| data | " + " | ".join(f"bs={b} tol={t:g} n={n}" for b, t, n in settings)
          + " |")
    print("|---" * (len(settings) + 1) + "|")
    for name, split in _datasets().items():
        cells = []
        for b, tol, n in settings:
            loss, seconds, epochs = _fit(
                dict(batch_size=b, tol=tol, n_iter_no_change=n), *split)
            cells.append(f"{loss:.4f} / {seconds:.2f}s / {epochs}ep")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def schedule_grid():
    """Print held-out log-loss per schedule and eta0, and the default's gap."""
    for name, split in _datasets(text_only=True).items():
        default_loss, _, _ = _fit({}, *split)
        results = {("optimal (default)", "-"): default_loss}
        for schedule in SCHEDULES:
            for eta0 in ETA0S:
                results[(schedule, eta0)] = _fit(
                    dict(learning_rate=schedule, eta0=eta0, max_iter=30), *split)[0]
        best = min(results.values())
        print(f"\n{name}: held-out log-loss by schedule and eta0")
        print("| schedule | " + " | ".join(f"eta0={e:g}" for e in ETA0S) + " |")
        print("|---" * (len(ETA0S) + 1) + "|")
        print(f"| optimal (default, no eta0) | {default_loss:.4f} |" + " |" * 3)
        for schedule in SCHEDULES:
            print(f"| {schedule} | " + " | ".join(
                f"{results[(schedule, e)]:.4f}" for e in ETA0S) + " |")
        print(f"default {default_loss:.4f}, best of grid {best:.4f}: the default "
              f"is {100 * (default_loss - best) / best:+.2f}% from the best "
              f"(target: within 2%)", flush=True)


def main(argv=None):
    """Print both grids (``--schedules`` or ``--stopping`` for one)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["stopping", "schedules"])
    args = parser.parse_args(argv)
    if args.only != "schedules":
        print("## Stopping rule and batch size: held-out log-loss / fit seconds / "
              "epochs\n")
        stopping_grid()
    if args.only != "stopping":
        print("\n## Learning-rate schedules\n")
        schedule_grid()


if __name__ == "__main__":
    main()
