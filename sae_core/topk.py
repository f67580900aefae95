"""TopK selection, kept apart from the autoencoder so the coding rule can be tested alone."""

from __future__ import annotations

import torch
import torch.nn.functional as F

GROUP = 8
"""Entries per group in `largest_indices`' exact two-pass selection on CPU. On 2 CPU cores a plain
`torch.topk` over `[4096, 4096]` costs about as much as the encoder's matmul that produced it; the
two passes cut that by a third at h=4096 and a quarter at h=16384 (8 beat 4, 16 and 32 there)."""


def largest_indices(scores: torch.Tensor, m: int) -> torch.Tensor:
    """Indices `[n, m]` of the m largest entries of each row of `scores [n, h]`, in no order.

    On CPU, exactly as `torch.topk` but in two cheaper passes: split each row into groups of
    `GROUP`, keep the m groups with the largest maxima, then take the m largest of their m·GROUP
    entries. Exact because each of a row's m largest entries lies in a group whose maximum is at
    least the m-th largest value, and at most m groups can have such a maximum (ties at that
    value may resolve to other, equal entries). Elsewhere, or when the groups would not narrow
    the search (m·GROUP > h/2), `torch.topk` directly. No gradient flows through the choice.
    """
    n, h = scores.shape
    if scores.device.type != "cpu" or h % GROUP or 2 * m * GROUP > h:
        return scores.topk(m, dim=-1, sorted=False).indices
    with torch.no_grad():
        # max_pool1d reads each row once with vector loads: 3-4x faster than `.reshape(...).amax(-1)`.
        maxima = F.max_pool1d(scores.unsqueeze(1), GROUP, GROUP).squeeze(1)
        groups = maxima.topk(m, dim=-1, sorted=False).indices
        candidates = (groups.unsqueeze(-1) * GROUP + torch.arange(GROUP, device=scores.device)).reshape(n, -1)
        return candidates.gather(1, scores.gather(1, candidates).topk(m, dim=-1, sorted=False).indices)


def topk_codes(pre: torch.Tensor, k: int, signed: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Select the k latents that a stored code keeps.

    Non-negative rule (default): the k largest pre-activations, then ReLU, so every weight is >= 0
    as Milvus and OpenSearch require. Signed rule: the k largest |pre-activations| with their sign.

    Args:
        pre: pre-activations `[n, h]`.
        k: non-zeros per row.
        signed: which rule.

    Returns:
        `(indices [n, k] int64, values [n, k])`; a non-negative value may be 0 when fewer than k
        pre-activations are positive. Values are gathered from `pre`, so gradients reach it.
    """
    idx = largest_indices(pre.abs() if signed else pre, k)
    values = pre.gather(-1, idx)
    return idx, values if signed else values.relu()
