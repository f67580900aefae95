"""`SparseCollection`: dense vectors in, dense queries in — the SAE and the engine in between.

Users keep the vectors they have; the wrapper encodes them (CPU or GPU), stores only the k-sparse
codes through any adapter, and encodes queries the way the engine can take them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from adapters.base import BATCH_SIZE, ModelInfo, SparseAdapter
from sae_core.decode import rerank_candidates
from sae_core.encode import encode
from sae_core.model import SparseAutoencoder
from sae_core.query import QUERY_MODES, query_vectors
from sae_core.validation import check_embeddings

logger = logging.getLogger(__name__)


class SparseCollection:
    """A collection of dense vectors stored as SAE codes in one engine.

    Args:
        adapter: any `SparseAdapter` (its model must be this model: `ModelInfo.of(model)`).
        model: the trained SAE.
        device: where encoding runs ("cpu", "cuda").
        query_mode: see `sae_core.query`; "asymmetric_nonneg" works on every engine.
        query_k: non-zeros per query (default: `sae_core.query.default_query_k`, 4 × the model's k).
        rerank: fetch this many engine candidates and reorder them by `q̄ · x̂/|x̂|`, the cosine
            with their reconstructions decoded from the stored codes (0: the engine's order). On
            WordNet–MiniLM (h=4096, k=32, 128 bytes per vector, default query width) this lifts
            recall@10 from 0.63 to 0.77.
        batch_size: vectors per upsert.

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
        query_mode: str = "asymmetric_nonneg",
        query_k: int | None = None,
        rerank: int = 100,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        if query_mode not in QUERY_MODES:
            raise ValueError(f"query_mode must be one of {QUERY_MODES}, got {query_mode!r}")
        info = ModelInfo.of(model)
        if getattr(adapter, "model", info) != info:
            raise ValueError("the adapter was built for another model")
        self.adapter, self.model, self.device = adapter, model, device
        self.query_mode, self.query_k, self.batch_size = query_mode, query_k, batch_size
        self.rerank = rerank

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
        codes = encode(self.model, dense, device=self.device, show_progress_bar=False)
        for lo in range(0, codes.shape[0], self.batch_size):
            part = slice(lo, lo + self.batch_size)
            self.adapter.upsert(np.asarray(ids)[part], codes[part], None if payloads is None else payloads[part])
        return codes.shape[0]

    def add_from(self, batches: Iterable[tuple], show_progress_bar: bool | None = None) -> int:
        """Stream `(ids, dense[, payloads])` batches: batch i+1 is encoded while batch i uploads."""
        if show_progress_bar is None:
            show_progress_bar = logger.getEffectiveLevel() <= logging.INFO
        total = 0
        with (
            ThreadPoolExecutor(max_workers=1) as uploader,
            tqdm(desc="Ingesting", unit="vectors", disable=not show_progress_bar) as bar,
        ):
            pending = None
            for batch in batches:
                ids, dense, payloads = (*batch, None)[:3]
                dense = self._check(ids, dense, payloads)
                codes = encode(self.model, dense, device=self.device, show_progress_bar=False)
                if pending is not None:
                    bar.update(pending.result())
                pending = uploader.submit(self._upload, np.asarray(ids), codes, payloads)
                total += codes.shape[0]
            if pending is not None:
                bar.update(pending.result())
        return total

    def _upload(self, ids: np.ndarray, codes, payloads) -> int:
        self.adapter.upsert(ids, codes, payloads)
        return codes.shape[0]

    def search(self, dense_queries: np.ndarray, top_k: int = 10, filter: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """`[q, d]` dense queries → `(ids [q, top_k], scores [q, top_k])`, -1 / -inf where fewer match.

        Scores are the engine's, or with `rerank` the cosine estimate `q̄ · x̂/|x̂|`."""
        dense_queries = check_embeddings(dense_queries, self.model.config.d, name="queries")
        weights = query_vectors(self.model, dense_queries, self.query_mode, self.query_k)
        ids, scores = self.adapter.search(weights, max(top_k, self.rerank), filter)
        if not self.rerank:
            return ids, scores
        return self._rerank(dense_queries, ids, top_k)

    def _rerank(self, queries: np.ndarray, candidates: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            unit = self.model.preprocess(torch.from_numpy(np.asarray(queries, dtype=np.float32))).numpy()
        return rerank_candidates(self.model, unit, candidates, self.adapter.retrieve, top_k)

    def delete(self, ids: Sequence[int]) -> None:
        self.adapter.delete(ids)

    def count(self) -> int:
        return self.adapter.count()
