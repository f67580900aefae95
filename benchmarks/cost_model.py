"""Qdrant Edge's cost model (`adapters/qdrant/costs.json`), derived from the capped serving runs and
one `compare` run, so `saevdb advise --recall` prices options by what serving them took.

    .venv/bin/python benchmarks/cost_model.py           # rewrite adapters/qdrant/costs.json
    .venv/bin/python benchmarks/cost_model.py --check   # exit 1 if it is not what the results give

Per option served at both sizes of `memory_cap_wordnet_{250k,1m}.json` (the tiled WordNet set,
d = 384): the smallest cap it served at (the OOM edge, counted above the empty engine), the slope
between the two sizes as `per_vector`, the cap extrapolated to n = 0 as `fixed`; of an option's
settings the largest of each (the build is the same; the edge moves with the bisection's grain).
The codes' reference is h=4096 k=8, float16 values, originals in a flat file: the setting the caps
measured. `per_entry` is the RAM-to-provision difference between k=6 and k=8 codes in one compare run
(`compare_wordnet_100k_qdrant_small_k.json`, two-stage builds), per entry.

Options not served at two sizes borrow: scalar int8 (served at 250k only) its per-vector cost from
that one cap less the measured options' mean fixed part; binary 1-bit (1-bit query) the build of
binary with an 8-bit query (the same stored bits); TurboQuant 4-bit the 2-bit build's residual (its
slope less its stored bits); float32 and PQ the mean residual of the measured dense options. Binary
1.5-bit and 2-bit are not priced: their encodings are not estimated offline.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from cap_tables import _curves, smallest
from frontier_tables import load_result

from saevdb.adapters.costs import CostModel, OptionCost
from saevdb.adapters.qdrant.constants import ENGINE_VERSION

OUT = Path(__file__).resolve().parents[1] / "adapters" / "qdrant" / "costs.json"
RUNS = ("memory_cap_wordnet_250k.json", "memory_cap_wordnet_1m.json")
PER_ENTRY_RUN = "compare_wordnet_100k_qdrant_small_k.json"
CODES = "saevdb codes h=4096 k=8 float16 + originals on disk (flat file, float16)"
D, ENTRIES, VALUE_BYTES = 384, 8, 2
# name -> (kind, bits per coordinate) of the dense options priced (adapters/qdrant/options.py's names)
DENSE = {
    "float32 HNSW": ("exact", 32),
    "scalar int8": ("scalar", 8),
    "binary 1-bit": ("sign", 1),
    "binary 1-bit, 8-bit query": ("sign_query", 1),
    "TurboQuant 2-bit": ("rotation", 2),
    "TurboQuant 4-bit": ("rotation", 4),
    "product quantization x16": ("pq", 2),
    "product quantization x32": ("pq", 1),
}


def edges(small: dict, large: dict) -> dict[str, tuple[float, float]]:
    """Per method served at both sizes: (fixed bytes, per-vector bytes), the largest over its settings."""
    low, high = _curves(small), _curves(large)
    out: dict[str, tuple[float, float]] = {}
    for key in set(low) & set(high):
        a, b = smallest(low[key]), smallest(high[key])
        if a is None or b is None:
            continue
        slope = (b["cap_above_empty_bytes"] - a["cap_above_empty_bytes"]) / (large["n"] - small["n"])
        fixed = a["cap_above_empty_bytes"] - slope * small["n"]
        old = out.get(key[0], (0.0, 0.0))
        out[key[0]] = (max(old[0], fixed), max(old[1], slope))
    return out


def per_entry(report: dict) -> float:
    """RAM to provision per stored entry: between the two-stage builds of two k, per entry more."""
    by_k = {
        r["k"]: r["ram_bytes_per_vector"]
        for r in report["rows"]
        if r["status"] == "ok" and r["family"] == "saevdb" and r["setting"].startswith("two-stage")
    }
    (k1, r1), (k2, r2) = sorted(by_k.items())[:2]
    return (r2 - r1) / (k2 - k1)


def derive() -> CostModel:
    small, large = (load_result(name) for name in RUNS)
    measured = edges(small, large)
    fixed_codes, per_vector_codes = measured[CODES]
    options = {
        "saevdb codes + originals in a flat file": OptionCost(
            kind="codes",
            fixed_bytes=round(fixed_codes),
            per_vector_bytes=round(per_vector_codes, 1),
            per_entry_bytes=round(per_entry(load_result(PER_ENTRY_RUN)), 2),
            measured=True,
            source=f"{CODES}: {' and '.join(RUNS)}; per entry: {PER_ENTRY_RUN}",
        )
    }
    dense = {name: measured[name] for name in DENSE if name in measured}
    residual = {name: per_vector - DENSE[name][1] * D / 8 for name, (_, per_vector) in dense.items()}
    mean_fixed = float(np.mean([fixed for fixed, _ in dense.values()]))
    mean_residual = float(np.mean(list(residual.values())))
    int8_cap = smallest(next(c for k, c in _curves(small).items() if k[0] == "scalar int8"))
    borrowed = {
        "binary 1-bit": ("binary 1-bit, 8-bit query", "the same stored bits as binary 1-bit, 8-bit query"),
        "TurboQuant 4-bit": ("TurboQuant 2-bit", "TurboQuant 2-bit's residual (its slope less its stored bits)"),
    }
    for name, (kind, bits) in DENSE.items():
        if name in dense:
            fixed, per_vector, source = *dense[name], " and ".join(RUNS)
        elif name in borrowed and borrowed[name][0] in dense:
            other, source = borrowed[name]
            fixed, per_vector = dense[other][0], residual[other] + bits * D / 8
        elif name == "scalar int8" and int8_cap is not None:
            fixed = mean_fixed
            per_vector = (int8_cap["cap_above_empty_bytes"] - fixed) / small["n"]
            source = f"one size, {RUNS[0]}, less the measured options' mean fixed part"
        else:
            fixed, per_vector = mean_fixed, mean_residual + bits * D / 8
            source = f"the mean residual of {', '.join(dense)} plus its stored bits"
        options[name] = OptionCost(
            kind=kind,
            fixed_bytes=round(fixed),
            per_vector_bytes=round(per_vector, 1),
            bits=bits,
            measured=name in dense,
            source=source,
        )
    return CostModel(
        engine=ENGINE_VERSION,
        measured_rows=(small["n"], large["n"]),
        reference_dim=D,
        reference_entries=ENTRIES,
        reference_value_bytes=VALUE_BYTES,
        figure="the smallest memory cap served above the empty engine (benchmarks/memory_cap.py)",
        options=options,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if costs.json differs from the results")
    args = parser.parse_args()
    model = derive()
    if args.check:
        if CostModel.from_json(OUT) != model:
            sys.exit(f"{OUT} is out of date: run benchmarks/cost_model.py")
        return
    model.to_json(OUT)
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
