"""The section of RESULTS.md on where a two-stage query's time goes (`query_path.py`), one table per
run, the run before a change beside the run after it. See make_results.py.
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
)


def _table(report: dict) -> str:
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


def path_sections() -> list[tuple[str, str, str]]:
    """One section: the runs present, each with its table."""
    present = [(name, code) for name, code in RUNS if (RESULTS / name).is_file()]
    if not present:
        return []
    how = (
        "`benchmarks/query_path.py` (JSON copied here): the 1M tiled WordNet builds of the capped runs (cold "
        "bookkeeping), no cap, every file in the page cache, one untimed pass first; mean ms per single query "
        "(one client) over WordNet queries with fresh noise. `encode` is the client's `W_dec q̄` and its top "
        "k_q, `first stage` the codes' top 100 from the engine's sparse index, `re-score` the flat file's "
        "exact cosines of those 100 rows, `search` the whole two-stage search in one process (in-shard builds "
        "re-score inside the engine, from its `Memory.Cold` dense vector), `served` the same search as the "
        "capped runs time it, the engine in its own process behind a manager proxy; `proxy` is served minus "
        "search. The last column is served QPS over the fastest built-in's in the same run (the target: 0.25). "
        "Recall is the capped runs' (this script only times). Runs: "
        + "; ".join(f"`{name}`, {code}" for name, code in present)
        + "."
    )
    tables = "\n\n".join(f"`{name}` (`{(r := load_result(name))['command']}`):\n\n{_table(r)}" for name, _ in present)
    return [("Where a two-stage query's time goes (Qdrant Edge, 1M rows)", how, tables)]
