"""OpenSearch's own ways of storing the dense vectors, as `saevdb compare` sweeps them
(`saevdb.adapters.options`): `OpenSearchDenseAdapter` builds, each searched as one setting.

Every build is HNSW with m=16, ef_construction=100, searched with ef_search=128: the settings every
engine's dense options use, so the curves differ only in how the vectors are stored.

What the local node runs (k-NN 2.19 from Maven, Lucene engine only): float32 HNSW, the Lucene
scalar quantizer and byte vectors. Lucene has no rescoring knob in 2.19 (the knn query's `rescore`
is accepted on a Lucene field and changes no score), so each of those is one setting; `mode: on_disk`
on a Lucene field builds the same scalar-quantized files as "sq", so it is not listed twice. The faiss
methods a user of a full OpenSearch server would reach for are listed `server_only`: the Maven
distribution lacks the plugin's native faiss library, and an index asking for it ends the node.

The 3.x line (`COMPARE_OPTIONS_3`, the registry's "opensearch3", k-NN 3.5 from Maven): the knn
query's `rescore` works on the 7-bit quantizer, so "sq" is swept without and with rescoring at
oversample factors 2 and 4, as its users set them (on Lucene it re-scores the top k exactly without
widening them: `dense.py`); `mode: on_disk` (on Lucene: compression 4x, rescored by default) and
binary vectors (sign bits, Hamming) join. What the Lucene engine of 3.5 refuses at the mapping, so
nobody can pick it there: the scalar quantizer at 1, 2 or 4 bits, compression levels 8x-32x, the
binary (BBQ) encoder, the flat method. k-NN 3.6 accepts 1-bit and 32x but its Lucene scorer then
needs the native SIMD library the Maven zip lacks: the node ends at the first search.
"""

from __future__ import annotations

from saevdb.adapters.options import DenseOption, SearchSetting, rescore_sweep

# The vectors are kept out of `_source` (as OpenSearch advises for vector indices): `_source` is
# stored with each document and read to return a hit's id, so vectors kept there would be read with
# every hit and counted in the node's memory.
HNSW = {"m": 16, "ef_construction": 100, "source": False}
SEARCH = (SearchSetting("ef_search 128", {"ef_search": 128}),)
OVERSAMPLING_3 = (2, 4)  # the knn query's rescore.oversample_factor, 3.x
NO_FAISS = "needs the k-NN plugin's native faiss library, which the Maven distribution lacks"

# faiss encoders and the disk mode: names a server's mapping takes, never built on the local node.
SERVER_ONLY: tuple[DenseOption, ...] = (
    DenseOption("faiss binary quantization 32x", {**HNSW, "quantization": "faiss_bq"}, SEARCH, server_only=NO_FAISS),
    DenseOption("faiss PQ", {**HNSW, "quantization": "faiss_pq"}, SEARCH, server_only=NO_FAISS),
    DenseOption("faiss fp16", {**HNSW, "quantization": "faiss_fp16"}, SEARCH, server_only=NO_FAISS),
    DenseOption(
        "on_disk mode (faiss, 32x, oversampling + rescore)",
        {**HNSW, "quantization": "faiss_on_disk"},
        SEARCH,
        server_only=NO_FAISS,
    ),
)

COMPARE_OPTIONS: tuple[DenseOption, ...] = (
    DenseOption("float32 HNSW", dict(HNSW), SEARCH, originals_searched=True),
    DenseOption("Lucene SQ 7-bit", {**HNSW, "quantization": "sq"}, SEARCH),
    DenseOption("byte vectors (int8)", {**HNSW, "quantization": "byte"}, SEARCH),
    *SERVER_ONLY,
)

_RESCORED = dict(SEARCH[0].params)  # the same search, with and without rescoring
COMPARE_OPTIONS_3: tuple[DenseOption, ...] = (
    DenseOption("float32 HNSW", dict(HNSW), SEARCH, originals_searched=True),
    DenseOption(
        "Lucene SQ 7-bit",
        {**HNSW, "quantization": "sq"},
        rescore_sweep(OVERSAMPLING_3, "oversample_factor", None, _RESCORED),
    ),
    DenseOption("byte vectors (int8)", {**HNSW, "quantization": "byte"}, SEARCH),
    DenseOption(
        "on_disk mode (Lucene 4x)",
        {**HNSW, "quantization": "on_disk"},
        rescore_sweep(OVERSAMPLING_3, "oversample_factor", "rescore", _RESCORED),
    ),
    DenseOption("binary vectors (sign bits, Hamming)", {**HNSW, "quantization": "binary"}, SEARCH),
    *SERVER_ONLY,
)
