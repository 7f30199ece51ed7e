"""A job's shards stated in the scheduling core's terms (``compiler/physical/as_scheduling.py``),
checked by the core's checks: the one validator of schedules for both planners."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings

import murakkab
from murakkab.compiler.bind import compile_script
from murakkab.compiler.job import Settings
from murakkab.compiler.physical.as_scheduling import shard_times
from murakkab.compiler.physical.plan import Shard
from murakkab.compiler.physical.planner import plan_job
from murakkab.compiler.physical.validate import validate
from murakkab.compiler.scheduling.validate import check_times

from .test_rules_properties import workflows


def shard(task: str, index: int, start: float, end: float, deps: tuple = (), hw: str = "GPU",
          machine: str = "box#0", units: int = 1) -> Shard:
    return Shard(task, index, machine, hw, units, 1.0, end - start, start, end, deps)


def check(shards: list[Shard], catalog, cluster: str = "tiny") -> list[str]:
    stated = shard_times(tuple(shards), catalog.cluster(cluster))
    return stated.unstated + check_times(stated.capacity, stated.items, stated.edges, 1e-9)[0]


def map_after_map(catalog, late: float = 0.0) -> list[Shard]:
    """``a`` in 2 shards on the GPUs, then ``b`` in 2 shards, each waiting for both of
    ``a``'s (one shared tuple, as the planner makes them); ``late`` starts ``b`` earlier."""
    every_a = (("a", 0), ("a", 1))
    return [shard("a", 0, 0.0, 5.0), shard("a", 1, 0.0, 6.0),
            shard("b", 0, 6.0 - late, 9.0 - late, every_a), shard("b", 1, 6.0, 9.0, every_a)]


def test_a_shared_dependency_tuple_is_one_item_of_duration_0(tiny_catalog) -> None:
    stated = shard_times(tuple(map_after_map(tiny_catalog)), tiny_catalog.cluster("tiny"))
    assert stated.items == [("a#0", "box#0/GPU", 0.0, 5.0, 1), ("a#1", "box#0/GPU", 0.0, 6.0, 1),
                            ("b#0", "box#0/GPU", 6.0, 9.0, 1), ("b#1", "box#0/GPU", 6.0, 9.0, 1),
                            ("all of a (1)", "box#0/GPU", 6.0, 6.0, 0)]
    # 2 + 2 edges through it, not 2 x 2 direct ones: linear in the shards.
    assert sorted(stated.edges) == [(0, 4, 0.0), (1, 4, 0.0), (4, 2, 0.0), (4, 3, 0.0)]
    assert stated.capacity == {"box#0/GPU": 2, "box#0/CORE": 4}
    assert check(map_after_map(tiny_catalog), tiny_catalog) == []


def test_a_shard_starting_before_a_shared_dependency_ends_is_caught(tiny_catalog) -> None:
    problems = check(map_after_map(tiny_catalog, late=0.5), tiny_catalog)
    assert problems == ["'b#0' starts at 5.5 s, before 'all of a (1)' ends at 6 s plus transfer 0 s"]


def test_overbooked_units_are_caught_by_the_core(tiny_catalog) -> None:
    # Three shards at once on a box with two GPUs.
    problems = check([shard("a", 0, 0.0, 5.0), shard("a", 1, 0.0, 5.0), shard("a", 2, 1.0, 4.0)], tiny_catalog)
    assert any("pool 'box#0/GPU' holds 3 units at 1 s" in p for p in problems), problems


def test_back_to_back_shards_share_units(tiny_catalog) -> None:
    assert check([shard("a", 0, 0.0, 5.0), shard("a", 1, 0.0, 5.0), shard("a", 2, 5.0, 7.0)], tiny_catalog) == []


def test_what_the_core_cannot_state_is_reported_and_the_rest_checked(tiny_catalog) -> None:
    shards = [shard("a", 0, 0.0, 5.0, hw="TPU"), shard("b", 0, 1.0, 2.0, (("a", 0), ("z", 3))),
              shard("c", 0, 0.0, 1.0), shard("c", 0, 0.0, 1.0), shard("d", 0, 0.5, 2.0, (("c", 0),))]
    problems = check(shards, tiny_catalog)
    assert "shard a#0 needs 1 x TPU on box#0, which lacks them" in problems
    assert "shard b#0 depends on unknown shard ('z', 3)" in problems
    assert "shard c#0 appears twice" in problems
    assert "'d#0' starts at 0.5 s, before 'c#0' ends at 1 s plus transfer 0 s" in problems


WF = """CREATE WORKFLOW w (v VIDEO, q TEXT) AS (
  s := scene_detection (v), t := speech_to_text (s), a := question_answering (q, t)) RETURNS a;
RUN w (v => 'x.mp4' ASSUMING (duration = 100 s), q => 'why?') ON CLUSTER 'tiny';"""


@settings(max_examples=20, deadline=None)
@given(workflows())
def test_the_core_accepts_every_plan_the_planner_makes(tiny_catalog, script: str) -> None:
    job = compile_script(script, "gen.job", tiny_catalog).jobs[0]
    plan = plan_job(replace(job, settings=Settings(solver="greedy")), tiny_catalog)
    assert check(list(plan.shards), tiny_catalog, plan.cluster) == []
    # Every shard is an item; every other item is a dependency tuple of duration 0.
    shards = {f"{s.task}#{s.index}" for s in plan.shards}
    items = shard_times(plan.shards, tiny_catalog.cluster(plan.cluster)).items
    assert shards <= {i[0] for i in items}
    assert all(i[0].startswith("all of ") and i[2] == i[3] for i in items if i[0] not in shards)


def test_a_shard_before_its_input_makes_the_planners_validator_say_so(tiny_catalog) -> None:
    plan = murakkab.optimize(WF, catalog=tiny_catalog)[0]
    shards = list(plan.shards)
    i = next(k for k, s in enumerate(shards) if s.deps)
    shards[i] = replace(shards[i], start_s=0.0, end_s=shards[i].end_s - shards[i].start_s)
    problems = validate(replace(plan, shards=tuple(shards)), tiny_catalog)
    assert any(p.startswith(f"'{shards[i].task}#{shards[i].index}' starts at 0 s, before") for p in problems), problems


def test_a_large_plan_states_in_fewer_edges_than_its_dependencies(default_catalog) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from workloads import big_workflow

    plan = murakkab.optimize(big_workflow(40), catalog=default_catalog,
                             settings=Settings(cluster="hotos-testbed"))[0]
    stated = shard_times(plan.shards, default_catalog.cluster(plan.cluster))
    assert len(stated.edges) < sum(len(s.deps) for s in plan.shards)
    assert check(list(plan.shards), default_catalog, plan.cluster) == []
