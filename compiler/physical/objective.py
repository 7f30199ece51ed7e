"""The objective: SLO constraints plus lexicographic goals, and the one comparison of plans.

A plan is better than another when it misses the SLOs by less (``violation``: the sum of
each SLO's shortfall relative to its bound, so search can make progress on an infeasible
plan towards a feasible one), then by the goals in order (MINIMIZE energy THEN latency),
each compared with its metric's tolerance (``compiler/metrics.py``): totals that differ
by floating-point noise tie, and the next goal decides. ``Objective.better`` is that
comparison; ``Objective.key`` is a sort key that agrees with it up to the tolerance.

In a joint plan of several jobs, an SLO belongs to its job (``Bound.scope``) and is
checked against that job's own totals (``Estimate.part``), not the joint ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..job import TIER_PERCENTILE, Goal, Slo
from ..metrics import metric
from .plan import Estimate


@dataclass(frozen=True)
class Bound:
    """An SLO with its tier resolved to a number; ``scope`` is the job it belongs to in a
    joint plan (None: the whole plan)."""

    slo: Slo
    value: float
    scope: str | None = None

    @property
    def metric(self) -> str:
        return self.slo.metric

    def observed(self, est: Estimate) -> float:
        """The value this SLO is judged on: its job's own total in a joint plan."""
        return (est.part(self.scope) if self.scope else est).metric(self.metric)

    def shortfall(self, est: Estimate) -> float:
        return metric(self.metric).shortfall(self.observed(est), self.value)

    def met(self, est: Estimate) -> bool:
        return metric(self.metric).meets(self.observed(est), self.value)


@dataclass(frozen=True)
class Objective:
    bounds: tuple[Bound, ...]
    goals: tuple[Goal, ...]

    def violation(self, est: Estimate) -> float:
        """Sum of relative shortfalls; misses within a metric's tolerance count as 0."""
        return sum(0.0 if b.met(est) else b.shortfall(est) for b in self.bounds)

    def feasible(self, est: Estimate) -> bool:
        """Every SLO met, within the metrics' tolerance."""
        return all(b.met(est) for b in self.bounds)

    def goal_values(self, est: Estimate) -> tuple[float, ...]:
        """The goals as quantities to minimise, in order."""
        return tuple(metric(g.metric).to_min(est.metric(g.metric)) for g in self.goals)

    def key(self, est: Estimate) -> tuple[float, ...]:
        """Sort key, smaller is better: violation, then the goals, each rounded to its
        metric's tolerance (10 significant digits) so noise does not decide."""
        return (_rounded(self.violation(est)), *(_rounded(v) for v in self.goal_values(est)))

    def better(self, a: Estimate, b: Estimate) -> bool:
        """Whether plan ``a`` is strictly better than plan ``b``."""
        va, vb = self.violation(a), self.violation(b)
        if abs(va - vb) > 1e-9 * max(1.0, va, vb):
            return va < vb
        for g in self.goals:
            m = metric(g.metric)
            x, y = a.metric(g.metric), b.metric(g.metric)
            if not m.same(x, y):
                return m.better(x, y)
        return False

    def best(self, estimates: Iterable[Estimate]) -> Estimate:
        """The best of ``estimates`` (the first among equals)."""
        best: Estimate | None = None
        for est in estimates:
            if best is None or self.better(est, best):
                best = est
        assert best is not None, "best() of no plans"
        return best

    def without_bounds(self) -> Objective:
        return Objective((), self.goals)


def _rounded(x: float) -> float:
    return float(f"{x:.10g}")


def tier_value(metric_name: str, tier: str, samples: Sequence[float]) -> float:
    """The value of a tier over sampled configurations: BEST is the best sample; GOOD
    beats 95% of them, FAIR 80%, BASIC 50% (OSDI §3.4)."""
    pct = TIER_PERCENTILE[tier]
    values = np.asarray(samples, dtype=float)
    if metric(metric_name).lower_is_better:  # lower is better: GOOD is the 5th percentile
        return float(np.percentile(values, 100.0 - pct, method="linear"))
    return float(np.percentile(values, pct, method="linear"))
