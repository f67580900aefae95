"""What every engine adapter implements, and the parts they share: validation of a whole batch
before anything is sent, batching with progress and timing, and the model identity that a
collection is tied to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

BATCH_SIZE = 512


class UnsupportedFeatureError(ValueError):
    """The engine cannot do what was asked (e.g. negative weights in OpenSearch rank_features): a
    request this engine cannot take, so a `ValueError` to callers that catch bad input."""


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
        from sae_core.model_files import fingerprint

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
    """One engine collection of k-sparse codes, scored by inner product."""

    def recreate(self) -> None:
        """Drop the collection if it exists and create it empty, tagged with the model."""

    def drop(self) -> None:
        """Remove the collection and its data; absent is fine."""

    def exists(self) -> bool:
        """Whether the collection is there (written by any model: writes and queries check which)."""

    def upsert(self, ids: Sequence[int], codes: sp.csr_matrix, payloads: Sequence[dict] | None = None) -> None:
        """Insert or replace one batch; the whole batch is validated before any of it is sent."""

    def search(self, queries: sp.csr_matrix, top_k: int, filter: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """`[q, h]` query weights → `(ids [q, top_k], scores [q, top_k])`, best first; -1 pads."""

    def retrieve(self, ids: Sequence[int]) -> sp.csr_matrix:
        """Stored codes of `ids` as CSR `[len(ids), h]`, in that order; an absent id gives an empty row."""

    def delete(self, ids: Sequence[int]) -> None:
        """Remove points by id; absent ids are ignored."""

    def count(self) -> int:
        """Number of stored points."""

    def stats(self) -> dict[str, Any]:
        """Engine-reported sizes, and resident memory where the engine's process is visible."""

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
    """The baseline a user has today: the same engine holding the dense float32 vectors in its usual
    HNSW index, scored by cosine. Constructed like the engine's sparse adapter, with `d` for the model."""

    def recreate(self) -> None:
        """Drop the collection if it exists and create it empty."""

    def drop(self) -> None:
        """Remove the collection and its data; absent is fine."""

    def upsert(self, ids: Sequence[int], vectors: np.ndarray, payloads: Sequence[dict] | None = None) -> None:
        """Insert or replace one batch `[n, d]`; the whole batch is validated before any of it is sent."""

    def optimize(self) -> None:
        """Finish indexing after a bulk load (build HNSW graphs, merge segments)."""

    def search(self, queries: np.ndarray, top_k: int, filter: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """`[q, d]` → `(ids [q, top_k], scores [q, top_k])`, best first; -1 pads."""

    def count(self) -> int:
        """Number of stored points."""

    def stats(self) -> dict[str, Any]:
        """Engine-reported sizes, and resident memory where the engine's process is visible."""

    def close(self) -> None:
        """Release the connection or embedded engine."""


@runtime_checkable
class LocalEngine(Protocol):
    """An engine this library starts on this machine (the embedded default of each backend): a
    context manager over a data folder, whose process can be measured, stopped and killed."""

    pid: int | None

    def start(self) -> LocalEngine:
        """Start the engine on the data folder (data already there is kept) and wait until it serves."""

    def stop(self) -> None:
        """Stop it cleanly; its data stays in the folder."""

    def kill(self) -> None:
        """End it abruptly, as a crash would."""

    def rss_bytes(self) -> int | None:
        """Resident memory of the engine's process."""

    def sparse_adapter(self, model: ModelInfo, name: str, **options) -> SparseAdapter:
        """A connected `SparseAdapter` on collection `name`."""

    def dense_adapter(self, d: int, name: str, **options) -> DenseAdapter:
        """A connected `DenseAdapter` on collection `name`."""


def check_dense_batch(
    ids: Sequence[int], vectors: np.ndarray, d: int, payloads: Sequence[dict] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate one dense upsert batch whole; return ids as int64 and vectors as float32 `[n, d]`."""
    from sae_core.validation import check_embeddings

    vectors = np.ascontiguousarray(check_embeddings(vectors, d, name="vectors"), dtype=np.float32)
    return _check_ids(ids, vectors.shape[0], payloads), vectors


def _check_ids(ids: Sequence[int], n: int, payloads: Sequence[dict] | None) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{arr.shape} ids for {n} codes")
    if not np.issubdtype(arr.dtype, np.integer) or (arr < 0).any():
        raise ValueError("ids must be non-negative integers")
    if np.unique(arr).size != arr.size:
        raise ValueError("duplicate ids in one batch")
    if payloads is not None and len(payloads) != arr.size:
        raise ValueError(f"{len(payloads)} payloads for {arr.size} ids")
    return arr.astype(np.int64)


def check_batch(
    ids: Sequence[int],
    codes: sp.csr_matrix,
    h: int,
    payloads: Sequence[dict] | None,
    nonneg: bool,
    uint8: bool = False,
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Validate one upsert batch whole; return ids as int64 and codes as sorted float32 CSR.

    `nonneg`: the engine rejects negative weights; `uint8`: the storage takes only 0..255."""
    if not sp.issparse(codes):
        raise ValueError(f"codes must be a scipy sparse matrix, got {type(codes).__name__}")
    codes = sp.csr_matrix(codes, dtype=np.float32)
    if codes.shape[0] == 0:
        raise ValueError("empty batch")
    if codes.shape[1] != h:
        raise ValueError(f"codes have width {codes.shape[1]}, the collection's model has h={h}")
    arr = _check_ids(ids, codes.shape[0], payloads)
    if not np.isfinite(codes.data).all():
        raise ValueError("codes contain NaN or inf")
    if nonneg and (codes.data < 0).any():
        raise UnsupportedFeatureError("this engine stores only non-negative weights; encode with signed=False")
    if uint8 and ((codes.data < 0) | (codes.data > 255) | (codes.data != np.rint(codes.data))).any():
        raise ValueError("uint8 storage takes whole numbers 0..255: quantise the codes first (sae_core.quantize)")
    codes.sort_indices()
    return arr, codes


def check_queries(queries: sp.csr_matrix, h: int, nonneg: bool) -> sp.csr_matrix:
    """Query weights `[q, h]` as float32 CSR, or one clear error before anything is sent."""
    queries = sp.csr_matrix(queries, dtype=np.float32)
    if queries.shape[1] != h:
        raise ValueError(f"queries have width {queries.shape[1]}, the collection's model has h={h}")
    if nonneg and (queries.data < 0).any():
        raise UnsupportedFeatureError("this engine takes only non-negative query weights")
    return queries


def upload(
    adapter: SparseAdapter,
    ids: Sequence[int],
    codes: sp.csr_matrix,
    payloads: Sequence[dict] | None = None,
    batch_size: int = BATCH_SIZE,
    show_progress_bar: bool | None = None,
) -> dict[str, float]:
    """Upsert in batches with a progress bar; returns `{"points", "seconds", "points_per_s"}`."""
    if show_progress_bar is None:
        show_progress_bar = logger.getEffectiveLevel() <= logging.INFO
    start = time.perf_counter()
    with tqdm(total=codes.shape[0], desc="Upserting", unit="vectors", disable=not show_progress_bar) as bar:
        for lo in range(0, codes.shape[0], batch_size):
            hi = lo + batch_size
            adapter.upsert(ids[lo:hi], codes[lo:hi], None if payloads is None else payloads[lo:hi])
            bar.update(min(hi, codes.shape[0]) - lo)
    seconds = time.perf_counter() - start
    return {"points": codes.shape[0], "seconds": seconds, "points_per_s": codes.shape[0] / max(seconds, 1e-9)}


def pad_results(hits: list[list[tuple[int, float]]], top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-query `[(id, score), ...]` lists → `(ids, scores)` arrays `[q, top_k]`, padded with -1 / -inf."""
    ids = np.full((len(hits), top_k), -1, dtype=np.int64)
    scores = np.full((len(hits), top_k), -np.inf, dtype=np.float32)
    for row, found in enumerate(hits):
        for col, (point, score) in enumerate(found[:top_k]):
            ids[row, col], scores[row, col] = point, score
    return ids, scores


def rows_to_csr(ids: Sequence[int], found: dict[int, tuple[Sequence[int], Sequence[float]]], h: int) -> sp.csr_matrix:
    """`{id: (indices, values)}` read back from an engine → CSR `[len(ids), h]` in the order of `ids`."""
    indptr, indices, values = [0], [], []
    for point in ids:
        idx, val = found.get(int(point), ((), ()))
        indices.extend(idx)
        values.extend(val)
        indptr.append(len(indices))
    out = sp.csr_matrix(
        (np.asarray(values, dtype=np.float32), np.asarray(indices, dtype=np.int32), np.asarray(indptr)),
        shape=(len(ids), h),
    )
    out.sort_indices()
    return out
