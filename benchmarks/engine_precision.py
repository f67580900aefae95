"""Does each engine return the exact sparse inner-product top-10, and what does its storage cost?

    .venv/bin/python benchmarks/engine_precision.py --model runs/wordnet/h4096_k32 [--data wordnet] [--n 10000]

Encodes `n` real vectors with the model and loads them into every engine of the registry, once per
storage precision it declares and per storage variant (e.g. what OpenSearch's `_source` keeps),
each a collection of its own in the engine's local engine; queries with `queries` other rows
(asymmetric non-negative weights, the default) and prints the overlap of each engine's top-10 with
the exact top-10 computed in numpy on the codes it was given, plus the engine's own size figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from saevdb.adapters import DEFAULT_ENGINES, ENGINES, ModelInfo, local_engine, upload
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model_files import load_model
from saevdb.sae_core.quantize import quantize_uint8, uint8_scale
from saevdb.sae_core.query import query_vectors
from saevdb.sae_core.search import exact_topk

SETTLE_ROWS = 1000


def overlap_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


def variants(name: str) -> list[dict]:
    """Every storage the engine declares: each precision, then each other variant at float32."""
    spec = ENGINES[name]
    return [{"datatype": p} for p in spec.precisions] + [dict(v) for v in spec.storage_variants]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default="wordnet")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backends", default=",".join(DEFAULT_ENGINES))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    model = load_model(args.model)
    vectors = load_embeddings(args.data)
    codes = encode(model, vectors[: args.n], show_progress_bar=False)
    codes.eliminate_zeros()
    queries = query_vectors(model, np.asarray(vectors[args.n : args.n + args.queries]), "asymmetric_nonneg")
    info = ModelInfo.of(model)
    exact, _ = exact_topk(queries, codes, 10)
    stored_as = {"uint8": quantize_uint8(codes, uint8_scale(codes))}
    report: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp).chmod(0o755)  # under root the OpenSearch node runs as `nobody`, who must reach its folder
        for name in args.backends.split(","):
            with local_engine(name, Path(tmp) / name) as engine:
                loaded = {}
                for i, options in enumerate(variants(name)):
                    stored = stored_as.get(options.get("datatype"), codes)
                    adapter = engine.sparse_adapter(info, f"items_{i}", **options)
                    adapter.recreate()
                    loaded[i] = (adapter, options, stored, upload(adapter, np.arange(args.n), stored, batch_size=1000))
                time.sleep(ENGINES[name].size_settle_s)
                for adapter, options, stored, up in loaded.values():
                    adapter.upsert(np.arange(args.n - SETTLE_ROWS, args.n), stored[args.n - SETTLE_ROWS :])
                    adapter.optimize()
                    start = time.perf_counter()
                    found, _ = adapter.search(queries, 10)
                    seconds = time.perf_counter() - start
                    label = f"{name} " + " ".join(f"{k}={v}" for k, v in options.items())
                    report[label] = row = {
                        "overlap_at_10_vs_stored": overlap_at_10(found, exact_topk(queries, stored, 10)[0]),
                        "overlap_at_10_vs_float32": overlap_at_10(found, exact),
                        "upload_vectors_per_s": round(up["points_per_s"]),
                        "search_qps": round(queries.shape[0] / seconds, 1),
                        "stats": adapter.stats(),
                    }
                    print(
                        f"{label:32s} vs stored {row['overlap_at_10_vs_stored']:.4f}"
                        f"  vs float32 {row['overlap_at_10_vs_float32']:.4f}  {row['search_qps']:8.1f} q/s"
                        f"  {row['stats']}",
                        flush=True,
                    )
                    adapter.close()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
