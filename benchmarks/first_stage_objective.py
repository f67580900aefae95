"""Does a first stage trained for its job need fewer candidates? Today's objective (reconstruction,
Multi-TopK, AuxK) against the same plus first-stage distillation on batches holding each row's true
neighbours (`TrainConfig.first_stage_weight`, `mined_neighbours`), at few entries (k = 4, 6, 8).

    .venv/bin/python benchmarks/first_stage_objective.py --data wordnet \
        --json benchmarks/results/first_stage_objective_wordnet.json

On the sample `saevdb advise --recall` measures (20,000 rows, 500 held-out queries, 5 epochs,
h=4096, uint8 values as the engine stores them), each model is searched two-stage offline
(`sae_core.first_stage`: the query cut to k_q positive weights, exact sparse top R, exact rescore)
for every (k_q, R) of a grid. Reported per (objective, k, k_q): recall@10 at each depth, the
smallest depth reaching 0.95 and 0.98, and the postings the sparse index walks per query (the
stored entries on the query's posting lists: what a sparse search's time grows with, free of this
machine's noise). The objectives share the seed, the sample and the schedule, in one run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from saevdb.sae_core.advise import sample_split
from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.encode import encode
from saevdb.sae_core.first_stage import TOP, two_stage_hits
from saevdb.sae_core.quantize import stored_uint8
from saevdb.sae_core.query import query_vectors
from saevdb.sae_core.search import exact_topk
from saevdb.sae_core.train import TrainConfig, build_and_fit

TARGETS = (0.95, 0.98)


def objectives(epochs: int, long: int, seed: int, weight: float, mined: int, query_k: int) -> dict[str, TrainConfig]:
    """Today's default objective at advise's schedule, the same with the first-stage term on mined
    batches, and the default objective trained `long` epochs (`saevdb train`'s default), which
    tells the objective's effect from that of more steps."""
    base = TrainConfig(epochs=epochs, seed=seed)
    return {
        "default": base,
        f"default, {long} epochs": TrainConfig(epochs=long, seed=seed),
        "first_stage": TrainConfig(
            epochs=epochs, seed=seed, first_stage_weight=weight, mined_neighbours=mined, first_stage_query_k=query_k
        ),
    }


def postings_walked(model, database: np.ndarray, queries: np.ndarray, width: int) -> float:
    """Mean stored entries on the posting lists each query's k_q weights name."""
    codes = stored_uint8(encode(model, database, show_progress_bar=False))
    lengths = np.bincount(codes.indices, minlength=model.config.h)
    weights = query_vectors(model, queries, "asymmetric_nonneg", width)
    return float(np.mean((weights != 0).astype(np.float64) @ lengths))


def needed_depth(recalls: dict[int, float], target: float) -> int | None:
    """The smallest depth whose recall reaches `target`, None where none of the grid does."""
    return next((depth for depth, r in sorted(recalls.items()) if r >= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="wordnet")
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--ks", type=int, nargs="+", default=[4, 6, 8])
    parser.add_argument("--hidden", type=int, default=4096)
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--depths", type=int, nargs="+", default=[10, 25, 50, 100, 200, 400])
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--long-epochs", type=int, default=TrainConfig().epochs)
    parser.add_argument("--weight", type=float, default=0.1, help="first_stage_weight of the new objective")
    parser.add_argument("--mined", type=int, default=3, help="mined_neighbours of the new objective")
    parser.add_argument("--query-k", type=int, default=128, help="first_stage_query_k of the new objective")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    x = load_embeddings(args.data)
    database, query_rows, train_rows = sample_split(x, args.sample, args.queries, args.seed)
    _, truth = exact_topk(database[query_rows], database, TOP, exclude=query_rows)
    tenth = truth[:, TOP - 1]
    rows = []
    for name, schedule in objectives(
        args.epochs, args.long_epochs, args.seed, args.weight, args.mined, args.query_k
    ).items():
        for k in args.ks:
            started = time.perf_counter()
            model, result = build_and_fit(
                database, SAEConfig(d=database.shape[1], h=args.hidden, k=k), schedule, rows=train_rows
            )
            seconds = time.perf_counter() - started
            hits = two_stage_hits(
                model, database, query_rows, tenth, "uint8", tuple(args.widths), tuple(args.depths), False
            )
            for width in args.widths:
                recalls = {depth: float(hits[(width, depth)].mean() / TOP) for depth in args.depths}
                row = {
                    "objective": name,
                    "k": k,
                    "query_k": width,
                    "recall_at_10": {str(d): r for d, r in recalls.items()},
                    **{f"depth_for_{t}": needed_depth(recalls, t) for t in TARGETS},
                    "postings_walked_per_query": postings_walked(model, database, database[query_rows], width),
                    "epochs": schedule.epochs,
                    "train_seconds": round(seconds, 1),
                    "reconstruction_loss": result.reconstruction_loss,
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    report = {
        "data": args.data,
        "dim": int(database.shape[1]),
        "sample_rows": int(len(database)),
        "queries": args.queries,
        "hidden": args.hidden,
        "epochs": args.epochs,
        "value_dtype": "uint8",
        "new_objective": {
            "first_stage_weight": args.weight,
            "mined_neighbours": args.mined,
            "first_stage_query_k": args.query_k,
        },
        "rows": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
