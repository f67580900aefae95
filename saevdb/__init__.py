"""saevdb: dense embeddings stored as k-sparse SAE codes in a vector database's native sparse index.

The installed packages, one folder each:
- `saevdb.sae_core` (folder `sae_core/`): the model — train, encode, evaluate; no engine code.
- `saevdb.adapters` (folder `adapters/`): one package per engine behind shared protocols and a registry.
- `saevdb` itself (folder `saevdb/`): what users call — `SparseCollection` (`saevdb.collection`),
  streaming ingest (`saevdb.ingest`), Ray ingest (`saevdb.ray_ingest`), the comparison
  (`saevdb.compare`) and the command line (`saevdb.cli`).

`SparseCollection` is imported on first use (PEP 562): an engine child process that imports
`saevdb.adapters` does not load torch.
"""

from importlib import import_module

__all__ = ["SparseCollection"]


def __getattr__(name: str):
    if name == "SparseCollection":
        return import_module("saevdb.collection").SparseCollection
    raise AttributeError(f"module 'saevdb' has no attribute {name!r}")
