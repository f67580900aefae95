"""Encode throughput as a ratio to a plain `X @ W_encᵀ` of the same shape, measured side by side.

    .venv/bin/python benchmarks/encode_throughput.py [--device cuda] [--rows 100000]

Interleaves the timings over several rounds and reports the median of each, so a noisy shared
machine slows all alike. Target on CPU: ratio >= 0.7. Two floors: the plain matmul over the same
batches (the target's yardstick), and the same matmul over the cache-sized slices `encode` computes
its pre-activations in (`sae_core.encode.slice_rows`), which is itself faster on CPU: `ratio_sliced`
says how much of the encoder's cost is the matmul at its best.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import time

import numpy as np
import torch

from saevdb.sae_core import SAEConfig, SparseAutoencoder, encode
from saevdb.sae_core.config import SUPPORTS
from saevdb.sae_core.encode import slice_rows


def plain_matmul(x: np.ndarray, weight: torch.Tensor, batch_size: int, device: str, dtype, rows: int) -> None:
    """The floor: the encoder's matmul alone, same batches and transfers, `rows` at a time, no TopK,
    no CSR."""
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            xb = torch.from_numpy(x[start : start + batch_size]).to(device)
            for lo in range(0, xb.shape[0], rows):
                with torch.autocast(torch.device(device).type, dtype=dtype, enabled=dtype is not None):
                    out = xb[lo : lo + rows] @ weight.T
                out.float().cpu()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=384)
    parser.add_argument("--hidden", type=int, default=4096)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default="float32")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--refit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="least-squares values (the default model) or the encoder's own",
    )
    parser.add_argument("--support", choices=SUPPORTS, default="topk", help="how codes choose their latents")
    parser.add_argument(
        "--shortlist",
        type=int,
        default=None,
        help=f"TopK shortlist factor (default {SAEConfig.shortlist}; 1 without refit)",
    )
    args = parser.parse_args()
    dtype = None if args.dtype == "float32" else getattr(torch, args.dtype)
    x = np.random.default_rng(0).standard_normal((args.rows, args.d)).astype(np.float32)
    shortlist = args.shortlist or (SAEConfig.shortlist if args.refit else 1)
    sae = SAEConfig(d=args.d, h=args.hidden, k=args.k, refit=args.refit, support=args.support, shortlist=shortlist)
    model = SparseAutoencoder(sae).to(args.device)
    weight = model.encoder.weight.detach()
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    sliced = slice_rows(torch.device(args.device), args.hidden, args.batch_size)
    timings = {"encode": [], "matmul": [], "sliced": []}
    for _ in range(args.rounds):
        for name, run in (
            ("matmul", lambda: plain_matmul(x, weight, args.batch_size, args.device, dtype, args.batch_size)),
            ("sliced", lambda: plain_matmul(x, weight, args.batch_size, args.device, dtype, sliced)),
            (
                "encode",
                lambda: encode(
                    model, x, batch_size=args.batch_size, device=args.device, dtype=dtype, show_progress_bar=False
                ),
            ),
        ):
            sync()
            start = time.perf_counter()
            run()
            sync()
            timings[name].append(time.perf_counter() - start)
    med = {name: statistics.median(t) for name, t in timings.items()}
    result = {
        "device": args.device,
        "dtype": args.dtype,
        "rows": args.rows,
        "shape": [args.d, args.hidden],
        "k": args.k,
        "refit": args.refit,
        "support": args.support,
        "shortlist": shortlist,
        "cosine_values": sae.cosine_values,
        "torch_threads": torch.get_num_threads(),
        "encode_rows_per_s": round(args.rows / med["encode"]),
        "matmul_rows_per_s": round(args.rows / med["matmul"]),
        "ratio": round(med["matmul"] / med["encode"], 3),
        "sliced_matmul_rows_per_s": round(args.rows / med["sliced"]),
        "ratio_sliced": round(med["sliced"] / med["encode"], 3),
        "date": datetime.date.today().isoformat(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
