"""Engine adapters, installed as `saevdb.adapters`: one package per vector database (`qdrant/`,
`milvus/`, `opensearch/`), each holding its sparse adapter, dense adapter, ingest hook, local engine
and constants, behind the protocols of `base` and the registry of `registry`.

Importing this package needs no engine client; an engine's own package needs its extra.
"""

from __future__ import annotations

from saevdb.adapters.base import DenseAdapter, ModelInfo, ModelMismatchError, SparseAdapter, UnsupportedFeatureError
from saevdb.adapters.batches import upload
from saevdb.adapters.launcher import LocalEngine
from saevdb.adapters.registry import DEFAULT_ENGINES, ENGINES, EngineSpec, adapter_class, engine_spec, local_engine

__all__ = [
    "DEFAULT_ENGINES",
    "ENGINES",
    "DenseAdapter",
    "EngineSpec",
    "LocalEngine",
    "ModelInfo",
    "ModelMismatchError",
    "SparseAdapter",
    "UnsupportedFeatureError",
    "adapter_class",
    "engine_spec",
    "local_engine",
    "upload",
]
