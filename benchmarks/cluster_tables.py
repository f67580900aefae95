"""The section of `benchmarks/cluster_ingest.py`'s run for benchmarks/RESULTS.md (see make_results.py)."""

from __future__ import annotations

import json
from pathlib import Path

from saevdb.adapters.opensearch.distribution import VERSION

RESULT = Path(__file__).resolve().parent / "results" / "cluster_ingest_1m.json"


def cluster_sections() -> list[tuple[str, str, str]]:
    """RESULTS.md's section: how the figures were taken, and the per-node table."""
    if not RESULT.is_file():
        return []
    r = json.loads(RESULT.read_text())
    head = (
        "| node | RAM B / vector / copy | postings | stored fields (`_id`, `_source`) | anonymous once loaded"
        " | queries' anonymous | JVM heap in use, MiB |"
    )
    lines = [head, "|" + "---|" * 7]
    for node in r["nodes"]:
        lines.append(
            f"| {node['node']} | {node['ram_bytes_per_vector']:.1f} | {node['sparse_bytes_per_vector']:.1f} |"
            f" {node['ids_bytes_per_vector']:.1f} | {node['anonymous_bytes_per_vector']:.1f} |"
            f" {node['query_anonymous_bytes_per_vector']:.1f} | {(node['heap_used_bytes'] or 0) / 2**20:.0f} |"
        )
    how = (
        "`benchmarks/cluster_ingest.py --model runs/os23/models/h4096_k8 --json runs/os23/cluster_1m.json` (the "
        f"JSON copied here): {r['rows']:,} tiled WordNet rows (`ingest_million.py`'s input) encoded by the k=8 "
        "model of the 3.5-beside-2.19 run and written by `saevdb ingest --url` (three node URLs) into a "
        f"three-node OpenSearch {VERSION} cluster "
        f"on loopback, {r['shards']} shards and {r['replicas']} replica: {r['ingest']['vectors_per_s']:,.0f} vectors/s "
        f"({r['ingest']['seconds']:.0f} s, encoding overlapped with the upload; ingest peak RSS "
        f"{r['ingest']['peak_rss_bytes'] / 2**20:,.0f} MiB). Then the cluster restarted, {r['queries']} queries "
        f"(k_q {r['query_k']}) sent in one msearch ({r['search_qps_one_msearch']:.0f} QPS), and each node read by "
        "compare's rules, divided by every stored copy (rows × 2): RAM to provision per vector per copy is "
        f"**{r['ram_bytes_per_vector_per_copy']:.1f} B** (the nodes' sum). The stored fields, read to return "
        'each hit, hold the id and the compact base64 code `_source` keeps by default (`source="none"` drops it, '
        "and `retrieve` and client-side re-ranking with it); the index was left as the ingest made it (no merge)."
    )
    return [("A million codes in a three-node OpenSearch cluster", how, "\n".join(lines))]
