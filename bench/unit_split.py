"""CP-SAT with and without splitting a small pool of identical units into its units.

The CP-SAT model (compiler/scheduling/cpsat.py, constraint 5) adds, for a small pool of
identical units whose holders need one unit each and whose times are not whole seconds,
an optional interval per unit with NoOverlap on each unit (redundant with the pool's
cumulative, so no optimum changes). This runs both models side by side on the same
instances and limit: the WfCommons instances (times in ms) on 4 and 8 cores, where the
split is on, and whole-second STG graphs on 4 and 8 processors, where it is off by the
rule but is forced here to show why. Per row: makespan, proven or gap, seconds.

Run:  python bench/unit_split.py [--limit 10] [--graphs 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import murakkab.compiler.scheduling.cpsat as cpsat
from murakkab.compiler.scheduling.formats import read_stg, read_wfformat
from murakkab.compiler.scheduling.problem import Problem

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "scheduling"


def _run(problem: Problem, split: bool | None, limit: float) -> dict[str, float | bool]:
    """CP-SAT on ``problem``: the shipped rule (``split`` None), or the split forced on or off."""
    saved = cpsat.UNIT_SPLIT_HOLDERS, cpsat.UNIT_SPLIT_WHOLE_SECONDS
    try:
        if split is not None:
            cpsat.UNIT_SPLIT_HOLDERS = cpsat.UNIT_SPLIT_HOLDERS if split else 0
            cpsat.UNIT_SPLIT_WHOLE_SECONDS = split
        start = time.perf_counter()
        r = cpsat.solve_cpsat(problem, time_limit_s=limit)
        return {"makespan_s": r.totals.makespan_s, "optimal": r.optimal, "gap": r.gap,
                "seconds": time.perf_counter() - start}
    finally:
        cpsat.UNIT_SPLIT_HOLDERS, cpsat.UNIT_SPLIT_WHOLE_SECONDS = saved


def _cell(r: dict[str, float | bool]) -> str:
    status = "opt" if r["optimal"] else f"gap {100 * float(r['gap']):.1f}%"
    return f"{float(r['makespan_s']):9.3f} ({status}, {float(r['seconds']):5.2f} s)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=float, default=10.0, help="seconds per solve (default 10)")
    ap.add_argument("--graphs", type=int, default=10, help="STG graphs (default 10)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    instances = [(p.stem, c, read_wfformat(p, c), None) for p in sorted((FIXTURES / "wfinstances").glob("*.json"))
                 for c in (4, 8)]
    instances += [(p.stem, c, read_stg(p, c), True) for p in sorted((FIXTURES / "stg" / "50").glob("*.stg"))[:args.graphs]
                  for c in (4, 8)]
    if not args.json:
        print(f"CP-SAT without and with the unit split, {args.limit:g} s limit "
              "(STG: the split forced on, the shipped rule leaves it off):")
    for name, units, problem, force in instances:
        off = _run(problem, False, args.limit)
        on = _run(problem, force, args.limit)
        rows.append({"instance": name, "units": units, "tasks": len(problem.tasks), "without": off, "with": on})
        if not args.json:
            print(f"  {name[:40]:<40} x{units}  without {_cell(off)}   with {_cell(on)}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for kind, test in (("WfCommons", lambda r: not r["instance"].startswith("rand")),
                       ("STG", lambda r: r["instance"].startswith("rand"))):
        chosen = [r for r in rows if test(r)]
        proven = [sum(bool(r[k]["optimal"]) for r in chosen) for k in ("without", "with")]
        seconds = [sum(float(r[k]["seconds"]) for r in chosen) for k in ("without", "with")]
        print(f"{kind}: proven {proven[0]} -> {proven[1]} of {len(chosen)}; seconds in all "
              f"{seconds[0]:.1f} -> {seconds[1]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
