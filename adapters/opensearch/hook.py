"""`OpenSearchIngestHook`: a user's own `OpenSearch` client, storing SAE codes behind their k-NN calls."""

from __future__ import annotations

import json
import time
from typing import Any

import scipy.sparse as sp
from opensearchpy import OpenSearch

from saevdb.adapters.hook import IngestHook
from saevdb.adapters.opensearch.sparse import OpenSearchAdapter


class OpenSearchIngestHook(IngestHook):
    """Wraps an existing `OpenSearch` client so the dense k-NN calls users already make store SAE codes.

    - `indices.create(index, body)` with a `knn_vector` field named `vector_field` builds the sparse
      index instead (the dimension must be the model's d; the other mapped fields are kept);
    - `index(index, body, id)` and `bulk(body)` (so also `helpers.bulk`) encode that field of each
      document, validating the whole call before anything is written;
    - `search(index, body)` with a `knn` query on that field encodes the query vector and runs the
      sparse query (the knn `filter`, if any, stays a filter); the response is OpenSearch's own.

    Every other attribute is the client's own.
    """

    def __init__(self, client: OpenSearch, model, vector_field: str = "embedding", query_k: int | None = None):
        super().__init__(client, model, "asymmetric_nonneg", query_k)
        self._vector_field = vector_field
        self.indices = _HookedIndices(self)

    def _new_adapter(self, collection: str, **options) -> OpenSearchAdapter:
        return OpenSearchAdapter(self._info, self._client, collection, **options)

    def _create(self, index: str, body: dict | None) -> dict[str, Any]:
        body = body or {}
        properties = dict(body.get("mappings", {}).get("properties", {}))
        dense = properties.pop(self._vector_field, None)
        if dense is None or dense.get("type") != "knn_vector":
            raise ValueError(f"the mapping needs the dense field {self._vector_field!r} of type knn_vector")
        if dense.get("dimension") != self._info.d:
            raise ValueError(f"dimension {dense.get('dimension')} differs from the model's d={self._info.d}")
        self._adapter(index, payload_mapping=properties).recreate()
        return {"acknowledged": True, "shards_acknowledged": True, "index": index}

    def _encode_docs(self, docs: list[tuple[Any, dict]]) -> tuple[list[int], sp.csr_matrix, list[dict]]:
        if any(self._vector_field not in doc for _, doc in docs):
            raise ValueError(f"every document needs the dense field {self._vector_field!r}")
        try:
            ids = [int(point) for point, _ in docs]
        except (TypeError, ValueError) as e:
            raise ValueError("document ids must be non-negative integers (or their strings)") from e
        payloads = [{k: v for k, v in doc.items() if k != self._vector_field} for _, doc in docs]
        return ids, self._encode([doc[self._vector_field] for _, doc in docs]), payloads

    def index(self, index: str, body: dict, id: Any = None, **kwargs) -> dict[str, Any]:
        if id is None:
            raise ValueError("the ingest hook needs an integer id for each document")
        _check_write_options(kwargs)
        ids, codes, payloads = self._encode_docs([(id, body)])
        self._adapter(index).upsert(ids, codes, payloads)
        self._refresh_if_asked([index], kwargs.get("refresh"))
        return {"_index": index, "_id": str(id), "result": "created"}

    def bulk(self, body, index: str | None = None, **kwargs) -> dict[str, Any]:
        """Index and delete actions, as NDJSON or a list; each index's encoded batch is written whole."""
        _check_write_options(kwargs)
        start = time.perf_counter()
        lines = [json.loads(line) if isinstance(line, str) else line for line in _bulk_lines(body)]
        upserts: dict[str, list[tuple[Any, dict]]] = {}
        deletes: dict[str, list[int]] = {}
        items = []
        position = 0
        while position < len(lines):
            ((op, meta),) = lines[position].items()
            target = meta.get("_index", index)
            if op in ("index", "create"):
                upserts.setdefault(target, []).append((meta.get("_id"), lines[position + 1]))
                position += 2
            elif op == "delete":
                deletes.setdefault(target, []).append(int(meta["_id"]))
                position += 1
            else:
                raise ValueError(f"bulk action {op!r} is not supported by the ingest hook")
            items.append({op: {"_index": target, "_id": str(meta.get("_id")), "status": 200}})
        encoded = {target: self._encode_docs(docs) for target, docs in upserts.items()}
        for target, (ids, codes, payloads) in encoded.items():
            self._adapter(target).upsert(ids, codes, payloads)
        for target, ids in deletes.items():
            self._adapter(target).delete(ids)
        self._refresh_if_asked([*upserts, *deletes], kwargs.get("refresh"))
        return {"took": int(1000 * (time.perf_counter() - start)), "errors": False, "items": items}

    def _refresh_if_asked(self, indices: list[str], refresh: Any) -> None:
        if refresh not in (None, False, "false"):
            for index in indices:
                self._adapter(index).mark_written()
                self._adapter(index).refresh()

    def search(self, index: str, body: dict | None = None, **kwargs) -> dict[str, Any]:
        knn = (body or {}).get("query", {}).get("knn", {}).get(self._vector_field)
        if knn is None:
            return self._client.search(index=index, body=body, **kwargs)
        weights = self._query_weights([knn["vector"]])
        adapter = self._adapter(index)
        adapter.check_model()
        adapter.refresh()
        query = adapter.query_dsl(weights.indices, weights.data, knn.get("filter"))
        rest = {key: value for key, value in body.items() if key != "query"}
        rest.setdefault("size", knn.get("k", 10))
        return self._client.search(index=index, body={**rest, "query": query}, **kwargs)


def _check_write_options(options: dict[str, Any]) -> None:
    unsupported = sorted(set(options) - {"refresh", "params", "headers"})
    if unsupported:
        raise ValueError(f"write options {unsupported} are not supported by the ingest hook")


def _bulk_lines(body) -> list:
    if isinstance(body, (str, bytes)):
        text = body.decode() if isinstance(body, bytes) else body
        return [line for line in text.splitlines() if line.strip()]
    return list(body)


class _HookedIndices:
    """`client.indices` with `create` building the sparse index; everything else is the client's."""

    def __init__(self, hook: OpenSearchIngestHook) -> None:
        self._hook = hook

    def __getattr__(self, name: str):
        return getattr(self._hook._client.indices, name)

    def create(self, index: str, body: dict | None = None, **kwargs) -> dict[str, Any]:
        return self._hook._create(index, body)
