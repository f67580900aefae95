"""Serving a built collection under a memory cap: the proof of a RAM figure.

Per cap, a fresh engine starts on the build's folder (still empty of the collection: Qdrant Edge
opens a shard on first use), joins a child memory cgroup limited to `cap − empty`, and only then
has every file of the folder evicted from the page cache and the collection loaded. So every page
the collection needs, anonymous or file-backed, originals included, is charged to that cgroup and
counts against the cap: the kernel reclaims file pages under it and kills the engine when anonymous
memory alone would pass it (there is no swap). `empty` is the resident memory of the same engine
started on an empty folder, which every cap must exceed (`check_caps`).

Each search setting of the build is then run as `compare` runs it (`truth.measure_search`: recall@10
in batches, single-client latency, `clients`-thread QPS: three passes over the queries), with the
process's storage reads (`/proc/PID/io` read_bytes) and major faults (`/proc/PID/stat`) over the
three passes divided per query, and after them the cgroup's `memory.stat` and the process's
memory per mapping and role (`LocalEngine.memory`: what the charge is made of). An engine the OOM killer
ends marks the rest of the rows failed, with the cap and the cgroup's last reading.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np
import psutil

from saevdb.adapters import local_engine
from saevdb.adapters.cgroup import CgroupUnavailable, MemoryCgroup, evict
from saevdb.compare.build import open_adapter
from saevdb.compare.failure import failure
from saevdb.compare.plan import Build
from saevdb.compare.truth import Truth, measure_search, over_budget

logger = logging.getLogger(__name__)

MB = 1 << 20
STAT_KEYS = ("rss", "cache", "mapped_file")


def empty_engine_bytes(backend: str, folder: Path) -> int:
    """Resident memory of `backend`'s engine started on the empty folder `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    with local_engine(backend, folder) as engine:
        return psutil.Process(engine.pid).memory_info().rss


def check_caps(caps: list[int], empty_bytes: int, backend: str) -> None:
    """Refuse, before anything is built, a cap the empty engine alone would fill."""
    low = [c for c in caps if c <= empty_bytes]
    if low:
        raise ValueError(
            f"memory cap {min(low) / MB:.0f} MB is below the {empty_bytes / MB:.0f} MB the empty {backend}"
            " engine needs: a cap must leave room for the collection"
        )


def _counters(pid: int) -> tuple[int, int]:
    """(bytes the process read from storage, major page faults) so far."""
    return psutil.Process(pid).io_counters().read_bytes, _major_faults(pid)


def _major_faults(pid: int) -> int:
    """`majflt`, the 10th field after the command name of `/proc/PID/stat`."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[9])


def _cgroup_reading(cgroup: MemoryCgroup) -> dict:
    stat = cgroup.stat()
    return {
        "usage_bytes": cgroup.usage_bytes(),
        "peak_bytes": cgroup.peak_bytes(),
        **{f"{key}_bytes": stat.get(key, 0) for key in STAT_KEYS},
        "oom_kills": cgroup.oom_kills(),
    }


def serve_capped(
    backend: str,
    build: Build,
    folder: Path,
    d: int,
    cap_bytes: int | None,
    empty_bytes: int,
    queries: np.ndarray,
    truth: Truth,
    clients: int = 4,
    top_k: int = 10,
    setting_budget_s: float = 120.0,
    deadline_s: float = 300.0,
    trim: bool = False,
) -> list[dict]:
    """One row per setting of `build` served from `folder` with total memory `cap_bytes` (None: no
    cap; the cgroup still counts). Rows carry `status` "ok", "failed" (the OOM kill, the deadline or
    the error, with the last cgroup reading) or "too slow" (`truth.over_budget`). With `trim` the
    engine hands its freed heap back once loaded (`LocalEngine.trim`), as `compare` does before its
    readings; without it, it serves as shipped.

    Under a cap just above its anonymous memory an engine can thrash instead of being killed: every
    file page it needs is reclaimed before it is used again, and neither load nor query ends. So the
    whole serving (load and every setting) has `deadline_s`; past it the engine is killed and the
    remaining rows say so."""
    limit = None if cap_bytes is None else cap_bytes - empty_bytes
    base = {"cap_bytes": cap_bytes, "cap_above_empty_bytes": limit, "empty_engine_bytes": empty_bytes, "trim": trim}
    rows: list[dict] = []
    deadline = None
    try:
        with MemoryCgroup.child(f"saevdb-{backend}") as cgroup, local_engine(backend, folder) as engine:
            deadline = _Deadline(engine.pid, deadline_s)  # covers the load, the queries and the stop
            cgroup.set_limit(limit)
            cgroup.add(engine.pid)
            base["evicted_bytes"] = evict(folder)
            rows = _serve(engine, cgroup, build, d, base, queries, truth, clients, top_k, setting_budget_s, trim)
            if any(r["status"] == "failed" for r in rows):
                at = f"at cap {cap_bytes / MB:.0f} MB" if cap_bytes else "with no cap"
                reason = (
                    f"OOM kill {at}"
                    if cgroup.oom_kills() > 0
                    else f"no answer within {deadline_s:.0f} s {at} (thrashing): killed"
                    if deadline.fired.is_set()
                    else next(r["reason"] for r in rows if r["status"] == "failed")
                )
                for row in rows:
                    if row["status"] == "failed":
                        row["reason"] = reason
                logger.warning("%s at cap %s: %s", build.method, cap_bytes, reason)
                engine.kill()
    finally:
        if deadline is not None:
            deadline.cancel()
    return rows


def _serve(engine, cgroup, build, d, base, queries, truth, clients, top_k, setting_budget_s, trim) -> list[dict]:
    """The rows of one capped serving: load, then each setting; the first error (the engine killed,
    a refused query) fails that setting and every later one, with the cgroup's reading then."""
    rows: list[dict] = []
    try:
        adapter = open_adapter(engine, build, d)
        adapter.count()  # loads the collection, inside the cap
        if trim:
            engine.trim()
        loaded = _cgroup_reading(cgroup)
        for setting in build.settings:
            row = {**base, "setting": setting.label, "loaded": loaded}
            search = setting.searcher(adapter, top_k)
            reason = over_budget(search, queries, setting_budget_s)
            if reason:
                rows.append({**row, "status": "too slow", "reason": reason})
                continue
            read0, faults0 = _counters(engine.pid)
            measured = measure_search(search, queries, truth, clients, False, setting.label)
            read1, faults1 = _counters(engine.pid)
            reading = _cgroup_reading(cgroup)
            passes = 3 * len(queries)
            rows.append(
                {
                    **row,
                    "status": "ok",
                    "originals_read_per_query": setting.originals_read(top_k),
                    **measured,
                    "read_bytes_per_query": (read1 - read0) / passes,
                    "major_faults_per_query": (faults1 - faults0) / passes,
                    "cgroup": reading,
                    "memory": engine.memory().to_dict(),
                }
            )
    except Exception as e:  # the OOM killer, the deadline, the engine refusing: this cap's other rows
        reading = _last_reading(cgroup)
        done = {r["setting"] for r in rows}
        for setting in build.settings:
            if setting.label not in done:
                rows.append(
                    {**base, "setting": setting.label, "status": "failed", "reason": failure(e), "cgroup": reading}
                )
    return rows


def _last_reading(cgroup: MemoryCgroup) -> dict:
    try:
        return _cgroup_reading(cgroup)
    except OSError:
        return {}


CAPPED_KEYS = (
    "status", "reason", "recall_at_10", "qps", "p50_ms", "p99_ms", "read_bytes_per_query", "major_faults_per_query",
    "cgroup", "cap_bytes", "empty_engine_bytes",
)  # fmt: skip


def add_capped_readings(rows, backend, build, folder, d, queries, truth, config, empty_rss) -> None:
    """Serve `build` from `folder` once under `config.memory_cap_bytes`; put each setting's reading
    in its row as `capped`."""
    served = serve_capped(
        backend,
        build,
        folder,
        d,
        config.memory_cap_bytes,
        empty_rss,
        queries,
        truth,
        config.clients,
        config.top_k,
        config.setting_budget_s,
        trim=True,  # as the uncapped readings were taken
    )
    by_setting = {r["setting"]: {k: r[k] for k in CAPPED_KEYS if k in r} for r in served}
    for row in rows:
        row["capped"] = by_setting.get(row["setting"], {"status": "failed", "reason": "not served"})


def capped_engines(backends: tuple[str, ...], cap_bytes: int) -> tuple[dict[str, int], str | None]:
    """Before any build: each backend's empty engine resident bytes, every one checked below the
    cap (`capped.check_caps` raises naming both figures), or `({}, why)` where no child memory cgroup
    can be made here (then the run goes on uncapped)."""
    try:
        MemoryCgroup.child("saevdb-probe").remove()
    except CgroupUnavailable as e:
        return {}, f"no child memory cgroup can be made here ({e}): the run goes on without --memory-cap"
    empties = {}
    for backend in backends:
        folder = Path(tempfile.mkdtemp(prefix=f"saevdb-compare-{backend}-empty-"))
        try:
            empties[backend] = empty_engine_bytes(backend, folder / "engine")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        check_caps([cap_bytes], empties[backend], backend)
    return empties, None


class _Deadline:
    """Kills a process once `seconds` have passed unless cancelled first; through psutil, so a pid
    the system has reused since is never hit. `fired` is set before the kill."""

    def __init__(self, pid: int, seconds: float) -> None:
        self.process, self.fired = psutil.Process(pid), threading.Event()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired.set()
        with contextlib.suppress(psutil.NoSuchProcess):
            self.process.kill()

    def cancel(self) -> None:
        self._timer.cancel()
