"""saevdb core: a TopK sparse autoencoder that turns dense embeddings into k-sparse codes a vector
database's native sparse index can store and score by inner product.

Names are imported on first use (PEP 562), so a process that needs only a light module (an engine
child process checking a batch with `sae_core.validation`) does not load torch.
"""

import sys
from importlib import import_module
from types import ModuleType

_EXPORTS = {
    "SAEConfig": "saevdb.sae_core.config",
    "load_embeddings": "saevdb.sae_core.data",
    "movielens_item_embeddings": "saevdb.sae_core.data",
    "synthetic_clusters": "saevdb.sae_core.data",
    "encode": "saevdb.sae_core.encode",
    "EvalConfig": "saevdb.sae_core.evaluate",
    "evaluate": "saevdb.sae_core.evaluate",
    "ndcg_at": "saevdb.sae_core.metrics",
    "recall_at": "saevdb.sae_core.metrics",
    "SparseAutoencoder": "saevdb.sae_core.model",
    "fingerprint": "saevdb.sae_core.model_files",
    "load_model": "saevdb.sae_core.model_files",
    "save_model": "saevdb.sae_core.model_files",
    "exact_topk": "saevdb.sae_core.search",
    "TrainConfig": "saevdb.sae_core.train",
    "build_and_fit": "saevdb.sae_core.train",
    "fit": "saevdb.sae_core.train",
}

__all__ = sorted(_EXPORTS)


class _Package(ModuleType):
    """`encode` and `evaluate` are both functions exported here and submodules: once a submodule is
    imported, the import system would bind the module over the name. Refusing that binding keeps
    `from saevdb.sae_core import encode` the function (submodules stay reachable through `sys.modules`)."""

    def __setattr__(self, name: str, value) -> None:
        if name in _EXPORTS and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'saevdb.sae_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
