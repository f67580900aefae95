"""`saevdb compare` end to end on real engines: the invocation the README shows, on a small .npy."""

from __future__ import annotations

import json
import time

import numpy as np
import psutil

from integration_tests.launchers import BACKENDS, skip_unless_runnable
from saevdb.adapters.registry import engine_spec
from saevdb.cli import main as saevdb
from saevdb.compare.plan import Build, Setting, built_in_builds
from saevdb.compare.run import CompareConfig, compare_backend
from saevdb.compare.truth import Truth
from saevdb.sae_core.data import synthetic_clusters
from saevdb.sae_core.query import default_query_mode

REQUIRED = (
    "recall_at_10",
    "ram_bytes_per_vector",
    "originals_ram_bytes_per_vector",
    "disk_bytes_per_vector",
    "originals_read_per_query",
    "qps",
    "p99_ms",
    "ingest_vectors_per_s",
    "memory",
)


def two_stage_names(codes: str, backend: str) -> set[str]:
    """The two-stage builds' names: "+ originals on disk", and once more where the engine offers."""
    label = engine_spec(backend).originals_store[0]
    return {f"{codes} + originals on disk", *([f"{codes} + originals on disk ({label})"] if label else [])}


def test_compare_writes_report_and_plot(tmp_path):
    for backend in BACKENDS:
        skip_unless_runnable(backend)
    data = tmp_path / "x.npy"
    np.save(data, synthetic_clusters(n=2500, d=32, clusters=25, noise=0.4, seed=5))
    report, plot = tmp_path / "report.json", tmp_path / "report.png"
    argv = f"compare --data {data} --n 2000 --queries 100 --backends {','.join(BACKENDS)} --json {report}".split()
    argv += ["--plot", str(plot), "--hidden", "256", "--k", "8", "--epochs", "3", "--depths", "50", "--quiet"]
    argv += ["--methods", "float32 HNSW,float32 FLAT,scalar int8"]
    assert saevdb(argv) == 0
    result = json.loads(report.read_text())
    assert result["n"] == 2000 and set(result["engines"]) == set(BACKENDS)
    assert result["config"]["query_k"] == [[256]]  # the default: full width h
    for backend in BACKENDS:  # signed W_dec q̄ where the engine takes it, its positive part elsewhere
        assert result["engines"][backend]["query_mode"] == default_query_mode(engine_spec(backend).signed)
    for backend in BACKENDS:
        rows = [r for r in result["rows"] if r["backend"] == backend]
        ok = [r for r in rows if r["status"] == "ok"]
        assert all(key in r for r in ok for key in REQUIRED)
        settings = {(r["method"], r["setting"]) for r in ok}
        codes = "saevdb codes h=256 k=8"
        assert {(codes, "engine order"), (codes, "client re-rank 100")} <= settings
        assert {(name, "two-stage 50") for name in two_stage_names(codes, backend)} <= settings
        assert any(r["family"] == "built-in" for r in ok), rows
        assert all(r["reason"] for r in rows if r["status"] != "ok")
        engine_order = next(r for r in ok if r["method"] == codes and r["setting"] == "engine order")
        stages = [r for r in ok if r["setting"] == "two-stage 50"]
        for two_stage in stages:  # the exact best of the codes' top 50 holds every neighbour their top 10 held
            assert two_stage["originals_read_per_query"] == 50
            assert two_stage["recall_at_10"] >= engine_order["recall_at_10"] - 1e-9
        # the originals in the collection or in a flat float32 file: the same exact re-score
        assert max(r["recall_at_10"] for r in stages) - min(r["recall_at_10"] for r in stages) <= 0.01
        assert all(r["ram_bytes_per_vector"] >= 0 and r["disk_bytes_per_vector"] > 0 for r in ok)
        assert result["summary"][backend]["frontier"]
    assert plot.stat().st_size > 10_000


def _codes_only_on_qdrant(tmp_path, n: int, seed: int, options: str) -> dict:
    """`compare` of a small h=64 k=4 model's codes alone (no built-ins, no two-stage) in Qdrant Edge."""
    skip_unless_runnable("qdrant")
    data, report = tmp_path / "x.npy", tmp_path / "report.json"
    np.save(data, synthetic_clusters(n=n, d=16, clusters=10, noise=0.4, seed=seed))
    argv = f"compare --data {data} --backends qdrant --json {report} --hidden 64 --k 4 --methods none {options}"
    assert saevdb([*argv.split(), "--depths", "", "--quiet"]) == 0
    return json.loads(report.read_text())


def test_compare_takes_a_query_width(tmp_path):
    result = _codes_only_on_qdrant(tmp_path, 600, 6, "--n 500 --queries 20 --query-k 5 --epochs 1")
    assert result["config"]["query_k"] == [[5]]
    assert {r["method"] for r in result["rows"]} == {"saevdb codes h=64 k=4", "saevdb codes h=64 k=4 float16"}


def test_compare_sweeps_query_widths_as_settings_of_one_build(tmp_path):
    options = "--n 500 --queries 20 --query-k 3,full --precisions float32 --epochs 1"
    result = _codes_only_on_qdrant(tmp_path, 600, 6, options)
    assert result["config"]["query_k"] == [[3, 64]]
    rows = {r["setting"]: r for r in result["rows"]}
    widths = ("k_q 3", "k_q full")
    assert set(rows) == {f"{mode}, {w}" for mode in ("engine order", "client re-rank 100") for w in widths}
    assert all(r["status"] == "ok" for r in rows.values()), rows
    assert len({r["ingest_seconds"] for r in rows.values()}) == 1  # one build, queried at each width


def test_a_setting_that_fails_or_is_too_slow_keeps_the_build_going(model, vectors):
    """A setting whose queries raise marks its own row failed; one whose probe query is over the
    budget is reported too slow, not run; the build's other settings are measured."""
    skip_unless_runnable("qdrant")
    database, queries = vectors[:2000], vectors[2000:2050]

    def refused(adapter, top_k):
        def search(q):
            raise ValueError("refused by the test")

        return search

    def slow(adapter, top_k):
        return lambda q: time.sleep(0.05) or adapter.search(q, top_k)

    plain = built_in_builds("qdrant", ("float32 HNSW",))[0].settings[0]
    settings = (Setting("refused", refused), Setting("slow", slow), plain)
    build = Build("float32 HNSW", "built-in", "dense", {}, settings)
    config = CompareConfig(backends=("qdrant",), depths=(), setting_budget_s=3 * len(queries) * 0.02)
    result = compare_backend("qdrant", [build], database, queries, Truth.of(queries, database), config, False)
    refused_row, slow_row, measured = result["rows"]
    assert refused_row["status"] == "failed" and "refused by the test" in refused_row["reason"]
    assert refused_row["reason"].startswith("qdrant-edge ") and ": refused: " in refused_row["reason"]
    assert slow_row["status"] == "too slow" and "one query took" in slow_row["reason"]
    assert measured["status"] == "ok" and measured["recall_at_10"] > 0.9


def test_compare_stores_uint8_codes_at_one_scale(tmp_path):
    """uint8 builds: values rounded at one scale fitted on the first rows; the engine order and the
    client re-rank (codes divided back) run, and rank about as the float32 build does."""
    result = _codes_only_on_qdrant(tmp_path, 1200, 8, "--queries 50 --precisions float32,uint8 --epochs 2")
    rows = {(r["method"], r["setting"]): r for r in result["rows"]}
    assert all(r["status"] == "ok" for r in rows.values()), rows
    for setting in ("engine order", "client re-rank 100"):
        exact, rounded = rows[("saevdb codes h=64 k=4", setting)], rows[("saevdb codes h=64 k=4 uint8", setting)]
        assert abs(exact["recall_at_10"] - rounded["recall_at_10"]) < 0.05


def test_compare_with_a_budget_compares_the_advised_shape(tmp_path):
    """--budget: the sweep on the database rows picks the shape, its value type and query width."""
    skip_unless_runnable("qdrant")
    data = tmp_path / "x.npy"
    np.save(data, synthetic_clusters(n=2700, d=16, clusters=10, noise=0.4, seed=7))
    report, saved = tmp_path / "report.json", tmp_path / "models"
    argv = f"compare --data {data} --queries 50 --backends qdrant --budget 24 --hidden 64 128 --epochs 1"
    options = ["--methods", "none", "--depths", "", "--save-model", str(saved), "--json", str(report), "--quiet"]
    assert saevdb([*argv.split(), *options]) == 0
    result = json.loads(report.read_text())
    chosen = result["advice"]["chosen"]
    assert len(result["advice"]["candidates"]) == 4  # h in {64, 128} x {uint8 k=8, float16 k=6}
    codes = f"saevdb codes h={chosen['h']} k={chosen['k']} {chosen['value_dtype']}"
    assert {r["method"] for r in result["rows"]} == {codes}
    assert all(r["status"] == "ok" for r in result["rows"]), result["rows"]
    assert result["config"]["query_k"] == [[chosen["query_k"]]]
    assert result["advice"]["query_mode"] == "asymmetric"  # the sweep measured Qdrant's own order
    assert (saved / f"h{chosen['h']}_k{chosen['k']}" / "model.safetensors").is_file()


def test_compare_for_a_recall_target_compares_the_advised_first_stage(tmp_path):
    """--recall: the sweep on the database rows picks the shape, value type, query width and depth."""
    skip_unless_runnable("qdrant")
    data = tmp_path / "x.npy"
    np.save(data, synthetic_clusters(n=2700, d=16, clusters=10, noise=0.4, seed=7))
    report = tmp_path / "report.json"
    argv = f"compare --data {data} --queries 50 --backends qdrant --recall 0.9 --hidden 64 --epochs 1"
    assert saevdb([*argv.split(), "--methods", "none", "--rerank", "0", "--json", str(report), "--quiet"]) == 0
    result = json.loads(report.read_text())
    chosen = result["advice"]["chosen"]
    codes = f"saevdb codes h=64 k={chosen['k']} {chosen['value_dtype']}"
    assert {r["method"] for r in result["rows"]} == {codes, *two_stage_names(codes, "qdrant")}
    assert {r["setting"] for r in result["rows"]} == {"engine order", f"two-stage {chosen['depth']}"}
    assert all(r["status"] == "ok" for r in result["rows"]), result["rows"]
    assert "RAM" in result["advice"]["verdict"] and result["advice"]["engine"].startswith("qdrant-edge")


def test_a_budget_with_a_model_is_refused(tmp_path, capsys):
    data = tmp_path / "x.npy"
    np.save(data, synthetic_clusters(n=2700, d=16, seed=7))
    assert saevdb(f"compare --data {data} --backends qdrant --budget 24 --model {tmp_path} --quiet".split()) == 2
    assert "--budget chooses and trains the model itself: leave out --model" in capsys.readouterr().err


def test_an_engine_dying_fails_its_build_and_the_run_goes_on(model, vectors):
    """The engine process is killed during a build's queries: that build's row says failed and why,
    the next build runs in a fresh engine."""
    skip_unless_runnable("qdrant")
    database, queries = vectors[:2000], vectors[2000:2050]

    def killer(adapter, top_k):
        def search(q):  # the newest Qdrant Edge child is this build's engine (shared engines are older)
            edges = [p for p in psutil.Process().children() if "qdrant.engine" in " ".join(p.cmdline())]
            max(edges, key=lambda p: p.create_time()).kill()
            return adapter.search(q, top_k)

        return search

    doomed = Build("doomed", "built-in", "dense", {}, (Setting("kills its engine", killer),))
    builds = [doomed, *built_in_builds("qdrant", ("float32 HNSW",))]
    config = CompareConfig(backends=("qdrant",), depths=())
    result = compare_backend("qdrant", builds, database, queries, Truth.of(queries, database), config, False)
    failed, survivor = result["rows"]
    assert failed["status"] == "failed" and failed["method"] == "doomed" and "qdrant-edge" in failed["reason"]
    assert survivor["status"] == "ok" and survivor["recall_at_10"] > 0.9


def test_compare_refuses_bad_sizes(tmp_path, capsys):
    data = tmp_path / "x.npy"
    np.save(data, synthetic_clusters(n=100, d=8, seed=1))
    assert saevdb(["compare", "--data", str(data), "--n", "500", "--queries", "10", "--quiet"]) == 2
    assert "--n 500" in capsys.readouterr().err
