"""OpenSearch's own features on a real node: the `_source` modes and capabilities of the sparse adapter,
and the dense baseline in the k-NN plugin (HNSW, Lucene engine, cosine)."""

from __future__ import annotations

import numpy as np
import pytest

from saevdb.adapters import ModelInfo, UnsupportedFeatureError
from saevdb.sae_core.data import synthetic_clusters
from saevdb.sae_core.encode import encode
from saevdb.sae_core.search import exact_topk

D, N = 32, 2000


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return synthetic_clusters(n=N, d=D, clusters=20, seed=3)


@pytest.fixture
def dense(opensearch_node, request):
    from opensearchpy import OpenSearch

    from saevdb.adapters.opensearch import OpenSearchDenseAdapter

    client = OpenSearch(opensearch_node.url, timeout=60)
    adapter = OpenSearchDenseAdapter(D, client, f"dense-{request.node.name}".lower())
    adapter.recreate()
    yield adapter
    adapter.drop()
    adapter.close()


def test_node_has_knn(dense):
    plugins = {row["component"] for row in dense.client.cat.plugins(format="json")}
    assert "opensearch-knn" in plugins


def test_recall_against_exact_cosine(dense, vectors):
    ids = np.arange(N) * 7 + 3  # ids that are not row numbers
    dense.upsert(ids[:1500], vectors[:1500])
    dense.upsert(ids[1500:], vectors[1500:], payloads=[{"part": "tail"}] * (N - 1500))
    dense.optimize()
    assert dense.count() == N
    stats = dense.stats()
    assert stats["points"] == N and stats["segments"] == 1 and stats["store_bytes"] > 0

    rows = np.random.default_rng(0).choice(N, size=20, replace=False)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    truth, truth_scores = exact_topk(unit[rows], unit, 10)
    found, scores = dense.search(vectors[rows], 10)
    assert found.shape == scores.shape == (20, 10) and found.dtype == np.int64 and scores.dtype == np.float32
    recall = np.mean([len(set(ids[t]) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall >= 0.95, recall
    assert (found[:, 0] == ids[rows]).all()  # each query finds itself first
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-3)  # scores are cosines, not Lucene's (1 + cos) / 2
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    np.testing.assert_allclose(scores, truth_scores, atol=0.02)


def test_filter_and_padding(dense, vectors):
    dense.upsert(range(5), vectors[:5], payloads=[{"part": "a"}, {"part": "b"}, {"part": "a"}, {}, {}])
    found, scores = dense.search(vectors[:1], 10, filter={"term": {"part.keyword": "a"}})
    assert set(found[0, :2]) == {0, 2} and (found[0, 2:] == -1).all() and np.isneginf(scores[0, 2:]).all()


@pytest.mark.parametrize(
    "bad",
    [
        lambda v: (range(10), np.where(np.arange(10)[:, None] == 4, np.nan, v[:10])),  # NaN in row 4
        lambda v: (range(10), v[:10, :16]),  # wrong d
        lambda v: ([0, 1, 2, 3, 4, 5, 6, 7, 8, 0], v[:10]),  # duplicate id
        lambda v: (range(10), np.where(np.arange(10)[:, None] == 9, 0.0, v[:10])),  # zero vector: no cosine
    ],
    ids=["nan", "wrong-d", "duplicate-id", "zero-vector"],
)
def test_bad_batch_writes_nothing(dense, vectors, bad):
    ids, batch = bad(vectors)
    with pytest.raises(ValueError):
        dense.upsert(ids, batch)
    assert dense.count() == 0


def test_upsert_replaces_and_drop_removes(dense, vectors):
    dense.upsert([1, 2], vectors[:2])
    dense.upsert([2], vectors[5:6])
    assert dense.count() == 2
    found, _ = dense.search(vectors[5:6], 1)
    assert found[0, 0] == 2
    dense.drop()
    assert not dense.client.indices.exists(index=dense.index)
    with pytest.raises(ValueError, match="recreate"):
        dense.upsert([1], vectors[:1])  # not a dynamically mapped index of float arrays
    assert not dense.client.indices.exists(index=dense.index)


def test_opensearch_source_modes(trained, opensearch_node):
    info = ModelInfo.of(trained)
    codes = encode(trained, synthetic_clusters(n=1000, d=D, clusters=20, seed=4), show_progress_bar=False)
    adapters = {
        mode: opensearch_node.sparse_adapter(info, f"source_{mode}", source=mode)
        for mode in ("compact", "none", "full")
    }
    for adapter in adapters.values():
        adapter.recreate()
        adapter.upsert(np.arange(500), codes[:500])
        assert adapter.stats()["points"] == 500
    np.testing.assert_array_equal(adapters["full"].retrieve([4, 9]).toarray(), codes[[4, 9]].toarray())
    with pytest.raises(UnsupportedFeatureError, match="source='none'"):
        adapters["none"].retrieve([4])
    ids = {mode: adapter.search(codes[:5], 10)[0] for mode, adapter in adapters.items()}
    np.testing.assert_array_equal(ids["none"], ids["full"])
    offered = adapters["compact"].capabilities()
    assert offered["rank_features"] and offered["version"] == opensearch_node.version  # read from the node
    assert "opensearch-knn" in offered["plugins"] and not offered["neural_sparse"]
    for method in ("neural_sparse", "seismic"):  # the integ-test node has no neural-search plugin
        with pytest.raises(UnsupportedFeatureError, match="neural-search plugin"):
            opensearch_node.sparse_adapter(info, "x", method=method)
