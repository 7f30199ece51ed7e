"""An independent validator of physical plans: the planner's final sanity pass and the
tests' referee.

It recomputes everything from the shards alone, with its own arithmetic (nothing from
``cost.py`` or ``schedule.py``), and lists what is wrong. Dependencies and capacity are
checked by the scheduling core's checks (``compiler/scheduling/validate.py``), on the
shards stated as the core's timed items (``as_scheduling.py``):

- every logical task has a candidate and shards covering all its calls;
- every shard starts after the shards it depends on end, and its duration is what its
  candidate says for its calls;
- at every instant, no machine runs more units of a hardware type than it has, and no
  shard spans machines (it names one machine that has its hardware);
- the SLO bounds hold on the reported totals;
- the reported totals (makespan, GPUs held, cost, energy, quality) match a recomputation.
"""

from __future__ import annotations

import math
import sys
from typing import Sequence

from ...catalog.catalog import Catalog
from ..scheduling.problem import peak_usage
from ..scheduling.validate import check_times
from .as_scheduling import shard_times
from .plan import PhysicalPlan

REL_TOL = 1e-6
# Dependencies and capacity hold up to this fraction of the makespan (the core
# validator's tolerance): thousands of ulps, far below any real overlap.
PRECEDENCE_TOL = 1e-12


def _close(a: float, b: float, scale: float = 0.0) -> bool:
    """``a`` and ``b`` equal up to REL_TOL, or up to the rounding of numbers of magnitude
    ``scale`` (a duration computed as end - start at t = 1e9 s carries ~1e-7 s of it)."""
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=max(1e-9, 16 * sys.float_info.epsilon * abs(scale)))


def validate(plan: PhysicalPlan, catalog: Catalog, check_slos: bool = True) -> list[str]:
    """Everything wrong with ``plan`` (an empty list: it is valid). ``check_slos=False``
    for a plan that reports its SLOs rather than promising them (the sequential baseline)."""
    problems: list[str] = []
    cluster = catalog.cluster(plan.cluster)
    if cluster is None:
        return [f"unknown cluster {plan.cluster}"]
    tasks = {t.id: t for t in plan.tasks}
    shards_of: dict[str, list] = {}
    for s in plan.shards:
        shards_of.setdefault(s.task, []).append(s)

    for node in plan.logical.tasks:
        if node.id not in tasks:
            problems.append(f"task {node.id} has no physical task")
            continue
        cand = tasks[node.id].candidate
        mine = shards_of.get(node.id, [])
        if len(mine) != cand.fanout:
            problems.append(f"task {node.id}: {len(mine)} shards for fan-out {cand.fanout}")
        if not _close(sum(s.calls for s in mine), math.ceil(cand.calls - 1e-9)):
            problems.append(f"task {node.id}: shards cover {sum(s.calls for s in mine)} of {cand.calls} calls")

    for s in plan.shards:
        cand = tasks[s.task].candidate
        expected = cand.setup_s + (max(cand.floor_s, s.calls * cand.call_s) if s.calls > 0 else 0.0)
        if not _close(s.end_s - s.start_s, expected, s.end_s):
            problems.append(f"shard {s.task}#{s.index} runs {s.end_s - s.start_s:.6g} s, its candidate says "
                            f"{expected:.6g} s")

    # Dependencies and capacity: the schedule stated in the scheduling core's terms and
    # checked by the core (one validator of schedules for both planners).
    stated = shard_times(plan.shards, cluster)
    problems.extend(stated.unstated)
    makespan = max((s.end_s for s in plan.shards), default=0.0)
    problems.extend(check_times(stated.capacity, stated.items, stated.edges, PRECEDENCE_TOL * max(1.0, makespan))[0])

    # The units each machine holds of each hardware type, for the totals, counted as the
    # cost model counts them: a unit freed at t is free at t.
    intervals: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    for s in plan.shards:
        intervals.setdefault((s.machine, s.hardware), []).append((s.start_s, s.end_s, s.units))
    peaks = {key: peak_usage(ivs, eps=0.0) for key, ivs in intervals.items()}

    problems.extend(_check_totals(plan, catalog, peaks, shards_of))
    for b in plan.bounds if check_slos else ():
        if not b.met(plan.estimate):
            problems.append(f"SLO {b.slo.text()} is not met: {plan.estimate.metric(b.metric):.6g}")
    return problems


def _check_totals(plan: PhysicalPlan, catalog: Catalog, peaks: dict[tuple[str, str], int],
                  shards_of: dict[str, list]) -> Sequence[str]:
    est = plan.estimate
    problems = []
    makespan = max((s.end_s for s in plan.shards), default=0.0)
    held: dict[str, int] = {}
    for (_, hw), peak in peaks.items():
        held[hw] = held.get(hw, 0) + peak
    cost = energy_j = 0.0
    busy: dict[str, float] = {}
    for t in plan.tasks:
        c = t.candidate
        hw = catalog.hardware(c.hardware)
        profile = catalog.profile(c.agent, c.hardware, c.units)
        if hw is None or profile is None:
            problems.append(f"task {t.id}: no profile for {c.agent} on {c.units} x {c.hardware}")
            continue
        watts = hw.idle_w + profile.utilisation * (hw.active_w - hw.idle_w)
        for s in shards_of.get(t.id, ()):
            energy_j += (s.end_s - s.start_s) * s.units * watts
            busy[c.hardware] = busy.get(c.hardware, 0.0) + (s.end_s - s.start_s) * s.units
    gpus = 0
    for hw_name, units in held.items():
        hw = catalog.hardware(hw_name)
        assert hw is not None
        cost += units * makespan * hw.usd_per_hour / 3600.0
        energy_j += max(0.0, units * makespan - busy.get(hw_name, 0.0)) * hw.idle_w
        gpus += units if hw.is_gpu else 0
    quality = math.prod(t.candidate.quality for t in plan.tasks)
    for name, reported, recomputed in (("makespan", est.makespan_s, makespan), ("cost", est.cost_usd, cost),
                                       ("energy", est.energy_wh, energy_j / 3600.0), ("quality", est.quality, quality),
                                       ("gpus", float(est.gpus), float(gpus))):
        if not _close(reported, recomputed):
            problems.append(f"reported {name} {reported:.6g} differs from the recomputed {recomputed:.6g}")
    return problems
