"""How much of planning a large workflow is spent in catalog access.

Wraps every public method of one Catalog instance with a timer, plans a synthetic
workflow of N tasks with it (bind, rewrite, enumerate, search, schedule), and reports
the share of the wall time spent inside catalog calls. Target: under 10%.

Run:  python bench/catalog_lookup.py [--tasks 1000] [--json]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import murakkab  # noqa: E402
from murakkab.catalog.catalog import Catalog  # noqa: E402
from murakkab.compiler.job import Settings  # noqa: E402
from workloads import big_workflow  # noqa: E402

API = ("interfaces", "interface", "agents", "agent", "hardware", "all_hardware", "cluster", "clusters", "profiles",
       "profile_options", "profile", "llm_curve", "statistic", "statistics", "templates", "workflow_quality")


def instrument(catalog: Catalog) -> dict[str, list[float]]:
    """Replace the API methods of ``catalog`` (this instance only) by timed wrappers."""
    stats: dict[str, list[float]] = {name: [0, 0.0] for name in API}

    for name in API:
        method = getattr(catalog, name)

        @functools.wraps(method)
        def timed(*args, _method=method, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                entry = stats[_name]
                entry[0] += 1
                entry[1] += time.perf_counter() - t0

        setattr(catalog, name, timed)
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    catalog = Catalog()
    stats = instrument(catalog)
    script = big_workflow(args.tasks)
    t0 = time.perf_counter()
    # The HotOS testbed, the cluster of the recorded numbers (the default is this machine).
    plan = murakkab.optimize(script, catalog=catalog, settings=Settings(cluster="hotos-testbed"))[0]
    wall = time.perf_counter() - t0
    in_catalog = sum(s[1] for s in stats.values())
    calls = sum(int(s[0]) for s in stats.values())
    report = {
        "tasks_written": args.tasks, "tasks_planned": len(plan.tasks), "shards": len(plan.shards),
        "plans_evaluated": plan.plans_evaluated, "planning_wall_s": round(wall, 3),
        "catalog_s": round(in_catalog, 4), "catalog_share": round(in_catalog / wall, 4), "catalog_calls": calls,
        "by_method": {k: {"calls": int(v[0]), "seconds": round(v[1], 4)} for k, v in stats.items() if v[0]},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"planned {report['tasks_planned']} live tasks ({args.tasks} written; {report['shards']} shards, "
          f"{report['plans_evaluated']} plans evaluated) in {wall:.2f} s")
    print(f"catalog access: {calls:,} calls, {in_catalog * 1000:.1f} ms = {100 * in_catalog / wall:.2f}% of planning "
          f"(target < 10%)")
    for name, entry in sorted(report["by_method"].items(), key=lambda kv: -kv[1]["seconds"]):
        print(f"  {name:<16} {entry['calls']:>8,} calls  {entry['seconds'] * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
