"""Where a partial_fit call's time goes on the out-of-core stream.

``python -m benchmarks.profile_stream [--task multiclass|binary] [--chunks N]
[--chunk N] [--features-log2 B] [--top N]``

Draws and hashes chunks as ``benchmarks.outofcore`` does (the same source,
hashing and labels; ``--features-log2`` changes the number of hashed
columns), gives ``SGDLogisticRegression(alpha=1e-6)`` two untimed calls (the
first allocates the model, the second starts the average), then times the
other calls on one thread and prints milliseconds per call: the phases of
the compiled step (with a build that has their clocks, see
``benchmarks.profile_epoch``), the rest of the call, what one pass of
``row_sums`` over the chunk's columns of V costs (``run_epoch`` makes three,
for the objective's penalty and the finiteness check), and
``SGDClassifier``'s call on the same chunks. Then the Python-level
functions of ours that take the most of the calls by their own time.
"""

import argparse
import cProfile
import pstats
import time
import warnings

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier
from threadpoolctl import threadpool_limits

from sklearn_sgdlogreg import SGDLogisticRegression, _epoch
from sklearn_sgdlogreg.datasets import PlantedBagOfWords

from .outofcore import (
    ALPHA,
    N_CLASSES,
    NNZ_PER_ROW,
    SOURCE_SEED,
    STREAM_SEED,
    positive_class,
    task_labels,
)
from .profile_epoch import PHASES

WARM_UP_CALLS = 2


def hashed_chunks(task, n_chunks, chunk_size, n_features):
    """Hashed chunks of the out-of-core stream and the task's classes."""
    source = PlantedBagOfWords(
        n_classes=N_CLASSES, nnz_per_row=NNZ_PER_ROW, random_state=SOURCE_SEED
    )
    vectorizer = HashingVectorizer(n_features=n_features, alternate_sign=False)
    chunks = [
        (vectorizer.transform(documents), y)
        for documents, y in source.texts(
            n_chunks * chunk_size, chunk_size, random_state=STREAM_SEED
        )
    ]
    if task == "binary":
        positive = positive_class(source)
        chunks = [(X, task_labels(y, positive)["binary"]) for X, y in chunks]
    return chunks, np.unique(np.concatenate([y for _, y in chunks]))


def profile_stream(
    task="multiclass", n_chunks=12, chunk_size=10_000, n_features=2**18, top=12
):
    """Milliseconds per ``partial_fit`` call, by phase, and a cProfile.

    Parameters
    ----------
    task : {"multiclass", "binary"}, default="multiclass"
    n_chunks : int, default=12
        Chunks per learner, the first two untimed.
    chunk_size : int, default=10_000
    n_features : int, default=2**18
    top : int, default=12
        Rows of the profile to return.

    Returns
    -------
    report : dict
        ``ours_ms``, ``sgdclassifier_ms``, ``row_sums_ms``, ``nnz`` (mean
        non-zeros of a chunk), ``phases_ms`` (None without clocks) and
        ``profile`` (rows of share, ms per call, calls per call, name).
    """
    chunks, classes = hashed_chunks(task, n_chunks, chunk_size, n_features)
    timed = chunks[WARM_UP_CALLS:]
    report = {"nnz": np.mean([X.nnz for X, _ in timed])}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key, make in (
            ("ours_ms", lambda: SGDLogisticRegression(alpha=ALPHA, random_state=0)),
            (
                "sgdclassifier_ms",
                lambda: SGDClassifier(loss="log_loss", alpha=ALPHA, random_state=0),
            ),
        ):
            model = make()
            for X, y in chunks[:WARM_UP_CALLS]:
                model.partial_fit(X, y, classes=classes)
            before = _epoch.phase_seconds() if _epoch.PROFILED else None
            tic = time.perf_counter()
            for X, y in timed:
                model.partial_fit(X, y, classes=classes)
            report[key] = 1e3 * (time.perf_counter() - tic) / len(timed)
            if key == "ours_ms":
                report["phases_ms"] = None
                if before is not None:
                    spent = 1e3 * (_epoch.phase_seconds() - before) / len(timed)
                    report["phases_ms"] = dict(zip(PHASES, spent))
                V = model._solver.V
                seen = np.zeros(V.shape[0], dtype=np.uint8)
                tic = time.perf_counter()
                for X, _ in timed:
                    _epoch.row_sums(V, X.indices, seen)
                report["row_sums_ms"] = 1e3 * (time.perf_counter() - tic) / len(timed)

        model = SGDLogisticRegression(alpha=ALPHA, random_state=0)
        for X, y in chunks[:WARM_UP_CALLS]:
            model.partial_fit(X, y, classes=classes)
        profiler = cProfile.Profile()
        profiler.enable()
        for X, y in timed:
            model.partial_fit(X, y, classes=classes)
        profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (path, line, function), (_, calls, own, _, _) in stats.stats.items():
        name = f"{path.rsplit('/', 1)[-1]}:{line}({function})" if line else function
        rows.append(
            (own / stats.total_tt, 1e3 * own / len(timed), calls / len(timed), name)
        )
    report["profile"] = sorted(rows, reverse=True)[:top]
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_stream",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--task", choices=("multiclass", "binary"), default="multiclass"
    )
    parser.add_argument("--chunks", type=int, default=12)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--features-log2", type=int, default=18)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    report = profile_stream(
        args.task, args.chunks, args.chunk, 2**args.features_log2, args.top
    )
    ours = report["ours_ms"]
    print(
        f"{args.task}, chunks of {args.chunk:,} ({report['nnz']:,.0f} non-zeros), "
        f"2**{args.features_log2} hashed features, alpha={ALPHA:g}, one thread, "
        f"{args.chunks - WARM_UP_CALLS} timed calls:"
    )
    print(f"  SGDLogisticRegression {ours:8.1f} ms a call")
    if report["phases_ms"] is None:
        print(
            "  (no phase clocks in this build; rebuild with "
            "CPPFLAGS=-DSGDLOGREG_PROFILE for them)"
        )
    else:
        for name, ms in report["phases_ms"].items():
            print(f"    {ms:8.1f} ms  {name}")
        outside = ours - sum(report["phases_ms"].values())
        print(f"    {outside:8.1f} ms  outside the compiled step")
    print(
        f"  one row_sums over the chunk's columns of V: {report['row_sums_ms']:.1f} ms"
    )
    print(f"  SGDClassifier         {report['sgdclassifier_ms']:8.1f} ms a call")
    print("\nunder cProfile, own time:")
    print(f"{'share':>6}  {'ms/call':>8}  {'calls':>6}  function")
    for share, ms, calls, name in report["profile"]:
        print(f"{share:6.1%}  {ms:8.2f}  {calls:6.1f}  {name}")


if __name__ == "__main__":
    main()
