"""The time-indexed MILP, for problems whose durations and transfers are whole seconds.

Then some optimal schedule starts every task at a whole second (a list schedule adds up
durations and transfers), so time can be cut into unit steps ``theta = 0, 1, ..., H - 1``
below the horizon ``H``. Its LP relaxation is far tighter than the disjunctive model's
(``ilp.py``), which big-M constraints leave weak; it grows with ``H`` instead of with the
square of the number of tasks. Notation as in ``problem.py`` and ``ilp.py``, and:

- ``est(t)``: the earliest start of ``t`` (longest path to it at the fastest options and
  least transfers); ``tail(t)``: the least time from the end of ``t`` to the end of the
  schedule; ``lst(t,o) = H - d(o) - tail(t)``: the latest start of ``t`` on option ``o``.
  ``W(t,o) = [est(t), lst(t,o)]`` is its start window (an option with an empty window
  cannot run).

Variables (the step, or "on/off", form of the time-indexed formulation):

- ``Z[t,o,theta]`` in {0, 1}, for ``theta`` in ``W(t,o)``: ``t`` runs option ``o`` and has
  started by ``theta``. Outside the window, ``Z[t,o,theta]`` stands for 0 before it and for
  ``Z[t,o,lst(t,o)]`` after it; ``x[t,o] = Z[t,o,lst(t,o)]``;
- ``C``: the makespan (integer); ``G[p]`` integer, for GPU pools when the gpus metric is a
  goal or bounded: the peak units of ``p`` in use.

Expressions: ``S[t] = sum_o (lst(t,o) x[t,o] - sum_{theta in W(t,o), theta < lst(t,o)} Z[t,o,theta])``
(the step at which ``Z`` turns on); ``run[t,o,theta] = Z[t,o,theta] - Z[t,o,theta - d(o)]``,
1 when ``t`` runs ``o`` during ``[theta, theta + 1)``.

Constraints:

1. ``Z[t,o,theta - 1] <= Z[t,o,theta]`` (once started, started) and ``sum_o x[t,o] = 1``.
2. ``S[t] + sum_o d(o) x[t,o] <= C`` for every task without successors; ``C <= H``.
3. ``Z[t,j,theta] <= sum_i Z[s,i,theta - d(i) - tau_e(i,j)]`` for every edge ``e = (s, t)``,
   option ``j`` of ``t`` and ``theta`` in ``W(t,j)``: ``t`` cannot have started ``j`` unless
   ``s`` started some option early enough to end and send its data — exact for transfers
   that depend on both options.
4. ``sum_{t, o in O_tp} u(o) run[t,o,theta] <= cap(p)`` for every pool and step.
5. ``G[p] >= sum_{t, o in O_tp} u(o) run[t,o,theta]``; ``gpus = sum_p G[p]``.
6. Valid bounds as in ``ilp.py``: ``C >= Problem.makespan_lower_bound()`` and
   ``sum_{t, o: p(o) = p} u(o) d(o) x[t,o] <= cap(p) C``; and the objective's bounds.

Units are not variables: any schedule within capacity can name its units afterwards
(``sgs.assign_units``).
"""

from __future__ import annotations

import math
from typing import Sequence

import pulp

from ._pulp import check_clock, new_var
from .problem import METRICS, Objective, Problem, peak_usage
from .sgs import assign_units


def windows(problem: Problem, horizon: int) -> list[list[tuple[int, int] | None]]:
    """Per task and option, the start window ``(est, lst)``, or None when it is empty."""
    n = len(problem.tasks)
    fast = [int(problem.fastest(t)) for t in range(n)]
    est = [0] * n
    for t in problem.topo_order:
        for k in problem.succs[t]:
            _, d = problem.edge_ends[k]
            est[d] = max(est[d], est[t] + fast[t] + int(problem.min_transfer(k)))
    tail = [0] * n
    for t in reversed(problem.topo_order):
        for k in problem.succs[t]:
            _, d = problem.edge_ends[k]
            tail[t] = max(tail[t], int(problem.min_transfer(k)) + fast[d] + tail[d])
    out: list[list[tuple[int, int] | None]] = []
    for t in range(n):
        row: list[tuple[int, int] | None] = []
        for o in problem.tasks[t].options:
            lst = horizon - int(o.duration_s) - tail[t]
            row.append((est[t], lst) if lst >= est[t] else None)
        out.append(row)
    return out


def size(problem: Problem, horizon: int) -> int:
    """The number of start variables ``Z`` the model would have."""
    return sum(w[1] - w[0] + 1 for row in windows(problem, horizon) for w in row if w is not None)


class TimeIndexedModel:
    """The MILP of the module docstring; same interface as ``ilp.DisjunctiveModel``."""

    def __init__(self, problem: Problem, objective: Objective, horizon: int, deadline: float = math.inf) -> None:
        """Build the model; raises ``OutOfTime`` when ``deadline`` (``time.perf_counter``)
        passes first."""
        self.p = p = problem
        self.H = horizon
        n = len(p.tasks)
        m = pulp.LpProblem("schedule_time_indexed", pulp.LpMinimize)
        self.m = m
        self.win = windows(p, horizon)
        self.Z: list[list[dict[int, pulp.LpVariable]]] = []
        for t in range(n):
            check_clock(t, deadline)
            row = []
            for i, w in enumerate(self.win[t]):
                steps = {} if w is None else {th: new_var(m, f"Z_{t}_{i}_{th}", 0, 1, "Binary")
                                              for th in range(w[0], w[1] + 1)}
                row.append(steps)
            self.Z.append(row)
        self.C = new_var(m, "C", 0, horizon, "Integer")
        self.x = [[self._z(t, i, w[1]) if w is not None else 0 for i, w in enumerate(self.win[t])] for t in range(n)]
        for t in range(n):  # (1)
            check_clock(t, deadline)
            for i, steps in enumerate(self.Z[t]):
                ths = sorted(steps)
                for a, b in zip(ths, ths[1:]):
                    m += steps[a] <= steps[b], f"mono_{t}_{i}_{b}"
            m += pulp.lpSum(self.x[t]) == 1, f"one_{t}"
        self.S = [self._start(t) for t in range(n)]
        dur = [pulp.lpSum(o.duration_s * self.x[t][i] for i, o in enumerate(p.tasks[t].options)) for t in range(n)]
        for t in range(n):  # (2)
            if not p.succs[t]:
                m += self.S[t] + dur[t] <= self.C, f"end_{t}"
        for k, e in enumerate(p.edges):  # (3)
            check_clock(k, deadline)
            s, t = p.edge_ends[k]
            for j, steps in enumerate(self.Z[t]):
                for th, z in steps.items():
                    ready = [self._z(s, i, th - int(o.duration_s) - int(e.seconds(i, j)))
                             for i, o in enumerate(p.tasks[s].options)]
                    m += z <= pulp.lpSum(ready), f"prec_{k}_{j}_{th}"
        usage = self._usage()
        check_clock(0, deadline)
        for (pi, th), expr in usage.items():  # (4)
            m += expr <= p.pools[pi].capacity, f"cap_{pi}_{th}"
        self.G: list = []
        if objective.uses("gpus"):  # (5)
            for pi, pool in enumerate(p.pools):
                if not pool.gpu:
                    continue
                g = new_var(m, f"G_{pi}", 0, pool.capacity, "Integer")
                self.G.append(g)
                for (qi, th), expr in usage.items():
                    if qi == pi:
                        m += g >= expr, f"gpu_{pi}_{th}"
        for pi, pool in enumerate(p.pools):  # (6)
            work = pulp.lpSum(o.work * self.x[t][i] for t in range(n) for i, o in enumerate(p.tasks[t].options)
                              if o.pool == pool.name and o.work > 0)
            m += work <= pool.capacity * self.C, f"work_{pi}"
        m += self.C >= p.makespan_lower_bound(), "critical_path"
        for b_i, b in enumerate(objective.bounds):
            expr = self.expr(b.metric)
            if METRICS[b.metric]:
                m += expr <= b.value + 1e-9 * max(1.0, abs(b.value)), f"bound_{b_i}"
            else:
                m += expr <= -math.log(b.value) + 1e-9, f"bound_{b_i}"

    def _z(self, t: int, i: int, th: int) -> "pulp.LpVariable | int":
        """``Z[t,i,th]`` with its meaning outside the window: 0 before, x[t,i] after."""
        w = self.win[t][i]
        if w is None or th < w[0]:
            return 0
        return self.Z[t][i][min(th, w[1])]

    def _start(self, t: int) -> pulp.LpAffineExpression:
        terms = []
        for i, steps in enumerate(self.Z[t]):
            w = self.win[t][i]
            if w is None:
                continue
            terms.append(w[1] * steps[w[1]])
            terms.extend(-z for th, z in steps.items() if th < w[1])
        return pulp.lpSum(terms)

    def _usage(self) -> dict[tuple[int, int], pulp.LpAffineExpression]:
        """(pool, step) -> units of the pool in use during the step."""
        p = self.p
        terms: dict[tuple[int, int], list] = {}
        for t in range(len(p.tasks)):
            for i, o in enumerate(p.tasks[t].options):
                w = self.win[t][i]
                d = int(o.duration_s)
                if w is None or d <= 0:
                    continue
                pi = p.pool_index[o.pool]
                for th in range(w[0], min(w[1] + d, self.H)):
                    on, off = self._z(t, i, th), self._z(t, i, th - d)
                    terms.setdefault((pi, th), []).append(o.units * on)
                    if not isinstance(off, int):
                        terms[(pi, th)].append(-o.units * off)
        return {key: pulp.lpSum(v) for key, v in sorted(terms.items())}

    def expr(self, metric: str) -> pulp.LpAffineExpression:
        """The metric as a linear expression to minimise (quality as -log quality)."""
        p = self.p
        opts = [(t, i, o) for t in range(len(p.tasks)) for i, o in enumerate(p.tasks[t].options)
                if self.win[t][i] is not None]
        if metric == "makespan":
            return pulp.lpSum([self.C])
        if metric == "energy":
            return pulp.lpSum(o.energy_wh * self.x[t][i] for t, i, o in opts if o.energy_wh)
        if metric == "cost":
            return pulp.lpSum(o.cost_usd * self.x[t][i] for t, i, o in opts if o.cost_usd)
        if metric == "quality":
            return pulp.lpSum(-math.log(o.quality) * self.x[t][i] for t, i, o in opts if o.quality < 1)
        return pulp.lpSum(self.G)

    def warm(self, choice: Sequence[int], start: Sequence[float], units: Sequence[tuple[int, ...]]) -> None:
        """Give every variable the value of a feasible schedule with whole-second starts."""
        p = self.p
        for t in range(len(p.tasks)):
            s = round(start[t])
            for i, steps in enumerate(self.Z[t]):
                for th, z in steps.items():
                    z.setInitialValue(1 if i == choice[t] and th >= s else 0)
        end = max((round(start[t]) + p.option(t, choice[t]).duration_s for t in range(len(p.tasks))), default=0.0)
        self.C.setInitialValue(end)
        if self.G:
            peaks = _peaks(p, choice, [float(round(s)) for s in start])
            for g in self.G:
                g.setInitialValue(peaks.get(int(g.name.split("_")[1]), 0))

    def fits(self, choice: Sequence[int], start: Sequence[float]) -> bool:
        """Whether a schedule can be a MIP start: whole-second starts inside the windows."""
        for t in range(len(self.p.tasks)):
            w = self.win[t][choice[t]]
            s = start[t]
            if w is None or abs(s - round(s)) > 1e-9 or not w[0] <= round(s) <= w[1]:
                return False
        return True

    def extract(self) -> tuple[list[int], list[float], list[tuple[int, ...]]]:
        """The solver's options and starts; units named by ``sgs.assign_units``."""
        p = self.p
        n = len(p.tasks)
        choice = [max(range(len(self.x[t])), key=lambda i: _value(self.x[t][i])) for t in range(n)]
        start = []
        for t in range(n):
            steps = self.Z[t][choice[t]]
            # The first step at which Z is on (ignoring solver noise).
            start.append(float(min((th for th, z in steps.items() if (z.varValue or 0.0) > 0.5),
                                   default=self.win[t][choice[t]][1])))  # type: ignore[index]
        return choice, start, assign_units(p, choice, start)


def _value(v: "pulp.LpVariable | int") -> float:
    return float(v) if isinstance(v, int) else (v.varValue or 0.0)


def _peaks(problem: Problem, choice: Sequence[int], start: Sequence[float]) -> dict[int, int]:
    """Peak units in use per GPU pool (by pool index)."""
    spans: dict[int, list[tuple[float, float, int]]] = {}
    for t in range(len(problem.tasks)):
        o = problem.option(t, choice[t])
        pi = problem.pool_index[o.pool]
        if problem.pools[pi].gpu and o.duration_s > 0:
            spans.setdefault(pi, []).append((start[t], start[t] + o.duration_s, o.units))
    return {pi: peak_usage(iv) for pi, iv in spans.items()}
