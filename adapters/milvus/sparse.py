"""Milvus through the official `pymilvus`: a server URI, or the embedded Milvus Lite 2.5 server
(`saevdb.adapters.milvus.engine`).

Codes live in a `SPARSE_FLOAT_VECTOR` field with a `SPARSE_INVERTED_INDEX` scored by inner
product; Milvus takes only non-negative weights. The model's identity is kept as JSON in the
collection description and checked before any write or query.

With `originals=True` the collection also keeps each point's dense vector in a `FLOAT_VECTOR` field
for the two-stage search (`rescore.py`), as cheaply as Milvus allows: a FLAT index (Milvus loads no
vector field without an index) and `mmap.enabled` on both field and index, which a Milvus server
honours for sealed segments. Milvus Lite 2.5 stores the setting and ignores it: its mmap is off and
every row lives in one growing segment in anonymous memory.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import grpc
import numpy as np
import scipy.sparse as sp
from pymilvus import DataType, MilvusClient, MilvusException

from saevdb.adapters.base import ModelInfo, UnsupportedFeatureError
from saevdb.adapters.batches import (
    check_batch,
    check_datatype,
    check_originals,
    check_queries,
    check_rescore,
    pad_results,
    rows_to_csr,
)
from saevdb.adapters.milvus.constants import (
    GET_CHUNK,
    INVERTED_INDEX_ALGOS,
    ORIGINALS_FIELD,
    PRECISIONS,
    VECTOR_FIELD,
    count_rows,
)
from saevdb.adapters.milvus.rescore import rescore_by_originals
from saevdb.adapters.model_check import METADATA_KEY, ModelTagged


class _NoAliasesLine(logging.Filter):
    """pymilvus logs every failed RPC at ERROR before raising it. Milvus Lite has no aliases and answers
    `describe_alias` with UNIMPLEMENTED, which `_alias_target` expects and handles on every collection
    opened: that one line is dropped, every other pymilvus line kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("[describe_alias]" in message and "UNIMPLEMENTED" in message)


logging.getLogger("pymilvus.decorators").addFilter(_NoAliasesLine())


class MilvusAdapter(ModelTagged):
    """A Milvus collection of k-sparse codes.

    Args:
        model: the `ModelInfo` of the SAE whose codes this collection holds.
        client: a connected `MilvusClient`.
        collection: collection name.
        datatype: sparse value storage; Milvus has one, "float32".
        inverted_index_algo: "TAAT_NAIVE" (default, see `constants.INVERTED_INDEX_ALGOS`),
            "DAAT_MAXSCORE" (Milvus's default) or "DAAT_WAND".
        drop_ratio_search: share of the smallest query weights Milvus ignores (0 keeps all: exact).
        timeout: whole seconds a call may take, retries included (pymilvus ignores a float here);
            without it pymilvus retries an engine that is gone 75 times, for minutes.
        shards, replicas: for a Milvus cluster (`num_shards` at creation, `replica_number` at load);
            None takes the server's defaults.
        originals: also keep each point's original vector `[d]` (`upsert(..., originals=)`), for
            `search(..., rescore_queries=, rescore_depth=)`.
    """

    def __init__(
        self,
        model: ModelInfo,
        client: MilvusClient,
        collection: str,
        datatype: str = "float32",
        inverted_index_algo: str = INVERTED_INDEX_ALGOS[0],
        drop_ratio_search: float = 0.0,
        timeout: int | None = 60,
        shards: int | None = None,
        replicas: int | None = None,
        originals: bool = False,
    ) -> None:
        if not 0.0 <= drop_ratio_search < 1.0:
            raise ValueError(f"drop_ratio_search must be in [0, 1), got {drop_ratio_search}")
        if inverted_index_algo not in INVERTED_INDEX_ALGOS:
            raise ValueError(f"inverted_index_algo must be one of {INVERTED_INDEX_ALGOS}, got {inverted_index_algo!r}")
        self.model, self.client, self.collection = model, client, collection
        self.name, self.datatype = collection, check_datatype(datatype, PRECISIONS)
        self.inverted_index_algo, self.drop_ratio_search = inverted_index_algo, drop_ratio_search
        self.timeout = timeout
        self.shards, self.replicas = shards, replicas
        self.originals = originals
        self._checked = False

    def __repr__(self) -> str:
        algo, originals = self.inverted_index_algo, self.originals
        return f"MilvusAdapter(collection={self.collection!r}, algo={algo}, originals={originals})"

    @classmethod
    def from_url(cls, model: ModelInfo, url: str, collection: str, **options) -> MilvusAdapter:
        """On a Milvus server or cluster at `url` (e.g. "http://milvus:19530")."""
        return cls(model, MilvusClient(uri=url), collection, **options)

    def exists(self) -> bool:
        return self.client.has_collection(self.collection, timeout=self.timeout)

    def recreate(self) -> None:
        if self.client.has_collection(self.collection, timeout=self.timeout):
            self.client.drop_collection(self.collection, timeout=self.timeout)
        # Payload keys become dynamic fields, so `output_fields` and filters name them as usual.
        schema = self.client.create_schema(
            auto_id=False, enable_dynamic_field=True, description=json.dumps({METADATA_KEY: self.model.to_dict()})
        )
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field(VECTOR_FIELD, DataType.SPARSE_FLOAT_VECTOR)
        index = self.client.prepare_index_params()
        index.add_index(
            VECTOR_FIELD,
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="IP",
            params={"inverted_index_algo": self.inverted_index_algo},
        )
        if self.originals:
            schema.add_field(ORIGINALS_FIELD, DataType.FLOAT_VECTOR, dim=self.model.d, mmap_enabled=True)
            index.add_index(ORIGINALS_FIELD, index_type="FLAT", metric_type="COSINE", params={"mmap.enabled": True})
        cluster = {} if self.shards is None else {"num_shards": self.shards}
        self.client.create_collection(self.collection, schema=schema, index_params=index, **cluster)
        if self.replicas is not None:
            self.client.release_collection(self.collection)
            self.client.load_collection(self.collection, replica_number=self.replicas)
        self._checked = True

    def optimize(self) -> None:
        """Seal the growing segments so Milvus builds their sparse index."""
        self.client.flush(self.collection, timeout=self.timeout)

    def drop(self) -> None:
        self.client.drop_collection(self.collection, timeout=self.timeout)
        self._checked = False

    def _stored_model(self) -> dict[str, Any] | None:
        description = self.client.describe_collection(self.collection).get("description") or "{}"
        try:
            return json.loads(description).get(METADATA_KEY)
        except (json.JSONDecodeError, AttributeError):
            return None  # a collection saevdb did not create

    def _alias_target(self, alias: str) -> str | None:
        """The collection `alias` names, or None when it is no alias (or the server has none)."""
        try:
            return self.client.describe_alias(alias, timeout=self.timeout)["collection_name"]
        except MilvusException:
            return None
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:  # Milvus Lite: no aliases at all
                return None
            raise

    def _aliased_to(self) -> str | None:
        """The collection `self.collection` names when it is an alias."""
        return self._alias_target(self.collection)

    def point_alias(self, alias: str) -> str | None:
        """Milvus Lite 2.5 has no aliases (UNIMPLEMENTED): refused there; a Milvus server has them."""
        previous = self._alias_target(alias)
        try:
            if previous is None:
                self.client.create_alias(self.collection, alias, timeout=self.timeout)
            else:
                self.client.alter_alias(self.collection, alias, timeout=self.timeout)  # atomic switch
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                raise UnsupportedFeatureError("this Milvus (Milvus Lite) has no aliases; a Milvus server has") from e
            raise
        return previous

    def upsert(
        self,
        ids: Sequence[int],
        codes: sp.csr_matrix,
        payloads: Sequence[dict] | None = None,
        originals: np.ndarray | None = None,
    ) -> None:
        """Insert or replace one batch; with `originals=True`, `originals [n, d]` is required (refused
        otherwise). The whole batch is checked before anything is sent."""
        ids, codes = check_batch(ids, codes, self.model.h, payloads, nonneg=True)
        if (np.diff(codes.indptr) == 0).any():
            raise ValueError("Milvus cannot store an all-zero sparse vector")
        reserved = {"id", VECTOR_FIELD, ORIGINALS_FIELD}
        if payloads is not None and any(reserved & set(p or {}) for p in payloads):
            raise ValueError(f"payload keys {sorted(reserved)} are reserved")
        vectors = check_originals(originals, self.originals, self.model.d, len(ids))
        self.check_model()
        extras = payloads if payloads is not None else [None] * len(ids)
        rows = [
            {**(extra or {}), "id": int(point), VECTOR_FIELD: codes[i]}
            for i, (point, extra) in enumerate(zip(ids, extras, strict=True))
        ]
        if vectors is not None:
            for row, vector in zip(rows, vectors.tolist(), strict=True):
                row[ORIGINALS_FIELD] = vector
        self.client.upsert(self.collection, rows, timeout=self.timeout)

    def takes_negative_weights(self) -> bool:
        """Milvus refuses negative sparse weights (SPARSE_FLOAT_VECTOR): codes and queries are non-negative."""
        return False

    def search(
        self,
        queries: sp.csr_matrix,
        top_k: int,
        filter: str | None = None,
        rescore_queries: np.ndarray | None = None,
        rescore_depth: int = 0,
    ):
        """`[q, h]` query weights → `(ids [q, top_k], scores [q, top_k])`, best first; -1 pads.

        Scores are inner products `w·c` with the stored codes. With `rescore_queries [q, d]` (a
        collection built with `originals=True`) the codes' top `rescore_depth` (≥ top_k) are re-ranked
        by exact cosine with the stored originals inside the engine (`rescore.py`: one search per
        query, `rescore_depth` originals read) and the scores are those cosines."""
        queries = check_queries(queries, self.model.h, nonneg=True)
        n, d = queries.shape[0], self.model.d
        rescore_queries = check_rescore(rescore_queries, rescore_depth, self.originals, d, n, top_k)
        depth = top_k if rescore_queries is None else rescore_depth
        self.check_model()
        results = self.client.search(
            self.collection,
            data=[queries[i] for i in range(queries.shape[0])],
            anns_field=VECTOR_FIELD,
            limit=depth,
            filter=filter or "",
            search_params={"metric_type": "IP", "params": {"drop_ratio_search": self.drop_ratio_search}},
            timeout=self.timeout,
        )
        found = pad_results([[(int(hit["id"]), hit["distance"]) for hit in hits] for hits in results], depth)
        if rescore_queries is None:
            return found
        return rescore_by_originals(self.client, self.collection, found[0], rescore_queries, top_k, self.timeout)

    def retrieve(self, ids: Sequence[int]) -> sp.csr_matrix:
        self.check_model()
        ids = [int(i) for i in ids]
        found = {}
        # A query returns at most 16,384 rows (Milvus' result window) and says nothing of the rest.
        rows = [
            row
            for lo in range(0, len(ids), GET_CHUNK)
            for row in self.client.get(
                self.collection, ids=ids[lo : lo + GET_CHUNK], output_fields=[VECTOR_FIELD], timeout=self.timeout
            )
        ]
        for row in rows:
            vector = row[VECTOR_FIELD]  # {index: weight}
            found[int(row["id"])] = (list(map(int, vector)), list(vector.values()))
        return rows_to_csr(ids, found, self.model.h)

    def delete(self, ids: Sequence[int]) -> None:
        self.check_model()
        self.client.delete(self.collection, ids=[int(i) for i in ids], timeout=self.timeout)

    def count(self) -> int:
        self.check_model()
        return count_rows(self.client, self.collection, self.timeout)

    def stats(self) -> dict[str, Any]:
        return {
            "engine": "milvus",
            "points": self.count(),
            "index": self.inverted_index_algo,
            "originals": self.originals,
        }

    def close(self) -> None:
        self.client.close()
