"""Dense vectors in, SAE codes stored, in the embedded engines: Qdrant Edge and Milvus Lite 2.5.

.venv/bin/python examples/sparse_collection.py
"""

import tempfile
from pathlib import Path

from pymilvus import MilvusClient

from saevdb.adapters import ModelInfo
from saevdb.adapters.milvus import MilvusAdapter, MilvusLiteServer
from saevdb.adapters.qdrant import QdrantEdgeAdapter
from saevdb.collection import SparseCollection
from saevdb.sae_core import SAEConfig, TrainConfig, build_and_fit, movielens_item_embeddings

items = movielens_item_embeddings()
model, _ = build_and_fit(items, SAEConfig(d=64, h=1024, k=8), TrainConfig(epochs=10))
info = ModelInfo.of(model)
folder = Path(tempfile.mkdtemp())

edge = QdrantEdgeAdapter(info, folder / "shard")
edge.recreate()
with MilvusLiteServer(folder / "milvus.db") as server:
    milvus = MilvusAdapter(info, MilvusClient(uri=server.uri), "movies")
    milvus.recreate()
    for adapter in (edge, milvus):
        collection = SparseCollection(adapter, model)
        collection.add(range(len(items)), items)
        ids, scores = collection.search(items[:1], top_k=5)
        print(f"{adapter!r}: {collection.count()} items; nearest to movie 0: {ids[0].tolist()}")
    milvus.close()
edge.close()
