"""CP-SAT (compiler/scheduling/cpsat.py) is exact, and keeps to its time limit.

- On random small problems (hypothesis: 2-6 tasks, 1-3 options on 1-2 pools of capacity
  1-3, edges with and without option-dependent transfers, whole or decimal durations,
  bounds on any metric and lexicographic goals over all five) it agrees with the
  exhaustive oracle on feasibility and on every goal, and the validator accepts its
  schedule.
- Durations that no power of ten makes whole are rounded; the answer is still within
  the stated rounding of the oracle's, and the bound it reports still holds.
- Published instances: the HEFT paper's example is proven optimal at 73; STG graphs
  reach their published optima.
- The time limit holds, model building included; without OR-Tools the error says what
  to install.
"""

from __future__ import annotations

import csv
import math
import random
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from murakkab.compiler.scheduling.cpsat import scale_for, solve_cpsat
from murakkab.compiler.scheduling.exhaustive import MAX_COMBINATIONS, MAX_TASKS, combinations, solve_exhaustive
from murakkab.compiler.scheduling.formats import read_heft, read_stg, read_wfformat
from murakkab.compiler.scheduling.greedy import solve_greedy
from murakkab.compiler.scheduling.problem import (METRICS, Bound, InfeasibleScheduleError, Objective, Option,
                                                  Pool, Problem, Result, Task, edge)
from murakkab.compiler.scheduling.validate import validate
from murakkab.grammar.diagnostics import MurakkabError

from .test_scheduling_properties import draw_edges

FIXTURES = Path(__file__).parent / "fixtures" / "scheduling"
GOALS = tuple(METRICS)


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    pools = tuple(Pool(f"p{i}", draw(st.integers(1, 3)), gpu=draw(st.booleans()))
                  for i in range(draw(st.integers(1, 2))))
    # Whole seconds, or halves and tenths (scaled exactly by 10).
    step = draw(st.sampled_from([1.0, 1.0, 0.5, 0.1]))
    tasks = []
    for t in range(draw(st.integers(2, 6))):
        options = []
        for _ in range(draw(st.integers(1, 3))):
            pool = draw(st.sampled_from(pools))
            options.append(Option(pool.name, draw(st.integers(0, 9)) * step, draw(st.integers(1, pool.capacity)),
                                  energy_wh=float(draw(st.integers(0, 9))), cost_usd=draw(st.integers(0, 5)) * 0.25,
                                  quality=draw(st.sampled_from([0.5, 0.8, 0.9, 1.0]))))
        tasks.append(Task(f"t{t}", tuple(options)))
    edges = draw_edges(draw, tasks, sparse=False)
    return Problem("random", pools, tuple(tasks), tuple(edges))


@st.composite
def objectives(draw: st.DrawFn, problem: Problem) -> Objective:
    goals = tuple(draw(st.lists(st.sampled_from(GOALS), min_size=1, max_size=3, unique=True)))
    fastest = problem.makespan_lower_bound()
    candidates = {
        "makespan": fastest + draw(st.integers(-1, 8)),
        "energy": float(draw(st.integers(0, 40))),
        "cost": draw(st.integers(0, 20)) * 0.25,
        "quality": draw(st.sampled_from([0.2, 0.4, 0.6, 0.9])),
        "gpus": float(draw(st.integers(0, 3))),
    }
    chosen = draw(st.lists(st.sampled_from(GOALS), max_size=3, unique=True))
    return Objective(goals, tuple(Bound(m, candidates[m]) for m in chosen if candidates[m] > 0))


def _close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def _valid(problem: Problem, objective: Objective, r: Result) -> None:
    assert validate(problem, r.solution, objective, r.totals) == [], r.note


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_cpsat_agrees_with_the_oracle(data: st.DataObject) -> None:
    problem = data.draw(problems())
    objective = data.draw(objectives(problem))
    assume(len(problem.tasks) <= MAX_TASKS and combinations(problem, objective) <= MAX_COMBINATIONS)
    try:
        oracle = solve_exhaustive(problem, objective)
    except InfeasibleScheduleError:
        oracle = None
    try:
        exact = solve_cpsat(problem, objective, time_limit_s=30)
    except InfeasibleScheduleError:
        exact = None
    assert (oracle is None) == (exact is None), (oracle and oracle.totals, exact and exact.note)
    if oracle is None or exact is None:
        return
    _valid(problem, objective, exact)
    assert exact.optimal, exact.note
    first = objective.goals[0]
    assert _close(exact.totals.metric(first), oracle.totals.metric(first)), (first, exact.totals, oracle.totals)
    for goal in objective.goals:  # the whole lexicographic key, within the tolerance
        assert _close(exact.totals.metric(goal), oracle.totals.metric(goal)), (goal, exact.totals, oracle.totals)
    # The bound is on the right side of the value, and proven optimal means no gap.
    if METRICS[first]:
        assert exact.lower_bound <= exact.objective + 1e-9
    else:
        assert exact.lower_bound >= exact.objective - 1e-9
    assert [s.goal for s in exact.stages] == list(objective.goals)


def test_fractional_data_are_rounded_safely() -> None:
    """Thirds and sevenths are whole at no power of ten: CP-SAT rounds them up, and its
    makespan is still the oracle's to within the stated rounding, with a valid bound."""
    rng = random.Random(7)
    pools = (Pool("cpu", 2), Pool("gpu", 1, gpu=True))
    tasks = tuple(Task(f"t{i}", (Option("cpu", rng.randint(1, 9) / 3, energy_wh=rng.randint(1, 9) / 7),
                                 Option("gpu", rng.randint(1, 9) / 7, energy_wh=rng.randint(1, 9) / 3,
                                        quality=0.9)))
                  for i in range(6))
    edges = (edge(tasks[0], tasks[2], lambda a, b: 0.0 if a.pool == b.pool else 1 / 3),
             edge(tasks[1], tasks[3]), edge(tasks[2], tasks[4]), edge(tasks[3], tasks[5], 2 / 7))
    problem = Problem("thirds", pools, tasks, edges)
    for objective in (Objective(("makespan", "energy")), Objective(("energy", "makespan")),
                      Objective(("makespan",), (Bound("quality", 0.8), Bound("energy", 8.0)))):
        oracle = solve_exhaustive(problem, objective)
        exact = solve_cpsat(problem, objective, time_limit_s=30)
        _valid(problem, objective, exact)
        assert "(rounded)" in exact.note
        for goal in objective.goals:
            assert _close(exact.totals.metric(goal), oracle.totals.metric(goal)), (goal, exact.totals, oracle.totals)
        first = objective.goals[0]
        assert exact.lower_bound <= oracle.totals.metric(first) + 1e-12
        assert exact.gap <= objective.tolerance


def test_scale_is_exact_for_decimals_and_fine_otherwise() -> None:
    assert (scale_for([3.0, 4.0], 4, 3.0, 7.0).factor, scale_for([3.0, 4.0], 4, 3.0, 7.0).exact) == (1, True)
    assert scale_for([0.5, 12.345], 4, 0.5, 13.0).factor == 1000
    third = scale_for([1 / 3, 2 / 3], 4, 1 / 3, 1.0)
    assert not third.exact and 4 / third.factor <= 1e-7 * (1 / 3)
    assert third.up(1 / 3) / third.factor >= 1 / 3 and third.down(1 / 3) / third.factor <= 1 / 3


def test_heft_example_is_proven_optimal_at_73() -> None:
    problem = read_heft(FIXTURES / "heft_topcuoglu2002")
    result = solve_cpsat(problem, time_limit_s=30)
    assert result.solver == "cpsat" and result.optimal
    assert (result.totals.makespan_s, result.lower_bound, result.gap) == (73.0, 73.0, 0.0)
    assert validate(problem, result.solution, totals=result.totals) == []


def _published(graph: str, processors: int) -> tuple[float, float]:
    with open(FIXTURES / "stg" / "optimal_values" / f"Case50_{processors}_OPT.csv", newline="") as f:
        for row in csv.reader(f):
            if row and row[0].endswith("/" + graph) and int(row[1]) == processors:
                return float(row[2]), float(row[-1])
    raise KeyError((graph, processors))


@pytest.mark.parametrize("processors", [2, 4, 8])
def test_stg_reaches_and_proves_the_published_optimum(processors: int) -> None:
    problem = read_stg(FIXTURES / "stg" / "50" / "rand0000.stg", processors)
    lower, upper = _published("rand0000.stg", processors)
    assert lower == upper
    result = solve_cpsat(problem, time_limit_s=30)
    assert result.optimal and result.totals.makespan_s == lower and result.lower_bound == lower
    assert validate(problem, result.solution, totals=result.totals) == []


def test_infeasible_bounds_raise() -> None:
    problem = read_heft(FIXTURES / "heft_topcuoglu2002")
    with pytest.raises(InfeasibleScheduleError):
        solve_cpsat(problem, Objective(("makespan",), (Bound("makespan", 60.0),)), time_limit_s=10)


# Honouring the limit, not speed: the slack covers a loaded machine.
SLACK_S = 5.0


def test_time_limit_is_honoured_while_searching() -> None:
    """10 tasks of ~100 s on 4 cores: CP-SAT does not prove this optimum in seconds."""
    problem = read_wfformat(FIXTURES / "wfinstances" / "helloworld-forkjoin-10-chameleon.json", 4)
    t0 = time.perf_counter()
    result = solve_cpsat(problem, time_limit_s=1.0)
    assert time.perf_counter() - t0 <= 1.0 + SLACK_S
    assert validate(problem, result.solution, totals=result.totals) == []
    assert result.lower_bound <= result.totals.makespan_s


def _big(n: int) -> Problem:
    rng = random.Random(n)
    pools = (Pool("cpu", 8), Pool("gpu", 2, gpu=True))
    tasks = [Task(f"t{i}", (Option("cpu", float(rng.randint(5, 60))), Option("gpu", float(rng.randint(1, 15)))))
             for i in range(n)]
    edges = [edge(tasks[p], tasks[i], lambda a, b: 0.0 if a.pool == b.pool else 1.0)
             for i in range(1, n) for p in rng.sample(range(max(0, i - 200), i), min(i, 2))]
    return Problem(f"big-{n}", pools, tuple(tasks), tuple(edges))


def test_time_limit_counts_model_building() -> None:
    """On 5,000 tasks a 0.5 s limit runs out while the model is built: the answer is the
    greedy schedule, on time."""
    problem = _big(5000)
    greedy = solve_greedy(problem)
    t0 = time.perf_counter()
    result = solve_cpsat(problem, time_limit_s=0.5, incumbent=greedy)
    assert time.perf_counter() - t0 <= 0.5 + SLACK_S
    assert result.solver == "cpsat" and not result.optimal
    assert result.totals.makespan_s <= greedy.totals.makespan_s
    assert math.isfinite(result.lower_bound) and result.lower_bound <= result.totals.makespan_s


def test_missing_ortools_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ortools.sat.python.cp_model", None)
    monkeypatch.setitem(sys.modules, "ortools.sat.python", None)
    problem = read_heft(FIXTURES / "heft_topcuoglu2002")
    with pytest.raises(MurakkabError) as info:
        solve_cpsat(problem)
    assert "ortools" in str(info.value) and "pip install ortools" in (info.value.hint or "")


@st.composite
def unit_pool_problems(draw: st.DrawFn) -> Problem:
    """Tasks needing one unit of a small pool of identical units, times in tenths of a
    second: where the model splits the pool into its units (UNIT_SPLIT_CAPACITY)."""
    pool = Pool("cores", draw(st.integers(2, 4)))
    tasks = tuple(Task(f"t{t}", (Option("cores", draw(st.integers(1, 90)) / 10, 1),))
                  for t in range(draw(st.integers(2, 7))))
    return Problem("units", (pool,), tasks, tuple(draw_edges(draw, list(tasks), sparse=True)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=unit_pool_problems())
def test_splitting_a_pool_into_its_units_keeps_the_optimum(problem: Problem) -> None:
    # The split is redundant: any schedule that fits the pool's capacity splits among its
    # units, so the proven makespan is the oracle's.
    exact = solve_cpsat(problem, Objective(("makespan",)), time_limit_s=30)
    oracle = solve_exhaustive(problem, Objective(("makespan",)))
    assert exact.optimal and _close(exact.totals.makespan_s, oracle.totals.makespan_s), (exact.note, oracle.totals)
    _valid(problem, Objective(("makespan",)), exact)
