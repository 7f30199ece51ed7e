"""SET solver = 'ilp' | 'exhaustive' | 'auto' on job plans: the MILP and the oracle agree
on the task-level model, auto says what it picked, and every plan still validates."""

from __future__ import annotations

import pytest

import murakkab
from murakkab.compiler.physical.planner import pick_solver

WF = """CREATE WORKFLOW w (v VIDEO, q TEXT) AS (
  s := scene_detection (v),
  t := speech_to_text (s),
  a := question_answering (q, t)
) RETURNS a;
SET solver = '{solver}';
RUN w (v => 'x.mp4' ASSUMING (duration = 100 s), q => 'why?') WITH SLO (quality >= {q}) MINIMIZE {goal}
  ON CLUSTER 'tiny';"""


@pytest.mark.parametrize("goal", ["latency", "energy", "cost"])
@pytest.mark.parametrize("quality", [0.3, 0.7])
def test_ilp_equals_the_oracle_on_small_job_plans(tiny_catalog, goal: str, quality: float) -> None:
    ilp = murakkab.optimize(WF.format(solver="ilp", q=quality, goal=goal), catalog=tiny_catalog)[0]
    oracle = murakkab.optimize(WF.format(solver="exhaustive", q=quality, goal=goal), catalog=tiny_catalog)[0]
    assert ilp.solver == "ilp" and oracle.solver == "exhaustive"
    assert "proven optimal" in ilp.solver_note and "proven optimal" in oracle.solver_note
    # Same optimum of the task-level model: the same value in both notes.
    value = lambda note: float(note.split("model optimum ")[1].split(",")[0])  # noqa: E731
    assert value(ilp.solver_note) == pytest.approx(value(oracle.solver_note), rel=1e-6)
    for plan in (ilp, oracle):
        assert plan.estimate.quality >= quality - 1e-9


def test_auto_says_what_it_chose(tiny_catalog) -> None:
    plan = murakkab.optimize(WF.format(solver="auto", q=0.3, goal="latency"), catalog=tiny_catalog)[0]
    assert plan.solver == "exhaustive" and "auto chose exhaustive" in plan.solver_note
    many = {f"t{i}": [object()] * 10 for i in range(12)}
    solver, why = pick_solver("auto", many)  # type: ignore[arg-type]
    assert solver == "greedy" and "too many" in why
    few = {"a": [object()] * 3}
    assert pick_solver("auto", few)[0] == "exhaustive"  # type: ignore[arg-type]


def test_explain_shows_the_solver_and_its_proof(tiny_catalog) -> None:
    text = murakkab.explain(WF.format(solver="ilp", q=0.3, goal="latency"), catalog=tiny_catalog)
    assert "solver: ilp" in text and "proven optimal" in text
