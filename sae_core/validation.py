"""Input checks run on a whole batch before anything is computed or written."""

from __future__ import annotations

import numpy as np


def check_embeddings(x: np.ndarray, d: int | None = None, name: str = "embeddings") -> np.ndarray:
    """Return `x` as a 2-D floating array, or raise one `ValueError` naming what is wrong.

    Checks, in order: array-like, 2-D, not empty, the expected width `d`, finite values
    (NaN/inf rows are listed by index), no all-zero row (it has no direction: its cosine with
    anything is undefined, and a code for it would be made of the biases alone). The array is not
    copied when already floating.
    """
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [n, d], got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if d is not None and arr.shape[1] != d:
        raise ValueError(f"{name} have dimension {arr.shape[1]}, the model expects {d}")
    if not np.issubdtype(arr.dtype, np.floating):
        if not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
        arr = arr.astype(np.float32)
    non_finite, zero = _bad_rows(arr)
    for rows, what in ((non_finite, "NaN or inf"), (zero, "only zeros (no direction to encode)")):
        if rows.size:
            shown = ", ".join(str(i) for i in rows[:5])
            raise ValueError(f"{name} contain {what} in {rows.size} row(s), e.g. rows {shown}")
    return arr


def _bad_rows(arr: np.ndarray, block: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers holding NaN/inf and rows of zeros, scanned in blocks so a memory-mapped file is
    not loaded whole."""
    non_finite, zero = [], []
    for start in range(0, arr.shape[0], block):
        chunk = np.asarray(arr[start : start + block])
        non_finite.append(np.flatnonzero(~np.isfinite(chunk).all(axis=1)) + start)
        zero.append(np.flatnonzero(~chunk.any(axis=1)) + start)
    return np.concatenate(non_finite), np.concatenate(zero)
