"""The backend comparison: one model, one dataset, every engine side by side, sparse codes and the
engine's own dense index as the baseline, so a user sees the RAM saved and the recall it costs.

Each (backend, mode) runs in a fresh engine process in a fresh folder, so its resident-memory delta
(empty → loaded) is its own. Modes: `sparse` (the engine's top-10 over the codes), `sparse+rerank`
(its top-`rerank` re-ordered client-side by `q̄ · x̂/|x̂|`, the `SparseCollection` default) and `dense`
(float32 vectors in the engine's usual dense index: HNSW, or what the embedded build offers).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from saevdb.adapters import ENGINES, ModelInfo, local_engine
from saevdb.adapters.launcher import allocated_bytes
from saevdb.collection import SparseCollection
from saevdb.compare.truth import Truth, measure_search
from saevdb.pipeline import encode_and_upload
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.query import default_query_k

logger = logging.getLogger(__name__)

MODES = ("sparse", "sparse+rerank", "dense")
HEADLINE_MODE = "sparse+rerank"


@dataclass(frozen=True)
class CompareConfig:
    """What one comparison run does besides its data and model."""

    backends: tuple[str, ...] = tuple(ENGINES)
    top_k: int = 10
    rerank: int = 100
    query_k: int | None = None
    clients: int = 4
    batch_size: int = 1000


def _memory(engine, before: int, loaded: int, n: int) -> dict:
    return {
        "ram_bytes": loaded - before,
        "ram_bytes_per_vector": (loaded - before) / n,
        "rss_empty_bytes": before,
        "rss_loaded_bytes": loaded,
        "rss_after_queries_bytes": engine.rss_bytes(),
    }


def _batches(database: np.ndarray, size: int):
    """`(ids, rows, None)` slices of the database; row numbers are the ids."""
    for lo in range(0, len(database), size):
        yield np.arange(lo, min(lo + size, len(database))), database[lo : lo + size], None


def _run_sparse(backend, model, database, queries, truth, config, show) -> dict[str, dict]:
    folder = Path(tempfile.mkdtemp(prefix=f"saevdb-compare-{backend}-"))
    try:
        with local_engine(backend, folder) as engine:
            before = engine.rss_bytes()
            adapter = engine.sparse_adapter(ModelInfo.of(model), "sparse")
            adapter.recreate()
            loaded = encode_and_upload(
                adapter, model, _batches(database, config.batch_size), show_progress_bar=show, desc=f"{backend} ingest"
            )
            start = time.perf_counter()
            adapter.optimize()
            optimize_s = time.perf_counter() - start
            memory = _memory(engine, before, engine.rss_bytes(), len(database))
            ingest = {
                "encode_seconds": loaded["encode_seconds"],
                "upload_seconds": loaded["upload_seconds"],
                "upload_vectors_per_s": len(database) / loaded["upload_seconds"],
                "ingest_vectors_per_s": len(database) / loaded["seconds"],
                "optimize_seconds": optimize_s,
            }
            rows = {}
            for mode, depth in (("sparse", 0), ("sparse+rerank", config.rerank)):
                collection = SparseCollection(adapter, model, query_k=config.query_k, rerank=depth)
                search = lambda q, c=collection: c.search(q, config.top_k)  # noqa: E731
                measured = measure_search(search, queries, truth, config.clients, show, f"{backend} {mode}")
                rows[mode] = {**measured, **ingest}
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
            for ids, rows, _ in tqdm(
                _batches(database, config.batch_size), desc=f"{backend} dense upload", disable=not show, leave=False
            ):
                adapter.upsert(ids, rows)
            upload_s = time.perf_counter() - start
            start = time.perf_counter()
            adapter.optimize()
            optimize_s = time.perf_counter() - start
            row = _memory(engine, before, engine.rss_bytes(), len(database))
            search = lambda q: adapter.search(q, config.top_k)  # noqa: E731
            row.update(measure_search(search, queries, truth, config.clients, show, f"{backend} dense"))
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
        modes = _run_sparse(backend, model, database, queries, truth, config, show_progress_bar)
        modes["dense"] = _run_dense(backend, database, queries, truth, config, show_progress_bar)
        report["backends"][backend] = {**modes[HEADLINE_MODE], "modes": modes}
    return report
