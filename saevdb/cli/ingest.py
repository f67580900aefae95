"""`saevdb ingest`: a file of dense vectors encoded into an engine, resumably; optionally an alias switch."""

from __future__ import annotations

import argparse
import logging
from contextlib import ExitStack
from pathlib import Path

from saevdb.adapters import ENGINES, ModelInfo, adapter_class, local_engine
from saevdb.cli.common import add_output_options
from saevdb.ingest import IngestConfig, ingest
from saevdb.sae_core.model_files import load_model
from saevdb.sae_core.sources import check_readable

logger = logging.getLogger("saevdb")


def add_parser(sub) -> None:
    g = sub.add_parser("ingest", help="encode a file of dense vectors into an engine, resumably")
    g.add_argument("--model", type=Path, required=True)
    g.add_argument("--data", required=True, help="a .npy [n, d] or .parquet file (list-of-float column)")
    g.add_argument("--backend", required=True, choices=tuple(ENGINES))
    g.add_argument("--collection", required=True, help="collection / index name")
    g.add_argument("--url", default=None, help="a running engine or cluster (default: start the embedded one)")
    g.add_argument("--path", type=Path, default=None, help="embedded engine data folder (default saevdb-data/BACKEND)")
    g.add_argument("--checkpoint", type=Path, default=None, help="resume file (default beside the engine data)")
    g.add_argument("--restart", action="store_true", help="drop the collection and checkpoint, start over")
    g.add_argument("--batch-size", type=int, default=4096, help="rows per encode batch and per upsert")
    g.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 (falls back to CPU without a GPU)")
    g.add_argument("--skip-bad", action="store_true", help="skip rows with NaN / wrong dimension, log them")
    g.add_argument("--alias", default=None, help="then point this alias at the collection, atomically")
    g.add_argument("--drop-previous", action="store_true", help="with --alias: drop the collection it named before")
    g.add_argument(
        "--originals",
        action="store_true",
        help="also keep each dense vector (on disk) for two-stage search: `saevdb search --rescore`",
    )
    g.add_argument("--shards", type=int, default=None, metavar="N", help="shards of a new collection (a cluster's)")
    g.add_argument(
        "--replicas", type=int, default=None, metavar="N", help="copies of each shard beyond the first (a cluster's)"
    )
    g.add_argument("--column", default="embedding", help="Parquet: the vector column")
    g.add_argument("--id-column", default=None, help="Parquet: ids from this integer column")
    add_output_options(g)
    g.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict:
    model = load_model(args.model)
    info = ModelInfo.of(model)
    check_readable(args.data, info.d, args.column, args.id_column)  # before any engine or collection exists
    target = f"{args.backend}:{args.collection}" + (f"@{args.url}" if args.url else "")
    path = args.path or Path("saevdb-data") / args.backend
    checkpoint = args.checkpoint or (
        Path(".saevdb") / f"ingest-{args.backend}-{args.collection}.json"
        if args.url
        else path / f"{args.collection}.ingest.json"
    )
    if args.restart:
        checkpoint.unlink(missing_ok=True)
    config = IngestConfig(
        batch_size=args.batch_size,
        device=args.device,
        skip_bad=args.skip_bad,
        column=args.column,
        id_column=args.id_column,
        originals=args.originals,
    )
    options = {"originals": True} if args.originals else {}
    for name in ("shards", "replicas"):
        value = getattr(args, name)
        if value is not None and value < (1 if name == "shards" else 0):
            raise ValueError(f"--{name} {value}: at least {1 if name == 'shards' else 0}")
        if value is not None and not args.url:
            raise ValueError(f"--{name} is for a cluster: give its --url (the embedded engine is one node)")
        if value is not None:
            options[name] = value
    with ExitStack() as stack:
        engine = None if args.url else stack.enter_context(local_engine(args.backend, path))

        def open_collection(name: str):
            if engine is None:
                return adapter_class(args.backend).from_url(info, args.url, name, **options)
            return engine.sparse_adapter(info, name, **options)

        adapter = open_collection(args.collection)
        if args.restart:
            adapter.drop()
        summary = ingest(adapter, model, args.data, checkpoint, target, config, show_progress_bar=not args.quiet)
        summary.update(
            checkpoint=str(checkpoint),
            engine={**adapter.stats(), "engine_rss_bytes": engine.rss_bytes() if engine else None},
        )
        if args.alias:
            previous = adapter.point_alias(args.alias)
            summary["alias"] = {"name": args.alias, "now": args.collection, "before": previous}
            if previous and previous != args.collection and args.drop_previous:
                open_collection(previous).drop()
                summary["alias"]["dropped"] = previous
            logger.info("alias %s → %s (was %s)", args.alias, args.collection, previous)
    print(
        f"{summary['rows_written']:,} vectors in {target} ({summary['rows_skipped']} skipped)"
        f" in {summary['seconds']:.1f} s,"
        f" {summary['vectors_per_s']:,.0f} vectors/s (encode {summary['encode_seconds']:.1f} s, upload"
        f" {summary['upload_seconds']:.1f} s); peak RSS of this process {summary['peak_rss_bytes'] / 2**20:,.0f} MiB"
    )
    return summary
