"""The comparison report as a table and as a plot: per engine, every row measured, the options the
engine does not serve here in one line each, and which option is cheapest at each recall target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saevdb.compare.frontier import TARGETS, cheapest, label, on_frontier

MB = 1 << 20

COLUMNS = (
    ("method", "{:32.32s}", 32),
    ("setting", "{:30.30s}", 30),
    ("recall@10", "{:9.3f}", 9),
    ("RAM B/vec", "{:9.0f}", 9),
    ("orig B/vec", "{:10.0f}", 10),
    ("disk B/vec", "{:10.0f}", 10),
    ("orig/query", "{:10d}", 10),
    ("QPS", "{:7.0f}", 7),
    ("p50 ms", "{:7.2f}", 7),
    ("p99 ms", "{:7.2f}", 7),
    ("build s", "{:8.1f}", 8),
)
QUERY_WORDS = {
    "asymmetric": "W_dec q̄, signed at full width, its positive part when cut to k_q",
    "asymmetric_nonneg": "the positive part of W_dec q̄",
}
KEYS = (
    "method",
    "setting",
    "recall_at_10",
    "ram_bytes_per_vector",
    "originals_ram_bytes_per_vector",
    "disk_bytes_per_vector",
    "originals_read_per_query",
    "qps",
    "p50_ms",
    "p99_ms",
)


def _line(row: dict[str, Any]) -> str:
    values = [row[key] for key in KEYS] + [row["ingest_seconds"] + row["optimize_seconds"]]
    return " ".join(fmt.format(v) for (_, fmt, _), v in zip(COLUMNS, values, strict=True))


def _capped_lines(cap: dict | None, engine: dict, rows: list[dict]) -> list[str]:
    """Each measured row served again under `--memory-cap`: status, recall, QPS, what the cgroup
    charged at its peak, storage reads per query."""
    if not cap:
        return []
    if not cap["served"]:
        return [f"  --memory-cap not served: {cap['reason']}"]
    lines = [
        f"  under a memory cap of {cap['cap_bytes'] / MB:.0f} MB (the empty engine: "
        f"{engine['empty_engine_bytes'] / MB:.0f} MB), its files evicted first:"
    ]
    for row in rows:
        capped = row.get("capped")
        if row["status"] != "ok" or not capped:
            continue
        head = f"    {row['method'][:32]:32s} {row['setting'][:30]:30s}"
        if capped["status"] != "ok":
            lines.append(f"{head} {capped['status']}: {capped.get('reason', '')}")
            continue
        peak = capped["cgroup"].get("peak_bytes") or capped["cgroup"]["usage_bytes"]
        lines.append(
            f"{head} recall {capped['recall_at_10']:.3f}, {capped['qps']:.0f} QPS, p99 {capped['p99_ms']:.2f} ms,"
            f" cgroup peak {peak / MB:.0f} MB, {capped['read_bytes_per_query'] / 1024:.0f} KiB read per query"
        )
    return lines


def format_compare(report: dict[str, Any]) -> str:
    """Per engine: a line per measured row, a line per option not measured (why), then the cheapest
    option reaching each recall target overall, built-in and saevdb, and whether a saevdb row is on
    the frontier. RAM is RAM to provision (`saevdb.compare.provision`); originals apart."""
    shapes = ", ".join(f"h={m['h']} k={m['k']} ({m['bytes_per_vector']} B of codes)" for m in report["models"])
    head = " ".join(f"{name:>{width}s}" if i > 1 else f"{name:{width}s}" for i, (name, _, width) in enumerate(COLUMNS))
    lines = [
        f"{report['n']:,} vectors, {report['queries']:,} queries; saevdb models {shapes}; "
        f"query weights per model {'; '.join(', '.join(map(str, ks)) for ks in report['config']['query_k'])}",
    ]
    for backend, engine in report["engines"].items():
        rows = [r for r in report["rows"] if r["backend"] == backend]
        queries = QUERY_WORDS[engine["query_mode"]]
        lines += ["", f"== {backend} ({engine['version']}; saevdb's queries: {queries})", head, "-" * len(head)]
        lines += [_line(r) for r in rows if r["status"] == "ok"]
        lines += [f"  {r['status']}: {r['method']}: {r['reason']}" for r in rows if r["status"] != "ok"]
        fallback = sorted({r["method"] for r in rows if r["status"] == "ok" and r.get("fell_back_to_originals")})
        if fallback:
            lines.append(
                f"  {', '.join(fallback)}: without rescoring, the queries left the full-precision vectors"
                " resident: the engine scored them (no compressed copy), so they count in RAM"
            )
        lines += _capped_lines(report.get("memory_cap"), engine, rows)
        frontier = on_frontier(report["rows"], backend)
        lines.append(f"  frontier (RAM up, recall up): {'; '.join(label(r) for r in frontier)}")
        for target in TARGETS:
            picks = [
                (family or "any", cheapest(report["rows"], backend, target, family))
                for family in (None, "built-in", "saevdb")
            ]
            text = "; ".join(
                f"{name}: {label(r)}"
                + ("" if r is None else f" ({r['ram_bytes_per_vector']:.0f} B, {r['recall_at_10']:.3f})")
                for name, r in picks
            )
            lines.append(f"  cheapest at recall ≥ {target:.2f} — {text}")
    return "\n".join(lines)


def plot_compare(report: dict[str, Any], path: str | Path) -> None:
    """Per engine: recall@10 against RAM to provision per vector (one line per method through its
    settings; saevdb's drawn solid, built-in dashed; the frontier in grey) and QPS against recall."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    engines = list(report["engines"])
    fig, axes = plt.subplots(len(engines), 2, figsize=(13, 4.8 * len(engines)), squeeze=False)
    for (ram_ax, qps_ax), backend in zip(axes, engines, strict=True):
        rows = [r for r in report["rows"] if r["backend"] == backend and r["status"] == "ok"]
        for i, method in enumerate(dict.fromkeys(r["method"] for r in rows)):
            curve = [r for r in rows if r["method"] == method]
            style = "-" if curve[0]["family"] == "saevdb" else "--"
            width = 2.2 if curve[0]["family"] == "saevdb" else 1.0
            color = plt.cm.tab20(i % 20)  # up to 20 curves an engine, each its own colour
            ram = [max(r["ram_bytes_per_vector"], 1.0) for r in curve]
            recall = [r["recall_at_10"] for r in curve]
            ram_ax.plot(ram, recall, style, marker="o", ms=4, lw=width, color=color, label=method)
            qps_ax.plot(recall, [r["qps"] for r in curve], style, marker="o", ms=4, lw=width, color=color)
        frontier = on_frontier(report["rows"], backend)
        ram_ax.step(
            [max(r["ram_bytes_per_vector"], 1.0) for r in frontier],
            [r["recall_at_10"] for r in frontier],
            where="post",
            color="grey",
            alpha=0.4,
            lw=6,
            zorder=0,
        )
        ram_ax.set_xscale("log")
        ram_ax.set_xlabel("RAM to provision per vector, bytes (anonymous + index pages read)")
        ram_ax.set_ylabel("recall@10")
        ram_ax.set_title(f"{backend} ({report['engines'][backend]['version']}), {report['n']:,} vectors")
        ram_ax.legend(fontsize=7, loc="lower right")
        qps_ax.set_yscale("log")
        qps_ax.set_xlabel("recall@10")
        qps_ax.set_ylabel("queries per second, one client")
        for ax in (ram_ax, qps_ax):
            ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
