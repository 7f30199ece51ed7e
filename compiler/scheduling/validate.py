"""An independent check of a schedule against its problem: the one validator of
schedules. ``check_times`` holds the checks every schedule must pass (precedence and
capacity of timed items); ``validate`` states a ``Problem``'s placements so, and the job
planner states its shards so (``compiler/physical/as_scheduling.py``).

Shares no scheduling code with the solvers: it recomputes everything from the problem's
data and the placements, so a bug in a solver (or in ``Problem.totals``) shows up as a
violation here instead of being repeated. Times are compared with a tolerance of
``tol`` × max(1, makespan) seconds, since solver values carry floating-point noise.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

from .problem import METRICS, Objective, Placement, Problem, Totals


def validate(problem: Problem, placements: Sequence[Placement], objective: Objective | None = None,
             totals: Totals | None = None, tol: float = 1e-6) -> list[str]:
    """Every way ``placements`` fails ``problem`` (and ``objective``'s bounds, and the
    reported ``totals``), as sentences; an empty list means the schedule is valid."""
    out: list[str] = []
    tasks = {t.id: t for t in problem.tasks}
    pools = {p.name: p for p in problem.pools}
    chosen: dict[str, tuple[Placement, float, float]] = {}  # task -> (placement, start, end)
    for pl in placements:
        task = tasks.get(pl.task)
        if task is None:
            out.append(f"placement of unknown task '{pl.task}'")
            continue
        if pl.task in chosen:
            out.append(f"task '{pl.task}' is placed more than once")
            continue
        if not 0 <= pl.option < len(task.options):
            out.append(f"task '{pl.task}' has option {pl.option}; it has {len(task.options)}")
            continue
        if not math.isfinite(pl.start_s):
            out.append(f"task '{pl.task}' starts at {pl.start_s}")
            continue
        chosen[pl.task] = (pl, pl.start_s, pl.start_s + task.options[pl.option].duration_s)
    for t in problem.tasks:
        if t.id not in chosen:
            out.append(f"task '{t.id}' has no placement")

    makespan = max((end for _, _, end in chosen.values()), default=0.0)
    eps = tol * max(1.0, makespan)
    ids = list(chosen)
    at = {tid: i for i, tid in enumerate(ids)}
    items = [(tid, tasks[tid].options[pl.option].pool, start, end, tasks[tid].options[pl.option].units)
             for tid, (pl, start, end) in chosen.items()]
    edges = [(at[e.src], at[e.dst], e.transfer_s[chosen[e.src][0].option][chosen[e.dst][0].option] if e.transfer_s else 0.0)
             for e in problem.edges if e.src in chosen and e.dst in chosen]
    timing, peaks = check_times({p.name: p.capacity for p in problem.pools}, items, edges, eps)
    out.extend(timing)

    # Units, where the placements name them.
    per_unit: dict[tuple[str, int], list[tuple[float, float, str]]] = {}
    for tid, (pl, start, end) in chosen.items():
        if not pl.units:
            continue
        opt = tasks[tid].options[pl.option]
        cap = pools[opt.pool].capacity
        if len(pl.units) != opt.units or len(set(pl.units)) != len(pl.units):
            out.append(f"task '{tid}' names units {list(pl.units)} of '{opt.pool}'; it needs {opt.units} distinct")
        bad = [u for u in pl.units if not 0 <= u < cap]
        if bad:
            out.append(f"task '{tid}' names units {bad} of '{opt.pool}', which has units 0..{cap - 1}")
        if end > start:
            for u in set(pl.units):
                per_unit.setdefault((opt.pool, u), []).append((start, end, tid))
    for (pool, u), spans in sorted(per_unit.items()):
        spans.sort()
        for (_, a_end, a), (b_start, _, b) in zip(spans, spans[1:]):
            if b_start < a_end - eps:
                out.append(f"unit {u} of '{pool}' runs '{a}' and '{b}' at once ({b_start:g} s < {a_end:g} s)")

    if len(chosen) != len(problem.tasks):
        return out  # the totals of a partial schedule mean nothing
    options = [tasks[tid].options[pl.option] for tid, (pl, _, _) in chosen.items()]
    actual = {
        "makespan": makespan,
        "energy": math.fsum(o.energy_wh for o in options),
        "cost": math.fsum(o.cost_usd for o in options),
        "quality": math.prod(o.quality for o in options),
        "gpus": float(sum(peak for pool, peak in peaks.items() if pools[pool].gpu)),
    }
    if objective is not None:
        for b in objective.bounds:
            v = actual[b.metric]
            slack = tol * max(1.0, abs(b.value))
            if (v > b.value + slack) if METRICS[b.metric] else (v < b.value - slack):
                out.append(f"bound {b.text()} does not hold: {b.metric} is {v:g}")
    if totals is not None:
        for name, v in actual.items():
            reported = totals.metric(name)
            if abs(reported - v) > tol * max(1.0, abs(v)):
                out.append(f"reported {name} {reported:g} but the schedule gives {v:g}")
    return out


def check_times(capacity: Mapping[str, int], items: Sequence[tuple[str, str, float, float, int]],
                edges: Iterable[tuple[int, int, float]], eps: float) -> tuple[list[str], dict[str, int]]:
    """Precedence and capacity of timed items, the checks every schedule must pass.

    ``items``: (name, pool, start s, end s, units); an item of duration 0 holds nothing.
    ``edges``: (i, j, transfer s): item j starts no earlier than ``transfer`` after item
    i ends. ``capacity``: units per pool. Times are compared with ``eps`` seconds of
    slack. Returns the violations, as sentences, and each pool's peak units held."""
    out: list[str] = []
    for name, _, start, _, _ in items:
        if start < -eps:
            out.append(f"task '{name}' starts at {start:g} s, before time 0")
    for i, j, transfer in edges:
        src, dst = items[i], items[j]
        if dst[2] < src[3] + transfer - eps:
            out.append(f"'{dst[0]}' starts at {dst[2]:g} s, before '{src[0]}' ends at {src[3]:g} s "
                       f"plus transfer {transfer:g} s")
    # Capacity, by a sweep over each pool: at every instant, the units held <= capacity.
    events: dict[str, list[tuple[float, int, int, str]]] = {}
    for name, pool, start, end, units in items:
        if end <= start:
            continue  # an item of duration 0 holds nothing
        # A release within eps of an acquisition counts as before it (back-to-back tasks).
        events.setdefault(pool, []).extend([(start, 1, units, name), (end - eps, 0, -units, name)])
    peaks: dict[str, int] = {}
    for pool, evs in events.items():
        cap = capacity.get(pool, 0)
        cur = peak = 0
        for time, _, du, name in sorted(evs):
            cur += du
            peak = max(peak, cur)
            if du > 0 and cur > cap:
                out.append(f"pool '{pool}' holds {cur} units at {time:g} s (when '{name}' starts); capacity {cap}")
        peaks[pool] = peak
    return out, peaks
