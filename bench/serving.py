"""Serving over time, side by side: the four fleet policies over the same day, and the
simulator's speed beside SimPy running the same model in the same process.

Policies (``murakkab simulate``, runtime/fleet_sim.py) on the Azure traces
(conversation -> video Q&A, code -> code generation; 70% quality >= GOOD, 30% latency
<= GOOD; 30 s videos), a day built by stretching each one-hour trace 24x at the same
rate (each request becomes 24, spread over its stretched second): stated, since the
traces hold one hour. Epochs of 60 min, new instances ready after 20 min (as OSDI),
the auto-scaler's after 60 s (a warm pool). Ratios against static next to OSDI Table 2.

Simulator speed: the static policy (a fixed fleet, so no re-planning time is counted)
on the one-hour conversation trace (19,366 requests), once with murakkab's event loop
and once with SimPy processes (one per request, a timeout per stage) calling the same
instance model (``FleetSimulator._serve``): requests simulated per second of wall time.

Run:  python bench/serving.py [--stretch 24] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import murakkab
from murakkab.catalog.catalog import default_catalog
from murakkab.runtime.fleet_sim import (POLICIES, Arrival, FleetSimulator, SimSettings, _pick, arrivals,
                                        simulate)

ROOT = Path(__file__).resolve().parent.parent
TRACES = ROOT / "samples" / "traces" / "azure_llm_2023"
TABLE2 = {"static": (2568, 82.1, 211.7), "static+autoscale": (2472, 80.6, 112.3), "per-pair": (1164, 27.7, 57.2),
          "joint": (912, 22.1, 47.2)}


def fleet_text(workflows: tuple[str, ...] = ("video_qa", "code_gen")) -> str:
    items = {
        "video_qa": f"video_qa FROM TRACE '{TRACES / 'AzureLLMInferenceTrace_conv.csv'}' "
                    "WITH SLO (70% quality >= GOOD, 30% latency <= GOOD) ASSUMING (duration = 30 s)",
        "code_gen": f"code_gen FROM TRACE '{TRACES / 'AzureLLMInferenceTrace_code.csv'}' "
                    "WITH SLO (70% quality >= GOOD, 30% latency <= GOOD)"}
    return "PLAN FLEET FOR " + ", ".join(items[w] for w in workflows) + " MINIMIZE energy"


def policies(stretch: int) -> list[dict[str, object]]:
    catalog = default_catalog()
    (fleet,) = murakkab.compile(fleet_text(), catalog=catalog).fleets
    start = time.perf_counter()
    results = simulate(fleet, catalog, POLICIES, SimSettings(), stretch,
                       progress=lambda line: print(line, file=sys.stderr))
    wall = time.perf_counter() - start
    out = [r.to_dict() for r in results]
    for r in out:
        r.pop("gpus_over_time")
    out.append({"wall_s": wall})
    return out


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stretch", type=int, default=24, help="hours the one-hour traces are stretched to (default 24)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = {"policies": policies(args.stretch), "speed": speed(), "stretch": args.stretch}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    rows = [r for r in result["policies"] if "policy" in r]
    base = next(r for r in rows if r["policy"] == "static")
    print(f"fleet policies over {args.stretch} h of the Azure traces (stretched), side by side:")
    print(f"  {'policy':17} {'GPU-h':>8} {'MWh':>7} {'k$':>7} {'p50 s':>7} {'p99 s':>8} {'SLOs met':>9} "
          f"{'re-plans':>8}   {'GPU-h':>6} {'energy':>7} {'cost':>6} (static / policy)   OSDI static / policy")
    g0, e0, c0 = TABLE2["static"]
    for r in rows:
        o = r["overall"]
        g, e, c = TABLE2[r["policy"]]
        print(f"  {r['policy']:17} {r['gpu_hours']:8.0f} {r['energy_kwh'] / 1000:7.2f} {r['cost_usd'] / 1000:7.2f} "
              f"{o['p50_s']:7.1f} {o['p99_s']:8.1f} {100 * o['slo_attainment']:8.1f}% {r['replans']:8d}   "
              f"{base['gpu_hours'] / r['gpu_hours']:5.2f}x {base['energy_kwh'] / r['energy_kwh']:6.2f}x "
              f"{base['cost_usd'] / r['cost_usd']:5.2f}x   {g0 / g:5.2f}x {e0 / e:5.2f}x {c0 / c:5.2f}x")
    sp = result["speed"]
    print(f"simulator speed, static fleet, {sp['requests']:,} requests ({sp['events']:,} events): murakkab "
          f"{sp['murakkab_s']:.2f} s ({sp['murakkab_requests_per_s']:,.0f} requests/s), SimPy {sp['simpy_s']:.2f} s "
          f"({sp['simpy_requests_per_s']:,.0f} requests/s): {sp['speedup']:.2f}x (goal >= 3x); p50 latency "
          f"{sp['p50_murakkab_s']:.2f} s vs {sp['p50_simpy_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
