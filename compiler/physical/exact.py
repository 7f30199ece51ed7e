"""Exact search for job plans, exact on the totals EXPLAIN reports.

A plan is a choice of one candidate per task; its totals are what ``evaluate`` reports:
the list schedule on the cluster's machines (shards, streaming along ``fuse_maps``
edges) and the timeline totals (idle power and price of every unit held, over the
makespan). No linear model equals that function, so the exact solvers do not pretend
one does. They search the choices with a *relaxation* whose every value is a proven
lower bound of the reported one, and evaluate the relaxation's answers for real
(logic-based Benders decomposition, with the schedule as the subproblem):

    repeat:  x* = argmin LB_goal(x) over choices not yet evaluated, s.t. LB_slo(x) <= SLO
             if LB_goal(x*) >= the best evaluated plan's goal: proven optimal, stop
             evaluate(x*) for real, keep it if better, exclude x* (a no-good cut)

Lexicographic goals close one at a time: once no unevaluated choice can beat the best
plan on goal 1, goal 2 is searched among the choices that could still tie on goal 1.
Every plan evaluated, by the greedy first, is known and excluded, so the answer is the
best of all plans evaluated and, when the loop closes, the optimum of the reported
totals. If the time limit stops it first, the bound and gap on the first goal are
proven over all choices (evaluated ones exactly, the others by the relaxation).

The relaxation, in the notation of ``compiler/scheduling/problem.py`` with candidates as
options: ``x[t,c]`` in {0, 1}, one per task; for candidate ``c``: its longest shard
``lat(c)``, its shortest ``min(c)``, its busy unit-seconds ``w(c)`` (every shard, as the
list scheduler places them), busy energy ``e(c)``, units per shard ``u(c)`` and quality
``q(c)``; per hardware type ``h``: idle power ``i(h)``, price ``$(h)`` per unit-second,
capacity ``cap(h)``.

- ``E[t] >= sum_c lat(c) x[t,c]``: a task ends after its longest shard;
- ``E[t] >= E[s] + sum_c lat(c) x[t,c]`` for a barrier edge ``s -> t`` (every shard of
  ``t`` starts after ``s`` ends), ``E[t] >= E[s] + sum_c min(c) x[t,c]`` for a streaming
  edge (some shard of ``t`` waits for the last shard of ``s``);
- makespan ``C >= E[t]`` and ``C >= W[h] / cap(h)``, ``W[h] = sum_{c on h} w(c) x[t,c]``;
- units held ``H[h] >= u(c) x[t,c]`` (integer): a shard's units are held at least once;
- held unit-seconds ``A[h] >= W[h]`` and ``A[h] >= H[h] C`` (the product: exact in
  CP-SAT; in the MILP its McCormick under-estimators from ``H in [0, cap(h)]`` and
  ``C in [C_lo, C_hi]``);
- energy ``>= sum e(c) x + sum_h i(h) (A[h] - W[h])``; cost ``>= sum_h $(h) A[h]``;
  gpus ``>= sum_{h GPU} H[h]``; quality ``= prod q(c)^x`` (exact, as a sum of logs).

Each is a lower bound of the reported value for every choice (the schedule holds at
least ``H[h]`` units for at least the makespan, which is at least ``C``), so the loop
never discards a plan that could be better. CP-SAT needs integers: coefficients are
rounded in the safe direction (lower bounds down, the quality sum up), which keeps
every bound valid.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from ...catalog.catalog import Catalog, Cluster
from ...grammar.diagnostics import MurakkabError
from ..logical import LogicalPlan
from ..metrics import metric
from .cost import candidate_power_w, split_calls
from .objective import Objective
from .plan import Candidate, Estimate

# The exhaustive oracle refuses more combinations than this (it evaluates every one).
MAX_EXHAUSTIVE_COMBINATIONS = 200_000


@dataclass(frozen=True)
class ExactResult:
    """What an exact search found and proved. ``bound`` is proven on the first goal (or,
    with no feasible plan found, nothing is proven: ``bound`` is None)."""

    solver: str
    choice: dict[str, Candidate] | None
    estimate: Estimate | None
    optimal: bool
    bound: float | None
    seconds: float
    evaluations: int
    master_solves: int
    infeasible: bool = False

    def note(self, first_goal: str) -> str:
        m = metric(first_goal)
        what = f"{self.solver}: {self.evaluations:,} plans evaluated"
        if self.master_solves:
            what += f", {self.master_solves:,} relaxation solves"
        if self.infeasible:
            return f"{what}; proven: no plan meets the SLOs ({self.seconds:.2f} s)"
        if self.estimate is None:
            return f"{what}; time limit reached before a plan met the SLOs ({self.seconds:.2f} s)"
        if self.optimal:
            return f"{what}; proven optimal on the reported totals ({self.seconds:.2f} s)"
        value = self.estimate.metric(first_goal)
        gap = abs(value - self.bound) / max(abs(value), 1e-12) if self.bound is not None else float("inf")
        return (f"{what}; time limit: best {m.format(value)}, proven bound {m.format(self.bound or 0.0)} "
                f"on the reported totals, gap {100 * gap:.1f}% ({self.seconds:.2f} s)")


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


# --- the relaxation's data ----------------------------------------------------------------


@dataclass
class _Data:
    tasks: list[str]
    lat: list[list[float]]
    shortest: list[list[float]]
    work: list[list[float]]
    busy_wh: list[list[float]]
    units: list[list[int]]
    log_q: list[list[float]]
    hw: list[list[str]]
    barrier: list[tuple[int, int]]
    stream: list[tuple[int, int]]
    hardware: list[str]
    cap: dict[str, int]
    idle_w: dict[str, float]
    usd_s: dict[str, float]
    gpu: dict[str, bool]
    c_lo: float = 0.0
    c_hi: float = 0.0


def _data(plan: LogicalPlan, cands: dict[str, list[Candidate]], catalog: Catalog, cluster: Cluster,
          tasks: list[str]) -> _Data:
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
    d = _Data(tasks, lat, shortest, work, busy, units, log_q, hw, barrier, stream, names,
              cap={h: cluster.capacity(h) for h in names}, idle_w={h: info[h].idle_w for h in names},  # type: ignore[union-attr]
              usd_s={h: info[h].usd_per_hour / 3600.0 for h in names},  # type: ignore[union-attr]
              gpu={h: info[h].is_gpu for h in names})  # type: ignore[union-attr]
    # Static bounds on the makespan for the product's McCormick envelope: the longest
    # path at each task's fastest candidate; and every shard one after another, which no
    # list schedule exceeds (each shard starts by the end of those placed before it).
    d.c_lo = _critical_path(d, [min(r) for r in lat], [min(r) for r in shortest])
    d.c_hi = sum(max(w / u for w, u in zip(ws, us)) for ws, us in zip(work, units)) + 1.0
    return d


def _critical_path(d: _Data, lat: list[float], shortest: list[float]) -> float:
    end = list(lat)
    # Tasks are in plan order, which is topological.
    for _ in range(2):
        for s, t in d.barrier:
            end[t] = max(end[t], end[s] + lat[t])
        for s, t in d.stream:
            end[t] = max(end[t], end[s] + shortest[t])
    return max(end, default=0.0)


# --- masters: the relaxation in CP-SAT and in the MILP --------------------------------------


class _CpSatMaster:
    """The relaxation as a CP-SAT model, in integers: times in milliseconds, log-quality
    in millionths, energy and money in units small enough that the smallest idle power
    or price per unit-millisecond is at least ``RATE_DIGITS`` units. Every coefficient
    of a lower bound is rounded down (the quality sum up), and a ``<=`` cap rounded up,
    so no bound ever excludes a choice that could meet it."""

    T, Q = 1000.0, 1e6
    RATE_DIGITS = 1000.0

    def __init__(self, d: _Data, objective: Objective) -> None:
        from ortools.sat.python import cp_model

        self.cp = cp_model
        self.d = d
        m = self.m = cp_model.CpModel()
        n = len(d.tasks)
        fl = math.floor
        idle_rates = [d.idle_w[h] / 3.6e6 for h in d.hardware if d.idle_w[h] > 0]  # Wh per unit-ms
        price_rates = [d.usd_s[h] / self.T for h in d.hardware if d.usd_s[h] > 0]  # USD per unit-ms
        self.scale = {"latency": self.T, "quality": self.Q, "gpus": 1.0,
                      "energy": self.RATE_DIGITS / min(idle_rates, default=1e-3),
                      "cost": self.RATE_DIGITS / min(price_rates, default=1e-3)}
        self.x = [[m.NewBoolVar(f"x{t}_{i}") for i in range(len(d.lat[t]))] for t in range(n)]
        for t in range(n):
            m.AddExactlyOne(self.x[t])
        horizon = int(math.ceil(d.c_hi * self.T)) + 1
        E = [m.NewIntVar(0, horizon, f"E{t}") for t in range(n)]
        lat = [sum(fl(d.lat[t][i] * self.T) * v for i, v in enumerate(self.x[t])) for t in range(n)]
        short = [sum(fl(d.shortest[t][i] * self.T) * v for i, v in enumerate(self.x[t])) for t in range(n)]
        for t in range(n):
            m.Add(E[t] >= lat[t])
        for s, t in d.barrier:
            m.Add(E[t] >= E[s] + lat[t])
        for s, t in d.stream:
            m.Add(E[t] >= E[s] + short[t])
        C = m.NewIntVar(0, horizon, "C")
        for t in range(n):
            m.Add(C >= E[t])
        W, H, A = {}, {}, {}
        for h in d.hardware:
            on = [(t, i) for t in range(n) for i in range(len(d.lat[t])) if d.hw[t][i] == h]
            top = sum(fl(max(d.work[t][i] for tt, i in on if tt == t) * self.T) for t in {t for t, _ in on})
            W[h] = m.NewIntVar(0, top, f"W{h}")  # busy unit-ms, rounded down
            m.Add(W[h] == sum(fl(d.work[t][i] * self.T) * self.x[t][i] for t, i in on))
            m.Add(C * d.cap[h] >= W[h])
            H[h] = m.NewIntVar(0, d.cap[h], f"H{h}")
            for t, i in on:
                m.Add(H[h] >= d.units[t][i]).OnlyEnforceIf(self.x[t][i])
            HC = m.NewIntVar(0, d.cap[h] * horizon, f"HC{h}")
            m.AddMultiplicationEquality(HC, [H[h], C])
            A[h] = m.NewIntVar(0, max(top, d.cap[h] * horizon), f"A{h}")
            m.Add(A[h] >= W[h])
            # C may round the makespan up by up to 1 ms: H (C - 1) stays below H x makespan.
            m.Add(A[h] >= HC - H[h])
        se, sc = self.scale["energy"], self.scale["cost"]
        self.exprs = {
            "latency": C,
            "energy": sum(fl(d.busy_wh[t][i] * se) * v for t in range(n) for i, v in enumerate(self.x[t]))
            + sum(fl(d.idle_w[h] / 3.6e6 * se) * (A[h] - W[h]) for h in d.hardware),
            "cost": sum(fl(d.usd_s[h] / self.T * sc) * A[h] for h in d.hardware),
            "gpus": sum(H[h] for h in d.hardware if d.gpu[h]),
            # quality as the sum of log q in millionths, rounded up: an upper bound.
            "quality": sum(math.ceil(d.log_q[t][i] * self.Q) * v for t in range(n) for i, v in enumerate(self.x[t])),
        }
        for b in objective.bounds:
            if b.scope is None:
                self.cap(b.metric, b.value)
        self.solves = 0
        self.also: list[tuple[int, ...]] = []

    def cap(self, metric_name: str, value: float, slack: float = 0.0) -> None:
        """Constrain the relaxation's value of a metric to what a plan meeting ``value``
        (within ``slack``, relative) could have."""
        expr = self.exprs[metric_name]
        if metric_name == "quality":
            self.m.Add(expr >= math.floor((math.log(max(value, 1e-300)) - slack) * self.Q) - 1)
        else:
            self.m.Add(expr <= math.ceil(value * (1 + slack) * self.scale[metric_name]) + 1)

    def forbid(self, code: Sequence[int]) -> None:
        self.m.AddBoolOr([self.x[t][i].Not() for t, i in enumerate(code)])

    def solve(self, metric_name: str, seconds: float) -> tuple[str, tuple[int, ...] | None, float]:
        """Minimise the metric's relaxation: ('optimal'|'feasible'|'infeasible'|'unknown',
        the choice, the proven bound in the metric's own units)."""
        from ..scheduling.quiet import quiet

        self.solves += 1
        m = self.m
        m.ClearObjective()
        expr = self.exprs[metric_name]
        if metric_name == "quality":
            m.Maximize(expr)
        else:
            m.Minimize(expr)
        solver = self.cp.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, seconds)
        solver.parameters.num_workers = 2
        solver.parameters.random_seed = 0
        solver.parameters.log_search_progress = False
        found = _Collector(self.x)
        with quiet():
            status = solver.Solve(m, found)
        if status == self.cp.INFEASIBLE:
            return "infeasible", None, math.inf
        if status not in (self.cp.OPTIMAL, self.cp.FEASIBLE):
            return "unknown", None, -math.inf
        code = tuple(next(i for i, v in enumerate(row) if solver.Value(v)) for row in self.x)
        # The search's earlier solutions are choices worth evaluating too (each costs a
        # schedule, far less than another solve).
        self.also = [c for c in found.codes if c != code]
        bound = solver.BestObjectiveBound()
        value = math.exp(bound / self.Q) if metric_name == "quality" else bound / self.scale[metric_name]
        return ("optimal" if status == self.cp.OPTIMAL else "feasible"), code, value


class _MilpMaster:
    """The relaxation as a MILP (PuLP with HiGHS or CBC), the product ``H C`` replaced by
    its McCormick under-estimators."""

    def __init__(self, d: _Data, objective: Objective, backend: str) -> None:
        import pulp

        from ..scheduling._pulp import new_var

        self.pulp, self.d, self.backend = pulp, d, backend
        m = self.m = pulp.LpProblem("job_relaxation", pulp.LpMinimize)
        n = len(d.tasks)
        self.x = [[new_var(m, f"x_{t}_{i}", 0, 1, "Binary") for i in range(len(d.lat[t]))] for t in range(n)]
        for t in range(n):
            m += pulp.lpSum(self.x[t]) == 1
        E = [new_var(m, f"E_{t}", 0, None) for t in range(n)]
        lat = [pulp.lpSum(d.lat[t][i] * v for i, v in enumerate(self.x[t])) for t in range(n)]
        short = [pulp.lpSum(d.shortest[t][i] * v for i, v in enumerate(self.x[t])) for t in range(n)]
        for t in range(n):
            m += E[t] >= lat[t]
        for s, t in d.barrier:
            m += E[t] >= E[s] + lat[t]
        for s, t in d.stream:
            m += E[t] >= E[s] + short[t]
        C = self.C = new_var(m, "C", d.c_lo, d.c_hi)
        for t in range(n):
            m += C >= E[t]
        W, H, A = {}, {}, {}
        for k, h in enumerate(d.hardware):
            on = [(t, i) for t in range(n) for i in range(len(d.lat[t])) if d.hw[t][i] == h]
            W[h] = pulp.lpSum(d.work[t][i] * self.x[t][i] for t, i in on)
            m += C * d.cap[h] >= W[h]
            H[h] = new_var(m, f"H_{k}", 0, d.cap[h], "Integer")
            for t, i in on:
                m += H[h] >= d.units[t][i] * self.x[t][i]
            A[h] = new_var(m, f"A_{k}", 0, None)
            m += A[h] >= W[h]
            # McCormick: H C >= H C_lo and H C >= cap C + H C_hi - cap C_hi.
            m += A[h] >= d.c_lo * H[h]
            m += A[h] >= d.cap[h] * C + d.c_hi * H[h] - d.cap[h] * d.c_hi
        self.exprs = {
            "latency": pulp.lpSum([C]),
            "energy": pulp.lpSum(d.busy_wh[t][i] * v for t in range(n) for i, v in enumerate(self.x[t]))
            + pulp.lpSum(d.idle_w[h] / 3600.0 * (A[h] - W[h]) for h in d.hardware),
            "cost": pulp.lpSum(d.usd_s[h] * A[h] for h in d.hardware),
            "gpus": pulp.lpSum(H[h] for h in d.hardware if d.gpu[h]),
            "quality": pulp.lpSum(d.log_q[t][i] * v for t in range(n) for i, v in enumerate(self.x[t])),
        }
        for b in objective.bounds:
            if b.scope is None:
                self.cap(b.metric, b.value)
        self.solves = 0

    def cap(self, metric_name: str, value: float, slack: float = 0.0) -> None:
        expr = self.exprs[metric_name]
        if metric_name == "quality":
            self.m += expr >= math.log(max(value, 1e-300)) - slack - 1e-9
        else:
            self.m += expr <= value * (1 + slack) + 1e-9 * max(1.0, abs(value))

    def forbid(self, code: Sequence[int]) -> None:
        self.m += self.pulp.lpSum(self.x[t][i] for t, i in enumerate(code)) <= len(code) - 1

    def solve(self, metric_name: str, seconds: float) -> tuple[str, tuple[int, ...] | None, float]:
        from ..scheduling._pulp import cbc
        from ..scheduling.quiet import quiet

        pulp = self.pulp
        self.solves += 1
        expr = self.exprs[metric_name]
        self.m.sense = pulp.LpMinimize
        self.m.setObjective(-expr if metric_name == "quality" else expr)
        limit = max(0.05, seconds)
        solver = (pulp.HiGHS(msg=False, timeLimit=limit) if self.backend == "highs"
                  else cbc(msg=False, timeLimit=limit))
        began = time.perf_counter()
        with quiet():
            self.m.solve(solver)
        status = pulp.LpStatus[self.m.status]
        if status == "Infeasible":
            return "infeasible", None, math.inf
        # PuLP reports a solve stopped by the time limit with a solution as "Optimal":
        # a solve that ran into the limit proves nothing.
        if status != "Optimal" or time.perf_counter() - began >= 0.95 * limit:
            return "unknown", None, -math.inf
        code = tuple(max(range(len(row)), key=lambda i: row[i].varValue or 0.0) for row in self.x)
        value = pulp.value(expr)
        if metric_name == "quality":
            return "optimal", code, math.exp(value + 1e-9)
        return "optimal", code, value - 1e-9 * max(1.0, abs(value))


class _Collector:
    """A CP-SAT solution callback that keeps every solution's choice."""

    def __new__(cls, x):  # noqa: D102 - built on ortools' class, imported lazily
        from ortools.sat.python import cp_model

        class Collector(cp_model.CpSolverSolutionCallback):
            def __init__(self) -> None:
                super().__init__()
                self.codes: list[tuple[int, ...]] = []

            def on_solution_callback(self) -> None:
                self.codes.append(tuple(next(i for i, v in enumerate(row) if self.Value(v)) for row in x))

        return Collector()


# --- the searches ---------------------------------------------------------------------------


def solve_exact(solver: str, plan: LogicalPlan, cands: dict[str, list[Candidate]], catalog: Catalog,
                cluster: Cluster, objective: Objective, pool: Pool, time_limit_s: float,
                backend: str = "highs") -> ExactResult:
    """``solver`` is 'cpsat', 'ilp' or 'exhaustive'; ``pool`` holds the plans evaluated so
    far (the greedy's), which the search starts from and never returns worse than."""
    start = time.perf_counter()
    if solver == "exhaustive":
        return _exhaustive(cands, objective, pool, start)
    d = _data(plan, cands, catalog, cluster, pool.tasks)
    master: _CpSatMaster | _MilpMaster
    master = _CpSatMaster(d, objective) if solver == "cpsat" else _MilpMaster(d, objective, backend)
    return _benders(solver, master, objective, pool, start, time_limit_s)


def _exhaustive(cands: dict[str, list[Candidate]], objective: Objective, pool: Pool, start: float) -> ExactResult:
    combos = math.prod(len(c) for c in cands.values())
    if combos > MAX_EXHAUSTIVE_COMBINATIONS:
        raise MurakkabError(f"the exhaustive oracle would evaluate {combos:,} plans (at most "
                            f"{MAX_EXHAUSTIVE_COMBINATIONS:,})", hint="use SET solver = 'cpsat' or 'auto'")
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


def _benders(solver: str, master: "_CpSatMaster | _MilpMaster", objective: Objective, pool: Pool, start: float,
             time_limit_s: float) -> ExactResult:
    goals = [g.metric for g in objective.goals] or ["latency"]
    deadline = start + time_limit_s
    for code in pool.seen:
        master.forbid(code)

    def incumbent() -> tuple[dict[str, Candidate], Estimate] | None:
        best = pool.best(objective)
        return best if best is not None and objective.feasible(best[1]) else None

    first_bound: float | None = None
    closed = True
    for level, goal in enumerate(goals):
        m = metric(goal)
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                closed = False
                break
            status, code, bound = master.solve(goal, left)
            if status == "infeasible":
                if level == 0:
                    inc = incumbent()
                    first_bound = None if inc is None else inc[1].metric(goal)
                break
            if status == "unknown" or code is None:
                closed = False
                break
            inc = incumbent()
            if level == 0:
                first_bound = bound if inc is None else (
                    min(bound, inc[1].metric(goal)) if m.lower_is_better else max(bound, inc[1].metric(goal)))
            if inc is not None and (m.same(bound, inc[1].metric(goal)) or not m.better(bound, inc[1].metric(goal))):
                break  # no choice left can beat the best plan on this goal
            pool.evaluate(pool.choice(code))
            master.forbid(code)
            for extra in getattr(master, "also", ()):
                if extra not in pool.seen:
                    pool.evaluate(pool.choice(extra))
                    master.forbid(extra)

        inc = incumbent()
        if not closed:
            break
        if inc is None:
            break  # no plan meets the SLOs: proven when every level closed
        # Later goals search only among plans that may tie the best on this one.
        master.cap(goal, inc[1].metric(goal), slack=m.tolerance)
    inc = incumbent()
    seconds = time.perf_counter() - start
    if inc is None:
        return ExactResult(solver, None, None, False, None, seconds, len(pool.seen), master.solves,
                           infeasible=closed)
    choice, est = inc
    return ExactResult(solver, choice, est, closed, first_bound if not closed else est.metric(goals[0]), seconds,
                       len(pool.seen), master.solves)
