"""An independent check of a schedule against its problem: the one validator of
schedules, for this core's solvers and for the job planner's (whose shards
``compiler/physical/as_scheduling.py`` states as a problem of this core).

Shares no scheduling code with the solvers: it recomputes everything from the problem's
data and the placements, so a bug in a solver (or in ``Problem.totals``) shows up as a
violation here instead of being repeated. Times are compared with a tolerance of
``tol`` × max(1, makespan) seconds, since solver values carry floating-point noise.
"""

from __future__ import annotations

import math
from typing import Sequence

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

    for tid, (pl, start, _) in chosen.items():
        if start < -eps:
            out.append(f"task '{tid}' starts at {start:g} s, before time 0")

    for e in problem.edges:
        if e.src not in chosen or e.dst not in chosen:
            continue
        src, s_start, s_end = chosen[e.src]
        dst, d_start, _ = chosen[e.dst]
        transfer = e.transfer_s[src.option][dst.option] if e.transfer_s else 0.0
        if d_start < s_end + transfer - eps:
            out.append(f"'{e.dst}' starts at {d_start:g} s, before '{e.src}' ends at {s_end:g} s "
                       f"plus transfer {transfer:g} s")

    # Capacity, by a sweep over each pool: at every instant, the units held <= capacity.
    events: dict[str, list[tuple[float, int, int, str]]] = {}
    for tid, (pl, start, end) in chosen.items():
        opt = tasks[tid].options[pl.option]
        if end <= start:
            continue  # a task of duration 0 holds nothing
        # A release within eps of an acquisition counts as before it (back-to-back tasks).
        events.setdefault(opt.pool, []).extend([(start, 1, opt.units, tid), (end - eps, 0, -opt.units, tid)])
    peaks: dict[str, int] = {}
    for pool, evs in events.items():
        cap = pools[pool].capacity
        cur = peak = 0
        for time, _, du, tid in sorted(evs):
            cur += du
            peak = max(peak, cur)
            if du > 0 and cur > cap:
                out.append(f"pool '{pool}' holds {cur} units at {time:g} s (when '{tid}' starts); capacity {cap}")
        peaks[pool] = peak

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
