"""The TopK sparse autoencoder (CompresSAE / OpenAI TopK SAE).

    z = TopK(W_enc (x̄ - b_pre) + b_enc),   x̄ = x / ||x||
    x̂ = W_decᵀ z + b_pre,                   rows of W_dec have unit norm

With `config.refit` the values of the k chosen latents are then set by least squares
(`sae_core.refit`), so the same k (index, value) pairs rebuild x̄ as closely as they can; with
`config.shortlist` > 1 least squares also chooses the k among the encoder's best (`sae_core.shortlist`).
Only the k (index, value) pairs of z are stored; an engine scores them by inner product, and with
`config.cosine_values` the stored values are z/|x̂|, so that score estimates a cosine.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.losses import sparse_decode
from saevdb.sae_core.pursuit import pursuit_codes
from saevdb.sae_core.refit import iterative_least_squares_values
from saevdb.sae_core.shortlist import shortlist_codes
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

    def reconstruction_codes(self, x: torch.Tensor, k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """`[n, d]` → `(indices [n, k], values [n, k])` whose decode `Σ values · W_dec[indices] + b_pre`
        rebuilds x̄: TopK chooses the latents (from a least-squares shortlist when
        `config.shortlist` > 1), then (with `config.refit`) least squares sets their values; or, with
        `config.support == "pursuit"`, matching pursuit chooses them and sets their values."""
        cfg, k = self.config, k or self.config.k
        target = self.preprocess(x) - self.pre_bias
        if cfg.support == "pursuit":
            return pursuit_codes(target, self.decoder, k, cfg.signed, cfg.pursuit_steps)
        pre = self.encoder(target)
        if cfg.shortlist > 1:
            return shortlist_codes(pre, target, self.decoder, k, cfg.shortlist, cfg.signed)
        idx, values = topk_codes(pre, k, cfg.signed)
        if cfg.refit:
            values = iterative_least_squares_values(idx, target, self.decoder, values, nonneg=not cfg.signed)
        return idx, values

    def encode_topk(self, x: torch.Tensor, k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """`[n, d]` → `(indices [n, k], values [n, k])` in the form that is stored: the reconstruction
        codes, with `config.cosine_values` divided by |x̂| (one sparse decode per row, k·d)."""
        idx, values = self.reconstruction_codes(x, k)
        if self.config.cosine_values:
            length = sparse_decode(idx, values.to(self.decoder.dtype), self.decoder, self.pre_bias).norm(dim=-1)
            values = values / length.clamp_min(1e-12).unsqueeze(-1).to(values.dtype)
        return idx, values

    def encode(self, x: torch.Tensor, k: int | None = None) -> torch.Tensor:
        """`[n, d]` → dense-layout codes `[n, h]` with at most k non-zeros per row."""
        idx, values = self.encode_topk(x, k)
        return torch.zeros(x.shape[0], self.config.h, dtype=values.dtype, device=x.device).scatter_(-1, idx, values)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """`[n, h]` reconstruction codes → `[n, d]` reconstructions of the unit-length inputs."""
        return z @ self.decoder + self.pre_bias

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`[n, d]` → `(reconstruction codes [n, h], reconstructions [n, d])`."""
        idx, values = self.reconstruction_codes(x)
        z = torch.zeros(x.shape[0], self.config.h, dtype=values.dtype, device=x.device).scatter_(-1, idx, values)
        return z, self.decode(z)

    def project_query(self, q: torch.Tensor) -> torch.Tensor:
        """`[n, d]` queries → `[n, h]` weights `W_dec q̄`, whose inner product with a code z equals
        `q̄ · (x̂ - b_pre)`, divided by |x̂| for `cosine_values` codes: items are ranked by their
        reconstructions (the asymmetric mode)."""
        return self.preprocess(q) @ self.decoder.T
