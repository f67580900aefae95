"""TopK selection, kept apart from the autoencoder so the coding rule can be tested alone."""

from __future__ import annotations

import torch


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
        pre-activations are positive.
    """
    if signed:
        idx = pre.abs().topk(k, dim=-1, sorted=False).indices
        return idx, pre.gather(-1, idx)
    values, idx = pre.topk(k, dim=-1, sorted=False)
    return idx, values.relu()
