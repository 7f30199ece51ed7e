"""Exact search for job plans, exact on the totals EXPLAIN reports: the scheduling core's
Benders search (``compiler/scheduling/benders.py``) with the job planner's list schedule
as its evaluator.

A plan is a choice of one candidate per task; its totals are what ``evaluate`` reports:
the list schedule on the cluster's machines (shards, streaming along ``fuse_maps``
edges) and the timeline totals (idle power and price of every unit held, over the
makespan). No linear model equals that function, so the core's search solves a
relaxation whose every value is a proven lower bound of the reported one and evaluates
its answers for real. This module states a job as that relaxation (``relaxation``):

- a task's options are its candidates, each on the pool of its hardware type, whose
  capacity is the cluster's units of that type (machines pooled: a lower bound, since a
  shard never spans machines);
- ``lat(c)`` is the candidate's longest shard, ``min(c)`` its shortest, ``w(c)`` the
  busy unit-seconds of all its shards as the list scheduler places them, ``e(c)`` their
  busy energy;
- a ``fuse_maps`` edge is a streaming edge; every other edge between tasks a barrier.

Why the job is not the core's ``Problem`` solved by the core's CP-SAT directly: the
shards of a task must all run one candidate (a choice per task, placements per shard),
which a ``Problem`` (one option per task) cannot state, and EXPLAIN reports the list
schedule's totals, not an optimal schedule's. Every plan evaluated, by the greedy first,
is known and excluded, so the answer is the best of all plans evaluated and, when the
loop closes, the optimum of the reported totals.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Callable, Sequence

from ...catalog.catalog import Catalog, Cluster
from ...grammar.diagnostics import MurakkabError, Span
from ..logical import LogicalPlan
from ..scheduling.benders import CpSatMaster, ExactResult, MilpMaster, Relaxation, search
from .cost import candidate_power_w, split_calls
from .objective import Objective
from .plan import Candidate, Estimate

# The exhaustive oracle refuses more combinations than this (it evaluates every one).
MAX_EXHAUSTIVE_COMBINATIONS = 200_000


class Pool:
    """Every plan evaluated during one planning call, and the best one by the objective.
    A search can never return worse than a plan it already evaluated.

    ``pruned``: plans a search rejected without scheduling them, because a lower bound
    proved them worse than a plan already evaluated (``greedy._dominated``); they count
    among the plans ``scored``, as if evaluated, and can never be the best."""

    def __init__(self, tasks: Sequence[str], cands: dict[str, list[Candidate]],
                 evaluate: Callable[[dict[str, Candidate]], Estimate]) -> None:
        self.tasks = list(tasks)
        self.cands = cands
        self._evaluate = evaluate
        self._index = {t: {id(c): i for i, c in enumerate(cs)} for t, cs in cands.items()}
        self._position = {t: i for i, t in enumerate(self.tasks)}
        self.seen: dict[tuple[int, ...], Estimate] = {}
        self.pruned: set[tuple[int, ...]] = set()

    @property
    def scored(self) -> int:
        """Plans evaluated or pruned (the two never overlap)."""
        return len(self.seen) + len(self.pruned)

    def prune(self, choice: dict[str, Candidate], code: tuple[int, ...] | None = None) -> None:
        """Count ``choice`` as scored without evaluating it (nothing if it was evaluated).
        ``code``: ``self.code(choice)``, when the caller has it."""
        code = self.code(choice) if code is None else code
        if code not in self.seen:
            self.pruned.add(code)

    def code(self, choice: dict[str, Candidate]) -> tuple[int, ...]:
        return tuple(self._index[t][id(choice[t])] for t in self.tasks)

    def moved(self, code: tuple[int, ...], task: str, cand: Candidate) -> tuple[int, ...]:
        """The code of the choice coded ``code`` with ``task`` run as ``cand`` (a search
        that changes one task at a time need not code every task again)."""
        i = self._position[task]
        return code[:i] + (self._index[task][id(cand)],) + code[i + 1:]

    def evaluate_code(self, code: tuple[int, ...]) -> Estimate:
        """The totals of the plan coded ``code`` (``benders.Plans``)."""
        return self.evaluate(self.choice(code), code)

    def choice(self, code: Sequence[int]) -> dict[str, Candidate]:
        return {t: self.cands[t][i] for t, i in zip(self.tasks, code)}

    def evaluate(self, choice: dict[str, Candidate], code: tuple[int, ...] | None = None) -> Estimate:
        """The totals of ``choice``, evaluated once (``code``: ``self.code(choice)``,
        when the caller has it)."""
        code = self.code(choice) if code is None else code
        est = self.seen.get(code)
        if est is None:
            est = self.seen[code] = self._evaluate(choice)
            self.pruned.discard(code)
        return est

    def best(self, objective: Objective) -> tuple[dict[str, Candidate], Estimate] | None:
        """The best evaluated plan (the first evaluated among equals)."""
        best: tuple[tuple[int, ...], Estimate] | None = None
        for code, est in self.seen.items():
            if best is None or objective.better(est, best[1]):
                best = (code, est)
        return None if best is None else (self.choice(best[0]), best[1])


# --- the job as the core's relaxation -------------------------------------------------------


def relaxation(plan: LogicalPlan, cands: dict[str, list[Candidate]], catalog: Catalog, cluster: Cluster,
               tasks: list[str]) -> Relaxation:
    """The job as the core's relaxation: ``tasks`` (in plan order, which is topological)
    with their candidates as options, each on its hardware type's pool."""
    index = {t: i for i, t in enumerate(tasks)}
    lat, shortest, work, busy, units, log_q, hw = [], [], [], [], [], [], []
    for t in tasks:
        row = cands[t]
        shards = [[c.shard_seconds(n) for n in split_calls(c.calls, c.fanout)] for c in row]
        lat.append([max(s) for s in shards])
        shortest.append([min(s) for s in shards])
        work.append([sum(s) * c.units for s, c in zip(shards, row)])
        busy.append([sum(s) * c.units * candidate_power_w(catalog, c) / 3600.0 for s, c in zip(shards, row)])
        units.append([c.units for c in row])
        log_q.append([math.log(c.quality) for c in row])
        hw.append([c.hardware for c in row])
    barrier, stream = [], []
    for node in plan.tasks:
        if node.id not in index:
            continue
        for src in dict.fromkeys(node.inputs):
            if src in index:
                (stream if node.streams_from == src else barrier).append((index[src], index[node.id]))
    names = sorted({h for row in hw for h in row})
    info = {h: catalog.hardware(h) for h in names}
    return Relaxation(tasks, lat, shortest, work, busy, units, log_q, hw, barrier, stream, names,
                      cap={h: cluster.capacity(h) for h in names},
                      idle_w={h: info[h].idle_w for h in names},  # type: ignore[union-attr]
                      usd_s={h: info[h].usd_per_hour / 3600.0 for h in names},  # type: ignore[union-attr]
                      gpu={h: info[h].is_gpu for h in names})  # type: ignore[union-attr]


# --- the searches ---------------------------------------------------------------------------


def solve_exact(solver: str, plan: LogicalPlan, cands: dict[str, list[Candidate]], catalog: Catalog,
                cluster: Cluster, objective: Objective, pool: Pool, time_limit_s: float,
                backend: str = "highs") -> ExactResult:
    """``solver`` is 'cpsat', 'ilp' or 'exhaustive'; ``pool`` holds the plans evaluated so
    far (the greedy's), which the search starts from and never returns worse than."""
    start = time.perf_counter()
    if solver == "exhaustive":
        return _exhaustive(cands, objective, pool, start)
    d = relaxation(plan, cands, catalog, cluster, pool.tasks)
    master = CpSatMaster(d, objective) if solver == "cpsat" else MilpMaster(d, objective, backend)
    return search(solver, master, objective, pool, start, time_limit_s)


def check_exhaustive(cands: dict[str, list[Candidate]], span: Span | None = None) -> None:
    """Refuse, located at ``span``, a job with more plans than the exhaustive oracle evaluates."""
    combos = math.prod(len(c) for c in cands.values())
    if combos > MAX_EXHAUSTIVE_COMBINATIONS:
        raise MurakkabError(f"the exhaustive oracle would evaluate {combos:,} plans (at most "
                            f"{MAX_EXHAUSTIVE_COMBINATIONS:,})", span, "use SET solver = 'cpsat' or 'auto'")


def _exhaustive(cands: dict[str, list[Candidate]], objective: Objective, pool: Pool, start: float) -> ExactResult:
    check_exhaustive(cands)
    for code in itertools.product(*(range(len(cands[t])) for t in pool.tasks)):
        pool.evaluate(pool.choice(code))
    best = pool.best(objective)
    assert best is not None
    choice, est = best
    feasible = objective.feasible(est)
    first = objective.goals[0].metric if objective.goals else "latency"
    return ExactResult("exhaustive", choice if feasible else None, est if feasible else None, feasible,
                       est.metric(first) if feasible else None, time.perf_counter() - start, len(pool.seen), 0,
                       infeasible=not feasible)
