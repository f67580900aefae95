"""Dense vectors read in fixed batches from a .npy file, a Parquet file (pyarrow) or
an iterator, so an ingest of any size holds one batch at a time and a resumed one can skip the
batches an engine already acknowledged. Row numbers in the input are the default ids: the same
input gives the same ids every time, which makes re-sending a batch an idempotent upsert.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class SourceError(ValueError):
    """The input cannot be read as it claims to be (corrupt, truncated, wrong layout)."""


@dataclass
class Batch:
    """Rows `first_row .. first_row + rows - 1` of the input, as far as they could be read."""

    number: int
    first_row: int
    ids: np.ndarray  # int64 [rows]
    vectors: np.ndarray  # float32 [rows, d]; rows listed in `bad` hold zeros
    bad: dict[int, str] = field(default_factory=dict)  # row number in the input → what is wrong


def identity(source: str | Path) -> dict[str, Any]:
    """What a checkpoint remembers of a file input, to tell whether a resume reads the same data."""
    path = Path(source).resolve()
    stat = path.stat()
    return {"path": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _npy_batches(path: Path, d: int, batch_size: int, start: int) -> Iterator[Batch]:
    """Plain reads at computed offsets, not a memory map: mapped pages count in the ingest's resident
    memory until the kernel drops them, so a memory map makes RSS grow with the file."""
    try:
        with path.open("rb") as f:
            version = np.lib.format.read_magic(f)
            header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in header:
                raise ValueError(f"format version {version}")
            shape, fortran, dtype = header[version](f)
            offset = f.tell()
    except (ValueError, OSError) as e:  # not a .npy: numpy says why
        raise SourceError(f"{path}: not a readable .npy file ({e})") from e
    if len(shape) != 2 or shape[1] != d or fortran:
        raise SourceError(f"{path}: shape {shape}{' (Fortran order)' if fortran else ''}, expected [n, {d}] C order")
    row_bytes = d * dtype.itemsize
    if path.stat().st_size < offset + shape[0] * row_bytes:
        raise SourceError(f"{path}: truncated: {shape[0]} rows announced, {path.stat().st_size} bytes on disk")
    with path.open("rb") as f:
        for number in range(start, -(-shape[0] // batch_size)):
            lo = number * batch_size
            rows = min(batch_size, shape[0] - lo)
            f.seek(offset + lo * row_bytes)
            block = np.fromfile(f, dtype=dtype, count=rows * d).reshape(rows, d).astype(np.float32)
            yield Batch(number, lo, np.arange(lo, lo + rows, dtype=np.int64), block)


def _list_column(column, d: int, first_row: int) -> tuple[np.ndarray, dict[int, str]]:
    """A pyarrow (fixed-size) list column → `[rows, d]` float32, and the rows that are not d numbers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (
        pa.types.is_list(column.type) or pa.types.is_large_list(column.type) or pa.types.is_fixed_size_list(column.type)
    ):
        raise SourceError(f"the vector column has type {column.type}, expected a list of floats")
    lengths = pc.fill_null(pc.list_value_length(column), -1).to_numpy(zero_copy_only=False)
    bad = {
        first_row + int(i): ("null vector" if lengths[i] < 0 else f"dimension {lengths[i]}, expected {d}")
        for i in np.flatnonzero(lengths != d)
    }
    out = np.zeros((len(column), d), dtype=np.float32)
    good = lengths == d
    if good.any():
        values = pc.list_flatten(column.filter(pa.array(good)))
        out[good] = values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, d)
    return out, bad


def _parquet_batches(
    path: Path, d: int, batch_size: int, start: int, column: str, id_column: str | None
) -> Iterator[Batch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
        names = reader.schema_arrow.names
    except (pa.ArrowException, OSError) as e:
        raise SourceError(f"{path}: not a readable Parquet file ({e})") from e
    wanted = [column] + ([id_column] if id_column else [])
    missing = [name for name in wanted if name not in names]
    if missing:
        raise SourceError(f"{path}: no column {missing[0]!r} (columns: {names})")
    first_row = 0
    try:
        for number, record in enumerate(reader.iter_batches(batch_size=batch_size, columns=wanted)):
            if number >= start:
                vectors, bad = _list_column(record.column(column), d, first_row)
                ids = (
                    record.column(id_column).to_numpy(zero_copy_only=False).astype(np.int64)
                    if id_column
                    else np.arange(first_row, first_row + record.num_rows, dtype=np.int64)
                )
                yield Batch(number, first_row, ids, vectors, bad)
            first_row += record.num_rows
    except (pa.ArrowException, OSError) as e:
        raise SourceError(f"{path}: unreadable after row {first_row} ({e})") from e


def _iterator_batches(items: Iterable, d: int, batch_size: int, start: int) -> Iterator[Batch]:
    """Re-batch an iterator of arrays `[m, d]` (or `(ids, array)` pairs) into `batch_size` rows."""
    pending_ids: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    held, row, number = 0, 0, 0

    def cut(final: bool) -> Iterator[Batch]:
        """Join what is held once and hand out whole batches from it (and, at the end, the rest)."""
        nonlocal held, number
        ids, vectors = np.concatenate(pending_ids), np.concatenate(pending)
        first = row - held
        done = held if final else held - held % batch_size
        for lo in range(0, done, batch_size):
            if number >= start:
                yield Batch(number, first + lo, ids[lo : lo + batch_size], vectors[lo : lo + batch_size])
            number += 1
        pending_ids[:], pending[:] = [ids[done:]], [vectors[done:]]
        held -= done

    for item in items:
        ids, vectors = item if isinstance(item, tuple) else (None, item)
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if vectors.ndim != 2 or vectors.shape[1] != d:
            raise SourceError(f"rows {row}..{row + len(vectors) - 1}: shape {vectors.shape}, expected [m, {d}]")
        ids = np.arange(row, row + len(vectors)) if ids is None else np.asarray(ids, dtype=np.int64)
        row += len(vectors)
        pending_ids.append(ids)
        pending.append(vectors)
        held += len(vectors)
        if held >= batch_size:
            yield from cut(final=False)
    if held:
        yield from cut(final=True)


def check_readable(source: str | Path, d: int, column: str = "embedding", id_column: str | None = None) -> None:
    """Read a file's header and first row as `read_batches` will, so that a file the model cannot
    take (wrong width, not a .npy / Parquet, truncated) is refused before an engine is touched.
    Raises `SourceError` or `FileNotFoundError` naming the file."""
    next(iter(read_batches(source, d, 1, column=column, id_column=id_column)), None)


def read_batches(
    source: str | Path | Iterable,
    d: int,
    batch_size: int,
    start_batch: int = 0,
    column: str = "embedding",
    id_column: str | None = None,
) -> Iterator[Batch]:
    """Batches `start_batch, start_batch + 1, ...` of `source`: a `.npy` or `.parquet` path (Parquet:
    a list-of-float `column`, ids from `id_column` or row numbers) or an iterable of arrays."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        if path.suffix == ".npy":
            return _npy_batches(path, d, batch_size, start_batch)
        if path.suffix in (".parquet", ".pq"):
            return _parquet_batches(path, d, batch_size, start_batch, column, id_column)
        raise SourceError(f"{path}: expected a .npy or .parquet file")
    return _iterator_batches(source, d, batch_size, start_batch)
