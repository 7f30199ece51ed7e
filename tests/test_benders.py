"""The scheduling core's Benders search (``compiler/scheduling/benders.py``) on its own: any
evaluator whose totals the relaxation bounds from below, not only the job planner's."""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from murakkab.compiler.metrics import metric
from murakkab.compiler.scheduling.benders import CpSatMaster, MilpMaster, Relaxation, search


@dataclass(frozen=True)
class Totals:
    latency: float
    energy: float
    quality: float

    def metric(self, name: str) -> float:
        return getattr(self, name)


@dataclass(frozen=True)
class Goal:
    metric: str


@dataclass(frozen=True)
class Cap:
    metric: str
    value: float
    scope: None = None


@dataclass(frozen=True)
class Goals:
    goals: tuple[Goal, ...]
    bounds: tuple[Cap, ...] = ()

    def feasible(self, t: Totals) -> bool:
        return all(metric(b.metric).meets(t.metric(b.metric), b.value) for b in self.bounds)

    def better(self, a: Totals, b: Totals) -> bool:
        if self.feasible(a) != self.feasible(b):
            return self.feasible(a)
        for g in self.goals:
            m = metric(g.metric)
            if not m.same(a.metric(g.metric), b.metric(g.metric)):
                return m.better(a.metric(g.metric), b.metric(g.metric))
        return False


@dataclass
class Plans:
    """Plans evaluated by ``evaluate``: a chain of tasks on one pool, run one after the
    other (the makespan is the sum of the options' times, at least the relaxation's
    longest path and work over capacity), holding the most units any option needs."""

    d: Relaxation
    seen: dict = field(default_factory=dict)

    def evaluate_code(self, code: tuple[int, ...]) -> Totals:
        if code not in self.seen:
            d = self.d
            makespan = sum(d.lat[t][o] for t, o in enumerate(code))
            held = max(d.units[t][o] for t, o in enumerate(code))
            busy = sum(d.work[t][o] for t, o in enumerate(code))
            energy = sum(d.busy_wh[t][o] for t, o in enumerate(code)) + d.idle_w["p"] * (held * makespan - busy) / 3600
            self.seen[code] = Totals(makespan, energy, math.exp(sum(d.log_q[t][o] for t, o in enumerate(code))))
        return self.seen[code]

    def best(self, objective: Goals):
        best = None
        for code, t in self.seen.items():
            if best is None or objective.better(t, best[1]):
                best = (code, t)
        return best


@st.composite
def relaxations(draw) -> Relaxation:
    n = draw(st.integers(1, 4))
    lat, units, q = [], [], []
    for _ in range(n):
        k = draw(st.integers(1, 3))
        lat.append([draw(st.floats(0.5, 20.0)) for _ in range(k)])
        units.append([draw(st.integers(1, 2)) for _ in range(k)])
        q.append([draw(st.floats(0.3, 1.0)) for _ in range(k)])
    work = [[s * u for s, u in zip(ls, us)] for ls, us in zip(lat, units)]
    busy = [[w * 300.0 / 3600 for w in ws] for ws in work]
    return Relaxation([f"t{i}" for i in range(n)], lat, lat, work, busy, units, [[math.log(x) for x in r] for r in q],
                      [["p"] * len(r) for r in lat], [(i, i + 1) for i in range(n - 1)], [], ["p"],
                      cap={"p": 2}, idle_w={"p": 50.0}, usd_s={"p": 0.0}, gpu={"p": True})


@settings(max_examples=30, deadline=None)
@given(relaxations(), st.sampled_from(["cpsat", "ilp"]),
       st.sampled_from([("latency",), ("energy",), ("quality", "energy")]), st.booleans())
def test_the_search_finds_the_evaluated_optimum(d: Relaxation, solver: str, goals: tuple[str, ...], capped: bool) -> None:
    codes = list(itertools.product(*(range(len(r)) for r in d.lat)))
    truth = Plans(d)
    for code in codes:
        truth.evaluate_code(code)
    bounds = (Cap("latency", sorted(t.latency for t in truth.seen.values())[len(codes) // 2]),) if capped else ()
    objective = Goals(tuple(Goal(g) for g in goals), bounds)
    best = truth.best(objective)

    plans = Plans(d)
    plans.evaluate_code(codes[-1])  # a greedy's plan, evaluated before the search
    master = CpSatMaster(d, objective) if solver == "cpsat" else MilpMaster(d, objective, "highs")
    result = search(solver, master, objective, plans, time.perf_counter(), 30.0)
    assert result.optimal
    for g in goals:
        assert metric(g).same(result.estimate.metric(g), best[1].metric(g)), (g, result.estimate, best[1])
    # It evaluated no more plans than there are, and never returns worse than one it saw.
    assert result.evaluations <= len(codes)
    assert not any(objective.better(t, result.estimate) for t in plans.seen.values())
