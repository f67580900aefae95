"""Engine adapters: one module per vector database, all behind the `SparseAdapter` protocol.

The registry maps an engine name to its adapter class, imported on first use so that `sae_core`
and the other engines work without every client installed (each engine is an extra:
`pip install saevdb[qdrant]`).
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from adapters.base import (
    DenseAdapter,
    LocalEngine,
    ModelInfo,
    ModelMismatchError,
    SparseAdapter,
    UnsupportedFeatureError,
    upload,
)

ADAPTERS: dict[str, str] = {
    "qdrant": "adapters.qdrant:QdrantAdapter",
    "qdrant-edge": "adapters.qdrant_edge:QdrantEdgeAdapter",
    "milvus": "adapters.milvus:MilvusAdapter",
    "opensearch": "adapters.opensearch:OpenSearchAdapter",
}


# The engine each backend runs on this machine when no server URL is given.
ENGINES: dict[str, str] = {
    "qdrant": "adapters.edge_process:QdrantEdgeProcess",
    "milvus": "adapters.milvus_lite:MilvusLiteServer",
    "opensearch": "adapters.opensearch_node:OpenSearchNode",
}


def _load(registry: dict[str, str], name: str, what: str):
    if name not in registry:
        raise ValueError(f"unknown {what} {name!r}; known: {sorted(registry)}")
    module, cls = registry[name].split(":")
    try:
        return getattr(import_module(module), cls)
    except ImportError as e:
        raise ImportError(f"engine {name!r} needs its client: pip install 'saevdb[{name.split('-')[0]}]'") from e


def adapter_class(name: str) -> type:
    """The adapter class registered as `name`; a missing client names the extra to install."""
    return _load(ADAPTERS, name, "engine")


def local_engine(name: str, path: str | Path) -> LocalEngine:
    """The embedded engine of backend `name` ("qdrant", "milvus", "opensearch") on data folder `path`,
    not started yet: use it as a context manager."""
    return _load(ENGINES, name, "backend")(Path(path))


__all__ = [
    "ADAPTERS",
    "DenseAdapter",
    "ENGINES",
    "LocalEngine",
    "ModelInfo",
    "ModelMismatchError",
    "SparseAdapter",
    "UnsupportedFeatureError",
    "adapter_class",
    "local_engine",
    "upload",
]
