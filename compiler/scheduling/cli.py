"""``murakkab schedule``: schedule a published task-graph instance and report the plan.

    murakkab schedule --stg FILE --processors M | --heft DIR | --wfformat FILE --cores N
                      [--solver auto|greedy|cpsat|ilp|exhaustive] [--time-limit S]
                      [--backend cbc|highs] [--formulation auto|disjunctive|time-indexed]
                      [--format text|json]

``auto`` picks by measured strength (``auto.py``, the limits ``SCHEDULES``): the exhaustive
oracle when the problem is within its limits; CP-SAT (``cpsat.py``, when OR-Tools is
installed) up to 300 tasks, else the MILP up to 60; HEFT above. The output says which
and why.
``--time-limit`` bounds every exact solver, model building included. Every schedule is
checked by the independent validator before it is printed; no solver writes to stdout or
stderr (``quiet.py``), so ``--format json`` prints JSON alone.
"""

from __future__ import annotations

import argparse
from typing import Any, Sequence

from ...argtypes import positive_int
from ...grammar.diagnostics import MurakkabError
from .auto import SCHEDULES, pick
from .cpsat import solve_cpsat
from .exhaustive import combinations
from .formats import read_heft, read_stg, read_wfformat
from .greedy import solve_greedy
from .ilp import BACKENDS, FORMULATIONS, default_backend, solve_ilp
from .problem import Objective, Problem, Result
from .validate import validate

SOLVERS = ("auto", "greedy", "cpsat", "ilp", "exhaustive")


# Units of one pool: a schedule's variables grow with them (one machine each for STG).
MAX_UNITS = 10_000


def _units(text: str) -> int:
    value = positive_int(text)
    if value > MAX_UNITS:
        raise argparse.ArgumentTypeError(f"{value:,} is more than {MAX_UNITS:,}: a schedule is planned for at "
                                         "most that many units")
    return value


def add_schedule_parser(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """Add the ``schedule`` command to ``subparsers`` (from ``add_subparsers``)."""
    sp = subparsers.add_parser("schedule", parents=list(parents),
                               help="schedule a task graph (STG, HEFT CSVs or WfFormat) and report the plan",
                               description="Schedule a published task-graph instance with HEFT, CP-SAT, an exact "
                                           "MILP or the exhaustive oracle.")
    src = sp.add_mutually_exclusive_group(required=True)
    src.add_argument("--stg", metavar="FILE", help="a Standard Task Graph file (needs --processors)")
    src.add_argument("--heft", metavar="DIR", help="a directory of HEFT CSVs (*_task_exe_time.csv, ...)")
    src.add_argument("--wfformat", metavar="FILE", help="a WfCommons WfFormat JSON instance (needs --cores)")
    sp.add_argument("--processors", type=_units, metavar="M",
                    help=f"identical processors for --stg (1 to {MAX_UNITS:,})")
    sp.add_argument("--cores", type=_units, metavar="N", help=f"cores for --wfformat (1 to {MAX_UNITS:,})")
    sp.add_argument("--solver", choices=SOLVERS, default="auto",
                    help=f"auto (default): exhaustive when tiny, cpsat up to {SCHEDULES.cpsat_tasks:,} tasks (ilp "
                         f"up to {SCHEDULES.ilp_tasks:,} without OR-Tools), greedy above")
    sp.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                    help="seconds an exact solver (cpsat, ilp) may take, model building included (default 60); "
                         "it reports its gap when stopped")
    sp.add_argument("--backend", choices=BACKENDS, default=default_backend(),
                    help="MILP solver (default: highs when highspy is installed, else cbc)")
    sp.add_argument("--formulation", choices=FORMULATIONS, default="auto",
                    help="MILP model (default auto: time-indexed for whole-second data on cumulative pools when "
                         "small, else disjunctive)")
    sp.add_argument("--format", choices=("text", "json"), default="text")
    return sp


def load_problem(args: argparse.Namespace) -> Problem:
    """The problem the flags name; flags that do not go together are an error."""
    if args.stg is not None:
        if args.processors is None:
            raise MurakkabError("--stg needs --processors M", hint="e.g. --stg rand0000.stg --processors 4")
        if args.cores is not None:
            raise MurakkabError("--cores goes with --wfformat; use --processors with --stg")
        return read_stg(args.stg, args.processors)
    if args.wfformat is not None:
        if args.cores is None:
            raise MurakkabError("--wfformat needs --cores N", hint="e.g. --wfformat montage.json --cores 8")
        if args.processors is not None:
            raise MurakkabError("--processors goes with --stg; use --cores with --wfformat")
        return read_wfformat(args.wfformat, args.cores)
    if args.processors is not None or args.cores is not None:
        raise MurakkabError("--heft takes its processors from the CSV files; drop --processors/--cores")
    return read_heft(args.heft)


def pick_solver(problem: Problem, objective: Objective, requested: str) -> tuple[str, str]:
    """The solver to run and why (``auto.pick`` with the limits measured for schedules)."""
    options = sum(len(t.options) for t in problem.tasks)
    return pick(requested, SCHEDULES, len(problem.tasks), options, combinations(problem, objective))


def run_solver(problem: Problem, objective: Objective, solver: str, time_limit_s: float, backend: str,
               formulation: str = "auto") -> Result:
    if solver == "greedy":
        return solve_greedy(problem, objective)
    if solver == "cpsat":
        return solve_cpsat(problem, objective, time_limit_s=time_limit_s)
    if solver == "ilp":
        return solve_ilp(problem, objective, time_limit_s=time_limit_s, backend=backend, formulation=formulation)
    from .exhaustive import solve_exhaustive

    return solve_exhaustive(problem, objective)


def schedule_command(args: argparse.Namespace) -> dict:
    """Run ``murakkab schedule`` and return its report (what ``--format json`` prints)."""
    if args.time_limit is not None and not args.time_limit > 0:
        raise MurakkabError(f"--time-limit must be > 0 (got {args.time_limit:g})")
    problem = load_problem(args)
    objective = Objective()
    solver, reason = pick_solver(problem, objective, args.solver)
    result = run_solver(problem, objective, solver, args.time_limit, args.backend, args.formulation)
    problems = validate(problem, result.solution, objective, result.totals)
    if problems:  # a solver bug: never print an invalid plan as if it were one
        raise AssertionError(f"{solver} produced an invalid schedule: " + "; ".join(problems[:5]))
    index = problem.index
    rows = []
    for pl in sorted(result.solution, key=lambda pl: (pl.start_s, index[pl.task])):
        opt = problem.option(index[pl.task], pl.option)
        rows.append({"task": pl.task, "option": opt.name(), "pool": opt.pool, "units": list(pl.units),
                     "start": pl.start_s, "end": pl.start_s + opt.duration_s})
    return {
        "instance": problem.name,
        "source": problem.source,
        "tasks": len(problem.tasks),
        "edges": len(problem.edges),
        "pools": [{"name": p.name, "capacity": p.capacity} for p in problem.pools],
        "solver": result.solver,
        "solver_reason": reason,
        "backend": args.backend if result.solver == "ilp" else None,
        "makespan": result.totals.makespan_s,
        "optimal": result.optimal,
        "lower_bound": result.lower_bound,
        "gap": result.gap,
        "seconds": result.seconds,
        "note": result.note,
        "schedule": rows,
    }


def _num(v: float) -> str:
    return f"{v:,.3f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v):,}"


def schedule_text(report: dict) -> str:
    """The report for people: a summary, then one line per task in start order."""
    status = "optimal (proven)" if report["optimal"] else f"not proven optimal, gap {report['gap']:.2%}"
    lines = [
        f"instance     {report['instance']} ({report['tasks']} tasks, {report['edges']} edges; "
        + ", ".join(f"{p['name']} x{p['capacity']}" for p in report["pools"]) + ")",
        f"solver       {report['solver']}" + (f" ({report['backend']})" if report.get("backend") else "")
        + f"; {report['solver_reason']}",
        f"makespan     {_num(report['makespan'])} s, {status}",
        f"lower bound  {_num(report['lower_bound'])} s",
        f"time         {report['seconds']:.2f} s",
        f"note         {report['note']}",
        "",
    ]
    width = max([4] + [len(r["task"]) for r in report["schedule"]])
    owidth = max([6] + [len(r["option"]) for r in report["schedule"]])
    lines.append(f"{'task':<{width}}  {'option':<{owidth}}  {'units':<8}  {'start s':>10}  {'end s':>10}")
    for r in report["schedule"]:
        units = ",".join(map(str, r["units"])) or "-"
        lines.append(f"{r['task']:<{width}}  {r['option']:<{owidth}}  {units:<8}  {_num(r['start']):>10}  "
                     f"{_num(r['end']):>10}")
    return "\n".join(lines) + "\n"
