"""A served plan in simulation (runtime/fleet_sim.simulate_served): first-come-first-served
replicas, Serve's router retrying a call that found them busy, stages in DAG order, the
ingress's routing draws; and the stand-ins' stage times measured in this process
(measure_stages). No Ray here: bench/serving.py --compare-real
puts the simulation beside a real `murakkab serve` deployment."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from murakkab.runtime.fleet_sim import RouterBackoff, critical_path_s, measure_stages, simulate_served
from murakkab.runtime.serve import DeploymentSpec, Option, Route, ServePlan, StageCall, pick_option

ROOT = Path(__file__).resolve().parents[1]


def _plan(replicas: dict[str, int], options: list[Option], seed: int = 0,
          agents: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] | None = None) -> ServePlan:
    deployments = tuple(DeploymentSpec(name, name, "tool", "", 1, False, n, n, 1, (agents or {}).get(name, ()))
                        for name, n in sorted(replicas.items()))
    route = Route("video_qa", "quality >= GOOD", 1.0, 0.5, None, tuple(options))
    return ServePlan(deployments, (route,), (), max(replicas.values()), seed, str(ROOT))


def _option(label: str, stages: dict[str, tuple[str, ...]], share: float = 1.0,
            knobs: tuple[tuple[str, int], ...] = ()) -> Option:
    """One configuration whose stage ``s`` runs on deployment ``s``, after ``stages[s]``."""
    return Option(label, share, 0.5, 1.0, knobs, tuple(StageCall(s, s, s, after) for s, after in stages.items()))


def _latencies(plan: ServePlan, times: dict[tuple[str, str], float], send_at: list[float],
               backoff: RouterBackoff | None = None) -> list[float]:
    """Latencies of requests sent at ``send_at``; a work-conserving queue unless ``backoff``."""
    run = simulate_served(plan, "video_qa", [times], send_at, [None] * len(send_at), backoff=backoff)
    return [round(x, 9) for x in run.latencies_s]


def test_one_replica_serves_first_come_first_served() -> None:
    plan = _plan({"a": 1}, [_option("x", {"a": ()})])
    # The second request waits 0.9 s for the first one's second of service.
    assert _latencies(plan, {("x", "a"): 1.0}, [0.0, 0.1]) == [1.0, 1.9]
    # Two replicas: each request has one to itself.
    assert _latencies(_plan({"a": 2}, [_option("x", {"a": ()})]), {("x", "a"): 1.0}, [0.0, 0.1]) == [1.0, 1.0]


def test_a_busy_replica_is_retried_with_serves_backoff() -> None:
    backoff = RouterBackoff()  # Ray's defaults: 0.025 s, doubling, at most 0.5 s
    # Retries at once, then +0.025, +0.05, +0.1, +0.2, +0.4, +0.5, +0.5, ...
    assert backoff.start(3.0, 2.0) == 3.0  # free already: at once
    assert backoff.start(0.0, 0.01) == pytest.approx(0.025)
    assert backoff.start(0.0, 0.8) == pytest.approx(1.275)
    assert backoff.start(0.0, 2.0) == pytest.approx(2.275)
    # The replica frees at 1.0; the second request, waiting since 0.1, retries at 0.875,
    # then at 1.375 (0.1 + 1.275), and ends a second later: 2.375 - 0.1.
    plan = _plan({"a": 1}, [_option("x", {"a": ()})])
    assert _latencies(plan, {("x", "a"): 1.0}, [0.0, 0.1], backoff) == [1.0, 2.275]
    # The simulation's default is Serve's router.
    default = simulate_served(plan, "video_qa", [{("x", "a"): 1.0}], [0.0, 0.1], [None, None])
    assert [round(x, 9) for x in default.latencies_s] == [1.0, 2.275]


def test_stages_run_in_dag_order_and_independent_ones_at_once() -> None:
    chain = _plan({"a": 1, "b": 1}, [_option("x", {"a": (), "b": ("a",)})])
    # Request 1 waits for a (1 s), then follows request 0 through b: a 1-2, b 2-2.5.
    assert _latencies(chain, {("x", "a"): 1.0, ("x", "b"): 0.5}, [0.0, 0.0]) == [1.5, 2.5]
    # a, then b and c at once on their own replicas, then d after both: 1 + max(2, 3) + 0.5.
    diamond = _plan({"a": 1, "b": 1, "c": 1, "d": 1},
                    [_option("x", {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c")})])
    times = {("x", "a"): 1.0, ("x", "b"): 2.0, ("x", "c"): 3.0, ("x", "d"): 0.5}
    assert _latencies(diamond, times, [0.0]) == [4.5]
    assert critical_path_s(diamond.routes[0].options[0], {s: t for (_, s), t in times.items()}) == 4.5
    # Two requests: c is the bottleneck (3 s each), so the second ends 3 s after the first.
    assert _latencies(diamond, times, [0.0, 0.0]) == [4.5, 7.5]


def test_metrics_and_a_fixed_overhead_per_request() -> None:
    plan = _plan({"a": 1}, [_option("x", {"a": ()})])
    run = simulate_served(plan, "video_qa", [{("x", "a"): 1.0}], [0.0, 0.1, 0.2], [None] * 3, overhead_s=0.25,
                          backoff=None)
    assert [round(x, 9) for x in run.latencies_s] == [1.25, 2.15, 3.05]
    d = run.to_dict()
    assert d["requests"] == 3 and d["p50_s"] == pytest.approx(2.15) and d["slo_attainment"] == 1.0
    assert d["wall_s"] == pytest.approx(3.25) and d["throughput_rps"] == pytest.approx(3 / 3.25)


def test_routing_draws_as_the_ingress_does_deterministic_for_a_seed() -> None:
    options = [_option("x", {"a": ()}, 0.7), _option("y", {"b": ()}, 0.3)]
    times = {("x", "a"): 0.1, ("y", "b"): 0.2}
    send_at = [i * 0.01 for i in range(2000)]

    def labels(seed: int, draws_before: int = 0) -> tuple[str, ...]:
        plan = _plan({"a": 1, "b": 1}, options, seed=seed)
        return simulate_served(plan, "video_qa", [times], send_at, [None] * len(send_at),
                               draws_before=draws_before).options

    one = labels(3)
    assert one == labels(3) != labels(4)
    assert abs(one.count("x") / len(one) - 0.7) < 0.03
    # The same draws as the ingress's: pick_option on random.Random(seed), one per request,
    # after the draws of the requests answered before the replay.
    rng = random.Random(3)
    assert one == tuple(pick_option(options, rng).label for _ in send_at)
    assert labels(3, draws_before=5)[:10] == one[5:15]


def test_measured_stage_times_are_positive_seconds_per_stage() -> None:
    # The offline agents on the kitchen sample's first scene (transcript left out: slow).
    agents = {"scenes": (("video_qa/scenes", ("opencv-content-scenes",)),),
              "frames": (("video_qa/frames", ("opencv-frames",)),),
              "llm": (("video_qa/llm", ("opencv-describe", "extractive-qa")),)}
    option = _option("F1,STT=N", {"scenes": (), "frames": ("scenes",), "llm": ("frames",)},
                     knobs=(("frames_per_scene", 1),))
    plan = _plan({"scenes": 1, "frames": 1, "llm": 1}, [option], agents=agents)
    inputs = {"videos": [{"path": "samples/kitchen.mp4", "end_s": 2.75}], "question": "What is on the table?"}
    (table,) = measure_stages(plan, "video_qa", [inputs], repeats=1, warmup=0)
    assert set(table) == {("F1,STT=N", s) for s in ("scenes", "frames", "llm")}
    assert all(0 < t < 30 for t in table.values())
