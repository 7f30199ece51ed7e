"""Profile models on hand-computed values: interpolation between profiled unit counts,
LLM load curves (throughput at a latency target, batched shards)."""

from __future__ import annotations

import math

from pytest import approx

from murakkab.catalog.catalog import Catalog, CurvePoint, Profile, interpolate_profile
from murakkab.compiler.physical.cost import estimate_candidate, throughput_at

CURVE = (CurvePoint("m", "GPU", 1, 100.0, 0.5, 0.02, "published:t"),
         CurvePoint("m", "GPU", 1, 400.0, 0.5, 0.05, "published:t"))


def test_interpolation_is_log_log_between_profiled_units() -> None:
    lo = Profile("a", "CORE", 1, 1.0, 8.0, 0.4, 1.0, "measured:h, d")
    hi = Profile("a", "CORE", 4, 3.0, 2.0, 0.1, 0.5, "published:p")
    mid = interpolate_profile(lo, hi, 2)
    # log2(2) is halfway between log2(1) and log2(4): geometric means of the times,
    # arithmetic means of setup and utilisation.
    assert mid.per_item_s == approx(math.sqrt(8.0 * 2.0)) == approx(4.0)
    assert mid.per_media_s == approx(math.sqrt(0.4 * 0.1)) == approx(0.2)
    assert mid.setup_s == approx(2.0) and mid.utilisation == approx(0.75)
    assert mid.provenance == "interpolated"
    assert "between 1 (measured) and 4 (published)" in mid.source


def test_catalog_offers_interpolated_unit_counts(default_catalog: Catalog) -> None:
    options = {(p.hardware, p.units): p for p in default_catalog.profile_options("pyav-decode")}
    stored = {(p.hardware, p.units) for p in default_catalog.profiles("pyav-decode")}
    added = set(options) - stored
    assert added and all(options[k].provenance == "interpolated" for k in added)
    # Every interpolated count lies strictly between two stored ones on its hardware.
    for hw, units in added:
        counts = sorted(u for h, u in stored if h == hw)
        assert counts[0] < units < counts[-1]
    assert default_catalog.profile("pyav-decode", *sorted(added)[0]) is options[sorted(added)[0]]


def test_throughput_at_a_latency_target() -> None:
    assert throughput_at(CURVE) == approx(400.0)            # saturation
    assert throughput_at(CURVE, 0.035) == approx(250.0)     # halfway in TPOT: halfway in load
    assert throughput_at(CURVE, 0.01) == approx(50.0)       # below the curve: proportionally less
    assert throughput_at(CURVE, 0.5) == approx(400.0)       # past saturation: no more


def test_llm_shards_are_batched_by_the_curve(tiny_catalog: Catalog) -> None:
    profile = tiny_catalog.profile("chat-llm", "GPU", 1)
    hw = tiny_catalog.hardware("GPU")
    assert profile is not None and hw is not None
    curve = tiny_catalog.llm_curve("chat-model", "GPU", 1)
    assert len(curve) == 2
    # 100 output tokens per call. One call: TTFT 0.5 + 100 x TPOT 0.02 = 2.5 s.
    # 40 calls: bound by throughput, 40 x 100 / 400 tokens/s = 10 s. Setup 2 s on top.
    one = estimate_candidate("t", profile, hw, 0.8, calls=1, media_s=0, fanout=1, curve=curve, output_tokens=100)
    many = estimate_candidate("t", profile, hw, 0.8, calls=40, media_s=0, fanout=1, curve=curve, output_tokens=100)
    two = estimate_candidate("t", profile, hw, 0.8, calls=40, media_s=0, fanout=2, curve=curve, output_tokens=100)
    assert one.latency_s == approx(2 + 2.5)
    assert many.latency_s == approx(2 + 10.0)
    assert two.latency_s == approx(2 + 5.0) and two.busy_unit_s == approx(2 * 7.0)
    assert many.source.startswith("published:test curve") and "batched" in many.source


def test_planner_uses_the_curve_for_llm_agents(tiny_catalog: Catalog) -> None:
    import murakkab

    plan = murakkab.optimize("""
      CREATE WORKFLOW w (msgs LIST<TEXT>) AS (r := chat (msgs)) RETURNS r;
      RUN w (msgs => ['a', 'b', 'c', 'd']) ON CLUSTER 'tiny';""", catalog=tiny_catalog)[0]
    task = plan.task("r")
    # 4 calls x 100 tokens: max(2.5 s, 4 x 100 / 400 = 1 s) per instance, whatever the
    # fan-out: the floor dominates, so one instance (2 s setup + 2.5 s) is fastest.
    assert task.candidate.latency_s == approx(4.5)
    assert task.candidate.fanout == 1


def test_interpolated_rows_keep_monotone_times(default_catalog: Catalog) -> None:
    rows = [p for p in default_catalog.profile_options("pyav-decode") if p.hardware == "EPYC-7V12-core"]
    times = [p.per_media_s for p in sorted(rows, key=lambda p: p.units)]
    assert times == sorted(times, reverse=True)
