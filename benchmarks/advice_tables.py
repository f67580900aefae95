"""The `saevdb advise` reports as one table for benchmarks/RESULTS.md (see make_results.py): the
default rule judged on data other than WordNet–MiniLM — other models, widths and domains.

Each row is one `advise` run (`benchmarks/results/advise_*.json`): the best code shape for the budget
by the engine's own order, beside the dense baselines a user would switch on instead at the same or
fewer bytes, and the verdict the command printed.
"""

from __future__ import annotations

from frontier_tables import load_result, markdown_table

# (label of the data, results file): each written by the command in its row's label.
ADVICE = [
    (
        "WordNet–MiniLM, d=384, the data the rule was chosen on (`--data wordnet --budget 128`)",
        "advise_wordnet_128.json",
    ),
    (
        "Debian package descriptions, multilingual-e5-small 4-bit, d=384 (`--data runs/debian_e5.npy --budget 128`)",
        "advise_debian_e5_128.json",
    ),
    (
        "the same, 32 B (`--budget 32`)",
        "advise_debian_e5_32.json",
    ),
    (
        "MovieLens items, implicit ALS, d=64 (`--data movielens --budget 32`)",
        "advise_movielens_32.json",
    ),
    (
        "GloVe 6B word vectors, d=50 (`--data glove --budget 32`)",
        "advise_glove_32.json",
    ),
]


def _baseline(report: dict, name: str) -> str:
    b = report["baselines"][name]
    return f"{b['recall_at_10']:.3f} ({b['bytes_per_vector']} B)"


def advice() -> str:
    """One row per advise run: data, rows measured, best shape, its engine order and depth, baselines."""
    rows = []
    for label, name in ADVICE:
        report = load_result(name)
        chosen = report["chosen"]
        rows.append(
            [
                label,
                f"{report['sample_rows']:,} of {report['rows']:,}",
                f"h={chosen['h']} k={chosen['k']} {chosen['value_dtype']} ({chosen['bytes']} B)",
                f"{chosen['recall_at_10']:.3f}",
                f"{chosen['top10_in_100']:.3f}",
                *(_baseline(report, key) for key in ("product_quantization", "rotation_scalar", "sign_1bit")),
                {True: "yes", False: "no", None: "no clear winner"}[report["codes_worth_it"]],
            ]
        )
    head = ["data", "rows measured", "best shape", "engine order", "top-10 in 100", "PQ", "rotation + scalar"]
    return markdown_table([*head, "1-bit sign", "codes worth it"], rows)


# (label of the data, results file, the same command rerun): `saevdb advise --recall 0.95`.
RAM_ADVICE = [
    (
        "WordNet–MiniLM, d=384, priced at 1M rows (`--data wordnet --recall 0.95 --rows 1000000`)",
        "advise_recall_wordnet_1m.json",
        "advise_recall_wordnet_1m_rerun.json",
    ),
    (
        "MovieLens items, implicit ALS, d=64, its 9,066 rows (`--data movielens --recall 0.95`)",
        "advise_recall_movielens.json",
        "advise_recall_movielens_rerun.json",
    ),
    (
        "GloVe 6B, d=50, its 400,000 rows (`--data glove --recall 0.95`)",
        "advise_recall_glove.json",
        "advise_recall_glove_rerun.json",
    ),
    (
        "WordNet–mpnet, d=768, 40,000 rows priced at 1M (`--data runs/wordnet_mpnet.npy --recall 0.95 --rows 1000000`)",
        "advise_recall_wordnet_mpnet_1m.json",
        "advise_recall_wordnet_mpnet_1m_rerun.json",
    ),
]
MB = 1 << 20


def _option(report: dict, name: str | None) -> str:
    if name is None:
        return "none reaches it"
    row = next(r for r in report["options"] if r["option"] == name)
    per_vector = row["ram_bytes"] / report["rows"]
    return f"{name}: {row['recall_at_10']:.3f}, {row['ram_bytes'] / MB:,.0f} MB ({per_vector:.0f} B)"


def ram_advice() -> str:
    """One row per `advise --recall` run: the cheapest code setting and built-in reaching the target,
    the RAM ratio with its bootstrap interval, the winner, and whether the rerun said the same."""
    from frontier_tables import RESULTS

    rows = []
    for label, name, rerun in RAM_ADVICE:
        if not (RESULTS / name).is_file():
            continue
        report = load_result(name)
        again = load_result(rerun) if (RESULTS / rerun).is_file() else None
        chosen = report["chosen"]["option"] if report["chosen"]["reaches"] else None
        low, high = report["interval"]
        rows.append(
            [
                label,
                f"{report['sample_rows']:,}",
                _option(report, chosen),
                _option(report, report["rival"]),
                f"{report['ram_ratio']:.2f} ({low:.2f}–{high:.2f})",
                report["winner"] or "no clear winner",
                "not rerun" if again is None else ("yes" if again["verdict"] == report["verdict"] else "no"),
            ]
        )
    head = ["data", "rows measured", "cheapest code setting reaching 0.95", "cheapest built-in reaching 0.95"]
    return markdown_table([*head, "RAM ratio (95% interval)", "winner", "same verdict on a rerun"], rows)


def cost_check() -> str:
    """The cost model (adapters/qdrant/costs.json) against each capped option's smallest cap served."""
    from cap_tables import _curves, smallest

    from saevdb.adapters.registry import cost_model

    model = cost_model("qdrant")
    flat = "saevdb codes h=4096 k=8 float16 + originals on disk (flat file, float16)"
    names = {flat: "saevdb codes + originals in a flat file"}
    rows = []
    for run in ("memory_cap_wordnet_250k.json", "memory_cap_wordnet_1m.json", "memory_cap_wordnet_1m_trim.json"):
        report = load_result(run)
        for (method, setting), curve in _curves(report).items():
            option = names.get(method, method)
            low = smallest(curve)
            if option not in model.options or low is None:
                continue
            codes = model.options[option].kind == "codes"
            predicted = model.ram_bytes(option, report["n"], 384, *((8, 2) if codes else ()))
            measured = low["cap_above_empty_bytes"]
            rows.append(
                [
                    run,
                    f"{method}, {setting}",
                    f"{measured / MB:.0f}",
                    f"{predicted / MB:.0f}",
                    f"{predicted / measured:.2f}",
                ]
            )
    head = ["run", "option", "smallest cap served, MB above empty", "cost model, MB", "model / served"]
    return markdown_table(head, rows)


DIMS = ("compare_wordnet_101k_384_dims.json", "compare_wordnet_101k_768_dims.json")


def dims_check() -> str:
    """The cost model's width term (bits / 8 per stored coordinate) against what each dense option's
    RAM to provision grew by per coordinate between two widths (one `compare` run each, same rows)."""
    from saevdb.adapters.registry import cost_model

    model = cost_model("qdrant")
    narrow, wide = (load_result(name) for name in DIMS)

    def ram(report: dict) -> dict[str, float]:
        return {
            r["method"]: r["ram_bytes_per_vector"]
            for r in report["rows"]
            if r["family"] == "built-in" and r["status"] == "ok"
        }

    d_narrow, d_wide = (report["models"][0]["d"] for report in (narrow, wide))
    rows = []
    for method, low in ram(narrow).items():
        grown = (ram(wide)[method] - low) / (d_wide - d_narrow)
        rows.append(
            [method, f"{low:.0f}", f"{ram(wide)[method]:.0f}", f"{grown:.3f}", f"{model.options[method].bits / 8:.3f}"]
        )
    head = [
        "option",
        f"RAM / vector at d={d_narrow}, B",
        f"at d={d_wide}, B",
        "grown per coordinate, B",
        "cost model, B",
    ]
    return markdown_table(head, rows)


def recall_by_size(name: str = "recall_by_size_glove.json") -> str:
    """`recall_by_size.py`'s run: one row per option, one column per database size."""
    from frontier_tables import RESULTS

    if not (RESULTS / name).is_file():
        return "Not measured yet."
    report = load_result(name)
    sizes = sorted({r["rows"] for r in report["rows"]})
    options = list(dict.fromkeys(r["option"] for r in report["rows"]))
    recall = {(r["option"], r["rows"]): r["recall"] for r in report["rows"]}
    table = [[option, *(f"{recall[(option, size)]:.3f}" for size in sizes)] for option in options]
    return markdown_table(["option", *(f"{size:,} rows" for size in sizes)], table)


def ram_sections() -> list[tuple[str, str, str]]:
    """The RESULTS.md sections of `advise --recall` and the cost model it prices with."""
    return [
        (
            "The first stage for a recall target, priced in the engine's RAM",
            "`saevdb advise --recall 0.95` (`saevdb/ram_advice.py`): on a 20,000-row sample, 500 of its rows "
            "as queries, h=4096 codes of k = 4, 6, 8, 12, 16 entries (5 epochs each), uint8 and float16 values, "
            "first stage the query's k_q = 32, 128, 512 largest positive weights, its top R = 25, 50, 100 "
            "re-scored exactly from the originals; beside them every built-in Qdrant Edge quantization the "
            "cost model prices, by an exhaustive scan of the quantized vectors without and with rescoring at "
            "oversampling 1–8 (no graph loss: their best case). Recall counts a returned tie of the true 10th "
            "neighbour as a hit (a third of MovieLens' items share their vector with another). Each option "
            "is priced for the rows named by `adapters/qdrant/costs.json`, the smallest memory cap it served "
            "at (below); the interval is a paired bootstrap over the queries (2,000 draws, seeded), the "
            "cost model's own error not in it. Each command was run twice.",
            ram_advice(),
        ),
        (
            "Recall at a fixed depth as the database grows",
            "`benchmarks/recall_by_size.py` (offline, exact sparse search and exact re-score, built-ins by an "
            "exhaustive scan): one model against the same 500 queries in nested databases, so each size only "
            "adds competitors. GloVe 6B (d=50): the shape advise picked for it (h=4096 k=12 uint8), fitted as "
            "advise fits it (5 epochs on 19,500 rows; `--data glove --sizes 20000,50000,100000,200000,399999`); "
            "unlike advise's sample, whose rows the fit is made on, these databases are mostly rows it never saw.",
            recall_by_size("recall_by_size_glove.json"),
        ),
        (
            "Recall at a fixed depth as the database grows: a model `saevdb train` made",
            "WordNet–MiniLM (d=384): `runs/os23/models/h4096_k8` (`saevdb train --data wordnet --hidden 4096 "
            "--k 8 --train-rows 100000`, 20 epochs), its held-out rows as the queries (`--model "
            "runs/os23/models/h4096_k8 --data wordnet --value-dtype float16 --query-k 16,128,512 --sizes "
            "20000,50000,117659`), the database every row of the set.",
            recall_by_size("recall_by_size_wordnet_trained.json"),
        ),
        (
            "The cost model against the caps it came from",
            "`benchmarks/cost_model.py` writes `adapters/qdrant/costs.json` from the two capped runs at 250k "
            "and 1M rows (per option: slope and intercept of the smallest cap served; of the codes' settings "
            "the larger of each, so the codes are priced at or above what they served at) and one compare "
            "run (per stored entry: the RAM difference between k=6 and k=8). Options not served at two sizes borrow "
            "figures (named in the file). The trimmed 1M run is the one point the model was not fitted to.",
            cost_check(),
        ),
        (
            "The cost model's width term",
            "Dense options are carried from d=384 to the user's width by their stored bits per coordinate. "
            "Checked by two `saevdb compare` runs of binary 1-bit with 8-bit query and TurboQuant 2-bit in "
            "Qdrant Edge (RAM to provision once loaded, 100,000 rows, 1,000 queries): WordNet–MiniLM's first "
            "101,000 rows, and the same rows beside a row-shuffled copy of themselves (768 coordinates, "
            "renormalised: a memory check, not a recall figure). `runs/wordnet_101k_{384,768}.npy`, then "
            "`saevdb compare --data runs/wordnet_101k_D.npy --queries 1000 --backends qdrant --hidden 1024 "
            "--k 4 --epochs 1 --depths '' --rerank 0 --methods 'binary 1-bit, 8-bit query,TurboQuant 2-bit'`.",
            dims_check(),
        ),
    ]
