"""`saevdb advise`: which code shape to use on this data, and whether codes are worth it here — for a
recall target in the engine's RAM (`--recall`), or for a byte budget per stored code (`--budget`)."""

from __future__ import annotations

import argparse

from saevdb.adapters.registry import ENGINES, cost_model, engine_spec
from saevdb.cli.common import DATA_HELP, add_memory_option, add_output_options
from saevdb.ram_advice import KS, advise_ram
from saevdb.sae_core.advise import ADVISE_EPOCHS, advise
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.train import TrainConfig


def add_parser(sub) -> None:
    a = sub.add_parser(
        "advise",
        help="measure code shapes on a sample of the data: the least RAM in the engine for a recall target"
        " (--recall), or the best recall for a byte budget (--budget)",
    )
    a.add_argument("--data", required=True, help=DATA_HELP)
    goal = a.add_mutually_exclusive_group(required=True)
    goal.add_argument(
        "--recall",
        type=float,
        metavar="R",
        help="recall@10 to reach: codes as a first stage (top candidates re-scored from the originals)"
        " against the engine's built-in quantizations, priced by its cost model",
    )
    goal.add_argument("--budget", type=int, metavar="BYTES", help="bytes per stored code, against PQ at as many")
    a.add_argument(
        "--rows", type=int, metavar="N", help="with --recall: the collection's size to price (default: the data's rows)"
    )
    a.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        default="qdrant",
        help="the engine the codes go to: it sets the value types tried (its sparse precisions)",
    )
    a.add_argument(
        "--hidden", type=int, nargs="+", metavar="H", help="latent widths to try (default 4096; --budget: 4096 16384)"
    )
    a.add_argument("--k", type=int, nargs="+", metavar="K", default=list(KS), help="with --recall: entries per code")
    a.add_argument("--sample", type=int, default=20_000, help="rows sampled as the database measured on")
    a.add_argument("--queries", type=int, default=500, help="sampled rows held out of training as queries")
    a.add_argument(
        "--epochs", type=int, default=ADVISE_EPOCHS, help="epochs per candidate (a full `train` runs longer)"
    )
    a.add_argument("--seed", type=int, default=0)
    add_memory_option(a)
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
    if args.recall is not None:
        return run_recall(args, x)
    report = advise(
        x,
        args.budget,
        value_dtypes=value_dtypes(args.engine),
        hiddens=tuple(args.hidden or (4096, 16384)),
        sample=args.sample,
        queries=args.queries,
        train=TrainConfig(epochs=args.epochs, seed=args.seed, max_memory=args.max_memory),
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


def run_recall(args: argparse.Namespace, x) -> dict:
    """`--recall`: the cheapest first stage in the engine's RAM against its built-ins."""
    report, _ = advise_ram(
        x,
        cost_model(args.engine),
        args.recall,
        rows=args.rows,
        hiddens=tuple(args.hidden or (4096,)),
        ks=tuple(args.k),
        value_dtypes=value_dtypes(args.engine),
        sample=args.sample,
        queries=args.queries,
        train=TrainConfig(epochs=args.epochs, seed=args.seed, max_memory=args.max_memory),
        seed=args.seed,
        signed_weights=signed_weights(args.engine),
    )
    print(format_ram_advice(report))
    chosen = report["chosen"]
    if report["winner"] == "saevdb":
        print(
            f"next: saevdb train --data {args.data} --hidden {chosen['h']} --k {chosen['k']} --out MODEL_DIR"
            f"  (store values as {chosen['value_dtype']}, originals on disk; query with --query-k"
            f" {chosen['query_k']}, re-score the top {chosen['depth']})"
        )
    return report


def format_ram_advice(report: dict) -> str:
    """Per build the cheapest setting reaching the target (or its best recall), then the verdict."""
    mb = 1 << 20
    lines = [
        f"{report['sample_rows']} of the rows measured, {report['queries']} queries, {report['epochs']} epochs per"
        f" shape; RAM for {report['rows']:,} rows of {report['dim']} dims in {report['engine']}"
        f" ({report['cost_figure']}); built-ins by an exhaustive scan (no graph loss: their best case)",
        f"{'option':<62}{'recall@10':>10}{'RAM MB':>9}{'B/vector':>10}{'originals/query':>17}",
    ]
    builds: dict[str, list[dict]] = {}
    for row in report["options"]:  # cheapest first; of one build, fewest originals read first
        builds.setdefault(row["build"], []).append(row)
    shown = []
    for rows in builds.values():
        reaching = [r for r in rows if r["recall_at_10"] >= report["recall_target"]]
        shown.append(reaching[0] if reaching else max(rows, key=lambda r: r["recall_at_10"]))
    for row in sorted(shown, key=lambda r: r["ram_bytes"]):
        lines.append(
            f"{row['option']:<62}{row['recall_at_10']:>10.3f}{row['ram_bytes'] / mb:>9.0f}"
            f"{row['ram_bytes'] / report['rows']:>10.0f}{row['originals_read_per_query']:>17}"
        )
    if report["cost_extrapolated"]:
        low, high = report["cost_measured_rows"]
        lines.append(
            f"note: {report['rows']:,} rows lie outside the sizes the cost model was measured at ({low:,}-{high:,}):"
            " its fixed parts, extrapolated, weigh most there"
        )
    lines.append(f"recall@10 >= {report['recall_target']}: {report['verdict']}")
    return "\n".join(lines)


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
