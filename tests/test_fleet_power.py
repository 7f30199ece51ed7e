"""Serving power: an LLM instance's measured power against its load (catalog
``energy_per_token`` rows with their throughput), metered by the simulator as measured
and planned by the MILP as the least-squares line through it."""

from __future__ import annotations

import pytest

from murakkab.catalog.catalog import Catalog
from murakkab.compiler.fleet.workload import InstanceProfile, held_and_busy, llm_profiles, power_curve
from murakkab.runtime.fleet_sim import interval_joules


def test_a_tp4_instance_draws_the_measured_70b_curve_scaled_to_its_gpus() -> None:
    cat = Catalog()
    h100, a100 = cat.hardware("H100-80GB"), cat.hardware("A100-80GB")
    curve, said = power_curve(cat, h100, 4)
    # 4 x 70 W idle, then ML.ENERGY's Llama-3.1-70B on 4 x H100: 3.759 J/token at 470
    # tokens/s ... 0.373 J/token at 6,827 tokens/s (its top).
    assert curve[0] == (0.0, 280.0)
    assert curve[1] == pytest.approx((470 / 6827, 3.759 * 470))
    assert curve[-1] == pytest.approx((1.0, 0.373 * 6827))
    assert "Llama-3.1-70B on 4 x H100-80GB" in said
    # On A100s the same fractions of the GPUs' active power (4 x 400 W against 4 x 700 W).
    on_a100, _ = power_curve(cat, a100, 4)
    assert on_a100[0] == (0.0, 200.0)
    assert on_a100[-1][1] == pytest.approx(0.373 * 6827 * 1600 / 2800)
    # Eight GPUs: the nearest measured unit count (4), twice the power.
    assert power_curve(cat, h100, 8)[0][-1][1] == pytest.approx(2 * 0.373 * 6827)


def test_one_gpu_takes_the_8b_curve_and_no_measured_curve_is_linear() -> None:
    cat = Catalog()
    h100 = cat.hardware("H100-80GB")
    curve, said = power_curve(cat, h100, 1)
    assert curve[-1] == pytest.approx((1.0, 0.07 * 9806)) and "Llama-3.1-8B" in said
    cat.execute("DELETE FROM energy_per_token")
    cat.reload()
    assert power_curve(cat, h100, 2) == (((0.0, 140.0), (1.0, 1400.0)),
                                         "linear from the GPUs' idle to their active power (no measured curve)")


def test_the_planners_line_is_least_squares_through_the_measured_points() -> None:
    # Two measured points: the line through them, whatever the idle point says.
    held, busy = held_and_busy(((0.0, 10.0), (0.5, 60.0), (1.0, 100.0)), saturation=200.0)
    assert held == pytest.approx(20.0) and busy == pytest.approx(80.0 / 200.0)
    # Never below idle, never falling with load.
    held, busy = held_and_busy(((0.0, 50.0), (0.5, 40.0), (1.0, 30.0)), saturation=100.0)
    assert held == pytest.approx(50.0) and busy == 0.0


def test_the_line_stays_within_4_percent_of_the_active_power_at_every_measured_point() -> None:
    """The claim in compiler/fleet/workload.py's docstring, on every shipped profile."""
    cat = Catalog()
    checked = 0
    for model in ("Gemma-3-27B", "NVLM-D-72B", "Phi-4", "DeepSeek-R1-Distill-Qwen-32B"):
        for p in llm_profiles(cat, model, ("A100-80GB", "H100-80GB")):
            active = p.units * cat.hardware(p.hardware).active_w
            for share, watts in p.power[1:]:
                line = p.held_w + p.busy_j_per_work * share * p.saturation
                assert abs(line - watts) <= 0.04 * active, (p.key, share)
                checked += 1
    assert checked > 0


def test_the_simulator_meters_the_curve_and_work_without_an_instance_by_the_line() -> None:
    p = InstanceProfile("m", "llm", "m", "G", 1, True, 100.0, 20.0, 0.4, 1.0,
                        power=((0.0, 10.0), (0.5, 60.0), (1.0, 100.0)))
    # Two instances for 60 s serving 3,000 tokens: a quarter of their 12,000 at saturation.
    assert interval_joules(p, 2, 60.0, 3000.0) == pytest.approx(2 * 60 * 35.0)
    assert interval_joules(p, 2, 60.0, 0.0) == pytest.approx(2 * 60 * 10.0)  # idle, held
    assert interval_joules(p, 0, 60.0, 3000.0) == pytest.approx(0.4 * 3000)
    assert p.watts(2.0) == 100.0  # flat beyond saturation
