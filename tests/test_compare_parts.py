"""The parts of `saevdb compare` that need no engine: RAM to provision, the frontier, option grids,
per-mapping memory readings of a real process, and the CLI's refusals."""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

from saevdb.adapters.memory import ROLES, ProcessMemory, read_memory
from saevdb.adapters.options import SearchSetting, rescore_sweep
from saevdb.adapters.registry import ENGINES
from saevdb.cli import main as saevdb
from saevdb.compare.frontier import cheapest, on_frontier, summary
from saevdb.compare.plan import saevdb_builds
from saevdb.compare.provision import provisioned
from saevdb.sae_core import SAEConfig, SparseAutoencoder


def row(method, recall, ram, family="built-in", status="ok", **extra):
    base = {"backend": "e", "method": method, "setting": "s", "family": family, "status": status}
    return {
        **base,
        "recall_at_10": recall,
        "ram_bytes_per_vector": ram,
        "originals_read_per_query": 0,
        "qps": 1.0,
        **extra,
    }


def test_frontier_keeps_undominated_rows_by_ram():
    rows = [
        row("a", 0.80, 100),
        row("b", 0.90, 200),
        row("c", 0.85, 250),
        row("d", 0.99, 900),
        row("x", 1.0, 1, status="failed"),
    ]
    assert [r["method"] for r in on_frontier(rows, "e")] == ["a", "b", "d"]


def test_cheapest_per_target_and_family():
    rows = [row("a", 0.91, 300), row("s", 0.96, 150, family="saevdb"), row("b", 0.97, 120)]
    assert cheapest(rows, "e", 0.95)["method"] == "b"
    assert cheapest(rows, "e", 0.95, "saevdb")["method"] == "s"
    assert cheapest(rows, "e", 0.999) is None
    out = summary(rows, "e")
    assert out["targets"]["0.95"]["built-in"]["option"] == "b, s"
    assert out["targets"]["0.90"]["any"]["ram_bytes_per_vector"] == 120


def test_provisioned_counts_originals_only_when_searched_and_query_memory_apart():
    empty = ProcessMemory(anonymous_bytes=1000)
    files = dict.fromkeys(ROLES, 0) | {"sparse": 300, "graph": 200, "vectors": 4000, "ids": 100, "wal": 9999}
    reading = ProcessMemory(anonymous_bytes=1900, file_bytes=files)
    loaded = ProcessMemory(anonymous_bytes=1400, file_bytes=dict.fromkeys(ROLES, 0))
    rescoring = provisioned(reading, loaded, empty, 10, originals_searched=False)
    assert rescoring["ram_bytes_per_vector"] == (400 + 300 + 200 + 100) / 10
    assert rescoring["originals_ram_bytes_per_vector"] == 400
    assert rescoring["query_anonymous_bytes_per_vector"] == 50  # grown during the queries: apart
    searching = provisioned(reading, loaded, empty, 10, originals_searched=True)
    assert searching["ram_bytes_per_vector"] == (400 + 300 + 200 + 100 + 4000) / 10
    assert searching["originals_ram_bytes_per_vector"] == 0


def test_rescore_sweep_and_originals_read():
    settings = rescore_sweep((2, 4), "oversampling", "rescore", {"hnsw_ef": 128})
    assert [s.label for s in settings] == ["no rescore", "oversampling 2, rescore", "oversampling 4, rescore"]
    assert settings[0].params == {"hnsw_ef": 128, "rescore": False}
    assert settings[2].params == {"hnsw_ef": 128, "oversampling": 4, "rescore": True}
    assert [s.originals_read(10) for s in settings] == [0, 20, 40]
    assert SearchSetting("x", rescore=False, originals_per_result=4).originals_read(10) == 0


@pytest.mark.parametrize("backend", sorted(ENGINES))
def test_the_two_stage_builds_keep_the_originals_where_the_engine_offers(backend):
    """Every engine's two-stage build keeps them in the collection; Qdrant Edge's once more in a flat
    float32 file beside the shard, a build of its own."""
    label, store = ENGINES[backend].originals_store
    model = SparseAutoencoder(SAEConfig(d=8, h=32, k=4))
    codes, *two_stage = saevdb_builds(model, (None,), 0, (50,), originals_store=(label, store))
    names = {b.method: b.options for b in two_stage}
    assert codes.options == {} and names.pop("saevdb codes h=32 k=4 + originals on disk") == {"originals": True}
    flat = {f"saevdb codes h=32 k=4 + originals on disk ({label})": {"originals": True, **store}}
    assert names == (flat if label else {})
    if backend == "qdrant":
        edge = pytest.importorskip("saevdb.adapters.qdrant.edge", reason="needs the [qdrant] extra")
        assert store == {"originals_file": "float32"}
        assert set(store) <= set(inspect.signature(edge.QdrantEdgeAdapter).parameters)


def test_every_engine_names_its_option_grid():
    for name, spec in ENGINES.items():
        assert spec.options and spec.version, name


def test_read_memory_splits_this_process(tmp_path):
    data = tmp_path / "vectors.npy"
    np.save(data, np.ones((4096, 256), np.float32))
    mapped = np.load(data, mmap_mode="r")
    assert float(mapped.sum()) == 4096 * 256  # touch every page
    reading = read_memory(os.getpid(), tmp_path, lambda path: "vectors")
    assert reading.file_bytes["vectors"] >= 4096 * 256 * 4 * 0.9
    assert reading.file_bytes["program"] > 0 and reading.anonymous_bytes > 0
    assert reading.file_bytes["vectors"] <= data.stat().st_size + 4096
    del mapped


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--depths", "100,x"], "--depths"),
        (["--depths", "0"], "--depths"),
        (["--methods", "float64 magic"], "--methods"),
        (["--precisions", "float64"], "--precisions"),
        (["--query-k", "128,wide"], "--query-k"),
        (["--query-k", "0"], "--query-k"),
        (["--setting-budget", "0"], "--setting-budget"),
    ],
)
def test_compare_refuses_bad_flags(tmp_path, capsys, flags, message):
    data = tmp_path / "x.npy"
    np.save(data, np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32))
    argv = ["compare", "--data", str(data), "--n", "20", "--queries", "5", "--backends", "qdrant", "--quiet"]
    assert saevdb([*argv, *flags]) == 2
    assert message in capsys.readouterr().err


def test_methods_flag_reads_names_that_hold_a_comma():
    """'binary 1-bit, 8-bit query' is one Qdrant method: naming it in the comma-separated list works."""
    from saevdb.cli.compare import _methods

    assert _methods("binary 1-bit, 8-bit query,TurboQuant 2-bit", ("qdrant",)) == (
        "binary 1-bit, 8-bit query",
        "TurboQuant 2-bit",
    )
    assert _methods("binary 1-bit,binary 1-bit, 8-bit query", ("qdrant",)) == (
        "binary 1-bit",
        "binary 1-bit, 8-bit query",
    )
    assert _methods("none", ("qdrant",)) == () and _methods("all", ("qdrant",)) is None


def test_query_k_flag_reads_widths_and_full():
    from saevdb.cli.compare import _query_ks

    assert _query_ks(None) == (None,) and _query_ks("128, 512,full") == (128, 512, None)
