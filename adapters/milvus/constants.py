"""Names and defaults shared by the Milvus adapters."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

VECTOR_FIELD = "sae"  # the SPARSE_FLOAT_VECTOR field holding the codes
DENSE_FIELD = "dense"  # the FLOAT_VECTOR field of the baseline
ORIGINALS_FIELD = "original"  # the FLOAT_VECTOR field of the originals beside the codes (two-stage search)
GET_CHUNK = 8192  # ids per `get`: a query returns at most 16,384 rows and says nothing of the rest
PRECISIONS = ("float32",)  # SPARSE_FLOAT_VECTOR stores float32 weights only
# How the sparse index walks its posting lists; the first is the adapter's default. Milvus's own
# default, DAAT_MAXSCORE, is built for short text queries: a code's query names thousands of latents
# (every positive weight of W_dec q̄), and on Milvus Lite 2.5.1 both DAAT algorithms were far slower
# than TAAT_NAIVE at full width, and no faster with 32 or 512 query weights (the query-cost table of
# benchmarks/RESULTS.md, from benchmarks/query_cost.py).
INVERTED_INDEX_ALGOS = ("TAAT_NAIVE", "DAAT_MAXSCORE", "DAAT_WAND")

# The dense index types the dense adapter takes, each with the search knobs it reads (`search_params`'
# "params"); Milvus ignores a knob an index does not read, so the adapter refuses it instead.
# IVF_RABITQ needs Milvus 2.6; Milvus Lite 2.5 builds only FLAT, IVF_FLAT and AUTOINDEX.
DENSE_SEARCH_PARAMS: dict[str, tuple[str, ...]] = {
    "FLAT": (),
    "AUTOINDEX": (),
    "IVF_FLAT": ("nprobe",),
    "IVF_SQ8": ("nprobe",),
    "IVF_PQ": ("nprobe",),
    "HNSW": ("ef",),
    "HNSW_SQ": ("ef", "refine_k"),
    "HNSW_PQ": ("ef", "refine_k"),
    "IVF_RABITQ": ("nprobe", "rbq_query_bits", "refine_k"),
}
LITE_INDEX_TYPES = ("FLAT", "IVF_FLAT", "AUTOINDEX")  # what Milvus Lite 2.5's index checker accepts


def count_rows(client, collection: str, timeout: int | None = None) -> int:
    """Stored rows, counted by the engine (num_entities would include deleted ones until compaction)."""
    return int(client.query(collection, filter="", output_fields=["count(*)"], timeout=timeout)[0]["count(*)"])


try:
    ENGINE_VERSION = f"milvus-lite {version('milvus-lite')}"  # the local engine, as reports name it
except PackageNotFoundError:
    ENGINE_VERSION = "milvus-lite (not installed)"
