"""The backend comparison: one model, one dataset, every engine side by side, sparse codes and the
engine's own dense index as the baseline, so a user sees the RAM saved and the recall it costs.

Each (backend, mode) runs in a fresh engine process in a fresh folder, so its resident-memory delta
(empty → loaded) is its own. Modes: `sparse` (the engine's top-10 over the codes), `sparse+rerank`
(its top-`rerank` re-ordered client-side by `q̄ · x̂/|x̂|`, the `SparseCollection` default) and `dense`
(float32 vectors in the engine's usual dense index: HNSW, or what the embedded build offers).

Recall@10 counts a returned id as a true neighbour when its exact cosine with the query reaches the
10th-best exact cosine (as ann-benchmarks does with distances): real catalogues hold duplicate
vectors (a fifth of MovieLens' ALS item vectors), and which of several tied ids an engine returns
is not an error.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from adapters import ModelInfo, local_engine, upload
from adapters.collection import SparseCollection
from adapters.process import allocated_bytes
from sae_core.encode import encode
from sae_core.model import SparseAutoencoder
from sae_core.query import default_query_k
from sae_core.search import exact_topk

logger = logging.getLogger(__name__)

MODES = ("sparse", "sparse+rerank", "dense")
HEADLINE_MODE = "sparse+rerank"


@dataclass(frozen=True)
class CompareConfig:
    """What one comparison run does besides its data and model."""

    backends: tuple[str, ...] = ("qdrant", "milvus", "opensearch")
    top_k: int = 10
    rerank: int = 100
    query_k: int | None = None
    clients: int = 4
    batch_size: int = 1000


def _latencies(search, queries: np.ndarray, show: bool, desc: str) -> np.ndarray:
    """Seconds per query, one client, queries one at a time."""
    out = np.empty(len(queries))
    for i in tqdm(range(len(queries)), desc=desc, unit="queries", disable=not show, leave=False):
        start = time.perf_counter()
        search(queries[i : i + 1])
        out[i] = time.perf_counter() - start
    return out


def _concurrent_qps(search, queries: np.ndarray, clients: int) -> float:
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


def _timings(search, queries: np.ndarray, truth: Truth, config: CompareConfig, show: bool, desc: str) -> dict:
    found = np.concatenate([search(queries[lo : lo + 256])[0] for lo in range(0, len(queries), 256)])
    latency = _latencies(search, queries, show, desc)
    return {
        "recall_at_10": truth.recall_at_10(found),
        "qps": len(queries) / latency.sum(),
        f"qps_{config.clients}_clients": _concurrent_qps(search, queries, config.clients),
        "p50_ms": 1000 * float(np.percentile(latency, 50)),
        "p95_ms": 1000 * float(np.percentile(latency, 95)),
        "p99_ms": 1000 * float(np.percentile(latency, 99)),
    }


def _memory(engine, before: int, loaded: int, n: int) -> dict:
    return {
        "ram_bytes": loaded - before,
        "ram_bytes_per_vector": (loaded - before) / n,
        "rss_empty_bytes": before,
        "rss_loaded_bytes": loaded,
        "rss_after_queries_bytes": engine.rss_bytes(),
    }


def _run_sparse(backend, model, database, codes, queries, truth, config, encode_s, show) -> dict[str, dict]:
    folder = Path(tempfile.mkdtemp(prefix=f"saevdb-compare-{backend}-"))
    try:
        with local_engine(backend, folder) as engine:
            before = engine.rss_bytes()
            adapter = engine.sparse_adapter(ModelInfo.of(model), "sparse")
            adapter.recreate()
            loaded = upload(
                adapter, np.arange(len(database)), codes, batch_size=config.batch_size, show_progress_bar=show
            )
            start = time.perf_counter()
            adapter.optimize()
            optimize_s = time.perf_counter() - start
            memory = _memory(engine, before, engine.rss_bytes(), len(database))
            ingest = {
                "encode_seconds": encode_s,
                "upload_seconds": loaded["seconds"],
                "upload_vectors_per_s": loaded["points_per_s"],
                "ingest_vectors_per_s": len(database) / (encode_s + loaded["seconds"]),
                "optimize_seconds": optimize_s,
            }
            rows = {}
            for mode, depth in (("sparse", 0), ("sparse+rerank", config.rerank)):
                collection = SparseCollection(adapter, model, query_k=config.query_k, rerank=depth)
                search = lambda q, c=collection: c.search(q, config.top_k)  # noqa: E731
                rows[mode] = {**_timings(search, queries, truth, config, show, f"{backend} {mode}"), **ingest}
                rows[mode].update(memory, rss_after_queries_bytes=engine.rss_bytes())
            stats = adapter.stats()
            for row in rows.values():
                row.update(engine_stats=stats, disk_bytes=allocated_bytes(folder))
            return rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run_dense(backend, database, queries, truth, config, show) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"saevdb-compare-{backend}-dense-"))
    try:
        with local_engine(backend, folder) as engine:
            before = engine.rss_bytes()
            adapter = engine.dense_adapter(database.shape[1], "dense")
            adapter.recreate()
            start = time.perf_counter()
            for lo in tqdm(
                range(0, len(database), config.batch_size),
                desc=f"{backend} dense upload",
                disable=not show,
                leave=False,
            ):
                adapter.upsert(
                    np.arange(lo, min(lo + config.batch_size, len(database))), database[lo : lo + config.batch_size]
                )
            upload_s = time.perf_counter() - start
            start = time.perf_counter()
            adapter.optimize()
            optimize_s = time.perf_counter() - start
            row = _memory(engine, before, engine.rss_bytes(), len(database))
            row.update(
                _timings(lambda q: adapter.search(q, config.top_k), queries, truth, config, show, f"{backend} dense")
            )
            row.update(
                encode_seconds=0.0,
                upload_seconds=upload_s,
                upload_vectors_per_s=len(database) / upload_s,
                ingest_vectors_per_s=len(database) / upload_s,
                optimize_seconds=optimize_s,
                rss_after_queries_bytes=engine.rss_bytes(),
                engine_stats=adapter.stats(),
                disk_bytes=allocated_bytes(folder),
            )
            return row
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def compare(
    model: SparseAutoencoder,
    database: np.ndarray,
    queries: np.ndarray,
    config: CompareConfig = CompareConfig(),
    show_progress_bar: bool = True,
) -> dict[str, Any]:
    """Run every backend in `config.backends` on `database` (row numbers are the ids) with `queries`
    held out of it, and return the report:
    `{"backends": {name: {headline-mode metrics, "modes": {mode: metrics}}}, ...}`.
    """
    truth = Truth.of(queries, database)
    start = time.perf_counter()
    codes = encode(model, database, show_progress_bar=show_progress_bar)
    encode_s = time.perf_counter() - start
    report: dict[str, Any] = {
        "n": int(len(database)),
        "queries": int(len(queries)),
        "model": {**ModelInfo.of(model).to_dict(), "bytes_per_vector": model.config.k * 4},
        "headline_mode": HEADLINE_MODE,
        "config": {
            **config.__dict__,
            "backends": list(config.backends),
            "query_k": config.query_k or default_query_k(model.config, "asymmetric_nonneg"),
        },
        "backends": {},
    }
    for backend in config.backends:
        logger.info("comparing %s", backend)
        modes = _run_sparse(backend, model, database, codes, queries, truth, config, encode_s, show_progress_bar)
        modes["dense"] = _run_dense(backend, database, queries, truth, config, show_progress_bar)
        report["backends"][backend] = {**modes[HEADLINE_MODE], "modes": modes}
    return report


def format_compare(report: dict[str, Any]) -> str:
    """One line per backend and mode: recall, memory, speed."""
    clients = report["config"]["clients"]
    head = (
        f"{'backend':11s} {'mode':14s} {'recall@10':>9s} {'RAM MB':>8s} {'B/vector':>9s} {'disk MB':>8s} "
        f"{'QPS':>7s} {f'QPS x{clients}':>8s} {'p50 ms':>7s} {'p99 ms':>7s} {'ingest/s':>9s}"
    )
    lines = [
        f"{report['n']:,} vectors, {report['queries']:,} queries; model h={report['model']['h']} "
        f"k={report['model']['k']} ({report['model']['bytes_per_vector']} B/vector of codes)",
        head,
        "-" * len(head),
    ]
    for backend, result in report["backends"].items():
        for mode, row in result["modes"].items():
            lines.append(
                f"{backend:11s} {mode:14s} {row['recall_at_10']:9.3f} {row['ram_bytes'] / 1e6:8.1f} "
                f"{row['ram_bytes_per_vector']:9.0f} {row['disk_bytes'] / 1e6:8.1f} {row['qps']:7.0f} "
                f"{row[f'qps_{clients}_clients']:8.0f} {row['p50_ms']:7.2f} {row['p99_ms']:7.2f} "
                f"{row['ingest_vectors_per_s']:9.0f}"
            )
    return "\n".join(lines)


def plot_compare(report: dict[str, Any], path: str | Path) -> None:
    """Recall@10 against engine RAM per vector, one point per backend and mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    markers = dict(zip(MODES, ("o", "s", "^"), strict=True))
    for backend, result in report["backends"].items():
        for mode, row in result["modes"].items():
            ax.scatter(max(row["ram_bytes_per_vector"], 1.0), row["recall_at_10"], marker=markers[mode], s=60)
            ax.annotate(
                f"{backend} {mode}",
                (max(row["ram_bytes_per_vector"], 1.0), row["recall_at_10"]),
                fontsize=8,
                xytext=(4, 4),
                textcoords="offset points",
            )
    ax.set_xscale("log")
    ax.set_xlabel("engine RAM per vector, bytes (RSS delta empty → loaded)")
    ax.set_ylabel("recall@10 vs exact dense search")
    ax.set_title(f"{report['n']:,} vectors, SAE h={report['model']['h']} k={report['model']['k']}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
