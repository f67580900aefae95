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


@torch.no_grad()
def refine_decoder(
    model: SparseAutoencoder, x: np.ndarray, rows: np.ndarray, rounds: int, show_progress_bar: bool = False
) -> list[float]:
    """Run `rounds` rounds on `x[rows]` in place; returns the mean reconstruction cosine of each
    round's codes (before its update), so the log shows what every round bought."""
    device = model.decoder.device
    if rows.size > MAX_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(rows, MAX_ROWS, replace=False))
    data = np.asarray(x[rows], dtype=np.float32)
    cosines = []
    for round_ in range(rounds):
        codes = encode(model, data, device=device, show_progress_bar=show_progress_bar, reconstruction=True)
        gram = (codes.T @ codes).toarray().astype(np.float64)
        rhs = np.zeros((model.config.h, model.config.d))
        cos_sum = 0.0
        for lo in range(0, data.shape[0], BATCH):
            unit = model.preprocess(torch.from_numpy(data[lo : lo + BATCH]).to(device))
            z = codes[lo : lo + BATCH]
            rhs += z.T @ (unit - model.pre_bias).double().cpu().numpy()
            rebuilt = torch.from_numpy(z @ model.decoder.cpu().numpy()).to(device) + model.pre_bias
            cos_sum += F.cosine_similarity(rebuilt, unit).sum().item()
        cosines.append(cos_sum / data.shape[0])
        used = np.diag(gram) > 0
        gram[np.diag_indices_from(gram)] += RIDGE * np.diag(gram)[used].mean()
        # torch's Cholesky, not scipy.linalg.solve: scipy's bundled OpenBLAS crashed on h=16,384 systems here.
        factor = torch.linalg.cholesky(torch.from_numpy(gram))
        solved = torch.cholesky_solve(torch.from_numpy(rhs), factor).float().to(device)
        used_rows = torch.from_numpy(used).to(device)
        model.decoder[used_rows] = solved[used_rows]
        model.unit_norm_decoder_()
        logger.info("decoder round %d: cosine %.4f before it, %d latents unused", round_, cosines[-1], (~used).sum())
    return cosines
