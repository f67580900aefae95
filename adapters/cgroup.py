"""A memory cap for an engine process: a child of this process's own memory cgroup, with a limit,
the engine's pid moved into it, and the kernel's accounting of what it charged.

A memory cgroup charges a page to the cgroup of the process that first brought it into memory:
anonymous pages, and the page cache of every file read or written, memory-mapped or not. So a cap
proves a figure only for pages the capped engine itself reads: a file whose pages are still cached
from the build (written by another process) costs the capped engine nothing. `evict` drops a
folder's cached pages first (`fsync`, then `posix_fadvise(POSIX_FADV_DONTNEED)`), so every page the
engine then touches is charged to its cgroup and counts against the cap.

The pid joins after the engine serves on an empty folder (`add`): charges stay with the cgroup that
made them (v1's `move_charge_at_immigrate` is 0 by default), so the cap bounds what the engine
takes above its empty process — the collection's memory — and the empty process is read apart.

cgroup v1 (`/sys/fs/cgroup/memory/<own path>/<child>`: `memory.limit_in_bytes`, `memory.stat`
rss / cache / mapped_file, `memory.oom_control` oom_kill) and v2 (`<own path>/<child>`:
`memory.max`, `memory.stat` anon / file / file_mapped, `memory.events` oom_kill) are both read; stat
keys are given under v1's names. Where neither can be made (no permission, or v2 without the memory
controller delegated to this process's cgroup), `child` raises `CgroupUnavailable` with the reason.
Paths come from `/proc/self/cgroup` as seen from the cgroup root mounted here: right on a host or in
a container with its own cgroup namespace. On v2 a cgroup that holds processes cannot delegate the
memory controller to children, so there a child can be made only where the process's cgroup was
set up for it (e.g. a systemd scope with `Delegate=yes`).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

V1_ROOT = Path("/sys/fs/cgroup/memory")
V2_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
_V2_STAT = {"anon": "rss", "file": "cache", "file_mapped": "mapped_file"}


class CgroupUnavailable(RuntimeError):
    """No memory cgroup can be made for a child process here; the message says why."""


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per hierarchy (`/proc/self/cgroup`): "memory" (v1) and "" (v2)."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


@dataclass
class MemoryCgroup:
    """One child memory cgroup. `with MemoryCgroup.child("edge") as cg: cg.set_limit(n); cg.add(pid)`.

    Attributes:
        path: its folder in the cgroup file system.
        version: 1 or 2.
    """

    path: Path
    version: int

    @classmethod
    def child(cls, name: str = "saevdb") -> MemoryCgroup:
        """A new child of this process's memory cgroup, named `name-<random>`, with no limit."""
        own = _own_paths()
        leaf = f"{name}-{uuid.uuid4().hex[:8]}"
        reasons = []
        if "memory" in own and V1_ROOT.is_dir():
            path = V1_ROOT / own["memory"].lstrip("/") / leaf
            try:
                path.mkdir()
                return cls(path, 1)
            except OSError as e:
                reasons.append(f"cgroup v1: cannot create {path}: {e.strerror}")
        for root in V2_ROOTS:
            if "" in own and (root / "cgroup.controllers").is_file():
                parent = root / own[""].lstrip("/")
                try:
                    delegated = "memory" in (parent / "cgroup.subtree_control").read_text().split()
                except OSError as e:
                    delegated, reasons = False, [*reasons, f"cgroup v2: cannot read {parent}: {e.strerror}"]
                if not delegated:
                    reasons.append(f"cgroup v2: the memory controller is not delegated to {parent}")
                    break
                try:
                    (parent / leaf).mkdir()
                    return cls(parent / leaf, 2)
                except OSError as e:
                    reasons.append(f"cgroup v2: cannot create {parent / leaf}: {e.strerror}")
                break
        raise CgroupUnavailable("; ".join(reasons) or "no memory cgroup hierarchy is mounted")

    def _file(self, v1: str, v2: str) -> Path:
        return self.path / (v1 if self.version == 1 else v2)

    def set_limit(self, limit_bytes: int | None) -> None:
        """Cap the cgroup's memory (anonymous + page cache) at `limit_bytes`; None lifts the cap."""
        if self.version == 1:
            value = "-1" if limit_bytes is None else str(int(limit_bytes))
        else:
            value = "max" if limit_bytes is None else str(int(limit_bytes))
        self._file("memory.limit_in_bytes", "memory.max").write_text(value)

    def add(self, pid: int) -> None:
        """Move process `pid` (all its threads) into the cgroup; what it charged before stays behind."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def usage_bytes(self) -> int:
        """Memory charged to the cgroup now (anonymous + page cache)."""
        return int(self._file("memory.usage_in_bytes", "memory.current").read_text())

    def peak_bytes(self) -> int | None:
        """The most ever charged (v1 `max_usage_in_bytes`, v2 `memory.peak` where the kernel has it)."""
        peak = self._file("memory.max_usage_in_bytes", "memory.peak")
        return int(peak.read_text()) if peak.is_file() else None

    def stat(self) -> dict[str, int]:
        """`memory.stat` as integers; v2's anon / file / file_mapped also under v1's rss / cache /
        mapped_file, so readers use one set of names."""
        values = {}
        for line in (self.path / "memory.stat").read_text().splitlines():
            key, value = line.split()
            values[key] = int(value)
        if self.version == 2:
            values.update({v1: values[v2] for v2, v1 in _V2_STAT.items() if v2 in values})
        return values

    def oom_kills(self) -> int:
        """Processes the kernel's OOM killer has killed in this cgroup."""
        events = self._file("memory.oom_control", "memory.events").read_text().split()
        pairs = dict(zip(events[::2], events[1::2], strict=False))
        return int(pairs.get("oom_kill", 0))

    def remove(self, timeout_s: float = 10.0) -> None:
        """Remove the cgroup; processes still in it are killed first (its page-cache charges go to
        the parent)."""
        if not self.path.is_dir():
            return
        for pid in (self.path / "cgroup.procs").read_text().split():
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(int(pid)).kill()
        end = time.monotonic() + timeout_s
        while True:
            try:
                self.path.rmdir()
                return
            except OSError:  # EBUSY until the killed processes are gone
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)

    def __enter__(self) -> MemoryCgroup:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def evict(folder: str | Path) -> int:
    """Drop the page cache of every file under `folder` (written back first, so dirty pages drop too);
    returns the bytes of the files advised. Pages another process still maps stay resident."""
    advised = 0
    for path in Path(folder).rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            advised += os.fstat(fd).st_size
        finally:
            os.close(fd)
    return advised
