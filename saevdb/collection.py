"""`SparseCollection`: dense vectors in, dense queries in — the SAE and the engine in between.

Users keep the vectors they have; the wrapper encodes them (CPU or GPU), stores only the k-sparse
codes through any adapter, and encodes queries the way the engine can take them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from saevdb.adapters.base import ModelInfo, SparseAdapter
from saevdb.adapters.batches import BATCH_SIZE
from saevdb.pipeline import encode_and_upload
from saevdb.sae_core.decode import rerank_candidates
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.query import QUERY_MODES, default_query_mode, query_vectors
from saevdb.sae_core.validation import check_embeddings

logger = logging.getLogger(__name__)


class SparseCollection:
    """A collection of dense vectors stored as SAE codes in one engine.

    Args:
        adapter: any `SparseAdapter` (its model must be this model: `ModelInfo.of(model)`).
        model: the trained SAE.
        device: where encoding runs ("cpu", "cuda").
        query_mode: see `saevdb.sae_core.query`; None: `asymmetric` (signed) where the adapter takes
            negative weights (Qdrant) and the query is full width, else `asymmetric_nonneg` (Milvus,
            OpenSearch, and queries cut by `query_k`: `query.default_query_mode`).
        query_k: non-zeros per query (default: `saevdb.sae_core.query.default_query_k`, every weight of `W_dec q̄`).
        rerank: fetch this many engine candidates and reorder them client-side by their score
            against the full signed `W_dec q̄`, decoded from the stored codes (`sae_core.decode`;
            0: the engine's order). It
            recovers what the engine's score loses: a query cut to fewer weights, the negative
            weights Milvus and OpenSearch drop, raw stored values; one code read per candidate.
            Default 0 for `cosine_values` models (at full query width the engine already scores
            that cosine, up to the dropped negative weights) and with `rescore`; 100 for models
            that store raw values.
        rescore: two-stage search (0: off). The adapter must be built with `originals=True`: `add`
            stores each original vector beside its code (on disk, no graph), and `search` takes the
            engine's top `rescore` by the codes and re-scores them by exact cosine with their
            originals inside the engine — `rescore` original vectors read per query instead of a
            client re-rank. Excludes `rerank`.
        batch_size: vectors per upsert.
        value_scale: for an adapter that stores uint8 values: each value is stored as
            round(value × value_scale) in 1..255 (`sae_core.quantize.uint8_scale` of a sample's codes
            gives one) and divided back when codes are read for a re-rank. One global factor, so the
            engine's order is that of the unrounded codes up to rounding.

    Example:
        >>> col = SparseCollection(QdrantEdgeAdapter(ModelInfo.of(model), "shard/"), model)
        >>> col.add(ids, vectors)
        >>> ids, scores = col.search(queries, top_k=10)
    """

    def __init__(
        self,
        adapter: SparseAdapter,
        model: SparseAutoencoder,
        device: str = "cpu",
        query_mode: str | None = None,
        query_k: int | None = None,
        rerank: int | None = None,
        rescore: int = 0,
        batch_size: int = BATCH_SIZE,
        value_scale: float | None = None,
    ) -> None:
        if query_mode is None:
            full_width = query_k is None or query_k >= model.config.h
            query_mode = default_query_mode(adapter.takes_negative_weights(), full_width)
        if query_mode not in QUERY_MODES:
            raise ValueError(f"query_mode must be one of {QUERY_MODES}, got {query_mode!r}")
        if rescore < 0 or (rerank or 0) < 0:
            raise ValueError(f"rerank and rescore must be non-negative, got {rerank} and {rescore}")
        if rescore and rerank:
            raise ValueError("rescore (in the engine, from the originals) and rerank (client-side) exclude each other")
        info = ModelInfo.of(model)
        if getattr(adapter, "model", info) != info:
            raise ValueError("the adapter was built for another model")
        self.adapter, self.model, self.device = adapter, model, device
        self.query_mode, self.query_k, self.batch_size = query_mode, query_k, batch_size
        self.rerank = (0 if rescore or model.config.cosine_values else 100) if rerank is None else rerank
        self.rescore, self.value_scale = rescore, value_scale

    def _check(self, ids: Sequence[int], dense: np.ndarray, payloads: Sequence[dict] | None) -> np.ndarray:
        dense = check_embeddings(dense, self.model.config.d)
        arr = np.asarray(ids)
        if arr.shape != (dense.shape[0],):
            raise ValueError(f"{arr.shape} ids for {dense.shape[0]} vectors")
        if payloads is not None and len(payloads) != arr.size:
            raise ValueError(f"{len(payloads)} payloads for {arr.size} vectors")
        return dense

    def add(self, ids: Sequence[int], dense: np.ndarray, payloads: Sequence[dict] | None = None) -> int:
        """Encode and store `dense [n, d]` under `ids`; everything is checked before anything is sent."""
        dense = self._check(ids, dense, payloads)
        ids = np.asarray(ids)
        parts = (
            (ids[lo : lo + self.batch_size], dense[lo : lo + self.batch_size], _part(payloads, lo, self.batch_size))
            for lo in range(0, len(ids), self.batch_size)
        )
        done = encode_and_upload(
            self.adapter,
            self.model,
            parts,
            device=self.device,
            originals=bool(self.rescore),
            value_scale=self.value_scale,
        )
        return int(done["points"])

    def add_from(self, batches: Iterable[tuple], show_progress_bar: bool | None = None) -> int:
        """Stream `(ids, dense[, payloads])` batches: batch i+1 is encoded while batch i uploads."""
        if show_progress_bar is None:
            show_progress_bar = logger.getEffectiveLevel() <= logging.INFO
        checked = (
            (np.asarray(ids), self._check(ids, dense, payloads), payloads)
            for ids, dense, payloads in ((*batch, None)[:3] for batch in batches)
        )
        done = encode_and_upload(
            self.adapter,
            self.model,
            checked,
            self.device,
            show_progress_bar,
            originals=bool(self.rescore),
            value_scale=self.value_scale,
        )
        return int(done["points"])

    def search(self, dense_queries: np.ndarray, top_k: int = 10, filter: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """`[q, d]` dense queries → `(ids [q, top_k], scores [q, top_k])`, -1 / -inf where fewer match.

        Scores are the engine's, with `rerank` the cosine estimate `q̄ · x̂/|x̂|`, with `rescore` the
        exact cosines with the stored originals."""
        dense_queries = check_embeddings(dense_queries, self.model.config.d, name="queries")
        weights = query_vectors(self.model, dense_queries, self.query_mode, self.query_k)
        if self.rescore:
            return self.adapter.search(
                weights,
                top_k,
                filter,
                rescore_queries=np.asarray(dense_queries, np.float32),
                rescore_depth=self.rescore,
            )
        ids, scores = self.adapter.search(weights, max(top_k, self.rerank), filter)
        if not self.rerank:
            return ids, scores
        return self._rerank(dense_queries, ids, top_k)

    def _rerank(self, queries: np.ndarray, candidates: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            unit = self.model.preprocess(torch.from_numpy(np.asarray(queries, dtype=np.float32))).numpy()
        return rerank_candidates(self.model, unit, candidates, self._retrieve, top_k)

    def _retrieve(self, ids: np.ndarray):
        """The stored codes of `ids`, values as encoded (a uint8 field's divided by its scale)."""
        codes = self.adapter.retrieve(ids)
        if self.value_scale is not None:
            codes = codes.astype(np.float32)
            codes.data /= self.value_scale
        return codes

    def delete(self, ids: Sequence[int]) -> None:
        self.adapter.delete(ids)

    def count(self) -> int:
        return self.adapter.count()


def _part(payloads: Sequence[dict] | None, lo: int, size: int) -> Sequence[dict] | None:
    return None if payloads is None else payloads[lo : lo + size]
