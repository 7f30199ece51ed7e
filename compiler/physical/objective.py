"""The objective: SLO constraints plus lexicographic goals, as a sort key on estimates.

A plan's key is ``(violation, goal_1, goal_2, ...)``: any plan meeting every SLO beats
any plan that does not, then goals decide in order (MINIMIZE energy THEN latency).
``violation`` sums each SLO's shortfall relative to its bound, so search can make
progress on an infeasible plan towards a feasible one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..job import METRICS, TIER_PERCENTILE, Goal, Slo
from .plan import Estimate


@dataclass(frozen=True)
class Bound:
    """An SLO with its tier resolved to a number."""

    slo: Slo
    value: float

    @property
    def metric(self) -> str:
        return self.slo.metric

    def shortfall(self, est: Estimate) -> float:
        v = est.metric(self.metric)
        scale = max(abs(self.value), 1e-9)
        if METRICS[self.metric]:
            return max(0.0, (v - self.value) / scale)
        return max(0.0, (self.value - v) / scale)

    def met(self, est: Estimate) -> bool:
        # A relative tolerance: estimates are sums of floats.
        return self.shortfall(est) <= 1e-9


@dataclass(frozen=True)
class Objective:
    bounds: tuple[Bound, ...]
    goals: tuple[Goal, ...]

    def violation(self, est: Estimate) -> float:
        return sum(b.shortfall(est) for b in self.bounds)

    def feasible(self, est: Estimate) -> bool:
        """Every SLO met, within ``Bound.met``'s tolerance (a violation of a few ulps is
        rounding, not a miss)."""
        return all(b.met(est) for b in self.bounds)

    def key(self, est: Estimate) -> tuple[float, ...]:
        goals = tuple(est.metric(g.metric) if g.minimize else -est.metric(g.metric) for g in self.goals)
        return (round(self.violation(est), 12), *goals)


def tier_value(metric: str, tier: str, samples: Sequence[float]) -> float:
    """The value of a tier over sampled configurations: BEST is the best sample; GOOD
    beats 95% of them, FAIR 80%, BASIC 50% (OSDI §3.4)."""
    pct = TIER_PERCENTILE[tier]
    values = np.asarray(samples, dtype=float)
    if METRICS[metric]:  # lower is better: GOOD is the 5th percentile
        return float(np.percentile(values, 100.0 - pct, method="linear"))
    return float(np.percentile(values, pct, method="linear"))


def resolve(slos: Sequence[Slo], goals: Sequence[Goal], sample: Callable[[], list[Estimate]]) -> Objective:
    """Turn tiers into numbers; ``sample`` is called once, only if a tier is used."""
    samples: list[Estimate] | None = None
    bounds = []
    for slo in slos:
        if slo.value is not None:
            bounds.append(Bound(slo, slo.value))
            continue
        assert slo.tier is not None
        if samples is None:
            samples = sample()
        bounds.append(Bound(slo, tier_value(slo.metric, slo.tier, [s.metric(slo.metric) for s in samples])))
    return Objective(tuple(bounds), tuple(goals))
