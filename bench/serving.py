"""Serving over time, side by side: the four fleet policies over the same day, and the
simulator's speed beside SimPy running the same model in the same process.

Policies (``murakkab simulate``, runtime/fleet_sim.py) on the Azure traces
(conversation -> video Q&A, code -> code generation; 70% quality >= GOOD, 30% latency
<= GOOD; 30 s videos), a day built by stretching each one-hour trace 24x at the same
rate (each request becomes 24, spread over its stretched second): stated, since the
traces hold one hour. Epochs of 60 min, new instances ready after 20 min (as OSDI),
the auto-scaler's after 60 s (a warm pool). Ratios against static next to OSDI Table 2.
Every policy re-plans on a window-by-window EWMA forecast; one more row runs joint on
OSDI's forecast (each workflow's peak and mean: ``--forecast peaks``). ``--budget``
adds the joint policy (forecast floor, min energy) within each BUDGET clause (GPUs of a
type held at once, ``cost`` in USD per hour; ``--cost-budget`` is short for a cost
alone): the budget binds the plans and the auto-scaler, and each such row reports what
it spent per hour and the minutes its budget held the auto-scaler back.

Simulator speed: the static policy (a fixed fleet, so no re-planning time is counted)
on the one-hour conversation trace (19,366 requests), once with murakkab's event loop
and once with SimPy processes (one per request, a timeout per stage) calling the same
instance model (``FleetSimulator._serve``): requests simulated per second of wall time.

Simulated against real (``--compare-real``, instead of the above): what ``murakkab serve``
deploys on this machine, a plan whose replicas run the offline stand-in agents (no GPUs
or weights here: OpenCV, PocketSphinx, extractive QA), replayed for real on Ray Serve
and in the simulator (``fleet_sim.simulate_served``) on the same trace slice, send
times, SLOs and routing seed. What this checks is the simulator's queueing and routing
model against a real deployment, not the OSDI GPU profiles. The simulator's inputs are
measured before the replay and apart from it, by sequential requests to the deployed
plan: one fixed cost per request (HTTP, ingress, handle calls: latency less the stages'
critical path, the median) and each stage's seconds in the replicas (a mean per
configuration and stage: the simulation held to the 25% target). Beside it, the same
simulation on the stage seconds measured in this process before Ray starts
(``fleet_sim.measure_stages``), and, as a diagnostic, on the replay's own stage seconds.

Table 3 over the day (``--h100-budget``, instead of the above): the joint policy within
each H100 budget, A100s unlimited, 30% latency <= FAIR (as bench/fleet.py's sweep), with
the most A100s and H100s held at once, energy, cost and SLOs met beside OSDI Table 3.

Run:  python bench/serving.py [--stretch 24] [--cost-budget USD [USD ...]] [--budget CLAUSE [CLAUSE ...]] [--json]
      python bench/serving.py --h100-budget N [N ...] [--stretch 24] [--json]
      python bench/serving.py --compare-real [--requests 20] [--speedup 0.15] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

import murakkab
from murakkab import api
from murakkab.catalog.catalog import default_catalog
from murakkab.runtime.loadgen import LoadReport
from murakkab.runtime.serve import ServePlan
from murakkab.compiler.fleet.workload import InstanceProfile
from murakkab.grammar.diagnostics import MurakkabError
from murakkab.runtime.fleet_sim import (POLICIES, Arrival, FleetSimulator, PolicyResult, SimSettings, _pick,
                                        arrivals, critical_path_s, interval_joules, interval_share,
                                        measure_stages, metered_kwh, simulate, simulate_served)

from fleet import TABLE3  # bench/fleet.py: OSDI '26 Table 3, H100 budget -> (A100, H100, MWh)

ROOT = Path(__file__).resolve().parent.parent
TRACES = ROOT / "samples" / "traces" / "azure_llm_2023"
TABLE2 = {"static": (2568, 82.1, 211.7), "static+autoscale": (2472, 80.6, 112.3), "per-pair": (1164, 27.7, 57.2),
          "joint": (912, 22.1, 47.2)}


def fleet_text(workflows: tuple[str, ...] = ("video_qa", "code_gen"), goal: str = "energy",
               budget: str = "", latency: str = "GOOD") -> str:
    """The day's PLAN FLEET statement; ``budget`` is a BUDGET clause's contents, if any."""
    items = {
        "video_qa": f"video_qa FROM TRACE '{TRACES / 'AzureLLMInferenceTrace_conv.csv'}' "
                    f"WITH SLO (70% quality >= GOOD, 30% latency <= {latency}) ASSUMING (duration = 30 s)",
        "code_gen": f"code_gen FROM TRACE '{TRACES / 'AzureLLMInferenceTrace_code.csv'}' "
                    f"WITH SLO (70% quality >= GOOD, 30% latency <= {latency})"}
    clause = f" BUDGET ({budget})" if budget else ""
    return "PLAN FLEET FOR " + ", ".join(items[w] for w in workflows) + f"{clause} MINIMIZE {goal}"


def energy_by_kind(result: PolicyResult) -> dict[str, tuple[float, float]]:
    """(kWh, GPU-hours) of a run by what held them: LLM instances (and those of them in
    intervals below the lowest measured load, where the power curve is interpolated from
    idle), tools on GPUs, tools on CPUs."""
    out: dict[str, list[float]] = {}
    for dt, profile, n, work in result.usage:
        if profile.kind == "api":
            continue
        kinds = [f"{'llm' if profile.kind == 'llm' else 'tools'} on {'GPUs' if profile.gpu else 'CPUs'}"]
        low = profile.power[1][0] if len(profile.power) > 2 else 0.0  # the lowest measured load
        share = interval_share(profile, n, dt, work)
        if profile.kind == "llm" and share is not None and share < low:
            kinds.append("  of which below the lowest measured load")
        for kind in kinds:
            acc = out.setdefault(kind, [0.0, 0.0])
            acc[0] += interval_joules(profile, n, dt, work) / 3.6e6
            acc[1] += n * dt * profile.gpus() / 3600.0
    # The "of which" line right after the LLMs on GPUs it is part of.
    order = sorted(out, key=lambda k: "llm on GPUs~" if k.startswith("  of which") else k)
    return {k: (out[k][0], out[k][1]) for k in order}


def llm_utilization(result: PolicyResult) -> float:
    """The work LLM instances were given over what the instances held could serve at
    saturation, over the whole run (the plan sizes for 1 / 1.15 of it at the busiest
    forecast window, at its operating point)."""
    work = held = 0.0
    for dt, profile, n, done in result.usage:
        if profile.kind == "llm":
            work += done
            held += n * dt * profile.saturation
    return work / held if held > 0 else 0.0


# The joint policy planned for each of Table 2's other metrics too (the rows above are all
# planned for energy, as OSDI's are): what the joint fleet gives when that metric is the goal.
OTHER_GOALS = ("cost", "gpus")


def policies(stretch: int, budgets: tuple[str, ...] = ()) -> list[dict[str, object]]:
    catalog = default_catalog()

    def day(text: str, name: str, settings: SimSettings = SimSettings()) -> PolicyResult:
        """The joint policy over the day for one fleet statement, named ``name``."""
        (fleet,) = murakkab.compile(text, catalog=catalog).fleets
        (joint,) = simulate(fleet, catalog, ("joint",), settings, stretch,
                            progress=lambda line: print(line, file=sys.stderr))
        return replace(joint, policy=name)

    (fleet,) = murakkab.compile(fleet_text(), catalog=catalog).fleets
    start = time.perf_counter()
    results = simulate(fleet, catalog, POLICIES, SimSettings(), stretch,
                       progress=lambda line: print(line, file=sys.stderr))
    wall = time.perf_counter() - start
    results += [day(fleet_text(goal=goal), f"joint, min {goal}") for goal in OTHER_GOALS]
    # The joint policy re-planning on OSDI's forecast (each workflow's peak and mean rate,
    # sized for the sum of the peaks) instead of window by window.
    results.append(day(fleet_text(), "joint, peaks fc.", SimSettings(forecast="peaks")))
    # The joint policy whose auto-scaler keeps, each window, what that window's forecast
    # needs of the plan, not the plan's count all epoch; planned for each metric too.
    for goal in ("energy", *OTHER_GOALS):
        results.append(day(fleet_text(goal=goal), f"joint, fc. floor{'' if goal == 'energy' else ', min ' + goal}",
                           SimSettings(floor="forecast")))
    refused = []
    budget_of: dict[str, str] = {}  # row name -> its BUDGET clause
    for budget in budgets:  # min energy within each BUDGET clause (held at once, and USD per hour)
        name = f"joint, fc. floor, {budget}"
        try:
            results.append(day(fleet_text(budget=budget), name, SimSettings(floor="forecast")))
            budget_of[name] = budget
        except MurakkabError as exc:  # the first epoch cannot be served within the budget
            refused.append({"refused": name, "budget": budget, "why": exc.message})
    out = [{**r.to_dict(), "budget": budget_of.get(r.policy),
            "energy_kwh_planner_line": metered_kwh(r, InstanceProfile.line_w),
            "energy_by_kind": energy_by_kind(r), "llm_utilization": llm_utilization(r)} for r in results]
    for r in out:
        # Table 2's "GPUs" is a count of GPUs, not GPU-hours: the most held at once
        # (``plan``: the most any one plan provisioned, without the auto-scaler's spikes).
        over_time = r.pop("gpus_over_time")
        r["peak_gpus"] = max((g for _, g in over_time), default=0)
        r["hours"] = over_time[-1][0] / 3600 if over_time else 0.0
    out.extend(refused)
    out.append({"wall_s": wall})
    return out


def h100_sweep(stretch: int, budgets: tuple[int, ...]) -> list[dict[str, object]]:
    """Table 3 over the day: the joint policy (forecast floor, min energy) within each
    H100 budget, A100s unlimited (OSDI: 2,000, more than this fleet ever holds), and
    unbudgeted last. Latency SLO at FAIR, as in bench/fleet.py's sweep: GOOD latency
    needs H100s for some pairs, so no fleet without H100s meets it."""
    catalog = default_catalog()
    out: list[dict[str, object]] = []
    for h100 in (*budgets, None):
        text = fleet_text(budget="" if h100 is None else f"H100 = {h100}", latency="FAIR")
        (fleet,) = murakkab.compile(text, catalog=catalog).fleets
        name = "unbudgeted" if h100 is None else f"H100 <= {h100}"
        try:
            (r,) = simulate(fleet, catalog, ("joint",), SimSettings(floor="forecast"), stretch,
                            progress=lambda line: print(f"{name}: {line}", file=sys.stderr))
        except MurakkabError as exc:
            out.append({"h100_budget": h100, "refused": exc.message})
            continue
        out.append({"h100_budget": h100, **{k: v for k, v in r.to_dict().items() if k != "gpus_over_time"},
                    "hours": r.gpus_over_time[-1][0] / 3600 if r.gpus_over_time else 0.0})
    return out


def sweep_text(rows: list[dict[str, Any]], stretch: int) -> str:
    lines = [f"H100-budget sweep over {stretch} h (joint, forecast floor, min energy; A100 unlimited; "
             "30% latency <= FAIR), beside OSDI Table 3:",
             f"  {'H100 budget':>11} {'A100 peak':>9} {'H100 peak':>9} {'GPU-h':>7} {'MWh':>6} {'k$':>6} {'p99 s':>7} "
             f"{'SLOs met':>8} {'capped min':>10}"]
    for r in rows:
        label = "none" if r["h100_budget"] is None else str(r["h100_budget"])
        if "refused" in r:
            lines.append(f"  {label:>11} no fleet: {r['refused']}")
            continue
        peak = r["peak_units"]
        lines.append(f"  {label:>11} {peak.get('A100-80GB', 0):9d} {peak.get('H100-80GB', 0):9d} "
                     f"{r['gpu_hours']:7.0f} {r['energy_kwh'] / 1000:6.3f} {r['cost_usd'] / 1000:6.2f} "
                     f"{r['overall']['p99_s']:7.0f} {100 * r['overall']['slo_attainment']:7.1f}% "
                     f"{r['budget_capped']:10d}")
    served = [r for r in rows if "refused" not in r]
    if len(served) > 1:
        first, last = served[0], served[-1]
        lines.append(f"  energy, fewest H100s / unbudgeted: {first['energy_kwh'] / last['energy_kwh']:.2f}x "
                     f"(OSDI Table 3, H100 <= 0 / H100 <= 500: {TABLE3[0][2] / TABLE3[500][2]:.2f}x)")
    lines.append("  OSDI Table 3: " + "; ".join(f"H100<={h}: {a} A100 + {hh} H100, {e} MWh"
                                              for h, (a, hh, e) in TABLE3.items()))
    return "\n".join(lines) + "\n"


def speed() -> dict[str, float]:
    catalog = default_catalog()
    (fleet,) = murakkab.compile(fleet_text(("video_qa",)), catalog=catalog).fleets
    stream = arrivals(fleet)
    ours = FleetSimulator(fleet, catalog, "static", SimSettings(autoscale=False))
    t0 = time.perf_counter()
    result = ours.run(stream)
    ours_s = time.perf_counter() - t0
    theirs = FleetSimulator(fleet, catalog, "static", SimSettings(autoscale=False))
    t0 = time.perf_counter()
    latencies = _simpy(theirs, stream)
    simpy_s = time.perf_counter() - t0
    return {"requests": len(stream), "events": result.events, "murakkab_s": ours_s, "simpy_s": simpy_s,
            "murakkab_requests_per_s": len(stream) / ours_s, "simpy_requests_per_s": len(stream) / simpy_s,
            "speedup": simpy_s / ours_s, "p50_murakkab_s": result.overall["p50_s"],
            "p50_simpy_s": sorted(latencies)[len(latencies) // 2]}


def _simpy(sim: FleetSimulator, stream: list[Arrival]) -> list[float]:
    """The same requests, stages and instance model as ``FleetSimulator.run`` for a fixed
    fleet, driven by SimPy: a process per request, a timeout per stage, stages after
    their predecessors (``simpy.AllOf``)."""
    import simpy

    env = simpy.Environment()
    workflows = sorted({a.workflow for a in stream})
    sim._apply(*sim._plan({w: [0.0] for w in workflows} | _peaks(sim, stream)), now=0.0, delay=0.0)
    shares = {w: [(pi, p.share) for pi, p in enumerate(sim.pairs) if p.workflow == w] for w in workflows}
    latencies: list[float] = []

    def stage(config, name, a, before):  # noqa: ANN001, ANN202
        if before:
            yield simpy.AllOf(env, before)
        finish = sim._start(sim._names(config)[name], name, env.now, config, a)
        yield env.timeout(finish - env.now)

    def request(a: Arrival):  # noqa: ANN202
        yield env.timeout(a.t - env.now)
        pi = _pick(sim.rng, shares[a.workflow])
        configs, fractions = sim.routing[pi]
        config = configs[_pick(sim.rng, list(enumerate(fractions)))]
        names = sim._names(config)
        after = sim._after(a.workflow)
        procs: dict[str, simpy.Process] = {}
        for name in _order(names, after):
            before = [procs[d] for d in after.get(name, ()) if d in names]
            procs[name] = env.process(stage(config, name, a, before))
        yield simpy.AllOf(env, list(procs.values()))
        latencies.append(env.now - a.t)

    for a in stream:
        env.process(request(a))
    env.run()
    return latencies


def _peaks(sim: FleetSimulator, stream: list[Arrival]) -> dict[str, list[float]]:
    counts: dict[str, list[int]] = {}
    for a in stream:
        c = counts.setdefault(a.workflow, [])
        i = int(a.t // sim.s.window_s)
        c.extend([0] * (i + 1 - len(c)))
        c[i] += 1
    return {w: [n / sim.s.window_s for n in c] for w, c in counts.items()}


def _order(names: dict[str, str], after: dict[str, tuple[str, ...]]) -> list[str]:
    done: list[str] = []
    while len(done) < len(names):
        for n in names:
            if n not in done and all(d in done for d in after.get(n, ()) if d in names):
                done.append(n)
    return done


# -- simulated against real `murakkab serve` ------------------------------------------------------
# Two SLOs (two configurations on two LLM deployments) and five deployments of one planned
# instance each: the plan's routing and DAG (frames and transcript at once) are exercised.
COMPARE_SCRIPT = ("PLAN FLEET FOR video_qa AT 30 PER minute WITH SLO (70% quality >= GOOD, 30% latency <= GOOD) "
                  "ASSUMING (duration = 5 s)")
# The kitchen sample's first scene (as tests/test_serve.py): one scene, one spoken sentence.
COMPARE_INPUTS = {"videos": [{"path": "samples/kitchen.mp4", "end_s": 2.75}], "question": "What is on the table?"}
# Sequential requests, per SLO, after deploying: the first warms the replicas (agents load
# their models on a first call); the others measure the fixed cost per request, and the
# stages in the replicas one request at a time.
WARMUP_PER_SLO, SEQUENTIAL_PER_SLO = 1, 4
TARGET = 0.25  # the bound on |simulated / real - 1|
# The trace's first 20 requests (1.5 req/s) slowed to 0.22 req/s: the transcript replica
# (2-3 s a request here, the bottleneck) is about half busy, and the trace's bursts queue;
# nearer saturation a few percent of error in a stage's seconds changes the queueing
# many-fold. About 85 s of replay, 3 minutes in all.
COMPARE_REQUESTS, COMPARE_SPEEDUP = 20, 0.15
# The simulator's sources of stage seconds, each a mean per (configuration, stage),
# measured before the replay and apart from it. The first is held to the target.
PROFILES = {"sequential": "in the replicas, one request at a time, before the replay",
            "in-process": "in this process before Ray started (fleet_sim.measure_stages)"}


def _stage_table(answers: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    """The mean seconds in the replica (``compute_s``) per (configuration, stage), as
    ``measure_stages`` gives them."""
    seconds: dict[tuple[str, str], list[float]] = {}
    for answer in answers:
        for stage, v in answer["stages"].items():
            seconds.setdefault((answer["configuration"], stage), []).append(float(v["compute_s"]))
    return {key: float(np.mean(v)) for key, v in seconds.items()}


@dataclass(frozen=True)
class RealRun:
    """What the deployed plan answered: the sequential requests' answers and fixed costs
    (latency less the stages' critical path), then the replay."""

    sequential: list[dict[str, Any]]
    overheads_s: list[float]
    replay: LoadReport
    running: dict[str, int]


def _real(sp: ServePlan, port: int, send_at: list[float], slos: list[str]) -> RealRun:
    """Deploy ``sp``; the sequential requests; the replay; shut down."""
    from murakkab.runtime.loadgen import post, replay
    from murakkab.runtime.serve import deploy

    options = {o.label: o for r in sp.routes for o in r.options}
    server = deploy(sp, port=port)
    try:
        url = server.endpoint("video_qa")
        sequential: list[dict[str, Any]] = []
        overheads: list[float] = []
        for k in range(WARMUP_PER_SLO + SEQUENTIAL_PER_SLO):
            for route in sp.routes:
                start = time.perf_counter()
                _, answer, error = post(url, {"inputs": COMPARE_INPUTS, "slo": route.slo}, 120)
                latency = time.perf_counter() - start
                if error is not None or answer is None:
                    raise RuntimeError(f"a sequential request failed: {error}")
                if k >= WARMUP_PER_SLO:
                    sequential.append(answer)
                    compute = {st: float(v["compute_s"]) for st, v in answer["stages"].items()}
                    overheads.append(latency - critical_path_s(options[answer["configuration"]], compute))
        report = replay(url, [{"inputs": COMPARE_INPUTS, "slo": slo} for slo in slos], send_at,
                        concurrency=len(send_at), timeout_s=120)
        running = server.running()
    finally:
        server.shutdown()
    return RealRun(sequential, overheads, report, running)


def compare_real(requests: int, speedup: float, max_replicas: int, seed: int) -> dict[str, Any]:
    """Replay one trace slice through a served plan for real and in the simulator (module
    docstring): the simulator once per source of stage seconds (``PROFILES``)."""
    from murakkab.runtime.loadgen import trace_slice
    from murakkab.runtime.serve import replay_slos, serve_plan

    started = time.perf_counter()
    os.environ.pop("MURAKKAB_LLM_BASE_URL", None)  # the offline agents, not an endpoint
    os.environ.pop("OPENAI_BASE_URL", None)
    (plan,) = api.plan_fleets(COMPARE_SCRIPT)
    sp = serve_plan(plan, max_replicas=max_replicas, seed=seed, media_root=ROOT)
    trace = TRACES / "AzureLLMInferenceTrace_conv.csv"
    send_at = trace_slice(trace, requests=requests, seconds=3600.0, speedup=speedup)
    slos = replay_slos(sp, "video_qa", len(send_at))  # as `murakkab serve --replay --seed` sends them
    t0 = time.perf_counter()
    (in_process,) = measure_stages(sp, "video_qa", [COMPARE_INPUTS], repeats=2)
    profile_s = time.perf_counter() - t0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    load_before = os.getloadavg()[0]
    # Ray's driver prints its workers' errors to stdout (as in serve_command): to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        run = _real(sp, port, send_at, slos)
    wall_s = time.perf_counter() - started
    overhead = float(np.median(run.overheads_s))
    real = run.replay.to_dict()
    tables = {"sequential": _stage_table(run.sequential), "in-process": in_process}
    # The ingress drew a configuration for every request it answered before the replay.
    draws = len(sp.routes) * (WARMUP_PER_SLO + SEQUENTIAL_PER_SLO)
    answers = [s.answer or {} for s in run.replay.samples]  # in send order
    # A diagnostic, not a prediction: the replay's own stage seconds show the queueing and
    # routing model apart from how well the stage seconds were measured beforehand.
    during = _stage_table([a for a in answers if "stages" in a])
    sims = {name: simulate_served(sp, "video_qa", [table], send_at, slos, overhead_s=overhead, draws_before=draws)
            for name, table in (*tables.items(), ("replay", during))}
    return {"requests": len(send_at), "speedup": speedup, "offered_rps": real["offered_rps"], "seed": seed,
            "replicas": {d.name: d.replicas for d in sp.deployments}, "running": run.running,
            "max_replicas": max_replicas, "load_average_before": load_before, "profile_s": profile_s,
            "wall_s": wall_s, "overhead_s": overhead, "overheads_s": run.overheads_s, "real": real,
            "simulated": {name: sim.to_dict() for name, sim in sims.items()},
            "same_route": sum(a.get("configuration") == o for a, o in zip(answers, sims["sequential"].options)),
            "stage_s": [{"configuration": label.split(":")[0], "stage": stage,
                         **{name: t.get((label, stage), float("nan")) for name, t in tables.items()},
                         "replay": during.get((label, stage), float("nan"))} for label, stage in in_process],
            # Per request, for a closer look (--json): sent, latency, configuration, stages.
            "samples": [{"sent_s": s.sent_s, "latency_s": s.latency_s, "simulated_s": sim_s,
                         "configuration": (s.answer or {}).get("configuration", "").split(":")[0],
                         "stages": {st: {k: v[k] for k in ("start_s", "end_s", "compute_s", "pid")}
                                    for st, v in ((s.answer or {}).get("stages") or {}).items()}}
                        for s, sim_s in zip(run.replay.samples, sims["sequential"].latencies_s)]}


def compare_text(result: dict[str, Any]) -> str:
    real = result["real"]
    lines = [f"simulated vs real `murakkab serve`: video_qa, {result['requests']} requests of the Azure "
             f"conversation trace at speed-up x{result['speedup']:g} ({result['offered_rps']:.2f} req/s offered), "
             f"seed {result['seed']}; load average {result['load_average_before']:.1f} before Ray started; "
             f"{result['wall_s']:.0f} s in all",
             "  replicas per deployment (max " + str(result["max_replicas"]) + "): "
             + ", ".join(f"{k} {v}" for k, v in result["replicas"].items()),
             f"  answered for real: {real['ok']} of {real['requests']} ({real['errors']} errors)",
             f"  {'':24} {'p50 s':>7} {'p99 s':>7} {'req/s':>7} {'SLOs met':>9}   {'p50':>6} {'p99':>6} "
             f"{'req/s':>6}  (sim / real)",
             f"  {'real':24} {real['p50_s']:7.3f} {real['p99_s']:7.3f} {real['throughput_rps']:7.3f} "
             f"{100 * real['slo_attainment']:8.0f}%"]
    for n in (*PROFILES, "replay"):
        sim = result["simulated"][n]
        ratios = [sim[k] / real[k] for k in ("p50_s", "p99_s", "throughput_rps")]
        row = (f"  {'sim, ' + n:24} {sim['p50_s']:7.3f} {sim['p99_s']:7.3f} {sim['throughput_rps']:7.3f} "
               f"{100 * sim['slo_attainment']:8.0f}%   " + " ".join(f"{r:5.2f}x" for r in ratios))
        if n == next(iter(PROFILES)):
            missed = [k for k, r in zip(("p50", "p99", "throughput"), ratios) if abs(r - 1) > TARGET]
            row += "  within 25%: " + ("all" if not missed else "NOT " + ", ".join(missed))
        elif n == "replay":
            row += "  (a diagnostic: the replay's own stage seconds)"
        lines.append(row)
    lines.append("  stage seconds of each simulation, measured before the replay and apart from it:")
    lines.extend(f"    {n}: {what}" for n, what in PROFILES.items())
    lines.append(f"  fixed cost per request (HTTP, ingress, handle calls), from the sequential requests: "
                 f"{result['overhead_s']:.3f} s (median of " + ", ".join(f"{x:.3f}" for x in result["overheads_s"])
                 + ")")
    lines.append(f"  requests the ingress routed as the simulation did: {result['same_route']} of {result['requests']}")
    lines.append(f"  stage seconds (mean) {'':15}" + "".join(f" {n:>10}" for n in PROFILES) + f" {'replay':>10}"
                 "  (replay: in the replicas during the replay; not an input)")
    for v in result["stage_s"]:
        lines.append(f"    {v['configuration'] + ' / ' + v['stage']:32}"
                     + "".join(f" {v[n]:10.3f}" for n in (*PROFILES, "replay")))
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stretch", type=int, default=24, help="hours the one-hour traces are stretched to (default 24)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cost-budget", type=float, metavar="USD", nargs="+", default=[],
                    help="add the joint policy with the forecast floor, min energy within each of these costs "
                         "per hour (a sweep; each is short for --budget 'cost = N USD')")
    ap.add_argument("--budget", metavar="CLAUSE", nargs="+", default=[],
                    help="add the joint policy with the forecast floor, min energy within each of these BUDGET "
                         "clauses, e.g. 'H100 = 160' 'H100 = 128, cost = 650 USD'")
    ap.add_argument("--h100-budget", type=int, metavar="N", nargs="+", default=None,
                    help="instead: OSDI Table 3 over the day, the joint policy within each of these H100 budgets "
                         "(and unbudgeted)")
    ap.add_argument("--compare-real", action="store_true",
                    help="instead: a served plan, simulated and on Ray Serve, on the same trace slice")
    ap.add_argument("--requests", type=int, default=COMPARE_REQUESTS,
                    help=f"with --compare-real: requests replayed (default {COMPARE_REQUESTS})")
    ap.add_argument("--speedup", type=float, default=COMPARE_SPEEDUP,
                    help=f"with --compare-real: the trace replayed this many times faster (default {COMPARE_SPEEDUP}: "
                         "slower)")
    ap.add_argument("--max-replicas", type=int, default=2, help="with --compare-real: as `murakkab serve` (default 2)")
    ap.add_argument("--seed", type=int, default=0, help="with --compare-real: the routing and SLO draws' seed")
    args = ap.parse_args()
    if args.h100_budget is not None:
        rows = h100_sweep(args.stretch, tuple(args.h100_budget))
        print(json.dumps(rows, indent=2) if args.json else sweep_text(rows, args.stretch), end="")
        return 0
    if args.compare_real:
        compared = compare_real(args.requests, args.speedup, args.max_replicas, args.seed)
        print(json.dumps(compared, indent=2) if args.json else compare_text(compared), end="" if not args.json else "\n")
        return 0
    budgets = tuple(f"cost = {usd:g} USD" for usd in args.cost_budget) + tuple(args.budget)
    result = {"policies": policies(args.stretch, budgets), "speed": speed(), "stretch": args.stretch}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    rows = [r for r in result["policies"] if "policy" in r]
    base = next(r for r in rows if r["policy"] == "static")
    w = max(28, *(len(str(r.get("policy", r.get("refused", "")))) for r in result["policies"]))
    print(f"fleet policies over {args.stretch} h of the Azure traces (stretched), side by side:")
    print(f"  {'policy':{w}} {'GPU-h':>8} {'peak':>5} {'plan':>5} {'MWh':>7} {'k$':>7} {'p50 s':>7} {'p99 s':>8} {'SLOs met':>9} "
          f"{'re-plans':>8}   {'GPU-h':>6} {'peak':>6} {'energy':>7} {'cost':>6} (static / policy)   "
          "OSDI static / policy (GPUs, energy, cost)")
    g0, e0, c0 = TABLE2["static"]
    for r in rows:
        o = r["overall"]
        osdi = TABLE2.get(r["policy"])
        paper = f"{g0 / osdi[0]:5.2f}x {e0 / osdi[1]:5.2f}x {c0 / osdi[2]:5.2f}x" if osdi else ""
        print(f"  {r['policy']:{w}} {r['gpu_hours']:8.0f} {r['peak_gpus']:5d} {r['largest_plan_gpus']:5d} "
              f"{r['energy_kwh'] / 1000:7.2f} "
              f"{r['cost_usd'] / 1000:7.2f} {o['p50_s']:7.1f} {o['p99_s']:8.1f} {100 * o['slo_attainment']:8.1f}% "
              f"{r['replans']:8d}   {base['gpu_hours'] / r['gpu_hours']:5.2f}x "
              f"{base['peak_gpus'] / r['peak_gpus']:5.2f}x {base['energy_kwh'] / r['energy_kwh']:6.2f}x "
              f"{base['cost_usd'] / r['cost_usd']:5.2f}x   {paper}".rstrip())
    for r in result["policies"]:
        if "refused" in r:
            print(f"  {r['refused']:{w}} no fleet: {r['why']}")
    for r in rows:
        if r["budget"]:  # the budget binds the auto-scaler too (runtime/fleet_sim.py)
            print(f"  {r['policy']:{w}} {r['cost_usd'] / r['hours']:,.0f} USD/h over its {r['hours']:.1f} h; the "
                  f"budget held the auto-scaler back in {r['budget_capped']:,} "
                  f"minute{'' if r['budget_capped'] == 1 else 's'}")
    by = {r["policy"]: r for r in rows}
    for floor in ("", ", fc. floor"):
        best = {m: by.get(f"joint{floor}, min {goal}", by[f"joint{floor}"])
                for m, goal in (("gpu_hours", "gpus"), ("energy_kwh", "energy"), ("cost_usd", "cost"))}
        print(f"  static / joint{floor} planned for that metric: GPU-h "
              f"{base['gpu_hours'] / best['gpu_hours']['gpu_hours']:.2f}x (OSDI 2.82x GPUs), energy "
              f"{base['energy_kwh'] / best['energy_kwh']['energy_kwh']:.2f}x (OSDI 3.71x), "
              f"cost {base['cost_usd'] / best['cost_usd']['cost_usd']:.2f}x (OSDI 4.49x)")
    print("energy metered (the measured power curves) against the planner's linear model of them, on the same runs:")
    print(f"  {'policy':{w}} {'MWh':>7} {'line':>7}  {'line / metered':>14}")
    for r in rows:
        print(f"  {r['policy']:{w}} {r['energy_kwh'] / 1000:7.2f} {r['energy_kwh_planner_line'] / 1000:7.2f}  "
              f"{r['energy_kwh_planner_line'] / r['energy_kwh']:13.3f}x")
    print("LLM instances: work given over what the instances held serve at saturation, whole run:")
    print("  " + "; ".join(f"{r['policy']} {100 * r['llm_utilization']:.0f}%" for r in rows))
    print("where the energy goes (metered; kWh over GPU-hours held):")
    for r in rows:
        if r["policy"] in ("static", "joint", "joint, fc. floor") or r["budget"]:
            print(f"  {r['policy']:{w}} " + "; ".join(f"{k.strip()} {kwh:,.0f} kWh / {gpu_h:,.0f} GPU-h"
                                                     for k, (kwh, gpu_h) in r["energy_by_kind"].items()))
    sp = result["speed"]
    print(f"simulator speed, static fleet, {sp['requests']:,} requests ({sp['events']:,} events): murakkab "
          f"{sp['murakkab_s']:.2f} s ({sp['murakkab_requests_per_s']:,.0f} requests/s), SimPy {sp['simpy_s']:.2f} s "
          f"({sp['simpy_requests_per_s']:,.0f} requests/s): {sp['speedup']:.2f}x (goal >= 3x); p50 latency "
          f"{sp['p50_murakkab_s']:.2f} s vs {sp['p50_simpy_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
