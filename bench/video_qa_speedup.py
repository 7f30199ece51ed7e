"""Optimized plan vs the hand-written sequential baseline, side by side, on the simulator.

The HotOS '25 comparison: the same video Q&A workflow, (a) as a hand-written workflow
runs it (baseline agents, one task at a time, no fan-out: SET parallelism = off) and
(b) as murakkab plans it (per-scene fan-out, agents and hardware chosen under the SLO).
Both run on the simulated HotOS testbed (2 x 8 A100 80GB + 2 x 96 EPYC cores).

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


def measure(path: Path, settings: Settings) -> dict:
    t0 = time.perf_counter()
    outcome = murakkab.run(path, settings=settings)[0]
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
    if args.json:
        print(json.dumps({"job": str(path), "baseline": baseline, "optimized": optimized, "ratios": ratios},
                         indent=2))
        return 0
    print(f"job: {path.name} on the simulated cluster (virtual time)")
    print(f"{'':28}{'sequential baseline':>22}{'murakkab':>22}")
    rows = [("makespan", "makespan_s", "{:,.1f} s"), ("energy", "energy_wh", "{:,.1f} Wh"),
            ("cost", "cost_usd", "${:,.2f}"), ("GPUs held (peak)", "gpus", "{}"),
            ("quality (product of agents)", "quality", "{:.3f}"),
            ("planning + simulation (wall)", "plan_and_simulate_s", "{:.2f} s")]
    for label, key, fmt in rows:
        print(f"{label:28}{fmt.format(baseline[key]):>22}{fmt.format(optimized[key]):>22}")
    for name, value in ratios.items():
        print(f"{name:38} {value:.2f}x")
    print("\nconfigurations (a task only one plan has shows '-' in the other)")
    width = max(len(t) for t in [*baseline["tasks"], *optimized["tasks"]])
    for task in dict.fromkeys([*baseline["tasks"], *optimized["tasks"]]):
        print(f"  {task:<{width}} baseline: {baseline['tasks'].get(task, '-')}")
        print(f"  {'':<{width}} murakkab: {optimized['tasks'].get(task, '-')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
