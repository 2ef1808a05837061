"""The command line: run the workloads, print the tables and targets, plot."""

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .debian import run_debian
from .report import (
    alpha_table,
    checks_text,
    debian_table,
    plot_alpha_panels,
    plot_curves,
    stream_table,
    sweep_table,
)
from .scaling import SWEEP_EPOCHS, run_stream, run_sweeps
from .sweep import ALPHAS, SAGA_MAX_ITER, run_alpha_sweep
from .targets import alpha_checks, debian_checks, scaling_checks, stream_checks

DEFAULT_OUT = Path(__file__).parent / "results"
WORKLOADS = ("multiclass", "binary", "scaling", "stream", "alphas")
PLOT_NAME = "logloss_vs_seconds.png"
ALPHA_PLOT_NAME = "logloss_vs_seconds_by_alpha.png"
TABLE_NAME = "results.txt"


@dataclass
class Results:
    """What one run measured, for callers that want more than the text."""

    debian: dict = field(default_factory=dict)
    sweeps: list = field(default_factory=list)
    alphas: list = field(default_factory=list)
    stream: object = None
    checks: list = field(default_factory=list)
    text: str = ""
    plot: Path | None = None
    seconds: float = 0.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=(
            "Benchmark SGDLogisticRegression against SGDClassifier and "
            "LogisticRegression on the Debian corpus and synthetic text; print "
            "a table and the targets' status, write a log-loss/seconds plot."
        ),
    )
    parser.add_argument("--quick", action="store_true",
                        help="small subsets and 1 repeat: a smoke run of seconds")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"folder for {PLOT_NAME} and {TABLE_NAME} "
                             "(default: benchmarks/results/)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed fits per row, median reported (default 3; "
                             "1 with --quick)")
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS,
                        default=list(WORKLOADS), metavar="NAME",
                        help=f"which to run, of {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--alpha", type=float, default=1e-4,
                        help="regularisation shared by every method (default 1e-4)")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    return args


def _progress_log(start):
    """A logger that stamps stderr lines with the seconds since ``start``."""

    def log(message):
        print(f"{time.perf_counter() - start:5.0f} s  {message}", file=sys.stderr,
              flush=True)

    return log


def main(argv=None):
    """Run the benchmark; print the report to stdout.

    Parameters
    ----------
    argv : list of str or None, default=None
        Command-line arguments; None reads ``sys.argv``.

    Returns
    -------
    results : Results
    """
    args = parse_args(argv)
    tic = time.perf_counter()
    log = _progress_log(tic)
    results = Results()
    n_documents = 4_000 if args.quick else None
    for task in ("multiclass", "binary"):
        if task in args.workloads:
            results.debian[task] = run_debian(
                task, repeats=args.repeats, n_documents=n_documents,
                alpha=args.alpha, log=log,
                # A smoke run: L-BFGS's per-iteration cost does not shrink
                # with the subset, and its optimum is not needed.
                logreg_max_iter=8 if args.quick else 1000,
            )
    if "alphas" in args.workloads:
        results.alphas = [
            run_alpha_sweep(
                task, ALPHAS[::2] if args.quick else ALPHAS,
                saga_max_iter=20 if args.quick else SAGA_MAX_ITER,
                n_documents=n_documents, log=log,
            )
            for task in ("multiclass", "binary")
        ]  # fmt: skip
    if "scaling" in args.workloads:
        results.sweeps = run_sweeps(repeats=args.repeats, quick=args.quick, log=log)
    if "stream" in args.workloads:
        results.stream = (
            run_stream(50_000, chunk_size=10_000, n_features=2**18, log=log)
            if args.quick else run_stream(log=log)
        )

    results.checks = debian_checks(results.debian.get("multiclass"),
                                   results.debian.get("binary"))
    if results.stream is not None:
        results.checks += stream_checks(results.stream)
    results.checks += scaling_checks(results.sweeps)
    results.checks += alpha_checks(results.alphas)
    results.seconds = time.perf_counter() - tic

    sections = [debian_table(w) for w in results.debian.values()]
    if results.debian:
        sections.append(
            f"fit s: median of {args.repeats} fit(s); epochs: n_iter_ (iterations "
            "for LogisticRegression, the longest one-vs-rest problem for "
            "SGDClassifier); x floor: s/epoch over the one-pass floor; peak MB: "
            "tracemalloc peak of one untimed fit, * = that fit capped at "
            "max_iter=2 (12 for lbfgs)."
        )
    if results.sweeps:
        sections.append(
            f"== synthetic scaling: default SGDLogisticRegression, {SWEEP_EPOCHS} "
            f"epochs per fit, median of {args.repeats}; peak MB of a 1-epoch fit\n"
            + sweep_table(results.sweeps)
        )
    if results.stream is not None:
        sections.append(stream_table(results.stream))
    sections += [alpha_table(sweep) for sweep in results.alphas]
    if results.checks:
        sections.append("== targets\n" + checks_text(results.checks))
    if results.debian:
        path = args.out / PLOT_NAME
        if plot_curves(list(results.debian.values()), path):
            results.plot = path
            sections.append(f"plot written to {path}")
        else:
            sections.append("matplotlib is not installed: no plot written "
                            "(pip install matplotlib, or the [plot] extra).")
    if results.alphas and plot_alpha_panels(results.alphas, args.out / ALPHA_PLOT_NAME):
        sections.append(f"plot written to {args.out / ALPHA_PLOT_NAME}")
    sections.append(f"wall time {results.seconds:.0f} s")
    results.text = "\n\n".join(sections)
    print(results.text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / TABLE_NAME).write_text(results.text + "\n")
    return results
