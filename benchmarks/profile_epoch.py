"""Where an epoch's time goes: the compiled step's phases, and cProfile.

``python -m benchmarks.profile_epoch [--task multiclass|binary]``

One timed ``fit`` of the default model prints the seconds per epoch of the
phases of the compiled step (the sweep over the rows for scores, loss and
gradient; the rate caps; the curvature along the step, for the damping; the
update of W) and what is left outside them. The clocks are compiled in only
when the package is built with ``CPPFLAGS=-DSGDLOGREG_PROFILE pip install -e
.``: a clock read costs a tenth of a per-sample epoch, so the ordinary build
has none. A second ``fit`` under cProfile prints the Python-level functions
that take the most of it by their own time (callees not counted). An epoch
is ``fit`` seconds over ``n_iter_``, as in the benchmark's table, so the
work ``fit`` does once (validation) is spread over the epochs.
"""

import argparse
import cProfile
import pstats
import time

from sklearn_sgdlogreg import SGDLogisticRegression, _epoch
from sklearn_sgdlogreg.datasets import debian_tfidf_split

PHASES = (
    "rows: scores, loss, gradient",
    "rate caps",
    "curvature (damping)",
    "update of W",
)


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
    phases : dict or None
        Seconds per epoch of each phase of the compiled step; None when the
        build has no clocks.
    """
    X, _, y, _ = debian_tfidf_split(task, n_documents=n_documents)
    SGDLogisticRegression(random_state=0, max_iter=1, tol=None).fit(X, y)  # warm-up
    before = _epoch.phase_seconds()
    tic = time.perf_counter()
    model = SGDLogisticRegression(random_state=0).fit(X, y)
    fit_seconds = time.perf_counter() - tic
    n_epochs = model.n_iter_
    phases = None
    if _epoch.PROFILED:
        per_epoch = (_epoch.phase_seconds() - before) / n_epochs
        phases = dict(zip(PHASES, per_epoch))

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
    return rows[:top], fit_seconds, n_epochs, phases


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_epoch",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("multiclass", "binary"),
                        default="multiclass")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    rows, seconds, n_epochs, phases = profile_fit(args.task, args.top)
    epoch = seconds / n_epochs
    print(f"debian {args.task}: fit {seconds:.2f} s for {n_epochs} epochs "
          f"({epoch:.4f} s/epoch)")
    if phases is None:
        print("this build has no phase clocks; for them, rebuild with "
              "CPPFLAGS=-DSGDLOGREG_PROFILE pip install -e .")
    else:
        print("phases of the compiled step:")
        print(f"{'share':>6}  {'s/epoch':>8}  phase")
        for name, phase in phases.items():
            print(f"{phase / epoch:6.1%}  {phase:8.4f}  {name}")
        rest = epoch - sum(phases.values())
        print(f"{rest / epoch:6.1%}  {rest:8.4f}  outside the compiled step")
    print("\nunder cProfile, own time:")
    print(f"{'share':>6}  {'s/epoch':>8}  {'calls/epoch':>11}  function")
    for share, own, calls, name in rows:
        print(f"{share:6.1%}  {own:8.4f}  {calls:11.1f}  {name}")


if __name__ == "__main__":
    main()
