"""Shortcuts the planner takes for speed, checked against the long way round: the
makespan bound the greedy prunes with never exceeds the list schedule's makespan, a
pruning greedy returns the plan of one that schedules every move, the scoring path
(``placements`` + ``plan_totals``) totals what ``schedule`` + ``totals`` do, and a
cached enumeration of candidates equals a fresh one."""

from __future__ import annotations

import random

import pytest

from murakkab import api
from murakkab.catalog.catalog import Catalog
from murakkab.compiler.job import Goal, Settings
from murakkab.compiler.physical import candidates as candidates_module
from murakkab.compiler.physical.accuracy import quality_function
from murakkab.compiler.physical.candidates import enumerate_candidates
from murakkab.compiler.physical.cost import plan_totals
from murakkab.compiler.physical.exact import Pool
from murakkab.compiler.physical.greedy import greedy_search
from murakkab.compiler.physical.objective import Objective
from murakkab.compiler.physical.planner import _critical_first, totals
from murakkab.compiler.physical.schedule import MakespanBound, placements, schedule
from murakkab.compiler.rules import RULES, optimize_logical

# A workflow of 12 tasks on the shipped catalog: summaries and questions over a video's
# transcript, the shape of bench/workloads.py's big_workflow.
SCRIPT = """
CREATE WORKFLOW w (v VIDEO, q TEXT) AS (
  s0 := scene_detection (v),
  t0 := speech_to_text (s0),
  x1 := summarization (t0),
  x2 := question_answering (q, x1, t0),
  x3 := summarization (x1),
  x4 := question_answering (q, x3, x2),
  x5 := question_answering (q, x4, t0),
  x6 := summarization (x3),
  x7 := question_answering (q, x6, x5),
  x8 := question_answering (q, x7, x1),
  x9 := summarization (x6),
  x10 := question_answering (q, x9, x8)
) RETURNS t0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10;
RUN w (v => 'x.mp4' ASSUMING (duration = 10 min, fps = 30), q => 'why?');
"""


@pytest.fixture(scope="module")
def setup():
    catalog = Catalog()
    job = api.compile(SCRIPT, catalog=catalog, settings=Settings(cluster="hotos-testbed", quality_floor=None)).jobs[0]
    plan = optimize_logical(job.plan, RULES).plan
    cluster = catalog.cluster("hotos-testbed")
    quality = quality_function(plan, catalog)
    cands = {t.id: enumerate_candidates(t, plan, catalog, cluster, None, quality) for t in plan.tasks}
    yield catalog, plan, cluster, cands
    catalog.close()


def _random_choices(cands, n, seed=0):
    rng = random.Random(seed)
    for _ in range(n):
        yield {t: rng.choice(cs) for t, cs in cands.items()}


def test_makespan_bound_never_exceeds_the_schedule(setup) -> None:
    catalog, plan, cluster, cands = setup
    bound = MakespanBound(plan)
    for serial in (False, True):
        for choice in _random_choices(cands, 100):
            assert bound(choice) <= schedule(plan, choice, cluster, serial=serial).makespan_s


def test_scoring_path_totals_what_the_schedule_does(setup) -> None:
    catalog, plan, cluster, cands = setup
    for choice in _random_choices(cands, 30, seed=1):
        slow = totals(catalog, choice, schedule(plan, choice, cluster, with_deps=False))
        assert plan_totals(catalog, choice, placements(plan, choice, cluster)) == slow


@pytest.mark.parametrize("goals", [("latency", "energy"), ("latency",), ("energy", "latency")])
def test_pruning_greedy_returns_the_same_plan(setup, goals) -> None:
    catalog, plan, cluster, cands = setup
    objective = Objective((), tuple(Goal(g, True) for g in goals))
    order = _critical_first(plan, cands)

    def evaluate(choice):
        return totals(catalog, choice, schedule(plan, choice, cluster, with_deps=False))

    results = []
    for prune in (False, True):
        pool = Pool([t.id for t in plan.tasks], cands, evaluate)
        found = greedy_search(plan, order, cands, objective, cluster, pool, prune=prune)
        results.append((found.choice, found.estimate, pool.scored))
        if prune and goals[0] == "latency":
            assert pool.pruned, "the bound pruned nothing: this test no longer tests pruning"
    assert results[0] == results[1]


def test_cached_enumeration_equals_a_fresh_one(setup) -> None:
    catalog, plan, cluster, cands = setup
    quality = quality_function(plan, catalog)
    candidates_module._ENUMERATED.clear()
    fresh = {t.id: enumerate_candidates(t, plan, catalog, cluster, None, quality) for t in plan.tasks}
    again = {t.id: enumerate_candidates(t, plan, catalog, cluster, None, quality) for t in plan.tasks}
    assert fresh == again == cands
    assert all(c.node == t for t, cs in again.items() for c in cs)


def test_paths_through_a_changed_task_bound_its_schedule(setup) -> None:
    catalog, plan, cluster, cands = setup
    bound = MakespanBound(plan)
    rng = random.Random(2)
    for base in _random_choices(cands, 20, seed=3):
        paths = bound.around(base)
        for task in rng.sample(sorted(cands), 4):
            for cand in cands[task]:
                trial = {**base, task: cand}
                through = paths.bound(task, cand)
                # One path of the trial's bound, summed in another order.
                assert through <= bound(trial) * (1 + 1e-12)
                assert through <= schedule(plan, trial, cluster).makespan_s * (1 + 1e-12)
                if bound(trial) > bound(base) * (1 + 1e-9):
                    # The longest path goes through the changed task: it is found.
                    assert through == pytest.approx(bound(trial), rel=1e-12)
