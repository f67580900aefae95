"""RAM to provision per vector, from two readings of an engine process (`saevdb.adapters.memory`).

    RAM to provision = (anonymous − anonymous of the same engine started empty)
                       + resident pages of the index files the queries read
    per vector       = that / n

The index files are every file of the data folder but two kinds: the write-ahead log (read when
the engine starts, not by queries) and the full-precision vectors when the search does not score
them — those are the originals, read only to rescore, and reported apart. (Where the search itself
scores them, float32 HNSW or FLAT, they are index.) So sparse postings, graphs, compressed vectors,
id maps and whatever else is resident count. Resident pages are read after the queries, so they are
the pages loading and the queries touched (plus the kernel's read-ahead). The engine's program and
libraries are left out, as a fixed cost. For a JVM the anonymous part includes the heap
the node has touched; the heap in use by its own statistics is reported beside it.
"""

from __future__ import annotations

from saevdb.adapters.memory import ProcessMemory

INDEX_ROLES = ("sparse", "graph", "quantized", "ids", "other")


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
        **{f"{role}_bytes_per_vector": files.get(role, 0) / n for role in (*INDEX_ROLES, "vectors", "wal")},
    }
