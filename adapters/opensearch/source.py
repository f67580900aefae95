"""How a code is kept in a document's `_source` when the `rank_features` map is left out of it
(`source="compact"`): one base64 string, so `retrieve` and client re-ranking can read it back."""

from __future__ import annotations

import base64

import numpy as np


def pack_code(indices: np.ndarray, values: np.ndarray) -> str:
    """One row's code as base64 of uint32 indices then float32 values: exact, 8 bytes a non-zero."""
    return base64.b64encode(indices.astype("<u4").tobytes() + values.astype("<f4").tobytes()).decode()


def unpack_code(packed: str) -> tuple[np.ndarray, np.ndarray]:
    """`pack_code`'s string back to `(indices uint32 [nnz], values float32 [nnz])`."""
    raw = base64.b64decode(packed)
    half = len(raw) // 2
    return np.frombuffer(raw[:half], dtype="<u4"), np.frombuffer(raw[half:], dtype="<f4")
