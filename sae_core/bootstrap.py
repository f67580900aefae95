"""Which of two families of options reaches a recall target for less RAM, and which of two options
ranks better at equal bytes, each with a paired bootstrap over the queries.

Every option is measured on the same queries, so a resample of the queries (drawn with replacement,
the same draw for every option) is a paired replicate: in each one, each option's recall@10 is the
mean of its per-query hits / 10 over the drawn queries, each family's cost is the least RAM of its
options reaching the target there (infinite where none does), and the statistic is
log(RAM of family A / RAM of family B). The verdict names a family only where the central
`level` interval of that log-ratio excludes zero; otherwise "no clear winner". The draws are
seeded, so a rerun on the same measurements gives the same interval and verdict.

`recall_difference` is the same paired resampling for one statistic, recall@10 of A minus that of
B (the byte-budget verdict): a difference of 0.008 on 1,000 queries is within what another draw of
queries, another thread count or another BLAS moves, and the interval says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 2_000
LEVEL = 0.95


@dataclass(frozen=True)
class Verdict:
    """`ratio`: RAM of family A's cheapest option over B's on all queries (inf: A reaches nothing);
    `low`, `high`: the bootstrap interval of that ratio; `winner`: "a", "b" or None (no clear winner);
    `a_option`, `b_option`: the cheapest option of each family on all queries (None: none reached)."""

    ratio: float
    low: float
    high: float
    winner: str | None
    a_option: str | None
    b_option: str | None


def _replicates(matrix: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """`[o, r]` each option's mean of `matrix [o, q]` over `resamples` seeded draws of the q queries
    with replacement, the same draw for every option (paired)."""
    q = matrix.shape[1]
    counts = np.random.default_rng(seed).multinomial(q, np.full(q, 1.0 / q), size=resamples)  # [r, q]
    return matrix @ counts.T / q


def recall_difference(
    hits_a: np.ndarray, hits_b: np.ndarray, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0
) -> tuple[float, float, float]:
    """`(difference, low, high)`: recall@10 of A minus B on all queries and its central `level`
    bootstrap interval, from `[q]` hits@10 per query (0..10) of each on the same queries."""
    matrix = np.stack([np.asarray(hits_a, dtype=np.float64), np.asarray(hits_b, dtype=np.float64)]) / 10.0
    replicates = _replicates(matrix, resamples, seed)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(replicates[0] - replicates[1], [tail, 100 - tail])
    return float(matrix[0].mean() - matrix[1].mean()), float(low), float(high)


def _cheapest(recalls: np.ndarray, ram: np.ndarray, target: float) -> np.ndarray:
    """`[r]` least RAM of the options `[o]` reaching `target` in each replicate of `recalls [o, r]`."""
    costs = np.where(recalls >= target, ram[:, None], np.inf)
    return costs.min(axis=0)


def compare_families(
    hits: dict[str, np.ndarray],
    ram: dict[str, float],
    family_a: list[str],
    family_b: list[str],
    target: float,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> Verdict:
    """Bootstrap the RAM ratio of the cheapest option of `family_a` over that of `family_b` reaching
    recall@10 ≥ `target`. `hits[name]` is `[q]` hits@10 per query (0..10), the same queries for all;
    `ram[name]` the RAM to provision of that option."""
    names = [*family_a, *family_b]
    matrix = np.stack([np.asarray(hits[name], dtype=np.float64) for name in names]) / 10.0
    replicates = _replicates(matrix, resamples, seed)  # [o, r]
    full = matrix.mean(axis=1, keepdims=True)
    costs = np.array([ram[name] for name in names], dtype=np.float64)
    split = len(family_a)
    a, b = _cheapest(replicates[:split], costs[:split], target), _cheapest(replicates[split:], costs[split:], target)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(a) - np.log(b)  # inf - inf (neither reaches it) is nan: no evidence either way
    log_ratio = np.where(np.isnan(log_ratio), 0.0, log_ratio)
    tail = (1 - level) / 2 * 100
    # Sample quantiles, not interpolated ones: a replicate where one family reaches nothing is ±inf.
    low, high = np.exp(np.percentile(log_ratio, [tail, 100 - tail], method="inverted_cdf"))
    winner = "a" if high < 1 else "b" if low > 1 else None

    def pick(group: list[str], means: np.ndarray) -> str | None:
        """The cheapest of `group` whose recall on all queries reaches the target."""
        return min((n for n, m in zip(group, means, strict=True) if m >= target), key=ram.__getitem__, default=None)

    a_option, b_option = pick(family_a, full[:split, 0]), pick(family_b, full[split:, 0])
    price = {None: np.inf, **ram}
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.float64(price[a_option]) / price[b_option])  # nan where neither reaches the target
    return Verdict(
        ratio=ratio,
        low=float(low),
        high=float(high),
        winner=winner,
        a_option=a_option,
        b_option=b_option,
    )
