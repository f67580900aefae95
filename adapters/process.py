"""What the launchers of local engines share: a free loopback port and the resident memory of a pid."""

from __future__ import annotations

import socket

import psutil


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid: int | None) -> int | None:
    """Resident memory of process `pid`, or None when there is none to read."""
    return psutil.Process(pid).memory_info().rss if pid else None
