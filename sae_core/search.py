"""Exact top-k search by inner product, in blocks of queries so memory stays bounded.

Works for dense `[n, d]` arrays and for scipy CSR codes alike, because both support `@`; the
result is what an engine with an exact index would return for the same scores.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

Matrix = np.ndarray | sp.csr_matrix


def exact_topk(
    queries: Matrix,
    database: Matrix,
    k: int,
    exclude: np.ndarray | None = None,
    block_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k database rows by inner product for each query.

    Args:
        queries: `[q, d]` dense or CSR.
        database: `[n, d]` dense or CSR.
        k: neighbours per query (at most n).
        exclude: optional `[q]` database row to skip for each query (the query itself when the
            queries are rows of the database), or -1 for none.
        block_size: queries scored at once; memory is `block_size × n` floats.

    Returns:
        `(ids [q, k] int64, scores [q, k] float32)`, best first; id -1 (score -inf) for an
        excluded row when k reaches it.
    """
    k = min(k, database.shape[0])
    db_t = database.T.tocsr() if sp.issparse(database) else np.ascontiguousarray(database.T)
    ids = np.empty((queries.shape[0], k), dtype=np.int64)
    scores = np.empty((queries.shape[0], k), dtype=np.float32)
    for start in range(0, queries.shape[0], block_size):
        block = queries[start : start + block_size] @ db_t
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        block = block.astype(np.float32, copy=False)
        rows = np.arange(block.shape[0])
        if exclude is not None:
            skip = exclude[start : start + block_size]
            block[rows[skip >= 0], skip[skip >= 0]] = -np.inf
        part = np.argpartition(-block, k - 1, axis=1)[:, :k]
        part_scores = np.take_along_axis(block, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        ids[start : start + block.shape[0]] = np.take_along_axis(part, order, axis=1)
        scores[start : start + block.shape[0]] = np.take_along_axis(part_scores, order, axis=1)
    ids[scores == -np.inf] = -1  # an excluded row, reached only when k takes in every row
    return ids, scores


def rerank(
    queries: np.ndarray, candidates: np.ndarray, item_vectors, k: int, block_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Reorder each query's candidate ids `[q, c]` by `query · item_vectors(ids)`, keep the best k.

    `item_vectors(ids [m]) → [m, d]` decodes stored items on demand (e.g. SAE reconstructions), so
    only the candidates are ever materialised. Ids of -1 (fewer candidates than c) score -inf.

    Returns:
        `(ids [q, k], scores [q, k])`, best first.
    """
    k = min(k, candidates.shape[1])
    ids = np.empty((queries.shape[0], k), dtype=np.int64)
    scores = np.empty((queries.shape[0], k), dtype=np.float32)
    for start in range(0, queries.shape[0], block_size):
        cand = candidates[start : start + block_size]
        vecs = item_vectors(np.maximum(cand, 0).ravel()).reshape(cand.shape[0], cand.shape[1], -1)
        s = np.einsum("qcd,qd->qc", vecs, queries[start : start + block_size]).astype(np.float32)
        s[cand < 0] = -np.inf
        order = np.argsort(-s, axis=1, kind="stable")[:, :k]
        ids[start : start + cand.shape[0]] = np.take_along_axis(cand, order, axis=1)
        scores[start : start + cand.shape[0]] = np.take_along_axis(s, order, axis=1)
    return ids, scores
