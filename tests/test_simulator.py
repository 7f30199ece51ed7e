"""The simulator (runtime/simulator.py) on timelines computed by hand from the tiny
catalog, plus properties that hold for any plan: determinism per seed, capacity never
exceeded, dependencies respected, and the sequential baseline running one shard at a time.

Tiny catalog: one machine 'box#0' with 2 GPU + 4 CORE units.
    GPU  400 W active, 100 W idle, 3.6 USD/h  (0.001 USD per unit-second)
    CORE  10 W active,   2 W idle, 0.036 USD/h (0.00001 USD per unit-second)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from murakkab import api
from murakkab.catalog.catalog import Catalog
from murakkab.compiler.job import Settings
from murakkab.compiler.physical.plan import PhysicalPlan
from murakkab.runtime.executor import RunResult
from murakkab.runtime.simulator import Simulator

approx = pytest.approx
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

QA = """
CREATE WORKFLOW w (v VIDEO, q TEXT) AS (
  s := scene_detection (v),
  t := speech_to_text (s) USING (agent = 'stt-gpu'),
  a := question_answering (q, t) USING (agent = 'qa-big')
) RETURNS a;
RUN w (v => 'none.mp4' ASSUMING (duration = 100 s), q => 'what?') ON CLUSTER 'tiny';
"""

# The same workflow, free to choose agents, minimising energy: stt-cpu x 4 and qa-small.
QA_ENERGY = """
CREATE WORKFLOW w (v VIDEO, q TEXT) AS (
  s := scene_detection (v),
  t := speech_to_text (s),
  a := question_answering (q, t)
) RETURNS a;
RUN w (v => 'none.mp4' ASSUMING (duration = 100 s), q => 'what?') ON CLUSTER 'tiny' MINIMIZE energy;
"""

# Two videos: scene detection is a map too, and speech_to_text streams from it (fuse_maps).
STREAM = """
CREATE WORKFLOW w (v LIST<VIDEO>, q TEXT) AS (
  s := scene_detection (v),
  t := speech_to_text (s) USING (agent = 'stt-gpu'),
  a := question_answering (q, t) USING (agent = 'qa-big')
) RETURNS a;
RUN w (v => ['a.mp4', 'b.mp4'] ASSUMING (duration = 40 s), q => 'what?') ON CLUSTER 'tiny';
"""

# Two independent branches, so a parallel plan overlaps them and a sequential one cannot.
BRANCHES = """
CREATE WORKFLOW w (v LIST<VIDEO>, q TEXT) AS (
  t := speech_to_text (v),
  m := summarization (t),
  a := question_answering (q, m, t)
) RETURNS a;
RUN w (v => ['a.mp4', 'b.mp4', 'c.mp4', 'd.mp4', 'e.mp4'] ASSUMING (duration = 30 s), q => 'what?')
  ON CLUSTER 'tiny';
"""


def plan(cat: Catalog, text: str, settings: Settings | None = None) -> PhysicalPlan:
    # The hand-computed plans here are per-agent optima: no quality floor unless asked.
    (p,) = api.optimize(text, catalog=cat, settings=settings or Settings(quality_floor=None))
    return p


def spans(result: RunResult) -> dict[tuple[str, int], tuple[float, float]]:
    return {(r.task, r.index): (r.start_s, r.end_s) for r in result.timeline}


def assert_timeline(result: RunResult, expected: dict[tuple[str, int], tuple[float, float]]) -> None:
    got = spans(result)
    assert set(got) == set(expected)
    for key, (start, end) in expected.items():
        assert got[key] == (approx(start), approx(end)), key


# -- hand-computed timelines -------------------------------------------------------------


def test_hand_computed_timeline(tiny_catalog: Catalog) -> None:
    p = plan(tiny_catalog, QA)
    chosen = {t.id: (t.candidate.agent, t.candidate.hardware, t.candidate.units, t.candidate.fanout) for t in p.tasks}
    # t: fan-out 2 is the most the 2 GPUs allow, and it is faster than fan-out 1.
    assert chosen == {"s": ("detect-cpu", "CORE", 1, 1), "t": ("stt-gpu", "GPU", 1, 2), "a": ("qa-big", "GPU", 2, 1)}
    result = Simulator(tiny_catalog, seed=0).run(p)
    assert_timeline(result, {
        # s: scene_detection invoked on one 100 s video: 0 + 0.1 s/s x 100 s = 10 s on one core.
        ("s", 0): (0.0, 10.0),
        # t: 10 scenes of 10 s (scene_length_s = 10), call_s = 0.1 x 10 = 1 s; fan-out 2:
        #    5 calls per shard, 1 s setup + 5 x 1 s = 6 s, both start when s ends at 10 s.
        ("t", 0): (10.0, 16.0),
        ("t", 1): (10.0, 16.0),
        # a: qa-big, per_item_s 4 on 2 GPUs, after both shards of t.
        ("a", 0): (16.0, 20.0),
    })
    by_key = {(r.task, r.index): r for r in result.timeline}
    assert by_key[("a", 0)].units == 2 and by_key[("a", 0)].hardware == "GPU"
    assert by_key[("t", 0)].calls == 5 and by_key[("t", 1)].calls == 5
    assert {r.machine for r in result.timeline} == {"box#0"}
    assert {r.agent for r in result.timeline} == {"detect-cpu", "stt-gpu", "qa-big"}
    assert result.task_span("t") == (approx(10.0), approx(16.0))
    assert result.events == 4 and result.backend == "sim" and result.job == "w"

    t = result.totals
    assert t.makespan_s == approx(20.0)
    assert t.held == (("CORE", 1), ("GPU", 2))
    assert t.gpus == 2
    # Energy, busy: CORE 10 unit-s x 10 W = 100 J; GPU (2 x 6 + 2 x 4) = 20 unit-s x 400 W = 8000 J.
    # Idle of held units: CORE 1 x 20 - 10 = 10 unit-s x 2 W = 20 J; GPU 2 x 20 - 20 = 20 unit-s x 100 W = 2000 J.
    assert t.energy_wh == approx((100 + 8000 + 20 + 2000) / 3600)
    # Cost: held units x makespan: 1 CORE x 20 s x 0.036/3600 + 2 GPU x 20 s x 3.6/3600.
    assert t.cost_usd == approx(20 * 0.036 / 3600 + 2 * 20 * 3.6 / 3600)
    # Quality: the product of the chosen agents' qualities.
    assert t.quality == approx(0.9 * 0.95 * 0.9)

    # With jitter 0 the simulator reproduces the planner exactly.
    assert t == p.estimate
    planned = {(s.task, s.index): (s.start_s, s.end_s) for s in p.shards}
    assert spans(result) == planned


def test_hand_computed_cpu_fanout_timeline(tiny_catalog: Catalog) -> None:
    p = plan(tiny_catalog, QA_ENERGY)
    result = Simulator(tiny_catalog, seed=0).run(p)
    assert_timeline(result, {
        ("s", 0): (0.0, 10.0),                 # as above
        # stt-cpu: call_s = 0.5 x 10 = 5 s, no setup; fan-out 4 over 10 scenes: 3, 3, 2, 2 calls.
        ("t", 0): (10.0, 25.0),                # 3 x 5 s
        ("t", 1): (10.0, 25.0),
        ("t", 2): (10.0, 20.0),                # 2 x 5 s
        ("t", 3): (10.0, 20.0),
        ("a", 0): (25.0, 27.0),                # qa-small: 2 s on one GPU
    })
    t = result.totals
    assert t.makespan_s == approx(27.0)
    assert t.held == (("CORE", 4), ("GPU", 1))
    # busy: CORE (10 + 50) unit-s x 10 W = 600 J; GPU 2 x 400 = 800 J.
    # idle: CORE 4 x 27 - 60 = 48 x 2 W = 96 J; GPU 27 - 2 = 25 x 100 W = 2500 J.
    assert t.energy_wh == approx((600 + 800 + 96 + 2500) / 3600)
    # cost: 4 cores x 27 s x 0.00001 + 1 GPU x 27 s x 0.001
    assert t.cost_usd == approx(4 * 27 * 0.00001 + 27 * 0.001)
    assert t.quality == approx(0.9 * 0.8 * 0.6)
    assert t == p.estimate


def test_hand_computed_streaming_timeline(tiny_catalog: Catalog) -> None:
    p = plan(tiny_catalog, STREAM)
    assert p.task("t").streams_from == "s"
    # A streaming shard waits only for the upstream shard that produces its items.
    deps = {(s.task, s.index): s.deps for s in p.shards}
    assert deps[("t", 0)] == (("s", 0),) and deps[("t", 1)] == (("s", 1),)
    result = Simulator(tiny_catalog, seed=0).run(p)
    assert_timeline(result, {
        # s: a map over 2 videos of 40 s, fan-out 2: one call of 0.1 x 40 = 4 s each.
        ("s", 0): (0.0, 4.0),
        ("s", 1): (0.0, 4.0),
        # t: 2 x 40 / 10 = 8 scenes of 10 s, fan-out 2: 1 + 4 x 1 = 5 s each.
        ("t", 0): (4.0, 9.0),
        ("t", 1): (4.0, 9.0),
        ("a", 0): (9.0, 13.0),
    })
    t = result.totals
    # busy: CORE 8 x 10 = 80 J; GPU (10 + 8) x 400 = 7200 J.
    # idle: CORE 2 x 13 - 8 = 18 x 2 = 36 J; GPU 2 x 13 - 18 = 8 x 100 = 800 J.
    assert t.energy_wh == approx((80 + 7200 + 36 + 800) / 3600)
    assert t.cost_usd == approx(2 * 13 * 0.00001 + 2 * 13 * 0.001)
    assert t == p.estimate


def test_sequential_hand_computed(tiny_catalog: Catalog) -> None:
    p = plan(tiny_catalog, QA, Settings(parallelism=False))
    assert p.sequential
    result = Simulator(tiny_catalog, seed=0).run(p)
    # Baseline agents, fan-out 1: s 10 s; t 1 + 10 x 1 = 11 s; a 4 s; one after another.
    assert_timeline(result, {("s", 0): (0.0, 10.0), ("t", 0): (10.0, 21.0), ("a", 0): (21.0, 25.0)})
    t = result.totals
    assert t.makespan_s == approx(25.0)
    # busy: CORE 10 x 10 = 100 J; GPU (11 + 8) x 400 = 7600 J.
    # idle: CORE 25 - 10 = 15 x 2 = 30 J; GPU 2 x 25 - 19 = 31 x 100 = 3100 J.
    assert t.energy_wh == approx((100 + 7600 + 30 + 3100) / 3600)
    assert t.cost_usd == approx(25 * 0.00001 + 2 * 25 * 0.001)
    assert t == p.estimate


# -- determinism and noise ------------------------------------------------------------------


def test_jitter_zero_equals_estimate_for_any_seed(tiny_catalog: Catalog) -> None:
    p = plan(tiny_catalog, QA)
    for seed in (0, 1, 123):
        assert Simulator(tiny_catalog, seed=seed, jitter=0.0).run(p).totals == p.estimate


def test_same_seed_same_run(tiny_catalog: Catalog) -> None:
    p = plan(tiny_catalog, QA)
    a = Simulator(tiny_catalog, seed=7, jitter=0.3).run(p)
    b = Simulator(tiny_catalog, seed=7, jitter=0.3).run(p)
    assert a == b
    assert a.timeline == b.timeline and a.totals == b.totals


def test_other_seed_other_run(tiny_catalog: Catalog) -> None:
    p = plan(tiny_catalog, QA)
    a = Simulator(tiny_catalog, seed=7, jitter=0.3).run(p)
    b = Simulator(tiny_catalog, seed=8, jitter=0.3).run(p)
    assert a.timeline != b.timeline
    assert a.totals.makespan_s != b.totals.makespan_s
    assert a.totals.makespan_s != p.estimate.makespan_s
    # Noise changes durations, not what runs where.
    assert [(r.task, r.index, r.machine, r.hardware, r.units) for r in sorted(a.timeline, key=lambda r: (r.task, r.index))] \
        == [(r.task, r.index, r.machine, r.hardware, r.units) for r in sorted(b.timeline, key=lambda r: (r.task, r.index))]


def test_negative_jitter_is_rejected(tiny_catalog: Catalog) -> None:
    with pytest.raises(ValueError):
        Simulator(tiny_catalog, jitter=-0.1)


def test_api_run_uses_the_simulator(tiny_catalog: Catalog) -> None:
    (outcome,) = api.run(QA, backend="sim", catalog=tiny_catalog)
    assert outcome.result is not None
    assert outcome.result.totals == outcome.plan.estimate
    (noisy,) = api.run(QA, backend="sim", catalog=tiny_catalog, seed=3, jitter=0.2)
    assert noisy.result == Simulator(tiny_catalog, seed=3, jitter=0.2).run(noisy.plan)


# -- properties on every plan -------------------------------------------------------------


def _cases(tiny: Catalog, default: Catalog) -> list[tuple[Catalog, PhysicalPlan]]:
    out = []
    for text in (QA, QA_ENERGY, STREAM, BRANCHES):
        for settings in (None, Settings(parallelism=False)):
            out.append((tiny, plan(tiny, text, settings)))
    for settings in (None, Settings(parallelism=False)):
        (p,) = api.optimize(EXAMPLES / "video_qa.job", catalog=default, settings=settings)
        out.append((default, p))
    return out


@pytest.fixture(scope="module")
def cases(tiny_catalog: Catalog, default_catalog: Catalog) -> list[tuple[Catalog, PhysicalPlan]]:
    return _cases(tiny_catalog, default_catalog)


RUNS = [(0, 0.0), (0, 0.4), (1, 0.4), (2, 1.0), (3, 0.1)]


def _runs(cases):
    for cat, p in cases:
        for seed, jitter in RUNS:
            yield cat, p, Simulator(cat, seed=seed, jitter=jitter).run(p)


def test_capacity_never_exceeded(cases) -> None:
    checked = 0
    for cat, p, result in _runs(cases):
        cluster = cat.cluster(p.cluster)
        assert cluster is not None
        inventory = dict(cluster.machines())
        events: dict[tuple[str, str], list[tuple[float, int]]] = {}
        for r in result.timeline:
            assert r.end_s >= r.start_s >= 0
            events.setdefault((r.machine, r.hardware), []).extend([(r.start_s, r.units), (r.end_s, -r.units)])
        for (machine, hw), evs in events.items():
            level = 0
            # A unit freed at t may be reused at t: ends before starts at the same instant.
            for _, delta in sorted(evs, key=lambda e: (e[0], e[1])):
                level += delta
                assert 0 <= level <= inventory[machine][hw], (p.job, machine, hw)
            checked += 1
        gpu_capacity = sum(cluster.capacity(hw) for hw in cluster.hardware_names() if cat.hardware(hw).is_gpu)
        assert result.totals.gpus <= gpu_capacity
    assert checked > 0


def test_every_shard_starts_after_its_dependencies(cases) -> None:
    for _, p, result in _runs(cases):
        by_key = {(r.task, r.index): r for r in result.timeline}
        assert len(by_key) == len(p.shards) == len(result.timeline)
        for s in p.shards:
            run = by_key[(s.task, s.index)]
            assert (run.machine, run.hardware, run.units) == (s.machine, s.hardware, s.units)
            for dep in s.deps:
                assert by_key[dep].end_s <= run.start_s + 1e-9, (s.task, s.index, dep)


def test_noiseless_run_reproduces_every_plan(cases) -> None:
    for cat, p in cases:
        result = Simulator(cat, seed=5).run(p)
        assert result.totals == p.estimate
        planned = {(s.task, s.index): (s.start_s, s.end_s) for s in p.shards}
        for key, (start, end) in spans(result).items():
            assert (start, end) == (approx(planned[key][0]), approx(planned[key][1])), key


def test_sequential_runs_one_shard_at_a_time(cases) -> None:
    sequential = [(cat, p) for cat, p in cases if p.sequential]
    assert len(sequential) == 5
    for cat, p in sequential:
        assert all(t.candidate.fanout == 1 for t in p.tasks)
        for seed, jitter in RUNS:
            result = Simulator(cat, seed=seed, jitter=jitter).run(p)
            timeline = sorted(result.timeline, key=lambda r: r.start_s)
            for before, after in zip(timeline, timeline[1:]):
                assert after.start_s >= before.end_s - 1e-9, (p.job, before, after)
            durations = sum(r.end_s - r.start_s for r in timeline)
            assert timeline[0].start_s == 0.0
            assert result.totals.makespan_s == approx(durations)


def test_parallel_plan_overlaps_independent_work(tiny_catalog: Catalog) -> None:
    # The contrast to the test above: a parallel plan does run shards at the same time.
    result = Simulator(tiny_catalog).run(plan(tiny_catalog, BRANCHES))
    timeline = sorted(result.timeline, key=lambda r: r.start_s)
    assert any(b.start_s < a.end_s - 1e-9 for a, b in zip(timeline, timeline[1:]))
    assert result.totals.makespan_s < sum(r.end_s - r.start_s for r in timeline)
