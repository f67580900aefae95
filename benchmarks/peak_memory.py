"""Peak resident memory of the commands a user runs first, each in its own process.

Each command runs as `python -m saevdb.cli ...` in a child process; its peak is the largest
resident set of it and of every process it waited for (`getrusage(RUSAGE_CHILDREN).ru_maxrss` read
by a fresh runner that starts only that child, what GNU time reports), so an engine the command
starts is counted only where it is larger than the command itself. The commands (issue 29):

- the README's main job (`compare --recall 0.95 --backends qdrant`, MovieLens, 8,066 × 64);
- `advise --budget 32` on 20,000 × 64 (seeded normal rows: memory depends on the shapes only);
- `advise --budget 128` on 20,000 × 768 (the first 20,000 rows of the WordNet–mpnet set);
- `train` on 100,000 × 384 (the first 100,000 WordNet–MiniLM rows), one epoch: the peak of a step
  does not grow with the epochs, the decoder refit comes after the last one.

Each run is recorded under `--label` (e.g. "before" at one commit, "after" at another), and the
table prints every label's peak side by side with the ratio of the last to the first.

    python benchmarks/peak_memory.py --label after --out benchmarks/results/peak_memory.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from frontier_tables import markdown_table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "runs" / "peak_memory"
RESULT = REPO / "benchmarks" / "results" / "peak_memory.json"


def _inputs() -> dict[str, Path]:
    """The data files the commands read, written once under runs/peak_memory/."""
    from saevdb.sae_core.data import wordnet_path

    WORK.mkdir(parents=True, exist_ok=True)
    files = {"64": WORK / "normal_20k_64.npy", "768": WORK / "mpnet_20k_768.npy", "384": WORK / "minilm_100k_384.npy"}
    if not files["64"].exists():
        np.save(files["64"], np.random.default_rng(0).standard_normal((20_000, 64)).astype(np.float32))
    if not files["768"].exists():
        mpnet = REPO / "runs" / "wordnet_mpnet.npy"  # benchmarks/wordnet_mpnet.py writes it
        np.save(files["768"], np.asarray(np.load(mpnet, mmap_mode="r")[:20_000], dtype=np.float32))
    if not files["384"].exists():
        np.save(files["384"], np.asarray(np.load(wordnet_path(), mmap_mode="r")[:100_000], dtype=np.float32))
    return files


def commands(files: dict[str, Path]) -> dict[str, str]:
    return {
        "main job (compare --recall 0.95, MovieLens 8,066 × 64)": (
            f"compare --recall 0.95 --backends qdrant --json {WORK}/main.json --quiet"
        ),
        "advise --budget 32, 20,000 × 64": f"advise --data {files['64']} --budget 32 --json {WORK}/a64.json --quiet",
        "advise --budget 128, 20,000 × 768": (
            f"advise --data {files['768']} --budget 128 --json {WORK}/a768.json --quiet"
        ),
        "train, 100,000 × 384, h=4096 k=32, 1 epoch": (
            f"train --data {files['384']} --epochs 1 --out {WORK}/model --json {WORK}/train.json --quiet"
        ),
    }


def measure_one(command: str) -> dict:
    """Run one command in a child; its peak RSS (bytes) and wall seconds."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "saevdb.cli", *command.split()], cwd=REPO, check=False)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"returncode": done.returncode, "peak_rss_bytes": peak_kib * 1024, "seconds": time.perf_counter() - start}


def peak_table(results: dict) -> str:
    """One row per command, one column per label, and the last label's peak over the first's."""
    labels = list(results)
    names = list(dict.fromkeys(name for label in labels for name in results[label]))
    rows = []
    for name in names:
        peaks = [results[label].get(name, {}).get("peak_rss_bytes") for label in labels]
        cells = [f"{p / 2**30:.2f} GB" if p else "—" for p in peaks]
        ratio = f"{peaks[-1] / peaks[0]:.2f}" if len(peaks) > 1 and all(peaks) else "—"
        rows.append([name, *cells, ratio])
    return markdown_table(["command", *(f"peak RSS, {label}" for label in labels), "last / first"], rows)


def peak_sections() -> list[tuple[str, str, str]]:
    """RESULTS.md's section: how the figures were taken, and the table."""
    return [
        (
            "Peak memory of the first commands",
            "`benchmarks/peak_memory.py --label L`: each command in its own process, its peak resident set "
            "(and that of any process it waited for) as GNU time reports it; `before` at e129528 (the decoder "
            "refit solving its h × h system in float64 from scipy's sparse ZᵀZ), `after` at the commit that "
            "bounds it (`--max-memory`, default 2 GB: float32 at h=16,384). Data: MovieLens for the main job; "
            "seeded normal rows for 20,000 × 64 (memory depends on the shapes only); the first 20,000 rows of "
            "WordNet–mpnet; the first 100,000 of WordNet–MiniLM, one epoch (a step's peak does not grow with "
            "the epochs).",
            peak_table(json.loads(RESULT.read_text())),
        ),
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--label", required=True, help="what this run measures, e.g. before / after")
    p.add_argument("--out", type=Path, default=RESULT)
    p.add_argument("--only", default=None, help="run the commands whose name holds this text")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)  # the runner's own child mode
    args = p.parse_args()
    if args.one is not None:
        print(json.dumps(measure_one(args.one)))
        return
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    runs = results.setdefault(args.label, {})
    for name, command in commands(_inputs()).items():
        if args.only and args.only not in name:
            continue
        # A fresh runner per command: RUSAGE_CHILDREN then holds that command's peak alone.
        runner = [sys.executable, __file__, "--label", args.label, "--one", command]
        out = subprocess.run(runner, cwd=REPO, check=True, capture_output=True, text=True).stdout
        runs[name] = {"command": f"saevdb {command}", **json.loads(out.strip().splitlines()[-1])}
        print(f"{name}: {runs[name]['peak_rss_bytes'] / 2**30:.2f} GB, {runs[name]['seconds']:.0f} s", flush=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(peak_table(results))


if __name__ == "__main__":
    main()
