"""Greedy search, in two phases.

1. Placement, HEFT with a choice of candidate: tasks are taken in upward-rank order and,
   for each, every candidate is tried against the cluster as the tasks before it left
   it (``Placer.trial``); the one best for the goals is committed (earliest finish for
   latency; least energy, cost or GPUs otherwise, finish time breaking ties). A quality
   SLO is met up front by a quality budget: each task may only use agents good enough
   that the product of qualities can still reach the bound.
2. Improvement, coordinate descent: single-task changes, critical path first, each
   judged by re-scheduling the whole plan, kept when the plan's key drops
   ``(SLO violation, goal 1, goal 2, ...)``. Capped by an evaluation budget that shrinks
   with the plan's number of shards, so a 1,000-task plan takes about a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ...catalog.catalog import Cluster
from ..logical import LogicalPlan
from .objective import Objective
from .plan import Candidate, Estimate
from .schedule import Placer, ready_order, upward_ranks

MAX_ROUNDS = 8
# Full re-schedules phase 2 may spend: EVALUATION_WORK shard placements in all, so
# hundreds of re-schedules for small plans and about a dozen for a 1,000-task plan of
# ~8,600 shards (one re-schedule of it takes ~30 ms here); never fewer than
# MIN_EVALUATIONS.
EVALUATION_WORK = 100_000
MIN_EVALUATIONS = 8
# Plans this small also descend from a second starting point.
SMALL_PLAN_TASKS = 40


@dataclass(frozen=True)
class SearchResult:
    choice: dict[str, Candidate]
    estimate: Estimate
    evaluations: int


def _metric(c: Candidate, name: str) -> float:
    return {"latency": c.latency_s, "energy": c.energy_wh, "cost": c.cost_usd, "quality": -c.quality,
            "gpus": float(c.gpus)}[name]


def quality_budget(cands: dict[str, list[Candidate]], objective: Objective) -> dict[str, list[Candidate]]:
    """Restrict each task to agents good enough that a quality floor stays reachable.

    Start every task at its best agent; then, while the product of qualities stays at or
    above the floor, let the task whose next-best agent saves the most (on the first
    goal, standalone) per unit of log-quality lost use it. Without a floor: unchanged.
    """
    floors = [b.value for b in objective.bounds if b.metric == "quality"]
    if not floors or not objective.goals:
        return cands
    floor = max(floors)
    goal = objective.goals[0]
    levels = {t: sorted({c.quality for c in cs}, reverse=True) for t, cs in cands.items()}
    level = {t: 0 for t in cands}
    log_q = sum(math.log(levels[t][0]) for t in cands)
    if log_q < math.log(floor) - 1e-12:
        return {t: [c for c in cs if c.quality == levels[t][0]] for t, cs in cands.items()}

    def best_at(task: str, q: float) -> float:
        sign = 1.0 if goal.minimize else -1.0
        return min(sign * _metric(c, goal.metric) for c in cands[task] if c.quality >= q)

    while True:
        best: tuple[float, str] | None = None
        for t in sorted(cands):
            if level[t] + 1 >= len(levels[t]):
                continue
            q_now, q_next = levels[t][level[t]], levels[t][level[t] + 1]
            loss = math.log(q_now) - math.log(q_next)
            if log_q - loss < math.log(floor) - 1e-12:
                continue
            gain = best_at(t, q_now) - best_at(t, q_next)
            if gain > 0 and (best is None or gain / loss > best[0]):
                best = (gain / loss, t)
        if best is None:
            break
        t = best[1]
        log_q -= math.log(levels[t][level[t]]) - math.log(levels[t][level[t] + 1])
        level[t] += 1
    return {t: [c for c in cs if c.quality >= levels[t][level[t]]] for t, cs in cands.items()}


def place(plan: LogicalPlan, cands: dict[str, list[Candidate]], objective: Objective, cluster: Cluster,
          serial: bool = False) -> dict[str, Candidate]:
    """Phase 1: list scheduling that picks each task's candidate as it places it."""
    fastest = {t: min(cs, key=lambda c: c.latency_s) for t, cs in cands.items()}
    placer = Placer(plan, cluster, serial, with_deps=False)
    choice: dict[str, Candidate] = {}
    for node in ready_order(plan, upward_ranks(plan, fastest)):
        best: tuple[tuple[float, ...], Candidate, list] | None = None
        for cand in cands[node.id]:
            shards = placer.trial(node, cand)
            finish = max(s.end_s for s in shards)
            key = tuple(finish if g.metric == "latency" else
                        (_metric(cand, g.metric) if g.minimize else -_metric(cand, g.metric))
                        for g in objective.goals) + (finish, cand.units * cand.fanout)
            if best is None or key < best[0]:
                best = (key, cand, shards)
        assert best is not None
        choice[node.id] = best[1]
        placer.commit(node, best[1], best[2])
    return choice


def standalone_key(c: Candidate, objective: Objective) -> tuple[float, ...]:
    """How good a candidate is for the goals when it runs alone (smaller is better);
    latency, then units held, break ties."""
    return tuple(_metric(c, g.metric) if g.minimize else -_metric(c, g.metric) for g in objective.goals) + (
        c.latency_s, float(c.units * c.fanout))


def standalone_choice(cands: dict[str, list[Candidate]], objective: Objective) -> dict[str, Candidate]:
    """Per task, the candidate best for the goals when it runs alone."""
    return {task: min(options, key=lambda c: standalone_key(c, objective)) for task, options in cands.items()}


def greedy_search(plan: LogicalPlan, order: list[str], cands: dict[str, list[Candidate]], objective: Objective,
                  cluster: Cluster, evaluate: Callable[[dict[str, Candidate]], Estimate],
                  serial: bool = False) -> SearchResult:
    """Both phases; ``order`` is the task order of the descent (most critical first).

    Small plans also descend from each task's standalone best and keep the better end:
    two starting points escape some local optima at little cost.
    """
    starts = [place(plan, quality_budget(cands, objective), objective, cluster, serial)]
    shards = sum(c.fanout for c in starts[0].values())
    budget = max(MIN_EVALUATIONS, EVALUATION_WORK // max(1, shards))
    if len(cands) <= SMALL_PLAN_TASKS:
        starts.append(standalone_choice(cands, objective))
    results = [_descend(start, order, cands, objective, evaluate, budget) for start in starts]
    best = min(results, key=lambda r: objective.key(r.estimate))
    return SearchResult(best.choice, best.estimate, sum(r.evaluations for r in results))


def _descend(choice: dict[str, Candidate], order: list[str], cands: dict[str, list[Candidate]],
             objective: Objective, evaluate: Callable[[dict[str, Candidate]], Estimate],
             budget: int) -> SearchResult:
    """Phase 2 from one starting point."""
    cache: dict[tuple[int, ...], Estimate] = {}
    index = {task: {id(c): i for i, c in enumerate(options)} for task, options in cands.items()}

    def score(trial: dict[str, Candidate]) -> tuple[tuple[float, ...], Estimate]:
        key = tuple(index[t][id(trial[t])] for t in order)
        if key not in cache:
            cache[key] = evaluate(trial)
        est = cache[key]
        return objective.key(est), est

    best_key, best_est = score(choice)
    for _ in range(MAX_ROUNDS):
        improved = False
        for task in order:
            for cand in cands[task]:
                if cand is choice[task]:
                    continue
                if len(cache) >= budget:
                    return SearchResult(choice, best_est, len(cache))
                trial = {**choice, task: cand}
                key, est = score(trial)
                if key < best_key:
                    choice, best_key, best_est, improved = trial, key, est, True
        if not improved:
            break
    return SearchResult(choice, best_est, len(cache))
