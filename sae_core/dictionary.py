"""Closed-form decoder updates for the codes a model stores (the Method of Optimal Directions).

SGD trains the decoder for the encoder's plain TopK supports. The stored codes choose their
supports otherwise — by a least-squares shortlist (`sae_core.shortlist`) or by matching pursuit —
so after SGD the decoder is refit to them: encode the training rows as they will be stored (before
any cosine scaling), solve `min_D ‖T − Z D‖²` for all rows at once (an h × h system from the sparse
codes Z), scale rows back to unit norm, repeat. Each round can only lower the squared error of the
codes it was solved for; the held-out gain per round shrinks (`saevdb refine` runs more).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F

from saevdb.sae_core.encode import encode
from saevdb.sae_core.model import SparseAutoencoder

logger = logging.getLogger(__name__)

RIDGE = 1e-3
"""Relative to the mean of diag(ZᵀZ): keeps the system positive definite when latents co-occur
rarely; a latent no code uses keeps its old row."""

BATCH = 16_384
"""Rows whose targets are formed at once while accumulating ZᵀT."""

MAX_ROWS = 200_000
"""Rows the refit reads (a seeded sample beyond that): held in memory as float32, 300 MB at d=384,
and with k=32 over 6 million code entries, some 400 per latent at h=16,384."""


GRAM_ROWS = 1024
"""Codes whose outer products are added to the system at once: k² int64 pair indices each, 14 MB at k = 42."""

DEFAULT_MAX_MEMORY = 2 << 30
"""Bytes the h × h system may take. torch's Cholesky and its solve each copy the system once while
they run (`out=` or not), so a system of b bytes needs 2b: float64 up to h = 11,585, float32 up to
h = 16,384 (the peaks before and after: benchmarks/peak_memory.py)."""


def system_dtype(h: int, max_memory: int) -> torch.dtype:
    """float64 where the system and the copy its factorisation makes fit in `max_memory` bytes
    (16 h²), else float32 (8 h²); a budget below that is refused, naming both figures."""
    if 16 * h * h <= max_memory:
        return torch.float64
    if 8 * h * h <= max_memory:
        return torch.float32
    raise ValueError(
        f"the decoder refit at h={h} needs {8 * h * h / 2**20:,.0f} MB for its h × h system (float32, with"
        f" the copy its factorisation makes); the memory budget is {max_memory / 2**20:,.0f} MB: raise it,"
        " or set decoder rounds to 0"
    )


def _gram(codes, dtype: torch.dtype, ridge: float) -> tuple[torch.Tensor, np.ndarray]:
    """`(ZᵀZ + ridge·mean(diag)·I as a dense [h, h] tensor of `dtype`, used [h])`, summed from each
    code's k × k outer product, `GRAM_ROWS` codes at a time: scipy's sparse ZᵀZ and its copies took
    more than the dense system itself at h = 16,384, k = 42."""
    n, h = codes.shape
    gram = torch.zeros(h, h, dtype=dtype)
    flat = gram.view(-1)
    width = int(np.diff(codes.indptr).max(initial=1))
    for lo in range(0, n, GRAM_ROWS):
        block = codes[lo : lo + GRAM_ROWS]
        present = np.arange(width) < np.diff(block.indptr)[:, None]  # [b, width]: rows may hold fewer than k
        index, value = np.zeros(present.shape, dtype=np.int64), np.zeros(present.shape, dtype=np.float64)
        index[present], value[present] = block.indices, block.data
        pairs = torch.from_numpy(index[:, :, None] * h + index[:, None, :]).view(-1)
        flat.index_add_(0, pairs, torch.from_numpy(value[:, :, None] * value[:, None, :]).view(-1).to(dtype))
    diagonal = gram.diagonal()
    used = (diagonal > 0).numpy().copy()
    diagonal += ridge * float(diagonal[torch.from_numpy(used)].mean())
    return gram, used


@torch.no_grad()
def refine_decoder(
    model: SparseAutoencoder,
    x: np.ndarray,
    rows: np.ndarray,
    rounds: int,
    show_progress_bar: bool = False,
    max_memory: int = DEFAULT_MAX_MEMORY,
) -> list[float]:
    """Run `rounds` rounds on `x[rows]` in place; returns the mean reconstruction cosine of each
    round's codes (before its update), so the log shows what every round bought. The system is
    solved in `system_dtype(h, max_memory)`."""
    device = model.decoder.device
    dtype = system_dtype(model.config.h, max_memory)
    if rows.size > MAX_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(rows, MAX_ROWS, replace=False))
    data = np.asarray(x[rows], dtype=np.float32)
    cosines = []
    for round_ in range(rounds):
        codes = encode(model, data, device=device, show_progress_bar=show_progress_bar, reconstruction=True)
        rhs = np.zeros((model.config.h, model.config.d))
        cos_sum = 0.0
        for lo in range(0, data.shape[0], BATCH):
            unit = model.preprocess(torch.from_numpy(data[lo : lo + BATCH]).to(device))
            z = codes[lo : lo + BATCH]
            rhs += z.T @ (unit - model.pre_bias).double().cpu().numpy()
            rebuilt = torch.from_numpy(z @ model.decoder.cpu().numpy()).to(device) + model.pre_bias
            cos_sum += F.cosine_similarity(rebuilt, unit).sum().item()
        cosines.append(cos_sum / data.shape[0])
        gram, used = _gram(codes, dtype, RIDGE)
        # torch's Cholesky, not scipy.linalg.solve: scipy's bundled OpenBLAS crashed on h=16,384 systems here.
        factor = torch.linalg.cholesky(gram, out=gram)  # the factor takes the system's memory once done
        solved = torch.cholesky_solve(torch.from_numpy(rhs).to(dtype), factor).float().to(device)
        del gram, factor
        used_rows = torch.from_numpy(used).to(device)
        model.decoder[used_rows] = solved[used_rows]
        model.unit_norm_decoder_()
        logger.info("decoder round %d: cosine %.4f before it, %d latents unused", round_, cosines[-1], (~used).sum())
    return cosines
