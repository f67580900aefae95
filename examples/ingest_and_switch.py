"""Load a catalogue into an embedded engine resumably, then re-encode with a new model and switch.

.venv/bin/python examples/ingest_and_switch.py
"""

import tempfile
from pathlib import Path

from saevdb.adapters import ModelInfo, local_engine
from saevdb.ingest import IngestConfig, ingest
from saevdb.sae_core import SAEConfig, TrainConfig, build_and_fit, movielens_item_embeddings

items = movielens_item_embeddings()
folder = Path(tempfile.mkdtemp())
v1, _ = build_and_fit(items, SAEConfig(d=64, h=1024, k=8), TrainConfig(epochs=5))
v2, _ = build_and_fit(items, SAEConfig(d=64, h=1024, k=16), TrainConfig(epochs=5))

with local_engine("qdrant", folder / "engine") as engine:
    for name, model in (("movies_v1", v1), ("movies_v2", v2)):
        adapter = engine.sparse_adapter(ModelInfo.of(model), name)
        # Interrupt this and run it again: it resumes from the checkpoint.
        summary = ingest(
            adapter,
            model,
            iter([items]),
            folder / f"{name}.ingest.json",
            f"qdrant:{name}",
            IngestConfig(batch_size=2048),
        )
        print(name, summary["rows_written"], "vectors,", round(summary["vectors_per_s"]), "vectors/s")
        print("alias 'movies' was", adapter.point_alias("movies"), "now", name)
        adapter.close()
    live = engine.sparse_adapter(ModelInfo.of(v2), "movies")
    print("live collection holds", live.count(), "codes of model v2")
