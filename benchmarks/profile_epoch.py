"""Where an epoch's time goes: cProfile of the default model's fit.

``python -m benchmarks.profile_epoch [--task multiclass|binary]``

After one warm-up fit, one ``fit`` of the default model under cProfile;
prints the functions that take the most of it by their own time (callees
not counted), as a share of the fit and as seconds per epoch. An epoch is
``fit`` seconds over ``n_iter_``, as in the benchmark's table, so the work
``fit`` does once (validation, a copy of X) is spread over the epochs.
"""

import argparse
import cProfile
import pstats
import time

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_tfidf_split


def profile_fit(task="multiclass", top=15, n_documents=None):
    """Profile one fit of the default model on a Debian task.

    Parameters
    ----------
    task : {"multiclass", "binary"}, default="multiclass"
    top : int, default=15
        Rows of the profile to return.
    n_documents : int or None, default=None
        A subset, for a quick look.

    Returns
    -------
    rows : list of (share, seconds_per_epoch, calls_per_epoch, name)
        The top functions by own time.
    fit_seconds : float
        Wall time of the fit without the profiler.
    n_epochs : int
    """
    X, _, y, _ = debian_tfidf_split(task, n_documents=n_documents)
    tic = time.perf_counter()
    n_epochs = SGDLogisticRegression(random_state=0).fit(X, y).n_iter_
    fit_seconds = time.perf_counter() - tic

    profiler = cProfile.Profile()
    profiler.enable()
    SGDLogisticRegression(random_state=0).fit(X, y)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    rows = []
    for (path, line, function), (_, calls, own, _, _) in stats.stats.items():
        name = f"{path.rsplit('/', 1)[-1]}:{line}({function})" if line else function
        rows.append((own / total, own / n_epochs, calls / n_epochs, name))
    rows.sort(reverse=True)
    return rows[:top], fit_seconds, n_epochs


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_epoch",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("multiclass", "binary"),
                        default="multiclass")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    rows, seconds, n_epochs = profile_fit(args.task, args.top)
    print(f"debian {args.task}: fit {seconds:.2f} s for {n_epochs} epochs "
          f"({seconds / n_epochs:.3f} s/epoch) without the profiler; under "
          "cProfile, own time:")
    print(f"{'share':>6}  {'s/epoch':>8}  {'calls/epoch':>11}  function")
    for share, own, calls, name in rows:
        print(f"{share:6.1%}  {own:8.4f}  {calls:11.1f}  {name}")


if __name__ == "__main__":
    main()
