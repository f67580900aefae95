"""The ingest pipeline on the in-process Qdrant Edge engine: sources, checkpoints, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adapters import ModelInfo, adapter_class
from adapters.ingest import IngestConfig, IngestError, ingest
from sae_core.encode import encode
from sae_core.sources import SourceError, read_batches

pytest.importorskip("qdrant_edge", reason="needs the [qdrant] extra")
pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402


@pytest.fixture
def adapter(trained, tmp_path):
    edge = adapter_class("qdrant-edge")(ModelInfo.of(trained), tmp_path / "shard")
    yield edge
    edge.close()


def _parquet(path, vectors, lengths=None):
    rows = [list(map(float, v)) for v in vectors]
    for row, length in (lengths or {}).items():
        rows[row] = rows[row][:length]
    pq.write_table(pa.table({"embedding": rows, "item": np.arange(len(rows)) + 1000}), path)


def test_sources_give_the_same_batches(clusters, tmp_path):
    np.save(tmp_path / "x.npy", clusters[:1000])
    _parquet(tmp_path / "x.parquet", clusters[:1000])
    npy = list(read_batches(tmp_path / "x.npy", 32, 300))
    parquet = list(read_batches(tmp_path / "x.parquet", 32, 300))
    chunks = list(read_batches((clusters[lo : min(lo + 128, 1000)] for lo in range(0, 1000, 128)), 32, 300))
    for batches in (parquet, chunks):
        assert [b.number for b in batches] == [0, 1, 2, 3]
        for a, b in zip(npy, batches, strict=True):
            np.testing.assert_array_equal(a.ids, b.ids)
            np.testing.assert_allclose(a.vectors, b.vectors, rtol=1e-6)
    assert [b.number for b in read_batches(tmp_path / "x.npy", 32, 300, start_batch=2)] == [2, 3]
    with_ids = next(read_batches(tmp_path / "x.parquet", 32, 300, id_column="item"))
    assert with_ids.ids[0] == 1000


def test_unreadable_inputs_are_named(tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(SourceError, match="bad.npy"):
        list(read_batches(tmp_path / "bad.npy", 32, 10))
    np.save(tmp_path / "short.npy", np.zeros((100, 32), dtype=np.float32))
    raw = (tmp_path / "short.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(raw[: len(raw) // 2])  # truncated
    with pytest.raises(SourceError, match="short.npy"):
        list(read_batches(tmp_path / "short.npy", 32, 10))
    with pytest.raises(SourceError, match=r"expected \[n, 32\]"):
        np.save(tmp_path / "wide.npy", np.zeros((5, 33), dtype=np.float32))
        list(read_batches(tmp_path / "wide.npy", 32, 10))


def test_ingest_then_rerun_is_a_no_op(adapter, trained, clusters, tmp_path):
    np.save(tmp_path / "x.npy", clusters)
    first = ingest(
        adapter,
        trained,
        tmp_path / "x.npy",
        tmp_path / "ck.json",
        "edge:items",
        IngestConfig(batch_size=700),
        show_progress_bar=False,
    )
    assert first["rows_written"] == len(clusters) == adapter.count()
    again = ingest(
        adapter,
        trained,
        tmp_path / "x.npy",
        tmp_path / "ck.json",
        "edge:items",
        IngestConfig(batch_size=700),
        show_progress_bar=False,
    )
    assert again["resumed_from_batch"] == first["batches"] and adapter.count() == len(clusters)
    sample = [0, 1234, len(clusters) - 1]
    np.testing.assert_allclose(
        adapter.retrieve(sample).toarray(),
        encode(trained, clusters[sample], show_progress_bar=False).toarray(),
        rtol=1e-5,
    )
    with pytest.raises(IngestError, match="another input, model"):
        ingest(
            adapter,
            trained,
            tmp_path / "x.npy",
            tmp_path / "ck.json",
            "edge:other",
            IngestConfig(batch_size=700),
            show_progress_bar=False,
        )


def test_bad_row_stops_at_its_batch_and_keeps_what_came_before(adapter, trained, clusters, tmp_path):
    data = clusters[:1000].copy()
    data[650, 3] = np.nan
    np.save(tmp_path / "x.npy", data)
    with pytest.raises(IngestError, match=r"batch 2: row 650: NaN"):
        ingest(
            adapter,
            trained,
            tmp_path / "x.npy",
            tmp_path / "ck.json",
            "edge:items",
            IngestConfig(batch_size=300),
            show_progress_bar=False,
        )
    assert adapter.count() == 600
    assert json.loads((tmp_path / "ck.json").read_text())["state"]["batches_done"] == 2


def test_skip_bad_logs_rows_of_wrong_dimension(adapter, trained, clusters, tmp_path):
    _parquet(tmp_path / "x.parquet", clusters[:1000], lengths={10: 31, 500: 5})
    summary = ingest(
        adapter,
        trained,
        tmp_path / "x.parquet",
        tmp_path / "ck.json",
        "edge:items",
        IngestConfig(batch_size=256, skip_bad=True),
        show_progress_bar=False,
    )
    assert summary["rows_written"] == 998 and summary["rows_skipped"] == 2 == 1000 - adapter.count()
    logged = [json.loads(line) for line in (tmp_path / "ck.skipped.jsonl").read_text().splitlines()]
    assert [(r["row"], r["reason"]) for r in logged] == [
        (10, "dimension 31, expected 32"),
        (500, "dimension 5, expected 32"),
    ]


def test_engine_refusal_names_the_batch(trained, clusters, tmp_path):
    uint8 = adapter_class("qdrant-edge")(ModelInfo.of(trained), tmp_path / "u8", datatype="uint8")
    uint8.recreate()
    with pytest.raises(IngestError, match=r"batch 0 .* refused it"):  # float codes do not fit uint8 storage
        ingest(uint8, trained, iter([clusters[:500]]), tmp_path / "ck.json", "edge:u8", show_progress_bar=False)
    assert uint8.count() == 0
    uint8.close()
