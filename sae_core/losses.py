"""Training objectives: what the codes must preserve.

- Multi-TopK cosine reconstruction, L(k) + L(4k)/8 (CompresSAE): codes must rebuild the input, and
  the 4k term keeps the ranking of latents beyond the k-th meaningful, so a smaller or larger k at
  query time still works.
- AuxK (OpenAI TopK SAEs): dead latents are asked to explain the residual, which revives them.
- In-batch similarity distillation: the engine scores code · code, so the softmax over a batch of
  code · code is pulled towards the softmax of the dense cosines (listwise, as in CSR's
  contrastive term but with the dense model as teacher, since we have vectors and no text pairs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cosine_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean `1 - cos(x̂, x)` over rows of `[n, d]`."""
    return (1 - F.cosine_similarity(x_hat, x, dim=-1)).mean()


def sparse_decode(idx: torch.Tensor, values: torch.Tensor, decoder: torch.Tensor, bias: torch.Tensor):
    """`(indices [n, k], values [n, k])` → `[n, d]` as `Σ values · W_dec[indices] + b`, in O(n k d)
    instead of the O(n h d) of a dense product."""
    return F.embedding_bag(idx, decoder, per_sample_weights=values, mode="sum") + bias


def auxk_loss(
    pre: torch.Tensor, residual: torch.Tensor, dead: torch.Tensor, k_aux: int, decoder: torch.Tensor
) -> torch.Tensor:
    """Normalised MSE of dead latents' reconstruction of the residual `x - x̂`.

    Args:
        pre: pre-activations `[n, h]`.
        residual: `[n, d]`, detached.
        dead: bool mask `[h]` of latents that have not fired for a while.
        k_aux: latents per row to use, at most the number of dead ones.
        decoder: `W_dec [h, d]`.
    """
    n_dead = int(dead.sum())
    if n_dead == 0:
        return pre.new_zeros(())
    masked = pre.masked_fill(~dead, float("-inf"))
    values, idx = masked.topk(min(k_aux, n_dead), dim=-1)
    e_hat = F.embedding_bag(idx, decoder, per_sample_weights=values.relu(), mode="sum")
    return (e_hat - residual).pow(2).sum(-1).mean() / residual.pow(2).sum(-1).mean().clamp_min(1e-8)


def similarity_distillation_loss(
    x: torch.Tensor, codes: torch.Tensor, teacher_temperature: float, student_temperature: float
) -> torch.Tensor:
    """KL(softmax(x xᵀ / τ_t) ‖ softmax(c cᵀ / τ_s)) over each row of a batch, self excluded.

    Args:
        x: unit-length inputs `[n, d]`.
        codes: `[n, h]` in the layout the engine scores (dense tensor with k non-zeros per row).
    """
    eye = torch.eye(x.shape[0], dtype=torch.bool, device=x.device)
    teacher = (x @ x.T / teacher_temperature).masked_fill(eye, float("-inf"))
    student = (codes @ codes.T / student_temperature).masked_fill(eye, float("-inf"))
    return F.kl_div(
        student.log_softmax(-1).masked_fill(eye, 0),
        teacher.log_softmax(-1).masked_fill(eye, 0),
        log_target=True,
        reduction="batchmean",
    )
