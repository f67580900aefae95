"""The ingest pipeline on the in-process Qdrant Edge engine: checkpoints, resume, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from integration_tests.launchers import skip_unless_runnable
from saevdb.adapters import ModelInfo
from saevdb.ingest import IngestConfig, IngestError, ingest
from saevdb.sae_core.encode import encode


def edge_shard(model, path, **options):
    skip_unless_runnable("qdrant")
    from saevdb.adapters.qdrant import QdrantEdgeAdapter

    return QdrantEdgeAdapter(ModelInfo.of(model), path, **options)


@pytest.fixture
def adapter(trained, tmp_path):
    edge = edge_shard(trained, tmp_path / "shard")
    yield edge
    edge.close()


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


def test_skip_bad_logs_rows_of_wrong_dimension(adapter, trained, clusters, tmp_path, write_parquet):
    write_parquet(tmp_path / "x.parquet", clusters[:1000], lengths={10: 31, 500: 5})
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
    uint8 = edge_shard(trained, tmp_path / "u8", datatype="uint8")
    uint8.recreate()
    with pytest.raises(IngestError, match=r"batch 0 .* refused it"):  # float codes do not fit uint8 storage
        ingest(uint8, trained, iter([clusters[:500]]), tmp_path / "ck.json", "edge:u8", show_progress_bar=False)
    assert uint8.count() == 0
    uint8.close()
