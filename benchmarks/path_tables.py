"""The sections of RESULTS.md on a two-stage query's speed: where its time goes (`query_path.py`),
and recall and QPS by query width served at one generous cap (`memory_cap.py --caps`); one table
per run, the run before a change beside the run after it. See make_results.py.
"""

from __future__ import annotations

from frontier_tables import RESULTS, load_result, markdown_table

PARTS = ("encode", "first stage", "re-score", "search", "served")
# (results file, what the code did then)
RUNS = (
    (
        "query_path_wordnet_1m_before.json",
        "before the change: the query's `W_dec q̄` by torch's CPU matmul, its CSR converted from coordinates",
    ),
    (
        "query_path_wordnet_1m_after.json",
        "after it: `W_dec q̄` by numpy's BLAS on one thread, the CSR built from its arrays; also h=16384 k=8",
    ),
)

# (results file, what was run)
WIDTH_RUNS = (
    (
        "memory_cap_wordnet_1m_query_width.json",
        "the fit of h=4096 k=8 the capped runs used, the code before the encoding change (another day)",
    ),
    (
        "memory_cap_wordnet_1m_query_width_after.json",
        "a refit of the same shape on the same rows (the earlier fit's files were gone), and h=16384 k=8 "
        "fitted alike, after the encoding change",
    ),
)


def path_table(report: dict) -> str:
    """A `query_path.py` report as a table: each part's mean ms, the proxy's, served QPS and its ratio."""
    built_in = max((1000 / r["served"]["mean_ms"] for r in report["rows"] if "encode" not in r), default=None)
    rows = []
    for r in report["rows"]:
        served_qps = 1000 / r["served"]["mean_ms"]
        cells = [f"{r[p]['mean_ms']:.2f}" if p in r else "—" for p in PARTS]
        proxy = r["served"]["mean_ms"] - r["search"]["mean_ms"]
        ratio = f"{served_qps / built_in:.2f}" if built_in and "encode" in r else "—"
        rows.append([r["method"], r["setting"], *cells, f"{proxy:.2f}", f"{served_qps:,.0f}", ratio])
    head = ["option", "setting", *(f"{p}, ms" for p in PARTS), "proxy, ms", "served QPS", "over the built-in's"]
    return markdown_table(head, rows)


PATH_HOW = (
    "`benchmarks/query_path.py` (JSON copied here): the 1M tiled WordNet builds of the capped runs (cold "
    "bookkeeping), no cap, every file in the page cache, one untimed pass first; mean ms per single query "
    "(one client) over WordNet queries with fresh noise. `encode` is the client's `W_dec q̄` and its top "
    "k_q, `first stage` the codes' top 100 from the engine's sparse index, `re-score` the flat file's "
    "exact cosines of those 100 rows, `search` the whole two-stage search in one process (in-shard builds "
    "re-score inside the engine, from its `Memory.Cold` dense vector), `served` the same search as the "
    "capped runs time it, the engine in its own process behind a manager proxy; `proxy` is served minus "
    "search. The last column is served QPS over the fastest built-in's in the same run (the target: 0.25). "
    "Recall is the capped runs' (this script only times)."
)
WIDTH_HOW = (
    "`benchmarks/memory_cap.py --caps 3000` over the 1M tiled WordNet builds (cold bookkeeping, `--trim`): "
    "one cap of 3,000 MB, every file evicted before the load and everything fitting after it, so this is "
    "QPS warm from the first pass on, not an OOM edge. Recall is inflated by the tiling (noisy copies). "
    "The fifth column is one client's QPS over the fastest built-in's in the same run (the target: 0.25)."
)


def path_sections() -> list[tuple[str, str, str]]:
    """The two sections, each with a table per run present."""
    return [
        *_section("Where a two-stage query's time goes (Qdrant Edge, 1M rows)", PATH_HOW, RUNS, path_table),
        *_section("Recall and QPS by query width (Qdrant Edge, 1M rows, one cap)", WIDTH_HOW, WIDTH_RUNS, _width_table),
    ]


def _section(title: str, how: str, runs: tuple[tuple[str, str], ...], table) -> list[tuple[str, str, str]]:
    """One section over the `(file, what)` runs present (none: no section), each run's table under its command."""
    present = [(name, what) for name, what in runs if (RESULTS / name).is_file()]
    if not present:
        return []
    how = f"{how} Runs: " + "; ".join(f"`{name}`, {what}" for name, what in present) + "."
    tables = []
    for name, _ in present:
        report = load_result(name)
        command = f" (`{report['command']}`)" if "command" in report else ""
        tables.append(f"`{name}`{command}:\n\n{table(report)}")
    return [(title, how, "\n\n".join(tables))]


def _width_table(report: dict) -> str:
    ok = [r for r in report["rows"] if r["status"] == "ok"]
    built_in = max((r["qps"] for r in ok if "saevdb" not in r["method"]), default=None)
    rows = [
        [
            r["method"],
            r["setting"],
            f"{r['recall_at_10']:.3f}",
            f"{r['qps']:,.0f} / {r['qps_4_clients']:,.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['qps'] / built_in:.2f}" if built_in and "saevdb" in r["method"] else "—",
            f"{r['read_bytes_per_query'] / 1024:.0f}",
        ]
        for r in ok
    ]
    head = ["option", "setting", "recall@10", "QPS 1 / 4 clients", "p50 ms", "over the built-in's", "KiB read / query"]
    return markdown_table(head, rows)
