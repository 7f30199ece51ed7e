"""Exact scheduling with OR-Tools CP-SAT: interval variables, no-overlap and cumulative.

The same problem as ``ilp.py`` (notation of ``problem.py``: tasks ``T``, options ``O_t``
with pool ``p(o)``, units ``u(o)``, duration ``d(o)``, energy ``e(o)``, cost ``c(o)``,
quality ``q(o)``; pools ``P`` with capacity ``cap(p)``; edges ``E`` with transfer
``tau_e(i, j)``), solved the same way (goal by goal, each optimum kept with
``Objective.tolerance``; hinted with the greedy schedule; one overall time limit), but by
a constraint-programming solver whose scheduling constraints propagate directly instead
of through big-M rows. CP-SAT works on integers, so the data are scaled first.

Scaling. Times are counted in units of ``1/F`` seconds, ``F`` a power of ten: the
smallest (up to ``10**EXACT_DIGITS``) at which every duration and transfer is a whole
number (``F = 1`` for whole seconds, ``F = 1000`` for WfCommons' milliseconds); then the
time data are exact. Otherwise ``F`` is the smallest power of ten at which the rounding
below moves the makespan by at most ``PRECISION`` of its lower bound, and
``d'(o) = ceil(F d(o))``, ``tau'(i, j) = ceil(F tau(i, j))``: every schedule of the scaled
model is valid with the real data (tasks only end earlier), and a chain of at most ``n``
tasks and ``n - 1`` transfers grows by at most ``R = n max(d' - F d) + (n - 1) max(tau' -
F tau) < 2n - 1`` units. Energy, cost and ``a(o) = -log q(o)`` are weighted the same way,
each with its own factor ``f``: ``w(o) = round(f v(o))`` when exact, else ``floor(f v(o))``,
so a sum of ``n`` weights is at most ``n`` units below ``f`` times the real sum.

Variables:

- ``x[t,o]`` in {0, 1}: ``t`` runs option ``o``;
- ``S[t]`` in ``[0, H]``, integer: the start of ``t`` in units of ``1/F`` s; ``C``: the
  makespan; ``I[t,o]``: an optional interval of start ``S[t]``, size ``d'(o)``, present
  when ``x[t,o]``;
- ``G[p]`` in ``[0, cap(p)]``, for GPU pools when the gpus metric is a goal or bounded:
  the units of ``p`` provisioned.

``H`` is the horizon: the scaled serial schedule (``Problem.serial_horizon``, which
bounds the compacted schedule of any options), the hint's makespan when the makespan is
the first goal and the hint meets the bounds, and no more than a makespan bound allows.

Constraints:

1. ``sum_o x[t,o] = 1``.
2. ``C >= S[t] + sum_o d'(o) x[t,o]``; ``C >= ceil(F LB)`` with ``LB`` of
   ``Problem.makespan_lower_bound`` on the scaled data.
3. For an edge ``e = (s, t)``: ``S[t] >= S[s] + sum_i d'(i) x[s,i] + min tau'_e``, and
   ``S[t] >= S[s] + d'(i) + tau'_e(i, j)`` enforced by ``x[s,i] and x[t,j]`` for the pairs
   whose transfer exceeds the least (exact for transfers that depend on both options).
4. ``NoOverlap({I[t,o] : p(o) = p, d(o) > 0})`` for ``cap(p) = 1``;
   ``Cumulative({I[t,o]}, u(o), cap(p))`` for ``cap(p) > 1`` — with capacity ``G[p]``
   instead on a GPU pool whose gpus are counted, and ``G[p] >= u(o) x[t,o]``. A task of
   duration 0 holds nothing.
5. Redundant, for propagation: ``sum_{t, o: p(o) = p} u(o) d'(o) x[t,o] <= cap(p) C``;
   and, on a small pool of identical units (``1 < cap(p) <= UNIT_SPLIT_CAPACITY``, every
   holder needing one unit, at most ``UNIT_SPLIT_HOLDERS`` of them, capacity not a
   decision) when ``F > 1`` (see ``UNIT_SPLIT_*``), each holder on one unit: ``sum_k y[t,o,k] = x[t,o]``,
   ``NoOverlap({I[t,o,k]})`` per unit ``k``, units used in order of their first holder.
   The cumulative alone bounds such a pool weakly (what proves a makespan there is how
   the tasks split among the units: 8 tasks of ~103 s on 4 cores), the split proves it.
6. Bounds, never cutting off a schedule that meets them (a bound ``B`` holds within
   ``1e-9 max(1, |B|)``, as in the other solvers): ``C <= floor(F B) + R``;
   ``sum w x <= floor(f B)`` for energy and cost; ``sum_p G[p] <= B``;
   ``sum w x <= floor(-f log B)`` for quality. The solution is re-checked with the real
   data (``Objective.feasible``); with ``PRECISION`` rounding it cannot miss a bound by
   more than the ``1e-6`` the project's checks allow.

Objective: the goals in order — minimise ``C``, ``sum w x`` (energy, cost, quality) or
``sum_p G[p]`` — each optimum ``V`` then becoming ``expression <= V + floor(tolerance
max(1, |V / f|) f)`` for the goals after it.

What is proven. For whole-second (or exact decimal) data the model is the problem, and
``optimal`` means optimal. With rounded data CP-SAT proves the scaled model optimal; the
real schedule (starts ``S / F``, units named by ``sgs.assign_units``, then compacted as in
``ilp.compact``) is within ``R / F`` seconds of the real optimum makespan and within
``n / f`` of the real optimum sum, both at most ``PRECISION`` relative: ``lower_bound`` is
CP-SAT's bound less that rounding (``(L - R) / F``, ``L / f``, ``exp(-L / f)`` for
quality), and ``optimal`` is reported when CP-SAT proved the scaled optimum and the real
gap is within ``Objective.tolerance``. The note states ``F`` and ``R``.

gpus is exact: a schedule whose GPU pool peaks at ``c`` units fits a cumulative of
capacity ``c``, and conversely.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ...grammar.diagnostics import MurakkabError
from ..progress import active, report
from .greedy import solve_greedy, static_bound
from .ilp import compact
from .problem import (Edge, InfeasibleScheduleError, Objective, Option, Placement, Problem, Result, Stage, Task,
                      Totals, peak_usage, relative_gap)
from .quiet import quiet
from .sgs import assign_units

# CP-SAT's parallel portfolio: two workers use both cores of the 2-core machines this
# project runs on. On the 300-task layered DAG of bench/optimizer_scaling.py (60 s) two
# find 455.8 s where one stays at HEFT's 462.9 s (`--sections layered --sizes 100,300
# --workers 1`, bench/RESULTS.md); more workers on 2 cores only share them.
WORKERS = 2
SEED = 0
# Data that are multiples of 10**-k for k up to this are scaled exactly.
EXACT_DIGITS = 9
# Otherwise the rounding may move a total by at most this share of its least value: well
# inside the 1e-6 relative tolerance of Bound.met and validate().
PRECISION = 1e-7
# Scaled values stay below 2**53, so sums of them are exact in a float (CP-SAT reports
# objectives as floats).
MAX_SCALED = 2.0 ** 53
# How often (in tasks) the model builder looks at the clock.
_CLOCK_EVERY = 64
# The per-unit split of constraint (5) is added for pools this small (units, holders),
# and only when the times are not whole seconds (scaled to 1/F s, F > 1) unless
# UNIT_SPLIT_WHOLE_SECONDS: measured side by side by bench/unit_split.py (results in
# bench/RESULTS.md), it proves WfCommons instances (times in ms) the cumulative alone
# leaves open, and slows CP-SAT down on whole-second STG graphs.
UNIT_SPLIT_CAPACITY = 8
UNIT_SPLIT_HOLDERS = 64
UNIT_SPLIT_WHOLE_SECONDS = False


def cpsat_available() -> bool:
    """Whether OR-Tools (CP-SAT) is installed."""
    try:
        from ortools.sat.python import cp_model  # noqa: F401
    except ImportError:
        return False
    return True


def _cp_model() -> Any:
    try:
        from ortools.sat.python import cp_model
    except ImportError:
        raise MurakkabError("the CP-SAT solver needs the 'ortools' package",
                            hint="pip install ortools, or use --solver ilp or greedy") from None
    return cp_model


@dataclass(frozen=True)
class Scale:
    """Values counted in units of ``1 / factor``: exactly (``round``) when ``exact``, else
    rounded towards the safe side the caller asks for."""

    factor: int
    exact: bool

    def up(self, v: float) -> int:
        x = v * self.factor
        return round(x) if self.exact else math.ceil(x - _snap(x))

    def down(self, v: float) -> int:
        x = v * self.factor
        return round(x) if self.exact else math.floor(x + _snap(x))

    def text(self) -> str:
        return f"1/{self.factor}" + ("" if self.exact else " (rounded)")


def _snap(x: float) -> float:
    """How far a scaled value may be from a whole number and still count as one."""
    return max(1e-6, 1e-12 * abs(x))


def scale_for(values: Iterable[float], terms: int, least: float, largest: float) -> Scale:
    """The power of ten at which ``values`` are whole numbers (up to ``10**EXACT_DIGITS``),
    or else the smallest at which ``terms`` rounding errors of one unit are at most
    ``PRECISION`` of ``least`` (the smallest nonzero total). ``largest`` (the biggest
    total) times the factor stays below ``MAX_SCALED``."""
    vals = [v for v in values if v]
    top = 0
    while top < EXACT_DIGITS and largest * 10 ** (top + 1) < MAX_SCALED:
        top += 1
    for k in range(top + 1):
        f = 10 ** k
        if all(abs(v * f - round(v * f)) <= _snap(v * f) and round(v * f) >= 1 for v in vals):
            return Scale(f, True)
    ref = max(least, min(vals, default=1.0))
    k = 0
    while terms > PRECISION * ref * 10 ** k and largest * 10 ** (k + 1) < MAX_SCALED:
        k += 1
    return Scale(10 ** k, False)


class _OutOfTime(Exception):
    """The time limit ran out while the model was being built."""


class CpSatModel:
    """The model of the module docstring for one problem, one objective and one horizon
    (in scaled units). ``sp`` is the problem with scaled, whole-number times; ``slack`` is
    ``R``; ``weights`` and ``scales`` the scaled energy, cost and quality of every option."""

    def __init__(self, sp: Problem, time_scale: Scale, slack: int, weights: dict[str, list[list[int]]],
                 scales: dict[str, Scale], objective: Objective, horizon: int, deadline: float) -> None:
        cp_model = _cp_model()
        self.sp, self.F, self.R = sp, time_scale, slack
        self.weights, self.scales = weights, scales
        self.H = horizon
        n = len(sp.tasks)
        m = cp_model.CpModel()
        self.m = m
        dur = [[int(o.duration_s) for o in t.options] for t in sp.tasks]
        self.dur = dur
        self.x = [[m.new_bool_var(f"x_{t}_{i}") for i in range(len(dur[t]))] for t in range(n)]
        self.S = [m.new_int_var(0, horizon, f"S_{t}") for t in range(n)]
        self.C = m.new_int_var(min(int(sp.makespan_lower_bound()), horizon), horizon, "C")
        # pool -> [(interval, units, presence, duration, start)] of the options that hold units of it.
        holders: dict[int, list[tuple[Any, int, Any, int, Any]]] = {pi: [] for pi in range(len(sp.pools))}
        end = []
        for t in range(n):  # (1), (2)
            if t % _CLOCK_EVERY == 0 and time.perf_counter() > deadline:
                raise _OutOfTime
            m.add_exactly_one(self.x[t])
            end.append(self.S[t] + cp_model.LinearExpr.weighted_sum(self.x[t], dur[t]))
            m.add(self.C >= end[t])
            for i, o in enumerate(sp.tasks[t].options):
                if dur[t][i] > 0:
                    iv = m.new_optional_fixed_size_interval_var(self.S[t], dur[t][i], self.x[t][i], f"I_{t}_{i}")
                    holders[sp.pool_index[o.pool]].append((iv, o.units, self.x[t][i], dur[t][i], self.S[t]))
        for k, e in enumerate(sp.edges):  # (3)
            if k % _CLOCK_EVERY == 0 and time.perf_counter() > deadline:
                raise _OutOfTime
            s, t = sp.edge_ends[k]
            least = int(sp.min_transfer(k))
            m.add(self.S[t] >= end[s] + least)
            if not e.transfer_s:
                continue
            for i in range(len(dur[s])):
                for j in range(len(dur[t])):
                    tau = int(e.transfer_s[i][j])
                    if tau > least:
                        m.add(self.S[t] >= self.S[s] + dur[s][i] + tau).only_enforce_if([self.x[s][i], self.x[t][j]])
        self.G: dict[int, Any] = {}
        count_gpus = objective.uses("gpus")
        for pi, pool in enumerate(sp.pools):  # (4), (5)
            ivs = holders[pi]
            if not ivs:
                continue
            if count_gpus and pool.gpu:
                g = m.new_int_var(0, pool.capacity, f"G_{pi}")
                self.G[pi] = g
                for _, u, x, _, _ in ivs:
                    m.add(g >= u * x)
            if pool.capacity == 1:
                m.add_no_overlap([iv for iv, _, _, _, _ in ivs])
            else:
                m.add_cumulative([iv for iv, _, _, _, _ in ivs], [u for _, u, _, _, _ in ivs],
                                 self.G.get(pi, pool.capacity))
                if ((self.F.factor > 1 or UNIT_SPLIT_WHOLE_SECONDS) and pi not in self.G
                        and pool.capacity <= UNIT_SPLIT_CAPACITY
                        and len(ivs) <= UNIT_SPLIT_HOLDERS and all(u == 1 for _, u, _, _, _ in ivs)):
                    self._split_units(pi, pool.capacity, ivs)
            m.add(cp_model.LinearExpr.weighted_sum([x for _, _, x, _, _ in ivs], [u * d for _, u, _, d, _ in ivs])
                  <= pool.capacity * self.C)
        for b in objective.bounds:  # (6)
            m.add(self.expr(b.metric) <= self.cap(b.metric, b.value))

    def _split_units(self, pi: int, capacity: int, ivs: list[tuple[Any, int, Any, int, Any]]) -> None:
        """Constraint (5), second part: every holder of pool ``pi`` on one of its
        ``capacity`` identical units, which never run two holders at once. Redundant with
        the cumulative (any schedule that fits it splits among the units), so it changes
        no optimum; unit ``k`` is used only if unit ``k - 1`` holds an earlier holder,
        which removes the units' symmetry."""
        m = self.m
        y = [[m.new_bool_var(f"y_{pi}_{j}_{k}") for k in range(capacity)] for j in range(len(ivs))]
        on_unit: list[list[Any]] = [[] for _ in range(capacity)]
        for j, (_, _, x, d, start) in enumerate(ivs):
            m.add(sum(y[j]) == x)
            for k in range(capacity):
                on_unit[k].append(m.new_optional_fixed_size_interval_var(start, d, y[j][k], f"U_{pi}_{j}_{k}"))
        for k in range(capacity):
            m.add_no_overlap(on_unit[k])
        for k in range(1, capacity):
            for j in range(len(ivs)):
                m.add(y[j][k] <= sum(y[i][k - 1] for i in range(j)))

    def expr(self, metric: str) -> Any:
        """The metric as a scaled integer expression to minimise (quality as the weighted
        sum of -log q)."""
        from ortools.sat.python import cp_model

        if metric == "makespan":
            return self.C
        if metric == "gpus":
            return cp_model.LinearExpr.weighted_sum(list(self.G.values()), [1] * len(self.G))
        w = self.weights[metric]
        pairs = [(self.x[t][i], c) for t in range(len(w)) for i, c in enumerate(w[t]) if c]
        return cp_model.LinearExpr.weighted_sum([v for v, _ in pairs], [c for _, c in pairs])

    def unit(self, metric: str) -> int:
        """Scaled units per unit of the metric."""
        if metric == "makespan":
            return self.F.factor
        return 1 if metric == "gpus" else self.scales[metric].factor

    def cap(self, metric: str, value: float) -> int:
        """The scaled value a bound ``metric <= value`` (``>=`` for quality) allows, never
        cutting off a schedule that meets it within 1e-9 max(1, |value|)."""
        if metric == "makespan":
            return time_cap(value, self.F, self.R)
        if metric == "quality":
            return math.floor((-math.log(value) + 1e-9) * self.unit(metric))
        return math.floor((value + 1e-9 * max(1.0, abs(value))) * self.unit(metric))

    def peaks(self, choice: Sequence[int], start: Sequence[int]) -> dict[int, int]:
        """Peak units in use of each counted GPU pool, for a schedule in scaled units."""
        spans: dict[int, list[tuple[float, float, int]]] = {pi: [] for pi in self.G}
        for t, c in enumerate(choice):
            pi = self.sp.pool_index[self.sp.option(t, c).pool]
            if pi in self.G and self.dur[t][c] > 0:
                spans[pi].append((start[t], start[t] + self.dur[t][c], self.sp.option(t, c).units))
        return {pi: peak_usage(iv) for pi, iv in spans.items()}

    def value(self, metric: str, choice: Sequence[int], start: Sequence[int]) -> int:
        """The metric's scaled value for a schedule in scaled units."""
        if metric == "makespan":
            return max((s + self.dur[t][c] for t, (c, s) in enumerate(zip(choice, start))), default=0)
        if metric == "gpus":
            return sum(self.peaks(choice, start).values())
        return sum(w[c] for w, c in zip(self.weights[metric], choice))

    def hint(self, choice: Sequence[int], start: Sequence[int]) -> None:
        """Hint CP-SAT with a schedule in scaled units (replacing any earlier hint)."""
        m = self.m
        m.clear_hints()
        for t, c in enumerate(choice):
            for i, x in enumerate(self.x[t]):
                m.add_hint(x, i == c)
            m.add_hint(self.S[t], start[t])
        m.add_hint(self.C, self.value("makespan", choice, start))
        peaks = self.peaks(choice, start)
        for pi, g in self.G.items():
            m.add_hint(g, peaks[pi])

    def keep(self, metric: str, value: int, tolerance: float) -> None:
        """``metric <= value`` plus the tolerance, for the goals after this one."""
        f = self.unit(metric)
        self.m.add(self.expr(metric) <= value + math.floor(tolerance * max(1.0, abs(value / f)) * f))


def time_cap(value: float, time_scale: Scale, slack: int) -> int:
    """The scaled makespan a bound ``makespan <= value`` allows: rounding may lengthen a
    schedule that meets it by up to ``slack`` units."""
    return math.floor((value + 1e-9 * max(1.0, abs(value))) * time_scale.factor) + slack


def _scaled(problem: Problem, time_scale: Scale) -> tuple[Problem, int]:
    """The problem with times in units of ``1 / F``, rounded up, and ``R``: how much the
    rounding can lengthen a chain (0 when exact)."""
    def up(v: float) -> float:
        return float(time_scale.up(v))

    n = len(problem.tasks)
    inc_d = inc_tau = 0.0
    tasks = []
    for t in problem.tasks:
        opts = []
        for o in t.options:
            d = up(o.duration_s)
            inc_d = max(inc_d, d - o.duration_s * time_scale.factor)
            opts.append(Option(o.pool, d, o.units, label=o.label))
        tasks.append(Task(t.id, tuple(opts)))
    edges = []
    for e in problem.edges:
        table = tuple(tuple(up(v) for v in row) for row in e.transfer_s)
        for row, scaled in zip(e.transfer_s, table):
            for v, s in zip(row, scaled):
                inc_tau = max(inc_tau, s - v * time_scale.factor)
        edges.append(Edge(e.src, e.dst, table))
    slack = 0 if time_scale.exact else math.ceil(n * inc_d + max(n - 1, 0) * inc_tau - 1e-9)
    return Problem(problem.name, problem.pools, tuple(tasks), tuple(edges)), max(slack, 0)


def _weights(problem: Problem, objective: Objective) -> tuple[dict[str, list[list[int]]], dict[str, Scale]]:
    """Scaled integer weights of energy, cost and -log quality, for the metrics used."""
    n = len(problem.tasks)
    raw = {"energy": lambda o: o.energy_wh, "cost": lambda o: o.cost_usd, "quality": lambda o: -math.log(o.quality)}
    weights, scales = {}, {}
    for metric, get in raw.items():
        if not objective.uses(metric):
            continue
        table = [[max(0.0, get(o)) for o in t.options] for t in problem.tasks]
        least = sum(min(row) for row in table)
        largest = sum(max(row) for row in table)
        sc = scale_for((v for row in table for v in row), n, least, max(largest, 1.0))
        scales[metric] = sc
        weights[metric] = [[sc.down(v) for v in row] for row in table]
    return weights, scales


def _incumbents(goal: str, start: float) -> Any:
    """A CP-SAT solution callback that reports each schedule found while the solver
    searches, with its gap to the proven bound (``compiler/progress.py``), so a
    minute-long solve is seen to improve. (ortools is imported lazily: it is optional.)"""
    from ortools.sat.python import cp_model

    class Incumbents(cp_model.CpSolverSolutionCallback):
        found = 0

        def on_solution_callback(self) -> None:
            self.found += 1
            value, bound = self.objective_value, self.best_objective_bound
            gap = abs(value - bound) / max(abs(value), 1e-12)
            report(f"cpsat {goal}: incumbent {self.found} after {time.perf_counter() - start:.1f} s, "
                   f"gap {100 * gap:.1f}%")

    return Incumbents()


def solve_cpsat(problem: Problem, objective: Objective = Objective(), time_limit_s: float = 60.0, *,
                workers: int = WORKERS, seed: int = SEED, warm_start: bool = True,
                incumbent: Result | None = None) -> Result:
    """Solve with CP-SAT goal by goal within ``time_limit_s`` seconds in all: the greedy
    hint (unless ``incumbent`` is given) and model building count, and CP-SAT gets what
    remains. Only HEFT itself is not interrupted (it takes ~0.5 s on 10,000 tasks); the
    builder looks at the clock every ``_CLOCK_EVERY`` tasks and edges.

    ``workers`` is CP-SAT's number of parallel search workers (with 1 a run is
    deterministic; with more the optimum is the same, but which optimal schedule, and
    where a stopped run ends, may vary); ``seed`` its random seed. ``optimal`` is True
    only when every goal was proven optimal (see the module docstring for rounded data);
    ``lower_bound`` is CP-SAT's best bound on the first goal, unscaled. When the time
    runs out first, the best schedule known (CP-SAT's, or the hint when it meets the
    bounds) is returned with its gap. Raises ``InfeasibleScheduleError`` when the bounds
    cannot be met, and ``MurakkabError`` when no schedule is found in time or OR-Tools
    is missing.
    """
    cp_model = _cp_model()
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    if not objective.goals:
        objective = Objective(("makespan",), objective.bounds, objective.tolerance)
    least = problem.makespan_lower_bound()
    for b in objective.bounds:
        if b.metric == "makespan" and b.value < least - 1e-9 * max(1.0, b.value):
            raise InfeasibleScheduleError(f"no schedule of {problem.name} meets {b.text()}",
                                          hint=f"the makespan is at least {least:g} s")
    start_from = incumbent if incumbent is not None else solve_greedy(problem, objective)
    complete = len(start_from.solution) == len(problem.tasks)
    usable = complete and start_from.feasible
    n = len(problem.tasks)
    times = [o.duration_s for t in problem.tasks for o in t.options] + \
        [v for e in problem.edges for row in e.transfer_s for v in row]
    time_scale = scale_for(times, 2 * n, least, max(problem.serial_horizon(), 1.0))
    sp, slack = _scaled(problem, time_scale)
    weights, scales = _weights(problem, objective)
    # The hint in scaled units: the incumbent's options and unit orders, compacted.
    hint: tuple[list[int], list[int]] | None = None
    if warm_start and complete:
        choice, real = [0] * n, [0.0] * n
        for pl in start_from.solution:
            t = problem.index[pl.task]
            choice[t], real[t] = pl.option, pl.start_s
        units = assign_units(problem, choice, real)
        hint = (choice, [round(v) for v in compact(sp, choice, [v * time_scale.factor for v in real], units)])
    horizon = int(sp.serial_horizon())
    if hint is not None and usable and objective.goals[0] == "makespan":
        horizon = min(horizon, max((s + int(sp.option(t, c).duration_s) for t, (c, s) in enumerate(zip(*hint))),
                                   default=0))
    for b in objective.bounds:
        if b.metric == "makespan":
            horizon = min(horizon, time_cap(b.value, time_scale, slack))
    try:
        model = CpSatModel(sp, time_scale, slack, weights, scales, objective, horizon, deadline)
    except _OutOfTime:
        why = f"the time limit ({time_limit_s:g} s) ran out while building the CP-SAT model"
        if usable:
            return _fallback(start_from, t0, why)
        raise MurakkabError(f"CP-SAT found no schedule of {problem.name}: {why}",
                            hint="raise --time-limit, or use --solver greedy") from None
    build_s = time.perf_counter() - t0
    # The best schedule known, in scaled units: what is returned if CP-SAT finds none.
    best = hint if usable else None
    if hint is not None:
        model.hint(*hint)
    stages: list[tuple[str, int | None, bool, float]] = []  # goal, scaled bound, proven, seconds
    statuses = []
    for g in objective.goals:
        s0 = time.perf_counter()
        remaining = deadline - s0
        bound: int | None = None
        proven = False
        if remaining <= 0.01:
            statuses.append(f"{g}: not run (no time left)")
        else:
            model.m.minimize(model.expr(g))
            solver = cp_model.CpSolver()
            solver.parameters.max_time_in_seconds = remaining
            solver.parameters.num_workers = workers
            solver.parameters.random_seed = seed
            solver.parameters.log_search_progress = False
            with quiet():
                status = solver.solve(model.m, _incumbents(str(g), s0) if active() else None)
            statuses.append(f"{g}: {solver.status_name(status)}")
            if status == cp_model.MODEL_INVALID:
                raise AssertionError(f"CP-SAT rejected the model: {model.m.validate()}")
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                found = ([max(range(len(xs)), key=lambda i: solver.boolean_value(xs[i])) for xs in model.x],
                         [solver.value(v) for v in model.S])
                # CP-SAT stopped by the clock may hold a schedule worse than the hint.
                if best is None or model.value(g, *found) <= model.value(g, *best):
                    best = found
                proven = status == cp_model.OPTIMAL
                bound = math.ceil(solver.best_objective_bound - 1e-6)
            elif best is None:
                if status == cp_model.INFEASIBLE:
                    raise InfeasibleScheduleError(f"no schedule of {problem.name} meets "
                                                  + " and ".join(b.text() for b in objective.bounds))
                raise MurakkabError(f"CP-SAT found no schedule of {problem.name} within {time_limit_s:g} s "
                                    f"({solver.status_name(status)})",
                                    hint="raise --time-limit, or use --solver greedy")
        assert best is not None
        value = model.value(g, *best)
        model.keep(g, value, objective.tolerance)
        model.hint(*best)
        stages.append((g, value if proven else bound, proven, time.perf_counter() - s0))
    assert best is not None
    choice, scaled_start = best
    real = [v / time_scale.factor for v in scaled_start]
    units = assign_units(problem, choice, real)
    real = compact(problem, choice, real, units)
    sol = tuple(Placement(t.id, choice[i], real[i], units[i]) for i, t in enumerate(problem.tasks))
    totals = problem.totals(sol)
    finished = [_stage(problem, objective, model, g, bound, proven, secs, totals) for g, bound, proven, secs in stages]
    rounding = "" if time_scale.exact else f", so the makespan is within {slack}/{time_scale.factor} s"
    note = (f"CP-SAT ({workers} workers, seed {seed}): {len(model.m.proto.variables)} variables, "
            f"{len(model.m.proto.constraints)} constraints, built in {build_s:.2f} s; time unit "
            f"{time_scale.text()} s{rounding}; horizon {horizon / time_scale.factor:g} s; "
            + "".join(f"{m} unit {sc.text()}; " for m, sc in scales.items())
            + (f"hint from {start_from.solver}; " if hint is not None else "no hint; ") + "; ".join(statuses))
    first = finished[0]
    return Result("cpsat", sol, totals, all(s.optimal for s in finished), first.objective, first.bound,
                  objective.feasible(totals), time.perf_counter() - t0, note, tuple(finished))


def _stage(problem: Problem, objective: Objective, model: CpSatModel, goal: str, bound: int | None, proven: bool,
           seconds: float, totals: Totals) -> Stage:
    """A stage in the metric's own terms: the final schedule's value, and CP-SAT's bound
    unscaled (less the rounding), never past the value nor short of the static bound.
    A goal counts as optimal when CP-SAT proved it and the real gap is within the
    tolerance (later goals may spend that much of it), or when the gap is zero."""
    value = totals.metric(goal)
    static = static_bound(problem, goal)
    if goal == "quality":
        real = static if bound is None else min(static, math.exp(-bound / model.unit(goal)))
        real = max(real, value)
    else:
        if bound is None:
            real = static
        elif goal == "makespan":
            real = max(static, (bound - model.R) / model.F.factor)
        else:
            real = max(static, bound / model.unit(goal))
        real = min(real, value)
    gap = relative_gap(value, real)
    return Stage(goal, value, real, (proven and gap <= objective.tolerance) or gap == 0.0, seconds)


def _fallback(start_from: Result, t0: float, why: str) -> Result:
    """The incumbent as this solver's answer, when CP-SAT had no time to run."""
    return Result("cpsat", start_from.solution, start_from.totals, start_from.optimal, start_from.objective,
                  start_from.lower_bound, start_from.feasible, time.perf_counter() - t0,
                  f"{why}; the {start_from.solver} schedule ({start_from.note})", start_from.stages)
