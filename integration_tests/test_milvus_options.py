"""Milvus' own dense options and the two-stage sparse search on the local engine (Milvus Lite 2.5):
every option of `milvus/options.py` it serves builds and finds the exact neighbours, the others are
refused with the engine's words, search knobs an index does not read are refused, and the codes'
candidates re-scored by the stored originals equal exact cosines over those candidates."""

from __future__ import annotations

import numpy as np
import pytest

from saevdb.adapters import ModelInfo, UnsupportedFeatureError
from saevdb.adapters.milvus.options import COMPARE_OPTIONS
from saevdb.adapters.registry import engine_spec
from saevdb.sae_core.encode import encode
from saevdb.sae_core.search import exact_topk

LOCAL = [option for option in COMPARE_OPTIONS if option.server_only is None]
SERVER_ONLY = sorted({option.build["index_type"] for option in COMPARE_OPTIONS if option.server_only})
QUERIES = 20


@pytest.fixture(scope="module")
def milvus(shared_engine):
    return shared_engine("milvus")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def stored(codes) -> np.ndarray:
    """Rows whose code is not all-zero (Milvus stores no empty sparse vector)."""
    return np.flatnonzero(np.diff(codes.indptr) > 0)


def test_registry_names_the_options_and_index_types():
    spec = engine_spec("milvus")
    assert spec.options.endswith("options:COMPARE_OPTIONS")
    assert {option.build["index_type"] for option in COMPARE_OPTIONS} <= set(spec.quantizations)
    assert {"FLAT", "AUTOINDEX", "IVF_FLAT"} == {option.build["index_type"] for option in LOCAL}


@pytest.mark.parametrize("option", LOCAL, ids=lambda option: option.method)
def test_each_local_option_builds_and_finds_the_exact_neighbours(milvus, vectors, option):
    name = "opt_" + "".join(c if c.isalnum() else "_" for c in option.method)
    adapter = milvus.dense_adapter(vectors.shape[1], name, **option.build)
    adapter.recreate()
    for lo in range(0, len(vectors), 1000):
        adapter.upsert(np.arange(lo, min(lo + 1000, len(vectors))), vectors[lo : lo + 1000])
    adapter.optimize()
    assert adapter.count() == len(vectors)
    rows = np.random.default_rng(1).choice(len(vectors), QUERIES, replace=False)
    truth, truth_scores = exact_topk(_unit(vectors[rows]), _unit(vectors), 10)
    for setting in option.searches:
        found, scores = adapter.search(vectors[rows], 10, **setting.params)
        recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
        assert recall >= 0.8, (setting.label, recall)
        np.testing.assert_allclose(scores[:, 0], truth_scores[:, 0], atol=1e-4)  # cosines
    adapter.drop()
    adapter.close()


@pytest.mark.parametrize("index_type", SERVER_ONLY)
def test_server_only_index_types_are_refused_by_milvus_lite(milvus, index_type):
    name = f"server_only_{index_type.lower()}"
    adapter = milvus.dense_adapter(32, name, index_type=index_type)
    with pytest.raises(UnsupportedFeatureError, match="local mode only support FLAT IVF_FLAT AUTOINDEX"):
        adapter.recreate()
    assert not adapter.client.has_collection(name)  # nothing half-built is left
    adapter.close()


def test_unknown_index_types_and_search_params_are_refused(milvus, vectors):
    with pytest.raises(UnsupportedFeatureError, match="index_type"):
        milvus.dense_adapter(32, "bad_index", index_type="ANNOY")
    flat = milvus.dense_adapter(32, "params_flat", index_type="FLAT")
    ivf = milvus.dense_adapter(32, "params_ivf", index_type="IVF_FLAT", index_params={"nlist": 16})
    no_refine = milvus.dense_adapter(32, "params_sq", index_type="HNSW_SQ")  # refused before any call
    with pytest.raises(UnsupportedFeatureError, match="nprobe"):
        flat.search(vectors[:2], 5, nprobe=8)
    with pytest.raises(UnsupportedFeatureError, match="'ef'"):
        ivf.search(vectors[:2], 5, ef=64)
    with pytest.raises(UnsupportedFeatureError, match="refine=True"):
        no_refine.search(vectors[:2], 5, ef=64, refine_k=2)
    for adapter in (flat, ivf, no_refine):
        adapter.close()


@pytest.fixture
def two_stage(milvus, model, request):
    adapter = milvus.sparse_adapter(ModelInfo.of(model), f"two_stage_{request.node.name[5:40]}", originals=True)
    adapter.recreate()
    yield adapter
    adapter.drop()
    adapter.close()


def test_two_stage_search_equals_exact_cosine_over_the_codes_candidates(two_stage, model, vectors, codes, stored):
    two_stage.upsert(stored, codes[stored], originals=vectors[stored])
    rng = np.random.default_rng(2)
    queries = vectors[rng.choice(len(vectors), QUERIES, replace=False)] + 0.1 * rng.standard_normal((QUERIES, 32))
    weights = encode(model, queries, show_progress_bar=False)
    depth, top_k = 50, 10
    candidates, _ = two_stage.search(weights, depth)
    ids, scores = two_stage.search(weights, top_k, rescore_queries=queries, rescore_depth=depth)
    assert ids.shape == scores.shape == (QUERIES, top_k)
    unit, unit_queries = _unit(vectors), _unit(queries)
    for row in range(QUERIES):
        pool = candidates[row][candidates[row] >= 0]
        cosines = unit[pool] @ unit_queries[row]
        order = np.argsort(-cosines)[:top_k]
        np.testing.assert_array_equal(ids[row][: len(order)], pool[order])
        np.testing.assert_allclose(scores[row][: len(order)], cosines[order], rtol=1e-4, atol=1e-6)


def test_two_stage_batches_are_checked_whole(two_stage, milvus, model, vectors, codes, stored):
    batch = stored[:10]
    with pytest.raises(ValueError, match="originals=True"):
        two_stage.upsert(batch, codes[batch])
    with pytest.raises(ValueError, match="originals"):
        two_stage.upsert(batch, codes[batch], originals=vectors[batch[:9]])
    with pytest.raises(ValueError, match="dimension"):
        two_stage.upsert(batch, codes[batch], originals=vectors[batch, :16])
    assert two_stage.count() == 0  # nothing of a refused batch was written
    with pytest.raises(ValueError, match="rescore_depth"):
        two_stage.search(codes[:2], 10, rescore_queries=vectors[:2], rescore_depth=5)

    plain = milvus.sparse_adapter(ModelInfo.of(model), "two_stage_plain")
    plain.recreate()
    with pytest.raises(UnsupportedFeatureError, match="originals=True"):
        plain.upsert(batch, codes[batch], originals=vectors[batch])
    with pytest.raises(UnsupportedFeatureError, match="originals=True"):
        plain.search(codes[:2], 10, rescore_queries=vectors[:2], rescore_depth=20)
    assert plain.count() == 0
    plain.drop()  # not closed: pymilvus shares one connection per URI, which the fixture closes


def test_memory_reading_credits_no_data_file(two_stage, milvus, vectors, codes, stored):
    """Milvus Lite 2.5 maps no file of its data folder: rows live in anonymous memory."""
    two_stage.upsert(stored[:500], codes[stored[:500]], originals=vectors[stored[:500]])
    reading = milvus.memory()
    assert reading.anonymous_bytes > 0 and reading.rss_bytes > 0
    assert reading.file_bytes["program"] > 0  # the binary and its libraries
    assert all(reading.file_bytes[role] == 0 for role in ("sparse", "graph", "quantized", "vectors"))
    assert milvus.file_role(milvus.data_folder / "milvus.db") == "other"
    milvus.trim()  # the base's no-op: Milvus Lite's allocator cannot be trimmed from outside


def test_every_inverted_index_algo_gives_the_exact_inner_product_top_k(milvus, model, vectors, codes, stored):
    """The default (TAAT_NAIVE) and Milvus's DAAT algorithms return the exact sparse top-10 with
    drop_ratio_search 0; dropping the smallest query weights still answers every query."""
    from saevdb.adapters.milvus.constants import INVERTED_INDEX_ALGOS
    from saevdb.sae_core.query import query_vectors

    rng = np.random.default_rng(3)
    weights = query_vectors(model, vectors[rng.choice(len(vectors), QUERIES, replace=False)], "asymmetric_nonneg")
    exact = exact_topk(weights, codes[stored], 10)[0]
    assert INVERTED_INDEX_ALGOS[0] == "TAAT_NAIVE"
    for algo, drop in [*((a, 0.0) for a in INVERTED_INDEX_ALGOS), ("TAAT_NAIVE", 0.5)]:
        adapter = milvus.sparse_adapter(
            ModelInfo.of(model), f"algo_{algo.lower()}", inverted_index_algo=algo, drop_ratio_search=drop
        )
        adapter.recreate()
        try:
            adapter.upsert(stored, codes[stored])
            ids, _ = adapter.search(weights, 10)
            found = np.mean([len(set(ids[r]) & set(stored[exact[r]])) / 10 for r in range(QUERIES)])
            assert (found >= 0.99) if drop == 0 else (found > 0.5), (algo, drop, found)
        finally:
            adapter.drop()
            adapter.close()
    with pytest.raises(ValueError, match="inverted_index_algo"):
        milvus.sparse_adapter(ModelInfo.of(model), "algo_bad", inverted_index_algo="BM25")


def test_milvus_lite_having_no_aliases_logs_nothing(milvus, model, codes, stored, caplog):
    """Each collection opened asks whether its name is an alias; Milvus Lite answers UNIMPLEMENTED,
    which the adapter expects: pymilvus's ERROR line for it is not shown."""
    adapter = milvus.sparse_adapter(ModelInfo.of(model), "no_alias_noise")
    adapter.recreate()
    try:
        with caplog.at_level("ERROR"):
            adapter.upsert(stored[:10], codes[stored[:10]])  # the first write checks the model (and alias)
        assert not [r for r in caplog.records if "describe_alias" in r.getMessage()], caplog.text
    finally:
        adapter.drop()
        adapter.close()
