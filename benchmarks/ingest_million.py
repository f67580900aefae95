"""1,000,000 vectors into each embedded engine through `saevdb ingest`, with the ingest process's peak RSS.

    .venv/bin/python benchmarks/ingest_million.py --model runs/wordnet/h4096_k32 [--rows 1000000]

The input is WordNet–MiniLM (117,659 × 384) tiled to `rows` with Gaussian noise (σ = 0.01 per
coordinate) so no two rows are equal, written once as float16 .npy. Each engine gets its own
`saevdb ingest` process (so `peak_rss_bytes` is that process's alone; the engine runs in a process
of its own), then the collection is counted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from saevdb.adapters import DEFAULT_ENGINES
from saevdb.sae_core.data import load_wordnet


def tiled_input(path: Path, rows: int, block: int = 100_000, source: np.ndarray | None = None) -> None:
    """Write `rows` noisy copies (σ 0.01 per coordinate) of the rows of `source` [m, d] (default:
    WordNet–MiniLM), row i a copy of row i mod m, to `path` (float16), a block at a time."""
    source = np.asarray(load_wordnet() if source is None else source, dtype=np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(rows, source.shape[1]))
    rng = np.random.default_rng(0)
    for lo in range(0, rows, block):
        idx = np.arange(lo, min(lo + block, rows)) % len(source)
        out[lo : lo + len(idx)] = source[idx] + rng.normal(0, 0.01, (len(idx), source.shape[1]))
    out.flush()


def million_arguments(description: str) -> argparse.ArgumentParser:
    """The options of a million-row ingest benchmark: the model, the rows, the tiled input, the JSON."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--input", type=Path, default=Path("runs/wordnet_tiled_1m.npy"))
    parser.add_argument("--json", type=Path, default=None)
    return parser


def ensure_input(args: argparse.Namespace) -> None:
    """Write the tiled input once, where `--input` says."""
    if not args.input.is_file():
        args.input.parent.mkdir(parents=True, exist_ok=True)
        tiled_input(args.input, args.rows)


def main() -> None:
    parser = million_arguments(__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(DEFAULT_ENGINES))
    args = parser.parse_args()
    ensure_input(args)
    work = Path(tempfile.mkdtemp(prefix="saevdb-million-"))
    work.chmod(0o755)  # under root the OpenSearch node runs as `nobody`
    results = {}
    for backend in args.backends.split(","):
        report = work / f"{backend}.json"
        command = [
            sys.executable,
            "-m",
            "saevdb.cli",
            "ingest",
            "--model",
            args.model,
            "--data",
            str(args.input),
            "--backend",
            backend,
            "--collection",
            "million",
            "--path",
            str(work / backend),
            "--json",
            str(report),
        ]
        done = subprocess.run(command, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            raise SystemExit(f"{backend} failed:\n{done.stderr[-3000:]}")
        summary = json.loads(report.read_text())
        results[backend] = summary
        print(
            f"{backend:10s} {summary['points_in_collection']:>9,} points  {summary['vectors_per_s']:>8,.0f} vectors/s"
            f"  encode {summary['encode_seconds']:6.1f} s  upload {summary['upload_seconds']:6.1f} s"
            f"  ingest peak RSS {summary['peak_rss_bytes'] / 2**20:6,.0f} MiB"
            f"  engine RSS {(summary['engine'].get('engine_rss_bytes') or 0) / 2**20:6,.0f} MiB",
            flush=True,
        )
        shutil.rmtree(work / backend, ignore_errors=True)
    work.rmdir()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
