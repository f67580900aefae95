"""Qdrant Edge's built-in dense options, as `saevdb compare` sweeps them: each quantization builds
its graph and compressed vectors on a small collection (indexing threshold lowered), answers with
and without rescoring, and its files are read with the roles the engine gives them."""

from __future__ import annotations

import numpy as np
import pytest

from integration_tests.launchers import skip_unless_runnable
from saevdb.adapters import UnsupportedFeatureError, engine_spec
from saevdb.adapters.options import DenseOption
from saevdb.adapters.registry import dense_options
from saevdb.compare.truth import Truth

OPTIONS = [option for option in dense_options("qdrant")] if engine_spec("qdrant") else []


@pytest.fixture(scope="module")
def qdrant(shared_engine):
    skip_unless_runnable("qdrant")
    return shared_engine("qdrant")


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.method)
def test_each_option_builds_and_answers(qdrant, vectors, option: DenseOption):
    name = "opt_" + option.method.replace(" ", "_").replace(",", "").replace(".", "_")
    adapter = qdrant.dense_adapter(vectors.shape[1], name, **option.build, indexing_threshold_kb=64)
    adapter.recreate()
    adapter.upsert(np.arange(len(vectors)), vectors)
    adapter.optimize()
    assert adapter.stats()["indexed_vectors"] == len(vectors)
    queries = vectors[:50] + 0.05
    truth = Truth.of(queries, vectors)
    recalls = {}
    for setting in option.searches:
        ids, scores = adapter.search(queries, 10, **setting.params)
        recalls[setting.label] = truth.recall_at_10(ids)
        exact = np.einsum("qkd,qd->qk", truth.database[ids], truth.queries)
        if setting.rescore or option.originals_searched:  # scores are cosines with the originals
            np.testing.assert_allclose(scores, exact, rtol=1e-4, atol=1e-4)
    assert max(recalls.values()) > 0.6, recalls
    if any(s.rescore for s in option.searches):  # the deepest rescoring finds at least what none did
        assert recalls[option.searches[-1].label] >= recalls["no rescore"], recalls
    adapter.drop()


def test_unknown_quantization_and_search_param_refused(qdrant, vectors):
    with pytest.raises(UnsupportedFeatureError, match="quantization"):
        qdrant.dense_adapter(vectors.shape[1], "bad", quantization="binary-3bit")
    adapter = qdrant.dense_adapter(vectors.shape[1], "bad_param")
    adapter.recreate()
    adapter.upsert(np.arange(100), vectors[:100])
    with pytest.raises(UnsupportedFeatureError, match="nprobe"):
        adapter.search(vectors[:1], 10, nprobe=8)
    adapter.drop()


def test_registry_names_every_quantization():
    pytest.importorskip("qdrant_edge")
    from saevdb.adapters.qdrant.quantization import QUANTIZATIONS

    assert set(engine_spec("qdrant").quantizations) == set(QUANTIZATIONS)
    built = {option.build.get("quantization") for option in OPTIONS}
    assert built - {None} == set(QUANTIZATIONS)


def test_memory_roles_after_reopen(tmp_path, vectors):
    """Quantized vectors in RAM, graph mapped, originals on disk: after a reopen and queries, the
    graph's pages are resident and counted as `graph`; the WAL and id maps as `other`."""
    skip_unless_runnable("qdrant")
    from saevdb.adapters import local_engine

    folder = tmp_path / "engine"
    with local_engine("qdrant", folder) as engine:
        adapter = engine.dense_adapter(vectors.shape[1], "m", quantization="scalar-int8", indexing_threshold_kb=64)
        adapter.recreate()
        adapter.upsert(np.arange(len(vectors)), vectors)
        adapter.optimize()
    with local_engine("qdrant", folder) as engine:
        adapter = engine.dense_adapter(vectors.shape[1], "m", quantization="scalar-int8", indexing_threshold_kb=64)
        adapter.search(vectors[:200], 10, hnsw_ef=128, oversampling=2, rescore=True)
        assert engine.trim()
        reading = engine.memory()
        assert reading.file_bytes["graph"] > 0
        assert reading.file_bytes["sparse"] == 0
        assert reading.file_bytes["program"] > 0
        assert 0 < reading.anonymous_bytes < reading.rss_bytes
        assert reading.file_bytes["vectors"] <= len(vectors) * vectors.shape[1] * 4 + 65536


@pytest.mark.parametrize(
    ("threshold", "indexed"), [(None, False), (1, True)], ids=["qdrant default", "adapter default"]
)
def test_a_shard_of_few_entry_codes_gets_its_sparse_index(qdrant, model, codes, threshold, indexed):
    """Under Qdrant's default indexing threshold a small shard of codes stays one appendable segment
    (a mutable in-RAM index over raw vectors) after `optimize()`; with the adapter's default (1 KB)
    optimize builds the immutable index, as each segment's config says."""
    import json

    from saevdb.adapters import ModelInfo

    name = f"few_entries_{threshold}"
    adapter = qdrant.sparse_adapter(ModelInfo.of(model), name, indexing_threshold_kb=threshold)
    adapter.recreate()
    try:
        rows = np.flatnonzero(np.diff(codes.indptr) > 0)
        adapter.upsert(rows, codes[rows])
        adapter.optimize()
        assert adapter.stats()["points"] == len(rows)
        configs = (qdrant.path / name / "segments").glob("*/segment.json")
        kinds = {
            json.loads(f.read_text())["config"]["sparse_vector_data"]["sae"]["index"]["index_type"] for f in configs
        }
        assert ("ImmutableRam" in kinds) is indexed, kinds
    finally:
        adapter.drop()


@pytest.mark.parametrize("kind", ["codes", "binary 1-bit, 8-bit query"])
def test_cold_bookkeeping_maps_the_id_tracker_and_answers_the_same(qdrant, model, codes, vectors, kind):
    """`id_tracker_memory="cold"` writes the optimized segment's id tracker as memory-mapped files
    (`id_tracker.i2e`) where the default keeps `id_tracker.mappings` on the heap. The codes' answers
    are the same; an HNSW graph is built in parallel, so the binary option's differ by its build: the
    same recall within 0.05."""
    from saevdb.adapters import ModelInfo

    answers, files = {}, {}
    for placement in (None, "cold"):
        name = f"bookkeeping_{kind[:5]}_{placement}"
        options = {"id_tracker_memory": placement, "payload_memory": placement}
        if kind == "codes":
            adapter = qdrant.sparse_adapter(ModelInfo.of(model), name, datatype="float16", **options)
            rows = np.flatnonzero(np.diff(codes.indptr) > 0)
            adapter.recreate()
            adapter.upsert(rows, codes[rows])
            queries = codes[rows[:20]]
        else:
            adapter = qdrant.dense_adapter(
                vectors.shape[1], name, quantization="binary-1bit-query8", indexing_threshold_kb=64, **options
            )
            adapter.recreate()
            adapter.upsert(np.arange(len(vectors)), vectors)
            queries = vectors[:20] + 0.05
        adapter.optimize()
        answers[placement] = adapter.search(queries, 10, **({} if kind == "codes" else {"rescore": True}))[0]
        files[placement] = {p.name for p in (qdrant.path / name / "segments").rglob("id_tracker.*")}
        adapter.drop()
    assert "id_tracker.mappings" in files[None] and "id_tracker.i2e" not in files[None]
    assert "id_tracker.i2e" in files["cold"] and "id_tracker.mappings" not in files["cold"]
    if kind == "codes":
        np.testing.assert_array_equal(answers[None], answers["cold"])
    else:
        truth = Truth.of(queries, vectors)
        assert abs(truth.recall_at_10(answers[None]) - truth.recall_at_10(answers["cold"])) <= 0.05


def test_unknown_placement_refused_before_anything_is_created(qdrant, vectors):
    with pytest.raises(ValueError, match="id_tracker_memory='warm'"):
        qdrant.dense_adapter(vectors.shape[1], "warm", id_tracker_memory="warm")
    assert not (qdrant.path / "warm").exists()
