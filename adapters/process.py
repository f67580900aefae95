"""What the launchers of local engines share: a free loopback port and the resident memory of a pid."""

from __future__ import annotations

import socket
from pathlib import Path

import psutil


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid: int | None) -> int | None:
    """Resident memory of process `pid`, or None when there is none to read."""
    return psutil.Process(pid).memory_info().rss if pid else None


def allocated_bytes(folder: Path) -> int:
    """Disk a folder really uses: allocated blocks, not apparent sizes (Qdrant preallocates sparse files)."""
    return sum(f.stat().st_blocks * 512 for f in folder.rglob("*") if f.is_file())


def reap_stale(pidfile: Path) -> None:
    """Kill the engine a crashed parent left running on this data (recorded in `pidfile`): two
    engines on one data folder would corrupt it. A pid reused by another process is left alone."""
    if not pidfile.is_file():
        return
    try:
        pid, started = pidfile.read_text().split()
        process = psutil.Process(int(pid))
        if abs(process.create_time() - float(started)) < 1e-3:
            process.kill()
            process.wait(timeout=30)
    except (ValueError, psutil.NoSuchProcess):
        pass
    pidfile.unlink(missing_ok=True)


def record(pidfile: Path, pid: int) -> None:
    """Remember the engine serving this data folder, for `reap_stale`."""
    pidfile.write_text(f"{pid} {psutil.Process(pid).create_time()}")
