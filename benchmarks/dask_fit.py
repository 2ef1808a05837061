"""The data-parallel fit on a LocalCluster: 1 worker process against 2.

``python -m benchmarks.dask_fit`` (``--quick`` for a smoke run). For each
task, the data are made on the workers (never on the client), then
``DaskSGDLogisticRegression`` is fitted on a cluster of 1 and of 2
single-threaded worker processes, and ``SGDLogisticRegression`` on the same
data in this process. Reported: seconds per epoch, bytes the workers sent
per epoch, held-out log-loss against the single machine's, the client's
peak traced memory during the fit against the size of X, and the same fit
with the workers' moves averaged instead of added up.
"""

import argparse
import contextlib
import io
import re
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import log_loss

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import PlantedBagOfWords, debian_tfidf_split

from .measure import csr_nbytes


@dataclass
class Task:
    """A training set made block by block, and a held-out set."""

    name: str
    n_blocks: int
    make_block: object  # (block index) -> (X, y), run on a worker
    X_test: object
    y_test: object
    alpha: float


@dataclass
class Fit:
    """One fit's measurements."""

    setting: str
    epochs: int
    epoch_seconds: float
    sent_bytes: float  # by the workers, per epoch
    log_loss: float
    client_peak: int  # traced bytes, during the fit


class _Debian:
    """Blocks of the Debian 53-class tf-idf training split (a worker loads
    the split once and keeps it for its later blocks)."""

    def __init__(self, n_blocks, n_documents):
        self.n_blocks, self.n_documents = n_blocks, n_documents
        self._split = None

    def __call__(self, i):
        if self._split is None:
            self._split = debian_tfidf_split("multiclass", n_documents=self.n_documents)
        X, _, y, _ = self._split
        rows = np.array_split(np.arange(X.shape[0]), self.n_blocks)[i]
        return X[rows], y[rows]

    def __getstate__(self):
        return {**self.__dict__, "_split": None}


class _Synthetic:
    """Blocks of a PlantedBagOfWords stream, each from its own seed."""

    def __init__(self, n_samples, n_blocks, n_classes):
        self.block = -(-n_samples // n_blocks)
        self.n_samples, self.n_classes = n_samples, n_classes

    def source(self):
        return PlantedBagOfWords(n_classes=self.n_classes, random_state=0)

    def __call__(self, i):
        n = min(self.block, self.n_samples - i * self.block)
        return self.source().sample(n, random_state=1_000 + i)


def tasks(quick):
    n_debian = 6_000 if quick else None
    _, X_test, _, y_test = debian_tfidf_split("multiclass", n_documents=n_debian)
    debian = Task("debian multiclass (53 classes)", 8, _Debian(8, n_debian),
                  X_test, y_test, 1e-6)  # fmt: skip
    n_synthetic = 40_000 if quick else 2_000_000
    synthetic = _Synthetic(n_synthetic, 8 if quick else 40, 2)
    X_test, y_test = synthetic.source().sample(20_000, random_state=7)
    binary = Task(f"synthetic binary ({n_synthetic:,} documents)",
                  8 if quick else 40, synthetic, X_test, y_test, 1e-6)  # fmt: skip
    return [debian, binary]


def _dask_data(task):
    import dask
    import dask.array as da

    blocks = [dask.delayed(task.make_block)(i) for i in range(task.n_blocks)]
    n_features = task.X_test.shape[1]
    meta = sp.csr_matrix((0, n_features))
    X = da.concatenate(
        [da.from_delayed(b[0], shape=(np.nan, n_features), dtype=float, meta=meta)
         for b in blocks]  # fmt: skip
    )
    y = da.concatenate(
        [da.from_delayed(b[1], shape=(np.nan,), dtype=task.y_test.dtype)
         for b in blocks]  # fmt: skip
    )
    return X, y


def _received(client):
    """Bytes all workers have fetched from other workers so far."""
    return sum(
        client.run(
            lambda dask_worker: sum(
                entry["total"] for entry in dask_worker.transfer_incoming_log
            )
        ).values()
    )


EPOCH_LINE = re.compile(r"-- Epoch (\d+), objective: \S+, ([0-9.]+) s")


def dask_fit(task, n_workers, combine="sum"):
    from distributed import Client, LocalCluster, wait

    from sklearn_sgdlogreg.dask import DaskSGDLogisticRegression

    with LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True,
        dashboard_address=None, silence_logs=40,
    ) as cluster, Client(cluster) as client:  # fmt: skip
        X, y = client.persist(list(_dask_data(task)))
        wait([X, y])
        model = DaskSGDLogisticRegression(alpha=task.alpha, random_state=0, verbose=1)
        model._combine = combine
        before = _received(client)
        out = io.StringIO()
        tracemalloc.start()
        with contextlib.redirect_stdout(out), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        sent = _received(client) - before
    seconds = [float(s) for _, s in EPOCH_LINE.findall(out.getvalue())]
    return model, Fit(
        f"{n_workers} worker{'s' if n_workers > 1 else ''}"
        + ("" if combine == "sum" else f", {combine}"),
        model.n_iter_, float(np.median(seconds)), sent / model.n_iter_,
        _held_out(model, task), peak,
    )  # fmt: skip


def local_fit(task):
    parts = [task.make_block(i) for i in range(task.n_blocks)]
    X = sp.vstack([p[0] for p in parts], format="csr")
    y = np.concatenate([p[1] for p in parts])
    del parts
    model = SGDLogisticRegression(alpha=task.alpha, random_state=0)
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    seconds = (time.perf_counter() - tic) / model.n_iter_
    fit = Fit("one machine", model.n_iter_, seconds, 0.0, _held_out(model, task), 0)
    return fit, csr_nbytes(X)


def _held_out(model, task):
    proba = model.predict_proba(task.X_test)
    return log_loss(task.y_test, proba, labels=model.classes_)


def _mb(n):
    return f"{n / 1e6:,.1f} MB"


def report(task, local, x_bytes, fits):
    print(f"\n{task.name}: X {_mb(x_bytes)}, alpha={task.alpha:g}")
    print(f"{'':20s} {'epochs':>6s} {'s/epoch':>8s} {'sent/epoch':>12s} "
          f"{'held-out':>9s} {'vs 1 machine':>12s} {'client peak':>12s}")  # fmt: skip
    for fit in [local, *fits]:
        print(
            f"{fit.setting:20s} {fit.epochs:6d} {fit.epoch_seconds:8.3f} "
            f"{_mb(fit.sent_bytes):>12s} {fit.log_loss:9.4f} "
            f"{fit.log_loss / local.log_loss - 1:+12.2%} {_mb(fit.client_peak):>12s}"
        )
    one, two = fits[0], fits[1]
    ratio = two.epoch_seconds / one.epoch_seconds
    targets = [
        ("2 workers' epoch <= 0.65 x 1 worker's", ratio <= 0.65, f"{ratio:.2f}x"),
        ("held-out log-loss within 1% of one machine's",
         two.log_loss <= 1.01 * local.log_loss,
         f"{two.log_loss / local.log_loss - 1:+.2%}"),
        ("client peak < 10% of size(X)", two.client_peak < 0.1 * x_bytes,
         f"{two.client_peak / x_bytes:.1%}"),
    ]  # fmt: skip
    for name, held, value in targets:
        print(f"  target: {name}: {'PASS' if held else 'MISS'} ({value})")
    return targets


#: Network bandwidth of the projection, bytes/s: 10 Gb/s Ethernet.
BANDWIDTH = 1.25e9
#: The scheduler's time per task, seconds.
TASK_SECONDS = 1e-3


def projection(local, one, two, model_bytes, workers=(2, 8, 64, 512)):
    """Seconds per epoch on W workers, on paper, from the measurements.

    An epoch is the compute (one worker's, divided by W: the data split
    evenly), the start model sent out, the contributions added in a tree
    (ceil(log2 W) levels, each one transfer and one addition), and what an
    epoch costs on the cluster beyond that (``overhead``: one worker's epoch
    less one machine's, which is scheduling, the copies and the mixing),
    plus a millisecond of the scheduler's time for each of the epoch's 2W
    tasks (the order of Dask's per-task overhead). The model goes out as a
    tree too at best (each worker that has it sends it on), one by one from
    its holder at worst.
    """
    compute = local.epoch_seconds
    overhead = max(one.epoch_seconds - compute, 0.0)
    rows = []
    for w in workers:
        levels = int(np.ceil(np.log2(w)))
        hop = model_bytes / BANDWIDTH
        fixed = compute / w + overhead + 2 * w * TASK_SECONDS
        best = fixed + 2 * levels * hop
        worst = fixed + levels * hop + (w - 1) * hop
        rows.append((w, compute / w, best, worst, (w - 1) * 2 * model_bytes))
    return overhead, rows


def print_projection(task, local, one, two, model_bytes):
    overhead, rows = projection(local, one, two, model_bytes)
    print(f"  on paper ({_mb(model_bytes)} a model, {BANDWIDTH / 1e9:g} GB/s, "
          f"{overhead:.3f} s overhead an epoch):")  # fmt: skip
    header = ("workers", "compute s", "epoch s, tree", "epoch s, serial",
              "speed-up", "bytes/epoch")  # fmt: skip
    widths = (7, 10, 14, 16, 9, 12)
    print("  " + " ".join(f"{h:>{w}s}" for h, w in zip(header, widths)))
    for w, compute, best, worst, sent in rows:
        print(f"  {w:7d} {compute:10.3f} {best:14.3f} {worst:16.3f} "
              f"{local.epoch_seconds / best:8.1f}x {_mb(sent):>12s}")  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data")
    args = parser.parse_args(argv)
    results = []
    for task in tasks(args.quick):
        print(f"[{task.name}] one machine", file=sys.stderr, flush=True)
        local, x_bytes = local_fit(task)
        fits = []
        for n_workers, combine in ((1, "sum"), (2, "sum"), (2, "average")):
            print(f"[{task.name}] {n_workers} workers, {combine}", file=sys.stderr,
                  flush=True)  # fmt: skip
            fits.append(dask_fit(task, n_workers, combine)[1])
        results.append((task, local, fits, report(task, local, x_bytes, fits)))
        # What travels per transfer: the model's state, measured as the
        # 2-worker fit's bytes per epoch over its 2 transfers (start model
        # out, contribution back).
        print_projection(task, local, fits[0], fits[1], fits[1].sent_bytes / 2)
    return results


if __name__ == "__main__":
    main()
