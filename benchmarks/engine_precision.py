"""Does each engine return the exact sparse inner-product top-10, and what does its storage cost?

    .venv/bin/python benchmarks/engine_precision.py --model runs/wordnet/h4096_k32 [--data wordnet] [--n 10000]

Encodes `n` real vectors with the model, loads them into every engine in each storage precision
(Qdrant Edge float32 / float16 / uint8, qdrant-client local mode, Milvus Lite 2.5, OpenSearch
rank_features with each `_source` mode), queries with `queries` other rows (asymmetric
non-negative weights, the default), and prints the overlap of each engine's top-10 with the exact
top-10 computed in numpy on the codes it was given, plus the engine's own size figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from saevdb.adapters import ModelInfo, adapter_class, upload
from saevdb.adapters.milvus_lite import MilvusLiteServer
from saevdb.adapters.opensearch_node import OpenSearchNode
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model_files import load_model
from saevdb.sae_core.quantize import quantize_uint8, uint8_scale
from saevdb.sae_core.query import query_vectors
from saevdb.sae_core.search import exact_topk

OPENSEARCH_LEASE_WAIT_S = 65


def overlap_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


def settle(adapter, codes) -> None:
    """Rewrite the last 1,000 codes and merge to one segment, which prunes the recovery source it may."""
    n = codes.shape[0]
    adapter.upsert(np.arange(n - 1000, n), codes[n - 1000 :])
    adapter.client.indices.flush(index=adapter.index)
    adapter.client.indices.forcemerge(index=adapter.index, max_num_segments=1)


def measure(name: str, adapter, stored, queries, exact, loaded: dict | None = None, after_load=None) -> dict:
    """Load `stored` codes (unless `loaded` says how that went), search, and compare with `exact`
    (the numpy top-10 on the unrounded codes)."""
    if loaded is None:
        adapter.recreate()
        loaded = upload(adapter, np.arange(stored.shape[0]), stored, batch_size=1000, show_progress_bar=False)
    if after_load is not None:
        after_load(adapter)
    start = time.perf_counter()
    found, _ = adapter.search(queries, 10)
    seconds = time.perf_counter() - start
    row = {
        "overlap_at_10_vs_stored": overlap_at_10(found, exact_topk(queries, stored, 10)[0]),
        "overlap_at_10_vs_float32": overlap_at_10(found, exact),
        "upload_vectors_per_s": round(loaded["points_per_s"]),
        "search_qps": round(queries.shape[0] / seconds, 1),
        "stats": adapter.stats(),
    }
    print(
        f"{name:30s} vs stored {row['overlap_at_10_vs_stored']:.4f}  vs float32 {row['overlap_at_10_vs_float32']:.4f}"
        f"  {row['search_qps']:8.1f} q/s  {row['stats']}",
        flush=True,
    )
    adapter.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default="wordnet")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    model = load_model(args.model)
    vectors = load_embeddings(args.data)
    codes = encode(model, vectors[: args.n], show_progress_bar=False)
    codes.eliminate_zeros()
    dense_queries = np.asarray(vectors[args.n : args.n + args.queries])
    queries = query_vectors(model, dense_queries, "asymmetric_nonneg", model.config.k)
    info = ModelInfo.of(model)
    exact, _ = exact_topk(queries, codes, 10)
    uint8_codes = quantize_uint8(codes, uint8_scale(codes))
    report: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        edge = adapter_class("qdrant-edge")
        for datatype in ("float32", "float16", "uint8"):
            stored = uint8_codes if datatype == "uint8" else codes
            adapter = edge(info, Path(tmp) / datatype, datatype=datatype)
            report[f"qdrant-edge {datatype}"] = measure(f"qdrant-edge {datatype}", adapter, stored, queries, exact)

        from qdrant_client import QdrantClient

        adapter = adapter_class("qdrant")(info, QdrantClient(":memory:"), "items")
        report["qdrant local"] = measure("qdrant local", adapter, codes, queries, exact)

        from pymilvus import MilvusClient

        with MilvusLiteServer(Path(tmp) / "milvus.db") as server:
            adapter = adapter_class("milvus")(info, MilvusClient(uri=server.uri), "items")
            report["milvus-lite"] = measure("milvus-lite", adapter, codes, queries, exact)

        from opensearchpy import OpenSearch

        Path(tmp).chmod(0o755)  # under root the node runs as `nobody`, who must reach its folder
        with OpenSearchNode(Path(tmp) / "opensearch") as node:
            indices = {
                source: adapter_class("opensearch")(info, OpenSearch(node.url), f"items_{source}", source=source)
                for source in ("compact", "none", "full")
            }
            loaded = {}
            for source, adapter in indices.items():
                adapter.recreate()
                ids = np.arange(codes.shape[0])
                loaded[source] = upload(adapter, ids, codes, batch_size=1000, show_progress_bar=False)
                adapter.client.indices.flush(index=adapter.index)
            # OpenSearch keeps each whole original document as _recovery_source until the shard's
            # retention lease (synced every 30 s) passes it and a merge prunes it: sizes read right
            # after loading are the same whatever _source keeps. Wait, rewrite a slice, merge.
            time.sleep(OPENSEARCH_LEASE_WAIT_S)
            for source, adapter in indices.items():
                name = f"opensearch source={source}"
                rewrite = lambda a: settle(a, codes)  # noqa: E731
                report[name] = measure(name, adapter, codes, queries, exact, loaded[source], rewrite)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
