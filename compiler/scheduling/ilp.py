"""Exact scheduling as a mixed-integer linear program (PuLP: CBC, or HiGHS when installed).

Two formulations share one driver (``solve_ilp``): the disjunctive model below, and the
time-indexed model of ``timeindexed.py`` for whole-second data, which is much stronger on
cumulative pools; ``solve_ilp``'s docstring says which ``auto`` takes. Both are solved the
same way: goal by goal, each optimum kept as a constraint (with ``Objective.tolerance``)
for the next; from a MIP start (the greedy schedule when it meets the bounds, then each
goal's solution for the next); within one overall time limit, which the greedy incumbent,
the building of the model and its hand-over to the solver count against (a model that
``estimate`` says cannot be built in the time left is refused up front; a builder that
runs out of time returns the incumbent with a note); and the solver's best bound
reported when it stops early.

The disjunctive model. Notation as in ``problem.py`` — tasks ``T``, options ``O_t`` with pool ``p(o)``, units
``u(o)``, duration ``d(o)``, energy ``e(o)``, cost ``c(o)``, quality ``q(o)``; pools ``P``
with capacity ``cap(p)``; edges ``E`` with transfer ``tau_e(i, j)`` — and:

- ``K_p = {0, ..., cap(p) - 1}``: the units of pool ``p``;
- ``O_tp = {o in O_t : p(o) = p, d(o) > 0}``: the options of ``t`` that hold units of ``p``;
- ``Pi``: the pairs ``{t, s}`` that can hold units of a common pool and of which neither
  precedes the other, even transitively (precedence already orders every other pair);
- ``H``: a horizon. The greedy makespan when the makespan is the first goal and the greedy
  schedule meets the bounds (an optimum is no longer); else ``Problem.serial_horizon``
  (for any options, the serial schedule ends by then and is the best schedule of those
  options on every metric but the makespan); never more than a makespan bound.

Variables:

- ``x[t,o]`` in {0, 1}: ``t`` runs option ``o``;
- ``S[t] >= 0``: the start of ``t``; ``C >= 0``: the makespan (integer when every duration
  and transfer is a whole number, since then some optimal schedule starts everything at
  whole numbers);
- ``w[e,i,j]`` in [0, 1], for an edge ``e = (s, t)`` whose transfer varies: ``x[s,i] x[t,j]``;
- ``a[t,p,k]`` in {0, 1}, for ``cap(p) > 1``: ``t`` holds unit ``k`` of ``p``;
- ``h[t,s]`` in [0, 1], for ``{t, s}`` in ``Pi``: ``t`` and ``s`` hold a common unit;
- ``z[t,s]`` in {0, 1}, for ``{t, s}`` in ``Pi``: ``t`` runs before ``s`` (if they share);
- ``g[p,k]`` in [0, 1], for GPU pools when the gpus metric is a goal or bounded: unit ``k``
  of ``p`` is used.

Expressions: ``D[t] = sum_o d(o) x[t,o]``; ``y[t,p] = sum_{o in O_tp} x[t,o]``; on a pool of
capacity 1, ``a[t,p,0]`` stands for ``y[t,p]``; ``gpus = sum_{p GPU, k} g[p,k]``.

Constraints:

1. ``sum_o x[t,o] = 1`` (one option per task).
2. ``S[t] + D[t] <= C <= H``.
3. ``S[t] >= S[s] + D[s] + sum_{i,j} tau_e(i,j) w[e,i,j]`` for ``e = (s, t)``, with
   ``sum_j w[e,i,j] = x[s,i]`` and ``sum_i w[e,i,j] = x[t,j]`` (the exact linearisation of
   the product of two one-hot vectors); a constant transfer is added as a constant.
4. ``sum_k a[t,p,k] = sum_{o in O_tp} u(o) x[t,o]`` for ``cap(p) > 1``; and
   ``a[t,p,k] = 0`` for ``k`` at or beyond the most units of ``p`` the tasks up to ``t``
   could hold (units are identical, so they can be numbered in order of first use).
5. ``h[t,s] >= a[t,p,k] + a[s,p,k] - 1`` for ``{t, s}`` in ``Pi`` and every ``p``, ``k``.
6. ``S[s] >= S[t] + D[t] - H (1 - z[t,s]) - H (1 - h[t,s])`` and
   ``S[t] >= S[s] + D[s] - H z[t,s] - H (1 - h[t,s])``: tasks sharing a unit do not overlap.
7. Valid bounds that let the solver prove optimality early:
   ``sum_{t, o: p(o) = p} u(o) d(o) x[t,o] <= cap(p) C`` for every pool, and
   ``C >= Problem.makespan_lower_bound()`` (critical path at the fastest options, work over
   capacity).
8. ``g[p,k] >= a[t,p,k]``.
9. Bounds of the objective: ``C <= B``; ``sum e(o) x <= B``; ``sum c(o) x <= B``;
   ``gpus <= B``; ``sum log q(o) x >= log B``.

Objective: the goals in order — minimise ``C``, ``sum e x``, ``sum c x``, ``gpus`` or
``-sum log q(o) x`` — each optimum then becoming a constraint ``expression <= optimum +
tolerance × max(1, |optimum|)`` for the goals after it.

gpus is exact because a schedule whose GPU pool peaks at ``c`` units can always name its
units ``0..c-1`` (tasks by start time, each taking the lowest free units), so the fewest
units used over all namings is the peak.

The solver's schedule (of either model) is then compacted: keeping its options and the
order of tasks on every unit, each task starts as soon as its predecessors (plus
transfers) and the task before it on its units have ended. That removes floating-point
noise and never makes a schedule longer.
"""

from __future__ import annotations

import heapq
import math
import re
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

import pulp

from ...grammar.diagnostics import MurakkabError
from . import timeindexed
from ._pulp import OutOfTime, cbc, check_clock, new_var
from .greedy import solve_greedy, static_bound
from .problem import (METRICS, InfeasibleScheduleError, Objective, Placement, Problem, Result, Stage, Totals,
                      relative_gap)
from .quiet import quiet

BACKENDS = ("cbc", "highs")
FORMULATIONS = ("auto", "disjunctive", "time-indexed")
# ``auto`` takes the time-indexed model up to this many start variables. CBC checks its
# time limit only between phases, and its root LP on this model is slow: on a 50-task STG
# graph on 2 processors (9,060 variables) it overran a 10 s limit by 250 s, on 3,700 by
# 8 s. HiGHS solves the same LPs in seconds.
TIME_INDEXED_MAX = {"cbc": 3_000, "highs": 20_000}
# What building a model costs, per non-zero coefficient, measured with PuLP 3.3 on the
# 2-core VM of bench/RESULTS.md (disjunctive models of layered DAGs of 50-400 tasks,
# 37,000-2,300,000 coefficients): ~25 us to build it in Python, ~8 us more to hand it to
# the solver (CBC's MPS file or HiGHS's rows, both Python loops that cannot be
# interrupted) and ~270 bytes, to which the solver's own copy adds. ``solve_ilp`` refuses
# a model these say cannot be built in time: before this, a 1,000-task graph ran 193 s
# at a 10 s limit, and a 50,000-task one reached 24 GB.
BUILD_S_PER_NONZERO = 25e-6
EXPORT_S_PER_NONZERO = 8e-6
BYTES_PER_NONZERO = 400
# The most memory a model may take (a default that leaves room on an 8 GiB laptop).
MEMORY_LIMIT_BYTES = 4 * 2**30
# The disjunctive builder's precedence bit sets take n^2 / 8 bytes: 256 MiB at this many
# tasks. No disjunctive model of that size could be solved anyway (the pairs alone grow
# with n^2).
DISJUNCTIVE_MAX_TASKS = 46_000
# A solver call with less time than this left is not started: CBC and HiGHS take ~0.1 s
# to start, and a shorter call only overruns the limit.
MIN_SOLVE_S = 0.25


def default_backend() -> str:
    """HiGHS when it is installed (faster on these models), else CBC, which PuLP ships."""
    return "highs" if highs_available() else "cbc"


def highs_available() -> bool:
    """Whether HiGHS can be used (the ``highspy`` package is installed)."""
    try:
        return bool(pulp.HiGHS().available())
    except Exception:  # noqa: BLE001 - a broken install counts as absent
        return False


@dataclass(frozen=True)
class Estimate:
    """The size of a model before it is built, and what building it would take."""

    nonzeros: int
    pairs: int  # the disjunctive model's unordered task pairs (0 for the time-indexed one)

    @property
    def build_s(self) -> float:
        return self.nonzeros * BUILD_S_PER_NONZERO

    @property
    def export_s(self) -> float:
        return self.nonzeros * EXPORT_S_PER_NONZERO

    @property
    def memory_bytes(self) -> int:
        return self.nonzeros * BYTES_PER_NONZERO


def estimate(problem: Problem, objective: Objective, horizon: float, formulation: str) -> Estimate:
    """The non-zero coefficients the ``formulation`` model of ``problem`` would have, counted
    from the module docstrings' constraints without building anything (upper bounds where
    the symmetry constraints (4) would remove terms). Linear in the size of the problem for
    the time-indexed model; the disjunctive one counts its pairs with bit sets (n^2 / 8
    bytes, n^2 / 64 word operations)."""
    opts = [len(t.options) for t in problem.tasks]
    cap = {pool.name: pool.capacity for pool in problem.pools}
    if formulation == "time-indexed":
        win = timeindexed.windows(problem, int(horizon))
        steps = [[0 if w is None else w[1] - w[0] + 1 for w in row] for row in win]
        nz = sum(opts) * 3 + 4 * len(problem.tasks)  # (1) one, (2) end, (6) work
        for t, task in enumerate(problem.tasks):
            for i, o in enumerate(task.options):
                # (1) monotone steps; (4) and (5) usage: two terms a step, over the window and the run
                nz += 2 * steps[t][i] + (2 + 2 * objective.uses("gpus")) * (steps[t][i] + int(o.duration_s))
        for s, t in problem.edge_ends:  # (3): per step of t, 1 + one term per option of s
            nz += sum(steps[t]) * (1 + opts[s])
        return Estimate(nz, 0)
    nz = sum(4 * k + 2 for k in opts)  # (1), (2), (7) work, quality/energy objectives
    for k, e in enumerate(problem.edges):  # (3)
        s, t = problem.edge_ends[k]
        varying = len({v for row in e.transfer_s for v in row}) > 1
        nz += 2 + opts[s] + ((4 * opts[s] * opts[t] + opts[s] + opts[t]) if varying else 0)
    # Pools each task can hold, and (4) its unit variables.
    pools_of: list[set[str]] = [{o.pool for o in t.options if o.duration_s > 0} for t in problem.tasks]
    units_of = [sum(cap[p] for p in ps) for ps in pools_of]
    nz += sum(u + k for u, k in zip(units_of, opts))
    if objective.uses("gpus"):  # (8)
        nz += 2 * sum(units_of)
    # (5), (6): the pairs that share a pool and are not ordered. Sharing pairs are counted
    # from each task's neighbourhood (tasks on a common pool), the ordered ones from the
    # descendants that are in it.
    n = len(problem.tasks)
    if n > DISJUNCTIVE_MAX_TASKS:
        return Estimate(max(nz, n * n // 2), n * (n - 1) // 2)  # the pairs alone: no need to count
    users: dict[str, int] = {}
    for t, ps in enumerate(pools_of):
        for p in ps:
            users[p] = users.get(p, 0) | (1 << t)
    desc = descendants(problem)
    sharing = ordered = 0
    per_pair = 0.0
    for t, ps in enumerate(pools_of):
        near = 0
        for p in ps:
            near |= users[p]
        if not near:
            continue
        sharing += near.bit_count() - 1
        ordered += (near & desc[t]).bit_count()
        per_pair += 4 + 2 * opts[t] + 1.5 * units_of[t]
    pairs = max(0, sharing // 2 - ordered)
    users_n = sum(1 for ps in pools_of if ps)
    # (5) three terms per shared unit, (6) two constraints over both tasks' options
    nz += round(pairs * 2 * per_pair / max(1, users_n))
    return Estimate(nz, pairs)


@dataclass(frozen=True)
class _Outcome:
    """What one solver call reports: a solution or not, proven optimal, the best bound."""

    has_solution: bool
    infeasible: bool
    optimal: bool
    bound: float | None
    status: str


class DisjunctiveModel:
    """The MILP of the module docstring for one problem, one objective and one horizon."""

    def __init__(self, problem: Problem, objective: Objective, horizon: float, deadline: float = math.inf) -> None:
        """Build the model; raises ``OutOfTime`` when ``deadline`` (``time.perf_counter``)
        passes first."""
        self.p = p = problem
        self.H = horizon
        n = len(p.tasks)
        m = pulp.LpProblem("schedule", pulp.LpMinimize)
        self.m = m
        self.x = [[new_var(m, f"x_{t}_{o}", 0, 1, "Binary") for o in range(len(p.tasks[t].options))]
                  for t in range(n)]
        self.S = [new_var(m, f"S_{t}", 0, horizon) for t in range(n)]
        self.C = new_var(m, "C", 0, horizon, "Integer" if p.integral else "Continuous")
        self.D = [pulp.lpSum(o.duration_s * self.x[t][i] for i, o in enumerate(p.tasks[t].options)) for t in range(n)]
        for t in range(n):  # (1), (2)
            check_clock(t, deadline)
            m += pulp.lpSum(self.x[t]) == 1, f"one_{t}"
            m += self.S[t] + self.D[t] <= self.C, f"end_{t}"
        self.w: dict[int, dict[tuple[int, int], pulp.LpVariable]] = {}
        for k, e in enumerate(p.edges):  # (3)
            check_clock(k, deadline)
            s, t = p.edge_ends[k]
            values = {v for row in e.transfer_s for v in row}
            if len(values) <= 1:
                tau = pulp.lpSum([]) + (values.pop() if values else 0.0)
            else:
                w = {(i, j): new_var(m, f"w_{k}_{i}_{j}", 0, 1)
                     for i in range(len(p.tasks[s].options)) for j in range(len(p.tasks[t].options))}
                self.w[k] = w
                for i in range(len(p.tasks[s].options)):
                    m += pulp.lpSum(w[i, j] for j in range(len(p.tasks[t].options))) == self.x[s][i], f"ws_{k}_{i}"
                for j in range(len(p.tasks[t].options)):
                    m += pulp.lpSum(w[i, j] for i in range(len(p.tasks[s].options))) == self.x[t][j], f"wt_{k}_{j}"
                tau = pulp.lpSum(e.transfer_s[i][j] * v for (i, j), v in w.items() if e.transfer_s[i][j])
            m += self.S[t] >= self.S[s] + self.D[s] + tau, f"prec_{k}"
        # Which tasks can hold units of which pool, and the unit variables (4).
        # pool -> task -> a[t,p,k] for every unit k (0 where fixed by symmetry; y[t,p] when cap(p) = 1)
        self.units: dict[int, dict[int, list]] = {}
        for pi, pool in enumerate(p.pools):
            users = {}  # task -> y[t,p]
            for t in range(n):
                opts = [i for i, o in enumerate(p.tasks[t].options) if o.pool == pool.name and o.duration_s > 0]
                if opts:
                    users[t] = pulp.lpSum(self.x[t][i] for i in opts)
            if pool.capacity == 1:
                self.units[pi] = {t: [y] for t, y in users.items()}
                continue
            per_task: dict[int, list] = {}
            first_use = 0  # (4) symmetry: the most units the tasks so far could hold
            for t in sorted(users):
                check_clock(t, deadline)
                most = max(o.units for o in p.tasks[t].options if o.pool == pool.name and o.duration_s > 0)
                first_use = min(pool.capacity, first_use + most)
                per_task[t] = [new_var(m, f"a_{t}_{pi}_{k}", 0, 1, "Binary") if k < first_use else 0
                               for k in range(pool.capacity)]
                held = pulp.lpSum(o.units * self.x[t][i] for i, o in enumerate(p.tasks[t].options)
                                  if o.pool == pool.name and o.duration_s > 0)
                m += pulp.lpSum(v for v in per_task[t] if not isinstance(v, int)) == held, f"units_{t}_{pi}"
            self.units[pi] = per_task
        # (5), (6) for the pairs that may share a unit and are not ordered by precedence.
        # Only those pairs are visited (bit sets of tasks), not all n^2 / 2: on a layered
        # 2,000-task graph most pairs are ordered or share no pool.
        desc = descendants(p)
        users = [sum(1 << t for t in self.units[pi]) for pi in range(len(p.pools))]
        self.pairs: dict[tuple[int, int], tuple[pulp.LpVariable, pulp.LpVariable]] = {}
        visited = 0
        for t in range(n):
            pools_t = [pi for pi in self.units if t in self.units[pi]]
            near = 0
            for pi in pools_t:
                near |= users[pi]
            near &= ~desc[t] & ~((1 << (t + 1)) - 1)  # later tasks, not after t
            for s in _bits(near):
                if (desc[s] >> t) & 1:
                    continue  # s precedes t
                visited += 1
                check_clock(visited, deadline)
                shared = [pi for pi in pools_t if s in self.units[pi]]
                h = new_var(m, f"h_{t}_{s}", 0, 1)
                z = new_var(m, f"z_{t}_{s}", 0, 1, "Binary")
                self.pairs[t, s] = (h, z)
                for pi in shared:
                    for k, (at, as_) in enumerate(zip(self.units[pi][t], self.units[pi][s])):
                        if isinstance(at, int) or isinstance(as_, int):
                            continue  # a unit one of them can never hold
                        m += h >= at + as_ - 1, f"share_{t}_{s}_{pi}_{k}"
                H = horizon
                m += self.S[s] >= self.S[t] + self.D[t] - H * (1 - z) - H * (1 - h), f"before_{t}_{s}"
                m += self.S[t] >= self.S[s] + self.D[s] - H * z - H * (1 - h), f"after_{t}_{s}"
        # (7) valid bounds.
        for pi, pool in enumerate(p.pools):
            work = pulp.lpSum(o.work * self.x[t][i] for t in range(n) for i, o in enumerate(p.tasks[t].options)
                              if o.pool == pool.name and o.work > 0)
            m += work <= pool.capacity * self.C, f"work_{pi}"
        m += self.C >= p.makespan_lower_bound(), "critical_path"
        # (8) GPU units in use, only when the metric matters (else they are dead weight).
        self.g: list = []
        if objective.uses("gpus"):
            for pi, pool in enumerate(p.pools):
                if not pool.gpu:
                    continue
                for k in range(pool.capacity):
                    holders = [a[k] for a in self.units[pi].values() if not isinstance(a[k], int)]
                    if not holders:
                        continue
                    g = new_var(m, f"g_{pi}_{k}", 0, 1)
                    self.g.append(g)
                    for j, a in enumerate(holders):
                        m += g >= a, f"gpu_{pi}_{k}_{j}"
        # (9) bounds.
        for b_i, b in enumerate(objective.bounds):
            expr = self.expr(b.metric)
            if METRICS[b.metric]:
                m += expr <= b.value + 1e-9 * max(1.0, abs(b.value)), f"bound_{b_i}"
            else:
                m += expr <= -math.log(b.value) + 1e-9, f"bound_{b_i}"

    def expr(self, metric: str) -> pulp.LpAffineExpression:
        """The metric as a linear expression to minimise (quality as -log quality)."""
        p = self.p
        opts = [(t, i, o) for t in range(len(p.tasks)) for i, o in enumerate(p.tasks[t].options)]
        if metric == "makespan":
            return pulp.lpSum([self.C])
        if metric == "energy":
            return pulp.lpSum(o.energy_wh * self.x[t][i] for t, i, o in opts if o.energy_wh)
        if metric == "cost":
            return pulp.lpSum(o.cost_usd * self.x[t][i] for t, i, o in opts if o.cost_usd)
        if metric == "quality":
            return pulp.lpSum(-math.log(o.quality) * self.x[t][i] for t, i, o in opts if o.quality < 1)
        return pulp.lpSum(self.g)

    def fits(self, choice: Sequence[int], start: Sequence[float]) -> bool:
        """Whether a schedule can be a MIP start: it ends within the horizon."""
        ends = [start[t] + self.p.option(t, c).duration_s for t, c in enumerate(choice)]
        return max(ends, default=0.0) <= self.H + 1e-9

    def warm(self, choice: Sequence[int], start: Sequence[float], units: Sequence[tuple[int, ...]]) -> None:
        """Give every variable the value of a feasible schedule (the solver's MIP start)."""
        p = self.p
        n = len(p.tasks)
        for t in range(n):
            for i, v in enumerate(self.x[t]):
                v.setInitialValue(1 if i == choice[t] else 0)
            self.S[t].setInitialValue(start[t])
        end = [start[t] + p.option(t, choice[t]).duration_s for t in range(n)]
        self.C.setInitialValue(math.ceil(max(end, default=0.0) - 1e-9) if p.integral else max(end, default=0.0))
        for k, w in self.w.items():
            s, t = p.edge_ends[k]
            for (i, j), v in w.items():
                v.setInitialValue(1 if (i == choice[s] and j == choice[t]) else 0)
        # Units renumbered in order of first use, as the symmetry constraints (4) require.
        held: dict[int, set[tuple[int, int]]] = {}  # task -> {(pool, unit)}
        for pi, pool in enumerate(p.pools):
            if pool.capacity == 1:
                for t in self.units[pi]:
                    opt = p.option(t, choice[t])
                    if opt.pool == pool.name and opt.duration_s > 0:
                        held.setdefault(t, set()).add((pi, 0))
                continue
            relabel: dict[int, int] = {}
            for t in sorted(self.units[pi]):
                opt = p.option(t, choice[t])
                mine = set()
                if opt.pool == pool.name and opt.duration_s > 0:
                    for u in units[t]:
                        relabel.setdefault(u, len(relabel))
                        mine.add(relabel[u])
                for k, a in enumerate(self.units[pi][t]):
                    if not isinstance(a, int):
                        a.setInitialValue(1 if k in mine else 0)
                held.setdefault(t, set()).update((pi, k) for k in mine)
        for (t, s), (h, z) in self.pairs.items():
            share = bool(held.get(t, set()) & held.get(s, set()))
            h.setInitialValue(1 if share else 0)
            z.setInitialValue(1 if start[t] < start[s] or (start[t] == start[s] and end[t] <= start[s]) else 0)
        for g in self.g:
            _, pi, k = g.name.split("_")
            g.setInitialValue(1 if any((int(pi), int(k)) in hs for hs in held.values()) else 0)

    def extract(self) -> tuple[list[int], list[float], list[tuple[int, ...]]]:
        """The solver's options, starts and units (units only for pools of capacity > 1)."""
        p = self.p
        n = len(p.tasks)
        choice = [max(range(len(self.x[t])), key=lambda i: self.x[t][i].varValue or 0.0) for t in range(n)]
        start = [max(0.0, self.S[t].varValue or 0.0) for t in range(n)]
        units: list[tuple[int, ...]] = [() for _ in range(n)]
        for pi, pool in enumerate(p.pools):
            if pool.capacity == 1:
                continue
            for t, a in self.units[pi].items():
                opt = p.option(t, choice[t])
                if opt.pool == pool.name and opt.duration_s > 0:
                    held = sorted(range(pool.capacity), key=lambda k: -(a[k].varValue or 0.0)
                                  if not isinstance(a[k], int) else 0.0)
                    units[t] = tuple(sorted(held[: opt.units]))
        return choice, start, units


def descendants(problem: Problem) -> list[int]:
    """Per task, every task that (transitively) depends on it, as a bit set (bit ``s`` of
    ``out[t]`` is set when ``s`` comes after ``t``): n^2 / 8 bytes, which ``estimate``
    bounds before anything calls this."""
    out = [0] * len(problem.tasks)
    for t in reversed(problem.topo_order):
        for k in problem.succs[t]:
            _, d = problem.edge_ends[k]
            out[t] |= (1 << d) | out[d]
    return out


def _bits(mask: int) -> Iterator[int]:
    """The set bits of ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def compact(problem: Problem, choice: Sequence[int], start: Sequence[float],
            units: Sequence[tuple[int, ...]]) -> list[float]:
    """Left-shift a schedule: keep the options and the order of tasks on each unit (by
    start time), and start every task as early as its predecessors and the previous task
    on each of its units allow."""
    n = len(problem.tasks)
    dur = [problem.option(t, choice[t]).duration_s for t in range(n)]
    arcs: list[list[tuple[int, float]]] = [[] for _ in range(n)]  # t -> [(successor, lag after t's end)]
    for k, e in enumerate(problem.edges):
        s, t = problem.edge_ends[k]
        arcs[s].append((t, e.seconds(choice[s], choice[t])))
    lanes: dict[tuple[str, int], list[int]] = {}
    for t in range(n):
        opt = problem.option(t, choice[t])
        if dur[t] <= 0:
            continue
        for u in (units[t] or (0,)):
            lanes.setdefault((opt.pool, u), []).append(t)
    position = {t: i for i, t in enumerate(problem.topo_order)}
    for lane in lanes.values():
        lane.sort(key=lambda t: (start[t], position[t]))
        for a, b in zip(lane, lane[1:]):
            arcs[a].append((b, 0.0))
    indeg = [0] * n
    for t in range(n):
        for b, _ in arcs[t]:
            indeg[b] += 1
    heap = [(start[t], position[t], t) for t in range(n) if indeg[t] == 0]
    heapq.heapify(heap)
    new = [0.0] * n
    done = 0
    while heap:
        _, _, t = heapq.heappop(heap)
        done += 1
        for b, lag in arcs[t]:
            new[b] = max(new[b], new[t] + dur[t] + lag)
            indeg[b] -= 1
            if indeg[b] == 0:
                heapq.heappush(heap, (start[b], position[b], b))
    if done != n:
        raise AssertionError("the solver's unit orders contradict precedence: the schedule is invalid")
    return new


_CBC_RESULT = re.compile(r"^Result - (.+)$", re.M)
_CBC_OBJECTIVE = re.compile(r"^Objective value:\s+(\S+)", re.M)
_CBC_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.M)


def _solve_cbc(m: pulp.LpProblem, time_limit: float, warm: bool) -> _Outcome:
    with tempfile.TemporaryDirectory(prefix="murakkab-cbc-") as d:
        log = Path(d) / "cbc.log"
        solver = cbc(msg=False, timeLimit=round(time_limit, 2), warmStart=warm, logPath=str(log))
        with quiet():
            m.solve(solver)
        text = log.read_text(errors="replace") if log.exists() else ""
    result = _CBC_RESULT.search(text)
    status = result.group(1).strip() if result else pulp.LpStatus[m.status]
    has = m.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) and m.status == 1
    infeasible = m.status == pulp.LpStatusInfeasible or "infeasible" in status.lower()
    optimal = has and status.startswith("Optimal")
    value = pulp.value(m.objective) if has else None
    bound: float | None = value if optimal else None
    if not optimal:
        match = _CBC_BOUND.search(text)
        if match:
            try:
                bound = float(match.group(1))
            except ValueError:
                bound = None
    return _Outcome(has, infeasible and not has, optimal, bound, status)


def _solve_highs(m: pulp.LpProblem, time_limit: float, warm: bool) -> _Outcome:
    # HiGHS, like CBC, checks its time limit only between phases: on the larger
    # time-indexed models its root node has run three times over a 10 s limit.
    import highspy

    class WarmHiGHS(pulp.HiGHS):  # type: ignore[misc, valid-type]
        """PuLP's HiGHS interface, passing the variables' initial values as a MIP start."""

        def callSolver(self, lp: pulp.LpProblem) -> None:
            if warm:
                sol = highspy.HighsSolution()
                sol.col_value = [v.varValue if v.varValue is not None else 0.0 for v in lp.variables()]
                sol.value_valid = True
                lp.solverModel.setSolution(sol)
            lp.solverModel.run()

    solver = WarmHiGHS(msg=False, timeLimit=time_limit)
    with quiet():  # highspy prints its banner to fd 1 even with msg=False
        m.solve(solver)
    model = m.solverModel
    status = model.getModelStatus()
    info = model.getInfo()
    has = m.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) and m.status == 1
    optimal = status == highspy.HighsModelStatus.kOptimal
    value = pulp.value(m.objective) if has else None
    bound = value if optimal else (info.mip_dual_bound if math.isfinite(info.mip_dual_bound) else None)
    infeasible = status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible)
    return _Outcome(has, infeasible, optimal, bound, model.modelStatusToString(status))


def solve_ilp(problem: Problem, objective: Objective = Objective(), time_limit_s: float = 60.0,
              backend: str = "cbc", warm_start: bool = True, incumbent: Result | None = None,
              formulation: str = "auto") -> Result:
    """Solve a MILP goal by goal within ``time_limit_s`` seconds in all: the greedy
    incumbent, the model's building and its hand-over to the solver count, and each solver
    call gets what remains (the solvers check their limit between phases, so a call can
    still overrun it: see ``TIME_INDEXED_MAX``). A model that ``estimate`` says cannot be
    built within the time left, or within ``MEMORY_LIMIT_BYTES``, is refused up front with
    a ``MurakkabError``; when the limit runs out while the model is being built, the
    incumbent is returned with a note saying so (as CP-SAT does).

    ``formulation`` is ``disjunctive`` (this module's), ``time-indexed`` (``timeindexed``:
    whole-second data only) or ``auto``: time-indexed when the data are whole seconds, a
    pool has capacity > 1 (the disjunctive model's unit assignment is what makes it weak:
    any permutation of identical units is another solution) and the model has at most
    ``TIME_INDEXED_MAX[backend]`` start variables; else disjunctive. ``incumbent`` is
    a schedule to start from (by default the greedy one). ``optimal`` in the result is
    True only when the solver proved every goal optimal; otherwise the first goal's
    ``lower_bound`` is the best of the solver's bound and the static ones. Raises
    ``InfeasibleScheduleError`` when the bounds cannot be met, and ``MurakkabError`` when
    the time runs out before any schedule is found, or the model is too large.
    """
    if backend not in BACKENDS:
        raise MurakkabError(f"unknown MILP backend '{backend}'", hint=f"use one of {', '.join(BACKENDS)}")
    if backend == "highs" and not highs_available():
        raise MurakkabError("the HiGHS backend needs the 'highspy' package", hint="pip install highspy, or use cbc")
    if formulation not in FORMULATIONS:
        raise MurakkabError(f"unknown MILP formulation '{formulation}'", hint=f"use one of {', '.join(FORMULATIONS)}")
    if formulation == "time-indexed" and not problem.integral:
        raise MurakkabError("the time-indexed formulation needs durations and transfers in whole seconds",
                            hint="use the disjunctive formulation")
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    if not objective.goals:
        objective = Objective(("makespan",), objective.bounds, objective.tolerance)
    start_from = incumbent if incumbent is not None else solve_greedy(problem, objective)
    usable = start_from.feasible and len(start_from.solution) == len(problem.tasks)
    horizon = problem.serial_horizon()
    if objective.goals[0] == "makespan" and usable:
        horizon = min(horizon, start_from.totals.makespan_s)
    for b in objective.bounds:
        if b.metric == "makespan":
            horizon = min(horizon, b.value)
    if problem.integral:
        horizon = math.floor(horizon + 1e-9)
    if horizon < problem.makespan_lower_bound() - 1e-9:
        raise InfeasibleScheduleError(f"no schedule of {problem.name} meets "
                                      + " and ".join(b.text() for b in objective.bounds),
                                      hint=f"the makespan is at least {problem.makespan_lower_bound():g} s")
    if formulation == "auto":
        cumulative = any(p.capacity > 1 for p in problem.pools)
        small = problem.integral and timeindexed.size(problem, int(horizon)) <= TIME_INDEXED_MAX[backend]
        formulation = "time-indexed" if cumulative and small else "disjunctive"
    if formulation == "time-indexed" and \
            any(all(w is None for w in row) for row in timeindexed.windows(problem, int(horizon))):
        raise InfeasibleScheduleError(f"no schedule of {problem.name} ends by {horizon:g} s",
                                      hint=f"the makespan is at least {problem.makespan_lower_bound():g} s")
    size = estimate(problem, objective, horizon, formulation)
    _refuse_if_too_large(problem, size, formulation, deadline - time.perf_counter(), time_limit_s)
    model: DisjunctiveModel | timeindexed.TimeIndexedModel
    b0 = time.perf_counter()
    try:
        if formulation == "time-indexed":
            model = timeindexed.TimeIndexedModel(problem, objective, int(horizon), deadline)
        else:
            model = DisjunctiveModel(problem, objective, horizon, deadline)
    except OutOfTime:
        why = f"the time limit ({time_limit_s:g} s) ran out while building the MILP model ({formulation})"
        if usable:
            return replace(start_from, solver="ilp", seconds=time.perf_counter() - t0,
                           note=f"{why}; the {start_from.solver} schedule ({start_from.note})")
        raise MurakkabError(f"the MILP found no schedule of {problem.name}: {why}",
                            hint="raise --time-limit, or use --solver cpsat or greedy") from None
    # Handing the model to the solver is not interruptible: keep the time it will take
    # (the estimate, scaled by how fast this machine built the model) out of each call's limit.
    export_s = size.export_s * (time.perf_counter() - b0) / max(size.build_s, 1e-9)
    # The best schedule known so far, as (options, starts, units): the MIP start, and what
    # is returned if a solver call ends without a schedule of its own.
    best: tuple[list[int], list[float], list[tuple[int, ...]]] | None = None
    if warm_start and usable:
        n = len(problem.tasks)
        choice, start = [0] * n, [0.0] * n
        units: list[tuple[int, ...]] = [() for _ in range(n)]
        for pl in start_from.solution:
            t = problem.index[pl.task]
            choice[t], start[t], units[t] = pl.option, pl.start_s, pl.units
        if model.fits(choice, start):
            best = (choice, start, units)
            model.warm(*best)
    warm_from = start_from.solver if best is not None else None
    build_s = time.perf_counter() - t0
    run = _solve_highs if backend == "highs" else _solve_cbc
    stages: list[Stage] = []
    statuses = []
    for g in objective.goals:
        s0 = time.perf_counter()
        expr = model.expr(g)
        model.m.setObjective(expr)
        remaining = deadline - time.perf_counter() - export_s
        if remaining < MIN_SOLVE_S:
            out = _Outcome(False, False, False, None, "not run (no time left)")
        else:
            try:
                out = run(model.m, remaining, best is not None)
            except pulp.PulpSolverError as exc:
                out = _Outcome(False, False, False, None, f"solver error: {exc}")
        statuses.append(f"{g}: {out.status}")
        elapsed = time.perf_counter() - s0
        if out.has_solution:
            choice, start, units = model.extract()
            best = (choice, compact(problem, choice, start, units), units)
        elif best is None:
            # CBC may call a model infeasible when its time runs out in preprocessing:
            # believe it only when it stopped well within its time.
            if out.infeasible and elapsed < 0.9 * remaining:
                raise InfeasibleScheduleError(f"no schedule of {problem.name} meets "
                                              + " and ".join(b.text() for b in objective.bounds))
            raise MurakkabError(f"the MILP found no schedule of {problem.name} within {time_limit_s:g} s "
                                f"({out.status})", hint="raise --time-limit, or use --solver greedy")
        # The variables take the incumbent's values: its value on this goal, and the
        # next goal's MIP start.
        model.warm(*best)
        value = expr.value() if expr.value() is not None else 0.0
        model.m += expr <= value + objective.tolerance * max(1.0, abs(value)), f"keep_{g}"
        bound = out.bound if out.bound is not None and out.has_solution else -math.inf
        if g == "makespan":
            bound = max(bound, problem.makespan_lower_bound())
        stages.append(_stage(problem, g, value, bound, out.optimal and out.has_solution, elapsed))
    assert best is not None
    choice, start, units = best
    sol = tuple(Placement(t.id, choice[i], start[i], units[i]) for i, t in enumerate(problem.tasks))
    totals = problem.totals(sol)
    stages = [_finish_stage(s, totals, problem) for s in stages]
    first = stages[0]
    optimal = all(s.optimal for s in stages)
    seconds = time.perf_counter() - t0
    note = (f"MILP ({formulation}, {backend}): {model.m.numVariables()} variables, "
            f"{model.m.numConstraints()} constraints, "
            f"built in {build_s:.2f} s; horizon {horizon:g} s; "
            f"{'MIP start from ' + warm_from if warm_from else 'no MIP start'}; " + "; ".join(statuses))
    return Result("ilp", sol, totals, optimal, first.objective, first.bound, objective.feasible(totals), seconds,
                  note, tuple(stages))


def _refuse_if_too_large(problem: Problem, size: Estimate, formulation: str, left_s: float,
                         time_limit_s: float) -> None:
    """Raise a ``MurakkabError`` when a model of ``size`` cannot be built and handed to the
    solver in the ``left_s`` seconds left of ``time_limit_s``, or would not fit in memory."""
    n = len(problem.tasks)
    what = (f"the {formulation} MILP of {problem.name} ({n:,} tasks"
            + (f", {size.pairs:,} unordered task pairs" if size.pairs else "")
            + f") would have about {size.nonzeros:,} coefficients")
    hint = "use --solver cpsat or --solver greedy (HEFT)"
    if formulation == "disjunctive" and n > DISJUNCTIVE_MAX_TASKS:
        raise MurakkabError(f"{what}: more than {DISJUNCTIVE_MAX_TASKS:,} tasks is too many for it", hint=hint)
    need = size.build_s + size.export_s
    if need > left_s:
        raise MurakkabError(f"{what}: building it would take about {need:,.0f} s, and {max(0.0, left_s):.1f} s "
                            f"of the {time_limit_s:g} s time limit are left", hint=f"{hint}, or raise --time-limit")
    if size.memory_bytes > MEMORY_LIMIT_BYTES:
        raise MurakkabError(f"{what}: about {size.memory_bytes / 2**30:.1f} GiB, over the "
                            f"{MEMORY_LIMIT_BYTES / 2**30:g} GiB a model may take", hint=hint)


def _stage(problem: Problem, goal: str, value: float, bound: float, optimal: bool, seconds: float) -> Stage:
    """A stage in the metric's own terms (the model minimises -log quality)."""
    if goal == "quality":
        upper = static_bound(problem, goal)
        return Stage(goal, math.exp(-value), min(upper, math.exp(-bound)) if math.isfinite(bound) else upper,
                     optimal, seconds)
    if not math.isfinite(bound):
        bound = static_bound(problem, goal)
    return Stage(goal, value, max(bound, static_bound(problem, goal)), optimal, seconds)


def _finish_stage(stage: Stage, totals: Totals, problem: Problem) -> Stage:
    """The stage with the value of the compacted schedule (it can only improve the
    makespan; the other metrics do not change), and its bound never past its value."""
    value = totals.metric(stage.goal)
    if stage.goal == "quality":
        bound = max(stage.bound, value) if not stage.optimal else value
    else:
        bound = min(stage.bound, value) if not stage.optimal else value
    optimal = stage.optimal or relative_gap(value, bound) == 0.0
    return Stage(stage.goal, value, bound, optimal, stage.seconds)
