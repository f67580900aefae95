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
                "yes" if report["codes_worth_it"] else "no",
            ]
        )
    head = ["data", "rows measured", "best shape", "engine order", "top-10 in 100", "PQ", "rotation + scalar"]
    return markdown_table([*head, "1-bit sign", "codes worth it"], rows)
