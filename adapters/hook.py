"""The base of the ingest hooks: a user's own engine client, wrapped so that the dense calls they
already make store and search SAE codes instead (`QdrantIngestHook`, `MilvusIngestHook`,
`OpenSearchIngestHook`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import scipy.sparse as sp

from saevdb.adapters.base import ModelInfo, SparseAdapter


class IngestHook(ABC):
    """Every attribute a hook does not define is the wrapped client's own.

    The hook holds the model, encodes each call's dense vectors as one batch (validated whole before
    anything is sent) and its dense queries the way the engine takes them (`query_mode`, `query_k`:
    see `saevdb.sae_core.query`), and keeps one adapter per collection, so a collection's model is
    read from the engine once, not on every call. Subclasses make that adapter (`_new_adapter`).
    """

    def __init__(self, client: Any, model, query_mode: str, query_k: int | None = None) -> None:
        from saevdb.sae_core.query import QUERY_MODES

        if query_mode not in QUERY_MODES:
            raise ValueError(f"query_mode must be one of {QUERY_MODES}, got {query_mode!r}")
        self._client, self._model = client, model
        self._info = ModelInfo.of(model)
        self._query_mode, self._query_k = query_mode, query_k
        self._adapters: dict[str, SparseAdapter] = {}

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    @abstractmethod
    def _new_adapter(self, collection: str, **options) -> SparseAdapter:
        """A sparse adapter on `collection` over the wrapped client."""

    def _adapter(self, collection: str, **options) -> SparseAdapter:
        """The collection's adapter; options (given when a collection is created) make a new one."""
        if collection not in self._adapters or options:
            self._adapters[collection] = self._new_adapter(collection, **options)
        return self._adapters[collection]

    def _encode(self, dense: Any) -> sp.csr_matrix:
        """Dense vectors of one call `[n, d]` → their codes."""
        from saevdb.sae_core.encode import encode

        return encode(self._model, np.asarray(dense, dtype=np.float32), show_progress_bar=False)

    def _query_weights(self, dense: Any) -> sp.csr_matrix:
        """Dense queries `[q, d]` → sparse query weights `[q, h]`."""
        from saevdb.sae_core.query import query_vectors

        return query_vectors(self._model, np.asarray(dense, dtype=np.float32), self._query_mode, self._query_k)
