"""The TopK sparse autoencoder (CompresSAE / OpenAI TopK SAE).

    z = TopK(W_enc (x̄ - b_pre) + b_enc),   x̄ = x / ||x||
    x̂ = W_decᵀ z + b_pre,                   rows of W_dec have unit norm

With `config.refit` the values of the k chosen latents are then set by least squares
(`sae_core.refit`), so the same k (index, value) pairs rebuild x̄ as closely as they can.
Only the k (index, value) pairs of z are stored; an engine scores them by inner product.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.pursuit import pursuit_codes
from saevdb.sae_core.refit import iterative_least_squares_values
from saevdb.sae_core.topk import topk_codes


class SparseAutoencoder(nn.Module):
    """Maps `[n, d]` dense vectors to `[n, h]` codes with k non-zeros per row, and back."""

    def __init__(self, config: SAEConfig) -> None:
        super().__init__()
        self.config = config
        self.pre_bias = nn.Parameter(torch.zeros(config.d))
        self.encoder = nn.Linear(config.d, config.h)
        self.decoder = nn.Parameter(self.encoder.weight.detach().clone())
        nn.init.zeros_(self.encoder.bias)
        # Samples seen since each latent last fired; a buffer so it is saved with the weights.
        self.register_buffer("samples_since_fired", torch.zeros(config.h, dtype=torch.long))
        self.unit_norm_decoder_()

    @torch.no_grad()
    def unit_norm_decoder_(self) -> None:
        """Scale decoder rows back to unit norm, as after every optimiser step."""
        self.decoder.div_(self.decoder.norm(dim=1, keepdim=True).clamp_min(1e-8))

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """`[n, d]` → `[n, d]` unit rows when the config asks for them."""
        return F.normalize(x, dim=-1) if self.config.normalize else x

    def encode_topk(self, x: torch.Tensor, k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """`[n, d]` → `(indices [n, k], values [n, k])`, the form that is stored: TopK chooses the
        latents, then (with `config.refit`) least squares sets their values; or, with
        `config.support == "pursuit"`, matching pursuit chooses them and sets their values."""
        xn = self.preprocess(x)
        if self.config.support == "pursuit":
            return pursuit_codes(
                xn - self.pre_bias, self.decoder, k or self.config.k, self.config.signed, self.config.pursuit_steps
            )
        pre = self.encoder(xn - self.pre_bias)
        idx, values = topk_codes(pre, k or self.config.k, self.config.signed)
        if self.config.refit:
            values = iterative_least_squares_values(
                idx, xn - self.pre_bias, self.decoder, values, nonneg=not self.config.signed
            )
        return idx, values

    def encode(self, x: torch.Tensor, k: int | None = None) -> torch.Tensor:
        """`[n, d]` → dense-layout codes `[n, h]` with at most k non-zeros per row."""
        idx, values = self.encode_topk(x, k)
        return torch.zeros(x.shape[0], self.config.h, dtype=values.dtype, device=x.device).scatter_(-1, idx, values)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """`[n, h]` codes → `[n, d]` reconstructions of the unit-length inputs."""
        return z @ self.decoder + self.pre_bias

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`[n, d]` → `(codes [n, h], reconstructions [n, d])`."""
        z = self.encode(x)
        return z, self.decode(z)

    def project_query(self, q: torch.Tensor) -> torch.Tensor:
        """`[n, d]` queries → `[n, h]` weights `W_dec q̄`, whose inner product with a code z equals
        `q̄ · x̂ - q̄ · b_pre`: items are ranked by their reconstructions (the asymmetric mode)."""
        return self.preprocess(q) @ self.decoder.T
