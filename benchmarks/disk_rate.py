"""The device's random 4 KiB read rate, measured on a file of the run: the ceiling a disk-bound
search meets (QPS ≤ reads per second / pages read per query).

`O_DIRECT` reads of page-aligned 4 KiB blocks at uniformly random offsets, so neither the page
cache nor read-ahead answers them; `threads` readers at once give the rate at that queue depth.

    .venv/bin/python benchmarks/disk_rate.py runs/wordnet_tiled_1m.npy
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

BLOCK = 4096


def _reader(path: Path, seconds: float, seed: int) -> tuple[int, list[float]]:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    buffer = mmap.mmap(-1, BLOCK)  # page-aligned, as O_DIRECT needs
    blocks = os.fstat(fd).st_size // BLOCK
    rng = np.random.default_rng(seed)
    latencies = []
    try:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            offset = int(rng.integers(blocks)) * BLOCK
            start = time.perf_counter()
            os.preadv(fd, [buffer], offset)
            latencies.append(time.perf_counter() - start)
    finally:
        os.close(fd)
        buffer.close()
    return len(latencies), latencies


def random_read_rate(path: str | Path, seconds: float = 3.0, threads: int = 1) -> dict:
    """`{"threads", "reads_per_s", "p50_ms", "p99_ms", "file_bytes"}` of random 4 KiB direct reads of `path`."""
    path = Path(path)
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda seed: _reader(path, seconds, seed), range(threads)))
    latencies = np.concatenate([np.asarray(lat) for _, lat in results])
    return {
        "threads": threads,
        "reads_per_s": sum(count for count, _ in results) / seconds,
        "p50_ms": 1000 * float(np.percentile(latencies, 50)),
        "p99_ms": 1000 * float(np.percentile(latencies, 99)),
        "file_bytes": path.stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    print(json.dumps([random_read_rate(args.path, args.seconds, t) for t in (1, 4)], indent=1))


if __name__ == "__main__":
    main()
