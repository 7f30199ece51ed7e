"""How close HEFT and the MILP get to the published optima of the STG 50-task graphs.

All 40 graphs of tests/fixtures/scheduling/stg (Standard Task Graph Set, Kasahara Lab)
on 2, 4, 8 and 16 identical processors: HEFT, and the MILP with a time limit per instance
(MIP start from HEFT; ``auto`` formulation unless told otherwise, and the table says how
many instances it solved with the time-indexed model). Per processor count it reports how often the MILP matched the
published optimum, proved optimality, or stopped with a gap; that its lower bound never
exceeds the optimum (a check of the formulation); and HEFT's mean and worst gap to the
optimum. Where the published optimum is open (``lower,upper``), the MILP's proven value,
if any, serves as the optimum and the row is listed.

Run:  python bench/stg_optimum.py [--time-limit 10] [--backend cbc|highs]
                                  [--formulation auto|disjunctive|time-indexed]
                                  [--procs 2,4,8,16] [--graphs 40] [--jobs 1] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from murakkab.compiler.scheduling.formats import read_stg
from murakkab.compiler.scheduling.greedy import solve_greedy
from murakkab.compiler.scheduling.ilp import BACKENDS, FORMULATIONS, solve_ilp
from murakkab.compiler.scheduling.validate import validate

STG = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "scheduling" / "stg"
PROCS = (2, 4, 8, 16)


def published() -> dict[tuple[str, int], tuple[float, float]]:
    """(graph, processors) -> (lower, upper) of the optimum; equal when it is proven."""
    out = {}
    for path in sorted((STG / "optimal_values").glob("Case50_*_OPT.csv")):
        with open(path, newline="") as f:
            for row in csv.reader(f):
                if row:
                    values = [float(v) for v in row[2:]]
                    out[(Path(row[0]).name, int(row[1]))] = (values[0], values[-1])
    return out


def run_one(job: tuple[str, int, float, str, str]) -> dict:
    graph, procs, limit, backend, formulation = job
    problem = read_stg(STG / "50" / graph, procs)
    greedy = solve_greedy(problem)
    exact = solve_ilp(problem, time_limit_s=limit, backend=backend, incumbent=greedy, formulation=formulation)
    for r in (greedy, exact):
        problems = validate(problem, r.solution, totals=r.totals)
        if problems:
            raise AssertionError(f"{graph} on {procs}: {r.solver} schedule invalid: {problems[:3]}")
    return {"graph": graph, "procs": procs, "greedy": greedy.totals.makespan_s, "greedy_s": greedy.seconds,
            "ilp": exact.totals.makespan_s, "ilp_optimal": exact.optimal, "ilp_lower_bound": exact.lower_bound,
            "ilp_gap": exact.gap, "ilp_s": exact.seconds,
            "formulation": "time-indexed" if "time-indexed" in exact.note else "disjunctive"}


def summarise(rows: list[dict], known: dict[tuple[str, int], tuple[float, float]]) -> dict:
    by_procs: dict[int, dict] = {}
    open_rows = []
    for procs in sorted({r["procs"] for r in rows}):
        mine = [r for r in rows if r["procs"] == procs]
        matched = proved = gaps = bound_errors = greedy_opt = 0
        greedy_gaps, ilp_gaps, ilp_times = [], [], []
        for r in mine:
            lower, upper = known[(r["graph"], procs)]
            proven = lower == upper
            if not proven:
                open_rows.append({**r, "published_lower": lower, "published_upper": upper})
            optimum = lower if proven else (r["ilp"] if r["ilp_optimal"] else upper)
            matched += proven and r["ilp"] == optimum
            proved += r["ilp_optimal"]
            if not r["ilp_optimal"]:
                gaps += 1
                ilp_gaps.append(r["ilp_gap"])
            # A lower bound above a proven optimum (or an optimum below it) would be a bug.
            bound_errors += r["ilp_lower_bound"] > upper + 1e-6 or (proven and r["ilp"] < lower - 1e-6)
            greedy_gaps.append((r["greedy"] - optimum) / optimum)
            greedy_opt += r["greedy"] == optimum
            ilp_times.append(r["ilp_s"])
        by_procs[procs] = {
            "instances": len(mine),
            "ilp_matched_published_optimum": matched,
            "published_optimum_proven": sum(known[(r["graph"], procs)][0] == known[(r["graph"], procs)][1]
                                            for r in mine),
            "ilp_proved_optimal": proved,
            "ilp_stopped_with_gap": gaps,
            "ilp_mean_gap_when_stopped": sum(ilp_gaps) / len(ilp_gaps) if ilp_gaps else 0.0,
            "ilp_bound_inconsistencies": bound_errors,
            "ilp_mean_s": sum(ilp_times) / len(ilp_times),
            "ilp_time_indexed": sum(r["formulation"] == "time-indexed" for r in mine),
            "ilp_max_s": max(ilp_times),
            "greedy_optimal": greedy_opt,
            "greedy_mean_gap": sum(greedy_gaps) / len(greedy_gaps),
            "greedy_worst_gap": max(greedy_gaps),
        }
    return {"by_procs": by_procs, "open_instances": open_rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=10.0, help="MILP seconds per instance (default 10)")
    ap.add_argument("--backend", choices=BACKENDS, default="cbc")
    ap.add_argument("--formulation", choices=FORMULATIONS, default="auto")
    ap.add_argument("--procs", default=",".join(map(str, PROCS)))
    ap.add_argument("--graphs", type=int, default=40, help="the first N graphs (default all 40)")
    ap.add_argument("--jobs", type=int, default=1, help="instances solved in parallel (default 1)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    known = published()
    graphs = sorted(p.name for p in (STG / "50").glob("*.stg"))[: args.graphs]
    jobs = [(g, int(m), args.time_limit, args.backend, args.formulation) for m in args.procs.split(",") for g in graphs]
    t0 = time.perf_counter()
    rows: list[dict] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for row in pool.map(run_one, jobs):
            rows.append(row)
            if not args.json:
                lower, upper = known[(row["graph"], row["procs"])]
                opt = f"{lower:g}" if lower == upper else f"{lower:g}..{upper:g}"
                status = "optimal" if row["ilp_optimal"] else f"gap {100 * row['ilp_gap']:.1f}%"
                print(f"{row['graph']} x{row['procs']:<2}  published {opt:>8}  HEFT {row['greedy']:>5g}  "
                      f"MILP {row['ilp']:>5g} ({status}, bound {row['ilp_lower_bound']:g}, {row['ilp_s']:.1f} s, "
                      f"{row['formulation']})",
                      flush=True)
    summary = summarise(rows, known)
    report = {"machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
              "backend": args.backend, "formulation": args.formulation, "time_limit_s": args.time_limit,
              "jobs": args.jobs,
              "wall_s": time.perf_counter() - t0, **summary, "rows": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"\nMILP ({args.formulation}, {args.backend}, {args.time_limit:g} s per instance, {args.jobs} at a time); "
          f"wall {report['wall_s']:.0f} s")
    print(f"{'procs':>5} {'n':>3} {'MILP=opt':>8} {'proved':>6} {'gap':>4} {'mean gap':>8} {'bad bound':>9} "
          f"{'mean s':>6} {'max s':>6} {'TI':>3} {'HEFT=opt':>8} {'HEFT mean':>9} {'HEFT worst':>10}")
    for procs, s in summary["by_procs"].items():
        print(f"{procs:>5} {s['instances']:>3} "
              f"{s['ilp_matched_published_optimum']:>4}/{s['published_optimum_proven']:<3} "
              f"{s['ilp_proved_optimal']:>6} {s['ilp_stopped_with_gap']:>4} "
              f"{100 * s['ilp_mean_gap_when_stopped']:>7.2f}% "
              f"{s['ilp_bound_inconsistencies']:>9} {s['ilp_mean_s']:>6.1f} {s['ilp_max_s']:>6.1f} "
              f"{s['ilp_time_indexed']:>3} {s['greedy_optimal']:>8} "
              f"{100 * s['greedy_mean_gap']:>8.2f}% {100 * s['greedy_worst_gap']:>9.2f}%")
    for r in summary["open_instances"]:
        proof = "proven optimal" if r["ilp_optimal"] else f"bound {r['ilp_lower_bound']:g}"
        print(f"open instance {r['graph']} on {r['procs']}: published "
              f"{r['published_lower']:g}..{r['published_upper']:g}; MILP {r['ilp']:g} ({proof})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
