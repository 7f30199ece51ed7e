"""Planning time against DAG size, for HEFT and for the exact MILP.

Random layered DAGs of 10 to 10,000 tasks in about sqrt(n) / 2 layers: each task has 1 to 3
options on three pools (8 CPU cores; 4 and 2 GPUs of two kinds, GPU options faster), one
to three parents in the layer above, and a 1 s transfer whenever an edge crosses pools. For every size: HEFT's
wall time and makespan; the MILP (time limit per instance) for every size up to the
first one it does not solve to proven optimality within the limit, with its gap and
HEFT's gap to it. Also the time the MILP takes to prove the HEFT paper's example optimal.

Run:  python bench/optimizer_scaling.py [--sizes 10,30,...] [--ilp-limit 60] [--backend cbc|highs] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

from murakkab.compiler.scheduling.formats import read_heft
from murakkab.compiler.scheduling.greedy import solve_greedy
from murakkab.compiler.scheduling.ilp import BACKENDS, highs_available, solve_ilp
from murakkab.compiler.scheduling.problem import Edge, Option, Pool, Problem, Task
from murakkab.compiler.scheduling.validate import validate

HEFT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "scheduling" / "heft_topcuoglu2002"
SIZES = (10, 30, 100, 300, 1000, 3000, 10000)
POOLS = (Pool("cpu", 8), Pool("gpu-a", 4, gpu=True), Pool("gpu-b", 2, gpu=True))


def layered_dag(n: int, seed: int) -> Problem:
    """A random layered DAG of ``n`` tasks in about sqrt(n) / 2 layers (at least 3), so
    layers are wider than the 14 units of the pools and the pools, not the critical path,
    limit the makespan."""
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--ilp-limit", type=float, default=60.0, help="seconds per MILP solve (default 60)")
    ap.add_argument("--backend", choices=BACKENDS, default="cbc")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    ilp_on = True
    for n in (int(s) for s in args.sizes.split(",")):
        problem = layered_dag(n, args.seed + n)
        greedy = solve_greedy(problem)
        assert validate(problem, greedy.solution, totals=greedy.totals) == []
        row = {"tasks": n, "edges": len(problem.edges), "greedy_s": greedy.seconds,
               "greedy_makespan_s": greedy.totals.makespan_s, "lower_bound_s": problem.makespan_lower_bound()}
        if ilp_on:
            t0 = time.perf_counter()
            try:
                exact = solve_ilp(problem, time_limit_s=args.ilp_limit, backend=args.backend, incumbent=greedy)
            except Exception as exc:  # noqa: BLE001 - a bench records the failure and goes on
                row.update(ilp_error=f"{type(exc).__name__}: {exc}", ilp_s=time.perf_counter() - t0)
                ilp_on = False
            else:
                assert validate(problem, exact.solution, totals=exact.totals) == []
                row.update(ilp_s=exact.seconds, ilp_makespan_s=exact.totals.makespan_s, ilp_optimal=exact.optimal,
                           ilp_lower_bound_s=exact.lower_bound, ilp_gap=exact.gap,
                           greedy_gap_to_ilp=(greedy.totals.makespan_s - exact.totals.makespan_s)
                           / exact.totals.makespan_s, ilp_note=exact.note)
                ilp_on = exact.optimal  # larger sizes only while this one was solved
        rows.append(row)
        if not args.json:
            print(_line(row), flush=True)
    heft = read_heft(HEFT)
    proofs = {}
    for backend in BACKENDS:
        if backend == "highs" and not highs_available():
            continue
        r = solve_ilp(heft, time_limit_s=60, backend=backend)
        proofs[backend] = {"seconds": r.seconds, "makespan_s": r.totals.makespan_s, "optimal": r.optimal}
    report = {"machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
              "ilp_limit_s": args.ilp_limit, "backend": args.backend, "rows": rows, "heft_example_proof": proofs}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for backend, p in proofs.items():
            print(f"HEFT example (Topcuoglu 2002): MILP ({backend}) proves makespan {p['makespan_s']:g} "
                  f"optimal={p['optimal']} in {p['seconds']:.2f} s (HEFT: 80)")
    return 0


def _line(row: dict) -> str:
    out = (f"{row['tasks']:>6} tasks  greedy {1000 * row['greedy_s']:8.1f} ms  makespan {row['greedy_makespan_s']:9.1f} s "
           f"(bound {row['lower_bound_s']:.1f})")
    if "ilp_s" in row and "ilp_error" not in row:
        out += (f" | MILP {row['ilp_s']:7.2f} s  makespan {row['ilp_makespan_s']:9.1f} s  "
                f"{'optimal' if row['ilp_optimal'] else 'gap %.1f%%' % (100 * row['ilp_gap'])}  "
                f"greedy +{100 * row['greedy_gap_to_ilp']:.1f}%")
    elif "ilp_error" in row:
        out += f" | MILP failed after {row['ilp_s']:.1f} s: {row['ilp_error']}"
    else:
        out += " | MILP not run (a smaller size was not solved within the limit)"
    return out


if __name__ == "__main__":
    sys.exit(main())
