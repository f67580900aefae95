"""Matching pursuit: choose a code's support against the residual instead of in one shot.

The encoder's TopK picks all k latents from one linear map of the input, blind to how the chosen
decoder rows overlap. Pursuit picks a few latents at a time by their decoder rows' correlation with
what is still unexplained, re-solving the values after each pick (orthogonal matching pursuit,
several atoms per step). With the same model and the same bytes the codes rebuild inputs more
closely (benchmarks/results/ has the measured gain); it costs `steps` products with the decoder
where TopK costs one with the encoder.
"""

from __future__ import annotations

import torch

from saevdb.sae_core.losses import sparse_decode
from saevdb.sae_core.refit import iterative_least_squares_values
from saevdb.sae_core.topk import largest_indices


@torch.no_grad()
def pursuit_codes(
    target: torch.Tensor, decoder: torch.Tensor, k: int, signed: bool, steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """`(indices [n, k], values [n, k])` chosen greedily to rebuild `target [n, d]` (`x̄ - b_pre`),
    ⌈k / steps⌉ latents a step (`SAEConfig.pursuit_steps`).

    Non-negative rule: a latent is picked for a positive correlation with the residual and its
    value is clamped at 0 as after TopK; signed rule: by |correlation|, values keep their sign.
    """
    n, per_step = target.shape[0], -(-k // steps)
    idx = torch.empty(n, 0, dtype=torch.long, device=target.device)
    values = target.new_zeros(n, 0)
    residual = target
    while idx.shape[1] < k:
        scores = residual @ decoder.T
        scores = (scores.abs() if signed else scores).float().scatter_(1, idx, float("-inf"))
        new = largest_indices(scores, min(per_step, k - idx.shape[1]))
        idx = torch.cat([idx, new], 1)
        start = torch.cat([values, values.new_zeros(new.shape)], 1)  # earlier values carry over
        values = iterative_least_squares_values(idx, target, decoder, start, nonneg=not signed)
        residual = target - sparse_decode(idx, values, decoder.float(), 0)
    return idx, values
