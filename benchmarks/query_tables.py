"""The sections of RESULTS.md about saevdb's queries: what a query's width costs as the collection
grows (`query_cost.py`), and whether its weights should be signed (`query_sign.py` and two Qdrant
Edge `compare` runs). See make_results.py.
"""

from __future__ import annotations

from frontier_tables import FRONTIER, fmt, load_result, markdown_table

QUERY_COST = "query_cost_wordnet_default.json"
QUERY_SIGN = "query_sign.json"
SIGNED_RUN = "compare_wordnet_100k_qdrant_signed.json"  # every width signed, beside FRONTIER's non-negative run


def query_cost() -> str:
    """`benchmarks/query_cost.py` rows: the codes at each query width beside HNSW and a quantization."""
    rows = [
        [
            f"{r['n']:,}",
            r["backend"],
            r["method"],
            r["setting"],
            _query_words(r),
            f"{r['recall_at_10']:.3f}",
            fmt(r, "qps"),
            fmt(r, "qps_4_clients"),
            fmt(r, "p99_ms", 2),
            fmt(r, "ram_bytes_per_vector"),
        ]
        for r in load_result(QUERY_COST)["rows"]
        if _not_measured(r) is None
    ]
    head = ["n", "engine", "method", "setting", "query", "recall@10", "QPS", "QPS 4 clients", "p99 ms", "RAM B"]
    unmeasured = [(r, *why) for r in load_result(QUERY_COST)["rows"] if (why := _not_measured(r))]
    failed = "".join(
        f"\n- {status}: {r['n']:,} {r['backend']} {', '.join(filter(None, (r['method'], r['setting'])))}:"
        f" {reason.splitlines()[0]} {_grpc_details(reason)}".rstrip()
        for r, status, reason in unmeasured
    )
    return markdown_table(head, rows) + ("\n" + failed if failed else "")


def _query_words(row: dict) -> str:
    """How a codes row's queries were made; rows written before signed queries were the default hold
    no `query_mode` and used the non-negative part."""
    if not row["method"].startswith("saevdb"):
        return ""
    return "signed" if row.get("query_mode", "asymmetric_nonneg") == "asymmetric" else "non-negative"


def _not_measured(row: dict) -> tuple[str, str] | None:
    """(status, reason) of a query-cost row that was not measured, or None; rows written before rows
    had a status name only an `error`."""
    if "error" in row:
        return "failed", row["error"]
    status = row.get("status", "ok")
    return None if status == "ok" else (status, row["reason"])


def _grpc_details(error: str) -> str:
    """The `details = "..."` line of a gRPC error, which says why (a deadline, a refusal)."""
    for line in error.splitlines():
        if line.strip().startswith("details ="):
            return line.strip()
    return ""


def query_sign() -> str:
    """`benchmarks/query_sign.py`: engine-order recall@10 of signed and non-negative queries per width."""
    rows = [
        [
            f"{r['data']} ({r['rows']:,} × {r['d']})",
            f"h={r['h']} k={r['k']}",
            "full" if r["query_k"] == r["h"] else r["query_k"],
            f"{r['signed']:.3f}",
            f"{r['nonneg']:.3f}",
            f"{r['signed_negative_share']:.0%}",
        ]
        for r in load_result(QUERY_SIGN)["rows"]
    ]
    return markdown_table(["data", "codes", "k_q", "signed", "non-negative", "signed: negative weights"], rows)


def signed_in_qdrant() -> str:
    """The saevdb rows of the Qdrant Edge runs with non-negative (FRONTIER) and signed queries, matched
    by method and setting: same model, database and queries, two runs."""
    runs = [
        {
            (r["method"], r["setting"]): r
            for r in load_result(name)["rows"]
            if r["backend"] == "qdrant" and r["family"] == "saevdb" and r["status"] == "ok"
        }
        for name in (FRONTIER[-1], SIGNED_RUN)
    ]
    nonneg, signed = runs
    rows = [
        [method, setting, f"{a['recall_at_10']:.3f}", f"{b['recall_at_10']:.3f}", fmt(a, "qps"), fmt(b, "qps")]
        for (method, setting), b in signed.items()
        if (a := nonneg.get((method, setting)))
    ]
    head = ["method", "setting", "recall non-negative", "recall signed", "QPS non-negative", "QPS signed"]
    return markdown_table(head, rows)


def query_sections() -> list[tuple[str, str, str]]:
    """RESULTS.md's sections on queries: (title, how it was run, tables)."""
    return [
        (
            "Query cost of the codes",
            "`benchmarks/query_cost.py --model runs/compare100k_default/h16384_k42 --sizes 100000,1000000 "
            "--backends qdrant --methods 'float32 HNSW,TurboQuant 2-bit'`; then `--sizes 100000 --backends "
            "milvus,opensearch --methods 'float32 FLAT,float32 HNSW'` for every pruning knob; then the same "
            "with `--sizes 100000,1000000 --knobs drop_ratio_search=0.5,track_total_hits=False` (it resumes: "
            "builds already in the JSON stay; 1M rows for the named knob values only). The tiled WordNet set "
            "(noisy copies; at 1M every row has about 8 near-copies, so the true top-10 gets easier and recall "
            "rises with n), 500 WordNet rows with fresh noise as queries, the model of the compare runs above "
            "(h=16384 k=42), measured as in `compare`. The script stores the codes' values as float32, so "
            "their RAM is that of 42 × 8-byte entries, not the uint8 storage of the compare run. Every codes "
            "row here queried with the non-negative part of `W_dec q̄` (k_q: how many of its largest weights "
            "are kept; the Qdrant rows predate signed full-width queries, whose order is in the next section). "
            "Qdrant has no pruning knob for sparse search; the query width is its only lever. Milvus Lite's "
            "brute-force float32 FLAT is the slowest option at 1M (9 QPS), below the codes at every width; its "
            "`drop_ratio_search` 0.5 (the smallest share of each query's weights skipped) buys 60 % more QPS "
            "at full width for 0.001 of recall at 1M. OpenSearch's cost grows with both the width and n "
            "(rank_feature clauses, one posting walk each): from 100,000 to 1M rows, 74 to 16 QPS at k_q 128 "
            "and 20 to 1.8 at 512, where its HNSW keeps 170–220 QPS; `track_total_hits` off (no hit count) "
            "does not shorten a full-width query. Failed builds and settings not run are listed under the "
            "table: in Milvus Lite 2.5.1 a call of 256 full-width queries by DAAT_MAXSCORE or DAAT_WAND passed "
            "the adapter's 60 s deadline (TAAT_NAIVE, now the adapter's default, answers them); OpenSearch's "
            "full-width settings were timed on one query and not run.",
            query_cost(),
        ),
        (
            "Signed or non-negative queries",
            "At full width the signed query (`W_dec q̄`, all h weights) scores exactly `q̄ · (x̂ − b_pre)`; its "
            "non-negative part drops what pushes items away. Cut to k_q weights, neither is exact. "
            "`benchmarks/query_sign.py`: three sets of other models, widths and domains, a 30,000-row seeded "
            "sample each (MovieLens: all 9,066 rows), 500 of its rows held out of training as queries, 5 "
            "epochs, engine order = exact inner product with the stored codes; then the two Qdrant Edge runs "
            "of the same model on the same 100,000 WordNet rows, non-negative queries (the three-engine run "
            "above) and signed queries at every width (`saevdb compare --data wordnet --n 100000 --queries "
            "1000 --backends qdrant --hidden 16384 --k 42 --epochs 8 --save-model runs/compare100k_default "
            "--precisions uint8 --depths 100,300 --query-k 128,512,full --methods 'binary 1-bit, 8-bit "
            "query,TurboQuant 2-bit'`, whose model the other runs load). Signed queries win at full width on "
            "every set (by 0.003 on GloVe to 0.088 on MovieLens, 0.014 in Qdrant Edge) and lose at every cut "
            "width (by 0.001 to 0.062): a cut signed query gives 3–42 % of its k_q slots to negative weights, "
            "slots the non-negative one spends on further positive weights, and the loss tends to grow with "
            "that share. So "
            "`SparseCollection` sends the signed query only at full width to an engine that takes it "
            "(`sae_core.query.default_query_mode`). QPS of the two Qdrant runs come from two runs on a shared "
            "machine: compare them within a run.\n\n" + query_sign(),
            signed_in_qdrant(),
        ),
    ]
