"""Planning time of a large job, stage by stage, at 100, 1,000 and 10,000 tasks.

Plans ``big_workflow(n)`` (``bench/workloads.py``) through the public API
(``murakkab.optimize`` on the script text, default greedy solver, the embedded
catalog) and splits the wall time into the pipeline's stages by wrapping, from
outside, the functions ``plan_job`` calls (``compiler/physical/planner.py``):

  parse       the job language parser (``grammar.parser.parse``)
  bind        the rest of ``murakkab.compile``: name resolution, types, cardinalities
  rules       the logical rules driver (``optimize_logical``)
  candidates  ``enumerate_candidates`` for every task
  search      the rest of ``plan_job`` before the final schedule: objective, quality
              tiers (from the candidates already enumerated), critical-path order,
              greedy placement (a candidate is placed only when a bound on its finish
              time does not prove it worse) and descent (each move it scores is a full
              re-schedule, unless a makespan bound proves it worse)
  schedule    the final schedule of the chosen plan (with shard dependencies) and its
              totals
  validate    the final sanity pass (``validate``)

The job runs on ``--cluster`` (default hotos-testbed, the cluster of every earlier
measurement: two 8-GPU, 96-core machines; 8,580 shards at 1,000 tasks), not the
Settings default, so the workload stays the same when that default changes.

Targets: 1,000 tasks in under 1 s, 10,000 in under 15 s, all stages included.

Run:  python bench/planning_scale.py [--sizes 100,1000,10000] [--quality-floor off] [--cluster NAME] [--json]
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import murakkab  # noqa: E402
import murakkab.api as api  # noqa: E402
import murakkab.compiler.bind as bind  # noqa: E402
import murakkab.compiler.physical.planner as planner  # noqa: E402
from murakkab.catalog.catalog import Catalog  # noqa: E402
from murakkab.compiler.job import Settings  # noqa: E402
from murakkab.compiler.physical.schedule import Schedule  # noqa: E402
from workloads import big_workflow  # noqa: E402

SIZES = (100, 1_000, 10_000)
CLUSTER = "hotos-testbed"
STAGES = ("parse", "bind", "rules", "candidates", "search", "schedule", "validate")


class Stopwatch:
    """Seconds spent inside wrapped functions, per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def wrap(self, module: Any, name: str, stage: Callable[..., str | None] | str) -> None:
        """Replace ``module.name`` by a timed wrapper; ``stage`` names the stage, or picks it
        from the call's arguments (None: not timed)."""
        original = getattr(module, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            label = stage(*args, **kwargs) if callable(stage) else stage
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                if label is not None:
                    self.add(label, time.perf_counter() - t0)

        setattr(module, name, timed)


def _schedule_stage(*args: Any, with_deps: bool = True, **kwargs: Any) -> str | None:
    # The search scores moves without it (schedule.placements); a call with
    # with_deps=False is a score, the final schedule keeps dependencies.
    return "schedule" if with_deps else None


def _totals_stage(*args: Any, **kwargs: Any) -> str | None:
    # totals() runs after every scored move too; only the one after the final schedule
    # belongs to that stage: it is the call whose schedule records shard dependencies.
    sched = next(a for a in (*args, *kwargs.values()) if isinstance(a, Schedule))
    return "schedule" if any(s.deps for s in sched.shards) else None


def measure(n: int, settings: Settings | None = None) -> dict[str, Any]:
    """Plan big_workflow(n) once on a fresh catalog; wall time per stage (seconds). A
    size that fails to plan reports its error and the stages it finished."""
    script = big_workflow(n)
    catalog = Catalog()
    watch = Stopwatch()
    saved = {(m, name): getattr(m, name) for m, name in (
        (bind, "parse"), (api, "compile"), (planner, "optimize_logical"), (planner, "enumerate_candidates"),
        (planner, "schedule"), (planner, "totals"), (planner, "validate"), (api, "plan_jobs"))}
    watch.wrap(bind, "parse", "parse")
    watch.wrap(api, "compile", "compile")
    watch.wrap(api, "plan_jobs", "plan")
    watch.wrap(planner, "optimize_logical", "rules")
    watch.wrap(planner, "enumerate_candidates", "candidates")
    watch.wrap(planner, "schedule", _schedule_stage)
    watch.wrap(planner, "validate", "validate")
    watch.wrap(planner, "totals", _totals_stage)
    plan, error = None, None
    t0 = time.perf_counter()
    try:
        plan = murakkab.optimize(script, catalog=catalog, settings=settings)[0]
    except Exception as exc:  # reported, not hidden: the row says FAILED and why
        error = f"{type(exc).__name__}: {exc}"
    finally:
        wall = time.perf_counter() - t0
        for (module, name), original in saved.items():
            setattr(module, name, original)
        catalog.close()
    s = watch.seconds
    stages = {
        "parse": s.get("parse", 0.0),
        "bind": s.get("compile", 0.0) - s.get("parse", 0.0),
        "rules": s.get("rules", 0.0),
        "candidates": s.get("candidates", 0.0),
        "schedule": s.get("schedule", 0.0),
        "validate": s.get("validate", 0.0),
    }
    stages["search"] = s.get("plan", 0.0) - sum(stages[k] for k in ("rules", "candidates", "schedule", "validate"))
    if plan is None:
        # plan_jobs did not return, so the search is not the remainder of a total.
        stages["search"] = float("nan")
    return {
        "tasks_written": n, "tasks_planned": len(plan.tasks) if plan else None,
        "shards": len(plan.shards) if plan else None, "plans_evaluated": plan.plans_evaluated if plan else None,
        "makespan_s": plan.estimate.makespan_s if plan else None, "error": error,
        "wall_s": wall, "stages_s": {k: stages[k] for k in STAGES},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(str(n) for n in SIZES), help="comma-separated task counts")
    ap.add_argument("--quality-floor", default=None,
                    help="SET quality_floor for the job: a tier, a number, or off (default: the Settings default)")
    ap.add_argument("--cluster", default=CLUSTER, help=f"the cluster the job runs on (default: {CLUSTER})")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    settings = Settings(cluster=args.cluster)
    if args.quality_floor is not None:
        floor = args.quality_floor
        value = None if floor.lower() == "off" else float(floor) if floor[:1].isdigit() else floor.upper()
        settings = Settings(cluster=args.cluster, quality_floor=value)
    rows = [measure(n, settings) for n in sizes]
    if args.json:
        print(json.dumps({"python": platform.python_version(), "machine": platform.machine(),
                          "quality_floor": args.quality_floor, "cluster": args.cluster, "sizes": rows}, indent=2))
        return 0
    head = f"{'tasks':>7} {'shards':>7} " + " ".join(f"{k:>10}" for k in STAGES) + f" {'total':>9}"
    print("wall seconds per stage (murakkab.optimize on big_workflow(n), greedy solver)")
    print(head)
    for r in rows:
        cells = " ".join(f"{r['stages_s'][k]:>10.3f}" for k in STAGES)
        if r["error"] is None:
            print(f"{r['tasks_planned']:>7,} {r['shards']:>7,} {cells} {r['wall_s']:>9.3f}")
        else:
            print(f"{r['tasks_written']:>7,} {'-':>7} {cells} {r['wall_s']:>9.3f}  FAILED: {r['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
