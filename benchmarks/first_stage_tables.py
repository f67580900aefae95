"""The RESULTS.md section of `first_stage_objective.py`: the depth a two-stage search needs for
recall@10 0.95 and 0.98, per objective, k and query width, on each set measured."""

from __future__ import annotations

from frontier_tables import RESULTS, load_result, markdown_table

RUNS = (
    ("WordNet–MiniLM, d=384", "first_stage_objective_wordnet.json"),
    ("WordNet–mpnet, d=768", "first_stage_objective_wordnet_mpnet.json"),
)


def _depth(value: int | None) -> str:
    return "> 400" if value is None else str(value)


def objective_table() -> str:
    """One row per (set, k, k_q): for each objective the depth for 0.95 / 0.98 and recall at R=100,
    and the postings a query walks (the default objective's; the others' within a few percent)."""
    rows = []
    for label, name in RUNS:
        if not (RESULTS / name).is_file():
            continue
        report = load_result(name)
        objectives = list(dict.fromkeys(r["objective"] for r in report["rows"]))
        by_key = {(r["objective"], r["k"], r["query_k"]): r for r in report["rows"]}
        for k, width in sorted({(r["k"], r["query_k"]) for r in report["rows"]}):
            cells = []
            for objective in objectives:
                r = by_key[(objective, k, width)]
                cells.append(
                    f"{_depth(r['depth_for_0.95'])} / {_depth(r['depth_for_0.98'])} ({r['recall_at_10']['100']:.3f})"
                )
            walked = by_key[(objectives[0], k, width)]["postings_walked_per_query"]
            rows.append([label, k, width, *cells, f"{walked:,.0f}"])
    if not rows:
        return "(no run yet)"
    head = ["set", "k", "k_q", *(f"{o}: depth 0.95 / 0.98 (recall at 100)" for o in objectives)]
    return markdown_table([*head, "postings walked per query"], rows)


def first_stage_sections() -> list[tuple[str, str, str]]:
    return [
        (
            "A first stage trained for its job",
            "`benchmarks/first_stage_objective.py --data D` on the sample `advise --recall` measures "
            "(20,000 rows, 500 held-out queries, h=4096, uint8 values): today's objective at advise's 5 "
            "epochs and at `train`'s 20, and the 5-epoch schedule plus first-stage distillation "
            "(`--first-stage-weight 0.1 --mined-neighbours 3 --first-stage-query-k 128`: the listwise KL of "
            "the dense cosines into the cut query's scores against the stored codes, on batches holding 3 of "
            "each anchor's exact top-10). Depth: the fewest candidates (of 10, 25, 50, 100, 200, 400) whose "
            "exact rescore reaches the target, offline; postings walked: stored entries on the lists the "
            "query's k_q weights name, what a sparse search's time grows with.",
            objective_table(),
        )
    ]
