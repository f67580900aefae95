"""The `[ray]` extra: encode + upload as a Ray Data pipeline on a local Ray instance, into a real
engine reached by URL (the Milvus Lite 2.5 server)."""

from __future__ import annotations

import numpy as np
import pytest

from integration_tests.launchers import running, start_local_ray
from saevdb.adapters import ModelInfo
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model_files import save_model

ray = pytest.importorskip("ray", reason="needs the [ray] extra")


def test_ray_data_pipeline_writes_every_row(model, vectors, tmp_path):
    from saevdb.ray_ingest import ray_ingest

    save_model(model, tmp_path / "model")
    start_local_ray(ray)
    try:
        with running("milvus") as engine:
            adapter = engine.sparse_adapter(ModelInfo.of(model), "items")
            adapter.recreate()
            dataset = ray.data.from_items([{"id": i, "embedding": v} for i, v in enumerate(vectors[:3000])])
            url = f"http://127.0.0.1:{engine.port}"
            result = ray_ingest(dataset, tmp_path / "model", "milvus", url, "items", batch_size=500, workers=2)
            assert result["rows_written"] == 3000 and adapter.count() == 3000
            sample = [0, 1499, 2999]
            expected = encode(model, vectors[sample], show_progress_bar=False)
            np.testing.assert_allclose(adapter.retrieve(sample).toarray(), expected.toarray(), rtol=1e-5)
    finally:
        ray.shutdown()
