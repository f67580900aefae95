"""Names and defaults shared by the Milvus adapters."""

from __future__ import annotations

VECTOR_FIELD = "sae"  # the SPARSE_FLOAT_VECTOR field holding the codes
DENSE_FIELD = "dense"  # the FLOAT_VECTOR field of the baseline
GET_CHUNK = 8192  # ids per `get`: a query returns at most 16,384 rows and says nothing of the rest
PRECISIONS = ("float32",)  # SPARSE_FLOAT_VECTOR stores float32 weights only
INVERTED_INDEX_ALGOS = ("DAAT_MAXSCORE", "DAAT_WAND", "TAAT_NAIVE")


def count_rows(client, collection: str, timeout: int | None = None) -> int:
    """Stored rows, counted by the engine (num_entities would include deleted ones until compaction)."""
    return int(client.query(collection, filter="", output_fields=["count(*)"], timeout=timeout)[0]["count(*)"])
