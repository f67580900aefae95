"""Qdrant Edge (`qdrant-edge-py`): the real Qdrant engine in-process, one shard in a folder.

The embedded default for Qdrant. Edge shards have no collection metadata, so the model's identity
is kept in `saevdb_model.json` beside the shard and checked before any write or query.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as edge
import scipy.sparse as sp

from saevdb.adapters.base import ModelInfo
from saevdb.adapters.batches import (
    check_batch,
    check_datatype,
    check_originals,
    check_queries,
    check_rescore,
    pad_results,
    rows_to_csr,
)
from saevdb.adapters.launcher import allocated_bytes
from saevdb.adapters.originals import OriginalsFile
from saevdb.adapters.qdrant.constants import (
    DENSE_NAME,
    MODEL_FILE,
    ORIGINALS_FILE,
    PRECISIONS,
    SPARSE_INDEXING_THRESHOLD_KB,
    VECTOR_NAME,
)
from saevdb.adapters.qdrant.placement import placements

DATATYPES = {
    "float32": edge.VectorStorageDatatype.Float32,
    "float16": edge.VectorStorageDatatype.Float16,
    "uint8": edge.VectorStorageDatatype.Uint8,
}


class QdrantEdgeAdapter:
    """A Qdrant Edge shard of k-sparse codes in folder `path` (created by `recreate()`).

    Args:
        model: the `ModelInfo` of the SAE whose codes the shard holds.
        path: the shard's folder.
        datatype: sparse value storage, "float32", "float16" or "uint8" (values 0..255 only).
        on_disk: keep the sparse index memory-mapped from disk instead of in RAM.
        originals: also keep each point's original vector `[d]` in a named dense vector stored on disk
            (`Memory.Cold`) with no HNSW graph (m=0), for the two-stage search: one `query` whose
            `Prefetch` takes the codes' top `rescore_depth` from the sparse index, then scores those
            candidates, and only those, by exact cosine with their originals (`rescore_depth` vector
            reads per query, from the page cache or disk).
        indexing_threshold_kb: segments holding more than this (KB of vectors) are rebuilt by
            `optimize()` into an immutable segment with the sparse index (see
            `constants.SPARSE_INDEXING_THRESHOLD_KB`); None keeps Qdrant's default.
        originals_file: with `originals`, keep them in a flat file beside the shard
            (`saevdb.adapters.originals.OriginalsFile` of this dtype, "float32" or "float16") instead
            of a dense vector in it: the shard holds the codes alone, the second stage reads the
            codes' top `rescore_depth` rows from the file, in the process that holds the shard.
        id_tracker_memory, payload_memory: where the shard keeps its point-id tracker and payloads,
            "pinned", "cached" or "cold" (`saevdb.adapters.qdrant.placement`); None keeps Qdrant's
            default (the id tracker on the heap).
    """

    def __init__(
        self,
        model: ModelInfo,
        path: str | Path,
        datatype: str = "float32",
        on_disk: bool = False,
        originals: bool = False,
        indexing_threshold_kb: int | None = SPARSE_INDEXING_THRESHOLD_KB,
        originals_file: str | None = None,
        id_tracker_memory: str | None = None,
        payload_memory: str | None = None,
    ) -> None:
        self._placements = placements(id_tracker_memory, payload_memory)
        if originals_file is not None and not originals:
            raise ValueError("originals_file names where the originals are kept: it needs originals=True")
        self.model, self.path = model, Path(path)
        self._file = (
            None if originals_file is None else OriginalsFile(self.path / ORIGINALS_FILE, model.d, originals_file)
        )
        self.datatype, self.on_disk, self.originals = check_datatype(datatype, PRECISIONS), on_disk, originals
        self.indexing_threshold_kb = indexing_threshold_kb
        self._shard: edge.EdgeShard | None = None

    def __repr__(self) -> str:
        return (
            f"QdrantEdgeAdapter(path={str(self.path)!r}, datatype={self.datatype}, on_disk={self.on_disk}, "
            f"originals={self.originals}, originals_file={self._file and self._file.dtype.name})"
        )

    def _config(self) -> edge.EdgeConfig:
        params = edge.EdgeSparseVectorParams(on_disk=self.on_disk, datatype=DATATYPES[self.datatype])
        optimizers = edge.EdgeOptimizersConfig(indexing_threshold=self.indexing_threshold_kb)
        if not self.originals or self._file is not None:
            return edge.EdgeConfig(sparse_vectors={VECTOR_NAME: params}, optimizers=optimizers, **self._placements)
        no_graph = edge.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000)
        dense = edge.EdgeVectorParams(
            size=self.model.d, distance=edge.Distance.Cosine, memory=edge.Memory.Cold, hnsw_config=no_graph
        )
        return edge.EdgeConfig(
            vectors={DENSE_NAME: dense},
            sparse_vectors={VECTOR_NAME: params},
            optimizers=optimizers,
            **self._placements,
        )

    def exists(self) -> bool:
        return (self.path / MODEL_FILE).is_file()

    def recreate(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        self._shard = edge.EdgeShard.create(str(self.path), self._config())
        (self.path / MODEL_FILE).write_text(json.dumps(self.model.to_dict()))

    def drop(self) -> None:
        self.close()
        if self.path.is_symlink():
            raise ValueError(f"{self.path} is an alias: drop the shard it points at")
        shutil.rmtree(self.path, ignore_errors=True)

    def point_alias(self, alias: str) -> str | None:
        """Edge shards have no aliases: `alias` is a symlink beside the shard, replaced by a rename
        (atomic). An adapter holds the shard it opened, so its queries stay on one model."""
        link = self.path.parent / alias
        previous = link.resolve().name if link.is_symlink() else None
        tmp = self.path.parent / f".{alias}.{os.getpid()}"
        tmp.symlink_to(self.path.name)
        os.replace(tmp, link)
        return previous

    def check_model(self) -> None:
        """The shard's model file must name this model; an open shard was checked when it opened."""
        if self._shard is None:
            if not (self.path / MODEL_FILE).is_file():
                raise ValueError(f"{self.path} holds no saevdb shard: call recreate() first")
            self.model.check_same(json.loads((self.path / MODEL_FILE).read_text()), str(self.path))

    @property
    def shard(self) -> edge.EdgeShard:
        """The open shard; loading an existing one checks that it holds this model's codes."""
        if self._shard is None:
            self.check_model()
            self._shard = edge.EdgeShard.load(str(self.path), self._config())
        return self._shard

    def upsert(
        self,
        ids: Sequence[int],
        codes: sp.csr_matrix,
        payloads: Sequence[dict] | None = None,
        originals: np.ndarray | None = None,
    ) -> None:
        ids, codes = check_batch(ids, codes, self.model.h, payloads, nonneg=False, uint8=self.datatype == "uint8")
        dense = check_originals(originals, self.originals, self.model.d, len(ids))
        points = []
        for i, (point, row) in enumerate(zip(ids, codes, strict=True)):
            vectors = {VECTOR_NAME: edge.SparseVector(row.indices.tolist(), row.data.tolist())}
            if dense is not None and self._file is None:
                vectors[DENSE_NAME] = dense[i].tolist()
            points.append(edge.Point(int(point), vectors, None if payloads is None else payloads[i]))
        shard = self.shard  # opening it checks the model before the file is written
        if dense is not None and self._file is not None:
            self._file.write(ids, dense)
        shard.update(edge.UpdateOperation.upsert_points(points))

    def optimize(self) -> None:
        """Merge segments after a bulk load, as Qdrant's optimiser would in a server."""
        self.shard.optimize()

    def takes_negative_weights(self) -> bool:
        """Qdrant stores and scores negative sparse weights, so queries may be signed."""
        return True

    def search(
        self,
        queries: sp.csr_matrix,
        top_k: int,
        filter: edge.Filter | None = None,
        rescore_queries: np.ndarray | None = None,
        rescore_depth: int = 0,
    ):
        queries = check_queries(queries, self.model.h, nonneg=False)
        dense = check_rescore(rescore_queries, rescore_depth, self.originals, self.model.d, queries.shape[0], top_k)
        hits = []
        first_stage = top_k if dense is None or self._file is None else rescore_depth
        for i, (lo, hi) in enumerate(zip(queries.indptr[:-1].tolist(), queries.indptr[1:].tolist(), strict=True)):
            weights = edge.SparseVector(queries.indices[lo:hi].tolist(), queries.data[lo:hi].tolist())
            codes = edge.Query.Nearest(weights, using=VECTOR_NAME)
            if dense is None or self._file is not None:
                request = edge.QueryRequest(limit=first_stage, query=codes, filter=filter)
            else:
                first = edge.Prefetch(limit=rescore_depth, query=codes, filter=filter)
                exact = edge.Query.Nearest(dense[i].tolist(), using=DENSE_NAME)
                request = edge.QueryRequest(limit=top_k, query=exact, prefetches=[first], filter=filter)
            hits.append([(int(p.id), p.score) for p in self.shard.query(request)])
        if dense is not None and self._file is not None:
            return self._file.rescore(dense, pad_results(hits, rescore_depth)[0], top_k)
        return pad_results(hits, top_k)

    def retrieve(self, ids: Sequence[int]) -> sp.csr_matrix:
        records = self.shard.retrieve([int(i) for i in ids], with_payload=False, with_vector=True)
        found = {int(r.id): (r.vector[VECTOR_NAME].indices, r.vector[VECTOR_NAME].values) for r in records}
        return rows_to_csr(ids, found, self.model.h)

    def delete(self, ids: Sequence[int]) -> None:
        self.shard.update(edge.UpdateOperation.delete_points([int(i) for i in ids]))

    def count(self) -> int:
        return self.shard.count(edge.CountRequest(exact=True))

    def stats(self) -> dict[str, Any]:
        info = self.shard.info()
        return {
            "engine": "qdrant-edge",
            "points": info.points_count,
            "indexed_vectors": info.indexed_vectors_count,
            "disk_bytes": allocated_bytes(self.path),
            "datatype": self.datatype,
            "originals": self.originals,
            "originals_file": None if self._file is None else self._file.dtype.name,
        }

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._shard is not None:
            self._shard.close()
            self._shard = None
