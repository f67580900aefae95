"""The backend comparison: one dataset, every engine; in each, saevdb's codes (of one model or
several) in every search mode beside every built-in way the engine stores dense vectors (float32,
its quantizations, with and without rescoring), each build measured the same way.

Per build: a fresh engine in a fresh folder loads the collection and finishes indexing (timed),
then stops; a second fresh engine reopens the folder (build-time allocations gone, as after a
restart), loads the collection, returns freed heap (`LocalEngine.trim`) and is read once (its
anonymous memory), then runs every search setting of the build, lightest first. After each setting
the engine is trimmed and read again per mapping, so each row's file pages are those its queries
(and the lighter settings before it) touched. RAM to
provision is defined in `saevdb.compare.provision`. A build the engine refuses gives one line
naming engine, version and option; an engine that dies marks that build's rows failed with the
reason; a setting that fails (a timeout, a refused query) marks its own row failed and the next
setting goes on; the rest of the run goes on.

With `CompareConfig.memory_cap_bytes`, each build is then also served once more from its folder by
a fresh engine inside a child memory cgroup at that cap, its files evicted first (`capped`): each
row gains a `capped` reading (status, recall, QPS, the cgroup's peak and `memory.stat`, reads and
major faults per query), the proof that the option serves in that much memory. A cap the empty
engine alone would fill is refused before anything is built; where no child cgroup can be made,
one line says why and the uncapped run goes on.

A setting whose one probe query says its three passes over the queries (recall, latency, concurrent
QPS) would outlast `CompareConfig.setting_budget_s` is not run: its row says "too slow" and the
probe's time, so a wide query in an engine whose cost grows fast with it reports instead of hanging.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saevdb.adapters import DEFAULT_ENGINES, ModelInfo, UnsupportedFeatureError, local_engine
from saevdb.adapters.launcher import allocated_bytes
from saevdb.adapters.memory import ProcessMemory
from saevdb.adapters.registry import engine_spec, engine_version
from saevdb.compare.build import build_collection, open_adapter
from saevdb.compare.capped import add_capped_readings, capped_engines
from saevdb.compare.failure import failure
from saevdb.compare.frontier import summary
from saevdb.compare.plan import Build, built_in_builds, saevdb_builds
from saevdb.compare.provision import provisioned
from saevdb.compare.truth import Truth, measure_search, over_budget
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.query import default_query_k, default_query_mode

logger = logging.getLogger(__name__)

UINT8_SAMPLE = 4096
"""Rows whose codes fit a uint8 build's scale (a high quantile of their values: a sample is enough)."""


@dataclass(frozen=True)
class CompareConfig:
    """What one comparison run does besides its data and models.

    Attributes:
        backends: engines of the registry to run.
        top_k: results per query (recall@10 reads the first 10).
        rerank: client re-rank depth of the codes-only build (0: engine order only).
        depths: two-stage depths (codes' candidates re-scored with the originals in the engine).
        query_ks: the query widths (non-zeros per query) each of saevdb's modes runs at (None: the
            model's h, every weight of `W_dec q̄`).
        clients: threads for the concurrent QPS figure.
        batch_size: vectors per upsert.
        methods: built-in methods to run (their `DenseOption.method`), None for all, () for none.
        precisions: how the codes' values are stored, each one the engine offers (its registry
            `precisions`) a build of its own: float16 halves what a Qdrant posting spends on its value.
        setting_budget_s: the longest one setting's three passes over the queries may take, as
            projected from a probe query; a setting over it is reported "too slow", not run.
        memory_cap_bytes: also serve each build under this total memory (the whole engine,
            counted as `capped.serve_capped` does), None for no capped serving.
    """

    backends: tuple[str, ...] = DEFAULT_ENGINES
    top_k: int = 10
    rerank: int = 100
    depths: tuple[int, ...] = (100, 300)
    query_ks: tuple[int | None, ...] = (None,)
    clients: int = 4
    batch_size: int = 1000
    methods: tuple[str, ...] | None = None
    precisions: tuple[str, ...] = ("float32", "float16")
    setting_budget_s: float = 1200.0
    memory_cap_bytes: int | None = None


def empty_memory(backend: str) -> ProcessMemory:
    """The engine started on an empty folder, its freed heap returned: the baseline every build's
    anonymous memory is counted from."""
    folder = Path(tempfile.mkdtemp(prefix=f"saevdb-compare-{backend}-empty-"))
    try:
        with local_engine(backend, folder) as engine:
            engine.trim()
            return engine.memory()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_build(
    backend: str, build: Build, database, queries, truth: Truth, empty, config, show, empty_rss: int | None = None
) -> list[dict]:
    """Every setting of one build, measured after a fresh reopen (see the module docstring); with
    `config.memory_cap_bytes` and `empty_rss` (the empty engine's resident bytes), each row also gets
    its `capped` reading."""
    folder = Path(tempfile.mkdtemp(prefix=f"saevdb-compare-{backend}-"))
    n, d = database.shape
    try:
        ingest_s, optimize_s = build_collection(backend, build, database, folder, config.batch_size, show)
        rows = []
        with local_engine(backend, folder) as engine:
            adapter = open_adapter(engine, build, d)
            adapter.count()  # loads the collection
            engine.trim()
            loaded, fell_back = engine.memory(), False
            for setting in build.settings:
                desc = f"{backend} {build.method} {setting.label}"
                search = setting.searcher(adapter, config.top_k)
                try:
                    too_slow = over_budget(search, queries, config.setting_budget_s)
                    if too_slow:
                        rows.append({"setting": setting.label, "status": "too slow", "reason": too_slow})
                        continue
                    measured = measure_search(search, queries, truth, config.clients, show, desc)
                    trimmed = engine.trim()
                    reading = engine.memory()
                except Exception as e:  # a timeout or a refused query: this setting's row only
                    rows.append({"setting": setting.label, "status": "failed", "reason": failure(e)})
                    logger.error("%s: %s", desc, rows[-1]["reason"])
                    continue
                fell_back = fell_back or (
                    not build.originals_searched and _scored_originals(build, setting, reading, n, d)
                )
                rows.append(
                    {
                        "setting": setting.label,
                        "status": "ok",
                        "rescore": setting.rescore,
                        "originals_read_per_query": setting.originals_read(config.top_k),
                        **measured,
                        **provisioned(reading, loaded, empty, n, build.originals_searched or fell_back),
                        "fell_back_to_originals": fell_back,
                        "memory": {**reading.to_dict(), "trimmed": trimmed},
                    }
                )
            stats = adapter.stats()
        disk = allocated_bytes(folder)
        if config.memory_cap_bytes and empty_rss is not None:
            add_capped_readings(rows, backend, build, folder, d, queries, truth, config, empty_rss)
        for row in rows:
            row.update(
                ingest_seconds=ingest_s,
                optimize_seconds=optimize_s,
                ingest_vectors_per_s=n / ingest_s,
                disk_bytes_per_vector=disk / n,
                engine_stats=stats,
            )
        return rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _row(backend: str, build: Build, status: str, **fields) -> dict[str, Any]:
    shape = {} if build.model is None else {"h": build.model.config.h, "k": build.model.config.k}
    return {"backend": backend, "method": build.method, "family": build.family, "status": status, **shape, **fields}


def compare_backend(
    backend: str,
    builds: list[Build],
    database,
    queries,
    truth,
    config: CompareConfig,
    show: bool,
    empty_rss: int | None = None,
) -> dict[str, Any]:
    """All `builds` in one engine: `{"version", "query_mode", "empty_memory", "rows"}` (`query_mode`:
    the full-width query `SparseCollection` sends this engine by default, signed where it takes it;
    cut widths are sent the positive part); a build that fails adds a
    row with status "unsupported" or "failed" and the reason, a setting that fails or is over budget
    a row "failed" or "too slow"; the next goes on. A reason names the engine's version (and the
    setting), the row its method."""
    empty = empty_memory(backend)
    version = engine_version(backend)
    rows: list[dict[str, Any]] = []
    for build in builds:
        if build.server_only:
            rows.append(_row(backend, build, "server only", reason=build.server_only))
            continue
        logger.info("%s: %s", backend, build.method)
        try:
            measured = run_build(backend, build, database, queries, truth, empty, config, show, empty_rss)
        except UnsupportedFeatureError as e:
            rows.append(_row(backend, build, "unsupported", reason=f"{version}: {e}"))
            logger.warning("%s: %s", build.method, rows[-1]["reason"])
            continue
        except Exception as e:  # the engine died or refused mid-run: keep every other build's rows
            rows.append(_row(backend, build, "failed", reason=f"{version}: {failure(e)}"))
            logger.error("%s: %s", build.method, rows[-1]["reason"])
            continue
        for row in measured:
            if row["status"] != "ok":
                row["reason"] = f"{version}: {row['setting']}: {row['reason']}"
            rows.append(_row(backend, build, row.pop("status"), **row))
    mode = default_query_mode(engine_spec(backend).signed)
    return {
        "version": version,
        "query_mode": mode,
        "empty_memory": empty.to_dict(),
        "empty_engine_bytes": empty_rss,
        "rows": rows,
    }


def compare(
    models: SparseAutoencoder | list[SparseAutoencoder],
    database: np.ndarray,
    queries: np.ndarray,
    config: CompareConfig = CompareConfig(),
    show_progress_bar: bool = True,
) -> dict[str, Any]:
    """Run every backend in `config.backends` on `database` (row numbers are the ids) with `queries`
    held out of it, saevdb's builds once per model. Returns `{"n", "queries", "models", "config",
    "engines": {name: {...}}, "rows": [...], "summary": {name: frontier.summary}}`, one row per
    (engine, method, setting)."""
    models = models if isinstance(models, list) else [models]
    empties, uncapped = {}, None
    if config.memory_cap_bytes:
        empties, uncapped = capped_engines(config.backends, config.memory_cap_bytes)
        if uncapped:
            logger.warning(uncapped)
    truth = Truth.of(queries, database)
    report: dict[str, Any] = {
        "n": int(len(database)),
        "queries": int(len(queries)),
        "models": [{**ModelInfo.of(m).to_dict(), "bytes_per_vector": m.config.k * 4} for m in models],
        "config": {
            **config.__dict__,
            "backends": list(config.backends),
            "depths": list(config.depths),
            "methods": None if config.methods is None else list(config.methods),
            "precisions": list(config.precisions),
            "query_ks": list(config.query_ks),
            "query_k": [[q or default_query_k(m.config, "asymmetric") for q in config.query_ks] for m in models],
        },
        "engines": {},
        "rows": [],
        "memory_cap": None
        if not config.memory_cap_bytes
        else {"cap_bytes": config.memory_cap_bytes, "served": not uncapped, "reason": uncapped},
    }
    scales = {(id(m), "uint8"): uint8_value_scale(m, database) for m in models} if "uint8" in config.precisions else {}
    for backend in config.backends:
        logger.info("comparing %s", backend)
        offered = [p for p in config.precisions if p in engine_spec(backend).precisions]
        builds = [
            build
            for m in models
            for datatype in offered
            for build in saevdb_builds(
                m,
                config.query_ks,
                config.rerank,
                config.depths,
                datatype,
                scales.get((id(m), datatype)),
                engine_spec(backend).originals_store,
            )
        ]
        builds += built_in_builds(backend, config.methods)
        result = compare_backend(
            backend, builds, database, queries, truth, config, show_progress_bar, empties.get(backend)
        )
        report["rows"] += result.pop("rows")
        report["engines"][backend] = result
    report["summary"] = {backend: summary(report["rows"], backend) for backend in config.backends}
    return report


def _scored_originals(build: Build, setting, reading: ProcessMemory, n: int, d: int) -> bool:
    """A dense build meant to search compressed vectors whose setting without rescoring left most of
    the full-precision vectors resident: the engine scored them instead (an engine may compress only
    the segments it indexes, so a small collection can have no compressed copy at all)."""
    full = 4 * n * d
    return build.kind == "dense" and not setting.rescore and reading.file_bytes.get("vectors", 0) >= full / 2


def uint8_value_scale(model: SparseAutoencoder, database: np.ndarray) -> float:
    """The one scale a uint8 build stores every code at, fitted on the codes of the first rows."""
    from saevdb.sae_core.encode import encode
    from saevdb.sae_core.quantize import uint8_scale

    return uint8_scale(encode(model, database[:UINT8_SAMPLE], show_progress_bar=False))
