"""Recall@10 at a fixed depth as the database grows: the codes' two-stage search against the
built-ins' rescoring, offline, so `saevdb advise --recall` can be judged on how far a small sample's
estimate carries.

    .venv/bin/python benchmarks/recall_by_size.py --data glove --sizes 20000,50000,100000,200000,399999 \\
        --json benchmarks/results/recall_by_size_glove.json

One shape (`--hidden`, `--k`; default the one `advise --recall 0.95` picked for GloVe) fitted as
`advise` fits it (5 epochs on 19,500 rows, 500 held-out queries), or with `--model` a model
`saevdb train` made, the first 500 of its held-out rows as the queries. The databases are nested:
the queries plus the first m − 500 rows of one seeded order of the rest, so each size adds
competitors to the same queries and nothing else changes. Per size: the two-stage search at each query width
and depth (`first_stage.two_stage_hits`, the codes stored as `--value-dtype`) and each built-in by
an exhaustive scan at each oversampling (`quantized_recall`, their best case), as advise measures
them. A first stage's top R is a fixed count, so its share of the collection falls as n grows.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from saevdb.cli.common import query_rows
from saevdb.sae_core import SAEConfig
from saevdb.sae_core.advise import ADVISE_EPOCHS
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.first_stage import TOP, two_stage_hits
from saevdb.sae_core.model_files import load_model
from saevdb.sae_core.quantized_recall import quantized_hits
from saevdb.sae_core.search import exact_topk
from saevdb.sae_core.train import TrainConfig, build_and_fit

QUERIES, FIT = 500, 19_500
BUILT_INS = {"scalar int8": ("scalar", 8), "binary 1-bit, 8-bit query": ("sign_query", 1)}


def nested(x: np.ndarray, seed: int, queries: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`(order, fit)`: one seeded order of the rows with the queries first (`queries`, else seeded
    ones), and the rows a model would be fitted on (never a query)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    if queries is not None:
        order = np.concatenate([queries, order[~np.isin(order, queries)]])
    fit = np.sort(rng.choice(order[QUERIES:], min(FIT, len(x) - QUERIES), replace=False))
    return order, fit


def model_and_order(args, x: np.ndarray):
    """`(model, order, fit rows)`: `--model` and its held-out rows as the queries, or a fit as advise makes it."""
    if args.model is not None:
        held, _, _ = query_rows(args.model, args.data, len(x), QUERIES, args.seed)
        order, _ = nested(x, args.seed, held)
        return load_model(args.model), order, None
    order, fit = nested(x, args.seed)
    config = SAEConfig(d=x.shape[1], h=args.hidden, k=args.k)
    schedule = TrainConfig(epochs=ADVISE_EPOCHS, seed=args.seed)
    model, _ = build_and_fit(x[fit], config, schedule, show_progress_bar=False)
    return model, order, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--sizes", default="20000,50000,100000,200000")
    parser.add_argument("--hidden", type=int, default=4096)
    parser.add_argument("--k", type=int, default=12)
    parser.add_argument("--model", type=Path, default=None, help="a model `saevdb train` made, instead of a fit")
    parser.add_argument("--value-dtype", default="uint8")
    parser.add_argument("--query-k", default="128,512")
    parser.add_argument("--depths", default="50,100,200")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    x = np.array(load_embeddings(args.data), dtype=np.float32)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    model, order, fit = model_and_order(args, x)
    widths = tuple(int(w) for w in args.query_k.split(","))
    depths = tuple(int(r) for r in args.depths.split(","))
    query_rows = np.arange(QUERIES)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        database = x[np.sort(order[QUERIES:size])]
        database = np.concatenate([x[order[:QUERIES]], database])
        _, truth = exact_topk(database[query_rows], database, TOP, exclude=query_rows)
        tenth = truth[:, TOP - 1]
        hits = two_stage_hits(model, database, query_rows, tenth, args.value_dtype, widths, depths, True)
        for (width, depth), h in hits.items():
            rows.append({"rows": size, "option": f"codes, k_q {width}, two-stage {depth}", "recall": h.mean() / TOP})
        for name, (kind, bits) in BUILT_INS.items():
            for factor, h in quantized_hits(kind, bits, database, query_rows, tenth, (2, 4, 8)).items():
                option = f"{name}, oversampling {factor}, rescore"
                rows.append({"rows": size, "option": option, "recall": h.mean() / TOP})
        print(json.dumps([r for r in rows if r["rows"] == size]), flush=True)
    shape = f"h={model.config.h} k={model.config.k} {args.value_dtype}"
    fitted = str(args.model) if fit is None else f"{len(fit)} rows, {ADVISE_EPOCHS} epochs"
    report = {"data": args.data, "shape": shape, "model": fitted, "queries": QUERIES, "rows": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
