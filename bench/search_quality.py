"""How far the job planner's searches are from the optimum, on the totals EXPLAIN reports.

Random small jobs (seeded): 1 to 5 tasks drawn from scene detection, speech-to-text,
summarisation and question answering over 1 to 3 videos of 5 to 300 s, with a random
goal (latency, energy, cost, gpus, or two of them lexicographically) and, for half of
them, an SLO on a random metric set between the best and the worst plan. Each job is
small enough for the exhaustive oracle (every candidate combination scheduled and
totalled); greedy and auto are compared with it on the first goal: gap = (plan - optimum)
/ |optimum|, 0 when the plan is optimal. Catalog: the test catalog (round numbers, one
box with 2 GPUs and 4 cores) and the shipped one on the HotOS testbed.

Run:  python bench/search_quality.py [--jobs 200] [--seed 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from murakkab.catalog.catalog import Catalog, default_catalog
from murakkab.compiler.bind import compile_script
from murakkab.compiler.job import Settings, Slo
from murakkab.compiler.physical.planner import InfeasibleError, plan_job
from murakkab.compiler.physical.objective import Objective

TINY = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tiny_catalog"
GOALS = ("latency", "energy", "cost", "gpus", "latency THEN energy", "energy THEN latency", "cost THEN latency")
# The oracle evaluates every combination: jobs with more are drawn again.
MAX_COMBINATIONS = 3_000


def random_job(rng: random.Random) -> tuple[str, str]:
    """A workflow over videos ``v`` and a question ``q``, and its goal."""
    names = {"v": ("VIDEO", True), "q": ("TEXT", False)}
    tasks = []
    for i in range(rng.randint(1, 5)):
        media = [n for n, (t, _) in names.items() if t in ("VIDEO", "SCENE")]
        texts = [n for n, (t, _) in names.items() if t == "TEXT"]
        kind = rng.choice(["scenes", "stt", "summary", "qa"])
        name = f"t{i}"
        if kind == "scenes":
            tasks.append(f"{name} := scene_detection (v)")
            names[name] = ("SCENE", True)
        elif kind == "stt":
            src = rng.choice(media)
            tasks.append(f"{name} := speech_to_text ({src})")
            names[name] = ("TEXT", names[src][1])
        elif kind == "summary" and len(texts) > 1:
            src = rng.choice([t for t in texts if t != "q"])
            tasks.append(f"{name} := summarization ({src})")
            names[name] = ("TEXT", names[src][1])
        else:
            context = rng.sample(sorted(names), k=min(len(names), rng.randint(0, 2)))
            tasks.append(f"{name} := question_answering ({', '.join(['q', *[c for c in context if c != 'q']])})")
            names[name] = ("TEXT", False)
    videos = ", ".join(f"'v{i}.mp4'" for i in range(rng.randint(1, 3)))
    duration = rng.choice([5, 30, 100, 300])
    script = (f"CREATE WORKFLOW w (v LIST<VIDEO>, q TEXT) AS ({', '.join(tasks)}) RETURNS {tasks[-1].split()[0]};\n"
              f"RUN w (v => [{videos}] ASSUMING (duration = {duration} s), q => 'why?') MINIMIZE "
              f"{rng.choice(GOALS)};")
    return script, rng.choice(["none", "latency", "energy", "cost", "quality"])


def plan(catalog: Catalog, job, solver: str):
    job = replace(job, settings=replace(job.settings, solver=solver, solver_time_limit_s=30))
    t0 = time.perf_counter()
    try:
        return plan_job(job, catalog), time.perf_counter() - t0
    except InfeasibleError:
        return None, time.perf_counter() - t0


def gap(p, optimum) -> float:
    """Relative gap on the first goal (0 when tied within the metric's tolerance)."""
    obj = Objective(p.bounds, p.goals)
    if not obj.better(optimum.estimate, p.estimate):
        return 0.0
    g = p.goals[0].metric
    a, b = p.estimate.metric(g), optimum.estimate.metric(g)
    return abs(a - b) / max(abs(b), 1e-12)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    catalogs = {"tiny (tests/fixtures)": (Catalog(seed_dir=TINY), "tiny"),
                "shipped, hotos-testbed": (default_catalog(), "hotos-testbed")}
    rng = random.Random(args.seed)
    rows: list[dict] = []
    names = list(catalogs)
    while len(rows) < args.jobs:
        label = names[len(rows) % len(names)]
        catalog, cluster = catalogs[label]
        script, slo_metric = random_job(rng)
        job = compile_script(script.rstrip(";") + f" ON CLUSTER '{cluster}';", "random.job", catalog).jobs[0]
        job = replace(job, settings=Settings(cluster=cluster, quality_floor=None))
        count = _combinations(catalog, job)
        if count > MAX_COMBINATIONS:
            continue
        if slo_metric != "none":
            lo, hi = _range(catalog, job, slo_metric)
            value = lo + rng.random() * (hi - lo)
            job = replace(job, slos=(Slo(slo_metric, value, None),))
        optimum, t_oracle = plan(catalog, job, "exhaustive")
        if optimum is None:
            continue
        greedy, t_greedy = plan(catalog, job, "greedy")
        auto, t_auto = plan(catalog, job, "auto")
        # A search that finds no plan meeting the SLOs where the oracle found one: an
        # infinite gap, counted apart ("missed").
        rows.append({"catalog": label, "goal": " THEN ".join(g.metric for g in job.goals), "slo": slo_metric,
                     "combinations": count,
                     "greedy_gap": math.inf if greedy is None else gap(greedy, optimum),
                     "auto_gap": math.inf if auto is None else gap(auto, optimum),
                     "auto_solver": None if auto is None else auto.solver, "greedy_s": t_greedy, "auto_s": t_auto, "oracle_s": t_oracle})
        if not args.json:
            print(f"\r{len(rows)}/{args.jobs} jobs", end="", file=sys.stderr, flush=True)
    if not args.json:
        print(file=sys.stderr)
    summary = {}
    for key in sorted({r["goal"] for r in rows}) + ["all"]:
        mine = [r for r in rows if key == "all" or r["goal"] == key]
        summary[key] = {"jobs": len(mine), **{
            f"{s}_{stat}": fn([r[f"{s}_gap"] for r in mine])
            for s in ("greedy", "auto")
            for stat, fn in (("mean", _finite(statistics.fmean)), ("p95", _finite(_p95)), ("max", _finite(max)),
                             ("optimal_share", lambda v: sum(1 for x in v if x == 0) / len(v)),
                             ("missed", lambda v: sum(1 for x in v if math.isinf(x))))}}
    out = {"python": platform.python_version(), "jobs": len(rows), "seed": args.seed, "by_goal": summary,
           "median_seconds": {s: statistics.median(r[f"{s}_s"] for r in rows) for s in ("greedy", "auto", "oracle")}}
    if args.json:
        # JSON has no infinity: a missed job's gap is null.
        clean = [{k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in r.items()} for r in rows]
        print(json.dumps({**out, "rows": clean}, indent=1))
        return 0
    print(f"{len(rows)} random jobs (seed {args.seed}); gap to the exhaustive optimum on the first goal, "
          "reported totals")
    print("(missed: no plan meeting the SLOs found where the oracle found one; the gaps are over the others)")
    print(f"{'goal':<22} {'jobs':>4}  {'greedy mean':>11} {'p95':>7} {'max':>7} {'optimal':>7} {'missed':>6}   "
          f"{'auto mean':>9} {'p95':>7} {'max':>7} {'optimal':>7} {'missed':>6}")
    for key, s in summary.items():
        print(f"{key:<22} {s['jobs']:>4}  {100 * s['greedy_mean']:>10.2f}% {100 * s['greedy_p95']:>6.2f}% "
              f"{100 * s['greedy_max']:>6.2f}% {100 * s['greedy_optimal_share']:>6.0f}% {s['greedy_missed']:>6}   "
              f"{100 * s['auto_mean']:>8.2f}% {100 * s['auto_p95']:>6.2f}% {100 * s['auto_max']:>6.2f}% "
              f"{100 * s['auto_optimal_share']:>6.0f}% {s['auto_missed']:>6}")
    med = out["median_seconds"]
    print(f"median planning time: greedy {med['greedy']:.3f} s, auto {med['auto']:.3f} s, "
          f"oracle {med['oracle']:.3f} s")
    return 0


def _finite(fn):
    """``fn`` over the finite values (0.0 when there are none)."""
    return lambda values: fn([v for v in values if math.isfinite(v)] or [0.0])


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _combinations(catalog: Catalog, job) -> int:
    from murakkab.compiler.physical.accuracy import quality_function
    from murakkab.compiler.physical.candidates import enumerate_candidates
    from murakkab.compiler.rules import RULES, optimize_logical

    cluster = catalog.cluster(job.cluster)
    plan = optimize_logical(job.plan, RULES, ("expand_paths",)).plan
    quality = quality_function(plan, catalog)
    return math.prod(len(enumerate_candidates(t, plan, catalog, cluster, None, quality)) for t in plan.tasks)


def _range(catalog: Catalog, job, metric_name: str) -> tuple[float, float]:
    """The best and a poor value of a metric over this job's plans (an SLO between them
    binds sometimes and is met sometimes)."""
    from murakkab.compiler.job import Goal
    from murakkab.compiler.metrics import metric

    m = metric(metric_name)
    best, _ = plan(catalog, replace(job, goals=(Goal(metric_name, m.lower_is_better),)), "greedy")
    worst, _ = plan(catalog, job, "greedy")
    a, b = best.estimate.metric(metric_name), worst.estimate.metric(metric_name)
    return (min(a, b), max(a, b) * 1.2 if m.lower_is_better else max(a, b))


if __name__ == "__main__":
    sys.exit(main())
