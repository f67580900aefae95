"""Keep your qdrant-client code; store SAE codes instead of dense vectors.

.venv/bin/python examples/qdrant_ingest_hook.py
"""

from qdrant_client import QdrantClient, models

from saevdb.sae_core import SAEConfig, TrainConfig, build_and_fit, movielens_item_embeddings

items = movielens_item_embeddings()  # [9066, 64] real item vectors
model, _ = build_and_fit(items, SAEConfig(d=64, h=1024, k=8), TrainConfig(epochs=10))

from saevdb.adapters.qdrant import QdrantIngestHook  # noqa: E402

client = QdrantIngestHook(QdrantClient(":memory:"), model)  # or QdrantClient(url="http://localhost:6333")
client.create_collection("movies", vectors_config=models.VectorParams(size=64, distance=models.Distance.COSINE))
client.upsert("movies", points=[models.PointStruct(id=i, vector=v.tolist()) for i, v in enumerate(items)])
hits = client.query_points("movies", query=items[0].tolist(), limit=5).points
print("nearest to movie 0:", [(p.id, round(p.score, 3)) for p in hits])
