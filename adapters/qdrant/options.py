"""What a Qdrant user would switch on instead of the codes, as `saevdb compare` sweeps it: float32
vectors in HNSW, and each of Qdrant's built-in quantizations with and without rescoring from the
originals on disk, at oversampling 1, 2, 4 and 8.

Every option builds the same graph (m=16, ef_construct=100) and searches with the same hnsw_ef=128,
so the options differ only in what they store and how they score.
"""

from __future__ import annotations

from saevdb.adapters.options import DenseOption, SearchSetting, rescore_sweep

GRAPH = {"m": 16, "ef_construct": 100}
SEARCH = {"hnsw_ef": 128}
OVERSAMPLING = (1, 2, 4, 8)

_QUANTIZED = (
    ("scalar int8", "scalar-int8"),
    ("binary 1-bit", "binary-1bit"),
    ("binary 1-bit, 8-bit query", "binary-1bit-query8"),
    ("binary 1.5-bit", "binary-1.5bit"),
    ("binary 2-bit", "binary-2bit"),
    ("binary 2-bit, 8-bit query", "binary-2bit-query8"),
    ("TurboQuant 2-bit", "turboquant-2bit"),
    ("TurboQuant 4-bit", "turboquant-4bit"),
    ("product quantization x16", "pq-x16"),
    ("product quantization x32", "pq-x32"),
)

COMPARE_OPTIONS: tuple[DenseOption, ...] = (
    DenseOption("float32 HNSW", dict(GRAPH), (SearchSetting("hnsw_ef 128", dict(SEARCH)),), originals_searched=True),
    *(
        DenseOption(
            method, {**GRAPH, "quantization": name}, rescore_sweep(OVERSAMPLING, "oversampling", "rescore", SEARCH)
        )
        for method, name in _QUANTIZED
    ),
)
