"""Which backend, at what RAM and recall? Every embedded engine side by side on MovieLens items.

.venv/bin/python examples/compare_backends.py   (the CLI does the same: saevdb compare --data movielens)
"""

import numpy as np

from saevdb.compare import CompareConfig, compare, format_compare
from saevdb.sae_core import SAEConfig, TrainConfig, build_and_fit, movielens_item_embeddings

items = movielens_item_embeddings()  # [9066, 64] real item vectors
rng = np.random.default_rng(0)
order = rng.permutation(len(items))
queries, database = items[order[:500]], items[order[500:]]  # queries held out of the database
model, _ = build_and_fit(database, SAEConfig(d=64, h=1024, k=8), TrainConfig(epochs=10))

report = compare(model, database, queries, CompareConfig(backends=("qdrant", "milvus", "opensearch")))
print(format_compare(report))
