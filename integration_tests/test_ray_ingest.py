"""The `[ray]` extra: encode + upload as a Ray Data pipeline on a local Ray instance, into a real
engine reached by URL (the Milvus Lite 2.5 server)."""

from __future__ import annotations

import numpy as np
import pytest

from integration_tests.launchers import running
from saevdb.adapters import ModelInfo
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model_files import save_model

ray = pytest.importorskip("ray", reason="needs the [ray] extra")


def _start_local_ray() -> None:
    """A small local instance. On a loaded 2-core machine Ray's start has missed its fixed windows:
    the raylet's registration ("The current node timed out during startup") and, once, the GCS
    server's port file ("Timed out waiting for file ..."): one more try, then fail."""
    options = dict(num_cpus=2, object_store_memory=256 * 2**20, include_dashboard=False, log_to_driver=False)
    try:
        ray.init(**options)
    except Exception as e:  # Ray raises a bare Exception or a RuntimeError for these
        if "timed out" not in str(e).lower():
            raise
        ray.shutdown()
        ray.init(**options)


def test_ray_data_pipeline_writes_every_row(model, vectors, tmp_path):
    from saevdb.ray_ingest import ray_ingest

    save_model(model, tmp_path / "model")
    _start_local_ray()
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
