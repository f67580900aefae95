"""Which options are worth it: per engine, the recall@10 / RAM-to-provision frontier and the
cheapest option reaching a recall target.

A row is on the frontier when no other row of the same engine has at least its recall with at most
its RAM, one of the two strictly better. Only measured rows ("ok") take part.
"""

from __future__ import annotations

from typing import Any

TARGETS = (0.90, 0.95)


def _measured(rows: list[dict[str, Any]], backend: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["backend"] == backend and r["status"] == "ok"]


def on_frontier(rows: list[dict[str, Any]], backend: str) -> list[dict[str, Any]]:
    """The engine's rows no other row dominates in (recall up, RAM down), by RAM ascending."""
    measured = _measured(rows, backend)

    def dominated(row) -> bool:
        return any(
            o["recall_at_10"] >= row["recall_at_10"]
            and o["ram_bytes_per_vector"] <= row["ram_bytes_per_vector"]
            and (o["recall_at_10"] > row["recall_at_10"] or o["ram_bytes_per_vector"] < row["ram_bytes_per_vector"])
            for o in measured
        )

    return sorted((r for r in measured if not dominated(r)), key=lambda r: r["ram_bytes_per_vector"])


def cheapest(rows: list[dict[str, Any]], backend: str, target: float, family: str | None = None) -> dict | None:
    """The row of least RAM to provision reaching `target` recall (of `family` only, if given)."""
    reaching = [r for r in _measured(rows, backend) if r["recall_at_10"] >= target and family in (None, r["family"])]
    return min(reaching, key=lambda r: r["ram_bytes_per_vector"], default=None)


def label(row: dict[str, Any] | None) -> str:
    """ "method, setting" of a row, or "none" where no row reached the target."""
    return "none" if row is None else f"{row['method']}, {row['setting']}"


def summary(rows: list[dict[str, Any]], backend: str) -> dict[str, Any]:
    """Per target: the cheapest row overall, built-in and saevdb, and the saevdb rows on the frontier."""
    out: dict[str, Any] = {"frontier": [label(r) for r in on_frontier(rows, backend)], "targets": {}}
    for target in TARGETS:
        picks = {family or "any": cheapest(rows, backend, target, family) for family in (None, "built-in", "saevdb")}
        out["targets"][f"{target:.2f}"] = {
            name: None if row is None else {"option": label(row), **_figures(row)} for name, row in picks.items()
        }
    return out


def _figures(row: dict[str, Any]) -> dict[str, float]:
    keys = ("recall_at_10", "ram_bytes_per_vector", "originals_read_per_query", "qps")
    return {key: row[key] for key in keys}
