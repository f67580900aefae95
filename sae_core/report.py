"""Plain-text tables of an eval report, for the terminal."""

from __future__ import annotations

COLUMNS = ("bytes", "recall@1", "recall@10", "recall@100", "nDCG@10")


def _row(name: str, size: int, scores: dict) -> str:
    figures = [scores["recall_at_1"], scores["recall_at_10"], scores["recall_at_100"], scores["ndcg_at_10"]]
    return f"{name:<32}{size:>7}" + "".join(f"{v:>12.3f}" for v in figures)


def format_report(report: dict) -> str:
    """The eval report as one table: SAE query modes first, then baselines, fewest bytes first."""
    m = report["model"]
    lines = [
        f"SAE d={m['d']} h={m['h']} k={m['k']} ({report['value_dtype']} values): "
        f"{report['bytes_per_vector']} B/vector, {report['compression_ratio']:.1f}x smaller than float32; "
        f"{report['queries']} queries ({report.get('query_source', 'given rows')}), {report['rows']} rows",
        f"{'method':<32}" + "".join(f"{c:>12}" if i else f"{c:>7}" for i, c in enumerate(COLUMNS)),
    ]
    for mode, scores in report["modes"].items():
        lines.append(_row(f"sae {mode}", report["bytes_per_vector"], scores))
    for name, scores in sorted(report["baselines"].items(), key=lambda kv: kv[1]["bytes_per_vector"]):
        lines.append(_row(name, scores["bytes_per_vector"], scores))
    lines.append(f"headline ({report['headline_mode']}): recall@10 {report['recall_at_10']:.3f}")
    return "\n".join(lines)
