"""Text tables for stdout and the log-loss-against-seconds plot."""

MB = 1e6


def format_table(headers, rows):
    """Columns right-aligned to their widest cell, the first left-aligned.

    Parameters
    ----------
    headers : list of str
    rows : list of list of str

    Returns
    -------
    text : str
    """
    columns = zip(headers, *rows, strict=True)
    widths = [max(len(str(cell)) for cell in column) for column in columns]

    def line(cells):
        first = str(cells[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]),
                      *map(line, rows)])


DEBIAN_COLUMNS = ["method", "fit s", "epochs", "s/epoch", "x floor", "accuracy",
                  "log-loss", "peak MB"]


def debian_table(workload):
    """The table of one Debian workload, with its header lines."""
    K = workload.n_outputs
    lines = [
        (f"== {workload.name}: {workload.n_train} train / {workload.n_test} test "
         f"documents, {workload.n_features} features, nnz {workload.nnz}, "
         f"{workload.n_classes} classes (K={K})"),
        (f"   size(X) {workload.x_bytes / MB:.1f} MB, size(W) "
         f"{workload.w_bytes / MB:.2f} MB, one pass X @ W + X.T @ R "
         f"(the floor): {workload.floor_seconds:.4f} s"),
    ]
    rows = []
    for row in workload.rows:
        rows.append([
            row.name,
            f"{row.fit_seconds:.2f}",
            str(row.epochs),
            f"{row.epoch_seconds:.4f}",
            f"{row.epoch_seconds / workload.floor_seconds:.1f}",
            f"{row.accuracy:.4f}",
            f"{row.log_loss:.4f}",
            f"{row.peak_bytes / MB:.1f}" + ("*" if row.memory_capped else ""),
        ])
    lines.append(format_table(DEBIAN_COLUMNS, rows))
    return "\n".join(lines)


SWEEP_COLUMNS = ["sweep", "n_samples", "nnz/row", "classes", "K", "n_features",
                 "nnz", "s/epoch", "ns/nnz", "ns/(K nnz)", "x floor", "peak MB",
                 "size(X) MB", "size(W) MB"]


def sweep_table(rows):
    """The scaling table of the synthetic sweeps."""
    cells = []
    for row in rows:
        per_nnz = row.epoch_seconds / row.nnz * 1e9
        cells.append([
            row.sweep,
            str(row.n_samples),
            f"{row.nnz / row.n_samples:.1f}",
            str(row.n_classes),
            str(row.n_outputs),
            f"2**{row.n_features.bit_length() - 1}",
            str(row.nnz),
            f"{row.epoch_seconds:.4f}",
            f"{per_nnz:.1f}",
            f"{per_nnz / row.n_outputs:.2f}",
            f"{row.epoch_seconds / row.floor_seconds:.1f}",
            f"{row.peak_bytes / MB:.1f}",
            f"{row.x_bytes / MB:.1f}",
            f"{row.w_bytes / MB:.2f}",
        ])
    return format_table(SWEEP_COLUMNS, cells)


def stream_table(stream):
    """Seconds and memory of some of the stream's partial_fit calls."""
    n_chunks = len(stream.seconds)
    shown = sorted({i for i in (1, 2, 3, 5, 10, 20, 30, 40) if i <= n_chunks}
                   | {n_chunks // 2, n_chunks})
    cells = [
        [str(i), str(min(i * stream.chunk_size, stream.n_samples)),
         f"{stream.seconds[i - 1]:.3f}", f"{stream.peak_bytes[i - 1] / MB:.1f}",
         f"{stream.retained_bytes[i - 1] / MB:.2f}"]
        for i in shown if i >= 1
    ]
    header = (
        f"== partial_fit stream: {stream.n_samples} documents in chunks of "
        f"{stream.chunk_size}, 2**{stream.n_features.bit_length() - 1} features, "
        "binary\n"
        f"   size(chunk) {stream.chunk_x_bytes / MB:.1f} MB, size(W) "
        f"{stream.w_bytes / MB:.2f} MB, batch {stream.batch_bytes / MB:.2f} MB; "
        f"held-out log-loss {stream.log_loss:.4f} "
        f"(planted model: {stream.planted_log_loss:.4f})"
    )
    table = format_table(["chunk", "docs seen", "seconds", "peak MB", "held MB"],
                         cells)
    return f"{header}\n{table}"


def checks_text(checks):
    """One line per check, grouped by target number."""
    return "\n".join(f"target {check.target} {check.describe()}" for check in checks)


def plot_curves(workloads, path):
    """Held-out log-loss against fit seconds, one panel per workload.

    Parameters
    ----------
    workloads : list of Workload
    path : pathlib.Path
        Where to write the PNG.

    Returns
    -------
    written : bool
        False when matplotlib is not installed (nothing is written).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return False
    # A bare Figure never touches pyplot's global backend state.
    fig = Figure(figsize=(7 * len(workloads), 5), layout="constrained")
    axes = fig.subplots(1, len(workloads), squeeze=False)[0]
    # One colour per method across the panels, whichever rows each panel has.
    names = list(dict.fromkeys(row.name for w in workloads for row in w.rows))
    colours = {name: f"C{i % 10}" for i, name in enumerate(names)}
    for ax, workload in zip(axes, workloads, strict=True):
        optimum = min(r.log_loss for r in workload.rows if r.role == "logreg")
        for row in workload.rows:
            seconds, losses = zip(*row.curve, strict=True)
            ax.plot(seconds, losses, marker="o", markersize=3, label=row.name,
                    color=colours[row.name])
        ax.axhline(optimum, color="grey", linestyle="--", linewidth=1,
                   label="LogisticRegression optimum")
        ax.set_xscale("log")
        # Early stopping can end below the optimum's held-out loss; far above
        # it only the first epochs of slow methods, which would flatten the rest.
        lowest = min(loss for row in workload.rows for _, loss in row.curve)
        ax.set_ylim(min(lowest, optimum) - 0.01 * optimum, 1.2 * optimum)
        ax.set_xlabel("fit seconds (cumulative over epochs)")
        ax.set_ylabel("held-out log-loss")
        ax.set_title(f"{workload.name} (n_train={workload.n_train})")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return True


ALPHA_COLUMNS = ["alpha", "method", "fit s", "epochs", "s/epoch", "x floor",
                 "accuracy", "log-loss"]


def alpha_table(sweep):
    """The alpha sweep of one task, and its two grid searches."""
    lines = [(
        f"== alpha sweep, {sweep.task}: {sweep.n_train} training documents; "
        f"all cores = {sweep.n_threads} threads; one-thread floor "
        f"{sweep.floor_seconds:.4f} s"
    )]
    from .sweep import SAGA, SAGA_MAX_ITER

    cells = []
    for (alpha, name), row in sweep.rows.items():
        capped = name == SAGA and row["epochs"] >= SAGA_MAX_ITER
        cells.append([
            f"{alpha:g}", name, f"{row['seconds']:.2f}",
            str(row["epochs"]) + ("*" if capped else ""),
            f"{row['per_epoch']:.4f}", f"{row['per_epoch'] / sweep.floor_seconds:.1f}",
            f"{row['accuracy']:.4f}", f"{row['log_loss']:.4f}",
        ])
    lines.append(format_table(ALPHA_COLUMNS, cells))
    lines.append(
        f"* saga stopped at max_iter={SAGA_MAX_ITER} before its tol: its "
        "log-loss there is not yet the optimum's"
    )
    for who, result in sweep.tuning.items():
        lines.append(
            f"GridSearchCV(alpha in {list(sweep.alphas)}, cv=3, neg_log_loss), "
            f"{who}: {result['seconds']:.1f} s, best alpha {result['best_alpha']:g}, "
            f"held-out log-loss {result['log_loss']:.4f}"
        )
    return "\n".join(lines)


def plot_alpha_panels(sweeps, path):
    """Held-out log-loss against fit seconds, one panel per task and alpha.

    Returns False when matplotlib is not installed (nothing is written).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return False
    n_alphas = max(len(s.alphas) for s in sweeps)
    fig = Figure(figsize=(4 * n_alphas, 3.6 * len(sweeps)), layout="constrained")
    axes = fig.subplots(len(sweeps), n_alphas, squeeze=False)
    names = list(dict.fromkeys(name for s in sweeps for _, name in s.rows))
    colours = {name: f"C{i % 10}" for i, name in enumerate(names)}
    for ax_row, sweep in zip(axes, sweeps, strict=True):
        for ax, alpha in zip(ax_row, sweep.alphas, strict=False):
            for (a, name), row in sweep.rows.items():
                if a == alpha:
                    ax.scatter(row["seconds"], row["log_loss"], label=name,
                               color=colours[name])
            ax.set_xscale("log")
            ax.set_title(f"{sweep.task}, alpha={alpha:g}")
            ax.set_xlabel("fit seconds")
            ax.set_ylabel("held-out log-loss")
            ax.grid(True, which="both", alpha=0.3)
        ax_row[0].legend(fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return True
