"""`saevdb refine`: more closed-form decoder rounds for a trained model, as a new model folder."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from saevdb.cli.common import DATA_HELP, PURSUIT_STEPS_HELP, add_memory_option, add_output_options, same_data, sample
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.dictionary import refine_decoder
from saevdb.sae_core.model_files import fingerprint, load_model, load_training_record, save_model


def add_parser(sub) -> None:
    r = sub.add_parser("refine", help="more closed-form decoder rounds for a trained model")
    r.add_argument("--model", type=Path, required=True, help="a trained model folder")
    r.add_argument("--data", required=True, help=DATA_HELP)
    r.add_argument("--rounds", type=int, required=True, help="decoder rounds, each one encoding pass over the rows")
    r.add_argument("--pursuit-steps", type=int, default=None, help="change the model's: " + PURSUIT_STEPS_HELP)
    r.add_argument("--out", type=Path, required=True, help="new model folder (its fingerprint differs)")
    add_memory_option(r)
    add_output_options(r)
    r.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict:
    """On the rows the model was trained on when this is its data (held-out rows stay held out; a
    record older than `trained_rows` gives every other row), else on every row."""
    model = load_model(args.model)
    source = fingerprint(model)
    if args.pursuit_steps is not None:
        model.config = replace(model.config, pursuit_steps=args.pursuit_steps)
    if args.rounds < 1:
        raise ValueError(f"--rounds {args.rounds} must be at least 1")
    x = load_embeddings(args.data)
    record = load_training_record(args.model)
    rows = np.arange(x.shape[0])
    if same_data(record, args.data, x.shape[0]):
        rows = np.setdiff1d(rows, record["held_out_rows"])
        rows = sample(rows, record.get("trained_rows", rows.size), record["train"]["seed"])
    start = time.perf_counter()
    cosines = refine_decoder(
        model, x, rows, args.rounds, show_progress_bar=not args.quiet, max_memory=args.max_memory << 20
    )
    seconds = time.perf_counter() - start
    step = {
        "from": source,
        "rounds": args.rounds,
        "pursuit_steps": model.config.pursuit_steps,
        "cosines": cosines,
        "seconds": seconds,
    }
    refined = {**(record or {}), "refined": [*(record or {}).get("refined", []), step]}
    fp = save_model(model, args.out, training=refined)
    print(
        f"refined {args.model} with {args.rounds} decoder rounds on {rows.size} rows in {seconds:.0f} s;"
        f" reconstruction cosine before each: {', '.join(f'{c:.4f}' for c in cosines)}; saved to {args.out}"
    )
    return {"model": str(args.out), "fingerprint": fp, "rows": int(rows.size), **step}
