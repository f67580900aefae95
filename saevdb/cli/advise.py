"""`saevdb advise`: which code shape fits a byte budget on this data, and whether codes are worth it here."""

from __future__ import annotations

import argparse

from saevdb.adapters.registry import ENGINES, engine_spec
from saevdb.cli.common import DATA_HELP, add_output_options
from saevdb.sae_core.advise import ADVISE_EPOCHS, advise
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.train import TrainConfig


def add_parser(sub) -> None:
    a = sub.add_parser("advise", help="measure code shapes for a byte budget on a sample of the data, against PQ")
    a.add_argument("--data", required=True, help=DATA_HELP)
    a.add_argument("--budget", type=int, required=True, help="bytes per stored vector")
    a.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        default="qdrant",
        help="the engine the codes go to: it sets the value types tried (its sparse precisions)",
    )
    a.add_argument("--hidden", type=int, nargs="+", default=[4096, 16384], help="latent widths to try")
    a.add_argument("--sample", type=int, default=20_000, help="rows sampled as the database measured on")
    a.add_argument("--queries", type=int, default=500, help="sampled rows held out of training as queries")
    a.add_argument(
        "--epochs", type=int, default=ADVISE_EPOCHS, help="epochs per candidate (a full `train` runs longer)"
    )
    a.add_argument("--seed", type=int, default=0)
    add_output_options(a)
    a.set_defaults(func=run)


def value_dtypes(*engines: str) -> tuple[str, ...]:
    """The sparse precisions every one of `engines` stores; float32 only where nothing narrower is
    common to them (it halves k)."""
    first, *rest = (engine_spec(engine).precisions for engine in engines)
    narrow = tuple(p for p in first if p != "float32" and all(p in other for other in rest))
    return narrow or ("float32",)


def signed_weights(*engines: str) -> bool:
    """Whether every one of `engines` scores negative query weights (only then are full-width
    queries signed)."""
    return all(engine_spec(engine).signed for engine in engines)


def run(args: argparse.Namespace) -> dict:
    x = load_embeddings(args.data)
    report = advise(
        x,
        args.budget,
        value_dtypes=value_dtypes(args.engine),
        hiddens=tuple(args.hidden),
        sample=args.sample,
        queries=args.queries,
        train=TrainConfig(epochs=args.epochs, seed=args.seed),
        seed=args.seed,
        signed_weights=signed_weights(args.engine),
    )
    print(format_advice(report, args.engine))
    chosen = report["chosen"]
    if report["codes_worth_it"]:
        print(
            f"next: saevdb train --data {args.data} --hidden {chosen['h']} --k {chosen['k']} --out MODEL_DIR"
            f"  (store values as {chosen['value_dtype']}, query with --query-k {chosen['query_k']})"
        )
    return report


def format_advice(report: dict, engine: str) -> str:
    """The sweep as a table: each shape, each baseline at the same bytes, the query widths, the verdict."""
    lines = [
        f"{report['sample_rows']} of {report['rows']} rows, {report['queries']} queries, {report['epochs']} epochs"
        f" per shape; engine order = exact inner product with full-width {report['query_mode']} queries"
        f" (cut widths: asymmetric_nonneg), as {engine} ranks codes",
        f"{'shape':<28}{'bytes':>6}{'recall@10':>11}{'top10 in 100':>14}{'train s':>9}",
    ]
    for c in report["candidates"]:
        shape = f"codes h={c['h']} k={c['k']} {c['value_dtype']}"
        lines.append(
            f"{shape:<28}{c['bytes']:>6}{c['recall_at_10']:>11.3f}{c['top10_in_100']:>14.3f}{c['train_seconds']:>9.0f}"
        )
    for name, b in report["baselines"].items():
        lines.append(f"{name:<28}{b['bytes_per_vector']:>6}{b['recall_at_10']:>11.3f}{b['top10_in_100']:>14.3f}")
    widths = ", ".join(f"{w}: {v['recall_at_10']:.3f}" for w, v in report["query_widths"].items())
    lines.append(f"query width -> recall@10: {widths}; chosen {report['chosen']['query_k']}")
    lines.append(report["verdict"])
    return "\n".join(lines)
