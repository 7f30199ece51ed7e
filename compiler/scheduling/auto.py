"""``solver = auto``: one rule for both planners, each with the limits measured for it.

A problem is sized by its tasks, its options (summed over tasks) and its combinations
of options (one option per task). In order:

1. the exhaustive oracle, while the combinations (and tasks) are within its limits;
2. CP-SAT, when OR-Tools is installed, up to ``cpsat_tasks`` tasks and ``cpsat_options``
   options;
3. without OR-Tools, the MILP up to ``ilp_tasks`` tasks;
4. the greedy beyond.

The limits differ because the problems do: a schedule's exact solvers place every task
in one model, where the job planner's exact search evaluates each plan it considers by a
full list schedule of its shards, so it closes its gap on far fewer tasks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .cpsat import cpsat_available
from .exhaustive import MAX_COMBINATIONS, MAX_TASKS


@dataclass(frozen=True)
class Limits:
    """The sizes up to which ``auto`` trusts each exact solver (measured; see below)."""

    options_are: str  # what an option is called in messages: "options", "candidates"
    greedy: str  # the greedy's name in messages
    exhaustive_combinations: int
    exhaustive_tasks: float = math.inf
    cpsat_tasks: float = 0
    cpsat_options: float = math.inf
    ilp_tasks: float = 0
    beyond: str = ""  # why the greedy above the limits (what was measured)


# Schedules of task graphs (``murakkab schedule``). Measured with
# `python bench/optimizer_scaling.py` (bench/RESULTS.md; 2-core VM, 60 s limit as the CLI's
# default) on random layered DAGs: CP-SAT proves the 100-task optimum in 0.9 s (159.5 s;
# HEFT 162.5 s), improves on HEFT at 300 tasks (455.8 s against 462.9 s, gap 2.0%), but at
# 1,000 tasks ends the minute with HEFT's own schedule. On the 50-task STG graphs it
# reaches all 159 published optima at 2-16 processors within 10 s (median 0.03-0.07 s).
# Without OR-Tools the MILP rarely closes its gap within a minute above 60 tasks: a
# 100-task layered DAG stops at a 3.1% gap after 60 s (bench/optimizer_scaling.py), and
# half of the 50-task STG graphs on 2 processors stop with a gap after 10 s
# (bench/stg_optimum.py).
SCHEDULES = Limits("options", "HEFT", exhaustive_combinations=MAX_COMBINATIONS, exhaustive_tasks=MAX_TASKS,
                   cpsat_tasks=300, ilp_tasks=60,
                   beyond="at 1,000 tasks CP-SAT did not improve on HEFT within 60 s")

# Job plans (``SET solver = 'auto'``). The exhaustive oracle evaluates every combination
# by a list schedule (about 1 ms each on small jobs); the exact search (a CP-SAT
# relaxation, each of its answers evaluated the same way) closes its gap on the random
# jobs of `python bench/search_quality.py` (up to 12 tasks) within the time limit. The
# job's MILP relaxation is weaker (McCormick bounds for held units x makespan), so
# without OR-Tools the greedy goes on.
JOB_PLANS = Limits("candidates", "greedy", exhaustive_combinations=2_000, cpsat_tasks=12, cpsat_options=400,
                   beyond="too many for an exact search")


def pick(requested: str, limits: Limits, tasks: int, options: int, combinations: int,
         cpsat: bool | None = None) -> tuple[str, str]:
    """The solver to run and why. ``requested`` is a solver's name or ``auto``;
    ``cpsat``: whether OR-Tools is installed (found out when None)."""
    if requested != "auto":
        return requested, "as requested"
    if combinations <= limits.exhaustive_combinations and tasks <= limits.exhaustive_tasks:
        return "exhaustive", (f"auto chose exhaustive: {tasks:,} tasks, {combinations:,} combinations of "
                              f"{limits.options_are} (at most {limits.exhaustive_combinations:,})")
    if cpsat is None:
        cpsat = cpsat_available()
    size = f"{tasks:,} tasks, {options:,} {limits.options_are}"
    if cpsat and tasks <= limits.cpsat_tasks and options <= limits.cpsat_options:
        return "cpsat", f"auto chose cpsat: {size} (at most {limits.cpsat_tasks:,} tasks): exact within the time limit"
    if not cpsat and tasks <= limits.ilp_tasks:
        return "ilp", (f"auto chose ilp: {size} (at most {limits.ilp_tasks:,} tasks): the exact MILP, within the "
                       "time limit (install ortools for CP-SAT, which is stronger)")
    return "greedy", f"auto chose {limits.greedy}: {size} ({limits.beyond})"
