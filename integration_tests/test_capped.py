"""A build served under a memory cap in Qdrant Edge (`saevdb.compare.capped`): uncapped it answers
and the cgroup counts what the engine charged, files evicted first; under a cap the collection
cannot fit, the OOM kill marks its rows failed with the cap and the cgroup's last reading."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from integration_tests.launchers import skip_unless_runnable
from saevdb.adapters.cgroup import CgroupUnavailable, MemoryCgroup
from saevdb.cli import main as saevdb
from saevdb.compare.build import build_collection
from saevdb.compare.capped import MB, empty_engine_bytes, serve_capped
from saevdb.compare.plan import saevdb_builds
from saevdb.compare.truth import Truth
from saevdb.sae_core.data import synthetic_clusters


@pytest.fixture(scope="module")
def cgroups():
    """Qdrant Edge runnable here and a child memory cgroup makeable, else the test is skipped."""
    skip_unless_runnable("qdrant")
    try:
        MemoryCgroup.child("saevdb-probe").remove()
    except CgroupUnavailable as e:
        pytest.skip(f"no child memory cgroup here: {e}")


@pytest.fixture(scope="module")
def built(cgroups, model, vectors):
    folder = Path(tempfile.mkdtemp(prefix="saevdb-capped-"))
    build = next(b for b in saevdb_builds(model, (None,), 0, (50,), "float16") if b.options.get("originals"))
    build_collection("qdrant", build, vectors, folder / "build", 1000, False)
    yield build, folder, empty_engine_bytes("qdrant", folder / "empty")
    shutil.rmtree(folder, ignore_errors=True)


def test_uncapped_serving_counts_what_the_engine_charged(built, vectors):
    build, folder, empty = built
    queries = vectors[:64] + 0.01
    (row,) = serve_capped(
        "qdrant", build, folder / "build", vectors.shape[1], None, empty, queries, Truth.of(queries, vectors)
    )
    assert row["status"] == "ok" and row["recall_at_10"] > 0.5
    assert row["evicted_bytes"] > 0
    # The originals and postings were evicted before the load, so their pages are the cgroup's.
    assert row["loaded"]["cache_bytes"] > 0 and row["cgroup"]["oom_kills"] == 0
    assert row["read_bytes_per_query"] >= 0 and row["major_faults_per_query"] >= 0


def test_a_cap_the_collection_cannot_fit_fails_its_rows_with_the_cap(built, vectors):
    build, folder, empty = built
    queries = vectors[:8]
    cap = empty + 2 * MB
    (row,) = serve_capped(
        "qdrant", build, folder / "build", vectors.shape[1], cap, empty, queries, Truth.of(queries, vectors)
    )
    assert row["status"] == "failed"
    assert row["reason"] == f"OOM kill at cap {cap / MB:.0f} MB"
    assert row["cgroup"]["oom_kills"] == 1


def test_an_engine_that_does_not_answer_in_time_is_killed_and_its_rows_say_so(built, vectors):
    build, folder, empty = built
    queries = vectors[:8]
    truth = Truth.of(queries, vectors)
    (row,) = serve_capped(
        "qdrant", build, folder / "build", vectors.shape[1], None, empty, queries, truth, deadline_s=0.05
    )
    assert row["status"] == "failed"
    assert row["reason"].startswith("no answer within 0 s with no cap (thrashing)")


def _cap_argv(tmp_path, cap_mb: int) -> list[str]:
    data = tmp_path / "x.npy"
    np.save(data, synthetic_clusters(n=1200, d=32, clusters=12, noise=0.4, seed=5))
    argv = f"compare --data {data} --n 1000 --queries 50 --backends qdrant --json {tmp_path / 'r.json'}".split()
    argv += ["--hidden", "256", "--k", "8", "--epochs", "2", "--depths", "50", "--rerank", "0", "--quiet"]
    return argv + ["--methods", "scalar int8", "--precisions", "float16", "--memory-cap", str(cap_mb)]


def test_compare_serves_each_build_again_under_the_memory_cap(cgroups, tmp_path, capsys):
    assert saevdb(_cap_argv(tmp_path, 600)) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["memory_cap"] == {"cap_bytes": 600 * MB, "served": True, "reason": None}
    ok = [r for r in report["rows"] if r["status"] == "ok"]
    assert ok and all(r["capped"]["status"] == "ok" and r["capped"]["cgroup"]["oom_kills"] == 0 for r in ok)
    assert all(r["capped"]["recall_at_10"] == r["recall_at_10"] for r in ok)  # same data, same order
    assert "under a memory cap of 600 MB" in capsys.readouterr().out


def test_a_cap_below_the_empty_engine_is_refused_before_any_build(cgroups, tmp_path, capsys):
    assert saevdb(_cap_argv(tmp_path, 5)) == 2
    err = capsys.readouterr().err
    assert "memory cap 5 MB is below the" in err and "MB the empty qdrant engine needs" in err
    assert not (tmp_path / "r.json").exists()
