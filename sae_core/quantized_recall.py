"""The engines' built-in quantizations, estimated offline the way `first_stage` estimates the codes:
recall@10 per query of an exact scan over the quantized vectors, without and with rescoring of the
top `oversampling × 10` from the originals.

A quantization is (kind, bits per coordinate) over unit rows x and queries q̄; the score is q̄' · x'
of the forms below, which the engine's own kernels approximate:

- "exact": x itself (float32 vectors).
- "scalar": per-coordinate 8-bit codes (faiss SQ8; Qdrant's scalar int8 uses one range for all).
- "sign": sign(x), the query as sign(q̄) too (binary quantization, 1-bit query).
- "sign_query": sign(x), the query kept at full precision (binary with an 8-bit query: 8 bits are
  close to exact for the query side).
- "rotation": a random rotation, then each coordinate at `bits` bits by its own Lloyd quantizer
  (TurboQuant-like; `baselines.rotation_scalar`).
- "pq": product quantization with d·bits/8 sub-quantizers of 8 bits (`baselines.product_quantization`).

The scan is exhaustive where the engine walks an HNSW graph, so the estimate is the quantization's
recall with nothing lost to the graph: an upper bound for the built-in, never one in the codes'
favour. Quantizers are trained on the database rows, as the engine trains on what it stores.
"""

from __future__ import annotations

import numpy as np

from saevdb.sae_core.baselines import int8_scalar, product_quantization, rotation_scalar
from saevdb.sae_core.first_stage import TOP, hits_at_10, rescored_hits
from saevdb.sae_core.search import exact_topk

KINDS = ("exact", "scalar", "sign", "sign_query", "rotation", "pq")


def quantized_space(kind: str, bits: float, database: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(database' [n, d'], queries' [q, d'])` whose inner products are the quantization's scores."""
    d = database.shape[1]
    if kind == "exact":
        return database, queries
    if kind == "scalar":
        decoded, q, _ = int8_scalar(database, database, queries, d)
        return decoded, q
    if kind in ("sign", "sign_query"):
        signs = np.where(database > 0, 1.0, -1.0).astype(np.float32)
        return signs, (np.where(queries > 0, 1.0, -1.0).astype(np.float32) if kind == "sign" else queries)
    if kind in ("rotation", "pq"):
        budget = max(1, int(round(bits * d / 8)))
        decoded, q, _ = (rotation_scalar if kind == "rotation" else product_quantization)(
            database, database, queries, budget
        )
        return decoded, q
    raise ValueError(f"quantization kind must be one of {KINDS}, got {kind!r}")


def quantized_hits(
    kind: str,
    bits: float,
    database: np.ndarray,
    query_rows: np.ndarray,
    tenth: np.ndarray,
    oversamplings: tuple[float, ...],
) -> dict[float, np.ndarray]:
    """Per oversampling (0: no rescoring): `[q]` hits@10 on `database [n, d]` (unit rows; `query_rows`
    are the queries, excluded from their own results), `tenth [q]` each query's true 10th score."""
    queries = database[query_rows]
    db_q, q_q = quantized_space(kind, bits, database, queries)
    deepest = max([TOP, *(int(round(f * TOP)) for f in oversamplings if f)])
    found, _ = exact_topk(q_q, db_q, deepest, exclude=query_rows)
    out = {}
    for factor in oversamplings:
        depth = int(round(factor * TOP))
        out[factor] = (
            hits_at_10(queries, database, found, tenth)
            if not factor
            else rescored_hits(queries, found, database, tenth, depth)
        )
    return out
