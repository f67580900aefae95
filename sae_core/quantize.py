"""uint8 code values, for engines that store sparse weights in one byte (Qdrant's `uint8` datatype).

One global scale maps a high quantile of the values to 255, so ranking by inner product is kept up
to rounding; values above it saturate. Entries never round to 0: dropping one would change the
support the SAE chose, and a 1 costs the same byte.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def uint8_scale(codes: sp.csr_matrix, quantile: float = 0.999) -> float:
    """The factor that takes the `quantile` of the non-zero values (a sample of codes is enough) to 255."""
    if codes.nnz == 0:
        raise ValueError("no non-zero values to fit a scale on")
    if (codes.data < 0).any():
        raise ValueError("uint8 storage takes non-negative codes: encode with signed=False")
    top = float(np.quantile(codes.data, quantile))
    if top <= 0:
        raise ValueError("the values are all zero at that quantile")
    return 255.0 / top


def quantize_uint8(codes: sp.csr_matrix, scale: float) -> sp.csr_matrix:
    """Codes with values `round(value * scale)` clipped to 1..255 (float32 holding integers)."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    out = sp.csr_matrix(codes, dtype=np.float32, copy=True)
    out.eliminate_zeros()
    if (out.data < 0).any():
        raise ValueError("uint8 storage takes non-negative codes: encode with signed=False")
    out.data = np.clip(np.rint(out.data * scale), 1, 255).astype(np.float32)
    return out


def stored_uint8(codes: sp.csr_matrix, quantile: float = 0.999) -> sp.csr_matrix:
    """Codes as a uint8 field holds them, divided back by their scale: the engine ranks by these
    up to one global factor, and a client decoding them for re-ranking sees these values."""
    scale = uint8_scale(codes, quantile)
    out = quantize_uint8(codes, scale)
    out.data /= scale
    return out
