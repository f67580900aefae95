"""The checks every adapter runs on a whole batch before anything is sent, and the batching and
result shapes they share: ids, codes and vectors validated together, engine hits padded to arrays,
codes read back turned into CSR, and a bulk upload with progress and timing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from saevdb.adapters.base import SparseAdapter, UnsupportedFeatureError
from saevdb.sae_core.validation import check_embeddings

logger = logging.getLogger(__name__)

BATCH_SIZE = 512


def check_datatype(datatype: str, offered: Sequence[str]) -> str:
    """`datatype` if the engine stores sparse values that way, else one clear error: every sparse
    adapter takes the option, so callers sweep an engine's precisions without knowing the engine."""
    if datatype not in offered:
        raise UnsupportedFeatureError(f"datatype must be one of {list(offered)} for this engine, got {datatype!r}")
    return datatype


def check_dense_batch(
    ids: Sequence[int], vectors: np.ndarray, d: int, payloads: Sequence[dict] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate one dense upsert batch whole; return ids as int64 and vectors as float32 `[n, d]`."""
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


def check_originals(originals: np.ndarray | None, kept: bool, d: int, n: int) -> np.ndarray | None:
    """The original vectors `[n, d]` of an upsert batch as float32, checked with the batch: required by
    a collection that keeps them (`originals=True`), refused by one that does not."""
    if not kept:
        if originals is not None:
            raise UnsupportedFeatureError(
                "this collection keeps no original vectors: build its adapter with originals=True"
            )
        return None
    if originals is None:
        raise ValueError("this collection keeps the original vectors (originals=True): pass originals=[n, d]")
    originals = np.ascontiguousarray(check_embeddings(originals, d, name="originals"), dtype=np.float32)
    if originals.shape[0] != n:
        raise ValueError(f"originals: {originals.shape[0]} vectors for {n} codes")
    return originals


def check_rescore(queries: np.ndarray | None, depth: int, kept: bool, d: int, n: int, top_k: int) -> np.ndarray | None:
    """Dense queries `[n, d]` of a two-stage search as float32, or None for a search over the codes
    alone. Refused: re-scoring where the collection keeps no originals, a depth without queries, and a
    depth below `top_k` (hits past the re-scored window would keep their code scores)."""
    if queries is None:
        if depth:
            raise ValueError("rescore_depth needs rescore_queries [q, d]")
        return None
    if not kept:
        raise UnsupportedFeatureError("re-scoring needs the original vectors: build the adapter with originals=True")
    if depth < top_k:
        raise ValueError(f"rescore_depth ({depth}) must be at least top_k ({top_k})")
    queries = np.ascontiguousarray(check_embeddings(queries, d, name="rescore_queries"), dtype=np.float32)
    if queries.shape[0] != n:
        raise ValueError(f"{queries.shape[0]} dense queries for {n} sparse queries")
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
        if found := found[:top_k]:
            ids[row, : len(found)], scores[row, : len(found)] = zip(*found, strict=True)
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
