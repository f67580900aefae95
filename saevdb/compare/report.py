"""The comparison report as a table and as a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saevdb.compare.run import MODES


def format_compare(report: dict[str, Any]) -> str:
    """One line per backend and mode: recall, memory, speed."""
    clients = report["config"]["clients"]
    head = (
        f"{'backend':11s} {'mode':14s} {'recall@10':>9s} {'RAM MB':>8s} {'B/vector':>9s} {'disk MB':>8s} "
        f"{'QPS':>7s} {f'QPS x{clients}':>8s} {'p50 ms':>7s} {'p99 ms':>7s} {'ingest/s':>9s}"
    )
    lines = [
        f"{report['n']:,} vectors, {report['queries']:,} queries; model h={report['model']['h']} "
        f"k={report['model']['k']} ({report['model']['bytes_per_vector']} B/vector of codes)",
        head,
        "-" * len(head),
    ]
    for backend, result in report["backends"].items():
        for mode, row in result["modes"].items():
            lines.append(
                f"{backend:11s} {mode:14s} {row['recall_at_10']:9.3f} {row['ram_bytes'] / 1e6:8.1f} "
                f"{row['ram_bytes_per_vector']:9.0f} {row['disk_bytes'] / 1e6:8.1f} {row['qps']:7.0f} "
                f"{row[f'qps_{clients}_clients']:8.0f} {row['p50_ms']:7.2f} {row['p99_ms']:7.2f} "
                f"{row['ingest_vectors_per_s']:9.0f}"
            )
    return "\n".join(lines)


def plot_compare(report: dict[str, Any], path: str | Path) -> None:
    """Recall@10 against engine RAM per vector, one point per backend and mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    markers = dict(zip(MODES, ("o", "s", "^"), strict=True))
    for backend, result in report["backends"].items():
        for mode, row in result["modes"].items():
            ax.scatter(max(row["ram_bytes_per_vector"], 1.0), row["recall_at_10"], marker=markers[mode], s=60)
            ax.annotate(
                f"{backend} {mode}",
                (max(row["ram_bytes_per_vector"], 1.0), row["recall_at_10"]),
                fontsize=8,
                xytext=(4, 4),
                textcoords="offset points",
            )
    ax.set_xscale("log")
    ax.set_xlabel("engine RAM per vector, bytes (RSS delta empty → loaded)")
    ax.set_ylabel("recall@10 vs exact dense search")
    ax.set_title(f"{report['n']:,} vectors, SAE h={report['model']['h']} k={report['model']['k']}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
