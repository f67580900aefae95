"""Hyperparameters as frozen dataclasses, saved as JSON beside the weights and never inferred."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

FORMAT_VERSION = 1
"""Bumped whenever the meaning of saved weights or config fields changes; loading checks it."""

SUPPORTS = ("topk", "pursuit")
"""How a code's k latents are chosen: the encoder's TopK (one matmul, with a least-squares
shortlist: `sae_core.shortlist`) or matching pursuit against the residual with the decoder
(`sae_core.pursuit`: closer codes, several matmuls)."""

ADDED_FIELDS = {"support": "topk", "pursuit_steps": 8, "shortlist": 1, "cosine_values": False}
"""Fields added after format 1, with the value a folder saved before each field existed means by
its absence (which is not always today's default). A field is written only when it differs from
that value, so the config files and fingerprints of older folders stay valid."""


@dataclass(frozen=True)
class SAEConfig:
    """Shape and coding rule of one TopK sparse autoencoder.

    Attributes:
        d: input (dense embedding) dimension.
        h: number of latents, the width of the sparse space.
        k: non-zeros per stored code.
        signed: keep the k largest |pre-activations| with their sign (Qdrant only) instead of
            the default TopK-then-ReLU, whose non-negative codes every engine accepts.
        normalize: scale inputs to unit length before encoding, so codes score cosine similarity.
        refit: replace the encoder's values by least-squares values for the chosen latents
            (`sae_core.refit`); the support is unchanged, reconstructions get much closer.
        support: one of `SUPPORTS`; training always uses TopK, this says how codes are encoded.
            Pursuit always solves least squares for its values.
        pursuit_steps: products with the decoder per pursuit code, each adding ⌈k / steps⌉
            latents: encoding time grows with it, and so does closeness where a step would add
            many latents (one latent a step is orthogonal matching pursuit, the closest and
            slowest). The default, 8, adds 4 latents a step at k=32.
        shortlist: TopK codes take the encoder's `shortlist × k` best latents, solve least squares
            over all of them and keep the k the joint fit gives the largest values
            (`sae_core.shortlist`); 1 is plain TopK. Needs `refit`. 2 by default: on WordNet–MiniLM
            it rebuilt rows closer than 1.5 or 3 (benchmarks/RESULTS.md).
        cosine_values: store each code's values divided by |x̂|, the length of its reconstruction,
            so the engine's inner product with the query weights `W_dec q̄` is `q̄·(x̂ − b_pre)/|x̂|`,
            about the cosine of the query with x̂. Left raw, an item rebuilt less closely (shorter
            x̂) would rank lower for that alone.
        version: file-format version, checked on load.
    """

    d: int
    h: int
    k: int
    signed: bool = False
    normalize: bool = True
    refit: bool = True
    support: str = "topk"
    pursuit_steps: int = 8
    shortlist: int = 2
    cosine_values: bool = True
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        for name in ("d", "h", "k", "pursuit_steps", "shortlist"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.k > self.h:
            raise ValueError(f"k={self.k} must not exceed h={self.h}")
        if self.support not in SUPPORTS:
            raise ValueError(f"support must be one of {SUPPORTS}, got {self.support!r}")
        if self.shortlist > 1 and not self.refit:
            raise ValueError("a shortlist chooses latents by least squares: it needs refit=True (or shortlist=1)")
        if self.cosine_values and not self.normalize:
            raise ValueError("cosine_values scales codes of unit-length inputs: it needs normalize=True")

    def to_json(self) -> str:
        raw = {name: value for name, value in asdict(self).items() if ADDED_FIELDS.get(name, object()) != value}
        return json.dumps(raw, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str | Path = "<string>") -> SAEConfig:
        raw = json.loads(text)
        version = raw.get("version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{source}: model file format version {version!r}, this saevdb reads version {FORMAT_VERSION}"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"{source}: unknown config fields {unknown}")
        return cls(**{**ADDED_FIELDS, **raw})
