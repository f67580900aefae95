"""What a user would pick instead of the codes: each engine's own ways of storing dense vectors
(float32 in its usual index, its built-in quantizations), each with its search settings swept, as
`saevdb compare` runs them. Every engine folder lists its grid in `options.py` (like
ann-benchmarks' per-algorithm `config.yml`); the registry names it.

A `DenseOption` is one build of the dense adapter (`engine.dense_adapter(d, name, **build)`); each of
its `SearchSetting`s is one row of the report (`adapter.search(queries, top_k, **params)`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SearchSetting:
    """One search-time setting of a dense option.

    Attributes:
        label: how the report names it ("oversampling 4, rescore").
        params: keyword arguments of the dense adapter's `search`.
        rescore: whether the hits are re-scored with the full-precision originals.
        originals_per_result: originals read per query per requested result when rescoring (the
            oversampling factor: Qdrant re-scores `oversampling × top_k` candidates); 0 when none are read.
    """

    label: str
    params: dict[str, Any] = field(default_factory=dict)
    rescore: bool = False
    originals_per_result: float = 0.0

    def originals_read(self, top_k: int) -> int:
        """Full-precision vectors read per query."""
        return int(round(self.originals_per_result * top_k)) if self.rescore else 0


@dataclass(frozen=True)
class DenseOption:
    """One built-in storage of the dense vectors, as a curve of search settings.

    Attributes:
        method: the curve's name ("float32 HNSW", "scalar int8", "TurboQuant 2-bit").
        build: keyword arguments of `engine.dense_adapter(d, name, **build)`.
        searches: the settings swept on that one build.
        originals_searched: the search itself scores the full-precision vectors (float32 HNSW, FLAT,
            IVF_FLAT), so their pages are part of the index to provision; otherwise they are read only
            to rescore, and reported apart.
        server_only: the option needs a server the local engine is not (e.g. Milvus Lite serves no
            quantized index); the report says so in one line instead of running it locally.
    """

    method: str
    build: dict[str, Any]
    searches: tuple[SearchSetting, ...] = (SearchSetting("default"),)
    originals_searched: bool = False
    server_only: str | None = None


def rescore_sweep(
    oversamplings: tuple[float, ...], param: str, rescore_param: str | None, base: dict[str, Any] | None = None
) -> tuple[SearchSetting, ...]:
    """Without rescoring once, then rescoring at each oversampling factor: the settings of a
    quantized index whose engine re-scores `oversampling × top_k` candidates from the originals.

    `param` names the engine's oversampling argument; `rescore_param` its on/off switch (None where
    oversampling alone turns rescoring on)."""
    base = dict(base or {})
    off = {**base, rescore_param: False} if rescore_param else base
    settings = [SearchSetting("no rescore", off)]
    for factor in oversamplings:
        params = {**base, param: factor, **({rescore_param: True} if rescore_param else {})}
        settings.append(SearchSetting(f"{param} {factor:g}, rescore", params, True, factor))
    return tuple(settings)
