"""Stored CSR codes back to dense vectors, for re-ranking an engine's candidates client-side."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sae_core.model import SparseAutoencoder


def rerank_vectors(model: SparseAutoencoder, codes: sp.csr_matrix) -> np.ndarray:
    """`[n, h]` CSR codes → `[n, d]` float32 vectors that a re-rank scores unit-length queries against.

    For a model of unit-length inputs these are the reconstructions' directions. Least-squares
    values make x̂ the input's projection onto its k decoder rows, so |x̂| is about cos(x, x̂): scored
    as is, an item rebuilt less closely ranks lower for that alone, though its true cosine with the
    query is no smaller. Dividing by |x̂| removes that bias (+0.002 to +0.009 recall@10 on
    WordNet–MiniLM, +0.04 on MovieLens; see README). A model of raw inputs, whose lengths carry
    meaning, keeps x̂ as is.
    """
    decoder = model.decoder.detach().cpu().numpy()
    x_hat = np.asarray(codes @ decoder, dtype=np.float32) + model.pre_bias.detach().cpu().numpy()
    if model.config.normalize:
        x_hat /= np.maximum(np.linalg.norm(x_hat, axis=1, keepdims=True), 1e-12)
    return x_hat
