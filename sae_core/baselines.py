"""Dense-compression baselines at a given byte budget per vector, all from faiss.

Each baseline returns `(database, queries, bytes_per_vector)`: its decoded items and the queries it
scores them with. Evaluation ranks by the cosine of the two (`sae_core.evaluate`), so one exact
search (`search.exact_topk`) serves them all. Vectors are unit-normalised first: every method then
approximates cosine similarity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import faiss
import numpy as np

logger = logging.getLogger(__name__)

Baseline = Callable[[np.ndarray, np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray, int]]


def _trained_pq(train: np.ndarray, m: int, nbits: int) -> faiss.ProductQuantizer:
    """A faiss PQ trained on `train`. faiss's k-means warns once per sub-quantizer (m times) when it
    has fewer than 39 rows per centroid; small data sets (MovieLens' 9k items) always do, so that
    is said once here and faiss is told the rows are what there is."""
    pq = faiss.ProductQuantizer(train.shape[1], m, nbits)
    advised = pq.cp.min_points_per_centroid * (1 << nbits)
    if train.shape[0] < advised:
        logger.info(
            "PQ: %d training rows for %d centroids per sub-space (faiss advises %d)",
            train.shape[0],
            1 << nbits,
            advised,
        )
        pq.cp.min_points_per_centroid = 1
    pq.train(train)
    return pq


def _pca(train: np.ndarray, dims: int) -> faiss.PCAMatrix:
    pca = faiss.PCAMatrix(train.shape[1], dims)
    pca.train(train)
    return pca


def pca_float32(train, database, queries, budget):
    """Project to budget/4 principal components, stored as float32."""
    pca = _pca(train, max(1, min(budget // 4, train.shape[1])))
    return pca.apply(database), pca.apply(queries), 4 * pca.d_out


def pca_int8(train, database, queries, budget):
    """Project to `budget` principal components, each stored as one int8 (faiss SQ8)."""
    pca = _pca(train, min(budget, train.shape[1]))
    sq = faiss.ScalarQuantizer(pca.d_out, faiss.ScalarQuantizer.QT_8bit)
    sq.train(pca.apply(train))
    db = pca.apply(database)
    return sq.decode(sq.compute_codes(db)), pca.apply(queries), pca.d_out


def truncation(train, database, queries, budget):
    """Matryoshka-style: keep the first budget/4 dimensions (float32)."""
    m = max(1, min(budget // 4, train.shape[1]))

    return np.ascontiguousarray(database[:, :m]), np.ascontiguousarray(queries[:, :m]), 4 * m


def int8_scalar(train, database, queries, budget):
    """Per-dimension int8 (faiss SQ8) of the full vector: d bytes whatever the budget (a reference)."""
    sq = faiss.ScalarQuantizer(train.shape[1], faiss.ScalarQuantizer.QT_8bit)
    sq.train(train)
    return sq.decode(sq.compute_codes(database)), queries, train.shape[1]


def sign_1bit(train, database, queries, budget):
    """SimHash: signs of 8·budget random projections (faiss IndexLSH, rotated); ±1 dot = bits - 2·Hamming."""
    lsh = faiss.IndexLSH(train.shape[1], 8 * budget, True, False)
    lsh.train(train)

    def bits(x: np.ndarray) -> np.ndarray:
        packed = lsh.sa_encode(x)
        return np.unpackbits(packed, axis=1, bitorder="little").astype(np.float32) * 2 - 1

    return bits(database), bits(queries), budget


def product_quantization(train, database, queries, budget):
    """faiss PQ with m byte-sized sub-quantizers, m the largest divisor of d within the budget;
    asymmetric distance (raw query against decoded items), as IndexPQ scores them."""
    d = train.shape[1]
    m = max(x for x in range(1, min(budget, d) + 1) if d % x == 0)
    pq = _trained_pq(train, m, 8)
    return pq.decode(pq.compute_codes(database)), queries, m


def rotation_scalar(train, database, queries, budget):
    """TurboQuant-like: a random orthogonal rotation (faiss RandomRotationMatrix), then each
    coordinate quantized to b = ⌊8·budget/d⌋ bits (1..8) by its own Lloyd quantizer (a faiss PQ with
    one dimension per sub-quantizer); the raw query scores the decoded items. After the rotation every
    coordinate has about the same spread, which is why one bit width serves them all; this is the
    engines' rotation-based quantization (Qdrant's TurboQuant 2/4-bit) at equal bytes, minus any
    per-vector correction the engine stores."""
    d = train.shape[1]
    bits = int(np.clip(8 * budget // d, 1, 8))
    rotation = faiss.RandomRotationMatrix(d, d)
    rotation.init(0)
    pq = _trained_pq(rotation.apply(train), d, bits)
    decoded = pq.decode(pq.compute_codes(rotation.apply(database)))
    return decoded, rotation.apply(queries), d * bits // 8


BASELINES: dict[str, Baseline] = {
    "pca_float32": pca_float32,
    "pca_int8": pca_int8,
    "truncation_float32": truncation,
    "int8_scalar": int8_scalar,
    "sign_1bit": sign_1bit,
    "product_quantization": product_quantization,
    "rotation_scalar": rotation_scalar,
}
