"""A first stage and its exact second stage, estimated offline: recall@10 per query of the codes'
top-R candidates re-scored exactly from the originals.

For a query q̄ (unit), weights w = the query the engine is sent (`query.query_vectors`: the k_q
largest positive weights of `W_dec q̄`, or all h signed ones at full width where the engine scores
them), the engine's sparse index returns the R stored codes c of largest w · c — exactly, as the
sparse indexes of Qdrant, Milvus and OpenSearch rank by the full inner product — and the client
re-scores those R with q̄ · x over the originals and keeps 10. The estimate is that pipeline on a
sample: exact sparse search (`search.exact_topk` over CSR), exact rescoring (`search.rerank`).
Per-query hit counts, not means, so a verdict can be bootstrapped over the queries. A hit is a
returned item whose exact score reaches the query's true 10th score (`TIE_TOLERANCE` below it): real
sets hold exact duplicates (a third of MovieLens' ALS items share their vector with another), and
counting ids would score a tie returned in place of the one the exact search listed as a miss.
"""

from __future__ import annotations

import numpy as np

from saevdb.sae_core.encode import encode
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.quantize import stored_uint8
from saevdb.sae_core.query import default_query_mode, query_vectors
from saevdb.sae_core.search import exact_topk, rerank

TOP = 10
TIE_TOLERANCE = 1e-5


def hits_at_10(queries: np.ndarray, database: np.ndarray, found: np.ndarray, tenth: np.ndarray) -> np.ndarray:
    """`[q]` int: how many of `found[:, :10]` (ids, -1 for none) score `queries [q, d] · database[id]`
    at least the true 10th score `tenth [q]` (less `TIE_TOLERANCE`)."""
    ids = found[:, :TOP]
    scores = np.einsum("qcd,qd->qc", database[np.maximum(ids, 0)], queries)
    return ((scores >= tenth[:, None] - TIE_TOLERANCE) & (ids >= 0)).sum(axis=1)


def rescored_hits(
    queries: np.ndarray, candidates: np.ndarray, database: np.ndarray, tenth: np.ndarray, depth: int
) -> np.ndarray:
    """`[q]` hits@10 once each query's first `depth` candidates `[q, ≥depth]` are re-scored exactly
    with `queries [q, d] · database[ids]`, the originals."""
    found, _ = rerank(queries, candidates[:, :depth], lambda ids: database[ids], TOP)
    return hits_at_10(queries, database, found, tenth)


def two_stage_hits(
    model: SparseAutoencoder,
    database: np.ndarray,
    query_rows: np.ndarray,
    tenth: np.ndarray,
    value_dtype: str,
    widths: tuple[int, ...],
    depths: tuple[int, ...],
    signed_weights: bool,
) -> dict[tuple[int, int], np.ndarray]:
    """Per (query width k_q, depth R): `[q]` hits@10 of the two-stage search on `database [n, d]`
    (unit rows; the rows `query_rows` are the queries, each excluded from its own results), the
    codes stored as `value_dtype` (uint8 as the engine quantizes them), `tenth [q]` each query's
    true 10th score."""
    codes = encode(
        model, database, value_dtype="float32" if value_dtype == "uint8" else value_dtype, show_progress_bar=False
    )
    if value_dtype == "uint8":
        codes = stored_uint8(codes)
    queries = database[query_rows]
    out = {}
    for width in widths:
        mode = default_query_mode(signed_weights, width >= model.config.h)
        found, _ = exact_topk(query_vectors(model, queries, mode, width), codes, max(depths), exclude=query_rows)
        for depth in depths:
            out[(width, depth)] = rescored_hits(queries, found, database, tenth, depth)
    return out
