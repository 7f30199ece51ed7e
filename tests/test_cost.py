"""The cost model (compiler/physical/cost.py), checked against numbers computed by hand
from the tiny catalog (tests/fixtures/tiny_catalog):

    hardware  active_w  idle_w  usd_per_hour
    GPU       400       100     3.6     -> 0.001 USD per unit-second
    CORE      10        2       0.036   -> 0.00001 USD per unit-second

    profile     hardware  units  setup_s  per_item_s  per_media_s  utilisation
    stt-gpu     GPU       1      1        0           0.1          1.0
    stt-cpu     CORE      1      0        0           0.5          1.0
    qa-big      GPU       2      0        4           0            1.0
    sum-gpu     GPU       1      0        1           0            0.5
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import murakkab
from murakkab.catalog.catalog import Catalog, Profile
from murakkab.compiler.physical.cost import (busy_power_w, candidate_power_w, estimate_candidate, peak_usage,
                                             split_calls, timeline_totals)

approx = pytest.approx


def profile(cat: Catalog, agent: str) -> Profile:
    (p,) = cat.profiles(agent)
    return p


def estimate(cat: Catalog, agent: str, calls: float, media_s: float, fanout: int):
    p = profile(cat, agent)
    hw = cat.hardware(p.hardware)
    a = cat.agent(agent)
    assert hw is not None and a is not None
    return estimate_candidate("t", p, hw, a.quality, calls, media_s, fanout)


# -- split_calls ---------------------------------------------------------------------


@pytest.mark.parametrize("calls, fanout, expected", [
    (10, 1, [10]),
    (10, 2, [5, 5]),            # even split
    (10, 3, [4, 3, 3]),         # remainder goes to the first shards
    (7, 4, [2, 2, 2, 1]),
    (11, 4, [3, 3, 3, 2]),
    (3, 3, [1, 1, 1]),
    (2, 4, [1, 1, 0, 0]),       # more shards than calls: the tail is empty
    (0, 1, [0]),                # zero calls
    (0, 3, [0, 0, 0]),
    (2.5, 2, [2, 1]),           # fractional estimates round up to whole calls
    (4.0000000001, 2, [2, 2]),  # float noise below 1e-9 is not an extra call
])
def test_split_calls(calls: float, fanout: int, expected: list[int]) -> None:
    out = split_calls(calls, fanout)
    assert out == [float(x) for x in expected]
    assert all(isinstance(x, float) for x in out)
    assert len(out) == fanout


@pytest.mark.parametrize("calls", [0, 1, 5, 9, 10, 17, 100])
@pytest.mark.parametrize("fanout", [1, 2, 3, 4, 6, 8])
def test_split_calls_is_even_and_complete(calls: int, fanout: int) -> None:
    out = split_calls(calls, fanout)
    assert sum(out) == calls
    assert max(out) - min(out) <= 1
    assert out == sorted(out, reverse=True)  # the first shards take the remainder


# -- per-candidate estimates -----------------------------------------------------------


def test_busy_power(tiny_catalog: Catalog) -> None:
    gpu = tiny_catalog.hardware("GPU")
    assert gpu is not None
    # utilisation 1: active power; utilisation 0.5: idle + half the active-idle gap.
    assert busy_power_w(gpu, profile(tiny_catalog, "stt-gpu")) == approx(400.0)
    assert busy_power_w(gpu, profile(tiny_catalog, "sum-gpu")) == approx(100 + 0.5 * (400 - 100))


def test_shard_seconds(tiny_catalog: Catalog) -> None:
    # setup 1 s + 5 calls x 1 s (10 s of media at 0.1 s per media second)
    c = estimate(tiny_catalog, "stt-gpu", calls=5, media_s=10, fanout=1)
    assert c.shard_seconds(5) == approx(6.0) and c.shard_seconds(0) == approx(1.0)


def test_stt_gpu_fanout_2_on_ten_scenes(tiny_catalog: Catalog) -> None:
    # 10 scenes of 10 s: call_s = 0 + 0.1 x 10 = 1.0 s.
    # fan-out 2: 5 calls per shard, each shard 1 (setup) + 5 x 1.0 = 6 s.
    c = estimate(tiny_catalog, "stt-gpu", calls=10, media_s=10, fanout=2)
    assert c.call_s == approx(1.0)
    assert c.setup_s == approx(1.0)
    assert c.latency_s == approx(6.0)          # the longest shard
    assert c.busy_unit_s == approx(12.0)       # 2 shards x 6 s x 1 unit
    assert c.energy_wh == approx(12 * 400 / 3600)
    assert c.cost_usd == approx(12 * 3.6 / 3600)
    assert c.gpus == 2                          # 1 unit x fan-out 2
    assert (c.agent, c.hardware, c.units, c.fanout, c.calls) == ("stt-gpu", "GPU", 1, 2, 10)
    assert c.quality == approx(0.95)
    assert c.source == "default:test"


def test_stt_gpu_fanout_1_and_3(tiny_catalog: Catalog) -> None:
    # fan-out 1: 1 + 10 x 1 = 11 s; busy 11 unit-s.
    one = estimate(tiny_catalog, "stt-gpu", calls=10, media_s=10, fanout=1)
    assert (one.latency_s, one.busy_unit_s, one.gpus) == (approx(11.0), approx(11.0), 1)
    # fan-out 3: calls 4, 3, 3 -> shards 5, 4, 4 s; latency 5 s; busy 13 unit-s
    # (each extra shard pays the 1 s setup again).
    three = estimate(tiny_catalog, "stt-gpu", calls=10, media_s=10, fanout=3)
    assert three.latency_s == approx(5.0)
    assert three.busy_unit_s == approx(13.0)
    assert three.energy_wh == approx(13 * 400 / 3600)
    assert three.cost_usd == approx(13 * 0.001)
    assert three.gpus == 3


def test_stt_cpu_fanout_4(tiny_catalog: Catalog) -> None:
    # call_s = 0.5 x 10 = 5 s; calls 3, 3, 2, 2 -> shards 15, 15, 10, 10 s.
    c = estimate(tiny_catalog, "stt-cpu", calls=10, media_s=10, fanout=4)
    assert c.call_s == approx(5.0)
    assert c.latency_s == approx(15.0)
    assert c.busy_unit_s == approx(50.0)
    assert c.energy_wh == approx(50 * 10 / 3600)
    assert c.cost_usd == approx(50 * 0.036 / 3600)
    assert c.gpus == 0  # cores are not GPUs


def test_multi_unit_invoke(tiny_catalog: Catalog) -> None:
    # qa-big: one call of 4 s (per_item_s, no media) on 2 GPUs: busy 8 unit-s.
    c = estimate(tiny_catalog, "qa-big", calls=1, media_s=0, fanout=1)
    assert c.latency_s == approx(4.0)
    assert c.busy_unit_s == approx(8.0)
    assert c.energy_wh == approx(8 * 400 / 3600)
    assert c.cost_usd == approx(8 * 0.001)
    assert c.gpus == 2


def test_partial_utilisation_energy(tiny_catalog: Catalog) -> None:
    # sum-gpu: 5 calls of 1 s at utilisation 0.5 -> 250 W while busy.
    c = estimate(tiny_catalog, "sum-gpu", calls=5, media_s=0, fanout=1)
    assert c.latency_s == approx(5.0)
    assert c.energy_wh == approx(5 * 250 / 3600)
    assert c.cost_usd == approx(5 * 0.001)  # price does not depend on utilisation


def test_zero_calls_costs_the_setup(tiny_catalog: Catalog) -> None:
    c = estimate(tiny_catalog, "stt-gpu", calls=0, media_s=10, fanout=1)
    assert c.latency_s == approx(1.0)
    assert c.busy_unit_s == approx(1.0)


def test_candidate_power_matches_profile(tiny_catalog: Catalog) -> None:
    c = estimate(tiny_catalog, "sum-gpu", calls=5, media_s=0, fanout=1)
    assert candidate_power_w(tiny_catalog, c) == approx(250.0)
    c = estimate(tiny_catalog, "stt-cpu", calls=5, media_s=10, fanout=2)
    assert candidate_power_w(tiny_catalog, c) == approx(10.0)


# -- peak_usage --------------------------------------------------------------------------


@pytest.mark.parametrize("intervals, peak", [
    ([], 0),
    ([(0, 10, 1)], 1),
    ([(0, 10, 1), (5, 15, 2)], 3),
    ([(0, 10, 1), (5, 15, 2), (10, 20, 1)], 3),   # at t=10 one unit leaves as one arrives
    ([(0, 5, 2), (5, 10, 2)], 2),                 # back to back: the units are reused
    ([(0, 5, 2), (4.999, 10, 2)], 4),
    ([(3, 3, 5)], 0),                             # empty intervals hold nothing
    ([(0, 10, 1), (2, 2, 7), (1, 9, 1)], 2),
    ([(0, 4, 1), (1, 3, 1), (2, 6, 1), (5, 7, 1)], 3),
])
def test_peak_usage(intervals: list[tuple[float, float, int]], peak: int) -> None:
    assert peak_usage(intervals) == peak


# -- timeline_totals ---------------------------------------------------------------------


def test_timeline_totals_by_hand(tiny_catalog: Catalog) -> None:
    rows = [
        # machine, hardware, start, end, units, busy power per unit
        ("box#0", "GPU", 0.0, 10.0, 1, 400.0),
        ("box#0", "GPU", 5.0, 15.0, 1, 250.0),
        ("box#0", "CORE", 0.0, 20.0, 2, 10.0),
    ]
    est = timeline_totals(tiny_catalog, rows, quality=0.5)
    # makespan: the last end, 20 s. Held: GPU peak 2 (5..10), CORE 2.
    assert est.makespan_s == approx(20.0)
    assert est.held == (("CORE", 2), ("GPU", 2))
    assert est.gpus == 2
    # cost: held units x makespan x price = 2 x 20 x 0.001 + 2 x 20 x 0.00001
    assert est.cost_usd == approx(0.04 + 0.0004)
    # energy: busy 10 x 400 + 10 x 250 + 40 x 10 = 6900 J;
    # idle: GPU held 2 x 20 = 40 unit-s, busy 20 -> 20 x 100 W = 2000 J; CORE 40 - 40 = 0.
    assert est.energy_wh == approx((6900 + 2000) / 3600)
    assert est.quality == 0.5


def test_timeline_totals_charges_from_time_zero(tiny_catalog: Catalog) -> None:
    # A single GPU shard from 10 to 20 s: the job holds the GPU for the whole makespan
    # (20 s, measured from 0), so it pays 10 busy and 10 idle unit-seconds.
    est = timeline_totals(tiny_catalog, [("box#0", "GPU", 10.0, 20.0, 1, 400.0)], quality=1.0)
    assert est.makespan_s == approx(20.0)
    assert est.cost_usd == approx(20 * 0.001)
    assert est.energy_wh == approx((10 * 400 + 10 * 100) / 3600)


def test_timeline_totals_peak_is_per_machine(tiny_catalog: Catalog) -> None:
    # Units are held per machine: one GPU on each of two machines, even at different
    # times, is two held GPUs; on one machine back to back it is one.
    two = timeline_totals(tiny_catalog, [("a#0", "GPU", 0.0, 5.0, 1, 400.0),
                                         ("b#0", "GPU", 5.0, 10.0, 1, 400.0)], quality=1.0)
    one = timeline_totals(tiny_catalog, [("a#0", "GPU", 0.0, 5.0, 1, 400.0),
                                         ("a#0", "GPU", 5.0, 10.0, 1, 400.0)], quality=1.0)
    assert two.held == (("GPU", 2),) and one.held == (("GPU", 1),)
    assert two.cost_usd == approx(2 * 10 * 0.001) and one.cost_usd == approx(10 * 0.001)
    # busy 10 unit-s x 400 W in both; idle 2 x 10 - 10 = 10 unit-s x 100 W only in `two`.
    assert two.energy_wh == approx((4000 + 1000) / 3600)
    assert one.energy_wh == approx(4000 / 3600)


def test_timeline_totals_empty(tiny_catalog: Catalog) -> None:
    est = timeline_totals(tiny_catalog, [], quality=1.0)
    assert (est.makespan_s, est.cost_usd, est.energy_wh, est.gpus, est.held) == (0.0, 0.0, 0.0, 0, ())


def test_timeline_totals_metric_names(tiny_catalog: Catalog) -> None:
    est = timeline_totals(tiny_catalog, [("box#0", "GPU", 0.0, 4.0, 2, 400.0)], quality=0.9)
    assert est.metric("latency") == est.makespan_s == approx(4.0)
    assert est.metric("cost") == est.cost_usd == approx(2 * 4 * 0.001)
    assert est.metric("energy") == est.energy_wh == approx(2 * 4 * 400 / 3600)
    assert est.metric("quality") == 0.9
    assert est.metric("gpus") == 2.0


# -- the frame rate --------------------------------------------------------------------

def test_a_frame_decoding_agent_takes_longer_per_media_second_at_a_higher_frame_rate(tiny_catalog) -> None:
    p = replace(profile(tiny_catalog, "stt-cpu"), per_item_s=0.2, media_fps=30.0)  # 0.2 + 0.5 s per media s
    hw = tiny_catalog.hardware(p.hardware)
    assert hw is not None
    at = {fps: estimate_candidate("t", p, hw, 0.9, 2, 10.0, 1, fps=fps) for fps in (0.0, 15.0, 30.0, 60.0)}
    assert at[30.0].call_s == approx(0.2 + 0.5 * 10) == at[0.0].call_s  # unknown rate: as profiled
    assert at[60.0].call_s == approx(0.2 + 0.5 * 10 * 2) and at[15.0].call_s == approx(0.2 + 0.5 * 10 / 2)
    assert "x 2 (video at 60 fps, profiled at 30)" in at[60.0].source and "video at" not in at[30.0].source
    # An agent whose time does not depend on the frame rate (no media_fps) ignores it.
    plain = replace(p, media_fps=None)
    assert estimate_candidate("t", plain, hw, 0.9, 2, 10.0, 1, fps=60.0).call_s == approx(0.2 + 0.5 * 10)


def test_a_stated_frame_rate_reaches_scene_detection_in_the_plan() -> None:
    text = (Path(__file__).parents[1] / "examples" / "video_qa.job").read_text()
    seconds = {}
    for fps in (15, 30, 60):
        (plan,) = murakkab.optimize(text.replace("fps = 30", f"fps = {fps}"))
        scenes = next(t for t in plan.tasks if t.id == "scenes").candidate
        seconds[fps] = (scenes.call_s, scenes.agent, scenes.units)
    assert seconds[15][1:] == seconds[30][1:] == seconds[60][1:]  # the same detector on the same cores
    assert seconds[15][0] < seconds[30][0] < seconds[60][0]
    # Linear in the frame rate: 30 -> 60 fps adds twice what 15 -> 30 does.
    assert seconds[60][0] - seconds[30][0] == approx(2 * (seconds[30][0] - seconds[15][0]))
