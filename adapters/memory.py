"""Memory an engine process must be provisioned with, read per mapping (`/proc/PID/smaps` through
psutil), not as one resident-set figure.

An engine keeps what it searches in two kinds of pages: anonymous memory (heaps, arenas, the JVM's
heap) and file-backed pages of memory-mapped files (Qdrant maps even its "in RAM" vectors and
graphs as files; Lucene maps every index file). A plain RSS delta mixes both with the engine's
program and libraries, and counts pages the queries never touch. So each mapped file is credited
with its resident pages and given a role by the engine that wrote it:

    sparse     postings of the codes (the native sparse index) and the stored codes
    graph      HNSW links
    quantized  compressed vectors the search scores
    vectors    full-precision vectors (the originals)
    ids        what turns a hit into the user's id: id maps, version and deletion flags, stored ids
    wal        the write-ahead log (translog): read when the engine starts, not by queries
    other      anything else in the data folder (payloads, configuration, segment metadata)
    program    anything outside the data folder (binaries, libraries, jars): a fixed cost

Whether the `vectors` pages are needed for search or only for rescoring depends on the method, so
the comparison decides that, not this module. A file mapped more than once is credited with the
sum of its mappings' resident pages, capped at the file's allocated size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROLES = ("sparse", "graph", "quantized", "vectors", "ids", "wal", "other", "program")


@dataclass(frozen=True)
class ProcessMemory:
    """One reading of an engine process.

    Attributes:
        anonymous_bytes: resident anonymous pages (heap, arenas, stacks, the JVM heap that was touched).
        file_bytes: resident file-backed pages, summed per role (keys: `ROLES`).
        rss_bytes: the plain resident set, for reference only.
        heap_used_bytes: the JVM heap in use from the engine's own statistics (None elsewhere).
    """

    anonymous_bytes: int
    file_bytes: dict[str, int] = field(default_factory=dict)
    rss_bytes: int = 0
    heap_used_bytes: int | None = None

    def to_dict(self) -> dict:
        return {
            "anonymous_bytes": self.anonymous_bytes,
            "file_bytes": dict(self.file_bytes),
            "rss_bytes": self.rss_bytes,
            "heap_used_bytes": self.heap_used_bytes,
        }


def read_memory(pid: int, data_folder: Path, role_of: Callable[[Path], str]) -> ProcessMemory:
    """Anonymous and per-role file-backed resident bytes of process `pid`.

    `role_of(path)` names the role of a file inside `data_folder` (one of `ROLES`); files outside
    it are `program`. Pseudo-paths (`[heap]`, `[stack]`, anonymous maps) add only anonymous pages.
    """
    process = psutil.Process(pid)
    folder = Path(data_folder).resolve()
    anonymous = 0
    files = dict.fromkeys(ROLES, 0)
    for mapping in process.memory_maps(grouped=True):
        anonymous += mapping.anonymous
        path = Path(mapping.path) if mapping.path.startswith("/") else None
        if path is None:
            continue
        file_resident = max(mapping.rss - mapping.anonymous, 0)
        try:
            file_resident = min(file_resident, path.stat().st_blocks * 512)
        except OSError:
            pass  # deleted or unreadable since: keep what the mapping says
        role = role_of(path) if path.resolve().is_relative_to(folder) else "program"
        files[role if role in files else "other"] += file_resident
    return ProcessMemory(anonymous_bytes=anonymous, file_bytes=files, rss_bytes=process.memory_info().rss)
