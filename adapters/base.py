"""What every engine adapter implements: the sparse and dense protocols, the model identity a
collection is tied to, and the two errors adapters raise besides `ValueError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp


class UnsupportedFeatureError(ValueError):
    """The engine cannot do what was asked (e.g. negative weights in OpenSearch rank_features): a
    request this engine cannot take, so a `ValueError` to callers that catch bad input."""


class NodeUnreachable(RuntimeError):
    """A node named in a URL does not answer: nothing is created or written."""


class ModelMismatchError(ValueError):
    """The collection was written by another SAE model: its codes are not comparable."""


@dataclass(frozen=True)
class ModelInfo:
    """The identity of the SAE whose codes a collection holds; stored in the collection's metadata."""

    fingerprint: str
    d: int
    h: int
    k: int
    signed: bool

    @classmethod
    def of(cls, model) -> ModelInfo:
        from saevdb.sae_core.model_files import fingerprint  # torch: only when a model is at hand

        c = model.config
        return cls(fingerprint=fingerprint(model), d=c.d, h=c.h, k=c.k, signed=c.signed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check_same(self, stored: dict[str, Any] | None, collection: str) -> None:
        """Raise `ModelMismatchError` unless `stored` (read back from the engine) is this model."""
        if stored is None:
            raise ModelMismatchError(f"collection {collection!r} carries no saevdb model metadata")
        if stored.get("fingerprint") != self.fingerprint:
            raise ModelMismatchError(
                f"collection {collection!r} holds codes of model {str(stored.get('fingerprint'))[:16]}, "
                f"not of {self.fingerprint[:16]}: re-encode into a new collection"
            )


@runtime_checkable
class SparseAdapter(Protocol):
    """One engine collection of k-sparse codes, scored by inner product.

    Built with `originals=True` (where the engine can), the collection also keeps each point's
    original dense vector `[d]` where the search does not hold it in RAM (on disk, no graph), so a
    two-stage search can take the codes' top candidates and re-score them exactly by cosine with the
    originals, inside the engine; adapters that cannot refuse the option (`UnsupportedFeatureError`).
    """

    def recreate(self) -> None:
        """Drop the collection if it exists and create it empty, tagged with the model."""

    def drop(self) -> None:
        """Remove the collection and its data; absent is fine."""

    def exists(self) -> bool:
        """Whether the collection is there (written by any model: writes and queries check which)."""

    def check_model(self) -> None:
        """Raise unless the collection exists and holds this model's codes (read once, or on every call
        behind an alias). Every write and query calls it; ingest hooks call it before passing through."""

    def upsert(
        self,
        ids: Sequence[int],
        codes: sp.csr_matrix,
        payloads: Sequence[dict] | None = None,
        originals: np.ndarray | None = None,
    ) -> None:
        """Insert or replace one batch; the whole batch is validated before any of it is sent.
        `originals [n, d]` is required by a collection built with `originals=True`, refused otherwise."""

    def takes_negative_weights(self) -> bool:
        """Whether the engine stores and scores negative sparse weights (the registry's `signed`): it
        decides the query a `SparseCollection` sends by default (`sae_core.query.default_query_mode`)."""

    def search(
        self,
        queries: sp.csr_matrix,
        top_k: int,
        filter: Any = None,
        rescore_queries: np.ndarray | None = None,
        rescore_depth: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`[q, h]` query weights → `(ids [q, top_k], scores [q, top_k])`, best first; -1 pads.

        With `rescore_queries [q, d]` (a collection built with `originals=True`), the engine's top
        `rescore_depth` by the codes are re-scored by exact cosine with the stored originals, in the
        engine, and the scores are those cosines."""

    def retrieve(self, ids: Sequence[int]) -> sp.csr_matrix:
        """Stored codes of `ids` as CSR `[len(ids), h]`, in that order; an absent id gives an empty row."""

    def delete(self, ids: Sequence[int]) -> None:
        """Remove points by id; absent ids are ignored."""

    def count(self) -> int:
        """Number of stored points."""

    def stats(self) -> dict[str, Any]:
        """The engine's own figures for the collection (points, sizes); process memory is the local
        engine's to measure (`LocalEngine.rss_bytes`), not the adapter's."""

    def optimize(self) -> None:
        """Finish indexing after a bulk load (merge segments, build the index); timed by `compare`."""

    def point_alias(self, alias: str) -> str | None:
        """Point `alias` at this collection in one atomic step; return the collection it named before.

        An adapter opened on an alias checks the model behind it on every call, so after a switch a
        client still holding the old model gets `ModelMismatchError`, never a mix of two models."""

    def close(self) -> None:
        """Release the connection or embedded engine."""


@runtime_checkable
class DenseAdapter(Protocol):
    """The baseline a user has today: the same engine holding the dense vectors in its usual index,
    scored by cosine, as float32 or with one of the engine's built-in quantizations
    (`quantization=`, a name from the registry's `quantizations`). Constructed like the engine's
    sparse adapter, with `d` for the model."""

    def recreate(self) -> None:
        """Drop the collection if it exists and create it empty."""

    def drop(self) -> None:
        """Remove the collection and its data; absent is fine."""

    def upsert(self, ids: Sequence[int], vectors: np.ndarray, payloads: Sequence[dict] | None = None) -> None:
        """Insert or replace one batch `[n, d]`; the whole batch is validated before any of it is sent."""

    def optimize(self) -> None:
        """Finish indexing after a bulk load (build HNSW graphs, merge segments)."""

    def search(self, queries: np.ndarray, top_k: int, filter: Any = None, **params) -> tuple[np.ndarray, np.ndarray]:
        """`[q, d]` → `(ids [q, top_k], scores [q, top_k])`, best first; -1 pads. `params` are the
        engine's search-time knobs (e.g. Qdrant's `oversampling`, `rescore`, `hnsw_ef`), as listed by
        its `options.py`; one the engine does not know is refused."""

    def count(self) -> int:
        """Number of stored points."""

    def stats(self) -> dict[str, Any]:
        """The engine's own figures for the collection (points, sizes); process memory is the local
        engine's to measure (`LocalEngine.rss_bytes`), not the adapter's."""

    def close(self) -> None:
        """Release the connection or embedded engine."""
