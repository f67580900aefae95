"""Keep your opensearch-py k-NN code; store SAE codes in rank_features instead of dense vectors.

.venv/bin/python examples/opensearch_ingest_hook.py   (starts a local node: needs java and mvn)
"""

import tempfile

from opensearchpy import OpenSearch, helpers

from saevdb.adapters.opensearch import OpenSearchIngestHook, OpenSearchNode
from saevdb.sae_core import SAEConfig, TrainConfig, build_and_fit, movielens_item_embeddings

items = movielens_item_embeddings()  # [9066, 64] real item vectors
model, _ = build_and_fit(items, SAEConfig(d=64, h=1024, k=8), TrainConfig(epochs=10))

with OpenSearchNode(tempfile.mkdtemp(prefix="saevdb-opensearch-")) as node:
    client = OpenSearchIngestHook(OpenSearch(node.url), model, vector_field="embedding")  # or your cluster's URL
    mapping = {"properties": {"embedding": {"type": "knn_vector", "dimension": 64}, "title": {"type": "keyword"}}}
    client.indices.create(index="movies", body={"settings": {"index.knn": True}, "mappings": mapping})
    docs = (
        {"_index": "movies", "_id": i, "_source": {"embedding": v.tolist(), "title": f"movie {i}"}}
        for i, v in enumerate(items)
    )
    helpers.bulk(client, docs, chunk_size=1000, refresh=True)
    query = {"size": 5, "query": {"knn": {"embedding": {"vector": items[0].tolist(), "k": 5}}}}
    hits = client.search(index="movies", body=query)["hits"]["hits"]
    print("nearest to movie 0:", [(hit["_id"], round(hit["_score"], 3)) for hit in hits])
