"""SparseCollection over Qdrant Edge (in this process) and an OpenSearch node: dense in, dense queries in."""

import numpy as np
import pytest

from integration_tests.launchers import skip_unless_runnable
from saevdb.adapters import ModelInfo
from saevdb.collection import SparseCollection
from saevdb.sae_core.decode import rerank_vectors
from saevdb.sae_core.encode import encode
from saevdb.sae_core.metrics import recall_at
from saevdb.sae_core.query import query_vectors
from saevdb.sae_core.search import exact_topk


def edge_shard(model, path):
    skip_unless_runnable("qdrant")
    from saevdb.adapters.qdrant import QdrantEdgeAdapter

    return QdrantEdgeAdapter(ModelInfo.of(model), path)


@pytest.fixture
def collection(trained, tmp_path):
    adapter = edge_shard(trained, tmp_path / "shard")
    adapter.recreate()
    yield SparseCollection(adapter, trained, batch_size=300)
    adapter.close()


def test_add_then_search_finds_dense_neighbours(collection, clusters):
    assert collection.add(np.arange(3000), clusters) == 3000
    assert collection.count() == 3000
    queries = np.arange(0, 3000, 100)
    ids, scores = collection.search(clusters[queries], top_k=10)
    truth, _ = exact_topk(clusters[queries], clusters, 10)
    assert ids.shape == (30, 10) and (np.diff(scores, axis=1) <= 1e-6).all()
    assert recall_at(truth, ids, 10) > 0.2  # far above chance (0.003); see test_train for why not higher


def test_add_from_streams_batches(collection, clusters):
    batches = ((np.arange(lo, lo + 500), clusters[lo : lo + 500]) for lo in range(0, 3000, 500))
    assert collection.add_from(batches, show_progress_bar=False) == 3000
    assert collection.count() == 3000
    collection.delete([0, 1])
    assert collection.count() == 2998


def test_bad_input_writes_nothing(collection, clusters):
    bad = clusters[:10].copy()
    bad[9, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        collection.add(np.arange(10), bad)
    with pytest.raises(ValueError, match="ids for 10 vectors"):
        collection.add(np.arange(9), clusters[:10])
    with pytest.raises(ValueError, match="dimension 5"):
        collection.add(np.arange(2), np.ones((2, 5), dtype=np.float32))
    assert collection.count() == 0


def test_adapter_of_another_model_is_refused(trained, untrained, tmp_path):
    adapter = edge_shard(untrained, tmp_path / "s")
    with pytest.raises(ValueError, match="another model"):
        SparseCollection(adapter, trained)


def test_engine_order_and_reranked_order(trained, clusters, tmp_path):
    adapter = edge_shard(trained, tmp_path / "shard")
    adapter.recreate()
    plain = SparseCollection(adapter, trained, rerank=0)
    plain.add(np.arange(3000), clusters)
    queries = clusters[::150]
    truth, _ = exact_topk(queries, clusters, 10)
    engine_ids, _ = plain.search(queries, top_k=10)
    reranked_ids, scores = SparseCollection(adapter, trained, rerank=200).search(queries, top_k=10)
    assert (np.diff(scores, axis=1) <= 1e-6).all() and scores[:, 0].max() <= 1.05  # cosine estimates
    assert recall_at(truth, reranked_ids, 10) >= recall_at(truth, engine_ids, 10) - 0.05
    assert SparseCollection(adapter, trained).search(queries[:1], top_k=5)[0].shape == (1, 5)
    adapter.close()


def test_default_query_is_signed_where_the_engine_takes_it(trained, clusters, tmp_path):
    """Qdrant scores negative weights, so the default full-width query is all of `W_dec q̄`, signed
    (a cut one its positive part); naming the non-negative mode still works and ranks by its part
    of the score."""
    adapter = edge_shard(trained, tmp_path / "shard")
    adapter.recreate()
    signed = SparseCollection(adapter, trained, rerank=0)
    assert signed.query_mode == "asymmetric"
    assert SparseCollection(adapter, trained, query_k=trained.config.h // 2).query_mode == "asymmetric_nonneg"
    signed.add(np.arange(3000), clusters)
    queries = clusters[::150]
    weights = query_vectors(trained, queries, "asymmetric")
    assert (weights.data < 0).any()
    expected, _ = exact_topk(weights, encode(trained, clusters, show_progress_bar=False), 10)
    ids, _ = signed.search(queries, top_k=10)
    assert recall_at(expected, ids, 10) >= 0.99  # the engine's order is the exact signed inner product's
    nonneg = SparseCollection(adapter, trained, query_mode="asymmetric_nonneg", rerank=0)
    assert nonneg.search(queries, top_k=10)[0].shape == (20, 10)
    adapter.close()


def test_rerank_reads_codes_back_from_opensearch(trained, clusters, opensearch_node):
    """OpenSearch keeps codes out of the rank_features part of `_source`; re-ranking still reads them."""
    adapter = opensearch_node.sparse_adapter(ModelInfo.of(trained), "collection")
    adapter.recreate()
    collection = SparseCollection(adapter, trained, batch_size=1000, rerank=50)
    collection.add(np.arange(3000), clusters)
    queries = clusters[::100]
    ids, scores = collection.search(queries, top_k=10)
    plain = SparseCollection(adapter, trained, rerank=0)
    assert plain.query_mode == "asymmetric_nonneg"  # rank_features takes no negative weight
    candidates, _ = plain.search(queries, top_k=50)
    assert all(set(row) <= set(pool) for row, pool in zip(ids, candidates, strict=True))
    # The scores are cosines with reconstructions of the codes as they were written.
    items = rerank_vectors(trained, encode(trained, clusters, show_progress_bar=False))
    unit = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    np.testing.assert_allclose(scores, np.take_along_axis(unit @ items.T, ids, axis=1), atol=2e-3)
