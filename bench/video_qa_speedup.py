"""Optimized plan vs the hand-written sequential baseline, side by side, on the simulator.

The HotOS '25 comparison: the same video Q&A workflow, (a) as a hand-written workflow
runs it (baseline agents, one task at a time, no fan-out: SET parallelism = off) and
(b) as murakkab plans it (per-scene fan-out, agents and hardware chosen under the SLO).
Both run on the simulated HotOS testbed (2 x 8 A100 80GB + 2 x 96 EPYC cores).

A second comparison plans the job energy-first at the baseline's quality or better
(``WITH SLO (quality >= <the baseline's>) MINIMIZE energy THEN latency``, solver auto)
and reports its energy and makespan ratios beside the HotOS paper's (155 -> 34 Wh,
283 -> 83 s on its testbed).

Run:  python bench/video_qa_speedup.py [--json] [job-file]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import murakkab
from murakkab.compiler.job import Settings

ROOT = Path(__file__).resolve().parent.parent


# HotOS '25 (Chaudhry et al.), video Q&A: the hand-written workflow vs Murakkab's plan.
HOTOS_ENERGY_WH = (155.0, 34.0)
HOTOS_MAKESPAN_S = (283.0, 83.0)


def energy_first(path: Path, quality: float) -> str:
    """The job's script, planned energy-first at ``quality`` or better by auto."""
    text = path.read_text()
    head, run = text.rsplit("RUN ", 1)
    cut = min(i for i in (run.find(" WITH SLO"), run.find("\n  WITH SLO"), run.find(" MINIMIZE"),
                          run.find("\n  MINIMIZE"), run.find(" ON CLUSTER"), run.find("\n  ON CLUSTER")) if i >= 0)
    cluster = run[run.find("ON CLUSTER"):].split(";")[0] if "ON CLUSTER" in run else ""
    return (f"SET solver = 'auto';\n{head}RUN {run[:cut]}\n  WITH SLO (quality >= {quality:.6f})"
            f"\n  MINIMIZE energy THEN latency {cluster};")


def measure(path: Path | str, settings: Settings) -> dict:
    t0 = time.perf_counter()
    outcome = murakkab.run(path, backend="sim", settings=settings)[0]
    elapsed = time.perf_counter() - t0
    result = outcome.result
    assert result is not None
    t = result.totals
    return {"makespan_s": t.makespan_s, "energy_wh": t.energy_wh, "cost_usd": t.cost_usd, "gpus": t.gpus,
            "quality": t.quality, "plan_and_simulate_s": elapsed,
            "tasks": {task.id: f"{task.candidate.agent} on {task.candidate.hardware} x{task.candidate.units}"
                               f", fan-out {task.candidate.fanout}" for task in outcome.plan.tasks}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("job", nargs="?", default=str(ROOT / "examples" / "video_qa.job"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    path = Path(args.job)
    baseline = measure(path, Settings(parallelism=False))
    optimized = measure(path, Settings())
    ratios = {
        "speedup (makespan)": baseline["makespan_s"] / optimized["makespan_s"],
        "energy ratio (baseline / optimized)": baseline["energy_wh"] / optimized["energy_wh"],
        "cost ratio (baseline / optimized)": baseline["cost_usd"] / optimized["cost_usd"],
    }
    frugal = measure(energy_first(path, baseline["quality"]), Settings(solver="auto"))
    frugal_ratios = {
        "energy ratio (baseline / energy-first)": (baseline["energy_wh"] / frugal["energy_wh"],
                                                   HOTOS_ENERGY_WH[0] / HOTOS_ENERGY_WH[1]),
        "makespan ratio (baseline / energy-first)": (baseline["makespan_s"] / frugal["makespan_s"],
                                                     HOTOS_MAKESPAN_S[0] / HOTOS_MAKESPAN_S[1]),
    }
    if args.json:
        print(json.dumps({"job": str(path), "baseline": baseline, "optimized": optimized, "ratios": ratios,
                          "energy_first": frugal,
                          "energy_first_ratios": {k: {"murakkab": a, "hotos_paper": b}
                                                  for k, (a, b) in frugal_ratios.items()}}, indent=2))
        return 0
    print(f"job: {path.name} on the simulated cluster (virtual time)")
    print(f"{'':28}{'sequential baseline':>22}{'murakkab':>22}")
    rows = [("makespan", "makespan_s", "{:,.1f} s"), ("energy", "energy_wh", "{:,.1f} Wh"),
            ("cost", "cost_usd", "${:,.2f}"), ("GPUs held (peak)", "gpus", "{}"),
            ("quality (estimated, see EXPLAIN)", "quality", "{:.3f}"),
            ("planning + simulation (wall)", "plan_and_simulate_s", "{:.2f} s")]
    for label, key, fmt in rows:
        print(f"{label:28}{fmt.format(baseline[key]):>22}{fmt.format(optimized[key]):>22}")
    for name, value in ratios.items():
        print(f"{name:38} {value:.2f}x")
    print(f"\nenergy-first at the baseline's quality or better (quality >= {baseline['quality']:.3f}, "
          "MINIMIZE energy THEN latency, solver auto)")
    print(f"{'':28}{'sequential baseline':>22}{'energy-first':>22}")
    for label, key, fmt in rows:
        print(f"{label:28}{fmt.format(baseline[key]):>22}{fmt.format(frugal[key]):>22}")
    print(f"{'':40}{'murakkab':>10}{'HotOS paper':>14}")
    for name, (ours, paper) in frugal_ratios.items():
        print(f"{name:40}{ours:>9.2f}x{paper:>13.2f}x")
    print("\nconfigurations (a task only one plan has shows '-' in the other)")
    width = max(len(t) for t in [*baseline["tasks"], *optimized["tasks"]])
    for task in dict.fromkeys([*baseline["tasks"], *optimized["tasks"]]):
        print(f"  {task:<{width}} baseline: {baseline['tasks'].get(task, '-')}")
        print(f"  {'':<{width}} murakkab: {optimized['tasks'].get(task, '-')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
