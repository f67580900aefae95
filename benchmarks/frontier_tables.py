"""The tables and sections of `saevdb compare` reports for benchmarks/RESULTS.md and the README (see
make_results.py).

Kept apart from make_results.py because they read a different kind of file: `compare` reports, merged
per (engine, method), with the frontier summary recomputed over the rows kept.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# The comparison against each engine's own compression: one `saevdb compare` run of every engine (the
# earlier runs, each of one or two engines and older rules, stay in results/ and are not shown).
FRONTIER = ("compare_wordnet_100k_all.json",)
FRONTIER_CAPTION = (
    "WordNet–MiniLM, 100,000 random rows as database, 1,000 other random rows as queries, exact cosine "
    "top-10 as truth; every option in a fresh engine, reopened before its queries; HNSW m=16, "
    "ef_construct=100, search ef=128 for every graph. RAM = RAM to provision per vector (anonymous memory "
    "above the empty engine once the collection is loaded, before the queries, + resident index pages "
    "after them); originals = resident pages of the full-precision vectors read only to rescore"
)


def load_result(name: str) -> dict | list:
    """One results file, parsed."""
    return json.loads((RESULTS / name).read_text())


def markdown_table(head: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join([*lines, *("| " + " | ".join(map(str, row)) + " |" for row in rows)])


def fmt(row: dict, key: str, digits: int = 0) -> str:
    return f"{row[key]:,.{digits}f}"


def _frontier_report(files: tuple[str, ...] = FRONTIER) -> dict:
    """One report: each engine's rows from the last of `files` that ran it (one run per engine), and
    the frontier summary recomputed over the rows kept."""
    from saevdb.compare.frontier import summary

    merged: dict = {"engines": {}, "rows": [], "files": {}}
    for name in files:
        if not (RESULTS / name).is_file():
            continue
        report = load_result(name)
        ran = set(report["engines"])
        merged["rows"] = [r for r in merged["rows"] if r["backend"] not in ran]
        merged["rows"] += report["rows"]
        for backend, engine in report["engines"].items():
            merged["engines"][backend] = engine
            merged["files"][backend] = name
    merged["summary"] = {backend: summary(merged["rows"], backend) for backend in merged["engines"]}
    return merged


def frontier(files: tuple[str, ...] = FRONTIER, caption: str = FRONTIER_CAPTION) -> str:
    """Per engine: every measured row, the options not run (why), and the frontier."""
    report = _frontier_report(files)
    parts = []
    for backend, engine in report["engines"].items():
        rows = [r for r in report["rows"] if r["backend"] == backend]
        table = [
            [
                r["method"],
                r["setting"],
                f"{r['recall_at_10']:.3f}",
                fmt(r, "ram_bytes_per_vector"),
                fmt(r, "originals_ram_bytes_per_vector"),
                fmt(r, "disk_bytes_per_vector"),
                r["originals_read_per_query"],
                fmt(r, "qps"),
                fmt(r, "p99_ms", 2),
                f"{r['ingest_seconds'] + r['optimize_seconds']:,.0f}",
            ]
            for r in rows
            if r["status"] == "ok"
        ]
        head = ["method", "setting", "recall@10", "RAM B", "originals B", "disk B", "originals/query", "QPS", "p99 ms"]
        notes = "".join(f"\n- {r['status']}: {r['method']}: {r['reason']}" for r in rows if r["status"] != "ok")
        on = "; ".join(report["summary"][backend]["frontier"])
        parts.append(
            f"### {backend} ({engine['version']}; `{report['files'][backend]}`)\n\n"
            f"{markdown_table([*head, 'build s'], table)}\n{notes}\n\n"
            f"On the frontier (RAM up, recall up): {on}."
        )
    return f"{caption}.\n\n" + "\n\n".join(parts)


def cheapest_table(files: tuple[str, ...] = FRONTIER) -> str:
    """Per engine and recall target, the cheapest option in RAM to provision: overall, built-in, saevdb."""
    report = _frontier_report(files)
    rows = []
    for backend, summary in report["summary"].items():
        for target, picks in summary["targets"].items():
            cells = []
            for family in ("any", "built-in", "saevdb"):
                pick = picks[family]
                cells.append(
                    "none reaches it"
                    if pick is None
                    else f"{pick['option']}: {pick['ram_bytes_per_vector']:,.0f} B, recall {pick['recall_at_10']:.3f}, "
                    f"{pick['originals_read_per_query']} originals/query, {pick['qps']:,.0f} QPS"
                )
            rows.append([backend, target, *cells])
    head = ["engine", "recall ≥", "cheapest option", "cheapest built-in", "cheapest saevdb"]
    return markdown_table(head, rows)


SMALL_CODES = "compare_wordnet_100k_qdrant_small_k.json"  # few entries per code, for the two-stage search
FEWEST_CODES = "compare_wordnet_100k_qdrant_fewest.json"  # fewer still: 4 and 5 entries
OPENSEARCH_LINES = "compare_wordnet_100k_opensearch_2_and_3.json"  # 2.19 and 3.5 in one run


def comparison_sections() -> list[tuple[str, str, str]]:
    """RESULTS.md's sections of `compare` reports: (title, how it was run, tables)."""
    return [
        (
            "Against each engine's own compression",
            "`saevdb compare --data wordnet --n 100000 --queries 1000 --backends qdrant,milvus,opensearch --model "
            "runs/compare100k_default/h16384_k42 --precisions uint8,float32 --depths 100,300 --query-k "
            "128,512,full`, one run of the three engines (50 minutes on 2 cores). The model is the default rule's "
            "shape (h=16384 k=42, 126 B as uint8), trained on the same 100,000 database rows by `saevdb compare "
            "--data wordnet --n 100000 --queries 1000 --backends qdrant --hidden 16384 --k 42 --epochs 8 "
            "--save-model runs/compare100k_default` (8 epochs, 8 minutes). Qdrant stores the codes as uint8 and "
            "float32, Milvus and OpenSearch as float32 (the one precision they offer for sparse values). Each "
            "of saevdb's modes runs at three query widths on the same build (k_q: the largest weights of "
            "`W_dec q̄` kept; full = all 16,384). In OpenSearch a full-width query (some 8,000 `rank_feature` "
            "clauses) took about 11 s, so those settings were reported too slow rather than run; its cost "
            "grows faster than the width: 11 ms at k_q 128, 54 ms at 512 (p50). Cheapest option per recall "
            "target:"
            f"\n\n{cheapest_table()}",
            frontier(),
        ),
        (
            "Few entries per code, for the two-stage search (Qdrant Edge)",
            "`saevdb compare --data wordnet --n 100000 --queries 1000 --backends qdrant --hidden 4096 --k 4,5 "
            "--epochs 8 --precisions uint8 --depths 100,300,1000 --methods 'binary 1-bit, 8-bit query' "
            "--save-model runs/fewest`, then the same run again on the saved models (`--model runs/fewest/h4096_k4 "
            "runs/fewest/h4096_k5`) once the Qdrant Edge adapter had its indexing threshold lowered (below): "
            "the same database and queries as above, codes of 4 and 5 entries (12 and 15 B) whose top "
            "candidates are re-scored with the originals on disk, beside the cheapest built-in at 0.95 in the "
            "run above, in the same run (5 minutes). Cheapest option per recall target:"
            f"\n\n{cheapest_table((FEWEST_CODES,))}",
            frontier((FEWEST_CODES,), "Every row of the second run")
            + "\n\nThe codes-only builds of the first run (and of the 6- and 8-entry run below) held several times "
            "the RAM of the two-stage builds (284 B against 76 B at k=4): a shard of few-entry codes and no "
            "originals is under Qdrant's default indexing threshold (10 MB of vectors), so `optimize()` left it "
            "one appendable segment — raw sparse vectors paged in from their file and a mutable index in RAM "
            "(`MutableRam` in the segment's config). The adapter now sets the threshold to 1 KB "
            "(`SPARSE_INDEXING_THRESHOLD_KB`), and the second run's codes-only builds hold 81 B (k=4) and 86 B "
            "(k=5), with the same recall. Codes of 6 and 8 entries (18 and 24 B), `saevdb compare --data wordnet "
            "--n 100000 --queries 1000 --backends qdrant --hidden 4096 --k 6,8 --epochs 8 --precisions uint8 "
            "--depths 100,300,1000 --methods 'binary 1-bit, 8-bit query,TurboQuant 2-bit'`, run before that "
            "change (its codes-only rows carry the unindexed segment):"
            f"\n\n{cheapest_table((SMALL_CODES,))}\n\n" + frontier((SMALL_CODES,), "Every row of that run"),
        ),
        (
            "OpenSearch 3.5 beside 2.19",
            "`saevdb compare --data wordnet --n 100000 --queries 1000 --backends opensearch,opensearch3 --hidden "
            "4096 --k 8 --epochs 20 --save-model runs/os23/models --depths 100 --precisions float32 --query-k "
            "128,512`: one run, the same database, queries, model (h=4096 k=8, the memory mode's first stage, "
            "trained in the run) and HNSW settings on both lines; 2.19.6 on Java 17, 3.5.0 on Temurin 25. "
            "3.5's Lucene engine adds `mode: on_disk` (4x), binary vectors and a knn-query rescore that returns "
            "exact cosines; it does not widen the hits on Lucene, so the rescored rows keep the quantized "
            "search's recall, and their originals per query are the oversampled count a user asks for, not "
            "what is read (the top 10). Settings of one build run in the order listed, so the rescored rows "
            "ran on a warmer node than the unrescored ones. Cheapest option per recall target:"
            f"\n\n{cheapest_table((OPENSEARCH_LINES,))}",
            frontier((OPENSEARCH_LINES,), "Every row of that run"),
        ),
    ]
