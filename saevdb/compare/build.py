"""One build of a comparison loaded into an engine's data folder: the collection created, every
database row upserted (row numbers are the ids), then indexed, in an engine that is stopped after.

Measuring happens in another engine started on the same folder (`run.run_build`, `capped`), so
nothing the build allocated is counted.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from saevdb.adapters import ModelInfo, local_engine
from saevdb.compare.plan import Build
from saevdb.pipeline import encode_and_upload

COLLECTION = "items"


def open_adapter(engine, build: Build, d: int):
    """The build's adapter on `COLLECTION` in a started engine (nothing is loaded until it is called)."""
    if build.kind == "sparse":
        return engine.sparse_adapter(ModelInfo.of(build.model), COLLECTION, **build.options)
    return engine.dense_adapter(d, COLLECTION, **build.options)


def _batches(database: np.ndarray, size: int):
    """`(ids, rows, None)` slices of the database; row numbers are the ids."""
    for lo in range(0, len(database), size):
        yield np.arange(lo, min(lo + size, len(database))), database[lo : lo + size], None


def _load(adapter, build: Build, database: np.ndarray, batch_size: int, show: bool) -> float:
    """Upsert the whole database; returns the wall seconds of encoding and upload together."""
    start = time.perf_counter()
    desc = f"{build.method} ingest"
    if build.kind == "sparse":
        originals = bool(build.options.get("originals"))
        batches = _batches(database, batch_size)
        encode_and_upload(adapter, build.model, batches, "cpu", show, desc, originals, build.value_scale)
    else:
        for ids, rows, _ in tqdm(_batches(database, batch_size), desc=desc, disable=not show, leave=False):
            adapter.upsert(ids, rows)
    return time.perf_counter() - start


def build_collection(
    backend: str, build: Build, database: np.ndarray, folder: Path, batch_size: int, show: bool
) -> tuple[float, float]:
    """Create `build`'s collection in a fresh engine on `folder`, load `database` [n, d] into it and
    index it; returns (ingest seconds, optimize seconds)."""
    with local_engine(backend, folder) as engine:
        adapter = open_adapter(engine, build, database.shape[1])
        adapter.recreate()
        ingest_s = _load(adapter, build, database, batch_size, show)
        start = time.perf_counter()
        adapter.optimize()
        return ingest_s, time.perf_counter() - start
