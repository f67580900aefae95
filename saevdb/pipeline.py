"""Encode batch n+1 while batch n uploads: the one pipeline behind `SparseCollection.add`/`add_from`,
`saevdb ingest` and `saevdb compare`.

One upload thread and one batch in flight: encoding (torch, which releases the GIL) and the
engine's round trip overlap, and memory stays at two batches whatever the input size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
from tqdm.auto import tqdm

from saevdb.adapters.base import SparseAdapter

B = TypeVar("B")
P = TypeVar("P")


def pipelined(batches: Iterable[B], prepare: Callable[[B], P], send: Callable[[B, P], int], bar: tqdm) -> None:
    """`prepare(batch)` on this thread while the previous batch's `send(batch, prepared)` runs on the
    upload thread; `bar` advances by what each `send` returns.

    An error reading or preparing batch n first lets batch n-1's send finish (so everything before
    the failing batch is stored), then propagates; an error in a send propagates at the next batch.
    """
    with ThreadPoolExecutor(max_workers=1) as uploader:
        pending: Future | None = None
        try:
            for batch in batches:
                prepared = prepare(batch)
                if pending is not None:
                    bar.update(pending.result())
                pending = uploader.submit(send, batch, prepared)
        except BaseException:
            if pending is not None:
                pending.result()
            raise
        if pending is not None:
            bar.update(pending.result())


def encode_and_upload(
    adapter: SparseAdapter,
    model,
    batches: Iterable[tuple[np.ndarray, np.ndarray, Any]],
    device: str | None = "cpu",
    show_progress_bar: bool = False,
    desc: str = "Ingesting",
    originals: bool = False,
    value_scale: float | None = None,
) -> dict[str, float]:
    """Encode `(ids, dense [n, d], payloads or None)` batches with `model` and upsert their codes
    (with `originals`, the dense rows too, for an adapter that keeps them for two-stage search;
    with `value_scale`, values rounded to whole numbers 1..255 at that scale, for an adapter that
    stores uint8: `sae_core.quantize`).

    Returns `{"points", "seconds", "encode_seconds", "upload_seconds"}`: wall time of the whole
    pipeline, and the time spent in each stage (they overlap, so the two add up to more than it).
    """
    from saevdb.sae_core.encode import encode
    from saevdb.sae_core.quantize import quantize_uint8

    timing = {"points": 0, "encode_seconds": 0.0, "upload_seconds": 0.0}

    def prepare(batch):
        start = time.perf_counter()
        codes = encode(model, batch[1], device=device, show_progress_bar=False)
        if value_scale is not None:
            codes = quantize_uint8(codes, value_scale)
        timing["encode_seconds"] += time.perf_counter() - start
        return codes

    def send(batch, codes) -> int:
        start = time.perf_counter()
        if originals:
            adapter.upsert(batch[0], codes, batch[2], originals=batch[1])
        else:
            adapter.upsert(batch[0], codes, batch[2])
        timing["upload_seconds"] += time.perf_counter() - start
        timing["points"] += codes.shape[0]
        return codes.shape[0]

    began = time.perf_counter()
    with tqdm(desc=desc, unit="vectors", disable=not show_progress_bar, leave=False) as bar:
        pipelined(batches, prepare, send, bar)
    return {**timing, "seconds": time.perf_counter() - began}
