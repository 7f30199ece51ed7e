"""Exact search over option choices whose totals only an evaluator knows (logic-based
Benders decomposition). The job planner's exact solvers are this search with its list
schedule as the evaluator (``compiler/physical/exact.py`` states the job as a
``Relaxation``).

A plan is a choice of one option per task; ``evaluate`` gives its totals. When no linear
model equals that function, an exact solver must not pretend one does: this search
solves a *relaxation* whose every value is a proven lower bound of the evaluated one, and
evaluates the relaxation's answers for real:

    repeat:  x* = argmin LB_goal(x) over choices not yet evaluated, s.t. LB_slo(x) <= SLO
             if LB_goal(x*) >= the best evaluated plan's goal: proven optimal, stop
             evaluate(x*) for real, keep it if better, exclude x* (a no-good cut)

Lexicographic goals close one at a time: once no unevaluated choice can beat the best
plan on goal 1, goal 2 is searched among the choices that could still tie on goal 1.
Every plan evaluated before the search (a greedy's) is excluded from the start, so the
answer is the best of all plans evaluated and, when the loop closes, the optimum of the
evaluated totals. If the time limit stops it first, the bound and gap on the first goal
are proven over all choices (evaluated ones exactly, the others by the relaxation).

The relaxation (``Relaxation``), in the notation of ``problem.py``: ``x[t,o]`` in {0, 1},
one option per task; option ``o``'s longest time ``lat(o)`` and shortest ``min(o)`` (an
option may run as several pieces, as a job's shards), busy unit-seconds ``w(o)``, busy
energy ``e(o)``, units ``u(o)``, quality ``q(o)``, pool ``p(o)``; per pool ``h``: idle
power ``i(h)``, price ``$(h)`` per unit-second, capacity ``cap(h)``.

- ``E[t] >= sum_o lat(o) x[t,o]``: a task ends after its longest piece;
- ``E[t] >= E[s] + sum_o lat(o) x[t,o]`` for a barrier edge ``s -> t`` (every piece of
  ``t`` starts after ``s`` ends), ``E[t] >= E[s] + sum_o min(o) x[t,o]`` for a streaming
  edge (some piece of ``t`` waits for the last piece of ``s``);
- makespan ``C >= E[t]`` and ``C >= W[h] / cap(h)``, ``W[h] = sum_{o on h} w(o) x[t,o]``;
- units held ``H[h] >= u(o) x[t,o]`` (integer): an option's units are held at least once;
- held unit-seconds ``A[h] >= W[h]`` and ``A[h] >= H[h] C`` (the product: exact in
  CP-SAT; in the MILP its McCormick under-estimators from ``H in [0, cap(h)]`` and
  ``C in [C_lo, C_hi]``);
- energy ``>= sum e(o) x + sum_h i(h) (A[h] - W[h])``; cost ``>= sum_h $(h) A[h]``;
  gpus ``>= sum_{h GPU} H[h]``; quality ``= prod q(o)^x`` (exact, as a sum of logs).

Each is a lower bound of the evaluated value when the evaluator holds at least ``H[h]``
units for at least the makespan and charges idle power and price for them (the job
planner's totals do), so the loop never discards a plan that could be better. CP-SAT
needs integers: coefficients are rounded in the safe direction (lower bounds down, the
quality sum up), which keeps every bound valid.

The evaluator's side is two protocols: ``Plans`` (every plan evaluated, by its code: the
index of each task's option) and ``Goals`` (the SLOs and lexicographic goals, compared
with ``compiler/metrics.py``'s tolerances).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping, Protocol, Sequence

from ..metrics import metric
from ..units import counted


class Plans(Protocol):
    """The plans evaluated so far, by code (one option index per task, in task order)."""

    seen: Mapping[tuple[int, ...], Any]

    def evaluate_code(self, code: tuple[int, ...]) -> Any:
        """The totals of the plan coded ``code`` (evaluated once, then remembered)."""

    def best(self, objective: Any) -> tuple[Any, Any] | None:
        """(choice, totals) of the best plan evaluated, by ``objective``."""


class Goals(Protocol):
    """SLOs (``bounds``: each with ``metric``, ``value`` and a ``scope``, None for the
    whole plan) and lexicographic ``goals`` (each with ``metric``)."""

    bounds: Sequence[Any]
    goals: Sequence[Any]

    def feasible(self, totals: Any) -> bool: ...

    def better(self, a: Any, b: Any) -> bool: ...


@dataclass(frozen=True)
class ExactResult:
    """What an exact search found and proved. ``bound`` is proven on the first goal (or,
    with no feasible plan found, nothing is proven: ``bound`` is None)."""

    solver: str
    choice: Any | None
    estimate: Any | None
    optimal: bool
    bound: float | None
    seconds: float
    evaluations: int
    master_solves: int
    infeasible: bool = False

    def note(self, first_goal: str) -> str:
        m = metric(first_goal)
        what = f"{self.solver}: {counted(self.evaluations, 'plan')} evaluated"
        if self.master_solves:
            what += f", {self.master_solves:,} relaxation solves"
        if self.infeasible:
            return f"{what}; proven: no plan meets the SLOs ({self.seconds:.2f} s)"
        if self.estimate is None:
            return f"{what}; time limit reached before a plan met the SLOs ({self.seconds:.2f} s)"
        if self.optimal:
            return f"{what}; proven optimal on the reported totals ({self.seconds:.2f} s)"
        value = self.estimate.metric(first_goal)
        if self.bound is None:  # stopped before the first relaxation solve finished
            return f"{what}; time limit: best {m.format(value)}, no bound proven yet ({self.seconds:.2f} s)"
        gap = abs(value - self.bound) / max(abs(value), 1e-12)
        return (f"{what}; time limit: best {m.format(value)}, proven bound {m.format(self.bound)} "
                f"on the reported totals, gap {100 * gap:.1f}% ({self.seconds:.2f} s)")



# --- the relaxation's data ----------------------------------------------------------------


@dataclass(frozen=True)
class Relaxation:
    """The relaxation's data (see the module docstring), per task ``t`` and option index
    ``o``: ``lat[t][o]`` s, ``shortest[t][o]`` s, ``work[t][o]`` busy unit-seconds,
    ``busy_wh[t][o]``, ``units[t][o]``, ``log_q[t][o]`` (log of quality), ``pool[t][o]``;
    edges as (source, reader) task indices, barrier or streaming; per pool its capacity,
    idle power (W per unit), price (USD per unit-second) and whether it counts as GPUs.
    Tasks are in a topological order."""

    tasks: list[str]
    lat: list[list[float]]
    shortest: list[list[float]]
    work: list[list[float]]
    busy_wh: list[list[float]]
    units: list[list[int]]
    log_q: list[list[float]]
    pool: list[list[str]]
    barrier: list[tuple[int, int]]
    stream: list[tuple[int, int]]
    pools: list[str]
    cap: dict[str, int]
    idle_w: dict[str, float]
    usd_s: dict[str, float]
    gpu: dict[str, bool]

    @cached_property
    def c_lo(self) -> float:
        """A lower bound on the makespan: the longest path at each task's fastest option."""
        lat = [min(r) for r in self.lat]
        shortest = [min(r) for r in self.shortest]
        end = list(lat)
        for _ in range(2):
            for s, t in self.barrier:
                end[t] = max(end[t], end[s] + lat[t])
            for s, t in self.stream:
                end[t] = max(end[t], end[s] + shortest[t])
        return max(end, default=0.0)

    @cached_property
    def c_hi(self) -> float:
        """An upper bound on the makespan of the evaluator's schedules: every piece one
        after another, which no list schedule exceeds (each piece starts by the end of
        those placed before it)."""
        return sum(max(w / u for w, u in zip(ws, us)) for ws, us in zip(self.work, self.units)) + 1.0


# --- masters: the relaxation in CP-SAT and in the MILP --------------------------------------


class CpSatMaster:
    """The relaxation as a CP-SAT model, in integers: times in milliseconds, log-quality
    in millionths, energy and money in units small enough that the smallest idle power
    or price per unit-millisecond is at least ``RATE_DIGITS`` units. Every coefficient
    of a lower bound is rounded down (the quality sum up), and a ``<=`` cap rounded up,
    so no bound ever excludes a choice that could meet it."""

    T, Q = 1000.0, 1e6
    RATE_DIGITS = 1000.0

    def __init__(self, d: Relaxation, objective: Goals) -> None:
        from ortools.sat.python import cp_model

        self.cp = cp_model
        self.d = d
        m = self.m = cp_model.CpModel()
        n = len(d.tasks)
        fl = math.floor
        idle_rates = [d.idle_w[h] / 3.6e6 for h in d.pools if d.idle_w[h] > 0]  # Wh per unit-ms
        price_rates = [d.usd_s[h] / self.T for h in d.pools if d.usd_s[h] > 0]  # USD per unit-ms
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
        for h in d.pools:
            on = [(t, i) for t in range(n) for i in range(len(d.lat[t])) if d.pool[t][i] == h]
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
            + sum(fl(d.idle_w[h] / 3.6e6 * se) * (A[h] - W[h]) for h in d.pools),
            "cost": sum(fl(d.usd_s[h] / self.T * sc) * A[h] for h in d.pools),
            "gpus": sum(H[h] for h in d.pools if d.gpu[h]),
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
        from .quiet import quiet

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


class MilpMaster:
    """The relaxation as a MILP (PuLP with HiGHS or CBC), the product ``H C`` replaced by
    its McCormick under-estimators."""

    def __init__(self, d: Relaxation, objective: Goals, backend: str) -> None:
        import pulp

        from ._pulp import new_var

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
        for k, h in enumerate(d.pools):
            on = [(t, i) for t in range(n) for i in range(len(d.lat[t])) if d.pool[t][i] == h]
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
            + pulp.lpSum(d.idle_w[h] / 3600.0 * (A[h] - W[h]) for h in d.pools),
            "cost": pulp.lpSum(d.usd_s[h] * A[h] for h in d.pools),
            "gpus": pulp.lpSum(H[h] for h in d.pools if d.gpu[h]),
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
        from ._pulp import cbc
        from .quiet import quiet

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


# --- the search -----------------------------------------------------------------------------


def search(solver: str, master: "CpSatMaster | MilpMaster", objective: Goals, plans: Plans, start: float,
             time_limit_s: float) -> ExactResult:
    goals = [g.metric for g in objective.goals] or ["latency"]
    deadline = start + time_limit_s
    for code in plans.seen:
        master.forbid(code)

    def incumbent() -> tuple[Any, Any] | None:
        best = plans.best(objective)
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
            plans.evaluate_code(code)
            master.forbid(code)
            for extra in getattr(master, "also", ()):
                if extra not in plans.seen:
                    plans.evaluate_code(extra)
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
        return ExactResult(solver, None, None, False, None, seconds, len(plans.seen), master.solves,
                           infeasible=closed)
    choice, est = inc
    return ExactResult(solver, choice, est, closed, first_bound if not closed else est.metric(goals[0]), seconds,
                       len(plans.seen), master.solves)
