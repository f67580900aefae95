"""Training objectives: what the codes must preserve.

- Multi-TopK cosine reconstruction, L(k) + L(4k)/8 (CompresSAE): codes must rebuild the input, and
  the 4k term keeps the ranking of latents beyond the k-th meaningful, so a smaller or larger k at
  query time still works.
- AuxK (OpenAI TopK SAEs): dead latents are asked to explain the residual, which revives them.
- In-batch similarity distillation: the engine scores code · code, so the softmax over a batch of
  code · code is pulled towards the softmax of the dense cosines (listwise, as in CSR's
  contrastive term but with the dense model as teacher, since we have vectors and no text pairs).
- First-stage distillation: the same listwise target, but the student is the score a two-stage
  search ranks its candidates by — the query cut to its k_q largest positive weights of `W_dec q̄`
  against the stored codes — trained on batches that hold each anchor's true neighbours
  (`train.TrainConfig.mined_neighbours`), so the top-R that is re-scored holds the true top-10.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from saevdb.sae_core.topk import largest_indices


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


def listwise_distillation(teacher: torch.Tensor, student: torch.Tensor, tau_t: float, tau_s: float) -> torch.Tensor:
    """KL(softmax(teacher / τ_t) ‖ softmax(student / τ_s)) over each row of two `[n, n]` in-batch
    score matrices (row i: query i against every row of the batch), the diagonal (self) excluded."""
    eye = torch.eye(teacher.shape[0], dtype=torch.bool, device=teacher.device)
    return F.kl_div(
        (student / tau_s).masked_fill(eye, float("-inf")).log_softmax(-1).masked_fill(eye, 0),
        (teacher / tau_t).masked_fill(eye, float("-inf")).log_softmax(-1).masked_fill(eye, 0),
        log_target=True,
        reduction="batchmean",
    )


def similarity_distillation_loss(
    x: torch.Tensor, codes: torch.Tensor, teacher_temperature: float, student_temperature: float
) -> torch.Tensor:
    """Listwise distillation of the dense cosines `x xᵀ` into the symmetric code scores `c cᵀ`.

    Args:
        x: unit-length inputs `[n, d]`.
        codes: `[n, h]` in the layout the engine scores (dense tensor with k non-zeros per row).
    """
    return listwise_distillation(x @ x.T, codes @ codes.T, teacher_temperature, student_temperature)


def first_stage_loss(
    x: torch.Tensor,
    codes: torch.Tensor,
    decoder: torch.Tensor,
    query_k: int,
    teacher_temperature: float,
    student_temperature: float,
) -> torch.Tensor:
    """Listwise distillation of the dense cosines into the scores a first stage ranks by.

    Each row is a query: its weights are the `query_k` largest positive entries of `W_dec x̄`
    (what `query.query_vectors` sends in `asymmetric_nonneg` mode; the choice carries no gradient,
    the values do), scored against the stored codes of the batch, `s = w cᵀ`. At a low teacher
    temperature the target mass sits on each query's nearest rows in the batch, so the loss asks
    that the true neighbours outrank the rest under the cut query — the order the top-R candidates
    are taken in — rather than that each code rebuild its own vector.

    Args:
        x: unit-length inputs `[n, d]` (the queries and the database of the batch).
        codes: stored codes `[n, h]`, dense layout, k non-zeros per row.
        decoder: `W_dec [h, d]`.
    """
    weights = x @ decoder.T
    keep = largest_indices(weights.detach(), query_k)
    cut = torch.zeros_like(weights).scatter(-1, keep, weights.gather(-1, keep).relu())
    return listwise_distillation(x @ x.T, cut @ codes.T, teacher_temperature, student_temperature)
