"""The original vectors in a flat file beside the collection, for the second stage of a two-stage
search: the engine's sparse index gives each query its top D by the codes, and those D rows, only
those, are read from this file and scored by exact cosine.

Layout: row `id` of unit vectors `x/‖x‖` at byte offset `id · d · itemsize` (float32 or float16),
no header, so a point's row is its id and a write is one `pwrite` per run of consecutive ids; ids
not written read as zero rows (score 0). float16 halves the file and the pages a query reads; its
cosine is off by about 1e-3 of a unit vector's norm, enough to swap near-ties at the 10th place.

Why a file and not the engine's own dense storage: an engine keeps bookkeeping per stored vector in
anonymous memory even when the vectors themselves stay on disk, while a memory-mapped file costs
only the pages the queries touch. The mapping is advised `MADV_RANDOM`: a read of D scattered rows
would otherwise pull in the kernel's read-ahead window around each one (`read_ahead_kb`, often
128 KB, 8 MB on some disks), multiplying the bytes read per query. Before a batch's rows are
touched, each row's pages are advised `MADV_WILLNEED`, which starts their reads at once without
waiting: the device serves the D reads together instead of one page fault after another, each
waiting for the one before (`benchmarks/disk_rate.py` measures one read's latency here).

The file records no dtype or d of its own: the adapter that writes it names both, and must be
opened with the same ones.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np

DTYPES = ("float32", "float16")
QUERY_BLOCK = 8


class OriginalsFile:
    """Unit originals `[?, d]` in `path`, written by id and re-scored by id.

    Args:
        path: the file (created on the first write).
        d: the vectors' dimension.
        dtype: "float32" or "float16".
    """

    def __init__(self, path: str | Path, d: int, dtype: str = "float16") -> None:
        if dtype not in DTYPES:
            raise ValueError(f"originals file dtype must be one of {DTYPES}, got {dtype!r}")
        self.path, self.d, self.dtype = Path(path), d, np.dtype(dtype)
        self._rows: np.ndarray | None = None
        self._map: mmap.mmap | None = None
        self._mapped_bytes = 0

    @property
    def row_bytes(self) -> int:
        return self.d * self.dtype.itemsize

    def write(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Store `vectors [n, d]` (any scale; stored as unit vectors) at rows `ids [n]`."""
        if vectors.ndim != 2 or vectors.shape[1] != self.d or len(ids) != len(vectors):
            raise ValueError(
                f"{self.path}: {len(ids)} ids and vectors of shape {vectors.shape}, expected [n, {self.d}]"
            )
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        rows = np.ascontiguousarray(unit, dtype=self.dtype)
        ids = np.asarray(ids, dtype=np.int64)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            breaks = np.flatnonzero(np.diff(ids) != 1) + 1
            for run in np.split(np.arange(len(ids)), breaks):
                if len(run):
                    os.pwrite(fd, rows[run].tobytes(), int(ids[run[0]]) * self.row_bytes)
        finally:
            os.close(fd)

    def _mapped(self) -> np.ndarray:
        """The file as `[rows, d]`, mapped read-only and advised random; remapped when it has grown."""
        size = self.path.stat().st_size if self.path.is_file() else 0
        if self._rows is None or size != self._mapped_bytes:
            rows = size // self.row_bytes
            if rows == 0:
                return np.zeros((0, self.d), self.dtype)
            with open(self.path, "rb") as f:
                mapped = mmap.mmap(f.fileno(), rows * self.row_bytes, prot=mmap.PROT_READ)
            mapped.madvise(mmap.MADV_RANDOM)
            self._rows = np.frombuffer(mapped, dtype=self.dtype).reshape(rows, self.d)
            self._map, self._mapped_bytes = mapped, size
        return self._rows

    def rescore(self, queries: np.ndarray, candidates: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact cosine of `queries [q, d]` with their candidates' rows `candidates [q, D]` (−1: no
        candidate), re-ordered: `(ids [q, top_k], scores [q, top_k])`, −1 / −inf past the candidates.

        Scored `QUERY_BLOCK` queries at a time, so the gathered rows (`[block, D, d]` float32) stay a
        few MB whatever the batch: a batch of 256 queries at D = 100, d = 384 gathered at once would
        be 39 MB of anonymous memory, more than the codes' index of a quarter-million rows."""
        rows = self._mapped()
        unit = (queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)).astype(np.float32)
        valid = (candidates >= 0) & (candidates < len(rows))
        scores = np.full(candidates.shape, -np.inf, dtype=np.float32)
        for lo in range(0, len(candidates), QUERY_BLOCK):
            block = slice(lo, lo + QUERY_BLOCK)
            # Per block: under a tight cap a whole batch's rows, read ahead at once, are evicted before use.
            self._prefetch(candidates[block][valid[block]])
            picked = rows[np.where(valid[block], candidates[block], 0)].astype(np.float32)  # D reads per query
            scores[block] = np.where(valid[block], np.einsum("qkd,qd->qk", picked, unit[block]), -np.inf)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :top_k]
        ids = np.take_along_axis(np.where(valid, candidates, -1), order, axis=1)
        return ids, np.take_along_axis(scores, order, axis=1)

    def _prefetch(self, ids: np.ndarray) -> None:
        """Start the reads of rows `ids` (`MADV_WILLNEED` over each row's pages; returns at once)."""
        offsets = np.unique(ids.astype(np.int64)) * self.row_bytes
        starts = offsets // mmap.PAGESIZE * mmap.PAGESIZE
        for start, end in zip(starts.tolist(), (offsets + self.row_bytes).tolist(), strict=True):
            self._map.madvise(mmap.MADV_WILLNEED, start, end - start)

    def close(self) -> None:
        self._rows, self._map, self._mapped_bytes = None, None, 0
