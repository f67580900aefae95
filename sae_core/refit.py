"""Least-squares values for a chosen support.

The encoder is good at choosing *which* k latents to keep but its values are a single linear map,
blind to how the chosen decoder rows overlap. Solving for the values that best rebuild the input
from exactly those rows — a k × k system per row — keeps the same bytes and makes the reconstruction
the input's projection onto those rows: the closest any values can rebuild it.

Two solvers of the same system: training differentiates through an exact Cholesky solve of
gathered decoder rows; encoding, which needs no gradient and is judged against a bare matmul, runs a
few conjugate-gradient steps that touch the decoder only through sparse products.
"""

from __future__ import annotations

import warnings

import torch

from saevdb.sae_core.losses import sparse_decode

RIDGE = 1e-4
"""Added to the Gram diagonal: keeps the system solvable when two chosen rows nearly coincide."""

CHUNK = 64
"""Rows solved together: their gathered decoder rows (`CHUNK × k × d` floats, 3 MB at k=32, d=384)
stay in cache, where gathering a whole batch at once would write hundreds of MB."""

CG_STEPS = 3
"""Conjugate-gradient steps from the encoder's values. The k × k Gram matrices of a trained dictionary
are well conditioned (its rows are nearly orthogonal), so CG's error falls fast: a few steps from a
good start leave the values close to the exact solve's, at a fraction of its cost (the README's
encode benchmark measures both)."""


def least_squares_values(idx: torch.Tensor, target: torch.Tensor, decoder: torch.Tensor, nonneg: bool) -> torch.Tensor:
    """Values `[n, k]` minimising `‖target - Σ_j values_j · W_dec[idx_j]‖²` per row, exactly.

    Args:
        idx: chosen latents `[n, k]`.
        target: what the code must rebuild, `x̄ - b_pre`, `[n, d]`.
        decoder: `W_dec [h, d]`; gradients flow into it, which is why training uses this solver.
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
            chosen = idx[lo : lo + CHUNK]
            # index_select's backward is an index_add; fancy indexing's (index_put) runs serially on CPU.
            gathered = decoder.index_select(0, chosen.reshape(-1)).view(*chosen.shape, -1)
            rows = torch.cat([gathered.float(), target[lo : lo + CHUNK].float().unsqueeze(1)], 1)
            products = rows[:, :k] @ rows.transpose(1, 2)  # [chunk, k, k + 1]
            factor, _ = torch.linalg.cholesky_ex(products[:, :, :k] + ridge)  # SPD thanks to the ridge
            parts.append(torch.cholesky_solve(products[:, :, k:], factor).squeeze(-1))
    values = torch.cat(parts)
    return values.clamp_min(0) if nonneg else values


@torch.no_grad()
def iterative_least_squares_values(
    idx: torch.Tensor,
    target: torch.Tensor,
    decoder: torch.Tensor,
    initial: torch.Tensor,
    nonneg: bool,
    steps: int = CG_STEPS,
) -> torch.Tensor:
    """The system of `least_squares_values`, solved approximately by conjugate gradients.

    The Gram matrix `W_S W_Sᵀ` is never formed: each step applies it as a decode
    (`embedding_bag`, k rows summed per item) followed by the decoder rows' dot products with the
    result, a sampled dense-dense product (`torch.sparse.sampled_addmm`) on the code's own sparsity
    pattern. Both read only the k chosen rows per item, where gathering them for a Cholesky solve
    wrote `n × k × d` floats and cost as much as the encoder's matmul.

    Args:
        idx: chosen latents `[n, k]`.
        target: `x̄ - b_pre`, `[n, d]`.
        decoder: `W_dec [h, d]`.
        initial: starting values `[n, k]`, the encoder's own: already within ~30% of the solution.
        nonneg: clamp negative solutions to 0, as `least_squares_values`.
        steps: conjugate-gradient steps; k steps would be exact in exact arithmetic.
    """
    n, k = idx.shape
    with torch.autocast(idx.device.type, enabled=False):
        decoder, target = decoder.float(), target.float()
        with warnings.catch_warnings():  # sparse CSR tensors print a "beta" warning on creation
            warnings.simplefilter("ignore", UserWarning)
            pattern = torch.sparse_csr_tensor(
                torch.arange(0, n * k + 1, k, device=idx.device),
                idx.reshape(-1),
                torch.zeros(n * k, device=idx.device),
                size=(n, decoder.shape[0]),
                check_invariants=False,
            )

        def correlate(rows: torch.Tensor) -> torch.Tensor:
            """`[n, d]` → `[n, k]`: each chosen decoder row's dot product with its item's row."""
            return torch.sparse.sampled_addmm(pattern, rows, decoder.T).values().view(n, k)

        def gram(values: torch.Tensor) -> torch.Tensor:
            return correlate(sparse_decode(idx, values, decoder, 0)) + RIDGE * values

        values = initial.float().clone()
        # W_S t - (W_S W_Sᵀ + λI) v
        residual = correlate(target - sparse_decode(idx, values, decoder, 0)) - RIDGE * values
        direction = residual.clone()
        norm = residual.square().sum(1, keepdim=True)
        for _ in range(steps):
            applied = gram(direction)
            step = norm / (direction * applied).sum(1, keepdim=True).clamp_min(1e-30)
            values += step * direction
            residual -= step * applied
            new_norm = residual.square().sum(1, keepdim=True)
            direction = residual + new_norm / norm.clamp_min(1e-30) * direction
            norm = new_norm
    return values.clamp_min(0) if nonneg else values
