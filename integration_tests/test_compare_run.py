"""`saevdb compare` end to end on real engines: the invocation the README shows, on a small .npy."""

from __future__ import annotations

import json

import numpy as np

from integration_tests.launchers import BACKENDS, skip_unless_runnable
from saevdb.cli import main as saevdb
from saevdb.sae_core.data import synthetic_clusters

REQUIRED = ("recall_at_10", "ram_bytes", "ram_bytes_per_vector", "qps", "p99_ms", "ingest_vectors_per_s")


def test_compare_writes_report_and_plot(tmp_path):
    for backend in BACKENDS:
        skip_unless_runnable(backend)
    data = tmp_path / "x.npy"
    np.save(data, synthetic_clusters(n=2500, d=32, clusters=25, noise=0.4, seed=5))
    report, plot = tmp_path / "report.json", tmp_path / "report.png"
    argv = f"compare --data {data} --n 2000 --queries 100 --backends {','.join(BACKENDS)} --json {report}"
    code = saevdb([*argv.split(), "--plot", str(plot), "--hidden", "256", "--k", "8", "--epochs", "3", "--quiet"])
    assert code == 0
    result = json.loads(report.read_text())
    assert result["n"] == 2000 and set(result["backends"]) == set(BACKENDS)
    assert result["config"]["query_k"] == 32  # the default 4k
    for backend in BACKENDS:
        row = result["backends"][backend]
        assert all(key in row for key in REQUIRED)
        assert set(row["modes"]) == {"sparse", "sparse+rerank", "dense"}
        assert row["modes"]["dense"]["recall_at_10"] > 0.9
        assert 0.2 < row["recall_at_10"] <= 1.0
    assert plot.stat().st_size > 10_000


def test_compare_takes_a_query_width(tmp_path):
    skip_unless_runnable("qdrant")
    data = tmp_path / "x.npy"
    np.save(data, synthetic_clusters(n=600, d=16, clusters=10, noise=0.4, seed=6))
    report = tmp_path / "report.json"
    argv = f"compare --data {data} --n 500 --queries 20 --backends qdrant --query-k 5 --json {report}"
    assert saevdb([*argv.split(), "--hidden", "64", "--k", "4", "--epochs", "1", "--quiet"]) == 0
    assert json.loads(report.read_text())["config"]["query_k"] == 5


def test_compare_refuses_bad_sizes(tmp_path, capsys):
    data = tmp_path / "x.npy"
    np.save(data, synthetic_clusters(n=100, d=8, seed=1))
    assert saevdb(["compare", "--data", str(data), "--n", "500", "--queries", "10", "--quiet"]) == 2
    assert "--n 500" in capsys.readouterr().err
