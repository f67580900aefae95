"""Every adapter against every real engine: create, bulk upsert, search, delete, restart (clean and
after a kill) and find the data still there; the dense baseline in the same engine."""

from __future__ import annotations

import numpy as np
import pytest

from integration_tests.launchers import BACKENDS, container, docker_available, skip_unless_runnable
from saevdb.adapters import DenseAdapter, ModelInfo, SparseAdapter, upload
from saevdb.sae_core.metrics import recall_at
from saevdb.sae_core.search import exact_topk


def _same_top10(adapter, codes, queries) -> None:
    ids, scores = adapter.search(codes[queries], 10)
    truth_ids, truth_scores = exact_topk(codes[queries], codes, 10)
    np.testing.assert_allclose(scores, truth_scores, rtol=2**-8, atol=1e-6)  # rank_features keeps ~9 bits
    assert recall_at(truth_ids, ids, 10) > 0.97  # ties at the 10th score may differ


def test_sparse_collection_lives_through_restarts(engine, model, codes):
    info = ModelInfo.of(model)
    adapter = engine.sparse_adapter(info, "items")
    assert isinstance(adapter, SparseAdapter)
    adapter.recreate()
    upload(adapter, np.arange(codes.shape[0]), codes, batch_size=1000, show_progress_bar=False)
    adapter.optimize()
    queries = np.arange(0, codes.shape[0], 250)
    _same_top10(adapter, codes, queries)
    adapter.delete(np.arange(10))
    assert adapter.count() == codes.shape[0] - 10
    before, _ = adapter.search(codes[queries], 10)
    assert engine.rss_bytes() > 10_000_000

    engine.stop()
    engine.start()
    reopened = engine.sparse_adapter(info, "items")
    assert reopened.count() == codes.shape[0] - 10
    np.testing.assert_array_equal(reopened.search(codes[queries], 10)[0], before)

    reopened.upsert([0], codes[:1])  # acknowledged, then the engine dies
    engine.kill()
    engine.start()
    assert engine.sparse_adapter(info, "items").count() == codes.shape[0] - 9


def test_dense_baseline_in_the_same_engine(engine, vectors):
    adapter = engine.dense_adapter(vectors.shape[1], "dense")
    assert isinstance(adapter, DenseAdapter)
    adapter.recreate()
    for lo in range(0, len(vectors), 1000):
        adapter.upsert(np.arange(lo, lo + 1000), vectors[lo : lo + 1000])
    adapter.optimize()
    assert adapter.count() == len(vectors)
    assert engine.rss_bytes() > 10_000_000  # measured by the engine's launcher, never by an adapter
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    truth, _ = exact_topk(unit[:50], unit, 10)
    ids, _ = adapter.search(vectors[:50], 10)
    assert recall_at(truth, ids, 10) > 0.9
    with pytest.raises(ValueError, match="NaN"):
        adapter.upsert([1], np.full((1, vectors.shape[1]), np.nan, dtype=np.float32))
    adapter.drop()


def test_qdrant_client_local_mode_keeps_data_on_disk(model, codes, tmp_path):
    """qdrant-client's local mode: the API-level check beside the Edge engine."""
    skip_unless_runnable("qdrant")
    from qdrant_client import QdrantClient

    from saevdb.adapters.qdrant import QdrantAdapter

    info = ModelInfo.of(model)
    adapter = QdrantAdapter(info, QdrantClient(path=str(tmp_path / "local")), "items")
    adapter.recreate()
    upload(adapter, np.arange(2000), codes[:2000], batch_size=500, show_progress_bar=False)
    adapter.close()
    reopened = QdrantAdapter(info, QdrantClient(path=str(tmp_path / "local")), "items")
    assert reopened.count() == 2000
    _same_top10(reopened, codes[:2000], np.arange(0, 2000, 200))
    reopened.close()


def test_edge_shard_survives_reopen(model, codes, tmp_path):
    """Qdrant Edge in this process: a closed shard opens again with its data."""
    info = ModelInfo.of(model)
    skip_unless_runnable("qdrant")
    from saevdb.adapters.qdrant import QdrantEdgeAdapter

    adapter = QdrantEdgeAdapter(info, tmp_path / "shard")
    adapter.recreate()
    upload(adapter, np.arange(500), codes[:500], show_progress_bar=False)
    adapter.optimize()
    adapter.close()
    reopened = QdrantEdgeAdapter(info, tmp_path / "shard")
    assert reopened.count() == 500
    ids, _ = reopened.search(codes[:1], 1)
    assert ids[0, 0] == 0
    reopened.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_engine_in_a_container(backend, model, codes):
    """The Docker path, for users with a Docker engine; skipped where none answers (as here)."""
    reason = docker_available()
    if reason:
        pytest.skip(reason)
    with container(backend) as (adapter_class, client):
        adapter = adapter_class(ModelInfo.of(model), client, "items")
        adapter.recreate()
        upload(adapter, np.arange(codes.shape[0]), codes, batch_size=1000, show_progress_bar=False)
        adapter.optimize()
        _same_top10(adapter, codes, np.arange(0, codes.shape[0], 250))
