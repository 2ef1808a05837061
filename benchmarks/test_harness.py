"""The benchmark harness: its checks and a smoke run of ``python -m benchmarks``.

Not part of the package's tests (they must run against an installed wheel,
without this folder); run from the repository root with
``python -m pytest benchmarks``.
"""

import re

import pytest

from benchmarks import chunks, dask_wrappers, outofcore
from benchmarks.report import DEBIAN_COLUMNS
from benchmarks.run import main
from benchmarks.targets import Check, log_log_slope
from sklearn_sgdlogreg import SGDLogisticRegression


def test_check_reports_how_far_a_missed_bound_is():
    missed = Check("3", "epoch / floor", 5.0, 2.0, "x")
    assert not missed.holds
    assert "off by a factor 2.5" in missed.describe()
    held = Check("1", "speed-up", 4.0, 3.0, "x", higher_is_better=True)
    assert held.holds and held.describe().startswith("[holds]")
    assert log_log_slope([1, 10, 100], [3, 30, 300]) == pytest.approx(1.0)


def test_quick_benchmark_prints_every_row_and_target(tmp_path, capsys):
    results = main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out

    assert set(results.debian) == {"multiclass", "binary"}
    for workload in results.debian.values():
        names = [row.name for row in workload.rows]
        default_batch_size = SGDLogisticRegression().batch_size
        assert names[0] == f"SGDLogReg b={default_batch_size} (default)"
        assert {
            "SGDClassifier log_loss",
            "LogisticRegression saga",
            "LogisticRegression lbfgs",
        } <= set(names)
        assert "SGDLogReg b=1" in names and "SGDLogReg b=1024" in names
        assert any(name.startswith("SGDLogReg b=n ") for name in names)
        for row in workload.rows:
            assert row.epochs >= 1 and row.fit_seconds > 0
            assert 0 < row.accuracy <= 1 and row.log_loss > 0
            assert row.peak_bytes > 0 and len(row.curve) >= 1
    headers = [
        re.split(r"\s{2,}", line.strip())
        for line in out.splitlines()
        if line.startswith("method ")
    ]
    assert headers == [DEBIAN_COLUMNS, DEBIAN_COLUMNS]
    for workload in results.debian.values():
        table = out.split(f"== {workload.name}:")[1].split("\n\n")[0]
        # Two header lines, the column names, the rule, then one line per row.
        body = table.splitlines()[4:]
        assert len(body) == len(workload.rows)
        for line, row in zip(body, workload.rows, strict=True):
            assert line.startswith(row.name + " ")
    assert "ns/(K nnz)" in out and "held MB" in out
    assert {check.target for check in results.checks} == {
        "1", "2", "3", "4", "5", "T1", "T2", "T3", "T4",
    }  # fmt: skip
    assert [sweep.task for sweep in results.alphas] == ["multiclass", "binary"]
    for sweep in results.alphas:
        assert sweep.alphas == (1e-4, 1e-6)
        methods = {name for _, name in sweep.rows}
        assert {"ours, 1 thread", "ours, all cores", "saga"} <= methods
        assert len(sweep.rows) == len(sweep.alphas) * len(methods)
        assert set(sweep.tuning) == {"ours", "sgdclassifier"}
        assert sweep.tuning["ours"]["best_alpha"] in sweep.alphas
        assert f"== alpha sweep, {sweep.task}:" in out
    assert out.count("target ") == len(results.checks)
    assert {row.sweep for row in results.sweeps} == {
        "n_samples",
        "nnz/row",
        "n_classes",
    }
    assert len(results.stream.retained_bytes) == 5

    assert (tmp_path / "results.txt").read_text().strip() == results.text
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert results.plot is None and "no plot written" in out
    else:
        assert results.plot == tmp_path / "logloss_vs_seconds.png"
        assert results.plot.stat().st_size > 10_000


def _wrapper_rows(ours, not_averaged, theirs):
    def row(seconds):
        return {"seconds": seconds, "compute": seconds / 2, "transfer": 0.1,
                "moves": 3, "all_seconds": [seconds], "log_loss": 1.0,
                "accuracy": 0.5, "pickle_mb": 10.0, "dumps_s": 0.1,
                "loads_s": 0.1}  # fmt: skip

    return {
        dask_wrappers.OURS: row(ours),
        dask_wrappers.NOT_AVERAGED: row(not_averaged),
        dask_wrappers.THEIRS: row(theirs),
    }


@pytest.mark.parametrize("ours, verdict", [(1.0, "PASS"), (3.0, "MISS")])
def test_dask_wrappers_report_judges_the_default_against_sgdclassifier(
    ours, verdict
):
    params = {"documents": 100, "chunk": 10, "classes": 3, "features": 8,
              "alpha": 1e-6, "repeats": 1}  # fmt: skip
    rows = _wrapper_rows(ours, not_averaged=0.5, theirs=2.0)
    lines = dask_wrappers.report(rows, rows, params)
    assert lines[-1] == f"{verdict} (the default): {dask_wrappers.TARGET}"
    assert f"over SGDLogisticRegression's: {2.0 / ours:.2f}x" in "\n".join(lines)
    assert sum(line.startswith("| SGD") for line in lines) == 6


def test_dask_wrappers_quick_run(capsys):
    pytest.importorskip("distributed")
    pytest.importorskip("dask_ml")
    dask_wrappers.main(["--quick", "--repeats", "1"])
    out = capsys.readouterr().out
    assert out.count("| SGDLogisticRegression |") == 2
    assert out.splitlines()[-1].endswith(dask_wrappers.TARGET)


def test_quick_outofcore_scores_every_tenth_and_checks_the_targets(capsys):
    result = outofcore.main(["--quick"])
    out = capsys.readouterr().out

    assert result.n_chunks == 10 and result.seen == [10_000 * k for k in range(1, 11)]
    throughput = out.split("\n\n")[0].splitlines()[4:]
    assert [line.split("  ")[0] for line in throughput] == [
        "draw the text",
        "hash (HashingVectorizer)",
        *(
            f"partial_fit, {t}: {n}"
            for t in outofcore.TASKS
            for n in outofcore.LEARNERS
        ),
    ]
    table = out.split("after each tenth of the stream:\n")[1].split("\n\n")[0]
    # The column names, the rule, ten tenths, class frequencies, planted model.
    body = table.splitlines()[2:]
    assert len(body) == 12
    assert [line.split()[0] for line in body[:10]] == [f"{n:,}" for n in result.seen]
    for (task, name), losses in result.log_loss.items():
        assert len(losses) == 10
        # No model learnt from the stream beats the one that drew its labels.
        assert min(losses) > result.planted_log_loss[task]
        if name == "SGDLogisticRegression":
            assert losses[-1] < losses[0]
            assert losses[-1] < 0.8 * result.prior_log_loss[task]
    assert sorted(result.resident) == [2, 10]
    assert all(nbytes > 0 for nbytes in result.resident.values())
    assert [check.target for check in result.checks] == ["memory", "speed", "speed"]
    printed = [line for line in out.splitlines() if line.startswith("target ")]
    assert len(printed) == len(result.checks)
    for line, check in zip(printed, result.checks, strict=True):
        status = "PASS" if check.holds else "MISS"
        assert line.startswith(f"target {check.target}: {status} {check.what}: ")


def test_quick_chunks_times_every_size_for_both_learners(capsys):
    result = chunks.main(["--quick"])
    out = capsys.readouterr().out

    assert result.sizes == list(chunks.CHUNK_SIZES)
    assert set(result.seconds) == {
        (name, size) for name in chunks.LEARNERS for size in chunks.CHUNK_SIZES
    }
    assert all(seconds > 0 for seconds in result.seconds.values())
    body = out.split("\n\n")[0].splitlines()[4:]
    assert [line.split()[:2] for line in body] == [
        [f"{size:,}", f"{-(-result.n_train // size):,}"] for size in result.sizes
    ]
    for size in result.sizes:
        assert result.log_loss["SGDLogisticRegression", size] < result.prior_log_loss
    assert len(result.checks) == 3 and out.count("target chunks: ") == 3


def test_dask_fit_projection_adds_compute_overhead_and_transfers():
    from benchmarks.dask_fit import BANDWIDTH, TASK_SECONDS, Fit, projection

    local = Fit("one machine", 5, 4.0, 0.0, 0.3, 0)
    one = Fit("1 worker", 5, 4.5, 0.0, 0.3, 10)
    overhead, rows = projection(local, one, one, model_bytes=1.25e8, workers=(8,))
    assert overhead == pytest.approx(0.5)
    w, compute, tree, serial, sent = rows[0]
    hop = 1.25e8 / BANDWIDTH  # 0.1 s a transfer
    assert (w, compute) == (8, 0.5)
    # 3 levels out and 3 back at best; 3 back and 7 sends out at worst.
    assert tree == pytest.approx(0.5 + 0.5 + 16 * TASK_SECONDS + 6 * hop)
    assert serial == pytest.approx(0.5 + 0.5 + 16 * TASK_SECONDS + 10 * hop)
    assert sent == 7 * 2 * 1.25e8
