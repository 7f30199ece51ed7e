"""Serving over time (runtime/fleet_sim.py): forecasts, epochs, the auto-scaler, and a
replay that a seed makes deterministic; the `simulate` command as users run it."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import murakkab
from murakkab.catalog.catalog import Catalog, default_catalog
from murakkab.grammar.diagnostics import MurakkabError
from murakkab.runtime.fleet_sim import (Arrival, FleetSimulator, SimSettings, _ewma, _peak_and_mean, arrivals,
                                        metered_kwh)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def _fleet(catalog: Catalog, text: str = "PLAN FLEET FOR code_gen AT 1 PER second WITH SLO (quality >= FAIR)"):
    (fleet,) = murakkab.compile(text, catalog=catalog).fleets
    return fleet


def _step(before: float, after: float, minutes: int, step_at: int) -> list[Arrival]:
    """Evenly spaced code_gen requests: ``before`` per second, then ``after`` from minute ``step_at``."""
    out, t = [], 0.0
    while t < 60 * minutes:
        rate = before if t < 60 * step_at else after
        out.append(Arrival(t, "code_gen", 1.0))
        t += 1.0 / rate
    return out


def test_ewma_weighs_what_was_seen_and_what_was_forecast_by_alpha() -> None:
    assert _ewma([10.0, 10.0], [20.0, 0.0], 0.5, 2) == [15.0, 5.0]
    assert _ewma([4.0], [8.0, 8.0], 0.5, 2) == [6.0, 6.0]  # a shorter forecast extends its last window


@given(peak=st.floats(0.0, 100.0), share=st.floats(0.0, 1.0), n=st.integers(1, 120))
def test_a_peaks_forecast_keeps_its_peak_and_its_mean(peak: float, share: float, n: int) -> None:
    windows = _peak_and_mean(peak, peak * share, n)
    assert len(windows) == n and max(windows) == pytest.approx(peak)
    if n > 1 and peak * share * n >= peak:  # the mean is reachable with one window at the peak
        assert sum(windows) / n == pytest.approx(peak * share)


def test_epochs_replan_for_the_forecast_and_new_instances_wait_for_provisioning(catalog: Catalog) -> None:
    stream = _step(1.0, 3.0, minutes=30, step_at=10)
    sim = FleetSimulator(_fleet(catalog), catalog, "joint",
                         SimSettings(epoch_s=600, provision_s=120, autoscale=False, deviation=10.0))
    result = sim.run(stream)
    assert result.replans == 2  # at 10 and 20 minutes (the run ends at 30)
    gpus = dict(result.gpus_over_time)
    # Epoch 2 is planned on EWMA(first epoch, what epoch 2 forecast): 1 req/s, the same
    # fleet; epoch 3 sees the step (3 req/s) and asks for more, ready 2 minutes later.
    assert gpus[600.0] == gpus[60.0] < gpus[1200.0]
    ready = [i.ready for p in sim.pools.values() for i in p.instances]
    assert max(ready) == pytest.approx(1200.0 + 120.0)


def test_a_re_plan_is_told_the_fleet_it_holds_and_what_dropping_an_instance_costs(
        catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    from murakkab.runtime import fleet_sim

    problems, held = [], []
    real = fleet_sim.solve

    def spy(problem):  # noqa: ANN001, ANN202
        problems.append(problem)
        held.append({k: sum(1 for i in pool.instances if i.retire == math.inf) for k, pool in sim.pools.items()})
        return real(problem)

    monkeypatch.setattr(fleet_sim, "solve", spy)
    sim = FleetSimulator(_fleet(catalog), catalog, "joint",
                         SimSettings(epoch_s=600, provision_s=120, autoscale=False, deviation=10.0))
    sim.run(_step(1.0, 3.0, minutes=20, step_at=10))
    assert len(problems) == 2 and problems[0].current == {}
    assert problems[1].current == {k: n for k, n in held[1].items() if n} != {}
    assert problems[1].drop_share == pytest.approx(120 / 600)


def test_the_autoscaler_adds_capacity_within_a_window_and_never_goes_below_the_plan(catalog: Catalog) -> None:
    stream = _step(1.0, 8.0, minutes=20, step_at=5)
    # Epochs of 5 minutes: the first plan sees 1 req/s; the re-plan at 300 s forecasts by
    # EWMA from it (the same fleet); the step at 300 s is the auto-scaler's to meet.
    settings = SimSettings(epoch_s=300, provision_s=1200, scale_delay_s=30, deviation=10.0)
    sim = FleetSimulator(_fleet(catalog), catalog, "joint", settings)
    result = sim.run(stream)
    timeline = result.gpus_over_time
    planned = timeline[0][1]
    assert all(g >= planned for _, g in timeline)  # never below the plan
    # The step comes at 300 s: by the end of the next window the scaler has added GPUs.
    assert dict(timeline)[360.0] > planned
    calm = FleetSimulator(_fleet(catalog), catalog, "joint", SimSettings(epoch_s=300, provision_s=1200,
                                                                         autoscale=False, deviation=10.0))
    assert dict(calm.run(stream).gpus_over_time)[360.0] == planned


@pytest.mark.parametrize("budget", ["H100 = 16", "cost = 60 USD"])
def test_the_autoscaler_stays_within_the_statements_budgets(catalog: Catalog, budget: str) -> None:
    # A step from 1 to 8 requests/s that the 5-minute epochs' forecast lags: unbudgeted,
    # the auto-scaler holds 28 H100s at once and spends more than 60 USD an hour.
    settings = SimSettings(epoch_s=300, provision_s=1200, scale_delay_s=30, deviation=10.0)
    text = "PLAN FLEET FOR code_gen AT 1 PER second WITH SLO (quality >= FAIR)"
    free = FleetSimulator(_fleet(catalog, text), catalog, "joint", settings).run(_step(1.0, 8.0, 20, 5))
    bound = FleetSimulator(_fleet(catalog, f"{text} BUDGET ({budget})"), catalog, "joint",
                           settings).run(_step(1.0, 8.0, 20, 5))

    def per_hour(r):  # noqa: ANN001, ANN202 - USD per hour held, over the whole run
        return r.cost_usd / (r.gpus_over_time[-1][0] / 3600)

    if budget.startswith("H100"):
        assert free.peak_units["H100-80GB"] > 16 >= bound.peak_units["H100-80GB"]
    else:
        assert per_hour(free) > 60 >= per_hour(bound)
    assert free.budget_capped == 0 < bound.budget_capped
    assert bound.notes[0] == f"the budgets held the auto-scaler back in {bound.budget_capped} of 20 windows"
    assert bound.to_dict()["budget_capped"] == bound.budget_capped
    assert bound.overall["requests"] == free.overall["requests"]  # slower, but every request is served


@st.composite
def _budgeted_days(draw: st.DrawFn) -> tuple[str, SimSettings, list[Arrival]]:
    """A joint fleet with a GPU budget and a stream whose rate steps as a burst would."""
    stream, t = [], 0.0
    for rate in draw(st.lists(st.sampled_from([0.2, 1.0, 3.0, 6.0]), min_size=2, max_size=4)):
        end = t + draw(st.sampled_from([120.0, 300.0]))
        while t < end:
            stream.append(Arrival(t, "code_gen", draw(st.sampled_from([0.5, 1.0, 2.0]))))
            t += 1.0 / rate
    budget = f"{draw(st.sampled_from(['H100', 'A100']))} = {draw(st.sampled_from([4, 8, 12, 16]))}"
    # Provisioning as long as two epochs, and early re-plans a minute apart: a re-plan
    # then meets instances an earlier one dropped and still holds.
    settings = SimSettings(epoch_s=draw(st.sampled_from([120.0, 300.0, 600.0])),
                           provision_s=draw(st.sampled_from([60.0, 300.0, 600.0])), scale_delay_s=30.0,
                           floor=draw(st.sampled_from(["plan", "forecast"])), replan_gap_s=60.0,
                           deviation=draw(st.sampled_from([0.3, 10.0])))
    return budget, settings, stream


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_budgeted_days())
def test_the_joint_policy_never_holds_more_gpus_than_its_budget(day: tuple[str, SimSettings, list[Arrival]]) -> None:
    budget, settings, stream = day
    catalog = default_catalog()
    text = "PLAN FLEET FOR code_gen AT 1 PER second WITH SLO (70% quality >= FAIR, 30% latency <= BASIC)"
    try:
        fleet = _fleet(catalog, f"{text} BUDGET ({budget})")
        result = FleetSimulator(fleet, catalog, "joint", settings).run(stream)
    except MurakkabError:  # the first epoch cannot be served within the budget
        return
    hw, units = budget.split(" = ")
    assert result.peak_units.get(f"{hw}-80GB", 0) <= int(units)


def test_a_new_plan_is_made_before_the_old_one_is_broken(catalog: Catalog) -> None:
    # The second plan moves the load onto a profile with no instance: until it is ready
    # (20 minutes), requests keep the first plan's configuration and its instances stay;
    # none waits for provisioning, and the old instances leave once the new ones serve.
    sim = FleetSimulator(_fleet(catalog), catalog, "joint",
                         SimSettings(epoch_s=600, provision_s=1200, autoscale=False, deviation=10.0))
    configs = sim.catalogue.configs["code_gen"]
    first = min((c for c in configs if "A100" in dict(c.stages)["llm"]), key=lambda c: c.latency_s)
    second = min((c for c in configs if "H100" in dict(c.stages)["llm"]), key=lambda c: c.latency_s)
    assert max(first.latency_s, second.latency_s) < 60.0

    def sized(config):  # noqa: ANN001, ANN202 - generous: no queueing at 1 request/s
        return {k: 2 + int(2 * w / sim.catalogue.profiles[k].capacity) for k, w in config.work}

    plans = iter([(sized(first), {0: [(first, 1.0)]})] + [(sized(second), {0: [(second, 1.0)]})] * 5)
    sim._plan = lambda rates: next(plans)  # type: ignore[method-assign]
    result = sim.run(_step(1.0, 1.0, minutes=40, step_at=0))
    assert result.replans >= 2 and result.overall["p99_s"] < 120.0  # waiting for provisioning: up to 1,200 s
    old = dict(first.stages)["llm"]
    gpus = dict(result.gpus_over_time)
    assert gpus[1200.0] > gpus[60.0]  # both fleets held while the new one is provisioned
    assert old not in {k for k, p in sim.pools.items() if p.instances}  # gone once it served


def test_a_trace_replays_its_requests_with_their_tokens(tmp_path: Path, catalog: Catalog) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("TIMESTAMP,GeneratedTokens\n2023-11-16 18:00:00,100\n2023-11-16 18:00:01,300\n")
    fleet = _fleet(catalog, f"PLAN FLEET FOR code_gen FROM TRACE '{trace}'")
    stream = arrivals(fleet, stretch=2, seed=1)
    # Each request becomes two within its stretched second; tokens scale by request / mean.
    assert [a.scale for a in stream] == [0.5, 0.5, 1.5, 1.5]
    assert all(0 <= a.t < 2 for a in stream[:2]) and all(2 <= a.t < 4 for a in stream[2:])


def test_a_replay_is_deterministic_for_a_seed(catalog: Catalog) -> None:
    fleet = _fleet(catalog, "PLAN FLEET FOR code_gen AT 2 PER second WITH SLO (70% quality >= FAIR, "
                            "30% latency <= BASIC)")
    one = arrivals(fleet, seed=3, duration_s=600)
    assert one == arrivals(fleet, seed=3, duration_s=600) != arrivals(fleet, seed=4, duration_s=600)
    runs = [FleetSimulator(fleet, catalog, "per-pair", SimSettings(epoch_s=300, seed=3)).run(one).to_dict()
            for _ in range(2)]
    assert runs[0] == runs[1] and runs[0]["overall"]["requests"] == len(one)


def test_simulate_command_compares_the_four_policies(tmp_path: Path) -> None:
    script = tmp_path / "f.job"
    script.write_text("PLAN FLEET FOR code_gen AT 1 PER second WITH SLO (70% quality >= FAIR, 30% latency <= BASIC),"
                      " video_qa AT 1 PER second ASSUMING (duration = 10 s);\n")
    plot = tmp_path / "gpus.svg"
    out = subprocess.run([sys.executable, "-m", "murakkab", "simulate", str(script), "--epoch", "5", "--provision",
                          "1", "--duration", "10", "--format", "json", "--plot", str(plot), "--forecast", "peaks",
                          "--floor", "forecast"],
                         cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    results = {r["policy"]: r for r in json.loads(out.stdout)}
    assert set(results) == {"static", "static+autoscale", "per-pair", "joint"}
    for r in results.values():
        assert r["overall"]["requests"] > 0 and r["gpu_hours"] > 0 and r["energy_kwh"] > 0
        assert set(r["workflows"]) == {"code_gen", "video_qa"}
    assert plot.read_text().startswith("<svg") and "joint" in plot.read_text()


def test_simulate_command_says_what_each_policy_held_and_when_the_budget_held_it_back(tmp_path: Path) -> None:
    # 3 requests/s (Poisson, seed 0) on at most 8 H100s: a burst the auto-scaler would
    # meet with more H100s is met with A100s instead, and once the budget holds it back.
    script = tmp_path / "f.job"
    script.write_text("PLAN FLEET FOR code_gen AT 3 PER second WITH SLO (quality >= FAIR) BUDGET (H100 = 8);\n")
    base = [sys.executable, "-m", "murakkab", "simulate", str(script), "--policy", "joint", "--epoch", "5",
            "--duration", "10", "--scale-delay", "30"]
    text = subprocess.run(base, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert text.returncode == 0, text.stderr
    held = text.stdout.split("most held at once (GPUs, or cores of a CPU type):\n")[1].splitlines()[0]
    assert held.startswith("  joint ") and "H100-80GB" in held
    (result,) = json.loads(subprocess.run(base + ["--format", "json"], cwd=ROOT, capture_output=True, text=True,
                                          timeout=600).stdout)
    assert held.endswith(", ".join(f"{hw} {n:,}" for hw, n in sorted(result["peak_units"].items())))
    assert result["peak_units"]["H100-80GB"] <= 8 and result["budget_capped"] >= 1
    assert f"joint: the budgets held the auto-scaler back in {result['budget_capped']:,} of" in text.stdout


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rate=st.sampled_from([0.2, 1.0, 3.0]), policy=st.sampled_from(["static", "static+autoscale", "per-pair", "joint"]),
       epoch=st.sampled_from([300.0, 600.0]), provision=st.sampled_from([0.0, 120.0, 1200.0]),
       autoscale=st.booleans(), step=st.sampled_from([1.0, 4.0]), seed=st.integers(0, 3),
       floor=st.sampled_from(["plan", "forecast"]))
def test_every_request_is_served_and_gpu_hours_are_what_was_held(catalog: Catalog, rate: float, policy: str,
                                                                 epoch: float, provision: float, autoscale: bool,
                                                                 step: float, seed: int, floor: str) -> None:
    # Whatever the policy, epochs, provisioning and load step: every request ends, after it
    # arrived, and the GPU-hours reported are the GPUs held over time (the timeline's area).
    fleet = _fleet(catalog, f"PLAN FLEET FOR code_gen AT {rate} PER second WITH SLO (70% quality >= FAIR, "
                            "30% latency <= BASIC)")
    stream = _step(rate, rate * step, minutes=20, step_at=8)
    sim = FleetSimulator(fleet, catalog, policy, SimSettings(epoch_s=epoch, provision_s=provision,
                                                             autoscale=autoscale, seed=seed, floor=floor))
    result = sim.run(stream)
    assert result.overall["requests"] == len(stream)
    assert 0 < result.overall["p50_s"] <= result.overall["p99_s"] < math.inf
    timeline = result.gpus_over_time
    area = sum(g * (t1 - t0) for (t0, g), (t1, _) in zip(timeline, timeline[1:])) / 3600.0
    assert result.gpu_hours == pytest.approx(area, rel=1e-9, abs=1e-9)
    # A plan's instances are held from the moment it is made (new ones while provisioned).
    assert 0 < result.largest_plan_gpus <= max(g for _, g in timeline)
    # Re-metering the run's usage with the simulator's own power model gives its energy;
    # a model that draws more at every load gives more.
    assert metered_kwh(result) == pytest.approx(result.energy_kwh, rel=1e-9, abs=1e-12)
    assert metered_kwh(result, lambda p, share: p.held_w + 1.0) > metered_kwh(result, lambda p, share: p.held_w)


def _video_plans(sim: FleetSimulator):  # noqa: ANN202
    """Two fleets for video Q&A whose LLMs are on different profiles, each generous."""
    configs = sim.catalogue.configs["video_qa"]
    first = min(configs, key=lambda c: c.latency_s)
    second = min((c for c in configs if dict(c.stages)["llm"] != dict(first.stages)["llm"]), key=lambda c: c.latency_s)

    def sized(config):  # noqa: ANN001, ANN202
        return {k: 2 + int(2 * w / sim.catalogue.profiles[k].capacity) for k, w in config.work}

    return first, (sized(first), {0: [(first, 1.0)]}), (sized(second), {0: [(second, 1.0)]})


def test_a_dropped_profile_drains_the_requests_routed_to_it(catalog: Catalog) -> None:
    # Video Q&A runs its tools before its LLM. A request routed by the first plan just
    # before that plan's LLM instances leave still needs them once its tools are done: they
    # stay until it is served (it used to find none and wait for a new one).
    fleet = _fleet(catalog, "PLAN FLEET FOR video_qa AT 1 PER second WITH SLO (quality >= FAIR) "
                            "ASSUMING (duration = 30 s)")
    sim = FleetSimulator(fleet, catalog, "joint", SimSettings(epoch_s=600, provision_s=60, autoscale=False,
                                                              deviation=10.0))
    first, one, two = _video_plans(sim)
    plans = iter([one] + [two] * 5)
    sim._plan = lambda rates: next(plans)  # type: ignore[method-assign]
    stream = [Arrival(t / 2, "video_qa", 1.0) for t in range(2 * 15 * 60)]
    result = sim.run(stream)
    assert result.replans == 1
    assert not [n for n in result.notes if "no instance" in n], result.notes
    assert result.overall["p99_s"] < first.latency_s + 60.0  # none waited for a new instance
    old = dict(first.stages)["llm"]
    assert not sim.pools[old].instances and sim.in_flight[old] == 0  # drained, then gone


def test_a_workflow_forecast_at_no_load_keeps_instances(catalog: Catalog) -> None:
    # Code generation sends nothing for the first epoch, then one request a second: the
    # plan for the quiet epoch still keeps it instances (and prices its routing), so its
    # requests never wait for provisioning.
    fleet = _fleet(catalog, "PLAN FLEET FOR code_gen AT 1 PER second WITH SLO (quality >= FAIR), "
                            "video_qa AT 1 PER second ASSUMING (duration = 10 s)")
    video = [Arrival(float(t), "video_qa", 1.0) for t in range(20 * 60)]
    code = [Arrival(600.0 + t, "code_gen", 1.0) for t in range(10 * 60)]
    sim = FleetSimulator(fleet, catalog, "joint", SimSettings(epoch_s=600, provision_s=1200, deviation=10.0))
    result = sim.run(sorted(video + code, key=lambda a: a.t))
    assert not [n for n in result.notes if "no instance" in n], result.notes
    assert result.workflows["code_gen"]["p99_s"] < 600.0


@pytest.mark.parametrize("forecast", ["windows", "peaks"])
def test_each_forecast_replans_for_a_step_in_load(catalog: Catalog, forecast: str) -> None:
    stream = _step(1.0, 3.0, minutes=30, step_at=10)
    sim = FleetSimulator(_fleet(catalog), catalog, "joint",
                         SimSettings(epoch_s=600, provision_s=120, autoscale=False, deviation=10.0, forecast=forecast))
    gpus = dict(sim.run(stream).gpus_over_time)
    assert gpus[600.0] == gpus[60.0] < gpus[1200.0]
    with pytest.raises(ValueError, match="unknown forecast"):
        FleetSimulator(_fleet(catalog), catalog, "joint", SimSettings(forecast="tomorrow"))


def test_a_plot_that_cannot_be_written_loses_no_results(tmp_path: Path) -> None:
    script = tmp_path / "f.job"
    script.write_text("PLAN FLEET FOR code_gen AT 1 PER second;\n")
    args = [sys.executable, "-m", "murakkab", "simulate", str(script), "--epoch", "5", "--duration", "5",
            "--policy", "joint", "--plot"]
    # A wrong kind of file is refused before the simulation runs.
    early = subprocess.run(args + [str(tmp_path / "gpus.pdf")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert early.returncode == 2 and early.stdout == "" and "name the file .svg or .png" in early.stderr
    folder = subprocess.run(args + [str(tmp_path / "no" / "gpus.svg")], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert folder.returncode == 2 and folder.stdout == "" and "does not exist" in folder.stderr
    # One that fails only when written comes after the results (here the folder goes
    # read-only mid-run, which a check before cannot see; the module path stands in).
    done = subprocess.run(
        [sys.executable, "-c", "import sys, murakkab.runtime.fleet_sim as f; "
         "f.write_plot = lambda results, path: (_ for _ in ()).throw(OSError('disk full')); "
         "from murakkab.cli import main; sys.exit(main(sys.argv[1:]))", *args[3:], str(tmp_path / "gpus.svg")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "joint" in done.stdout and "disk full" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_fleet_of_api_models_uses_no_gpus_and_its_ratios_say_so(tmp_path: Path) -> None:
    """An LLM behind an API holds no GPU: the ratio against static is "-", not a crash,
    and an endpoint nothing is routed to is not part of the fleet."""
    apis = tmp_path / "apis.csv"
    apis.write_text("model,usd_per_mtok,rate_limit_tps,ttft_s,tpot_s,source\n"
                    "Gemma-3-27B,0.3,100000,0.3,0.01,test\nPhi-4,0.1,100000,0.3,0.01,test\n"
                    "DeepSeek-R1-Distill-Qwen-32B,0.3,100000,0.3,0.01,test\n")
    db = tmp_path / "c.db"
    murakkab_cli = [sys.executable, "-m", "murakkab"]
    subprocess.run(murakkab_cli + ["catalog", "import", str(apis), "--table", "llm_apis", "--catalog", str(db)],
                   cwd=ROOT, check=True, capture_output=True, timeout=120)
    script = tmp_path / "f.job"
    script.write_text("PLAN FLEET FOR code_gen AT 1 PER second WITH SLO (quality >= FAIR) MINIMIZE cost;\n")
    explain = subprocess.run(murakkab_cli + ["explain", str(script), "--catalog", str(db), "--format", "json"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert explain.returncode == 0, explain.stderr
    plan = json.loads(explain.stdout)
    instances = {i["profile"]: i for i in plan["instances"]}
    assert "Gemma-3-27B API" in instances and "DeepSeek-R1-Distill-Qwen-32B API" not in instances
    assert all(i["peak_load"] > 0 for i in plan["instances"])
    out = subprocess.run(murakkab_cli + ["simulate", str(script), "--catalog", str(db), "--duration", "5",
                                         "--policy", "static", "--policy", "joint"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    header, static, joint = out.stdout.splitlines()[:3]
    assert "static/policy" in header
    assert static.split()[-3:] == ["1.00x", "1.00x", "1.00x"]
    gpu_ratio, energy_ratio, cost_ratio = joint.split()[-3:]
    assert gpu_ratio == "-" and float(cost_ratio.rstrip("x")) > 1


@pytest.mark.parametrize("flags, says", [
    (["--duration", "1e9"], "requests"),        # billions of Poisson arrivals
    (["--stretch", "100000000", "--duration", "60"], None),  # a fixed rate ignores --stretch: runs
    (["--epoch", "1e-9"], "shorter than a load window"),
    (["--window", "1e-6"], "load windows"),
    (["--epoch", "1", "--duration", "10000", "--window", "1"], "re-plans"),
])
def test_simulate_refuses_settings_that_would_run_for_days(tmp_path: Path, flags: list[str], says: str | None) -> None:
    script = tmp_path / "f.job"
    script.write_text("PLAN FLEET FOR code_gen AT 1 PER second;\n")
    args = [sys.executable, "-m", "murakkab", "simulate", str(script), "--policy", "static"] + flags
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if says is None:
        assert out.returncode == 0, out.stderr
        return
    assert out.returncode == 2 and out.stderr.startswith("error: ") and says in out.stderr, out.stderr
    assert "hint:" in out.stderr and "Traceback" not in out.stderr


def test_a_forecast_floor_follows_the_load_within_the_epoch(catalog: Catalog) -> None:
    """Three requests a second for 10 minutes, then one: the plan is sized for the busy
    part all epoch; with floor "forecast" the quiet part keeps only what its load needs
    (and the busy part its plan), so the run holds fewer GPU-hours at no later p50."""
    stream = _step(3.0, 1.0, minutes=20, step_at=10)
    runs = {}
    for floor in ("plan", "forecast"):
        sim = FleetSimulator(_fleet(catalog), catalog, "joint",
                             SimSettings(epoch_s=1200, provision_s=1200, deviation=10.0, floor=floor))
        runs[floor] = sim.run(stream)
        gpus = dict(runs[floor].gpus_over_time)
        if floor == "forecast":
            assert gpus[1140.0] < gpus[300.0] == dict(runs["plan"].gpus_over_time)[300.0]
    assert runs["forecast"].gpu_hours < runs["plan"].gpu_hours
    assert runs["forecast"].energy_kwh < runs["plan"].energy_kwh
    with pytest.raises(ValueError, match="unknown floor"):
        FleetSimulator(_fleet(catalog), catalog, "joint", SimSettings(floor="zero"))


def test_simulate_says_where_a_fleet_its_first_epoch_cannot_meet_is(tmp_path: Path) -> None:
    script = tmp_path / "tight.job"
    script.write_text("-- a cost budget no fleet fits\nPLAN FLEET FOR code_gen AT 60 PER minute\n"
                      "  BUDGET (cost = 1 USD) MINIMIZE energy;\n")
    done = subprocess.run([sys.executable, "-m", "murakkab", "simulate", str(script), "--policy", "joint"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 3 and done.stdout == "", done.stderr
    assert done.stderr.startswith(f"{script}:2:1: error: no fleet meets every SLO within the budgets: policy joint, "
                                  "first epoch: budget cost <= 1 USD/h: the SLOs need at least "), done.stderr
    assert "Traceback" not in done.stderr and "hint: " in done.stderr



def test_the_h100_sweep_bench_runs_as_documented_and_keeps_each_budget() -> None:
    # bench/serving.py --h100-budget (OSDI Table 3 over time) on a one-hour day: every
    # budgeted row holds at most its H100s at once; the unbudgeted row comes last.
    done = subprocess.run([sys.executable, "bench/serving.py", "--stretch", "1", "--h100-budget", "0", "8", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["h100_budget"] for r in rows] == [0, 8, None]
    for r in rows[:-1]:
        assert r["peak_units"].get("H100-80GB", 0) <= r["h100_budget"]
        assert r["overall"]["requests"] == rows[-1]["overall"]["requests"] > 0
    assert rows[-1]["peak_units"].get("H100-80GB", 0) > 8  # unbudgeted, the day wants more than 8


def test_the_day_bench_adds_a_row_per_budget_clause_and_each_keeps_it() -> None:
    # bench/serving.py --budget (and --cost-budget, its shorthand) on a one-hour day: a
    # row per clause, named by it, within its GPUs held at once; a budget no fleet fits
    # is a refused row with the diagnosis, not a crash.
    done = subprocess.run([sys.executable, "bench/serving.py", "--stretch", "1", "--cost-budget", "60",
                           "--budget", "H100 = 16", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["policies"]
    refused = [r for r in rows if "refused" in r]
    assert [(r["refused"], r["budget"]) for r in refused] == [("joint, fc. floor, cost = 60 USD", "cost = 60 USD")]
    assert "budget cost <= 60 USD/h: the SLOs need at least" in refused[0]["why"]
    by = {r["policy"]: r for r in rows if "policy" in r}
    capped = by["joint, fc. floor, H100 = 16"]
    assert capped["budget"] == "H100 = 16" and by["joint, fc. floor"]["budget"] is None
    assert capped["peak_units"]["H100-80GB"] <= 16 < by["joint, fc. floor"]["peak_units"]["H100-80GB"]
    assert capped["overall"]["requests"] == by["static"]["overall"]["requests"] > 0
