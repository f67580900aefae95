"""Recall-vs-bytes curve on WordNet–MiniLM: one SAE per k, each next to the baselines at its bytes.

    .venv/bin/python benchmarks/wordnet_recall.py --out runs/wordnet [--ks 8 16 32 64] [--hidden 4096]
        [--value-dtype float16|uint8] [--data PATH|glove|movielens] [more `saevdb train` options]

Trains through the real CLI (`saevdb train`, default schedule, 1,000 rows held out, 100,000 of the
others sampled for training) and evaluates
with `saevdb eval` (those rows as queries), then prints one table and writes `summary.json` and,
with matplotlib installed, `recall_vs_bytes.png`. Needs the WordNet set (`$SAEVDB_WORDNET` or
`../shared/data/`); about 10 minutes per k on 2 CPU cores. `--data` runs the same protocol on
another set (a built-in name such as `glove`, or a `.npy`): what the defaults do on embeddings of
another model, width and domain.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from saevdb.cli import main as saevdb
from saevdb.sae_core.data import wordnet_path


def run_one(data: str, out: Path, hidden: int, k: int, value_dtype: str, extra: list[str]) -> dict:
    model = out / f"h{hidden}_k{k}"
    report = model / ("report.json" if value_dtype == "float16" else f"report_{value_dtype}.json")
    if not (model / "model.safetensors").is_file():
        code = saevdb(
            [
                "train",
                "--data",
                str(data),
                "--hidden",
                str(hidden),
                "--k",
                str(k),
                "--out",
                str(model),
                "--train-rows",
                "100000",
                "--quiet",
                "--json",
                str(model / "train.json"),
                *extra,
            ]
        )
        if code:
            raise SystemExit(f"training k={k} failed")
    if saevdb(
        [
            "eval",
            "--model",
            str(model),
            "--data",
            str(data),
            "--queries",
            "1000",
            "--value-dtype",
            value_dtype,
            "--quiet",
            "--json",
            str(report),
        ]
    ):
        raise SystemExit(f"eval k={k} failed")
    return {
        "train": json.loads((model / "train.json").read_text()),
        "report": json.loads(report.read_text()),
    }


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reports = sorted((r["report"] for r in summary.values()), key=lambda rep: rep["bytes_per_vector"])
    colours = iter(plt.get_cmap("tab20").colors)
    fig, ax = plt.subplots(figsize=(8, 5))
    for mode in reports[0]["modes"]:
        ys = [rep["modes"][mode]["recall_at_10"] for rep in reports]
        ax.plot([rep["bytes_per_vector"] for rep in reports], ys, "o-", color=next(colours), label=f"sae {mode}")
    for name in reports[0]["baselines"]:
        points = sorted(
            (rep["baselines"][name]["bytes_per_vector"], rep["baselines"][name]["recall_at_10"]) for rep in reports
        )
        ax.plot(*zip(*points, strict=True), "x--", color=next(colours), label=name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("bytes per vector")
    ax.set_ylabel("recall@10 (exact cosine top-10)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/wordnet"))
    parser.add_argument("--ks", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--hidden", type=int, default=4096)
    parser.add_argument("--value-dtype", choices=("float16", "uint8"), default="float16")
    parser.add_argument(
        "--data", default=None, help="a .npy or a built-in set (default: WordNet, $SAEVDB_WORDNET or ../shared)"
    )
    args, extra = parser.parse_known_args()
    data = str(wordnet_path()) if args.data is None else args.data
    summary = {k: run_one(data, args.out, args.hidden, k, args.value_dtype, extra) for k in args.ks}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"{'k':>4}{'bytes':>7}{'train s':>9}  sae recall@10 by mode | best baseline at equal bytes")
    for k, r in summary.items():
        rep = r["report"]
        modes = " ".join(f"{m}={v['recall_at_10']:.3f}" for m, v in rep["modes"].items())
        same = {n: b for n, b in rep["baselines"].items() if b["bytes_per_vector"] <= rep["bytes_per_vector"]}
        best = max(same.items(), key=lambda kv: kv[1]["recall_at_10"])
        print(
            f"{k:>4}{rep['bytes_per_vector']:>7}{r['train']['seconds']:>9.0f}  {modes} | "
            f"{best[0]}={best[1]['recall_at_10']:.3f} ({best[1]['bytes_per_vector']} B)"
        )
    try:
        plot(summary, args.out / "recall_vs_bytes.png")
    except ImportError:
        pass


if __name__ == "__main__":
    main()
