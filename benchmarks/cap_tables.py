"""The section of RESULTS.md on serving under a memory cap (`memory_cap.py`): per option the
smallest cap it served at and what it cost there, the bar of the product's target (recall@10 ≥ 0.95
at ≥ 100 QPS on one client, ≤ 100 originals read per query), and the slope between two sizes. See
make_results.py.
"""

from __future__ import annotations

from frontier_tables import RESULTS, load_result, markdown_table

MB = 1 << 20
RUNS = (
    "memory_cap_wordnet_250k.json",
    "memory_cap_wordnet_1m.json",
    "memory_cap_wordnet_1m_trim.json",
    "memory_cap_wordnet_250k_cold.json",
    "memory_cap_wordnet_1m_cold.json",
    "memory_cap_wordnet_250k_cold_kq16.json",
    "memory_cap_wordnet_1m_cold_kq16.json",
    "memory_cap_wordnet_mpnet_1m_cold.json",
    "memory_cap_glove_400k_cold.json",
    "memory_cap_wordnet_mpnet_40k_cold.json",
    "memory_cap_wordnet_117k_cold.json",
)
# The pairs of sizes served with the same settings: as shipped (no trim), and with cold bookkeeping and trim.
SLOPES = (
    ("memory_cap_wordnet_250k.json", "memory_cap_wordnet_1m.json"),
    ("memory_cap_wordnet_250k_cold.json", "memory_cap_wordnet_1m_cold.json"),
    ("memory_cap_wordnet_250k_cold_kq16.json", "memory_cap_wordnet_1m_cold_kq16.json"),
)
# What else sets a run apart from the one before it in RUNS.
NOTES = {
    "memory_cap_wordnet_117k_cold.json": " (not tiled: its real rows), queries cut to 128 and 512 weights, the model "
    "fitted in the run (`--train 4096,12`, uint8: the shape `advise --recall 0.95` picked for WordNet), the "
    "originals in a flat float32 file",
    "memory_cap_wordnet_mpnet_40k_cold.json": " (not tiled: its real rows), queries cut to 128 and 512 weights, the "
    "model fitted in the run (`--train 4096,8`, uint8: the shape `advise --recall 0.95` picked for this set)",
    "memory_cap_glove_400k_cold.json": " (not tiled: its real rows), queries cut to 128 and 512 weights, the model "
    "fitted in the run (`--train 4096,12`, the shape `advise --recall 0.95` picked for GloVe, in float16)",
    "memory_cap_wordnet_250k_cold_kq16.json": ", queries cut to 16 and 32 weights, after the query-encoding "
    "change, refits of h=4096 and h=16384",
    "memory_cap_wordnet_1m_cold_kq16.json": ", queries cut to 16 and 32 weights, after the query-encoding change "
    "(`query_path.py`), a refit of the same model shape",
}
BAR = {"recall": 0.95, "qps": 100.0, "originals": 100}


def _curves(report: dict) -> dict[tuple[str, str], list[dict]]:
    """Rows per (method, setting), the uncapped one first, then by falling cap."""
    curves: dict[tuple[str, str], list[dict]] = {}
    for row in report["rows"]:
        curves.setdefault((row["method"], row["setting"]), []).append(row)
    for rows in curves.values():
        rows.sort(key=lambda r: -(r["cap_bytes"] or float("inf")))
    return curves


def _meets(row: dict) -> bool:
    return (
        row["status"] == "ok"
        and row["recall_at_10"] >= BAR["recall"]
        and row["qps"] >= BAR["qps"]
        and row["originals_read_per_query"] <= BAR["originals"]
    )


def smallest(rows: list[dict], test=lambda r: r["status"] == "ok") -> dict | None:
    """The capped row of the smallest cap passing `test` (served, by default), or None."""
    passing = [r for r in rows if r["cap_bytes"] is not None and test(r)]
    return min(passing, key=lambda r: r["cap_bytes"]) if passing else None


def _disk_bound(row: dict, reads_per_s: float) -> str:
    """QPS the device allows if every byte a query read were random 4 KiB pages."""
    pages = row["read_bytes_per_query"] / 4096
    return f"{reads_per_s / pages:,.0f}" if pages >= 0.05 and reads_per_s else "—"


def cap_table(report: dict) -> str:
    disk = report["disk"][0]["reads_per_s"] if report.get("disk") else 0.0
    rows = []
    for (method, setting), curve in _curves(report).items():
        free = curve[0] if curve[0]["cap_bytes"] is None and curve[0]["status"] == "ok" else None
        low = smallest(curve)
        failed = [r for r in curve if r["status"] == "failed"]
        rows.append(
            [
                method,
                setting,
                f"{free['recall_at_10']:.3f}" if free else "",
                str(free["originals_read_per_query"]) if free else "",
                f"{free['qps']:,.0f} / {free['qps_4_clients']:,.0f}" if free else "",
                f"{free['loaded']['rss_bytes'] / MB:.0f} + {free['loaded']['cache_bytes'] / MB:.0f}" if free else "",
                f"{low['cap_above_empty_bytes'] / MB:.0f}" if low else "",
                f"{low['qps']:,.0f} / {low['qps_4_clients']:,.0f}" if low else "",
                f"{low['p99_ms']:.1f}" if low else "",
                f"{low['read_bytes_per_query'] / 1024:,.0f}" if low else "",
                f"{low['major_faults_per_query']:.1f}" if low else "",
                _disk_bound(low, disk) if low else "",
                f"{max(r['cap_above_empty_bytes'] for r in failed) / MB:.0f}" if failed else "",
            ]
        )
    head = [
        "option",
        "setting",
        "recall@10",
        "originals / query",
        "QPS uncapped (1 / 4 clients)",
        "charged once loaded, MB (anon + cache)",
        "smallest cap served, MB above empty",
        "QPS there (1 / 4)",
        "p99 ms there",
        "KiB read / query there",
        "major faults / query there",
        "disk-bound QPS there",
        "largest cap failed (OOM kill or deadline), MB above empty",
    ]
    return markdown_table(head, rows)


def target(report: dict) -> tuple[str, dict[str, float]]:
    """The smallest cap meeting the bar per option, the saevdb / built-in ratio; and those caps."""
    best: dict[str, float] = {}
    for (method, setting), curve in _curves(report).items():
        low = smallest(curve, _meets)
        if low is not None:
            key = f"{method}, {setting}"
            best[key] = low["cap_above_empty_bytes"]
    ours = {k: v for k, v in best.items() if k.startswith("saevdb")}
    theirs = {k: v for k, v in best.items() if not k.startswith("saevdb")}
    rows = [[k, f"{v / MB:.0f}", f"{v / report['n']:.0f}"] for k, v in sorted(best.items(), key=lambda kv: kv[1])]
    text = markdown_table(["option meeting the bar", "smallest cap, MB above empty", "B / vector"], rows)
    if ours and theirs:
        o, t = min(ours, key=ours.get), min(theirs, key=theirs.get)
        ratio = ours[o] / theirs[t]
        free = {f"{r['method']}, {r['setting']}": r["qps"] for r in report["rows"] if r["cap_bytes"] is None}
        text += (
            f"\n\nCheapest saevdb setting over cheapest built-in meeting the bar: **{ratio:.2f}** ({o} against"
            f" {t}); uncapped, one client, it runs at {free[o]:,.0f} QPS against {free[t]:,.0f}"
            f" (**{free[o] / free[t]:.2f}**)."
        )
    elif not ours:
        text += "\n\nNo saevdb setting met the bar."
    return text, best


def slope_table(small: dict, large: dict) -> str:
    """Per option and setting served at both sizes: its smallest cap served (the OOM edge, whatever
    the QPS there) at each size, the slope between them (RAM per vector) and the fixed part it
    leaves (the cap extrapolated to n = 0)."""
    low, high = _curves(small), _curves(large)
    rows = []
    for key in sorted(set(low) & set(high)):
        a, b = smallest(low[key]), smallest(high[key])
        if a is None or b is None:
            continue
        a, b = a["cap_above_empty_bytes"], b["cap_above_empty_bytes"]
        slope = (b - a) / (large["n"] - small["n"])
        rows.append(
            [", ".join(key), f"{a / MB:.0f}", f"{b / MB:.0f}", f"{slope:.0f}", f"{(a - slope * small['n']) / MB:.0f}"]
        )
    head = ["option", f"smallest cap at {small['n']:,}, MB", f"at {large['n']:,}, MB", "slope, B / vector", "fixed, MB"]
    return markdown_table(head, rows)


def _loaded(report: dict) -> dict[str, dict]:
    """The cgroup's reading once each option's collection is loaded, uncapped (before any query)."""
    return {r["method"]: r["loaded"] for r in report["rows"] if r["cap_bytes"] is None and "loaded" in r}


def anonymous_table(small: dict, large: dict) -> str:
    """What each option's engine charged once loaded, uncapped, at both sizes: anonymous memory (its
    floor under any cap: there is no swap) and page cache, and the anonymous slope per vector."""
    low, high = _loaded(small), _loaded(large)
    rows = []
    for method in sorted(set(low) & set(high), key=lambda m: high[m]["rss_bytes"]):
        a, b = low[method], high[method]
        slope = (b["rss_bytes"] - a["rss_bytes"]) / (large["n"] - small["n"])
        rows.append(
            [
                method,
                f"{a['rss_bytes'] / MB:.0f} + {a['cache_bytes'] / MB:.0f}",
                f"{b['rss_bytes'] / MB:.0f} + {b['cache_bytes'] / MB:.0f}",
                f"{slope:.0f}",
                f"{(a['rss_bytes'] - slope * small['n']) / MB:.0f}",
            ]
        )
    head = [
        "option",
        f"charged once loaded at {small['n']:,}, MB (anon + cache)",
        f"at {large['n']:,}",
        "anon slope, B / vector",
        "anon fixed, MB",
    ]
    return markdown_table(head, rows)


def cap_sections() -> list[tuple[str, str, str]]:
    runs = [(name, load_result(name)) for name in RUNS if (RESULTS / name).is_file()]
    if not runs:
        return []
    parts = []
    for name, report in runs:
        disk = (
            ", ".join(f"{d['reads_per_s']:,.0f}/s with {d['threads']} reader(s)" for d in report.get("disk", []))
            or "not measured"
        )
        text, _ = target(report)
        trim = any(r.get("trim") for r in report["rows"])
        qualifiers = ", freed heap returned once loaded (`--trim`)" if trim else ""
        if report.get("data", "tiled-wordnet") != "tiled-wordnet":
            qualifiers = f" of {report['data']}{' (tiled: `--tile`)' if report.get('tiled') else ''}{qualifiers}"
        if report.get("cold_bookkeeping"):
            qualifiers += ", every option's id tracker and payloads memory-mapped (`--cold-bookkeeping`)"
        qualifiers += NOTES.get(name, "")
        parts.append(
            f"### {report['n']:,} rows{qualifiers} (`results/{name}`)\n\n"
            f"Empty engine: {report['empty_engine_bytes'] / MB:.0f} MB "
            f"resident; random 4 KiB direct reads of the input file: {disk}.\n\n{cap_table(report)}\n\n"
            f"The bar (recall@10 ≥ {BAR['recall']}, ≥ {BAR['qps']:.0f} QPS on one client at that cap, ≤ "
            f"{BAR['originals']} originals read per query):\n\n{text}"
        )
    named = dict(runs)
    for pair in SLOPES:
        if all(name in named for name in pair):
            small, large = (named[name] for name in pair)
            parts.append(
                f"### Per vector and fixed: the slope from `{pair[0]}` to `{pair[1]}`\n\n"
                f"{slope_table(small, large)}\n\n"
                f"What each engine holds once loaded, before any query:\n\n{anonymous_table(small, large)}"
            )
    how = (
        "`benchmarks/memory_cap.py`: Qdrant Edge in its child process, moved into a child memory cgroup once it "
        "serves on the empty folder, every file of the build evicted from the page cache, then the collection "
        "loaded and queried inside the cap (500 queries: recall, one client, 4 clients). Caps fall from the "
        "uncapped run's peak to the OOM kill, then are bisected. Caps are counted above the empty engine's "
        "resident memory (its interpreter, numpy and the engine library). Database: the tiled WordNet set (noisy "
        "copies, so every row has near-copies: recall is inflated, more at 1M than at 250k); queries: WordNet rows "
        "with fresh noise. Codes: h=4096 k=8, float16 values, first stage the query's k_q largest weights, top 100 "
        "re-scored by exact cosine with the originals, kept in the shard (`Memory.Cold` dense vector, no graph) or "
        "in a flat file beside it read by the engine's process (`originals_file=`). Built-ins: HNSW m=16, "
        "ef_construct=100, hnsw_ef=128, originals on disk, quantized vectors and graph as `compare` builds them (their "
        "on-disk variants were not swept, where the codes' index on disk was). The codes' query encoder (the model's "
        "W_dec, 6 MB at h=4096, d=384) runs in the client, outside the cap. Caps fall to the OOM kill or, where the "
        "engine thrashes instead, to the deadline. QPS is of one shared 2-core machine, and whether an option meets "
        "the bar's 100 QPS near its edge is a single measurement. Not run here: "
        "Milvus Lite 2.5 keeps every field in anonymous memory (its mmap settings are accepted and ignored), so "
        "under a cap nothing can page out and its smallest cap is the anonymous figure `compare` already reads; "
        "an OpenSearch node reserves its whole JVM heap at start (-Xms = -Xmx), so a cap there measures the heap "
        "setting, and needs a heap sweep per cap to mean what it means here. The `--cold-bookkeeping` run gives "
        "every option, built-ins too, Qdrant's `Memory.Cold` id tracker and payloads (memory-mapped, not on the "
        "heap: `adapters/qdrant/placement.py`), with the model of the OpenSearch runs (`runs/os23/models/h4096_k8`, "
        "20 epochs on 100,000 WordNet rows) where the runs before it used another fit of the same shape. The "
        "768-d run: `runs/wordnet_mpnet.npy` (40,000 WordNet glosses by all-mpnet-base-v2), 500 held-out rows as "
        "queries, the database 1M noisy copies of the other 39,500 (25 each; `--tile`), the model fitted on those "
        "39,500 (`--train 4096,8`): a query's true top-10 is mostly copies of its one or two nearest rows, ordered "
        "by the noise, which no option here ranks well."
    )
    return [("Serving under a memory cap", how, "\n\n".join(parts))]
