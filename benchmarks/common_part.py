"""What a loaded Qdrant Edge shard of few-entry codes holds in memory, part by part, and what the
engine's memory placements change: the part the codes share with every other option.

    .venv/bin/python benchmarks/common_part.py --model runs/os23/models/h4096_k8 [--rows 1000000] --json OUT

Built once with the adapter (`QdrantEdgeAdapter`, float16 values, the originals elsewhere, as the
memory mode keeps them): a shard of the tiled input's first `rows` rows and an empty one, each
optimized and closed. Each placement is then loaded by a fresh spawned process (the interpreter,
numpy, psutil and the engine library only) with `EdgeShard.load(path, config)`; it reads its own
mappings (`adapters/memory.read_memory`) before the load, once loaded, after `malloc_trim(0)` (glibc
keeps the heap the WAL replay freed) and after `QUERIES` first-stage queries (k_q 128, top 100):
anonymous bytes, and the resident pages of every shard file by its path (segment ids folded). The
shard's files on disk are listed beside. Per vector = (shard − empty shard) / rows.

Placements (`EdgeConfig`): as built; the id tracker `Memory.Cold`; payloads `Memory.Cold`; both; and
the sparse index `Memory.Cold` as well (the index memory-mapped, read on demand) — given at load; and
a third shard built with the last of them from the start ("codes built cold"), loaded with it.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing as mp
import re
import shutil
import time
from pathlib import Path

import numpy as np

QUERIES, QUERY_K, DEPTH, BATCH = 200, 128, 100, 10_000
PLACEMENTS = {
    "as built": {},
    "id tracker cold": {"id_tracker_memory": "Cold"},
    "payload cold": {"payload_memory": "Cold"},
    "id tracker + payload cold": {"id_tracker_memory": "Cold", "payload_memory": "Cold"},
    "id tracker + payload + sparse index cold": {
        "id_tracker_memory": "Cold",
        "payload_memory": "Cold",
        "sparse": "Cold",
    },
}


def _config(edge, placement: dict):
    """The build's config (see `QdrantEdgeAdapter._config`) with `placement`'s memory settings."""
    from saevdb.adapters.qdrant.constants import SPARSE_INDEXING_THRESHOLD_KB, VECTOR_NAME

    sparse = {"memory": getattr(edge.Memory, placement["sparse"])} if "sparse" in placement else {}
    params = edge.EdgeSparseVectorParams(datatype=edge.VectorStorageDatatype.Float16, **sparse)
    others = {key: getattr(edge.Memory, value) for key, value in placement.items() if key != "sparse"}
    optimizers = edge.EdgeOptimizersConfig(indexing_threshold=SPARSE_INDEXING_THRESHOLD_KB)
    return edge.EdgeConfig(sparse_vectors={VECTOR_NAME: params}, optimizers=optimizers, **others)


def _part(path: Path, shard: Path) -> str:
    """A shard file's name with segment ids folded: `segments/*/sparse_vector_index-sae/…`."""
    relative = str(path.resolve().relative_to(shard.resolve()))
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "*", relative)


def _reading(shard: Path) -> dict:
    """This process's anonymous bytes and each shard file's resident pages, from one pass over its
    mappings (as `adapters/memory.read_memory` reads them, but per file rather than per role)."""
    import psutil

    process = psutil.Process()
    anonymous, files = 0, {}
    for mapping in process.memory_maps(grouped=True):
        anonymous += mapping.anonymous
        path = Path(mapping.path)
        if mapping.path.startswith("/") and path.resolve().is_relative_to(shard.resolve()):
            name = _part(path, shard)
            files[name] = files.get(name, 0) + max(mapping.rss - mapping.anonymous, 0)
    return {"anonymous_bytes": anonymous, "rss_bytes": process.memory_info().rss, "files": files}


def _serve(shard: str, placement: dict, queries: list, out) -> None:
    """In a spawned process: load, trim, query, reading after each."""
    import qdrant_edge as edge

    from saevdb.adapters.qdrant.constants import VECTOR_NAME

    folder = Path(shard)
    readings = {"before load": _reading(folder)}
    t = time.perf_counter()
    loaded = edge.EdgeShard.load(shard, _config(edge, placement))
    load_s = time.perf_counter() - t
    readings["loaded"] = _reading(folder)
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    readings["trimmed"] = _reading(folder)
    t = time.perf_counter()
    for indices, values in queries:
        request = edge.QueryRequest(
            limit=DEPTH, query=edge.Query.Nearest(edge.SparseVector(indices, values), using=VECTOR_NAME)
        )
        loaded.query(request)
    qps = len(queries) / (time.perf_counter() - t)
    readings["queried"] = _reading(folder)
    loaded.close()
    out.put({"load_s": load_s, "qps": qps, "readings": readings})


def _files_on_disk(shard: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for path in shard.rglob("*"):
        if path.is_file():
            name = _part(path, shard)
            sizes[name] = sizes.get(name, 0) + path.stat().st_blocks * 512
    return sizes


def _build(folder: Path, model_dir: Path, x: np.ndarray, placement: dict | None = None) -> None:
    """The adapter's build; with `placement`, its config carries those memory settings from the start."""
    import qdrant_edge as edge

    from saevdb.adapters import ModelInfo
    from saevdb.adapters.qdrant.edge import QdrantEdgeAdapter
    from saevdb.sae_core.encode import encode
    from saevdb.sae_core.model_files import load_model

    class Placed(QdrantEdgeAdapter):
        def _config(self):
            return _config(edge, placement) if placement is not None else super()._config()

    model = load_model(model_dir)
    adapter = Placed(ModelInfo.of(model), folder, datatype="float16")
    adapter.recreate()
    for lo in range(0, len(x), BATCH):
        rows = np.asarray(x[lo : lo + BATCH], dtype=np.float32)
        adapter.upsert(np.arange(lo, lo + len(rows)), encode(model, rows, show_progress_bar=False))
    adapter.optimize()
    adapter.close()


def main() -> None:
    from ingest_million import ensure_input, million_arguments

    parser = million_arguments(__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path("runs/common_part"))
    args = parser.parse_args()
    ensure_input(args)
    from saevdb.sae_core.model_files import load_model
    from saevdb.sae_core.query import query_vectors

    x = np.load(args.input, mmap_mode="r")[: args.rows]
    shards = {
        "empty": args.folder / "empty",
        "codes": args.folder / f"codes_{args.rows}",
        "codes built cold": args.folder / f"codes_{args.rows}_cold",
    }
    cold = PLACEMENTS["id tracker + payload + sparse index cold"]
    for name, shard in shards.items():
        if not any(shard.glob("*.json")):  # the adapter writes the model file last but one (before optimize)
            shutil.rmtree(shard, ignore_errors=True)
            _build(shard, args.model, x[:0] if name == "empty" else x, cold if name == "codes built cold" else None)
    model = load_model(args.model)
    rows = np.sort(np.random.default_rng(0).choice(len(x), QUERIES, replace=False))
    noisy = np.asarray(x[rows], dtype=np.float32) + np.random.default_rng(1).normal(0, 0.01, (QUERIES, x.shape[1]))
    weights = query_vectors(model, noisy.astype(np.float32), "asymmetric_nonneg", k=QUERY_K)
    queries = [(w.indices.tolist(), w.data.tolist()) for w in weights]
    context = mp.get_context("spawn")
    results = {"rows": args.rows, "query_k": QUERY_K, "depth": DEPTH, "queries": QUERIES, "shards": {}}
    for name, shard in shards.items():
        runs = {}
        served = {"codes": PLACEMENTS.items(), "codes built cold": [("as built", cold)]}.get(name, [("as built", {})])
        for label, placement in served:
            out = context.Queue()
            sent = [] if name == "empty" else queries
            child = context.Process(target=_serve, args=(str(shard), placement, sent, out))
            child.start()
            runs[label] = out.get(timeout=1800)
            child.join()
            r = {key: reading["anonymous_bytes"] / 1e6 for key, reading in runs[label]["readings"].items()}
            files = runs[label]["readings"]["queried"]["files"]
            print(
                f"{name:16s} {label:42s} anon MB: before {r['before load']:6.1f} loaded {r['loaded']:6.1f}"
                f" trimmed {r['trimmed']:6.1f} queried {r['queried']:6.1f}; shard files resident"
                f" {sum(files.values()) / 1e6:6.1f} MB; {runs[label]['qps']:.0f} QPS",
                flush=True,
            )
        results["shards"][name] = {"files_on_disk": _files_on_disk(shard), "placements": runs}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
