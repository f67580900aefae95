"""Where a Qdrant Edge shard keeps its bookkeeping: the point-id tracker and the payload storage.

Qdrant's `Memory` placements, by name: "pinned" (read into the heap when the shard loads), "cached"
(memory-mapped and read in at load: page cache the kernel may evict) and "cold" (memory-mapped,
read on demand). Qdrant's default keeps the id tracker of an immutable segment on the heap: at
1M points that is about 29 MB (its mappings and versions), the same for every kind of vector the
shard holds, and under a memory cap heap cannot page out where mapped files can
(benchmarks/RESULTS.md, "What a first-stage shard holds once loaded"). A placement takes effect
when a segment is written (the shard's build or its `optimize()`); given to a shard built without
it, Qdrant records it and moves nothing.
"""

from __future__ import annotations

import qdrant_edge as edge

MEMORY = {"pinned": edge.Memory.Pinned, "cached": edge.Memory.Cached, "cold": edge.Memory.Cold}


def check_placement(name: str | None, what: str) -> edge.Memory | None:
    """The `edge.Memory` of `name` (None: Qdrant's default), or a ValueError naming `what`."""
    if name is None:
        return None
    if name not in MEMORY:
        raise ValueError(f"{what}={name!r}: expected one of {', '.join(MEMORY)} (or None for Qdrant's default)")
    return MEMORY[name]


def placements(id_tracker_memory: str | None, payload_memory: str | None) -> dict[str, edge.Memory]:
    """`EdgeConfig` keyword arguments for the two placements given (none for a default)."""
    given = {
        "id_tracker_memory": check_placement(id_tracker_memory, "id_tracker_memory"),
        "payload_memory": check_placement(payload_memory, "payload_memory"),
    }
    return {key: value for key, value in given.items() if value is not None}
