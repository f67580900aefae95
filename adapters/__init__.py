"""Engine adapters: one module per vector database, all behind one small protocol.

The registry maps an engine name to its adapter class; engines are added with their modules
(Qdrant, Milvus, OpenSearch — see issue #3). Nothing here imports an engine client, so
`sae_core` works without any of the optional extras installed.
"""

ADAPTERS: dict[str, type] = {}

__all__ = ["ADAPTERS"]
