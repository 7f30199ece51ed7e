"""Greedy search, in two phases.

1. Placement, HEFT with a choice of candidate: tasks are taken in upward-rank order and,
   for each, every candidate is weighed against the cluster as the tasks before it left
   it (``Placer.finish``); the one best for the goals is committed (earliest finish for
   latency; least energy, cost or GPUs otherwise, finish time breaking ties). A
   candidate a lower bound on its finish time proves worse than one already tried is
   not placed to learn it (``place``). A quality SLO is met up front by a quality
   budget: each task may only use agents good enough that the product of qualities can
   still reach the bound.
2. Improvement, coordinate descent: single-task changes, critical path first, each
   judged by re-scheduling the whole plan, kept when ``Objective.better`` says the plan
   improved (SLO violation, then the goals in order). Capped by an evaluation budget
   that shrinks with the plan's number of shards: about a dozen re-schedules of a
   1,000-task plan.

Every plan scored goes into the planning call's ``Pool`` (``exact.py``), so what the
planner returns is never worse than any plan the search looked at. With SLOs, the
search also starts from the plan it finds without them: an SLO that plan already meets
cannot make the answer worse.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
from dataclasses import dataclass, replace
from typing import Callable

from ...catalog.catalog import Cluster
from ..logical import LogicalPlan
from ..metrics import metric
from ..progress import report
from .exact import Pool
from .objective import Objective
from .plan import Candidate, Estimate
from .schedule import MakespanBound, PathsThrough, Placer, ready_order, upward_ranks

MAX_ROUNDS = 8
# Full re-schedules phase 2 may spend: EVALUATION_WORK shard placements in all, so
# hundreds of re-schedules for small plans and about a dozen for a 1,000-task plan of
# ~8,600 shards (one re-schedule of it takes ~30 ms here); never fewer than
# MIN_EVALUATIONS.
EVALUATION_WORK = 100_000
MIN_EVALUATIONS = 8
# Plans this small also descend from a second starting point.
SMALL_PLAN_TASKS = 40
# A move is pruned when a lower bound on its makespan exceeds the incumbent's by this
# much (relative), far beyond the metrics' tolerance (1e-9), so that no chain of plans
# tying within the tolerance could make the pruned plan the best.
PRUNE_MARGIN = 1e-6


@dataclass(frozen=True)
class SearchResult:
    choice: dict[str, Candidate]
    estimate: Estimate
    evaluations: int


def _cost(c: Candidate, name: str) -> float:
    """The candidate's standalone value of a goal's metric, as a quantity to minimise."""
    return _coster(name)(c)


@functools.lru_cache(maxsize=None)
def _coster(name: str) -> Callable[[Candidate], float]:
    """``_cost(c, name)`` as a function of ``c`` (asked for every candidate a search
    weighs: the metric is looked up once)."""
    if metric(name).lower_is_better:
        return lambda c: c.metric(name)
    return lambda c: -c.metric(name)


def quality_budget(cands: dict[str, list[Candidate]], objective: Objective) -> dict[str, list[Candidate]]:
    """Restrict each task to agents good enough that a quality floor stays reachable.

    Start every task at its best agent; then, while the product of qualities stays at or
    above the floor, let the task whose next-best agent saves the most (on the first
    goal, standalone) per unit of log-quality lost use it. Without a floor: unchanged.
    """
    # A floor of 0 (a product of thousands of qualities underflows) constrains nothing.
    floors = [b.value for b in objective.bounds if b.metric == "quality" and b.value > 0]
    if not floors or not objective.goals:
        return cands
    floor = max(floors)
    goal = objective.goals[0]
    levels = {t: sorted({c.quality for c in cs}, reverse=True) for t, cs in cands.items()}
    level = {t: 0 for t in cands}
    log_q = sum(math.log(levels[t][0]) for t in cands)
    if log_q < math.log(floor) - 1e-12:
        return {t: [c for c in cs if c.quality == levels[t][0]] for t, cs in cands.items()}

    # best[t][i]: the least cost on the goal among t's candidates of quality >= levels[t][i].
    best: dict[str, list[float]] = {}
    cost = _coster(goal.metric)
    for t, cs in cands.items():
        by_level = {q: math.inf for q in levels[t]}
        for c in cs:
            by_level[c.quality] = min(by_level[c.quality], cost(c))
        best[t] = list(itertools.accumulate((by_level[q] for q in levels[t]), min))

    # Moving one task down a level changes only that task's next step, and the product
    # only falls, so a step that no longer fits never fits again: a heap of each task's
    # next step (best saving per log-quality lost first, then the task's name) takes the
    # same steps as rescanning every task each time.
    limit = math.log(floor) - 1e-12
    heap: list[tuple[float, str]] = []

    def push(t: str) -> None:
        i = level[t]
        if i + 1 >= len(levels[t]):
            return
        loss = math.log(levels[t][i]) - math.log(levels[t][i + 1])
        gain = best[t][i] - best[t][i + 1]
        if gain > 0:
            heapq.heappush(heap, (-gain / loss, t))

    for t in sorted(cands):
        push(t)
    while heap:
        _, t = heapq.heappop(heap)
        i = level[t]
        loss = math.log(levels[t][i]) - math.log(levels[t][i + 1])
        if log_q - loss < limit:
            continue
        log_q -= loss
        level[t] += 1
        push(t)
    return {t: [c for c in cs if c.quality >= levels[t][level[t]]] for t, cs in cands.items()}


def place(plan: LogicalPlan, cands: dict[str, list[Candidate]], objective: Objective, cluster: Cluster,
          serial: bool = False) -> dict[str, Candidate]:
    """Phase 1: list scheduling that picks each task's candidate as it places it: the
    first of the candidates whose key (below) is least.

    A candidate is keyed by the goals in order (its finish time for latency, its
    standalone value otherwise), then finish time, then units held. Placing one to learn
    its finish time is most of the planning of a large job, so the candidates are tried
    in order of a lower bound on their key (``Placer.quick_bounds`` for the finish time),
    and one whose bound, or tighter bound (``Placer.finish_bound``), is already worse
    than the best key found is not placed: it could not be chosen."""
    fastest = {t: min(cs, key=lambda c: c.latency_s) for t, cs in cands.items()}
    placer = Placer(plan, cluster, serial, with_deps=False)
    placer.rows = []  # shards are not needed, only where the units free up
    goals = objective.goals
    # Key components before the first finish time are the candidate's own values.
    lead = next((i for i, g in enumerate(goals) if g.metric == "latency"), len(goals))
    own_costs = [_coster(g.metric) for g in goals[:lead]]
    choice: dict[str, Candidate] = {}
    for node in ready_order(plan, upward_ranks(plan, fastest)):
        options = cands[node.id]
        quick = placer.quick_bounds(node, options) if len(options) > 1 else [-math.inf]
        owns = [tuple([f(cand) for f in own_costs]) for cand in options] if own_costs else [()] * len(options)
        best: tuple[tuple[float, ...], int] | None = None
        for own, bound, i in sorted(zip(owns, quick, range(len(options)))):
            cand = options[i]
            if best is not None:
                if _worse(own, bound, best[0], lead):
                    break  # and so is every later one: the bounds are sorted
                if _worse(own, placer.finish_bound(node, cand), best[0], lead):
                    continue
            # Only the finish time is compared: the shards are made for the one placed.
            finish = placer.finish(node, cand)
            key = tuple(finish if g.metric == "latency" else _cost(cand, g.metric)
                        for g in goals) + (finish, cand.units * cand.fanout)
            if best is None or (key, i) < best:
                best = (key, i)
        assert best is not None
        choice[node.id] = options[best[1]]
        placer.place(node, options[best[1]])
    return choice


def _worse(own: tuple[float, ...], finish_bound: float, best: tuple[float, ...], lead: int) -> bool:
    """Whether a candidate whose key starts with ``own`` and then a finish time of at
    least ``finish_bound`` is certainly keyed after ``best``: by its own values, or by a
    finish time beyond ``best``'s by more than the bound's rounding (``PRUNE_MARGIN``)."""
    if own != best[:lead]:
        return own > best[:lead]
    incumbent = best[lead]
    return finish_bound > incumbent + PRUNE_MARGIN * max(1.0, abs(incumbent))


def standalone_key(c: Candidate, objective: Objective) -> tuple[float, ...]:
    """How good a candidate is for the goals when it runs alone (smaller is better);
    latency, then units held, break ties."""
    return standalone_keyer(objective)(c)


def standalone_keyer(objective: Objective) -> Callable[[Candidate], tuple[float, ...]]:
    """``standalone_key(c, objective)`` as a function of ``c``, the goals looked up once
    (EXPLAIN ranks every candidate of every task by it)."""
    costs = [_coster(g.metric) for g in objective.goals]
    if len(costs) == 1:
        first, = costs
        return lambda c: (first(c), c.latency_s, float(c.units * c.fanout))
    if len(costs) == 2:
        first, second = costs
        return lambda c: (first(c), second(c), c.latency_s, float(c.units * c.fanout))
    return lambda c: tuple([cost(c) for cost in costs]) + (c.latency_s, float(c.units * c.fanout))


def standalone_choice(cands: dict[str, list[Candidate]], objective: Objective) -> dict[str, Candidate]:
    """Per task, the candidate best for the goals when it runs alone."""
    key = standalone_keyer(objective)
    return {task: min(options, key=key) for task, options in cands.items()}


def greedy_search(plan: LogicalPlan, order: list[str], cands: dict[str, list[Candidate]], objective: Objective,
                  cluster: Cluster, pool: Pool, serial: bool = False, prune: bool = False) -> SearchResult:
    """Both phases; ``order`` is the task order of the descent (most critical first).

    Small plans also descend from each task's standalone best; with SLOs, from the plan
    found without them too. The answer is the best plan of ``pool`` (every plan scored,
    in this search or before it). ``prune``: skip the schedule of moves a lower bound
    proves worse (``_dominated``); the search takes the same steps and returns the same
    plan, but leaves the pruned plans out of ``pool.seen`` (an exact search after it
    would evaluate them anew: the planner prunes only when the greedy is the solver).
    """
    before = pool.scored
    bound = MakespanBound(plan) if prune else None
    starts = []
    unbounded = None
    if objective.bounds:
        free = objective.without_bounds()
        unbounded = place(plan, cands, free, cluster, serial)
        starts.append(_descend(unbounded, order, cands, free, pool, _budget(cands, pool), bound).choice)
    budgeted = quality_budget(cands, objective)
    if unbounded is not None and budgeted is cands:
        # place() reads the goals only, which the objective without its SLOs keeps: the
        # same candidates give the same placement.
        starts.append(unbounded)
    else:
        starts.append(place(plan, budgeted, objective, cluster, serial))
    if len(cands) <= SMALL_PLAN_TASKS:
        starts.append(standalone_choice(cands, objective))
    for i, start in enumerate(starts):
        report("greedy: improving start", i + 1, len(starts))
        _descend(start, order, cands, objective, pool, _budget(cands, pool), bound)
    best = pool.best(objective)
    assert best is not None
    return SearchResult(best[0], best[1], pool.scored - before)


def _budget(cands: dict[str, list[Candidate]], pool: Pool) -> int:
    """Plans one descent may score: fewer for plans of many shards."""
    shards = sum(max(c.fanout for c in options) for options in cands.values())
    return max(MIN_EVALUATIONS, EVALUATION_WORK // max(1, shards))


def _descend(choice: dict[str, Candidate], order: list[str], cands: dict[str, list[Candidate]],
             objective: Objective, pool: Pool, budget: int, bound: MakespanBound | None = None) -> SearchResult:
    """Phase 2 from one starting point: at most ``budget`` new plans scored. With a
    makespan ``bound``, a move it proves worse is counted as scored but not scheduled:
    it would have been rejected, so the steps taken are the same."""
    start = pool.scored
    code = pool.code(choice)
    best_est = pool.evaluate(choice, code)
    if bound is not None and not _prunable(objective):
        bound = None
    paths: PathsThrough | None = None  # the incumbent's, made when first needed
    for _ in range(MAX_ROUNDS):
        improved = False
        for task in order:
            for cand in cands[task]:
                if cand is choice[task]:
                    continue
                if pool.scored - start >= budget:
                    return SearchResult(choice, best_est, pool.scored - start)
                trial = {**choice, task: cand}
                trial_code = pool.moved(code, task, cand)
                if bound is not None:
                    paths = paths or bound.around(choice)
                    if _dominated(trial, best_est, objective, paths.bound(task, cand)):
                        pool.prune(trial, trial_code)
                        continue
                est = pool.evaluate(trial, trial_code)
                if objective.better(est, best_est):
                    choice, code, best_est, improved, paths = trial, trial_code, est, True, None
        if not improved:
            break
    return SearchResult(choice, best_est, pool.scored - start)


def _prunable(objective: Objective) -> bool:
    """Whether a makespan bound can prove a move worse: latency is the first goal and
    every SLO is on the whole plan's quality (known exactly without a schedule)."""
    return (bool(objective.goals) and objective.goals[0].metric == "latency"
            and all(b.metric == "quality" and b.scope is None for b in objective.bounds))


def _dominated(trial: dict[str, Candidate], incumbent: Estimate, objective: Objective, bound: float) -> bool:
    """Whether ``trial`` is certainly worse than ``incumbent`` (``_prunable`` objectives):
    its makespan is at least ``bound`` (but for rounding far below the margin), well
    beyond the incumbent's, and it misses the quality SLOs by no less, so
    ``objective.better(incumbent, trial)`` whatever its schedule."""
    if bound <= incumbent.makespan_s + PRUNE_MARGIN * max(1.0, incumbent.makespan_s):
        return False
    if not objective.bounds:
        return True
    # The same product, in the same order, as the totals' quality.
    quality = math.prod(c.quality for c in trial.values())
    mine, theirs = objective.violation(replace(incumbent, quality=quality)), objective.violation(incumbent)
    return not theirs - mine > 1e-9 * max(1.0, mine, theirs)
