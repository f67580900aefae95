"""The ingest hooks: the user's own dense qdrant-client, pymilvus and opensearch-py calls, stored as SAE codes."""

import numpy as np
import pytest

from integration_tests.launchers import running, skip_unless_runnable
from saevdb.sae_core.metrics import recall_at
from saevdb.sae_core.search import exact_topk


@pytest.fixture
def client(trained):
    skip_unless_runnable("qdrant")
    from qdrant_client import QdrantClient, models

    from saevdb.adapters.qdrant import QdrantIngestHook

    hooked = QdrantIngestHook(QdrantClient(":memory:"), trained)
    hooked.create_collection("items", vectors_config=models.VectorParams(size=32, distance=models.Distance.COSINE))
    return hooked


def test_dense_calls_store_and_search_codes(client, clusters):
    from qdrant_client import models

    points = [models.PointStruct(id=i, vector=clusters[i].tolist(), payload={"i": i}) for i in range(2000)]
    client.upsert("items", points=points)
    assert client.count("items").count == 2000  # passed through to the real client
    stored = client.retrieve("items", ids=[5], with_vectors=True)[0]
    assert set(stored.vector) == {"sae"}  # only the sparse code is stored
    found = np.array(
        [[p.id for p in client.query_points("items", query=clusters[q], limit=10).points] for q in range(0, 2000, 100)]
    )
    truth, _ = exact_topk(clusters[0:2000:100], clusters[:2000], 10)
    assert recall_at(truth, found, 10) > 0.2


def test_bad_points_write_nothing(client, clusters):
    vectors = clusters[:3].copy()
    vectors[2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        client.upsert("items", points=[{"id": i, "vector": v.tolist()} for i, v in enumerate(vectors)])
    with pytest.raises(ValueError, match="dimension"):
        client.upsert("items", points=[{"id": 1, "vector": [0.1] * 5}])
    assert client.count("items").count == 0


def test_dense_config_of_another_size_is_refused(client):
    from qdrant_client import models

    with pytest.raises(ValueError, match="d=32"):
        client.create_collection("other", vectors_config=models.VectorParams(size=64, distance=models.Distance.COSINE))


def test_milvus_hook_stores_codes_behind_dense_calls(trained, clusters):
    with running("milvus") as server:
        from pymilvus import MilvusClient

        from saevdb.adapters.milvus import MilvusIngestHook

        client = MilvusIngestHook(MilvusClient(uri=server.uri), trained)
        client.create_collection("items", dimension=32)
        rows = [{"id": i, "vector": clusters[i].tolist(), "title": f"item {i}"} for i in range(1000)]
        assert client.insert("items", data=rows)["insert_count"] == 1000
        bad = [{"id": 5000, "vector": [float("nan")] * 32}]
        with pytest.raises(ValueError, match="NaN"):
            client.insert("items", data=bad)
        hits = client.search("items", data=[clusters[3].tolist()], limit=5, output_fields=["title"])
        assert len(hits[0]) == 5 and hits[0][0]["entity"]["title"].startswith("item ")
        assert client.has_collection("items")  # passed through
        with pytest.raises(ValueError, match="d=32"):
            client.create_collection("other", dimension=64)


def test_opensearch_hook_stores_codes_behind_dense_knn_calls(trained, clusters, opensearch_node):
    from opensearchpy import helpers

    from saevdb.adapters.opensearch import OpenSearchIngestHook

    client = OpenSearchIngestHook(opensearch_node.client(), trained)
    mapping = {"properties": {"embedding": {"type": "knn_vector", "dimension": 32}, "title": {"type": "keyword"}}}
    client.indices.create(index="items", body={"settings": {"index.knn": True}, "mappings": mapping})
    actions = [
        {"_index": "items", "_id": i, "_source": {"embedding": clusters[i].tolist(), "title": f"item {i}"}}
        for i in range(1000)
    ]
    assert helpers.bulk(client, actions, refresh=True) == (1000, [])
    client.index(index="items", id=5000, body={"embedding": clusters[1000].tolist(), "title": "late"}, refresh=True)
    assert client.count(index="items")["count"] == 1001  # passed through to the real client
    stored = client.get(index="items", id=3)["_source"]
    assert "embedding" not in stored and stored["title"] == "item 3"
    knn = {"vector": clusters[3].tolist(), "k": 5}
    hits = client.search(index="items", body={"query": {"knn": {"embedding": knn}}})["hits"]["hits"]
    assert len(hits) == 5 and hits[0]["_source"]["title"].startswith("item ")
    third = hits[2]["_source"]["title"]
    only = {**knn, "filter": {"term": {"title": third}}}
    hits = client.search(index="items", body={"query": {"knn": {"embedding": only}}})["hits"]["hits"]
    assert [hit["_source"]["title"] for hit in hits] == [third]
    bad = [{"_index": "items", "_id": 6000, "_source": {"embedding": [float("nan")] * 32}}]
    with pytest.raises(ValueError, match="NaN"):
        helpers.bulk(client, bad, refresh=True)
    assert client.count(index="items")["count"] == 1001
    with pytest.raises(ValueError, match="d=32"):
        client.indices.create(
            index="other",
            body={"mappings": {"properties": {"embedding": {**mapping["properties"]["embedding"], "dimension": 64}}}},
        )
    assert client.indices.exists(index="items")  # passed through
