"""RAM to provision per vector, from three readings of an engine process (`saevdb.adapters.memory`).

    RAM to provision = (anonymous once loaded − anonymous of the same engine started empty)
                       + resident pages of the index files the queries read
    per vector       = that / n

Anonymous memory is read once the collection is loaded in a fresh engine (one `count()`, the freed
heap returned), before any query: what grows during the queries is the queries' own working memory
and the transport of their batches (a batch of 256 full-width queries is 256 × h weights; the
allocator of an engine child keeps such buffers after they are freed), which scales with the
queries in flight, not with n. It is reported apart, as `query_anonymous_bytes_per_vector`.

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


def provisioned(
    reading: ProcessMemory, loaded: ProcessMemory, empty: ProcessMemory, n: int, originals_searched: bool
) -> dict[str, float]:
    """Per-vector figures of the reading after the queries, the one once loaded and the empty
    engine's: `ram_bytes_per_vector` (to provision), `originals_ram_bytes_per_vector` (the originals'
    resident pages, when not searched), `query_anonymous_bytes_per_vector` (grown during the queries)
    and the parts (`anonymous`, each role)."""
    files = reading.file_bytes
    index = sum(files.get(role, 0) for role in INDEX_ROLES)
    vectors = files.get("vectors", 0)
    anonymous = max(loaded.anonymous_bytes - empty.anonymous_bytes, 0)
    ram = anonymous + index + (vectors if originals_searched else 0)
    return {
        "ram_bytes_per_vector": ram / n,
        "originals_ram_bytes_per_vector": 0.0 if originals_searched else vectors / n,
        "query_anonymous_bytes_per_vector": max(reading.anonymous_bytes - loaded.anonymous_bytes, 0) / n,
        "anonymous_bytes_per_vector": anonymous / n,
        **{f"{role}_bytes_per_vector": files.get(role, 0) / n for role in (*INDEX_ROLES, "vectors", "wal")},
    }
