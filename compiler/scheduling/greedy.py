"""HEFT (Topcuoglu, Hariri and Wu, IEEE TPDS 2002) generalised to pools and options,
then an upgrade loop for the bounds.

1. Rank. ``rank(t) = mean_o d(o) + max over edges (t, s) of (mean tau_ts + rank(s))``:
   HEFT's upward rank, with the mean over a task's options for the mean execution time
   over processors, and the mean over option pairs on *different* pools for the mean
   communication cost (Topcuoglu average the transfer rate over pairs of distinct
   processors; on one pool, the mean over all pairs).
2. Place. Tasks go in decreasing rank (among those whose predecessors are placed); each
   tries every option at the earliest start its pool allows from its ready time,
   inserting into idle gaps (HEFT's insertion policy, ``sgs.Profile``), and keeps the
   option with the earliest finish — or, when the first goal is not the makespan, the
   best on the goals (standalone), earliest finish breaking ties.
3. Upgrade. While a bound is violated: try every single-task change of option (on the
   critical path when the makespan bound is the one violated), re-placing the whole plan
   with options fixed, and keep the one that lowers ``(violation, goals...)`` most;
   stop when the bounds hold, nothing improves, or the evaluation budget is spent.

On the paper's example (Fig. 2) this reproduces the published HEFT schedule length, 80.
"""

from __future__ import annotations

import math
import time
from typing import Iterator, Sequence

from . import ranks
from .problem import Objective, Option, Placement, Problem, Result, Stage
from .sgs import Profile, critical_tasks, place, placements, priority_order

# Full re-placements the upgrade loop may spend: UPGRADE_WORK / tasks, so hundreds for a
# small problem and a handful for 10,000 tasks (one re-placement is ~O(tasks)).
UPGRADE_WORK = 200_000
MIN_UPGRADES = 10


def mean_transfer(problem: Problem, k: int) -> float:
    """HEFT's mean communication cost of edge ``k`` (see the module docstring)."""
    e = problem.edges[k]
    if not e.transfer_s:
        return 0.0
    src, dst = problem.edge_ends[k]
    a_opts, b_opts = problem.tasks[src].options, problem.tasks[dst].options
    apart = [e.transfer_s[i][j] for i, a in enumerate(a_opts) for j, b in enumerate(b_opts) if a.pool != b.pool]
    if apart:
        return sum(apart) / len(apart)
    values = [v for row in e.transfer_s for v in row]
    return sum(values) / len(values)


def upward_ranks(problem: Problem, choice: Sequence[int] | None = None) -> list[float]:
    """HEFT's upward rank of every task (``ranks.upward_ranks``): of its options' mean
    duration and its edges' mean transfer; with ``choice``, of that fixed option per task."""

    def weight(t: int) -> float:
        if choice is None:
            opts = problem.tasks[t].options
            return sum(o.duration_s for o in opts) / len(opts)
        return problem.option(t, choice[t]).duration_s

    def readers(t: int) -> Iterator[tuple[int, float]]:
        for k in problem.succs[t]:
            _, d = problem.edge_ends[k]
            yield d, mean_transfer(problem, k) if choice is None else problem.edges[k].seconds(choice[t], choice[d])

    rank = ranks.upward_ranks(((t, readers(t)) for t in reversed(problem.topo_order)), weight)
    return [rank[t] for t in range(len(problem.tasks))]


def _standalone(problem: Problem, opt: Option, metric: str) -> float:
    """An option's own contribution to a goal, for choosing without a schedule."""
    if metric == "energy":
        return opt.energy_wh
    if metric == "cost":
        return opt.cost_usd
    if metric == "quality":
        return -math.log(opt.quality)
    if metric == "gpus":
        return float(problem.gpus_of(opt))
    return 0.0  # makespan: decided by the finish time


def heft(problem: Problem, objective: Objective = Objective()) -> tuple[list[int], list[float]]:
    """HEFT's choice of option per task and start times (steps 1 and 2)."""
    rank = upward_ranks(problem)
    profiles = {p.name: Profile(p.capacity) for p in problem.pools}
    n = len(problem.tasks)
    choice, start, end = [0] * n, [0.0] * n, [0.0] * n
    by_finish = not objective.goals or objective.goals[0] == "makespan"
    for t in priority_order(problem, rank):
        best: tuple[tuple[float, ...], int, float] | None = None
        for i, opt in enumerate(problem.tasks[t].options):
            ready = 0.0
            for k in problem.preds[t]:
                src, _ = problem.edge_ends[k]
                ready = max(ready, end[src] + problem.edges[k].seconds(choice[src], i))
            s = profiles[opt.pool].earliest(ready, opt.duration_s, opt.units)
            finish = s + opt.duration_s
            if by_finish:
                key: tuple[float, ...] = (finish, *(_standalone(problem, opt, g) for g in objective.goals))
            else:
                key = (*(_standalone(problem, opt, g) for g in objective.goals), finish)
            # Strictly better only: ties keep the first option (HEFT's first processor).
            if best is None or key < best[0]:
                best = (key, i, s)
        assert best is not None
        _, i, s = best
        opt = problem.option(t, i)
        profiles[opt.pool].add(s, s + opt.duration_s, opt.units)
        choice[t], start[t], end[t] = i, s, s + opt.duration_s
    return choice, start


def place_fixed(problem: Problem, choice: Sequence[int]) -> list[float]:
    """Start times for a fixed choice: the serial scheme in upward-rank order."""
    return place(problem, priority_order(problem, upward_ranks(problem, choice)), choice)


def upgrade(problem: Problem, objective: Objective, choice: list[int], start: list[float],
            budget: int | None = None) -> tuple[list[int], list[float], int]:
    """Step 3: single-task option changes until the bounds hold. Returns the choice, its
    start times and the number of re-placements spent."""
    n = len(problem.tasks)
    budget = budget if budget is not None else max(MIN_UPGRADES, UPGRADE_WORK // max(n, 1))
    spent = 0

    def key(ch: Sequence[int], st: Sequence[float]) -> tuple[float, ...]:
        return objective.key(problem.totals(placements_light(problem, ch, st)))

    current = key(choice, start)
    while current[0] > 0 and spent < budget:
        totals = problem.totals(placements_light(problem, choice, start))
        late = any(b.metric == "makespan" and not b.met(totals) for b in objective.bounds)
        movable = critical_tasks(problem, choice, start) if late else list(range(n))
        best: tuple[tuple[float, ...], list[int], list[float]] | None = None
        for t in movable:
            for i in range(len(problem.tasks[t].options)):
                if i == choice[t] or spent >= budget:
                    continue
                trial = list(choice)
                trial[t] = i
                st = place_fixed(problem, trial)
                spent += 1
                k = key(trial, st)
                if k < current and (best is None or k < best[0]):
                    best = (k, trial, st)
        if best is None:
            break
        current, choice, start = best
    return choice, start, spent


def placements_light(problem: Problem, choice: Sequence[int], start: Sequence[float]) -> list[Placement]:
    """Placements without unit names (the totals do not need them)."""
    return [Placement(t.id, choice[i], start[i]) for i, t in enumerate(problem.tasks)]


def solve_greedy(problem: Problem, objective: Objective = Objective()) -> Result:
    """HEFT, then the upgrade loop when a bound is violated."""
    t0 = time.perf_counter()
    choice, start = heft(problem, objective)
    note = "HEFT (insertion-based, upward rank)"
    totals = problem.totals(placements_light(problem, choice, start))
    if objective.bounds and not objective.feasible(totals):
        fixed = place_fixed(problem, choice)
        better, moved, spent = upgrade(problem, objective, list(choice), fixed)
        after = problem.totals(placements_light(problem, better, moved))
        note += f"; upgrade loop: {spent} re-placements"
        # The loop re-places with options fixed, which can be worse than HEFT's own
        # placement: keep whichever is better.
        if objective.key(after) < objective.key(totals):
            choice, start, totals = better, moved, after
        if not objective.feasible(totals):
            note += f"; bounds still violated ({', '.join(b.text() for b in objective.bounds if not b.met(totals))})"
    return _result(problem, objective, "greedy", choice, start, note, time.perf_counter() - t0)


def _result(problem: Problem, objective: Objective, solver: str, choice: Sequence[int], start: Sequence[float],
            note: str, seconds: float) -> Result:
    """Package a heuristic schedule. A heuristic proves only what the static bounds prove:
    a goal whose value meets its bound is optimal (and all of them, lexicographically)."""
    sol = placements(problem, choice, start)
    totals = problem.totals(sol)
    stages = tuple(Stage(g, totals.metric(g), static_bound(problem, g), False, seconds) for g in objective.goals)
    stages = tuple(Stage(s.goal, s.objective, s.bound, s.gap == 0.0, s.seconds) for s in stages)
    first = stages[0] if stages else Stage("makespan", totals.makespan_s, problem.makespan_lower_bound(), False, 0.0)
    optimal = bool(stages) and all(s.optimal for s in stages) and objective.feasible(totals)
    if optimal:
        note += "; optimal: meets the lower bound"
    return Result(solver, sol, totals, optimal, first.objective, first.bound, objective.feasible(totals), seconds,
                  note, stages)


def static_bound(problem: Problem, metric: str) -> float:
    """The best value any schedule could have on ``metric``, ignoring the other goals and
    the bounds: for the makespan, ``Problem.makespan_lower_bound``."""
    if metric == "makespan":
        return problem.makespan_lower_bound()
    if metric == "energy":
        return sum(min(o.energy_wh for o in t.options) for t in problem.tasks)
    if metric == "cost":
        return sum(min(o.cost_usd for o in t.options) for t in problem.tasks)
    if metric == "quality":
        return math.prod(max(o.quality for o in t.options) for t in problem.tasks)
    # gpus: the task that needs the most GPUs at its least must hold them at some point.
    return float(max((min(problem.gpus_of(o) for o in t.options) for t in problem.tasks), default=0))
