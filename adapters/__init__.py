"""Engine adapters: one module per vector database, all behind the `SparseAdapter` protocol.

The registry maps an engine name to its adapter class, imported on first use so that `sae_core`
and the other engines work without every client installed (each engine is an extra:
`pip install saevdb[qdrant]`).
"""

from __future__ import annotations

from importlib import import_module

from adapters.base import ModelInfo, ModelMismatchError, SparseAdapter, UnsupportedFeatureError, upload

ADAPTERS: dict[str, str] = {
    "qdrant": "adapters.qdrant:QdrantAdapter",
    "qdrant-edge": "adapters.qdrant_edge:QdrantEdgeAdapter",
    "milvus": "adapters.milvus:MilvusAdapter",
    "opensearch": "adapters.opensearch:OpenSearchAdapter",
}


def adapter_class(name: str) -> type:
    """The adapter class registered as `name`; a missing client names the extra to install."""
    if name not in ADAPTERS:
        raise ValueError(f"unknown engine {name!r}; known: {sorted(ADAPTERS)}")
    module, cls = ADAPTERS[name].split(":")
    try:
        return getattr(import_module(module), cls)
    except ImportError as e:
        raise ImportError(f"engine {name!r} needs its client: pip install 'saevdb[{name.split('-')[0]}]'") from e


__all__ = [
    "ADAPTERS",
    "ModelInfo",
    "ModelMismatchError",
    "SparseAdapter",
    "UnsupportedFeatureError",
    "adapter_class",
    "upload",
]
