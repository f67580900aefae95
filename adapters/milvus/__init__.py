"""Milvus: codes in a `SPARSE_FLOAT_VECTOR` field with a `SPARSE_INVERTED_INDEX` (inner product,
non-negative weights). `MilvusAdapter`, `MilvusDenseAdapter`, `MilvusIngestHook` (pymilvus: a server
or Milvus Lite) and `MilvusLiteServer` (the Milvus Lite 2.5 binary on loopback: the local engine)."""

from saevdb.adapters.milvus.dense import MilvusDenseAdapter
from saevdb.adapters.milvus.engine import MilvusLiteServer
from saevdb.adapters.milvus.hook import MilvusIngestHook
from saevdb.adapters.milvus.sparse import MilvusAdapter

__all__ = ["MilvusAdapter", "MilvusDenseAdapter", "MilvusIngestHook", "MilvusLiteServer"]
