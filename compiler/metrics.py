"""The metrics plans are judged by, in one place: name, unit, direction, tolerance.

Every comparison of two plans (the planner's searches, the exact solvers, the oracle,
SLO checks, EXPLAIN) goes through :class:`Metric`, so the sign of a goal is applied once
(``Metric.to_min``) and two totals that differ only by floating-point noise are equal
everywhere (``Metric.tolerance``, relative).

The job language says ``latency`` where the scheduling core says ``makespan``; both name
the same metric (``metric('makespan') is metric('latency')``).
"""

from __future__ import annotations

from dataclasses import dataclass

# Totals are sums of many floats (shard seconds x power, per hardware type): two plans
# whose totals agree to this relative precision are the same plan for every purpose.
REL_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Metric:
    """One metric of a plan. ``lower_is_better`` is False only for quality."""

    name: str
    unit: str
    lower_is_better: bool
    # What the binder converts an SLO's number into (compiler/units.py dimensions).
    dimension: str
    # The scheduling core's name for it (compiler/scheduling/problem.py).
    schedule_name: str
    tolerance: float = REL_TOLERANCE

    def to_min(self, value: float) -> float:
        """The value as a quantity to minimise (quality is negated). The only place a
        goal's sign is applied."""
        return value if self.lower_is_better else -value

    def slack(self, reference: float) -> float:
        """Absolute slack for comparing values near ``reference``."""
        return self.tolerance * max(1.0, abs(reference))

    def same(self, a: float, b: float) -> bool:
        """Whether ``a`` and ``b`` are equal up to the tolerance."""
        return abs(a - b) <= self.slack(max(abs(a), abs(b)))

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b`` (beyond the tolerance)."""
        return self.to_min(a) < self.to_min(b) - self.slack(max(abs(a), abs(b)))

    def shortfall(self, value: float, bound: float) -> float:
        """How far ``value`` misses the SLO ``bound``, relative to it (0 when met)."""
        scale = max(abs(bound), 1e-9)
        miss = (value - bound) if self.lower_is_better else (bound - value)
        return max(0.0, miss / scale)

    def meets(self, value: float, bound: float) -> bool:
        """Whether ``value`` meets the SLO ``bound`` (``<=``, or ``>=`` for quality), up to
        the tolerance: a miss of a few ulps is rounding, not a miss."""
        return self.shortfall(value, bound) <= self.tolerance

    def op(self) -> str:
        return "<=" if self.lower_is_better else ">="

    def format(self, value: float) -> str:
        """``value`` with its unit (``12.3 s``, ``$0.45``, ``0.438``)."""
        if self.name == "cost":
            return f"${value:.4g}"
        if self.name == "gpus":
            return f"{value:g} GPUs"
        return f"{value:.4g} {self.unit}".rstrip()


LATENCY = Metric("latency", "s", True, "time", "makespan")
COST = Metric("cost", "USD", True, "cost", "cost")
ENERGY = Metric("energy", "Wh", True, "energy", "energy")
GPUS = Metric("gpus", "GPUs", True, "gpus", "gpus")
QUALITY = Metric("quality", "", False, "count", "quality")

ALL: tuple[Metric, ...] = (LATENCY, COST, ENERGY, GPUS, QUALITY)
BY_NAME: dict[str, Metric] = {m.name: m for m in ALL} | {m.schedule_name: m for m in ALL}


def metric(name: str) -> Metric:
    """The metric called ``name`` (job or scheduling spelling); KeyError if unknown."""
    return BY_NAME[name.lower()]
