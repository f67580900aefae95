"""`saevdb` command line: train, refine, encode, eval, compare, ingest. Each prints a short summary and, with
`--json PATH`, writes the full result as JSON."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np

from sae_core.config import SUPPORTS, SAEConfig
from sae_core.data import BUILTIN, load_embeddings, wordnet_path
from sae_core.dictionary import refine_decoder
from sae_core.evaluate import QUERY_MODES, EvalConfig, evaluate
from sae_core.model_files import fingerprint, load_model, load_training_record, save_model
from sae_core.report import format_report
from sae_core.train import TrainConfig, build_and_fit

logger = logging.getLogger("saevdb")

SUPPORT_HELP = (
    "how codes choose their k latents: topk (the encoder, one matmul) or pursuit (matching pursuit"
    " with the decoder: +0.07 recall@10 on WordNet at the same bytes, encoding ~6.5x slower)"
)
PURSUIT_STEPS_HELP = (
    "decoder products per pursuit code, each adding ceil(k/steps) latents: encoding time grows with"
    " it; more steps give closer codes where each would add many latents (h=16384 k=42: 21 over 8)"
)


def _data_id(source: str) -> str:
    """How a data source is recorded, so eval can tell whether it is the training data. The built-in
    WordNet set is a file: its name and its path are the same data."""
    if source == "wordnet":
        try:
            return str(wordnet_path().resolve())
        except FileNotFoundError:
            return source
    return source if source in BUILTIN else str(Path(source).resolve())


def _split(n: int, holdout: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(held-out rows, training rows), both sorted; the held-out ones are eval's queries."""
    if not 0 <= holdout < n - 1:
        raise ValueError(f"--holdout {holdout} must leave at least 2 of the {n} rows for training")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[:holdout]), np.sort(perm[holdout:])


def cmd_train(args: argparse.Namespace) -> dict:
    x = load_embeddings(args.data)
    sae = SAEConfig(
        d=int(x.shape[1]),
        h=args.hidden,
        k=args.k,
        signed=args.signed,
        refit=not args.no_refit,
        support=args.support,
        pursuit_steps=args.pursuit_steps,
    )
    defaults = TrainConfig()
    train = TrainConfig(
        **{
            f.name: getattr(args, f.name) if getattr(args, f.name, None) is not None else getattr(defaults, f.name)
            for f in fields(TrainConfig)
        }
    )
    held_out, rows = _split(x.shape[0], args.holdout, train.seed)
    if args.train_rows is not None:
        if not 2 <= args.train_rows <= rows.size:
            raise ValueError(f"--train-rows {args.train_rows} must be in 2..{rows.size} (rows not held out)")
        rows = _sample(rows, args.train_rows, train.seed)
    start = time.perf_counter()
    model, result = build_and_fit(x, sae, train, checkpoint_dir=args.out, rows=rows, show_progress_bar=not args.quiet)
    seconds = time.perf_counter() - start
    record = {
        "data": _data_id(args.data),
        "rows": int(x.shape[0]),
        "held_out_rows": held_out.tolist(),
        "trained_rows": int(rows.size),
        "train": asdict(train),
        "result": result.to_dict(),
        "seconds": seconds,
    }
    fp = save_model(model, args.out, training=record)
    summary = {
        "model": str(args.out),
        "fingerprint": fp,
        "config": asdict(sae),
        "seconds": round(seconds, 1),
        "trained_rows": int(rows.size),
        "held_out_rows": int(held_out.size),
        **result.to_dict(),
    }
    print(
        f"trained {sae} on {rows.size} rows in {seconds:.0f} s; dead latents {result.dead_fraction:.1%};"
        f" fingerprint {fp[:16]}; saved to {args.out}"
    )
    return summary


def _sample(rows: np.ndarray, count: int, seed: int) -> np.ndarray:
    """The seeded sample of `count` rows that `train --train-rows` trains on (all when count covers them)."""
    return rows if count >= rows.size else np.sort(np.random.default_rng(seed).choice(rows, count, replace=False))


def _same_data(record: dict | None, data: str, n: int) -> bool:
    """Whether a model's training record says it was trained on this data."""
    return bool(record) and "data" in record and _data_id(record["data"]) == _data_id(data) and record["rows"] == n


def cmd_refine(args: argparse.Namespace) -> dict:
    """More closed-form decoder rounds for a trained pursuit model, saved as a new model folder: on the
    rows it was trained on when this is its data (held-out rows stay held out; a record older than
    `trained_rows` gives every other row), else on every row."""
    model = load_model(args.model)
    source = fingerprint(model)
    if args.pursuit_steps is not None:
        model.config = replace(model.config, pursuit_steps=args.pursuit_steps)
    if args.rounds < 1:
        raise ValueError(f"--rounds {args.rounds} must be at least 1")
    x = load_embeddings(args.data)
    record = load_training_record(args.model)
    rows = np.arange(x.shape[0])
    if _same_data(record, args.data, x.shape[0]):
        rows = np.setdiff1d(rows, record["held_out_rows"])
        rows = _sample(rows, record.get("trained_rows", rows.size), record["train"]["seed"])
    start = time.perf_counter()
    cosines = refine_decoder(model, x, rows, args.rounds, show_progress_bar=not args.quiet)
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


def cmd_encode(args: argparse.Namespace) -> dict:
    import scipy.sparse as sp

    from sae_core.encode import encode

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


def _queries(args: argparse.Namespace, n: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Held-out rows when the model was trained on this data, else a seeded sample of rows."""
    record = load_training_record(args.model)
    if _same_data(record, args.data, n):
        held = np.asarray(record["held_out_rows"], dtype=np.int64)
        if args.queries > held.size:
            raise ValueError(
                f"--queries {args.queries}: the model held out only {held.size} rows of this data;"
                " retrain with a larger --holdout"
            )
        train_rows = np.setdiff1d(np.arange(n), held)
        return held[: args.queries], train_rows, "rows held out from the model's training"
    if args.queries >= n:
        raise ValueError(f"--queries {args.queries} must be below the {n} rows of the data")
    perm = np.random.default_rng(args.seed).permutation(n)
    return (
        np.sort(perm[: args.queries]),
        np.sort(perm[args.queries :]),
        "sampled rows (the model was not trained on this data, or has no training record)",
    )


def cmd_eval(args: argparse.Namespace) -> dict:
    model = load_model(args.model)
    overrides = {"support": args.support, "pursuit_steps": args.pursuit_steps}
    # Measure another rule on the same weights; nothing is saved.
    model.config = replace(model.config, **{name: value for name, value in overrides.items() if value is not None})
    x = load_embeddings(args.data)
    queries, train_rows, source = _queries(args, x.shape[0])
    config = EvalConfig(
        query_mode=args.query_mode,
        query_k=args.query_k,
        rerank=args.rerank,
        value_dtype=args.value_dtype,
        baselines=tuple(args.baselines) if args.baselines is not None else EvalConfig().baselines,
    )
    report = evaluate(model, x, queries, train_rows, config)
    report.update({"data": args.data, "query_source": source, "fingerprint": fingerprint(model)})
    print(format_report(report))
    return report


def cmd_compare(args: argparse.Namespace) -> dict:
    from adapters.compare import CompareConfig, compare, format_compare, plot_compare

    x = load_embeddings(args.data)
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    if args.queries < 1 or args.queries >= x.shape[0]:
        raise ValueError(f"--queries {args.queries} must be in 1..{x.shape[0] - 1}")
    available = x.shape[0] - args.queries
    n = available if args.n is None else args.n
    if not 1 <= n <= available:
        raise ValueError(f"--n {n}: the data has {x.shape[0]} rows, {available} left after the queries")
    perm = np.random.default_rng(args.seed).permutation(x.shape[0])
    queries = np.asarray(x[np.sort(perm[: args.queries])], dtype=np.float32)
    database = np.asarray(x[np.sort(perm[args.queries : args.queries + n])], dtype=np.float32)
    if args.model is not None:
        model = load_model(args.model)
        if model.config.d != x.shape[1]:
            raise ValueError(f"the model expects d={model.config.d}, the data has d={x.shape[1]}")
    else:
        sae = SAEConfig(d=int(x.shape[1]), h=args.hidden, k=args.k)
        train = TrainConfig(epochs=args.epochs) if args.epochs else TrainConfig()
        logger.info("no --model: training %s on the %d database rows (queries held out)", sae, n)
        model, _ = build_and_fit(database, sae, train, show_progress_bar=not args.quiet)
    config = CompareConfig(backends=backends, rerank=args.rerank, query_k=args.query_k, clients=args.clients)
    report = compare(model, database, queries, config, show_progress_bar=not args.quiet)
    report.update(data=args.data, fingerprint=fingerprint(model))
    print(format_compare(report))
    if args.plot:
        plot_compare(report, args.plot)
        print(f"plot written to {args.plot}")
    return report


def cmd_ingest(args: argparse.Namespace) -> dict:
    from contextlib import ExitStack

    from adapters import ModelInfo, adapter_class, local_engine
    from adapters.ingest import IngestConfig, ingest

    model = load_model(args.model)
    info = ModelInfo.of(model)
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
    )
    with ExitStack() as stack:
        if args.url:
            adapter = adapter_class(args.backend).from_url(info, args.url, args.collection)
        else:
            engine = stack.enter_context(local_engine(args.backend, path))
            adapter = engine.sparse_adapter(info, args.collection)
        if args.restart:
            adapter.drop()
        summary = ingest(adapter, model, args.data, checkpoint, target, config, show_progress_bar=not args.quiet)
        summary.update(checkpoint=str(checkpoint), engine=adapter.stats())
        if args.alias:
            previous = adapter.point_alias(args.alias)
            summary["alias"] = {"name": args.alias, "now": args.collection, "before": previous}
            if previous and previous != args.collection and args.drop_previous:
                old = (
                    adapter_class(args.backend).from_url(info, args.url, previous)
                    if args.url
                    else engine.sparse_adapter(info, previous)
                )
                old.drop()
                summary["alias"]["dropped"] = previous
            logger.info("alias %s → %s (was %s)", args.alias, args.collection, previous)
    print(
        f"{summary['rows_written']:,} vectors in {target} ({summary['rows_skipped']} skipped)"
        f" in {summary['seconds']:.1f} s,"
        f" {summary['vectors_per_s']:,.0f} vectors/s (encode {summary['encode_seconds']:.1f} s, upload"
        f" {summary['upload_seconds']:.1f} s); peak RSS of this process {summary['peak_rss_bytes'] / 2**20:,.0f} MiB"
    )
    return summary


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", type=Path, help="write the result as JSON to this path")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saevdb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    data_help = f"a .npy file [n, d], or a built-in set: {', '.join(BUILTIN)}"

    t = sub.add_parser("train", help="train a TopK sparse autoencoder on dense embeddings")
    t.add_argument("--data", required=True, help=data_help)
    t.add_argument(
        "--hidden",
        type=int,
        default=4096,
        help="latent width h; up to 65536 costs no more bytes per code (uint16 indices). On 100k+ rows"
        " 16384 with --epochs 12 gives more recall in the same training time, encoding 2.7x slower",
    )
    t.add_argument("--k", type=int, default=32, help="non-zeros per code")
    t.add_argument("--signed", action="store_true", help="signed codes (Qdrant only); default non-negative")
    t.add_argument(
        "--no-refit",
        action="store_true",
        help="keep the encoder's own values instead of least squares: encodes 1.2x faster, lower recall",
    )
    t.add_argument("--support", choices=SUPPORTS, default="topk", help=SUPPORT_HELP)
    t.add_argument("--pursuit-steps", type=int, default=SAEConfig.pursuit_steps, help=PURSUIT_STEPS_HELP)
    t.add_argument("--out", type=Path, required=True, help="model folder (resumes from its checkpoint)")
    t.add_argument("--holdout", type=int, default=1000, help="rows kept out of training for eval's queries")
    t.add_argument("--train-rows", type=int, default=None, help="train on a seeded sample of this many other rows")
    for f in fields(TrainConfig):
        t.add_argument(
            f"--{f.name.replace('_', '-')}",
            dest=f.name,
            type=type(f.default),
            default=None,
            help=f"default {f.default}",
        )
    _add_json(t)
    t.set_defaults(func=cmd_train)

    r = sub.add_parser("refine", help="more closed-form decoder rounds for a trained pursuit model")
    r.add_argument("--model", type=Path, required=True, help="a model folder trained with --support pursuit")
    r.add_argument("--data", required=True, help=data_help)
    r.add_argument("--rounds", type=int, required=True, help="decoder rounds, each one pursuit pass over the rows")
    r.add_argument("--pursuit-steps", type=int, default=None, help="change the model's: " + PURSUIT_STEPS_HELP)
    r.add_argument("--out", type=Path, required=True, help="new model folder (its fingerprint differs)")
    _add_json(r)
    r.set_defaults(func=cmd_refine)

    e = sub.add_parser("encode", help="encode dense embeddings to k-sparse codes (scipy CSR .npz)")
    e.add_argument("--model", type=Path, required=True)
    e.add_argument("--data", required=True, help=data_help)
    e.add_argument("--out", type=Path, required=True, help="output .npz (scipy.sparse.save_npz)")
    e.add_argument("--batch-size", type=int, default=4096)
    e.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ...")
    e.add_argument("--k", type=int, default=None, help="non-zeros per row (default: the model's k)")
    e.add_argument("--value-dtype", choices=("float32", "float16"), default="float32")
    _add_json(e)
    e.set_defaults(func=cmd_encode)

    v = sub.add_parser("eval", help="recall of codes vs exact dense search, and baselines at equal bytes")
    v.add_argument("--model", type=Path, required=True)
    v.add_argument("--data", required=True, help=data_help)
    v.add_argument("--queries", type=int, default=1000)
    v.add_argument(
        "--query-mode",
        choices=QUERY_MODES,
        default=EvalConfig.query_mode,
        help="which mode's figures are the headline keys (all are reported)",
    )
    v.add_argument("--support", choices=SUPPORTS, default=None, help="override the model's rule: " + SUPPORT_HELP)
    v.add_argument("--pursuit-steps", type=int, default=None, help="override the model's: " + PURSUIT_STEPS_HELP)
    v.add_argument("--query-k", type=int, default=None, help="non-zeros per query (default: 4 x the model's k)")
    v.add_argument("--rerank", type=int, default=100, help="re-rank this many candidates by cosine to x̂ (0: off)")
    v.add_argument(
        "--value-dtype",
        choices=("float32", "float16", "uint8"),
        default="float16",
        help="how the engine stores values; uint8 = one global scale, as Qdrant's uint8 storage",
    )
    v.add_argument("--baselines", nargs="*", default=None, help="subset of baselines to run")
    v.add_argument("--seed", type=int, default=0, help="query sample seed when no rows were held out")
    _add_json(v)
    v.set_defaults(func=cmd_eval)

    c = sub.add_parser("compare", help="every backend side by side: recall, RAM, speed, vs its own dense index")
    c.add_argument("--data", default="movielens", help=data_help)
    c.add_argument("--n", type=int, default=None, help="database vectors (default: all rows not used as queries)")
    c.add_argument("--queries", type=int, default=1000, help="query rows, held out of the database")
    c.add_argument("--backends", default="qdrant,milvus,opensearch", help="comma-separated")
    c.add_argument("--model", type=Path, default=None, help="a trained model folder (default: train one now)")
    c.add_argument("--hidden", type=int, default=4096, help="latent width when training")
    c.add_argument("--k", type=int, default=32, help="non-zeros per code when training")
    c.add_argument("--epochs", type=int, default=None, help=f"when training (default {TrainConfig.epochs})")
    c.add_argument("--rerank", type=int, default=100, help="candidates re-ranked by q̄·x̂/|x̂| in sparse+rerank mode")
    c.add_argument("--query-k", type=int, default=None, help="non-zeros per query (default: 4 x the model's k)")
    c.add_argument("--clients", type=int, default=4, help="concurrent clients for the second QPS figure")
    c.add_argument("--seed", type=int, default=0, help="query / database sample seed")
    c.add_argument("--plot", type=Path, default=None, help="write recall vs RAM per vector as PNG")
    _add_json(c)
    c.set_defaults(func=cmd_compare)

    g = sub.add_parser("ingest", help="encode a file of dense vectors into an engine, resumably")
    g.add_argument("--model", type=Path, required=True)
    g.add_argument("--data", required=True, help="a .npy [n, d] or .parquet file (list-of-float column)")
    g.add_argument("--backend", required=True, choices=("qdrant", "milvus", "opensearch"))
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
    g.add_argument("--column", default="embedding", help="Parquet: the vector column")
    g.add_argument("--id-column", default=None, help="Parquet: ids from this integer column")
    _add_json(g)
    g.set_defaults(func=cmd_ingest)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Our progress at INFO; the engine clients' per-request INFO lines stay quiet.
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for name in ("saevdb", "sae_core", "adapters"):
        logging.getLogger(name).setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        result = args.func(args)
    except (ValueError, FileNotFoundError, RuntimeError) as e:  # input, or an engine that refused: say it plainly
        print(f"saevdb {args.command}: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
