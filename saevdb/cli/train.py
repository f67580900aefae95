"""`saevdb train`: fit a TopK SAE on dense embeddings and save it as a model folder."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

from saevdb.cli.common import DATA_HELP, PURSUIT_STEPS_HELP, SUPPORT_HELP, add_output_options, data_id, sample, split
from saevdb.sae_core.config import SUPPORTS, SAEConfig
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.model_files import save_model
from saevdb.sae_core.train import TrainConfig, build_and_fit


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="train a TopK sparse autoencoder on dense embeddings")
    t.add_argument("--data", required=True, help=DATA_HELP)
    t.add_argument(
        "--hidden",
        type=int,
        default=4096,
        help="latent width h; up to 65536 costs no more bytes per code (uint16 indices). Wider gives closer"
        " codes on large data (100k+ rows) and encodes more slowly (benchmarks/encode_throughput.py)",
    )
    t.add_argument("--k", type=int, default=32, help="non-zeros per code: the bytes per vector")
    t.add_argument("--signed", action="store_true", help="signed codes (Qdrant only); default non-negative")
    t.add_argument(
        "--no-refit",
        action="store_true",
        help="keep the encoder's own values instead of least squares: a little faster to encode, less close"
        " (implies --shortlist 1)",
    )
    t.add_argument(
        "--shortlist",
        type=int,
        default=None,
        help=f"least squares picks the k latents among the encoder's shortlist x k best (1: plain TopK;"
        f" default {SAEConfig.shortlist}, or 1 with --no-refit)",
    )
    t.add_argument(
        "--raw-values",
        action="store_true",
        help="store least-squares values as they are; by default they are divided by |x̂| so that the"
        " engine's inner product estimates a cosine",
    )
    t.add_argument("--support", choices=SUPPORTS, default="topk", help=SUPPORT_HELP)
    t.add_argument("--pursuit-steps", type=int, default=SAEConfig.pursuit_steps, help=PURSUIT_STEPS_HELP)
    t.add_argument("--out", type=Path, required=True, help="model folder (resumes from its checkpoint)")
    t.add_argument("--holdout", type=int, default=1000, help="rows kept out of training for eval's queries")
    t.add_argument("--train-rows", type=int, default=None, help="train on a seeded sample of this many other rows")
    t.add_arguments(TrainConfig, dest="schedule")
    add_output_options(t)
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict:
    x = load_embeddings(args.data)
    sae = SAEConfig(
        d=int(x.shape[1]),
        h=args.hidden,
        k=args.k,
        signed=args.signed,
        refit=not args.no_refit,
        shortlist=args.shortlist or (1 if args.no_refit else SAEConfig.shortlist),
        cosine_values=not args.raw_values,
        support=args.support,
        pursuit_steps=args.pursuit_steps,
    )
    train: TrainConfig = args.schedule
    held_out, rows = split(x.shape[0], args.holdout, train.seed)
    if args.train_rows is not None:
        if not 2 <= args.train_rows <= rows.size:
            raise ValueError(f"--train-rows {args.train_rows} must be in 2..{rows.size} (rows not held out)")
        rows = sample(rows, args.train_rows, train.seed)
    start = time.perf_counter()
    model, result = build_and_fit(x, sae, train, checkpoint_dir=args.out, rows=rows, show_progress_bar=not args.quiet)
    seconds = time.perf_counter() - start
    record = {
        "data": data_id(args.data),
        "rows": int(x.shape[0]),
        "held_out_rows": held_out.tolist(),
        "trained_rows": int(rows.size),
        "train": asdict(train),
        "result": result.to_dict(),
        "seconds": seconds,
    }
    fp = save_model(model, args.out, training=record)
    print(
        f"trained {sae} on {rows.size} rows in {seconds:.0f} s; dead latents {result.dead_fraction:.1%};"
        f" fingerprint {fp[:16]}; saved to {args.out}"
    )
    return {
        "model": str(args.out),
        "fingerprint": fp,
        "config": asdict(sae),
        "seconds": round(seconds, 1),
        "trained_rows": int(rows.size),
        "held_out_rows": int(held_out.size),
        **result.to_dict(),
    }
