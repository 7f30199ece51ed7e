"""CP-SAT, the MILP and HEFT side by side: published optima, real workflows, DAG size.

Four sections, each with every solver on the same instances and the same time limit
(model building included):

- ``heft``: the HEFT paper's example (Topcuoglu et al. 2002): the time to prove 73.
- ``stg``: the 40 STG 50-task graphs (tests/fixtures/scheduling/stg) on 2, 4, 8 and 16
  processors against the published optima: per processor count and solver, the share of
  proven optima reached, how many it proved, the median and largest time, and the worst
  overrun of the limit (time / limit). A solver bound above a published optimum would be a
  bug and is counted.
- ``wf``: the WfCommons instances (tests/fixtures/scheduling/wfinstances) on 4 and 8
  cores: makespan, proven or gap, time.
- ``layered``: random layered DAGs of 100 to 10,000 tasks (1-3 options on three pools):
  HEFT's planning time at every size; CP-SAT and the MILP at every size up to the first
  at which they neither prove optimality nor improve on HEFT within the limit.

Run:  python bench/optimizer_scaling.py [--quick] [--sections heft,stg,wf,layered]
          [--limit 10] [--layered-limit 60] [--procs 2,4,8,16] [--graphs 40]
          [--sizes 100,300,1000,3000,10000] [--workers 2] [--backend highs|cbc] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

from stg_optimum import STG, published

from murakkab.compiler.scheduling.cpsat import WORKERS, solve_cpsat
from murakkab.compiler.scheduling.formats import read_heft, read_stg, read_wfformat
from murakkab.compiler.scheduling.greedy import solve_greedy
from murakkab.compiler.scheduling.ilp import BACKENDS, default_backend, solve_ilp
from murakkab.compiler.scheduling.problem import Edge, Option, Pool, Problem, Result, Task
from murakkab.compiler.scheduling.validate import validate

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "scheduling"
HEFT = FIXTURES / "heft_topcuoglu2002"
WF = sorted((FIXTURES / "wfinstances").glob("*.json"))
SIZES = (100, 300, 1000, 3000, 10000)
PROCS = (2, 4, 8, 16)
CORES = (4, 8)
POOLS = (Pool("cpu", 8), Pool("gpu-a", 4, gpu=True), Pool("gpu-b", 2, gpu=True))
SOLVERS = ("greedy", "cpsat", "milp")


def layered_dag(n: int, seed: int) -> Problem:
    """A random layered DAG of ``n`` tasks in about sqrt(n) / 2 layers (at least 3), so
    layers are wider than the 14 units of the pools and the pools, not the critical path,
    limit the makespan. Each task has a CPU option and, each with probability 1/2, faster
    options on two GPU kinds; a 1 s transfer whenever an edge crosses pools."""
    rng = random.Random(seed)
    depth = max(3, round(n ** 0.5 / 2))
    width = -(-n // depth)
    tasks: list[Task] = []
    edges: list[Edge] = []
    layers: list[list[int]] = []
    for t in range(n):
        if not layers or len(layers[-1]) >= width:
            layers.append([])
        base = float(rng.randint(5, 60))
        options = [Option("cpu", base, units=rng.choice((1, 1, 2)), energy_wh=base * 0.05, cost_usd=base * 0.0001,
                          label="cpu")]
        for pool, speedup in (("gpu-a", 4.0), ("gpu-b", 8.0)):
            if len(options) < 3 and rng.random() < 0.5:
                options.append(Option(pool, round(base / speedup, 1), units=1, energy_wh=base / speedup * 0.3,
                                      cost_usd=base / speedup * 0.001, label=pool))
        tasks.append(Task(f"t{t}", tuple(options)))
        if len(layers) > 1:
            for parent in rng.sample(layers[-2], min(len(layers[-2]), rng.randint(1, 3))):
                a, b = tasks[parent].options, options
                table = tuple(tuple(0.0 if x.pool == y.pool else 1.0 for y in b) for x in a)
                edges.append(Edge(f"t{parent}", f"t{t}", table))
        layers[-1].append(t)
    return Problem(f"layered-{n}", POOLS, tuple(tasks), tuple(edges))


def run(problem: Problem, solver: str, limit: float, args: argparse.Namespace, greedy: Result) -> dict:
    """One solver on one instance: makespan, proof, bound and time (wall, as the caller sees it)."""
    t0 = time.perf_counter()
    try:
        if solver == "greedy":
            r = greedy
        elif solver == "cpsat":
            r = solve_cpsat(problem, time_limit_s=limit, workers=args.workers, incumbent=greedy)
        else:
            r = solve_ilp(problem, time_limit_s=limit, backend=args.backend, incumbent=greedy)
    except Exception as exc:  # noqa: BLE001 - a bench records the failure and goes on
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - t0}
    wall = greedy.seconds if solver == "greedy" else time.perf_counter() - t0
    bad = validate(problem, r.solution, totals=r.totals)
    if bad:
        raise AssertionError(f"{problem.name}: {solver} schedule invalid: {bad[:3]}")
    return {"makespan": r.totals.makespan_s, "optimal": r.optimal, "lower_bound": r.lower_bound, "gap": r.gap,
            "seconds": wall}


def section_heft(args: argparse.Namespace, say: Callable[[str], None]) -> dict:
    problem = read_heft(HEFT)
    greedy = solve_greedy(problem)
    out = {s: run(problem, s, 60.0, args, greedy) for s in SOLVERS}
    say("HEFT example (Topcuoglu 2002; HEFT 80): " + "; ".join(
        f"{s} {r['makespan']:g}{' proven' if r['optimal'] else ''} in {r['seconds']:.2f} s" for s, r in out.items()))
    return out


def section_stg(args: argparse.Namespace, say: Callable[[str], None]) -> dict:
    known = published()
    graphs = sorted(p.name for p in (STG / "50").glob("*.stg"))[: args.graphs]
    rows = []
    for procs in args.procs:
        for g in graphs:
            problem = read_stg(STG / "50" / g, procs)
            greedy = solve_greedy(problem)
            row = {"graph": g, "procs": procs, **{s: run(problem, s, args.limit, args, greedy) for s in SOLVERS}}
            rows.append(row)
            lower, upper = known[(g, procs)]
            say(f"{g} x{procs:<2} published {lower:g}{'' if lower == upper else '..%g' % upper}  " + "  ".join(
                f"{s} {_short(row[s])}" for s in SOLVERS))
    summary = {}
    say(f"\nSTG 50-task graphs, {args.limit:g} s limit per instance (CP-SAT {args.workers} workers, MILP "
        f"{args.backend}):")
    say(f"{'procs':>5} {'solver':<7} {'=opt':>7} {'proved':>6} {'median s':>9} {'max s':>7} {'max/limit':>9} "
        f"{'bad bound':>9}")
    for procs in args.procs:
        mine = [r for r in rows if r["procs"] == procs]
        proven = [r for r in mine if known[(r["graph"], procs)][0] == known[(r["graph"], procs)][1]]
        summary[procs] = {}
        for s in SOLVERS:
            ok = [r[s] for r in mine if "error" not in r[s]]
            times = [r[s]["seconds"] for r in mine]
            reached = sum("error" not in r[s] and r[s]["makespan"] == known[(r["graph"], procs)][0] for r in proven)
            bad = sum(x["lower_bound"] > known[(r["graph"], procs)][1] + 1e-6 for r in mine for x in [r[s]]
                      if "error" not in x)
            summary[procs][s] = {"instances": len(mine), "published_proven": len(proven), "reached": reached,
                                 "proved": sum(x["optimal"] for x in ok), "errors": len(mine) - len(ok),
                                 "median_s": statistics.median(times), "max_s": max(times),
                                 "max_over_limit": max(times) / args.limit, "bad_bounds": bad}
            m = summary[procs][s]
            say(f"{procs:>5} {s:<7} {reached:>3}/{len(proven):<3} {m['proved']:>6} {m['median_s']:>9.2f} "
                f"{m['max_s']:>7.2f} {m['max_over_limit']:>9.2f} {bad:>9}")
    for procs in args.procs:
        c, m = summary[procs]["cpsat"], summary[procs]["milp"]
        say(f"{procs:>2} processors: optima reached CP-SAT {c['reached'] / max(c['published_proven'], 1):.0%}, "
            f"MILP {m['reached'] / max(m['published_proven'], 1):.0%}, HEFT "
            f"{summary[procs]['greedy']['reached'] / max(c['published_proven'], 1):.0%}; median time MILP / CP-SAT "
            f"= {m['median_s'] / max(c['median_s'], 1e-9):.0f}x")
    return {"rows": rows, "summary": summary}


def section_wf(args: argparse.Namespace, say: Callable[[str], None]) -> dict:
    rows = []
    say(f"\nWfCommons instances, {args.limit:g} s limit:")
    for path in WF:
        for cores in args.cores:
            problem = read_wfformat(path, cores)
            greedy = solve_greedy(problem)
            row = {"instance": path.stem, "tasks": len(problem.tasks), "cores": cores,
                   **{s: run(problem, s, args.limit, args, greedy) for s in SOLVERS}}
            rows.append(row)
            say(f"{path.stem[:40]:<40} {len(problem.tasks):>3} tasks x{cores:<2} " + "  ".join(
                f"{s} {_short(row[s])}" for s in SOLVERS))
    return {"rows": rows}


def section_layered(args: argparse.Namespace, say: Callable[[str], None]) -> dict:
    rows = []
    on = {"cpsat": True, "milp": True}
    say(f"\nLayered DAGs, {args.layered_limit:g} s limit for the exact solvers:")
    for n in args.sizes:
        problem = layered_dag(n, args.seed + n)
        greedy = solve_greedy(problem)
        row: dict = {"tasks": n, "edges": len(problem.edges), "lower_bound_s": problem.makespan_lower_bound(),
                     "greedy": run(problem, "greedy", 0, args, greedy)}
        for s in ("cpsat", "milp"):
            if on[s]:
                r = run(problem, s, args.layered_limit, args, greedy)
                row[s] = r
                # Larger sizes only while this one proved or improved on HEFT.
                on[s] = "error" not in r and (r["optimal"] or r["makespan"] < greedy.totals.makespan_s - 1e-9)
        rows.append(row)
        say(f"{n:>6} tasks (bound {row['lower_bound_s']:.1f} s)  greedy {row['greedy']['makespan']:.1f} s in "
            f"{1000 * row['greedy']['seconds']:.1f} ms  " + "  ".join(
                f"{s} {_short(row[s])}" if s in row else f"{s} not run" for s in ("cpsat", "milp")))
    return {"rows": rows}


def _short(r: dict) -> str:
    if "error" in r:
        return f"failed after {r['seconds']:.1f} s ({r['error'][:60]})"
    status = "opt" if r["optimal"] else f"gap {100 * r['gap']:.1f}%"
    return f"{r['makespan']:g} ({status}, {r['seconds']:.2f} s)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="a short run: 5 graphs on 2 and 4 processors, 2 s limits, sizes 100 and 1000")
    ap.add_argument("--sections", default="heft,stg,wf,layered")
    ap.add_argument("--limit", type=float, default=10.0, help="seconds per exact solve, STG and WfCommons (10)")
    ap.add_argument("--layered-limit", type=float, default=60.0, help="seconds per exact solve, layered DAGs (60)")
    ap.add_argument("--procs", default=",".join(map(str, PROCS)))
    ap.add_argument("--cores", default=",".join(map(str, CORES)))
    ap.add_argument("--graphs", type=int, default=40)
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--workers", type=int, default=WORKERS, help=f"CP-SAT workers (default {WORKERS})")
    ap.add_argument("--backend", choices=BACKENDS, default=default_backend())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.graphs, args.procs, args.limit, args.layered_limit = 5, "2,4", 2.0, 2.0
        args.sizes, args.cores = "100,1000", "4"
    args.procs = [int(v) for v in args.procs.split(",")]
    args.cores = [int(v) for v in args.cores.split(",")]
    args.sizes = [int(v) for v in args.sizes.split(",")]

    def say(line: str) -> None:
        if not args.json:
            print(line, flush=True)

    t0 = time.perf_counter()
    sections = {"heft": section_heft, "stg": section_stg, "wf": section_wf, "layered": section_layered}
    report: dict = {"machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
                    "limit_s": args.limit, "layered_limit_s": args.layered_limit, "workers": args.workers,
                    "backend": args.backend}
    for name in args.sections.split(","):
        report[name] = sections[name](args, say)
    report["wall_s"] = time.perf_counter() - t0
    say(f"\nwall {report['wall_s']:.0f} s")
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
