"""Train an SAE on MovieLens item vectors, encode them to sparse codes, and check neighbour recall.

.venv/bin/python examples/compress_movielens.py
"""

import numpy as np

from saevdb.sae_core import (
    SAEConfig,
    TrainConfig,
    build_and_fit,
    encode,
    exact_topk,
    movielens_item_embeddings,
    recall_at,
)

items = movielens_item_embeddings()  # [9066, 64] ALS item factors from real ratings
unit = items / np.linalg.norm(items, axis=1, keepdims=True)
model, result = build_and_fit(items[1000:], SAEConfig(d=items.shape[1], h=1024, k=16), TrainConfig(epochs=30))
codes = encode(model, items, value_dtype="float16")  # scipy CSR [9066, 1024], 16 non-zeros per row
print(f"{codes.nnz / codes.shape[0]:.0f} non-zeros per item, dead latents {result.dead_fraction:.1%}")

queries = np.arange(1000)  # rows the model did not train on
truth, _ = exact_topk(unit[queries], unit, 10, exclude=queries)
found, _ = exact_topk(encode(model, items[queries]), codes, 10, exclude=queries)
print(f"recall@10 of code·code search: {recall_at(truth, found, 10):.3f}")
