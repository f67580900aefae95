"""What every comparison row is measured with: exact cosine neighbours as truth, recall@10 with
ties counted, and query latency and throughput.

Recall@10 counts a returned id as a true neighbour when its exact cosine with the query reaches the
10th-best exact cosine (as ann-benchmarks does with distances): real catalogues hold duplicate
vectors (a fifth of MovieLens' ALS item vectors), and which of several tied ids an engine returns
is not an error.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from saevdb.sae_core.search import exact_topk


def latencies(search, queries: np.ndarray, show: bool, desc: str) -> np.ndarray:
    """Seconds per query, one client, queries one at a time."""
    out = np.empty(len(queries))
    for i in tqdm(range(len(queries)), desc=desc, unit="queries", disable=not show, leave=False):
        start = time.perf_counter()
        search(queries[i : i + 1])
        out[i] = time.perf_counter() - start
    return out


def concurrent_qps(search, queries: np.ndarray, clients: int) -> float:
    """Queries per second with `clients` threads each sending one query at a time."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(lambda i: search(queries[i : i + 1]), range(len(queries))))
    return len(queries) / (time.perf_counter() - start)


@dataclass(frozen=True)
class Truth:
    """Exact cosine neighbours of the queries: unit vectors and each query's 10th-best score."""

    queries: np.ndarray
    database: np.ndarray
    tenth: np.ndarray

    @classmethod
    def of(cls, queries: np.ndarray, database: np.ndarray) -> Truth:
        unit = lambda v: v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)  # noqa: E731
        q, db = unit(queries), unit(database)
        _, scores = exact_topk(q, db, 10)
        return cls(q, db, scores[:, -1])

    def recall_at_10(self, found: np.ndarray) -> float:
        """Share of the returned top-10 whose exact cosine reaches the 10th-best (ties count)."""
        ids = found[:, :10]
        cosine = np.einsum("qkd,qd->qk", self.database[np.maximum(ids, 0)], self.queries)
        hits = (ids >= 0) & (cosine >= self.tenth[:, None] - 1e-5)
        return float(hits.sum() / (10 * len(ids)))


def measure_search(search, queries: np.ndarray, truth: Truth, clients: int, show: bool, desc: str) -> dict:
    """Recall@10 of `search` (batches of 256 queries), then single-client latency and `clients`-thread QPS."""
    found = np.concatenate([search(queries[lo : lo + 256])[0] for lo in range(0, len(queries), 256)])
    latency = latencies(search, queries, show, desc)
    return {
        "recall_at_10": truth.recall_at_10(found),
        "qps": len(queries) / latency.sum(),
        f"qps_{clients}_clients": concurrent_qps(search, queries, clients),
        "p50_ms": 1000 * float(np.percentile(latency, 50)),
        "p95_ms": 1000 * float(np.percentile(latency, 95)),
        "p99_ms": 1000 * float(np.percentile(latency, 99)),
    }


def over_budget(search, queries: np.ndarray, budget_s: float) -> str | None:
    """Why a setting should not run, or None: one probe query (the faster of two when the first is
    over, so a cold cache does not decide) times the three passes of `measure_search` over the
    queries (recall, latency, concurrent QPS: about three times one query's time each, or less)."""
    per_query = budget_s / (3 * len(queries))
    for _ in range(2):
        start = time.perf_counter()
        search(queries[:1])
        probe = time.perf_counter() - start
        if probe <= per_query:
            return None
    return (
        f"one query took {probe:.1f} s: three passes over {len(queries):,} queries would take about"
        f" {3 * len(queries) * probe / 60:,.0f} min, over the {budget_s / 60:.0f} min a setting may take"
    )
