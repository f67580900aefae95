"""Serving under a memory cap: each option's engine in a memory cgroup, its files evicted first,
the cap swept down to the OOM kill (`saevdb.compare.capped`).

    .venv/bin/python benchmarks/memory_cap.py --model runs/memcap/h4096_k8 --n 250000 \\
        --json benchmarks/results/memory_cap_wordnet_250k.json --plot benchmarks/results/memory_cap_wordnet_250k.png

Database (`--data tiled-wordnet`): the first n rows of the tiled WordNet set of `ingest_million.py`
(noisy copies of WordNet rows: every row has near-copies, which inflates recall); queries: WordNet
rows with fresh noise, as in `query_cost.py`. Another set (`--data glove`, a .npy): seeded rows held
out as queries, the first n others as database; with `--tile`, n noisy copies of the others (as the
tiled WordNet set, but no query has a copy in the database). Options: each model's codes with the
originals on disk in the same Qdrant Edge shard (two-stage search; not with `--flat-only`), the same
codes with the originals in a flat file beside the shard (`--originals-file`, read by the engine's
process for the second stage; `--index-on-disk`: also with the codes' index memory-mapped), and the
built-ins named by `--methods` (`--cold-bookkeeping`: every build's id tracker and payloads cold),
only the settings `--settings` names (substrings of the labels). Each build is made once in its own
folder under `--folder` and served by a fresh engine per cap. Per option the first run has no cap
(the cgroup still counts what the engine charged); then the cap, counted as the whole engine
(`empty` + what the cgroup may charge), falls as `FRACTIONS` of that first run's peak until every
setting fails, and is bisected `--bisect` times between the lowest that served and the highest that did not.

The device's random 4 KiB read rate is measured in the same run (`disk_rate.py`), 1 and 4 readers.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from disk_rate import random_read_rate  # noqa: E402
from ingest_million import tiled_input  # noqa: E402

from saevdb.compare.build import build_collection  # noqa: E402
from saevdb.compare.capped import MB, check_caps, empty_engine_bytes, serve_capped  # noqa: E402
from saevdb.compare.plan import Build, built_in_builds, saevdb_builds  # noqa: E402
from saevdb.compare.run import uint8_value_scale  # noqa: E402
from saevdb.compare.truth import Truth  # noqa: E402
from saevdb.sae_core.data import load_embeddings, load_wordnet  # noqa: E402
from saevdb.sae_core.model_files import load_model  # noqa: E402

BACKEND = "qdrant"
FRACTIONS = (0.8, 0.65, 0.5, 0.4, 0.32, 0.25, 0.2, 0.16, 0.125, 0.1, 0.08, 0.06, 0.045, 0.035)


def slug(method: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", method.lower()).strip("_")


def option_builds(args, database: np.ndarray) -> list[Build]:
    """The two-stage build of each model (codes at `--precision`; uint8 at the one scale `compare`
    fits on `database`'s first rows) and the built-ins, with only the settings `--settings` names."""
    builds = []
    query_ks = tuple(None if q == "full" else int(q) for q in args.query_k.split(","))
    depths = tuple(int(x) for x in args.depths.split(","))
    for path in args.model:
        model = load_model(path)
        scale = uint8_value_scale(model, database) if args.precision == "uint8" else None
        (two_stage,) = [
            b for b in saevdb_builds(model, query_ks, 0, depths, args.precision, scale) if b.options.get("originals")
        ]
        builds += [] if args.flat_only else [two_stage]
        for dtype in filter(None, args.originals_file.split(",")):
            options = {**two_stage.options, "originals_file": dtype}
            builds.append(replace(two_stage, method=f"{two_stage.method} (flat file, {dtype})", options=options))
            if args.index_on_disk:
                method = f"{two_stage.method} (flat file, {dtype}; index on disk)"
                builds.append(replace(two_stage, method=method, options={**options, "on_disk": True}))
    builds += built_in_builds(BACKEND, tuple(m.strip() for m in args.methods.split(";")))
    if args.cold_bookkeeping:  # every option alike: the built-ins carry the same id tracker
        cold = {"id_tracker_memory": "cold", "payload_memory": "cold"}
        builds = [replace(b, options={**b.options, **cold}) for b in builds]
    wanted = [s.strip() for s in args.settings.split(";")]
    kept = []
    for build in builds:
        settings = tuple(s for s in build.settings if any(w in s.label for w in wanted))
        if settings:
            kept.append(replace(build, settings=settings))
    return kept


def data(args) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(database [n, d], queries [q, d], training rows [m, d]) float32: what `--train` fits on is the
    database, or with `--tile` the rows it copies (never a query). The tiled WordNet set: its first n rows, and WordNet
    rows with fresh noise as queries. Another set (built-in name or .npy): `--queries` seeded rows
    held out as queries, the first n of the others as database."""
    if args.data == "tiled-wordnet":
        if not args.input.is_file():
            args.input.parent.mkdir(parents=True, exist_ok=True)
            tiled_input(args.input, max(args.n, 1_000_000))
        database = np.asarray(np.load(args.input, mmap_mode="r")[: args.n], dtype=np.float32)
        source = np.asarray(load_wordnet(), dtype=np.float32)
        rng = np.random.default_rng(1)
        picks = rng.choice(len(source), args.queries, replace=False)
        queries = source[picks] + rng.normal(0, 0.01, (args.queries, source.shape[1])).astype(np.float32)
        return database, queries, database
    x = load_embeddings(args.data)
    held = np.zeros(len(x), dtype=bool)
    held[np.random.default_rng(1).choice(len(x), args.queries, replace=False)] = True
    queries = np.asarray(x[np.flatnonzero(held)], dtype=np.float32)
    if not args.tile:
        database = np.asarray(x[np.flatnonzero(~held)[: args.n]], dtype=np.float32)
        return database, queries, database
    rest = np.asarray(x[np.flatnonzero(~held)], dtype=np.float32)
    path = args.folder / f"{Path(args.data).stem}_tiled_{args.n}.npy"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tiled_input(path, args.n, source=rest)
    return np.asarray(np.load(path, mmap_mode="r"), dtype=np.float32), queries, rest


def train_models(args, rows: np.ndarray) -> None:
    """`--train H,K` (repeatable): a model of that shape fitted on `rows` (`TrainConfig` defaults, as
    `compare` trains), saved once under `--folder/models/` and added to `--model`."""
    from saevdb.sae_core.config import SAEConfig
    from saevdb.sae_core.model_files import save_model
    from saevdb.sae_core.train import TrainConfig, build_and_fit

    for shape in args.train:
        h, k = (int(part) for part in shape.split(","))
        path = args.folder / "models" / f"{Path(args.data).stem}_h{h}_k{k}"
        if not path.is_dir():
            logging.info("training h=%d k=%d on %d rows", h, k, len(rows))
            model, _ = build_and_fit(rows, SAEConfig(d=rows.shape[1], h=h, k=k), TrainConfig())
            save_model(model, path)
        args.model.append(path)


def sweep(build: Build, folder: Path, d: int, empty: int, queries, truth, args, log: list[dict], save) -> None:
    """Uncapped, then falling caps to the first at which every setting fails, then bisection;
    `save()` after each cap."""

    def serve(cap: int | None) -> bool:
        done = [r for r in log if r["method"] == build.method and r["cap_bytes"] == cap]
        rows = done or serve_capped(
            BACKEND,
            build,
            folder,
            d,
            cap,
            empty,
            queries,
            truth,
            args.clients,
            deadline_s=args.deadline,
            trim=args.trim,
        )
        for row in rows if not done else ():
            row.update(n=args.n, method=build.method)
            log.append(row)
            logging.info(
                "  cap %s %-28s %s",
                "none" if cap is None else f"{cap / MB:.0f} MB",
                row["setting"],
                f"recall {row['recall_at_10']:.3f} QPS {row['qps']:.0f} / {row[f'qps_{args.clients}_clients']:.0f}"
                f" read {row['read_bytes_per_query'] / 1024:.0f} KiB/q"
                if row["status"] == "ok"
                else row["reason"],
            )
        save()
        return any(r["status"] == "ok" for r in rows)

    serve(None)
    first = next((r for r in log if r["method"] == build.method and r["cap_bytes"] is None and r.get("cgroup")), None)
    if first is None:
        return  # nothing was measured uncapped (every setting too slow): no peak to cap from
    peak = first["cgroup"].get("peak_bytes") or first["cgroup"]["usage_bytes"]
    served, failed = None, None
    for fraction in FRACTIONS:
        cap = empty + int(peak * fraction)
        if serve(cap):
            served = cap
        else:
            failed = cap
            break
    for _ in range(args.bisect if served and failed else 0):
        middle = (served + failed) // 2
        if serve(middle):
            served = middle
        else:
            failed = middle


def arguments(description: str) -> argparse.ArgumentParser:
    """The options of a run over `option_builds`' builds of one data set (also `query_path.py`'s)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", type=Path, action="append", default=[], help="a codes model (repeatable)")
    parser.add_argument("--train", action="append", default=[], help="H,K: also a model of that shape, fitted")
    parser.add_argument("--data", default="tiled-wordnet", help="tiled-wordnet, a built-in set or a .npy")
    parser.add_argument("--n", type=int, default=250_000)
    parser.add_argument("--tile", action="store_true", help="with --data SET: n noisy copies of its rows")
    parser.add_argument("--input", type=Path, default=Path("runs/wordnet_tiled_1m.npy"))
    parser.add_argument("--folder", type=Path, default=Path("runs/memcap"))
    parser.add_argument("--methods", default="binary 1-bit, 8-bit query;TurboQuant 2-bit;scalar int8")
    parser.add_argument("--settings", default="two-stage;oversampling 2, rescore;oversampling 4, rescore")
    parser.add_argument("--precision", default="float16")
    parser.add_argument("--index-on-disk", action="store_true", help="also each flat-file build with on_disk=True")
    parser.add_argument("--flat-only", action="store_true", help="no build with the originals in the shard")
    parser.add_argument("--originals-file", default="float16,float32", help="also a flat originals file, dtypes")
    parser.add_argument(
        "--cold-bookkeeping",
        action="store_true",
        help="every build keeps its id tracker and payloads memory-mapped (Memory.Cold) instead of on the heap",
    )
    parser.add_argument("--depths", default="100")
    parser.add_argument("--query-k", default="128")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--bisect", type=int, default=2)
    parser.add_argument("--trim", action="store_true", help="the engine returns its freed heap once loaded")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds one cap's load and queries may take")
    parser.add_argument("--caps", default=None, help="fixed total caps in MB, comma-separated, instead of the sweep")
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--plot", type=Path, default=None)
    return parser


def main() -> None:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    report = json.loads(args.json.read_text()) if args.json.is_file() else {"rows": [], "builds": {}}
    # A resumed run keeps the empty figure its caps were counted from, so its finished caps match.
    empty = report.get("empty_engine_bytes") or empty_engine_bytes(BACKEND, args.folder / "empty")
    caps = None if args.caps is None else [int(float(c) * MB) for c in args.caps.split(",")]
    if caps:
        check_caps(caps, empty, BACKEND)
    database, queries, rows = data(args)
    train_models(args, rows)
    builds = option_builds(args, database)
    truth = Truth.of(queries, database)
    report.update(
        data=args.data,
        n=len(database),
        queries=args.queries,
        empty_engine_bytes=empty,
        cold_bookkeeping=args.cold_bookkeeping,
        tiled=args.tile,
    )
    if not report.get("disk") and args.input.is_file():  # the tiled input: a large file on the data's disk
        report["disk"] = [random_read_rate(args.input, 3.0, threads) for threads in (1, 4)]
    for build in builds:
        folder = args.folder / f"{Path(args.data).stem}_{args.n}" / slug(build.method)
        if build.method not in report["builds"]:
            logging.info("building %s at n=%d", build.method, args.n)
            ingest_s, optimize_s = build_collection(BACKEND, build, database, folder, 1000, False)
            report["builds"][build.method] = {"folder": str(folder), "ingest_s": ingest_s, "optimize_s": optimize_s}
            args.json.write_text(json.dumps(report, indent=1))
        logging.info("serving %s", build.method)
        save = lambda: args.json.write_text(json.dumps(report, indent=1))  # noqa: E731
        if caps:
            for cap in caps:
                if any(r["method"] == build.method and r["cap_bytes"] == cap for r in report["rows"]):
                    continue
                rows = serve_capped(
                    BACKEND,
                    build,
                    folder,
                    database.shape[1],
                    cap,
                    empty,
                    queries,
                    truth,
                    args.clients,
                    deadline_s=args.deadline,
                    trim=args.trim,
                )
                report["rows"] += [{**r, "n": args.n, "method": build.method} for r in rows]
                save()
        else:
            sweep(build, folder, database.shape[1], empty, queries, truth, args, report["rows"], save)
        args.json.write_text(json.dumps(report, indent=1))
    if args.plot:
        plot(report, args.plot, args.clients)


def _short(method: str, setting: str) -> str:
    method = method.replace("saevdb codes ", "codes ").replace(" float16 + originals on disk", "")
    return f"{method}, {setting}".replace(" (flat file, ", " (file ").replace(", rescore", "")


def plot(report: dict, path: Path, clients: int) -> None:
    """QPS against the cap above the empty engine, one line per option and setting: one client on the
    left, `clients` on the right (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines: dict[tuple[str, str], list] = {}
    for row in report["rows"]:
        if row["status"] == "ok" and row["cap_bytes"] is not None:
            lines.setdefault((row["method"], row["setting"]), []).append(row)
    colours = plt.get_cmap("tab20").colors
    fig, axes = plt.subplots(1, 2, figsize=(13, 6), sharey=True)
    for colour, ((method, setting), rows) in zip(colours, sorted(lines.items()), strict=False):
        rows.sort(key=lambda r: r["cap_bytes"])
        caps = [r["cap_above_empty_bytes"] / MB for r in rows]
        for ax, key in zip(axes, ("qps", f"qps_{clients}_clients"), strict=True):
            ax.plot(caps, [r[key] for r in rows], marker="o", markersize=3, color=colour, label=_short(method, setting))
    for ax, who in zip(axes, ("1 client", f"{clients} clients"), strict=True):
        ax.set_xlabel("memory cap above the empty engine (MB)")
        ax.set_title(who)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("QPS")
    fig.suptitle(f"Qdrant Edge under a memory cap: {report['n']:,} rows of {report['data']}; left of a line, OOM kill")
    axes[1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
