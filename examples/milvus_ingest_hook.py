"""Keep your pymilvus code; store SAE codes instead of dense vectors (Milvus Lite 2.5 on loopback).

.venv/bin/python examples/milvus_ingest_hook.py
"""

import tempfile
from pathlib import Path

from pymilvus import MilvusClient

from saevdb.adapters.milvus import MilvusIngestHook, MilvusLiteServer
from saevdb.sae_core import SAEConfig, TrainConfig, build_and_fit, movielens_item_embeddings

items = movielens_item_embeddings()  # [9066, 64] real item vectors
model, _ = build_and_fit(items, SAEConfig(d=64, h=1024, k=8), TrainConfig(epochs=10))

with MilvusLiteServer(Path(tempfile.mkdtemp()) / "milvus.db") as server:
    client = MilvusIngestHook(MilvusClient(uri=server.uri), model)  # or MilvusClient(uri="http://host:19530")
    client.create_collection("movies", dimension=64)
    client.insert("movies", data=[{"id": i, "vector": v.tolist(), "title": f"movie {i}"} for i, v in enumerate(items)])
    hits = client.search("movies", data=[items[0].tolist()], limit=5, output_fields=["title"])
    print("nearest to movie 0:", [(hit["id"], round(hit["distance"], 3)) for hit in hits[0]])
