"""Retrieval quality of candidate neighbour lists against exact ones."""

from __future__ import annotations

import numpy as np


def hits_at(truth: np.ndarray, found: np.ndarray, k: int, depth: int | None = None) -> np.ndarray:
    """`[q]` |truth[:k] ∩ found[:depth]| per query (depth k by default), for `[q, ≥k]` id arrays: the
    per-query counts a paired bootstrap resamples."""
    depth = k if depth is None else depth
    return np.array(
        [len(np.intersect1d(t[:k], f[:depth], assume_unique=True)) for t, f in zip(truth, found, strict=True)]
    )


def recall_at(truth: np.ndarray, found: np.ndarray, k: int) -> float:
    """Mean |found[:k] ∩ truth[:k]| / k over queries, for `[q, ≥k]` id arrays."""
    return float(np.mean(hits_at(truth, found, k)) / k)


def coverage_at(truth: np.ndarray, found: np.ndarray, k: int, depth: int) -> float:
    """Mean |truth[:k] ∩ found[:depth]| / k: the share of the true top-k among the first `depth`
    candidates, what a second stage that rescores `depth` candidates exactly can recover."""
    return float(np.mean(hits_at(truth, found, k, depth)) / k)


def ndcg_at(truth: np.ndarray, found: np.ndarray, k: int) -> float:
    """nDCG@k with graded relevance from the exact ranking: the i-th true neighbour has gain
    `k - i`, so swapping close neighbours costs little and missing the nearest costs most."""
    discounts = 1 / np.log2(np.arange(2, k + 2))
    ideal = float(np.sum(np.arange(k, 0, -1) * discounts))
    scores = []
    for t, f in zip(truth, found, strict=True):
        gain = {int(item): k - rank for rank, item in enumerate(t[:k])}
        dcg = sum(gain.get(int(item), 0) * discounts[i] for i, item in enumerate(f[:k]))
        scores.append(dcg / ideal)
    return float(np.mean(scores))
