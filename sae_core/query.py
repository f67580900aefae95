"""How a dense query becomes the sparse weights an engine scores stored codes with.

- symmetric: the query's own code, from the same encoder as the items (any k_q).
- asymmetric: `W_dec q̄` — inner products with codes then rank items by q̄ · x̂, their
  reconstructions — kept to the k_q largest |weights|; signed, so Qdrant only.
- asymmetric_nonneg: the k_q largest positive weights of `W_dec q̄`, as Milvus and OpenSearch
  accept only non-negative query weights.

The default (`default_query_mode`) is `asymmetric` only for a full-width query to an engine that
scores signed weights (Qdrant), else `asymmetric_nonneg`. At full width the signed query is exact,
`q̄ · (x̂ − b_pre)`; dropping its negative weights drops the part that pushes items away from the
query. A query cut to k_q weights is exact neither way, and its slots then rank better spent on
positive weights, which name the items that share the query's directions: the signed cut gives
some of them to pushing items away and ranked worse at every cut width measured on MovieLens,
GloVe and WordNet codes (`benchmarks/query_sign.py`, RESULTS.md). The
signed query also names about twice the posting lists at full width, so it costs search time.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from threadpoolctl import ThreadpoolController

from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.validation import check_embeddings

QUERY_MODES = ("symmetric", "asymmetric", "asymmetric_nonneg")
_BLAS = ThreadpoolController()


def default_query_mode(signed_weights: bool, full_width: bool = True) -> str:
    """The asymmetric query to send: signed (`asymmetric`) where the engine scores negative weights
    (Qdrant) and the query keeps all h weights; the non-negative part otherwise (Milvus,
    OpenSearch, and any query cut to k_q < h weights; see the module docstring)."""
    return "asymmetric" if signed_weights and full_width else "asymmetric_nonneg"


def default_query_k(config: SAEConfig, mode: str = "asymmetric_nonneg") -> int:
    """Non-zeros per query when the caller names none: all h weights of `W_dec q̄` for the
    asymmetric modes (the positive ones for `asymmetric_nonneg`), k for a symmetric query, whose
    own code is what the encoder was trained for.

    A query is not stored, so only search time pays for its width. At full width the engine's
    inner product with a code is `q̄ · (x̂ − b_pre)` (over |x̂| for `cosine_values` codes) for every
    item: the order the stored codes can give, with nothing lost to truncating the query. Its cost
    is that the engine walks every posting list the query names, up to all n·k stored entries,
    so search time grows with n; a smaller `query_k` walks fewer lists and ranks less closely
    (`benchmarks/query_cost.py` measures both sides)."""
    return config.k if mode == "symmetric" else config.h


def _sparsify(weights: np.ndarray, k: int, nonneg: bool) -> sp.csr_matrix:
    """Keep the k largest |weights| (or largest positive ones) of each row of `[q, h]`.

    The CSR is assembled from its three arrays (k slots a row, then the zeros dropped) rather than
    converted from coordinates: a query is encoded once per search, and the conversion's sorting
    and duplicate summing cost more than the rest of the encoding for one row."""
    keyed = weights if nonneg else np.abs(weights)
    idx = np.argpartition(keyed, -k, axis=1)[:, -k:]
    idx.sort(axis=1)
    vals = np.take_along_axis(weights, idx, axis=1)
    if nonneg:
        vals = np.maximum(vals, 0)
    indptr = np.arange(0, idx.size + 1, k)
    out = sp.csr_matrix((vals.ravel(), idx.ravel(), indptr), shape=weights.shape)
    out.eliminate_zeros()
    return out


def query_vectors(model: SparseAutoencoder, queries: np.ndarray, mode: str, k: int | None = None) -> sp.csr_matrix:
    """`[q, d]` dense queries → `[q, h]` sparse query weights for `mode` (see module docstring), with
    k non-zeros per row; None means `default_query_k`.

    The asymmetric weights are `model.project_query`'s, `preprocess(q) · W_decᵀ`, with the product
    taken by numpy on the decoder's CPU tensor (a view, not a copy): for the one-row queries of a
    search, numpy's BLAS call is faster than torch's CPU matmul of the same shapes
    (`benchmarks/query_path.py` times the encoding), and a search pays it once per query. The BLAS
    call runs on one thread: searches run concurrently from the caller's own threads, and a BLAS
    pool per call under several of them oversubscribes the cores (`query_path.py` and the capped runs'
    4-client QPS measure it). The limit is the BLAS library's, process-wide while the call runs."""
    queries = check_embeddings(queries, model.config.d, name="queries")
    k = k or default_query_k(model.config, mode)
    if not 0 < k <= model.config.h:
        raise ValueError(f"query k={k} must be in 1..h={model.config.h}")
    if mode == "symmetric":
        return encode(model, queries, k=k, show_progress_bar=False)
    if mode not in QUERY_MODES:
        raise ValueError(f"query mode must be one of {QUERY_MODES}, got {mode!r}")
    with torch.no_grad():
        unit = model.preprocess(torch.from_numpy(np.asarray(queries, dtype=np.float32))).numpy()
        with _BLAS.limit(limits=1, user_api="blas"):
            projected = unit @ model.decoder.detach().cpu().numpy().T
    return _sparsify(projected, k, nonneg=mode == "asymmetric_nonneg")
