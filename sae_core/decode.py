"""Stored CSR codes back to dense vectors, for re-ranking an engine's candidates client-side."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.search import rerank


def rerank_vectors(model: SparseAutoencoder, codes: sp.csr_matrix) -> np.ndarray:
    """`[n, h]` CSR codes → `[n, d]` float32 vectors that a re-rank scores unit-length queries against.

    For a model of unit-length inputs these are the reconstructions' directions. Least-squares
    values make x̂ the input's projection onto its k decoder rows, so |x̂| is about cos(x, x̂): scored
    as is, an item rebuilt less closely ranks lower for that alone, though its true cosine with the
    query is no smaller. Dividing by |x̂| removes that bias. A model of raw inputs, whose lengths
    carry meaning, keeps x̂ as is.

    `cosine_values` codes were divided by |x̂| when stored, so their vectors are `z W_dec =
    (x̂ − b_pre)/|x̂|` as they are: the re-rank scores `q̄ · (x̂ − b_pre)/|x̂|`, what the engine scores
    at full query width with signed weights. (x̂/|x̂| itself cannot be recovered from them in general:
    where |x̂ − b_pre| > |x̂| two lengths fit the same vector.)
    """
    decoder = model.decoder.detach().cpu().numpy()
    product = np.asarray(codes @ decoder, dtype=np.float32)
    if model.config.cosine_values:
        return product
    bias = model.pre_bias.detach().cpu().numpy()
    x_hat = product + bias
    if model.config.normalize:
        x_hat /= np.maximum(np.linalg.norm(x_hat, axis=1, keepdims=True), 1e-12)
    return x_hat


def rerank_candidates(
    model: SparseAutoencoder,
    queries: np.ndarray,
    candidates: np.ndarray,
    fetch: Callable[[np.ndarray], sp.csr_matrix],
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Reorder each query's candidate ids `[q, c]` by `queries · rerank_vectors`, keep the best k.

    Queries share many candidates, so each distinct id is fetched (`fetch(sorted ids) → CSR codes`:
    an engine's `retrieve`, or rows of codes in memory) and decoded once. Ids of -1 score -inf.
    """
    unique = np.unique(candidates[candidates >= 0])
    if unique.size == 0:
        return candidates[:, :k], np.full((len(candidates), k), -np.inf, dtype=np.float32)
    decoded = rerank_vectors(model, fetch(unique))
    # Padding ids (-1) arrive as 0 and may miss `unique`; rerank scores them -inf anyway.
    return rerank(queries, candidates, lambda ids: decoded[np.searchsorted(unique, ids).clip(max=unique.size - 1)], k)
