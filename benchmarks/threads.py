"""Seconds per epoch on one thread and on every core, and the same model.

``python -m benchmarks.threads [--task multiclass|binary] [--rounds N]
[--epochs N] [--batch-size B] [--alpha A]``

Fits the default model for a fixed number of epochs (``tol=None``) under
``threadpoolctl.threadpool_limits(1)`` and with no limit, alternating the
two so that the machine's load falls on both alike, and prints the median
seconds per epoch of each, their ratio, and whether the two models are the
same to the bit (they should be: every sum is added in one order).
"""

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg._epoch import effective_n_threads
from sklearn_sgdlogreg.datasets import debian_tfidf_split


def time_threads(task="multiclass", rounds=5, n_epochs=6, batch_size=256, alpha=1e-4):
    """Median seconds per epoch on one thread and on every core.

    Parameters
    ----------
    task : {"multiclass", "binary"}, default="multiclass"
    rounds : int, default=5
        Fits per thread count, alternating.
    n_epochs : int, default=6
    batch_size : int, default=256
    alpha : float, default=1e-4

    Returns
    -------
    seconds : dict
        ``{1: s_per_epoch, n_threads: s_per_epoch}``.
    same_model : bool
        Whether both fits gave the same coefficients, bit for bit.
    """
    X, _, y, _ = debian_tfidf_split(task)
    params = dict(
        random_state=0, max_iter=n_epochs, tol=None, batch_size=batch_size, alpha=alpha
    )
    n_threads = effective_n_threads()
    SGDLogisticRegression(**{**params, "max_iter": 1}).fit(X, y)  # warm-up
    times = {1: [], n_threads: []}
    coef = {}
    for r in range(rounds):
        for limit in (1, None) if r % 2 == 0 else (None, 1):
            with threadpool_limits(limit):
                tic = time.perf_counter()
                model = SGDLogisticRegression(**params).fit(X, y)
                seconds = (time.perf_counter() - tic) / n_epochs
            key = 1 if limit == 1 else n_threads
            times[key].append(seconds)
            coef[key] = model.coef_
    same = np.array_equal(coef[1], coef[n_threads])
    return {key: statistics.median(value) for key, value in times.items()}, same


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.threads", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--task", choices=("multiclass", "binary"), default="multiclass"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--alpha", type=float, default=1e-4)
    args = parser.parse_args(argv)
    seconds, same = time_threads(
        args.task, args.rounds, args.epochs, args.batch_size, args.alpha
    )
    most = max(seconds)
    print(
        f"debian {args.task}, alpha={args.alpha:g}, batch_size={args.batch_size}, "
        f"{args.epochs} epochs, "
        f"median of {args.rounds}:"
    )
    for key in sorted(seconds):
        print(f"  {key} thread(s): {seconds[key]:.4f} s/epoch")
    if most > 1:
        print(f"  speed-up on {most} threads: {seconds[1] / seconds[most]:.2f}x")
    print(f"  same model on every thread count: {same}")


if __name__ == "__main__":
    main()
