"""The oracle for tiny problems: every option combination, every order, list-scheduled.

A depth-first search extends a partial schedule by one more task whose predecessors are
placed, on one of its options, placed by the serial scheme (``sgs.Profile``: the
earliest start that precedence, transfers and the pool's free units allow, given the
tasks already placed). Its leaves are thus every option combination list-scheduled in
every topological order.

Why that suffices for the makespan: take an optimal schedule, keep its options, and
list-schedule its tasks in order of their start times. By induction each task starts no
later than in the optimal schedule: its predecessors end no later, and the tasks placed
before it are only shifted left, so at any instant from its old start on they hold no
more units than before, and its old slot is still free. So some optimal schedule is a
list schedule of some order. Energy, cost and quality depend on the options alone, so the
same holds for them and for lexicographic combinations. The gpus metric (peak units of
GPU pools) is not improved by starting early; for it the search also runs with every
smaller capacity of the GPU pools, since a schedule whose peaks are ``c`` is feasible on
pools of capacity ``c``.

Pruning is exact: a branch is cut when a lower bound on its goals is no better than the
best complete schedule found, or a bound cannot hold; partial schedules reached by two
orders are explored once. Problems above ``MAX_TASKS`` tasks or ``MAX_COMBINATIONS``
option (and capacity) combinations are refused.
"""

from __future__ import annotations

import itertools
import math
import time

from ...grammar.diagnostics import MurakkabError
from .problem import METRICS, InfeasibleScheduleError, Objective, Pool, Problem, Result, Stage
from .sgs import Profile, placements

MAX_TASKS = 8
MAX_COMBINATIONS = 6561  # 3 options for each of 8 tasks


def combinations(problem: Problem, objective: Objective) -> int:
    """Option combinations times the GPU capacity vectors the search would try."""
    n = math.prod(len(t.options) for t in problem.tasks)
    if objective.uses("gpus"):
        n *= math.prod(p.capacity + 1 for p in problem.pools if p.gpu)
    return n


def check_size(problem: Problem, objective: Objective) -> None:
    n = combinations(problem, objective)
    if len(problem.tasks) > MAX_TASKS or n > MAX_COMBINATIONS:
        raise MurakkabError(
            f"{problem.name} is too large for the exhaustive solver ({len(problem.tasks)} tasks, {n} option "
            f"combinations; the limits are {MAX_TASKS} tasks and {MAX_COMBINATIONS} combinations)",
            hint="use --solver ilp (exact, with a time limit) or --solver greedy")


class _Search:
    def __init__(self, problem: Problem, objective: Objective) -> None:
        self.p, self.obj = problem, objective
        n = len(problem.tasks)
        self.n = n
        self.fast = [problem.fastest(t) for t in range(n)]
        # tail[t]: the least time from t's end to the end of the schedule.
        self.tail = [0.0] * n
        for t in reversed(problem.topo_order):
            for k in problem.succs[t]:
                _, d = problem.edge_ends[k]
                self.tail[t] = max(self.tail[t], problem.min_transfer(k) + self.fast[d] + self.tail[d])
        self.min_e = [min(o.energy_wh for o in t.options) for t in problem.tasks]
        self.min_c = [min(o.cost_usd for o in t.options) for t in problem.tasks]
        self.max_lq = [max(math.log(o.quality) for o in t.options) for t in problem.tasks]
        self.eps = 1e-9
        self.best_key: tuple[float, ...] | None = None
        self.best: tuple[list[int], list[float]] | None = None
        self.nodes = 0

    def run(self, caps: dict[str, int]) -> None:
        self.caps = caps
        self.profiles = {p.name: Profile(caps.get(p.name, p.capacity)) for p in self.p.pools}
        self.choice = [-1] * self.n
        self.start = [0.0] * self.n
        self.end = [0.0] * self.n
        self.placed = [False] * self.n
        self.waiting = [len(self.p.preds[t]) for t in range(self.n)]
        self.seen: set[tuple] = set()
        self._dfs(0)

    def _lower(self) -> tuple[dict[str, float], tuple[float, ...]]:
        """Bounds on every metric of any completion (in the metric's own terms), and the
        goal key they imply."""
        p = self.p
        head = [0.0] * self.n
        makespan = 0.0
        energy = cost = log_q = 0.0
        for t in p.topo_order:
            if self.placed[t]:
                opt = p.option(t, self.choice[t])
                makespan = max(makespan, self.end[t])
                energy += opt.energy_wh
                cost += opt.cost_usd
                log_q += math.log(opt.quality)
                continue
            for k in p.preds[t]:
                src, _ = p.edge_ends[k]
                if self.placed[src]:
                    e = p.edges[k]
                    least = min(e.seconds(self.choice[src], j) for j in range(len(p.tasks[t].options)))
                    head[t] = max(head[t], self.end[src] + least)
                else:
                    head[t] = max(head[t], head[src] + self.fast[src] + p.min_transfer(k))
            makespan = max(makespan, head[t] + self.fast[t] + self.tail[t])
            energy += self.min_e[t]
            cost += self.min_c[t]
            log_q += self.max_lq[t]
        gpus = sum(max(prof.used) for name, prof in self.profiles.items() if p.pools[p.pool_index[name]].gpu)
        values = {"makespan": makespan, "energy": energy, "cost": cost, "quality": math.exp(log_q),
                  "gpus": float(gpus)}
        return values, tuple(values[g] if METRICS[g] else -values[g] for g in self.obj.goals)

    def _dominated(self, key: tuple[float, ...]) -> bool:
        """Whether a completion with goals at best ``key`` cannot beat the incumbent."""
        if self.best_key is None:
            return False
        for a, b in zip(key, self.best_key):
            tol = 1e-9 * max(1.0, abs(b))
            if a > b + tol:
                return True
            if a < b - tol:
                return False
        return True  # equal on every goal: no strict improvement possible

    def _violates(self, values: dict[str, float]) -> bool:
        for b in self.obj.bounds:
            v, tol = values[b.metric], 1e-9 * max(1.0, abs(b.value))
            if (v > b.value + tol) if METRICS[b.metric] else (v < b.value - tol):
                return True
        return False

    def _dfs(self, count: int) -> None:
        self.nodes += 1
        values, key = self._lower()
        if self._violates(values) or self._dominated(key):
            return
        if count == self.n:
            # The bounds on a complete schedule are its values (the gpus one is its peak).
            self.best_key, self.best = key, (list(self.choice), list(self.start))
            return
        sig = tuple((self.choice[t], self.start[t]) if self.placed[t] else None for t in range(self.n))
        if sig in self.seen:
            return
        self.seen.add(sig)
        p = self.p
        for t in range(self.n):
            if self.placed[t] or self.waiting[t]:
                continue
            for i, opt in enumerate(p.tasks[t].options):
                prof = self.profiles[opt.pool]
                if opt.units > prof.capacity and opt.duration_s > 0:
                    continue  # not on this capacity vector
                ready = 0.0
                for k in p.preds[t]:
                    src, _ = p.edge_ends[k]
                    ready = max(ready, self.end[src] + p.edges[k].seconds(self.choice[src], i))
                s = prof.earliest(ready, opt.duration_s, opt.units)
                saved = (list(prof.times), list(prof.used))
                prof.add(s, s + opt.duration_s, opt.units)
                self.choice[t], self.start[t], self.end[t], self.placed[t] = i, s, s + opt.duration_s, True
                for k in p.succs[t]:
                    self.waiting[p.edge_ends[k][1]] -= 1
                self._dfs(count + 1)
                for k in p.succs[t]:
                    self.waiting[p.edge_ends[k][1]] += 1
                self.choice[t], self.placed[t] = -1, False
                prof.times, prof.used = saved


def solve_exhaustive(problem: Problem, objective: Objective = Objective()) -> Result:
    """The optimal schedule for ``objective`` (see the module docstring); raises
    ``InfeasibleScheduleError`` when no schedule meets the bounds."""
    check_size(problem, objective)
    t0 = time.perf_counter()
    search = _Search(problem, objective)
    gpu_pools: list[Pool] = [p for p in problem.pools if p.gpu] if objective.uses("gpus") else []
    for caps in itertools.product(*(range(p.capacity + 1) for p in gpu_pools)):
        search.run({p.name: c for p, c in zip(gpu_pools, caps)})
    seconds = time.perf_counter() - t0
    if search.best is None:
        raise InfeasibleScheduleError(f"no schedule of {problem.name} meets "
                                      + " and ".join(b.text() for b in objective.bounds))
    choice, start = search.best
    sol = placements(problem, choice, start)
    totals = problem.totals(sol)
    stages = tuple(Stage(g, totals.metric(g), totals.metric(g), True, seconds) for g in objective.goals)
    first = objective.goals[0] if objective.goals else "makespan"
    value = totals.metric(first)
    note = f"exhaustive: {search.nodes} search nodes"
    return Result("exhaustive", sol, totals, True, value, value, objective.feasible(totals), seconds, note, stages)

