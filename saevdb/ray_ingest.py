"""The same encode + upload as `saevdb ingest`, as a Ray Data pipeline, for catalogues larger than one
machine handles: each worker holds a stateful actor with the model and an engine client (loaded
once, not per batch), on a GPU when the cluster has them. The engine is a server or cluster URL;
it scales as its own cluster. Needs the `[ray]` extra.

Ids come from the dataset's `id` column: a distributed read has no stable row order, so row numbers
cannot serve as ids; with ids from the data, a re-run is an idempotent upsert.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class EncodeAndUpload:
    """A Ray actor: loads the model and connects to the engine once, then encodes and upserts batches."""

    def __init__(self, model_dir: str, backend: str, url: str, collection: str, device: str = "cpu") -> None:
        from saevdb.adapters import ModelInfo, adapter_class
        from saevdb.sae_core.model_files import load_model

        self.model = load_model(model_dir, device=device)
        self.device = device
        self.adapter = adapter_class(backend).from_url(ModelInfo.of(self.model), url, collection)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from saevdb.sae_core.encode import encode

        vectors = np.stack(batch["embedding"]).astype(np.float32)
        codes = encode(self.model, vectors, device=self.device, show_progress_bar=False)
        self.adapter.upsert(batch["id"].astype(np.int64), codes)
        return {"id": batch["id"], "nnz": np.diff(codes.indptr)}


def ray_ingest(
    dataset: Any,
    model_dir: str | Path,
    backend: str,
    url: str,
    collection: str,
    batch_size: int = 4096,
    workers: int = 2,
    gpus_per_worker: float = 0.0,
) -> dict[str, Any]:
    """Encode and upload a `ray.data.Dataset` with columns `id` (int) and `embedding` (list of floats).

    The collection must exist (create it once with the adapter's `recreate()`). Returns the number
    of rows written and of non-zeros stored.
    """
    missing = {"id", "embedding"} - set(dataset.schema().names)
    if missing:
        raise ValueError(f"the dataset needs the columns 'id' and 'embedding'; missing {sorted(missing)}")
    device = "cuda" if gpus_per_worker > 0 else "cpu"
    written = dataset.map_batches(
        EncodeAndUpload,
        fn_constructor_args=(str(model_dir), backend, url, collection, device),
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=workers,
        num_gpus=gpus_per_worker,
    )
    rows, nnz = 0, 0
    for batch in written.iter_batches(batch_format="numpy", batch_size=None):
        rows += len(batch["id"])
        nnz += int(batch["nnz"].sum())
    return {"rows_written": rows, "nonzeros": nnz}
