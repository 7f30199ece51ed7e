"""Published instances with known answers (tests/fixtures/scheduling, see ATTRIBUTION.md).

- Topcuoglu et al. 2002, Fig. 2: HEFT's schedule length is 80; the MILP proves a shorter
  optimum (73) in seconds.
- STG 50-task graphs: the MILP reaches the published optimum, or reports a gap whose lower
  bound is at most the optimum; HEFT is never below it; the time-indexed model proves
  optima that HEFT misses.
- WfCommons instances: every schedule is at least the critical path and the work over the
  cores; with a core per task the makespan is the critical path.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from murakkab.compiler.scheduling.formats import read_heft, read_stg, read_wfformat
from murakkab.compiler.scheduling.greedy import solve_greedy, upward_ranks
from murakkab.compiler.scheduling.ilp import highs_available, solve_ilp
from murakkab.compiler.scheduling.validate import validate

FIXTURES = Path(__file__).parent / "fixtures" / "scheduling"
HEFT = FIXTURES / "heft_topcuoglu2002"
STG = FIXTURES / "stg"
WF = sorted((FIXTURES / "wfinstances").glob("*.json"))


def published_optimum(graph: str, processors: int) -> tuple[float, float]:
    """(lower, upper) of the published optimal schedule length (equal when proven)."""
    with open(STG / "optimal_values" / f"Case50_{processors}_OPT.csv", newline="") as f:
        for row in csv.reader(f):
            if row and row[0].endswith("/" + graph) and int(row[1]) == processors:
                values = [float(v) for v in row[2:]]
                return values[0], values[-1]
    raise KeyError((graph, processors))


def test_heft_reproduces_the_published_ranks_and_schedule_length() -> None:
    problem = read_heft(HEFT)
    # Table in Section 4.1 of the paper (n1..n10 = T_0..T_9).
    ranks = [108.0, 77.0, 80.0, 80.0, 69.0, 63.333, 42.667, 35.667, 44.333, 14.667]
    assert [round(r, 3) for r in upward_ranks(problem)] == ranks
    result = solve_greedy(problem)
    assert result.totals.makespan_s == 80.0
    assert validate(problem, result.solution, totals=result.totals) == []
    # The paper's Fig. 4(a): n1 on P3 at 0; n10 on P2 from 73 to 80.
    first, last = result.solution[0], result.solution[-1]
    assert (first.option, first.start_s) == (2, 0.0)
    assert (last.option, last.start_s) == (1, 73.0)


@pytest.mark.parametrize("backend", ["cbc", pytest.param("highs", marks=pytest.mark.skipif(
    not highs_available(), reason="highspy is not installed"))])
def test_milp_proves_a_shorter_optimum_for_the_heft_example(backend: str) -> None:
    problem = read_heft(HEFT)
    result = solve_ilp(problem, time_limit_s=30, backend=backend)
    assert result.optimal
    assert result.totals.makespan_s == 73.0 < 80.0
    assert result.lower_bound == 73.0 and result.gap == 0.0
    assert result.seconds < 10.0, result.seconds
    assert validate(problem, result.solution, totals=result.totals) == []


@pytest.mark.parametrize("graph", ["rand0000.stg", "rand0001.stg", "rand0003.stg", "rand0009.stg"])
@pytest.mark.parametrize("processors", [2, 16])
def test_stg_milp_reaches_the_optimum_or_brackets_it(graph: str, processors: int) -> None:
    problem = read_stg(STG / "50" / graph, processors)
    lower, upper = published_optimum(graph, processors)
    greedy = solve_greedy(problem)
    exact = solve_ilp(problem, time_limit_s=3)
    for r in (greedy, exact):
        assert validate(problem, r.solution, totals=r.totals) == []
    assert greedy.totals.makespan_s >= lower
    assert exact.totals.makespan_s <= greedy.totals.makespan_s
    if exact.optimal:
        assert lower <= exact.totals.makespan_s <= upper
    else:
        assert exact.lower_bound <= upper and lower <= exact.totals.makespan_s
        assert exact.gap > 0


@pytest.mark.parametrize("graph, processors", [("rand0001.stg", 4), ("rand0022.stg", 4), ("rand0036.stg", 8)])
def test_time_indexed_model_proves_optima_heft_misses(graph: str, processors: int) -> None:
    """Where HEFT is above the optimum, the disjunctive model (units assigned one by one,
    any permutation of them another solution) stalls at HEFT's makespan; the time-indexed
    model, which ``auto`` picks here, proves the published optimum within seconds."""
    problem = read_stg(STG / "50" / graph, processors)
    lower, upper = published_optimum(graph, processors)
    greedy = solve_greedy(problem)
    assert greedy.totals.makespan_s > upper
    exact = solve_ilp(problem, time_limit_s=20)
    assert "time-indexed" in exact.note
    assert exact.optimal and exact.totals.makespan_s == lower == upper
    assert validate(problem, exact.solution, totals=exact.totals) == []


def test_stg_reader_reads_every_graph_with_its_critical_path() -> None:
    for path in sorted((STG / "50").glob("*.stg")):
        problem = read_stg(path, 4)
        assert len(problem.tasks) == 52  # 50 plus the dummy entry and exit
        # Each file's footer states its critical path length.
        footer = next(line for line in path.read_text().splitlines() if line.startswith("# CP Length"))
        assert problem.critical_path_bound() == float(footer.split(":")[1])


@pytest.mark.parametrize("path", WF, ids=[p.stem for p in WF])
def test_wfformat_plans_respect_the_lower_bounds(path: Path) -> None:
    n = len(read_wfformat(path, 1).tasks)
    for cores in (1, 2, 4, n):
        problem = read_wfformat(path, cores)
        cp = problem.critical_path_bound()
        work = sum(o.work for t in problem.tasks for o in t.options) / cores
        greedy = solve_greedy(problem)
        assert validate(problem, greedy.solution, totals=greedy.totals) == []
        assert greedy.totals.makespan_s >= max(cp, work) - 1e-9
        if cores == 1:
            assert greedy.totals.makespan_s == pytest.approx(work)
            assert greedy.optimal
        if cores >= n:
            assert greedy.totals.makespan_s == pytest.approx(cp)
            assert greedy.optimal
            exact = solve_ilp(problem, time_limit_s=10)
            assert exact.optimal and exact.totals.makespan_s == pytest.approx(cp)


def test_wfformat_milp_on_a_few_cores_is_no_worse_than_heft() -> None:
    path = FIXTURES / "wfinstances" / "epigenomics-chameleon-hep-1seq-100k-001.json"
    problem = read_wfformat(path, 4)
    greedy = solve_greedy(problem)
    exact = solve_ilp(problem, time_limit_s=3)
    assert validate(problem, exact.solution, totals=exact.totals) == []
    assert exact.lower_bound - 1e-9 <= exact.totals.makespan_s <= greedy.totals.makespan_s + 1e-9
    assert exact.lower_bound >= problem.makespan_lower_bound() - 1e-9
