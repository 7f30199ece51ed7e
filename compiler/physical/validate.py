"""An independent validator of physical plans: the planner's final sanity pass and the
tests' referee.

It recomputes everything from the shards alone, with its own arithmetic (nothing from
``cost.py`` or ``schedule.py``), and lists what is wrong:

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
from .plan import PhysicalPlan

REL_TOL = 1e-6


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
    inventory = dict(cluster.machines())
    tasks = {t.id: t for t in plan.tasks}
    by_key = {(s.task, s.index): s for s in plan.shards}
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

    # The latest end among a deps tuple's shards (None: one is unknown), by its id (the
    # tuple kept to guard the id): the shards of a task without a streaming edge share
    # one tuple, so each is read once, not once per shard.
    latest: dict[int, tuple[tuple, float | None]] = {}
    for s in plan.shards:
        cand = tasks[s.task].candidate
        expected = cand.setup_s + (max(cand.floor_s, s.calls * cand.call_s) if s.calls > 0 else 0.0)
        if not _close(s.end_s - s.start_s, expected, s.end_s):
            problems.append(f"shard {s.task}#{s.index} runs {s.end_s - s.start_s:.6g} s, its candidate says "
                            f"{expected:.6g} s")
        if s.machine not in inventory or inventory[s.machine].get(s.hardware, 0) < s.units:
            problems.append(f"shard {s.task}#{s.index} needs {s.units} x {s.hardware} on {s.machine}, which lacks them")
        if not s.deps:
            continue
        got = latest.get(id(s.deps))
        if got is None or got[0] is not s.deps:
            known = [by_key[dep].end_s for dep in s.deps if dep in by_key]
            got = latest[id(s.deps)] = (s.deps, max(known) if len(known) == len(s.deps) else None)
        if got[1] is not None and got[1] <= s.start_s + 1e-9:
            continue  # every dependency known and ended in time
        for dep in s.deps:
            other = by_key.get(dep)
            if other is None:
                problems.append(f"shard {s.task}#{s.index} depends on unknown shard {dep}")
            elif other.end_s > s.start_s + 1e-9:
                problems.append(f"shard {s.task}#{s.index} starts at {s.start_s:.6g} s before {dep} ends "
                                f"at {other.end_s:.6g} s")

    # Capacity at every instant: sweep each machine's hardware.
    peaks: dict[tuple[str, str], int] = {}
    events: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for s in plan.shards:
        if s.end_s > s.start_s:
            events.setdefault((s.machine, s.hardware), []).extend([(s.start_s, s.units), (s.end_s, -s.units)])
    for (machine, hw), evs in events.items():
        level = peak = 0
        for _, delta in sorted(evs, key=lambda e: (e[0], e[1])):
            level += delta
            peak = max(peak, level)
        peaks[(machine, hw)] = peak
        if peak > inventory.get(machine, {}).get(hw, 0):
            problems.append(f"{machine} runs {peak} x {hw} at once and has {inventory.get(machine, {}).get(hw, 0)}")

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
