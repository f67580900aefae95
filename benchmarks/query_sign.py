"""Signed or non-negative query weights, at each query width, on several embedding sets.

    .venv/bin/pip install -e '.[glove]'
    .venv/bin/python benchmarks/query_sign.py --json benchmarks/results/query_sign.json

The engine scores a stored code z by `w · z`, where w keeps k_q weights of `W_dec q̄`: the k_q
largest |weights| (signed, `asymmetric`: Qdrant takes it) or the k_q largest positive ones
(`asymmetric_nonneg`). At full width the signed query is exact (`q̄ · (x̂ − b_pre)`), so it ranks at
least as the non-negative one; cut, neither is exact and which ranks better is an empirical
question. This measures it as the engine would answer it (exact inner product of the stored codes
with each query, the engine order; no client work) on sets of other models, widths and domains,
each a seeded sample with held-out queries as in `saevdb advise`: the rule
`sae_core.query.default_query_mode` follows from it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from saevdb.sae_core import SAEConfig, encode
from saevdb.sae_core.advise import sample_split
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.metrics import recall_at
from saevdb.sae_core.query import query_vectors
from saevdb.sae_core.search import exact_topk
from saevdb.sae_core.train import TrainConfig, build_and_fit

# (set, h, k): a shape the set's 32-to-128-byte budgets lead to (`saevdb advise` results), sampled to
# at most ROWS rows.
SETS = (("movielens", 4096, 8), ("glove", 4096, 10), ("wordnet", 4096, 32))
ROWS, QUERIES, EPOCHS = 30_000, 500, 5
WIDTHS = (16, 64, 256, None)  # None: all h weights


def measure(name: str, h: int, k: int, seed: int = 0) -> list[dict]:
    """Engine-order recall@10 of signed and non-negative queries at each width, on one set, and the
    share of the signed query's weights that are negative."""
    database, query_rows, train_rows = sample_split(load_embeddings(name), ROWS, QUERIES, seed)
    cfg = SAEConfig(d=database.shape[1], h=h, k=k)
    schedule = TrainConfig(epochs=EPOCHS, seed=seed)
    model, _ = build_and_fit(database, cfg, schedule, rows=train_rows, show_progress_bar=False)
    codes = encode(model, database, show_progress_bar=False)
    queries = database[query_rows]
    truth, _ = exact_topk(queries, database, 10, exclude=query_rows)
    out = []
    for width in WIDTHS:
        weights = {mode: query_vectors(model, queries, mode, width) for mode in ("asymmetric", "asymmetric_nonneg")}
        recall = {
            mode: recall_at(truth, exact_topk(w, codes, 10, exclude=query_rows)[0], 10) for mode, w in weights.items()
        }
        negative_share = float((weights["asymmetric"].data < 0).mean())
        out.append(
            {
                "data": name,
                "rows": int(len(database)),
                "d": int(database.shape[1]),
                "h": h,
                "k": k,
                "query_k": width or h,
                "signed": recall["asymmetric"],
                "nonneg": recall["asymmetric_nonneg"],
                "signed_negative_share": negative_share,
            }
        )
        print(f"{name} h={h} k={k} k_q {width or 'full'}: signed {recall['asymmetric']:.3f}", end=" ")
        print(f"non-negative {recall['asymmetric_nonneg']:.3f} (signed: {negative_share:.0%} negative)", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(s for s, _, _ in SETS), help="which of the sets to run")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    wanted = set(args.sets.split(","))
    rows = [row for name, h, k in SETS if name in wanted for row in measure(name, h, k)]
    config = {"rows": ROWS, "queries": QUERIES, "epochs": EPOCHS}
    args.json.write_text(json.dumps({"config": config, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
