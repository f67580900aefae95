"""Streaming ingest: dense vectors from a file or iterator, encoded in batches, uploaded in batches to
one engine, resumable after a crash of the engine or of the ingest itself.

Encode of batch n+1 overlaps upload of batch n (`saevdb.pipeline`), so memory stays at a few
batches whatever the input size. Ids are the input's row numbers (or its id column),
so a batch sent twice is an idempotent upsert. After the engine acknowledges a batch, a small JSON
checkpoint records it; a rerun of the same command skips what the checkpoint holds and re-sends at
most the one batch that was in flight, so the collection ends with exactly the input's ids.

A batch with a bad row (NaN, all zeros, wrong dimension, null) is refused whole with its batch and row number,
after everything before it is stored and checkpointed; `skip_bad` instead drops such rows and logs
them to `<checkpoint>.skipped.jsonl`.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from saevdb.adapters.base import ModelInfo, SparseAdapter
from saevdb.pipeline import pipelined
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.sources import Batch, identity, read_batches

logger = logging.getLogger(__name__)


class IngestError(RuntimeError):
    """An ingest stopped at a batch; everything before it is stored and checkpointed."""


@dataclass(frozen=True)
class IngestConfig:
    batch_size: int = 4096
    device: str = "cpu"
    skip_bad: bool = False
    column: str = "embedding"  # Parquet: the list-of-float column
    id_column: str | None = None  # Parquet: ids from this column instead of row numbers
    originals: bool = False  # also store each row's dense vector (an adapter opened with originals=True)


def _device(requested: str) -> str:
    """The device to encode on; a CUDA request without a GPU falls back to CPU, saying so."""
    import torch

    if requested.startswith("cuda") and not torch.cuda.is_available():
        logger.warning("no CUDA GPU is available: encoding on CPU")
        return "cpu"
    return requested


class Checkpoint:
    """The last batch an engine acknowledged, for one (input, model, target, batch size)."""

    def __init__(self, path: Path, key: dict[str, Any]) -> None:
        self.path, self.key = path, key
        self.state = {"batches_done": 0, "rows_written": 0, "rows_skipped": 0, "complete": False}
        if path.is_file():
            saved = json.loads(path.read_text())
            if saved.get("key") != key:
                raise IngestError(
                    f"{path} was written for another input, model, target or batch size "
                    f"({saved.get('key')}); remove it to start over"
                )
            self.state = saved["state"]

    def advance(self, rows_written: int, rows_skipped: int) -> None:
        self.state["batches_done"] += 1
        self.state["rows_written"] += rows_written
        self.state["rows_skipped"] += rows_skipped
        self.save()

    def finish(self) -> None:
        self.state["complete"] = True
        self.save()

    def save(self) -> None:
        """Write-then-rename, so a crash leaves the old checkpoint or the new one, never half of one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"key": self.key, "state": self.state}, indent=1))
        os.replace(tmp, self.path)


def _bad_rows(batch: Batch) -> dict[int, str]:
    bad = dict(batch.bad)
    for i in np.flatnonzero(~np.isfinite(batch.vectors).all(axis=1)):
        bad.setdefault(batch.first_row + int(i), "NaN or inf")
    for i in np.flatnonzero(~batch.vectors.any(axis=1)):
        bad.setdefault(batch.first_row + int(i), "only zeros (no direction to encode)")
    return bad


def ingest(
    adapter: SparseAdapter,
    model: SparseAutoencoder,
    source: str | Path | Iterable,
    checkpoint: str | Path,
    target: str,
    config: IngestConfig = IngestConfig(),
    show_progress_bar: bool = True,
) -> dict[str, Any]:
    """Encode `source` and upsert it into `adapter`'s collection, resuming from `checkpoint`.

    `target` names the engine and collection in the checkpoint (e.g. "qdrant:items"), so a checkpoint
    is never applied to another one. Returns a summary (rows, seconds, vectors/s, peak RSS, ...).
    """
    info = ModelInfo.of(model)
    source_key = identity(source) if isinstance(source, str | os.PathLike) else "iterator"
    key = {"source": source_key, "model": info.fingerprint, "target": target, "batch_size": config.batch_size}
    if config.originals:
        key["originals"] = True
    state = Checkpoint(Path(checkpoint), key)
    start = state.state["batches_done"]
    rows_before = state.state["rows_written"] + state.state["rows_skipped"]
    if start == 0 and not adapter.exists():
        adapter.recreate()
    elif start and not adapter.exists():
        raise IngestError(f"{checkpoint} says {start} batches are stored, but {target} does not exist")
    skipped_log = Path(checkpoint).with_suffix(".skipped.jsonl")
    device = _device(config.device)
    timing = {"encode": 0.0, "upload": 0.0}
    began = time.perf_counter()

    def prepare(batch: Batch) -> tuple[np.ndarray, Any, int, np.ndarray]:
        """Refuse a batch with a bad row (or log and drop such rows), then encode the rest."""
        bad = _bad_rows(batch)
        if bad and not config.skip_bad:
            row, why = next(iter(bad.items()))
            raise IngestError(
                f"batch {batch.number}: row {row}: {why} ({len(bad)} bad rows in the batch); nothing of this "
                f"batch was written, the {batch.number} before it are stored. Fix the input, or pass "
                "--skip-bad to log and skip bad rows"
            )
        keep = np.ones(len(batch.ids), dtype=bool)
        if bad:
            keep[np.asarray(list(bad)) - batch.first_row] = False
            with skipped_log.open("a") as log:
                for row, why in bad.items():
                    log.write(json.dumps({"row": row, "batch": batch.number, "reason": why}) + "\n")
        t = time.perf_counter()
        codes = encode(model, batch.vectors[keep], device=device, show_progress_bar=False) if keep.any() else None
        timing["encode"] += time.perf_counter() - t
        return batch.ids[keep], codes, len(bad), batch.vectors[keep]

    def send(batch: Batch, prepared: tuple[np.ndarray, Any, int, np.ndarray]) -> int:
        """Upsert, then checkpoint the batch once the engine has acknowledged it."""
        ids, codes, skipped, vectors = prepared
        t = time.perf_counter()
        try:
            if len(ids):
                adapter.upsert(ids, codes, **({"originals": vectors} if config.originals else {}))
        except Exception as e:
            raise IngestError(
                f"batch {batch.number} (rows {batch.first_row}..{batch.first_row + len(batch.ids) - 1}): "
                f"the engine refused it ({type(e).__name__}: {e}); the {batch.number} batches before it are stored"
            ) from e
        timing["upload"] += time.perf_counter() - t
        state.advance(len(ids), skipped)
        return len(batch.ids)

    batches = read_batches(source, info.d, config.batch_size, start, config.column, config.id_column)
    with tqdm(desc=f"Ingesting into {target}", unit="vectors", disable=not show_progress_bar) as bar:
        bar.update(state.state["rows_written"] + state.state["rows_skipped"])
        pipelined(batches, prepare, send, bar)
    t = time.perf_counter()
    adapter.optimize()
    optimize_s = time.perf_counter() - t
    state.finish()
    seconds = time.perf_counter() - began
    written = state.state["rows_written"]
    return {
        "target": target,
        "rows_written": written,
        "rows_skipped": state.state["rows_skipped"],
        "batches": state.state["batches_done"],
        "resumed_from_batch": start,
        "seconds": seconds,
        "encode_seconds": timing["encode"],
        "upload_seconds": timing["upload"],
        "optimize_seconds": optimize_s,
        "vectors_per_s": (written + state.state["rows_skipped"] - rows_before) / seconds,
        "points_in_collection": adapter.count(),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "device": device,
        "config": asdict(config),
    }
