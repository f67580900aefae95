"""What an engine needs in RAM to serve a collection, as a linear cost model per storage option.

    RAM(option, n, d, entries, value bytes) = fixed + n · (per_vector + per_entry · (entries − entries₀)
                                              + entries · (value bytes − value bytes₀) + bits · (d − d₀) / 8)

`fixed` and `per_vector` are the cap an engine needs above its empty process, measured by serving
the option under memory caps at two sizes (`benchmarks/memory_cap.py`: the OOM edge at n₁ and n₂,
slope and intercept) at the reference width d₀ and, for codes, entries₀ stored entries of
value bytes₀ each. The other terms carry the model to the user's shape: a dense option's stored
vector grows by its bits per coordinate; a code by what one more stored entry costs
(`per_entry`, measured between two k), and by its value bytes per entry. What the reference
run did not measure — an option served at one size only, or not at all — takes the measured
options' figures named in `source`, so every figure says where it came from.

An engine folder keeps its model as `costs.json` beside its adapters, with the engine version it
was measured on (`benchmarks/cost_model.py` writes it from the results files); the registry names
it, and `saevdb advise --recall` prices each option with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class OptionCost:
    """One storage option. `kind`: "codes" or a `quantized_recall` kind ("sign_query", …) by which its
    recall is estimated offline; `bits`: bits per stored coordinate (dense); `source`: where the
    figures come from (which run, or which measured option they borrow)."""

    kind: str
    fixed_bytes: float
    per_vector_bytes: float
    bits: float = 0.0
    per_entry_bytes: float = 0.0
    measured: bool = False
    source: str = ""


@dataclass(frozen=True)
class CostModel:
    """An engine's cost model: its version, the reference shape and one `OptionCost` per option name."""

    engine: str
    measured_rows: tuple[int, int]
    reference_dim: int
    reference_entries: int
    reference_value_bytes: int
    figure: str
    options: dict[str, OptionCost] = field(default_factory=dict)

    def ram_bytes(self, option: str, n: int, d: int, entries: int = 0, value_bytes: int = 0) -> float:
        """RAM to provision above the empty engine for `n` vectors of width `d` (codes: `entries` stored
        entries of `value_bytes` each per vector), by the formula of the module docstring."""
        if option not in self.options:
            raise ValueError(f"no cost for {option!r} in {self.engine}'s model; it has {sorted(self.options)}")
        if n < 0 or d < 1:
            raise ValueError(f"n must be ≥ 0 and d ≥ 1, got n={n}, d={d}")
        cost = self.options[option]
        per_vector = cost.per_vector_bytes
        if cost.kind == "codes":
            if entries < 1 or value_bytes < 1:
                raise ValueError(f"{option!r} is priced per stored entry: give entries and value_bytes")
            per_vector += cost.per_entry_bytes * (entries - self.reference_entries)
            per_vector += entries * (value_bytes - self.reference_value_bytes)
        else:
            per_vector += cost.bits * (d - self.reference_dim) / 8
        return cost.fixed_bytes + n * max(per_vector, 0.0)

    def to_json(self, path: Path) -> None:
        record = {**self.__dict__, "options": {name: cost.__dict__ for name, cost in self.options.items()}}
        path.write_text(json.dumps(record, indent=1) + "\n")

    @classmethod
    def from_json(cls, path: Path) -> CostModel:
        record = json.loads(Path(path).read_text())
        options = {name: OptionCost(**cost) for name, cost in record.pop("options").items()}
        return cls(**{**record, "measured_rows": tuple(record["measured_rows"])}, options=options)

    def extrapolated(self, n: int) -> bool:
        """Whether `n` lies outside the sizes measured: far below them the fixed parts, the least
        certain figures of a line through two sizes, decide the price."""
        low, high = self.measured_rows
        return not low <= n <= high
