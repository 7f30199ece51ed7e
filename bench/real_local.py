"""Real runs on this machine: the sequential baseline against murakkab's plan, the
estimate error, and the executor's overhead per task.

1. The video Q&A workflow on the bundled samples, run for real twice with an empty
   cache: as a hand-written workflow runs it (SET parallelism = off: one task at a
   time, fixed configuration, no fan-out) and as murakkab plans it. Side by side, with
   the speedup (on 2 cores the limit is about 2x).
2. The median estimation error of task latencies (EXPLAIN ANALYZE) of the optimized run,
   on the catalog's shipped profiles and again after ``refit`` learned the agents'
   profiles and the statistics item counts are estimated from (``refit_statistics``)
   from the runs so far on this machine (the baseline and two optimized runs; every run
   records its observations in the catalog).
3. Executor overhead, local and Ray: a chain of near-empty calls, wall seconds per shard.

Run:  python bench/real_local.py [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import murakkab
from murakkab.catalog.catalog import Catalog
from murakkab.catalog.cardinality import refit_statistics
from murakkab.catalog.refit import refit
from murakkab.compiler.explain import analyze
from murakkab.compiler.job import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "video_qa_samples.job"


def timed_run(catalog: Catalog, settings: Settings) -> tuple[float, object]:
    """Plan and run with an empty cache; the run's observations go into ``catalog``."""
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        outcome = murakkab.run(SAMPLES, backend="local", catalog=catalog, settings=settings, cache_dir=Path(cache))[0]
        return time.perf_counter() - t0, outcome


def median_error(outcome) -> float:  # type: ignore[no-untyped-def]
    median = analyze(outcome.plan, outcome.result)[1]
    assert median is not None, "the run timed no task"
    return median


def overhead(tasks: int = 40, backend: str = "local") -> float:
    """Wall seconds per shard of a chain of near-empty calls (planning and Ray start
    excluded): each task answers a question from a one-sentence context with the
    built-in extractive-qa agent (~1 ms of work), so the time is the executor's."""
    chain = ", ".join(f"a{i} := question_answering (q, {'c' if i == 0 else f'a{i - 1}'}) "
                      "USING (agent = 'extractive-qa')" for i in range(tasks))
    script = (f"CREATE WORKFLOW w (q TEXT, c TEXT) AS ({chain}) RETURNS a{tasks - 1};\n"
              "RUN w (q => 'what?', c => 'It is a test.') ON CLUSTER 'local';")
    catalog = Catalog()
    plan = murakkab.optimize(script, catalog=catalog)[0]
    from murakkab.runtime.local import LocalExecutor

    with tempfile.TemporaryDirectory() as cache:
        if backend == "ray":
            from murakkab.runtime.ray_executor import RayExecutor, shutdown

            executor = RayExecutor(catalog, cache_dir=Path(cache), use_cache=False)
        else:
            executor = LocalExecutor(catalog, cache_dir=Path(cache), use_cache=False)
        t0 = time.perf_counter()
        result = executor.run(plan)
        wall = time.perf_counter() - t0
        if backend == "ray":
            shutdown()
    return wall / len(result.timeline)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    catalog = Catalog()
    base_s, base = timed_run(catalog, Settings(parallelism=False))
    opt_s, opt = timed_run(catalog, Settings())
    timed_run(catalog, Settings())  # a second optimized run, for observations
    refitted = [c for c in refit(catalog, min_observations=3) if not c.skipped]
    learned_stats = [c for c in refit_statistics(catalog) if not c.skipped]
    learned_s, learned = timed_run(catalog, Settings())
    report = {
        "cores": os.cpu_count(),
        "baseline_wall_s": round(base_s, 2), "optimized_wall_s": round(opt_s, 2),
        "speedup": round(base_s / opt_s, 2),
        "baseline_answer": dict(base.result.outputs).get("answer"),
        "optimized_answer": dict(opt.result.outputs).get("answer"),
        "median_estimate_error": round(median_error(opt), 3),
        "profiles_refitted": len(refitted),
        "statistics_refitted": {c.key: [c.old_value, c.new_value] for c in learned_stats},
        "refitted_wall_s": round(learned_s, 2),
        "median_estimate_error_after_refit": round(median_error(learned), 3),
        "overhead_per_shard_s": round(overhead(), 4),
        "ray_overhead_per_shard_s": round(overhead(backend="ray"), 4),
        "plans": {name: {t.id: f"{t.candidate.agent} x{t.candidate.units}, fan-out {t.candidate.fanout}"
                         for t in o.plan.tasks}
                  for name, o in (("baseline", base), ("optimized", opt), ("after refit", learned))},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"video Q&A on the samples, real agents, {report['cores']} cores, empty cache")
    print(f"  sequential baseline  {base_s:7.2f} s   answer: {report['baseline_answer']}")
    print(f"  murakkab             {opt_s:7.2f} s   answer: {report['optimized_answer']}")
    print(f"  speedup              {report['speedup']:.2f}x")
    print(f"  median estimation error of task latency (optimized run): {100 * report['median_estimate_error']:.0f}% "
          f"on the shipped profiles, {100 * report['median_estimate_error_after_refit']:.0f}% after refitting "
          f"{report['profiles_refitted']} profiles and "
          + (", ".join(f"{k} {old:g} -> {new:g}" for k, (old, new) in report["statistics_refitted"].items())
             or "no statistic")
          + f" from this machine's runs (that run: {learned_s:.2f} s)")
    print(f"  executor overhead per shard (no-op agents): local {1000 * report['overhead_per_shard_s']:.1f} ms, "
          f"Ray {1000 * report['ray_overhead_per_shard_s']:.1f} ms")
    for name, plan in report["plans"].items():
        print(f"  {name} plan: " + "; ".join(f"{k}: {v}" for k, v in plan.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
