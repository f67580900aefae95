"""`saevdb eval`: recall of the codes against exact dense search, beside baselines at equal bytes."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from saevdb.cli.common import DATA_HELP, PURSUIT_STEPS_HELP, SUPPORT_HELP, add_output_options, query_rows
from saevdb.sae_core.config import SUPPORTS
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.evaluate import QUERY_MODES, EvalConfig, evaluate
from saevdb.sae_core.model_files import fingerprint, load_model
from saevdb.sae_core.report import format_report


def add_parser(sub) -> None:
    v = sub.add_parser("eval", help="recall of codes vs exact dense search, and baselines at equal bytes")
    v.add_argument("--model", type=Path, required=True)
    v.add_argument("--data", required=True, help=DATA_HELP)
    v.add_argument("--queries", type=int, default=1000)
    v.add_argument(
        "--query-mode",
        choices=QUERY_MODES,
        default=EvalConfig.query_mode,
        help="which mode's figures are the headline keys (all are reported)",
    )
    v.add_argument("--support", choices=SUPPORTS, default=None, help="override the model's rule: " + SUPPORT_HELP)
    v.add_argument("--pursuit-steps", type=int, default=None, help="override the model's: " + PURSUIT_STEPS_HELP)
    v.add_argument(
        "--query-k",
        type=int,
        default=None,
        help="non-zeros per query (default: all h weights of W_dec q; fewer search faster and rank less closely)",
    )
    v.add_argument("--rerank", type=int, default=100, help="re-rank this many candidates by cosine to x̂ (0: off)")
    v.add_argument(
        "--value-dtype",
        choices=("float32", "float16", "uint8"),
        default="float16",
        help="how the engine stores values; uint8 = one global scale, as Qdrant's uint8 storage",
    )
    v.add_argument("--baselines", nargs="*", default=None, help="subset of baselines to run")
    v.add_argument("--seed", type=int, default=0, help="query sample seed when no rows were held out")
    add_output_options(v)
    v.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict:
    model = load_model(args.model)
    overrides = {"support": args.support, "pursuit_steps": args.pursuit_steps}
    # Measure another rule on the same weights; nothing is saved.
    model.config = replace(model.config, **{name: value for name, value in overrides.items() if value is not None})
    x = load_embeddings(args.data)
    queries, train_rows, source = query_rows(args.model, args.data, x.shape[0], args.queries, args.seed)
    config = EvalConfig(
        query_mode=args.query_mode,
        query_k=args.query_k,
        rerank=args.rerank,
        value_dtype=args.value_dtype,
        baselines=tuple(args.baselines) if args.baselines is not None else EvalConfig().baselines,
    )
    report = evaluate(model, x, queries, train_rows, config)
    report.update({"data": args.data, "query_source": source, "fingerprint": fingerprint(model)})
    print(format_report(report))
    return report
