"""Shortlist selection: the encoder proposes, least squares decides.

TopK keeps the k largest pre-activations of one linear map, blind to how the chosen decoder rows
overlap: two latents that explain the same direction can both be kept while a third that explains
what is left is not. Matching pursuit fixes that with a product with the decoder per step
(`sae_core.pursuit`); a shortlist fixes most of it for a fraction of one:

    S₀ = TopK(pre, f·k)                      the encoder's f·k best latents
    v  = argmin_v ‖x̄ − b_pre − v W_dec[S₀]‖²  least squares over all of them
    S  = the k latents of S₀ with the largest v (largest |v| when signed)
    values = least squares on S               as for TopK codes (`sae_core.refit`)

The first solve explains the input by f·k rows at once, so a redundant latent gets a small value
and drops out, and the kept k are those the joint fit leaned on. Both solves touch only the chosen
rows (f·k·d and k·d multiply-adds per step and item, where the encoder's matmul costs h·d), but
they are gathers, bound by memory rather than arithmetic: on CPU they cost more than the matmul
itself, which is why encoding with a shortlist is several times slower than a plain `X @ W_encᵀ`
(`benchmarks/encode_throughput.py` measures each rule beside the matmul).
"""

from __future__ import annotations

import torch

from saevdb.sae_core.refit import iterative_least_squares_values
from saevdb.sae_core.topk import topk_codes


@torch.no_grad()
def shortlist_codes(
    pre: torch.Tensor, target: torch.Tensor, decoder: torch.Tensor, k: int, factor: int, signed: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """`(indices [n, k], values [n, k])` chosen from the encoder's `factor·k` largest pre-activations.

    Args:
        pre: pre-activations `[n, h]`.
        target: what the code must rebuild, `x̄ - b_pre`, `[n, d]`.
        decoder: `W_dec [h, d]`.
        k: non-zeros per code.
        factor: shortlist length in multiples of k; 1 is plain TopK with least-squares values.
        signed: keep the largest |values| with their sign instead of the largest positive ones.
    """
    wide = min(pre.shape[1], factor * k)
    idx, start = topk_codes(pre, wide, signed)
    if wide > k:
        # Unconstrained solve over the shortlist: a value's sign says whether the joint fit wants it.
        joint = iterative_least_squares_values(idx, target, decoder, start, nonneg=False)
        keep = (joint.abs() if signed else joint).topk(k, dim=1, sorted=False).indices
        idx, start = idx.gather(1, keep), joint.gather(1, keep)
        if not signed:
            start = start.clamp_min(0)
    return idx, iterative_least_squares_values(idx, target, decoder, start, nonneg=not signed)
