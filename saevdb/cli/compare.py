"""`saevdb compare`: every engine side by side on the user's data, against its own dense index."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from saevdb.adapters import ENGINES
from saevdb.cli.common import DATA_HELP, add_output_options
from saevdb.compare import CompareConfig, compare, format_compare, plot_compare
from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.model_files import fingerprint, load_model
from saevdb.sae_core.train import TrainConfig, build_and_fit

logger = logging.getLogger("saevdb")


def add_parser(sub) -> None:
    c = sub.add_parser("compare", help="every backend side by side: recall, RAM, speed, vs its own dense index")
    c.add_argument("--data", default="movielens", help=DATA_HELP)
    c.add_argument("--n", type=int, default=None, help="database vectors (default: all rows not used as queries)")
    c.add_argument("--queries", type=int, default=1000, help="query rows, held out of the database")
    c.add_argument("--backends", default=",".join(ENGINES), help=f"comma-separated, of {', '.join(ENGINES)}")
    c.add_argument("--model", type=Path, default=None, help="a trained model folder (default: train one now)")
    c.add_argument("--hidden", type=int, default=4096, help="latent width when training")
    c.add_argument("--k", type=int, default=32, help="non-zeros per code when training")
    c.add_argument("--epochs", type=int, default=None, help=f"when training (default {TrainConfig.epochs})")
    c.add_argument("--rerank", type=int, default=100, help="candidates re-ranked by q̄·x̂/|x̂| in sparse+rerank mode")
    c.add_argument("--query-k", type=int, default=None, help="non-zeros per query (default: 4 x the model's k)")
    c.add_argument("--clients", type=int, default=4, help="concurrent clients for the second QPS figure")
    c.add_argument("--seed", type=int, default=0, help="query / database sample seed")
    c.add_argument("--plot", type=Path, default=None, help="write recall vs RAM per vector as PNG")
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
    if args.model is not None:
        model = load_model(args.model)
        if model.config.d != x.shape[1]:
            raise ValueError(f"the model expects d={model.config.d}, the data has d={x.shape[1]}")
    else:
        sae = SAEConfig(d=int(x.shape[1]), h=args.hidden, k=args.k)
        train = TrainConfig(epochs=args.epochs) if args.epochs else TrainConfig()
        logger.info("no --model: training %s on the %d database rows (queries held out)", sae, n)
        model, _ = build_and_fit(database, sae, train, show_progress_bar=not args.quiet)
    config = CompareConfig(backends=backends, rerank=args.rerank, query_k=args.query_k, clients=args.clients)
    report = compare(model, database, queries, config, show_progress_bar=not args.quiet)
    report.update(data=args.data, fingerprint=fingerprint(model))
    print(format_compare(report))
    if args.plot:
        plot_compare(report, args.plot)
        print(f"plot written to {args.plot}")
    return report
