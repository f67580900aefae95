"""`saevdb compare`: in every engine, saevdb's codes beside the engine's own ways of storing the
dense vectors (float32, its built-in quantizations, with and without rescoring), on the user's data."""

from __future__ import annotations

import argparse
import itertools
import logging
from pathlib import Path

import numpy as np

from saevdb.adapters import DEFAULT_ENGINES, ENGINES
from saevdb.adapters.registry import cost_model, dense_options
from saevdb.cli.advise import format_advice, format_ram_advice, signed_weights, value_dtypes
from saevdb.cli.common import DATA_HELP, add_memory_option, add_output_options
from saevdb.compare import CompareConfig, compare, format_compare, plot_compare
from saevdb.ram_advice import advise_ram
from saevdb.sae_core.advise import ADVISE_EPOCHS, advise_model
from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.model_files import load_model, save_model
from saevdb.sae_core.train import TrainConfig, build_and_fit

logger = logging.getLogger("saevdb")


def add_parser(sub) -> None:
    c = sub.add_parser(
        "compare", help="codes vs each engine's own float32 and quantized indexes: recall, RAM to provision, speed"
    )
    c.add_argument("--data", default="movielens", help=DATA_HELP)
    c.add_argument("--n", type=int, default=None, help="database vectors (default: all rows not used as queries)")
    c.add_argument("--queries", type=int, default=1000, help="query rows, held out of the database")
    c.add_argument("--backends", default=",".join(DEFAULT_ENGINES), help=f"comma-separated, of {', '.join(ENGINES)}")
    c.add_argument(
        "--model", type=Path, nargs="+", default=None, help="trained model folder(s) (default: train one per --k now)"
    )
    c.add_argument(
        "--budget",
        type=int,
        default=None,
        help="bytes per stored code: choose h, k, value type and query width by `saevdb advise`'s sweep on"
        " the database rows and compare its model (instead of --k/--precisions)",
    )
    c.add_argument(
        "--recall",
        type=float,
        default=None,
        metavar="R",
        help="recall@10 to reach: choose the code shape, value type, query width and depth by `saevdb advise"
        " --recall` on the database rows (the least RAM in the first backend's cost model) and compare it"
        " (instead of --k/--precisions/--depths)",
    )
    c.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=None,
        help="latent width(s): one model per width and --k when training (default 4096); with --budget,"
        " the widths swept (default 4096 16384)",
    )
    c.add_argument("--k", default="32", help="non-zeros per code when training (comma-separated: one model each)")
    c.add_argument("--save-model", type=Path, default=None, help="save models trained here to DIR/h<h>_k<k>")
    c.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"when training (default {TrainConfig.epochs}; with --budget, per shape swept, default {ADVISE_EPOCHS})",
    )
    c.add_argument("--rerank", type=int, default=100, help="candidates re-ranked client-side by q̄·x̂/|x̂| (0: none)")
    c.add_argument(
        "--depths",
        default="100,300",
        help="two-stage depths, comma-separated: candidates re-scored with the originals ('': none)",
    )
    c.add_argument(
        "--precisions",
        default="float32,float16",
        help="how the codes' values are stored, comma-separated: one build each where the engine offers it",
    )
    c.add_argument(
        "--methods",
        default="all",
        help="built-in methods to run, comma-separated as the report names them ('all', or 'none')",
    )
    c.add_argument(
        "--query-k",
        default=None,
        help="non-zeros per query, comma-separated to sweep several ('full': all h weights of W_dec q, the"
        " default; fewer search faster and rank less closely)",
    )
    c.add_argument(
        "--setting-budget",
        type=float,
        default=CompareConfig.setting_budget_s / 60,
        help="minutes one search setting may take: a setting whose probe query says it would take longer"
        " is reported 'too slow', not run",
    )
    c.add_argument(
        "--memory-cap",
        type=int,
        default=None,
        metavar="MB",
        help="also serve each build under this much memory (the whole engine, in a child memory cgroup,"
        " its files evicted first): recall, QPS and what the cgroup charged, or the OOM kill",
    )
    add_memory_option(c)
    c.add_argument("--clients", type=int, default=4, help="concurrent clients for the second QPS figure")
    c.add_argument("--seed", type=int, default=0, help="query / database sample seed")
    c.add_argument("--plot", type=Path, default=None, help="write recall vs RAM to provision (and QPS) as PNG")
    add_output_options(c)
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict:
    x = load_embeddings(args.data)
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    unknown = sorted(set(backends) - set(ENGINES))
    if unknown:
        raise ValueError(f"--backends: unknown {unknown}; known: {', '.join(ENGINES)}")
    if args.queries < 1 or args.queries >= x.shape[0]:
        raise ValueError(f"--queries {args.queries} must be in 1..{x.shape[0] - 1}")
    available = x.shape[0] - args.queries
    n = available if args.n is None else args.n
    if not 1 <= n <= available:
        raise ValueError(f"--n {n}: the data has {x.shape[0]} rows, {available} left after the queries")
    perm = np.random.default_rng(args.seed).permutation(x.shape[0])
    queries = np.asarray(x[np.sort(perm[: args.queries])], dtype=np.float32)
    database = np.asarray(x[np.sort(perm[args.queries : args.queries + n])], dtype=np.float32)
    methods, depths, precisions, query_ks = (
        _methods(args.methods, backends),
        _depths(args.depths),
        _precisions(args.precisions),
        _query_ks(args.query_k),
    )
    if args.memory_cap is not None and args.memory_cap <= 0:
        raise ValueError(f"--memory-cap {args.memory_cap}: megabytes, more than 0")
    if args.setting_budget <= 0:
        raise ValueError(f"--setting-budget {args.setting_budget}: minutes, more than 0")
    advice = None
    if args.budget is not None and args.recall is not None:
        raise ValueError("--budget and --recall each choose the model: give one")
    if args.recall is not None:
        advice, model = _advised_for_recall(args, database, backends)
        chosen = advice["chosen"]
        models, precisions, depths = [model], (chosen["value_dtype"],), (chosen["depth"],)
        query_ks = (chosen["query_k"],) if args.query_k is None else query_ks
    elif args.budget is not None:
        advice, model = _advised(args, database, backends)
        models, precisions = [model], (advice["chosen"]["value_dtype"],)
        query_ks = (advice["chosen"]["query_k"],) if args.query_k is None else query_ks
    else:
        models = _models(args, database)
    config = CompareConfig(
        backends=backends,
        rerank=args.rerank,
        depths=depths,
        query_ks=query_ks,
        clients=args.clients,
        methods=methods,
        precisions=precisions,
        setting_budget_s=60 * args.setting_budget,
        memory_cap_bytes=None if args.memory_cap is None else args.memory_cap << 20,
    )
    report = compare(models, database, queries, config, show_progress_bar=not args.quiet)
    report.update(data=args.data, advice=advice)
    print(format_compare(report))
    if args.plot:
        plot_compare(report, args.plot)
        print(f"plot written to {args.plot}")
    return report


def _depths(text: str) -> tuple[int, ...]:
    try:
        depths = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as e:
        raise ValueError(f"--depths {text!r}: comma-separated whole numbers") from e
    if any(depth < 1 for depth in depths):
        raise ValueError(f"--depths {text!r}: each depth must be at least 1")
    return depths


def _query_ks(text: str | None) -> tuple[int | None, ...]:
    """The query widths of `--query-k`: whole numbers ≥ 1, or "full" (None: all h weights)."""
    if text is None:
        return (None,)
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        widths = tuple(None if part == "full" else int(part) for part in parts)
    except ValueError as e:
        raise ValueError(f"--query-k {text!r}: comma-separated whole numbers or 'full'") from e
    if not widths or any(w is not None and w < 1 for w in widths):
        raise ValueError(f"--query-k {text!r}: each width must be at least 1 (or 'full')")
    return widths


def _methods(text: str, backends: tuple[str, ...]) -> tuple[str, ...] | None:
    """None for all methods, () for none, else the names, each offered by at least one backend.
    Some names hold a comma themselves ("binary 1-bit, 8-bit query"): two parts that join into an
    offered name are that name."""
    if text.strip() == "all":
        return None
    if text.strip() == "none":
        return ()
    offered = {option.method for backend in backends for option in dense_options(backend)}
    parts = [part.strip() for part in text.split(",") if part.strip()]
    methods: list[str] = []
    while parts:
        take = 2 if len(parts) > 1 and ", ".join(parts[:2]) in offered else 1
        methods.append(", ".join(parts[:take]))
        del parts[:take]
    unknown = sorted(set(methods) - offered)
    if unknown:
        raise ValueError(f"--methods: {unknown} not offered by {', '.join(backends)}; offered: {sorted(offered)}")
    return tuple(methods)


def _advised(args: argparse.Namespace, database: np.ndarray, backends: tuple[str, ...]) -> tuple[dict, object]:
    """`saevdb advise`'s sweep on the database rows (the queries stay unseen), with the value types
    every backend stores; returns its report and the chosen shape's model, as trained in the sweep."""
    if args.model is not None:
        raise ValueError("--budget chooses and trains the model itself: leave out --model")
    logger.info("--budget %d: sweeping the shapes it allows on the %d database rows", args.budget, len(database))
    widths = {"hiddens": tuple(args.hidden)} if args.hidden else {}
    advice, model = advise_model(
        database,
        args.budget,
        value_dtypes=value_dtypes(*backends),
        **widths,
        train=TrainConfig(epochs=args.epochs or ADVISE_EPOCHS, seed=args.seed, max_memory=args.max_memory),
        seed=args.seed,
        signed_weights=signed_weights(*backends),
    )
    print(format_advice(advice, ", ".join(backends)))
    if args.save_model is not None:
        save_model(model, args.save_model / f"h{model.config.h}_k{model.config.k}")
    return advice, model


def _advised_for_recall(
    args: argparse.Namespace, database: np.ndarray, backends: tuple[str, ...]
) -> tuple[dict, object]:
    """`saevdb advise --recall` on the database rows (the queries stay unseen), priced by the first
    backend's cost model for the database's size; returns its report and the chosen setting's model."""
    if args.model is not None:
        raise ValueError("--recall chooses and trains the model itself: leave out --model")
    logger.info("--recall %g: sweeping first stages on the %d database rows", args.recall, len(database))
    advice, model = advise_ram(
        database,
        cost_model(backends[0]),
        args.recall,
        hiddens=tuple(args.hidden or (4096,)),
        value_dtypes=value_dtypes(*backends),
        train=TrainConfig(epochs=args.epochs or ADVISE_EPOCHS, seed=args.seed, max_memory=args.max_memory),
        seed=args.seed,
        signed_weights=signed_weights(*backends),
    )
    print(format_ram_advice(advice))
    if args.save_model is not None:
        save_model(model, args.save_model / f"h{model.config.h}_k{model.config.k}")
    return advice, model


def _models(args: argparse.Namespace, database: np.ndarray) -> list:
    """The models of `--model`, or one trained per `--hidden` and `--k` on the database rows (queries held
    out)."""
    d = database.shape[1]
    if args.model is not None:
        models = [load_model(path) for path in args.model]
        for path, model in zip(args.model, models, strict=True):
            if model.config.d != d:
                raise ValueError(f"{path}: the model expects d={model.config.d}, the data has d={d}")
        return models
    try:
        ks = [int(part) for part in str(args.k).split(",") if part.strip()]
    except ValueError as e:
        raise ValueError(f"--k {args.k!r}: comma-separated whole numbers") from e
    train = TrainConfig(epochs=args.epochs or TrainConfig.epochs, max_memory=args.max_memory)
    models = []
    for h, k in itertools.product(args.hidden or [4096], ks):
        sae = SAEConfig(d=d, h=h, k=k)
        logger.info("no --model: training %s on the %d database rows (queries held out)", sae, len(database))
        model, _ = build_and_fit(database, sae, train, show_progress_bar=not args.quiet)
        if args.save_model is not None:
            save_model(model, args.save_model / f"h{h}_k{k}")
        models.append(model)
    return models


def _precisions(text: str) -> tuple[str, ...]:
    """The storage precisions named, each one some engine offers (an engine runs those it offers)."""
    precisions = tuple(part.strip() for part in text.split(",") if part.strip())
    offered = {p for spec in ENGINES.values() for p in spec.precisions}
    unknown = sorted(set(precisions) - offered)
    if unknown or not precisions:
        raise ValueError(f"--precisions {text!r}: the engines offer {sorted(offered)}")
    return precisions
