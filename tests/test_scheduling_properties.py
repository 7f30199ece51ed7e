"""The MILP is exact and the heuristic sound, on random small problems (hypothesis).

Random DAGs of up to 7 tasks, up to 3 options each on up to 3 pools of capacity 1 to 3
(some of them GPU pools), with transfers that depend on both ends' options. For every
problem: the MILP's optimum (with either formulation) equals the exhaustive oracle's, HEFT
is never better than either, and the independent validator accepts all three schedules
and their totals — for the makespan alone, with energy or cost lexicographically after
it, and under bounds.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from murakkab.compiler.scheduling.exhaustive import MAX_COMBINATIONS, combinations, solve_exhaustive
from murakkab.compiler.scheduling.greedy import solve_greedy
from murakkab.compiler.scheduling.ilp import solve_ilp
from murakkab.compiler.scheduling.problem import (Bound, Edge, InfeasibleScheduleError, Objective, Option, Pool, Problem,
                                                  Result, Task, edge)
from murakkab.compiler.scheduling.validate import validate

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    pools = tuple(Pool(f"p{i}", draw(st.integers(1, 3)), gpu=draw(st.booleans()))
                  for i in range(draw(st.integers(1, 3))))
    tasks = []
    for t in range(draw(st.integers(1, 7))):
        options = []
        for _ in range(draw(st.integers(1, 3))):
            pool = draw(st.sampled_from(pools))
            options.append(Option(pool.name, float(draw(st.integers(0, 9))), draw(st.integers(1, pool.capacity)),
                                  energy_wh=float(draw(st.integers(0, 9))), cost_usd=float(draw(st.integers(0, 5))),
                                  quality=draw(st.sampled_from([0.5, 0.8, 0.9, 1.0]))))
        tasks.append(Task(f"t{t}", tuple(options)))
    edges = draw_edges(draw, tasks, sparse=True)
    return Problem("random", pools, tuple(tasks), tuple(edges))


def draw_edges(draw: st.DrawFn, tasks: list[Task], sparse: bool) -> list[Edge]:
    """Random precedence edges between ``tasks`` (earlier to later), each with no
    transfer, a constant one, HEFT's (paid only between different pools) or any table.
    ``sparse``: about one pair in four is an edge, else one in two."""
    edges = []
    for j in range(len(tasks)):
        for i in range(j):
            if not draw(st.booleans()) or (sparse and not draw(st.booleans())):
                continue
            kind = draw(st.sampled_from(["none", "constant", "apart", "any"]))
            if kind == "constant":
                edges.append(edge(tasks[i], tasks[j], float(draw(st.integers(1, 3)))))
            elif kind == "apart":
                c = float(draw(st.integers(1, 4)))
                edges.append(edge(tasks[i], tasks[j], lambda a, b, c=c: 0.0 if a.pool == b.pool else c))
            elif kind == "any":
                table = tuple(tuple(float(draw(st.integers(0, 3))) for _ in tasks[j].options)
                              for _ in tasks[i].options)
                edges.append(Edge(tasks[i].id, tasks[j].id, table))
            else:
                edges.append(edge(tasks[i], tasks[j]))
    return edges


def _valid(problem: Problem, objective: Objective, *results: Result) -> None:
    for r in results:
        assert validate(problem, r.solution, objective, r.totals) == [], (r.solver, r.note)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a))


def _check(problem: Problem, objective: Objective, formulation: str) -> None:
    oracle = solve_exhaustive(problem, objective)
    exact = solve_ilp(problem, objective, time_limit_s=30, formulation=formulation)
    greedy = solve_greedy(problem, objective)
    _valid(problem, objective, oracle, exact)
    assert validate(problem, greedy.solution, None, greedy.totals) == []
    assert exact.optimal, exact.note
    for goal in objective.goals:
        assert _close(exact.totals.metric(goal), oracle.totals.metric(goal)), (goal, exact.totals, oracle.totals)
    first = objective.goals[0]
    assert greedy.totals.metric(first) >= exact.totals.metric(first) - 1e-6
    assert exact.lower_bound <= exact.objective + 1e-6


# Every duration and transfer drawn is a whole number, so both formulations apply.
FORMULATIONS = pytest.mark.parametrize("formulation", ["disjunctive", "time-indexed"])


@FORMULATIONS
@SETTINGS
@given(problem=problems())
def test_milp_makespan_equals_the_oracle_and_greedy_is_never_better(problem: Problem, formulation: str) -> None:
    _check(problem, Objective(("makespan",)), formulation)


@FORMULATIONS
@SETTINGS
@given(problem=problems(), second=st.sampled_from(["energy", "cost"]))
def test_lexicographic_energy_or_cost_after_makespan(problem: Problem, second: str, formulation: str) -> None:
    _check(problem, Objective(("makespan", second)), formulation)


@FORMULATIONS
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems(), slack=st.integers(0, 6), energy=st.integers(0, 30),
       quality=st.sampled_from([None, 0.3, 0.6]),
       goal=st.sampled_from(["makespan", "energy", "cost", "quality", "gpus"]))
def test_bounds_agree_with_the_oracle(problem: Problem, slack: int, energy: int, quality: float | None,
                                      goal: str, formulation: str) -> None:
    """Under bounds both exact solvers agree on feasibility and on the optimum; a greedy
    schedule that claims to meet the bounds does."""
    fastest = solve_exhaustive(problem).totals.makespan_s
    bounds = [Bound("makespan", fastest + slack), Bound("energy", float(energy))]
    if quality is not None:
        bounds.append(Bound("quality", quality))
    objective = Objective((goal,), tuple(bounds))
    # The gpus goal multiplies the oracle's search by the GPU capacities it tries: keep to
    # what the oracle accepts.
    assume(combinations(problem, objective) <= MAX_COMBINATIONS)
    try:
        oracle = solve_exhaustive(problem, objective)
    except InfeasibleScheduleError:
        oracle = None
    try:
        exact = solve_ilp(problem, objective, time_limit_s=30, formulation=formulation)
    except InfeasibleScheduleError:
        exact = None
    greedy = solve_greedy(problem, objective)
    assert (oracle is None) == (exact is None)
    assert validate(problem, greedy.solution, None, greedy.totals) == []
    if greedy.feasible:
        assert validate(problem, greedy.solution, objective, greedy.totals) == []
    if oracle is None or exact is None:
        assert not greedy.feasible
        return
    _valid(problem, objective, oracle, exact)
    assert _close(exact.totals.metric(goal), oracle.totals.metric(goal))
