"""RAM to provision per vector, from two readings of an engine process (`saevdb.adapters.memory`).

    RAM to provision = (anonymous − anonymous of the same engine started empty)
                       + resident pages of the index files the queries read
    per vector       = that / n

The index files are the sparse postings, HNSW graphs and compressed vectors; the full-precision
vectors count too when the search itself scores them (float32 HNSW, FLAT), and are otherwise
reported apart as the originals' pages, read only to rescore. Resident pages are read after the
queries, so they are the pages the queries touched (plus the kernel's read-ahead). WAL, id maps,
payloads and the engine's program are left out. For a JVM the anonymous part includes the heap
the node has touched; the heap in use by its own statistics is reported beside it.
"""

from __future__ import annotations

from saevdb.adapters.memory import ProcessMemory

INDEX_ROLES = ("sparse", "graph", "quantized")


def provisioned(reading: ProcessMemory, empty: ProcessMemory, n: int, originals_searched: bool) -> dict[str, float]:
    """Per-vector figures of one reading against the empty engine's: `ram_bytes_per_vector` (to
    provision), `originals_ram_bytes_per_vector` (the originals' resident pages, when not searched),
    and the parts (`anonymous`, each role)."""
    files = reading.file_bytes
    index = sum(files.get(role, 0) for role in INDEX_ROLES)
    vectors = files.get("vectors", 0)
    anonymous = max(reading.anonymous_bytes - empty.anonymous_bytes, 0)
    ram = anonymous + index + (vectors if originals_searched else 0)
    return {
        "ram_bytes_per_vector": ram / n,
        "originals_ram_bytes_per_vector": 0.0 if originals_searched else vectors / n,
        "anonymous_bytes_per_vector": anonymous / n,
        **{f"{role}_bytes_per_vector": files.get(role, 0) / n for role in (*INDEX_ROLES, "vectors", "other")},
    }
