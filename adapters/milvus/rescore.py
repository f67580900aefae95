"""The second stage of a two-stage Milvus search: the codes' candidates re-scored by exact cosine
with the originals stored beside them, inside the engine.

For query `i` with dense query `q_i [d]` and candidate ids `C_i` (the codes' top `rescore_depth`),
the engine answers `top_k` of `argmax_{j ∈ C_i} cos(q_i, x_j)` by a search on the originals field
(FLAT index, metric COSINE) filtered to `id in C_i`: Milvus scores only rows that pass the filter,
so each query reads `|C_i| ≤ rescore_depth` originals and costs one round trip.

One batched call instead (all queries, filter `id in ⋃ C_i`, limit `|⋃ C_i|`, own candidates kept
client-side) would score every query against the union, `q × |⋃ C_i|` cosines instead of
`Σ |C_i|` (up to `q` times the work), and carry them all back. Hybrid search does not fit: its rankers fuse two
searches' scores (RRF or weighted sums) over the whole collection, never a cosine of the codes'
candidates alone.
"""

from __future__ import annotations

import numpy as np
from pymilvus import MilvusClient

from saevdb.adapters.batches import pad_results
from saevdb.adapters.milvus.constants import ORIGINALS_FIELD


def rescore_by_originals(
    client: MilvusClient,
    collection: str,
    candidates: np.ndarray,
    rescore_queries: np.ndarray,
    top_k: int,
    timeout: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates `[q, depth]` (-1 pads) and dense queries `[q, d]` → `(ids, cosines)` `[q, top_k]`.

    One filtered COSINE search per query on `ORIGINALS_FIELD`; a query without candidates gets an
    all-padding row without a call."""
    hits: list[list[tuple[int, float]]] = []
    for query, row in zip(rescore_queries, candidates, strict=True):
        ids = [int(i) for i in row if i >= 0]
        if not ids:
            hits.append([])
            continue
        found = client.search(
            collection,
            data=[np.asarray(query, dtype=np.float32).tolist()],
            anns_field=ORIGINALS_FIELD,
            limit=min(top_k, len(ids)),
            filter=f"id in {ids}",
            search_params={"metric_type": "COSINE"},
            timeout=timeout,
        )[0]
        hits.append([(int(hit["id"]), hit["distance"]) for hit in found])
    return pad_results(hits, top_k)
