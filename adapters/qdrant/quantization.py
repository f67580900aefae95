"""Qdrant's built-in quantizations of dense vectors, by name, as Qdrant Edge configures them, and
the search parameters that go with them.

Every quantization keeps the compressed vectors in RAM (`Memory.Pinned`, Qdrant's `always_ram`) and
the float32 originals on disk (`Memory.Cold`), the setting Qdrant recommends for saving memory:
the HNSW graph is walked on the compressed vectors, and with `rescore` the best
`oversampling × limit` candidates are re-scored with the originals read from disk.
Bytes per vector of the compressed form at d dimensions: int8 d; binary 1 / 1.5 / 2 bits d/8,
1.5·d/8, 2·d/8; TurboQuant b bits b·d/8 (plus a norm); product quantization x16 / x32 4·d/16,
4·d/32.
"""

from __future__ import annotations

from typing import Any

import qdrant_edge as edge

from saevdb.adapters.base import UnsupportedFeatureError

_BINARY = edge.BinaryQuantizationEncoding
_QUERY = edge.BinaryQuantizationQueryEncoding


def _binary(encoding, query=None) -> Any:
    return edge.BinaryQuantizationConfig(encoding=encoding, query_encoding=query, memory=edge.Memory.Pinned)


def _turbo(bits) -> Any:
    return edge.TurboQuantQuantizationConfig(bits=bits, memory=edge.Memory.Pinned)


def _product(ratio) -> Any:
    return edge.ProductQuantizationConfig(compression=ratio, memory=edge.Memory.Pinned)


# name → a function building the Edge config (built on use: the enums' objects are not picklable).
QUANTIZATIONS = {
    "scalar-int8": lambda: edge.ScalarQuantizationConfig(type=edge.ScalarType.Int8, memory=edge.Memory.Pinned),
    "binary-1bit": lambda: _binary(_BINARY.OneBit),
    "binary-1bit-query8": lambda: _binary(_BINARY.OneBit, _QUERY.Scalar8Bits),
    "binary-1.5bit": lambda: _binary(_BINARY.OneAndHalfBits),
    "binary-2bit": lambda: _binary(_BINARY.TwoBits),
    "binary-2bit-query8": lambda: _binary(_BINARY.TwoBits, _QUERY.Scalar8Bits),
    "turboquant-2bit": lambda: _turbo(edge.TurboQuantBitSize.Bits2),
    "turboquant-4bit": lambda: _turbo(edge.TurboQuantBitSize.Bits4),
    "pq-x16": lambda: _product(edge.CompressionRatio.X16),
    "pq-x32": lambda: _product(edge.CompressionRatio.X32),
}

SEARCH_PARAMS = ("hnsw_ef", "exact", "oversampling", "rescore")


def quantization_config(name: str | None) -> Any:
    """The Edge quantization config of `name` (None: no quantization), or one clear error."""
    if name is None:
        return None
    if name not in QUANTIZATIONS:
        raise UnsupportedFeatureError(f"Qdrant quantization must be one of {sorted(QUANTIZATIONS)}, got {name!r}")
    return QUANTIZATIONS[name]()


def search_params(params: dict[str, Any]) -> edge.SearchParams | None:
    """`edge.SearchParams` from the dense adapter's search keywords (`SEARCH_PARAMS`); others refused.

    `oversampling` and `rescore` only act on a quantized vector; `rescore=False` scores the hits by
    their compressed vectors alone."""
    unknown = sorted(set(params) - set(SEARCH_PARAMS))
    if unknown:
        raise UnsupportedFeatureError(f"Qdrant search takes {list(SEARCH_PARAMS)}, not {unknown}")
    if not params:
        return None
    quantization = None
    if "oversampling" in params or "rescore" in params:
        quantization = edge.QuantizationSearchParams(
            rescore=params.get("rescore"), oversampling=params.get("oversampling")
        )
    return edge.SearchParams(
        hnsw_ef=params.get("hnsw_ef"), exact=bool(params.get("exact", False)), quantization=quantization
    )
