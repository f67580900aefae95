"""Least-squares values for a chosen support.

The encoder is good at choosing *which* k latents to keep but its values are a single linear map,
blind to how the chosen decoder rows overlap. Solving for the values that best rebuild the input
from exactly those rows — a k × k system per row — keeps the same bytes and, on WordNet–MiniLM
(h=4096, k=32), lifts recall@10 of reconstruction scoring from 0.52 to 0.76.
"""

from __future__ import annotations

import torch

RIDGE = 1e-4
"""Added to the Gram diagonal: keeps the system solvable when two chosen rows nearly coincide."""

CHUNK = 64
"""Rows solved together: their gathered decoder rows (`CHUNK × k × d` floats, 3 MB at k=32, d=384)
stay in cache; gathering a whole 4,096-row batch at once wrote 200 MB and took twice as long."""


def least_squares_values(idx: torch.Tensor, target: torch.Tensor, decoder: torch.Tensor, nonneg: bool) -> torch.Tensor:
    """Values `[n, k]` minimising `‖target - Σ_j values_j · W_dec[idx_j]‖²` per row.

    Args:
        idx: chosen latents `[n, k]`.
        target: what the code must rebuild, `x̄ - b_pre`, `[n, d]`.
        decoder: `W_dec [h, d]`; gradients flow into it, so training can use this too.
        nonneg: clamp negative solutions to 0 (the non-negative coding rule); in practice well
            under 1% of values are negative, and clamping them costs no measurable recall.
    """
    k = idx.shape[1]
    ridge = RIDGE * torch.eye(k, device=idx.device)
    parts = []
    with torch.autocast(idx.device.type, enabled=False):  # a k × k solve needs float32 even on GPU
        for lo in range(0, idx.shape[0], CHUNK):
            # The target rides along as row k + 1, so one batched product gives the Gram matrix and
            # the right-hand side: a separate batched mat-vec cost as much as the Gram itself.
            rows = torch.cat([decoder[idx[lo : lo + CHUNK]].float(), target[lo : lo + CHUNK].float().unsqueeze(1)], 1)
            products = rows[:, :k] @ rows.transpose(1, 2)  # [chunk, k, k + 1]
            factor, _ = torch.linalg.cholesky_ex(products[:, :, :k] + ridge)  # SPD thanks to the ridge
            parts.append(torch.cholesky_solve(products[:, :, k:], factor).squeeze(-1))
    values = torch.cat(parts)
    return values.clamp_min(0) if nonneg else values
