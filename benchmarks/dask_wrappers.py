"""One pass of dask-ml's ``Incremental`` over sparse chunks on a LocalCluster.

``python -m benchmarks.dask_wrappers [--quick] [--documents N] [--chunk N]
[--classes K] [--features N] [--alpha A] [--repeats N]``

Needs the ``[dask]`` and ``[test-dask]`` extras; run it from the repository
root. Synthetic documents (``PlantedBagOfWords``) are drawn on the workers
of a ``LocalCluster`` of two single-threaded worker processes, in CSR
chunks that stay there. ``Incremental(SGDLogisticRegression(alpha=...))``
and ``Incremental(SGDClassifier(loss="log_loss", alpha=...))`` each make
one pass over them (``partial_fit`` on each chunk in turn, a chain of tasks),
alternately, and for each the median wall seconds are printed beside
where they went: the tasks' compute, the transfers of their inputs between
workers, and the rest (sending the graph, scheduling, bringing the model
back here); then the held-out log-loss and accuracy, the size of the
model's pickle (what a transfer of it carries) and how often the chain
moved from one worker to the other; and whether ours is faster.

Dask places each task by the bytes its inputs would cost to move, and its
``sizeof`` of an object it does not know (an estimator) is a few dozen
bytes, whatever arrays the object holds: so it moves the model to the
chunk, not the chunk to the model. The last rows repeat the passes with a
``sizeof`` that counts the estimators' arrays registered in every process,
to show what that placement costs each model.
"""

import argparse
import itertools
import pickle
import sys
import time

import numpy as np
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import PlantedBagOfWords

TARGET = (
    "dask-ml Incremental over sparse chunks on a 2-process LocalCluster: "
    "faster than SGDClassifier under the same wrapper"
)
FULL = dict(documents=100_000, chunk=10_000, classes=53, features=2**18, repeats=3)
QUICK = dict(documents=20_000, chunk=5_000, classes=53, features=2**16, repeats=1)
OURS, THEIRS = "SGDLogisticRegression", 'SGDClassifier(loss="log_loss")'
# The default averages (average="auto") from the second chunk on, and so
# holds a second array of coef_'s size; without it the model is as large as
# SGDClassifier's.
NOT_AVERAGED = "SGDLogisticRegression(average=False)"


def _progress(message, tic):
    print(f"[{time.perf_counter() - tic:7.1f} s] {message}", file=sys.stderr)


def _chunks_on_the_cluster(client, source, n_documents, chunk, seed=0):
    """``X`` and ``y`` as dask arrays of chunks drawn on the workers, persisted.

    Chunk ``i`` is ``source.sample(rows, random_state=seed + i)``: the data
    never pass through this process. The source (its planted model is tens
    of MB) is sent to each worker once, not with every task.
    """
    import dask
    import dask.array as da
    import scipy.sparse as sp
    from distributed import wait

    on_workers = client.scatter(source, broadcast=True)
    empty = sp.csr_matrix((0, source.n_features))
    X_parts, y_parts = [], []
    for i, start in enumerate(range(0, n_documents, chunk)):
        rows = min(chunk, n_documents - start)
        X_part, y_part = dask.delayed(_sample, nout=2, pure=True)(
            on_workers, rows, seed + i
        )
        shape = (rows, source.n_features)
        X_parts.append(da.from_delayed(X_part, shape, float, meta=empty))
        y_parts.append(da.from_delayed(y_part, (rows,), int, meta=np.empty(0, int)))
    X, y = dask.persist(da.concatenate(X_parts), da.concatenate(y_parts))
    wait([X, y])
    return X, y


def _sample(source, rows, seed):
    return source.sample(rows, random_state=seed)


def count_estimator_arrays():
    """Make ``dask.sizeof`` of the two estimators the bytes of the arrays they
    hold (through their attributes and theirs), not ~50.

    Registered for the classes themselves: ``sizeof`` caches the function it
    found for a class, so one registered for a base class after the first
    look-up would not be used.
    """
    from dask.sizeof import sizeof

    def nbytes(obj, seen):
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            return obj.nbytes
        if isinstance(obj, dict):
            return sum(nbytes(value, seen) for value in obj.values())
        if isinstance(obj, (list, tuple)):
            return sum(nbytes(value, seen) for value in obj)
        return nbytes(vars(obj), seen) if hasattr(obj, "__dict__") else 0

    @sizeof.register(SGDLogisticRegression)
    @sizeof.register(SGDClassifier)
    def _(estimator):
        return 1000 + nbytes(estimator, set())


def _chain(task_stream):
    """Compute and transfer seconds of the ``partial_fit`` tasks, and how
    many times their chain changed worker."""
    tasks = sorted(
        (task for task in task_stream if "fit-" in str(task["key"])),
        key=lambda task: task["startstops"][-1]["start"],
    )
    seconds = {"compute": 0.0, "transfer": 0.0}
    for task in tasks:
        for step in task["startstops"]:
            if step["action"] in seconds:
                seconds[step["action"]] += step["stop"] - step["start"]
    workers = [task["worker"] for task in tasks]
    moves = sum(a != b for a, b in itertools.pairwise(workers))
    return seconds["compute"], seconds["transfer"], moves


def _passes(client, estimators, X, y, labels, repeats, tic, label=""):
    """``repeats`` passes of each estimator under ``Incremental``, alternating."""
    from dask_ml.wrappers import Incremental
    from distributed import get_task_stream

    runs = {name: [] for name in estimators}
    models = {}
    for r in range(repeats):
        for name in list(estimators)[:: 1 if r % 2 == 0 else -1]:
            wrapper = Incremental(estimators[name](), shuffle_blocks=False)
            with get_task_stream(client) as stream:
                start = time.perf_counter()
                wrapper.fit(X, y, classes=labels)
                seconds = time.perf_counter() - start
            runs[name].append((seconds, *_chain(stream.data)))
            models[name] = wrapper.estimator_
            _progress(f"{name}{label}: {seconds:.2f} s", tic)
    rows = {}
    for name, measured in runs.items():
        median = sorted(measured)[len(measured) // 2]  # the run of median seconds
        rows[name] = dict(
            seconds=median[0],
            compute=median[1],
            transfer=median[2],
            moves=median[3],
            all_seconds=[run[0] for run in measured],
        )
    return rows, models


def run(documents, chunk, classes, features, alpha=1e-6, repeats=3, tic=None):
    """Fit both estimators under ``Incremental`` and measure them.

    Parameters
    ----------
    documents : int
        Training documents; a tenth as many more are held out.
    chunk : int
        Rows per chunk.
    classes : int
    features : int
        Hashed columns.
    alpha : float, default=1e-6
    repeats : int, default=3
        Passes of each estimator, alternating; the run of median seconds is
        reported.

    Returns
    -------
    rows : dict
        For each estimator's name: ``seconds``, ``compute`` and ``transfer``
        (of its tasks), ``moves``, ``all_seconds``, ``log_loss``,
        ``accuracy``, ``pickle_mb``, ``dumps_s`` and ``loads_s`` (pickling
        the fitted model here).
    sized : dict
        ``seconds``, ``compute``, ``transfer``, ``moves`` and
        ``all_seconds`` again, with ``count_estimator_arrays`` in force.
    """
    from distributed import Client, LocalCluster

    tic = time.perf_counter() if tic is None else tic
    source = PlantedBagOfWords(n_classes=classes, n_features=features, random_state=0)
    X_test, y_test = source.sample(max(documents // 10, 1000), random_state=10**6)
    labels = np.arange(classes)
    estimators = {
        OURS: lambda: SGDLogisticRegression(alpha=alpha, random_state=0),
        NOT_AVERAGED: lambda: SGDLogisticRegression(
            alpha=alpha, average=False, random_state=0
        ),
        THEIRS: lambda: SGDClassifier(loss="log_loss", alpha=alpha, random_state=0),
    }
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"},
        ) as cluster,
        Client(cluster) as client,
    ):
        X, y = _chunks_on_the_cluster(client, source, documents, chunk)
        _progress(
            f"{documents:,} documents in {X.numblocks[0]} chunks on the workers",
            tic,
        )
        # Imports and first calls on both workers, outside the timings.
        first = X.chunks[0][0]
        _passes(client, estimators, X[:first], y[:first], labels, 1, tic, " (warm-up)")
        rows, models = _passes(client, estimators, X, y, labels, repeats, tic)
        client.run(count_estimator_arrays)
        count_estimator_arrays()
        sized, _ = _passes(
            client, estimators, X, y, labels, repeats, tic, " (sizes known)"
        )
    for name, row in rows.items():
        model = models[name]
        row["log_loss"] = log_loss(y_test, model.predict_proba(X_test), labels=labels)
        row["accuracy"] = accuracy_score(y_test, model.predict(X_test))
        start = time.perf_counter()
        dumped = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        row["dumps_s"] = time.perf_counter() - start
        start = time.perf_counter()
        pickle.loads(dumped)
        row["loads_s"] = time.perf_counter() - start
        row["pickle_mb"] = len(dumped) / 1e6
    return rows, sized


def report(rows, sized, params):
    """The tables, the ratio and the target, as lines of text."""
    lines = [
        f"Incremental, one pass: {params['documents']:,} documents in chunks of "
        f"{params['chunk']:,}, {params['classes']} classes, {params['features']:,} "
        f"columns, alpha={params['alpha']:g}; the run of median seconds of "
        f"{params['repeats']}",
        "",
        "| estimator | fit s | tasks' compute s | transfers s | rest s "
        "| model moves | held-out log-loss | accuracy | pickle MB "
        "| dumps s | loads s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['seconds']:.2f} | {row['compute']:.2f} "
            f"| {row['transfer']:.2f} "
            f"| {row['seconds'] - row['compute'] - row['transfer']:.2f} "
            f"| {row['moves']} | {row['log_loss']:.4f} | {row['accuracy']:.4f} "
            f"| {row['pickle_mb']:.1f} | {row['dumps_s']:.2f} | {row['loads_s']:.2f} |"
        )
    lines += [
        "",
        "The same passes with dask.sizeof counting the estimators' arrays:",
        "",
        "| estimator | fit s | tasks' compute s | transfers s | rest s | model moves |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in sized.items():
        lines.append(
            f"| {name} | {row['seconds']:.2f} | {row['compute']:.2f} "
            f"| {row['transfer']:.2f} "
            f"| {row['seconds'] - row['compute'] - row['transfer']:.2f} "
            f"| {row['moves']} |"
        )
    lines.append("")
    for table, title in ((rows, ""), (sized, ", sizes known")):
        lines.append(
            f"all runs{title}: "
            + "; ".join(f"{name} {_seconds(row)}" for name, row in table.items())
        )
        for name in (OURS, NOT_AVERAGED):
            ratio = table[THEIRS]["seconds"] / table[name]["seconds"]
            lines.append(f"  SGDClassifier's seconds over {name}'s: {ratio:.2f}x")
    ratio = rows[THEIRS]["seconds"] / rows[OURS]["seconds"]
    lines.append(f"{'PASS' if ratio > 1 else 'MISS'} (the default): {TARGET}")
    return lines


def _seconds(row):
    return ", ".join(f"{s:.2f}" for s in row["all_seconds"])


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dask_wrappers",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="20,000 documents in chunks of 5,000 over 2**16 columns, 1 repeat",
    )
    parser.add_argument("--documents", type=int, help="default 100,000")
    parser.add_argument("--chunk", type=int, help="default 10,000")
    parser.add_argument("--classes", type=int, help="default 53")
    parser.add_argument("--features", type=int, help="default 2**18")
    parser.add_argument("--alpha", type=float, default=1e-6)
    parser.add_argument("--repeats", type=int, help="default 3")
    args = parser.parse_args(argv)
    params = dict(QUICK if args.quick else FULL)
    for key in ("documents", "chunk", "classes", "features", "repeats"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    params["alpha"] = args.alpha
    rows, sized = run(**params, tic=time.perf_counter())
    print("\n".join(report(rows, sized, params)))


if __name__ == "__main__":
    main()
