"""`saevdb encode`: dense embeddings to k-sparse codes, saved as scipy CSR `.npz`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import scipy.sparse as sp

from saevdb.cli.common import DATA_HELP, add_output_options
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model_files import fingerprint, load_model


def add_parser(sub) -> None:
    e = sub.add_parser("encode", help="encode dense embeddings to k-sparse codes (scipy CSR .npz)")
    e.add_argument("--model", type=Path, required=True)
    e.add_argument("--data", required=True, help=DATA_HELP)
    e.add_argument("--out", type=Path, required=True, help="output .npz (scipy.sparse.save_npz)")
    e.add_argument("--batch-size", type=int, default=4096)
    e.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ...")
    e.add_argument("--k", type=int, default=None, help="non-zeros per row (default: the model's k)")
    e.add_argument("--value-dtype", choices=("float32", "float16"), default="float32")
    add_output_options(e)
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict:
    model = load_model(args.model)
    x = load_embeddings(args.data)
    start = time.perf_counter()
    codes = encode(
        model,
        x,
        batch_size=args.batch_size,
        device=args.device,
        k=args.k,
        value_dtype=args.value_dtype,
        show_progress_bar=not args.quiet,
    )
    seconds = time.perf_counter() - start
    sp.save_npz(args.out, codes)
    summary = {
        "out": str(args.out),
        "rows": codes.shape[0],
        "h": codes.shape[1],
        "nnz": int(codes.nnz),
        "seconds": round(seconds, 2),
        "rows_per_s": round(codes.shape[0] / seconds),
        "fingerprint": fingerprint(model),
    }
    print(f"encoded {codes.shape[0]} rows to {args.out} ({codes.nnz} non-zeros) at {summary['rows_per_s']} rows/s")
    return summary
