"""One pass of partial_fit over hashed Debian text, in chunks of three sizes.

``python -m benchmarks.chunks [--sizes N ...] [--repeats N] [--quick]``

The 53-class Debian task (``debian_task("multiclass")``): 20% of the
documents held out (stratified, shuffled with a fixed seed), the rest hashed
by ``HashingVectorizer(n_features=2**18, alternate_sign=False)`` in a fixed
shuffled order. For each chunk size, a new ``SGDLogisticRegression`` and a new
``SGDClassifier(loss="log_loss")`` (both ``alpha=1e-6``) take one pass of
``partial_fit`` calls over the same chunks, on one thread. Reported: the
median seconds of the pass over ``--repeats`` passes (only the
``partial_fit`` calls are timed; the chunks are sliced beforehand), the ratio
of SGDClassifier's seconds to ours, and the held-out log-loss after the pass.
"""

import argparse
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_task

from .report import format_table
from .targets import Check, pass_or_miss

N_FEATURES = 2**18
ALPHA = 1e-6
CHUNK_SIZES = (100, 1_000, 10_000)
#: A pass in chunks of 1,000 may take at most this many times the pass in
#: chunks of 10,000.
SMALL_CHUNK_SLOWDOWN = 1.5
LEARNERS = {
    "SGDLogisticRegression": lambda: SGDLogisticRegression(alpha=ALPHA, random_state=0),
    "SGDClassifier": lambda: SGDClassifier(
        loss="log_loss", alpha=ALPHA, random_state=0
    ),
}


@dataclass
class ChunkPasses:
    """Seconds and held-out log-loss of one pass, per learner and chunk size."""

    n_train: int
    n_test: int
    n_classes: int
    repeats: int
    prior_log_loss: float
    seconds: dict = field(default_factory=dict)
    log_loss: dict = field(default_factory=dict)
    checks: list = field(default_factory=list)
    text: str = ""

    @property
    def sizes(self):
        return sorted({size for _, size in self.seconds})


def hashed_debian(n_documents=None, random_state=0):
    """The shuffled, hashed training part and held-out part of the task.

    Parameters
    ----------
    n_documents : int or None, default=None
        Keep a stratified random subset of this many documents first, for
        quick runs; None keeps them all.
    random_state : int, default=0
        Seeds the shuffle and the split.

    Returns
    -------
    X_train, X_test : csr_matrix of shape (n, 2**18)
    y_train, y_test : ndarray
    classes : ndarray
        Every section of the task, for ``partial_fit``'s first call.
    """
    texts, y = debian_task("multiclass")
    classes = np.unique(y)
    if n_documents is not None:
        texts, _, y, _ = train_test_split(
            texts, y, train_size=n_documents, stratify=y, random_state=random_state
        )
    # Both parts come out shuffled: the corpus file is sorted by package
    # name, which groups related packages.
    texts_train, texts_test, y_train, y_test = train_test_split(
        texts, y, test_size=0.2, stratify=y, random_state=random_state
    )
    vectorizer = HashingVectorizer(n_features=N_FEATURES, alternate_sign=False)
    return (
        vectorizer.transform(texts_train),
        vectorizer.transform(texts_test),
        y_train,
        y_test,
        classes,
    )


def one_pass(make, chunks, classes):
    """Seconds of ``partial_fit`` over ``chunks`` by a new model, and the model."""
    model = make()
    seconds = 0.0
    for X, y in chunks:
        tic = time.perf_counter()
        model.partial_fit(X, y, classes=classes)
        seconds += time.perf_counter() - tic
    return seconds, model


def run_chunks(sizes=CHUNK_SIZES, repeats=3, n_documents=None, log=None):
    """Time one pass per learner and chunk size; score it on the held-out part.

    Parameters
    ----------
    sizes : sequence of int, default=(100, 1_000, 10_000)
    repeats : int, default=3
        Passes per learner and size; the median is reported.
    n_documents : int or None, default=None
        See :func:`hashed_debian`.
    log : callable or None, default=None
        Called with progress messages; None prints them to stderr.

    Returns
    -------
    result : ChunkPasses
    """
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    X, X_test, y, y_test, classes = hashed_debian(n_documents)
    frequencies = (y[:, None] == classes).mean(axis=0)
    prior = log_loss(y_test, np.tile(frequencies, (y_test.size, 1)), labels=classes)
    result = ChunkPasses(X.shape[0], X_test.shape[0], classes.size, repeats, prior)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for size in sizes:
            chunks = [
                (X[start : start + size], y[start : start + size])
                for start in range(0, X.shape[0], size)
            ]
            for name, make in LEARNERS.items():
                times = []
                for _ in range(repeats):
                    seconds, model = one_pass(make, chunks, classes)
                    times.append(seconds)
                result.seconds[name, size] = statistics.median(times)
                result.log_loss[name, size] = log_loss(
                    y_test, model.predict_proba(X_test), labels=classes
                )
                log(f"chunks of {size}: {name} {result.seconds[name, size]:.2f} s")
    result.checks = chunk_checks(result)
    return result


def chunk_checks(result):
    """The issue's target: chunks of 1,000 cost at most 1.5 times chunks of
    10,000, and ours is faster than SGDClassifier at both sizes.

    Parameters
    ----------
    result : ChunkPasses

    Returns
    -------
    checks : list of Check
        Only those whose sizes were run.
    """
    ours, theirs = LEARNERS
    small, large = 1_000, 10_000
    checks = []
    if {small, large} <= set(result.sizes):
        checks.append(Check(
            "chunks", f"ours: seconds in chunks of {small:,} / of {large:,}",
            result.seconds[ours, small] / result.seconds[ours, large],
            SMALL_CHUNK_SLOWDOWN, "x",
        ))  # fmt: skip
    for size in (small, large):
        if size in result.sizes:
            checks.append(Check(
                "chunks", f"chunks of {size:,}: SGDClassifier seconds / ours",
                result.seconds[theirs, size] / result.seconds[ours, size], 1.0, "x",
                higher_is_better=True,
            ))  # fmt: skip
    return checks


COLUMNS = [
    "chunk size",
    "calls",
    "ours s",
    "SGDClassifier s",
    "ratio",
    "ours log-loss",
    "SGDClassifier log-loss",
]


def chunks_text(result):
    """The table and the targets."""
    ours, theirs = LEARNERS
    header = (
        f"== one pass of partial_fit, debian multiclass: {result.n_train:,} "
        f"training documents hashed to 2**{N_FEATURES.bit_length() - 1} "
        f"features, {result.n_classes} classes, alpha={ALPHA:g}, one thread; "
        f"median of {result.repeats} passes\n"
        f"   log-loss on {result.n_test:,} held-out documents (the training "
        f"class frequencies: {result.prior_log_loss:.4f})"
    )
    cells = [
        [
            f"{size:,}",
            f"{-(-result.n_train // size):,}",
            f"{result.seconds[ours, size]:.2f}",
            f"{result.seconds[theirs, size]:.2f}",
            f"{result.seconds[theirs, size] / result.seconds[ours, size]:.2f}x",
            f"{result.log_loss[ours, size]:.4f}",
            f"{result.log_loss[theirs, size]:.4f}",
        ]
        for size in result.sizes
    ]
    targets = [
        f"target {check.target}: {pass_or_miss(check)}" for check in result.checks
    ]
    return "\n".join([header, format_table(COLUMNS, cells), "", *targets])


def main(argv=None):
    global ALPHA  # read by LEARNERS and the report
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.chunks", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=list(CHUNK_SIZES),
        help="documents per chunk (default 100 1000 10000)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="passes per learner and size, median reported (default 3; 1 with --quick)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 6,000 documents, 1 pass each"
    )
    parser.add_argument(
        "--alpha", type=float, default=ALPHA, help=f"both learners' (default {ALPHA:g})"
    )
    args = parser.parse_args(argv)
    ALPHA = args.alpha
    repeats = args.repeats or (1 if args.quick else 3)
    result = run_chunks(args.sizes, repeats, 6_000 if args.quick else None)
    result.text = chunks_text(result)
    print(result.text)
    return result


if __name__ == "__main__":
    main()
