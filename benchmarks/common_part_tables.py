"""The section of `benchmarks/common_part.py`'s run for benchmarks/RESULTS.md (see make_results.py)."""

from __future__ import annotations

from frontier_tables import RESULTS, load_result, markdown_table

RESULT = "common_part_wordnet_1m.json"


def common_part_sections() -> list[tuple[str, str, str]]:
    """How the shard's memory splits by part, per placement, and its files on disk."""
    if not (RESULTS / RESULT).is_file():
        return []
    r = load_result(RESULT)
    codes, rows = r["shards"]["codes"], []
    served = [(f"given at load: {label}", run) for label, run in codes["placements"].items()]
    served += [
        (f"{name}: {label}", run)
        for name in ("codes built cold",)
        if name in r["shards"]
        for label, run in r["shards"][name]["placements"].items()
    ]
    for label, run in served:
        read = run["readings"]
        anon = {key: (read[key]["anonymous_bytes"] - read["before load"]["anonymous_bytes"]) / 1e6 for key in read}
        files = read["queried"]["files"]
        resident = ", ".join(f"`{name}` {size / 1e6:.1f}" for name, size in sorted(files.items()) if size > 1e5)
        rows.append([label, f"{anon['loaded']:.1f}", f"{anon['trimmed']:.1f}", f"{anon['queried']:.1f}", resident])
    head = ["placement", "anon loaded, MB", "after malloc_trim", "after queries", "shard files resident, MB"]
    disk = sorted(codes["files_on_disk"].items(), key=lambda item: -item[1])
    on_disk = ", ".join(f"`{name}` {size / 1e6:.1f}" for name, size in disk if size > 1e6)
    how = (
        f"`benchmarks/common_part.py --model runs/os23/models/h4096_k8 --input runs/wordnet_tiled_1m.npy` (JSON "
        f"copied here): a Qdrant Edge shard of {r['rows']:,} tiled WordNet codes (h=4096 k=8, float16 values, no "
        "originals in it: the memory mode's first stage), optimized, loaded by a fresh process per placement, "
        f"{r['queries']} queries (k_q {r['query_k']}, top {r['depth']}). Anonymous memory above the process before "
        "the load (the empty shard added 0.3 MB). Shard files on disk, MB: "
        f"{on_disk}. The placements are `EdgeShard.load(path, config)`'s; the shard's `edge_config.json` took "
        "each, and none moved a reading: on a shard already built they place nothing. Built with the last "
        "of them from the start, the same codes leave the heap: the inverted index and the id tracker "
        "(`id_tracker.i2e`) are memory-mapped files instead, pages the kernel can evict under a cap, at the "
        "same QPS; not yet served under a cap."
    )
    return [("What a first-stage shard holds once loaded (Qdrant Edge)", how, markdown_table(head, rows))]
