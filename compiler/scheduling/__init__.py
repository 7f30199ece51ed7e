"""Exact and heuristic scheduling of task graphs with alternative configurations: the
one scheduling core. The job planner (``compiler/physical``) is an adapter over it: its
list scheduler of shards uses ``ranks``, its schedules pass ``validate``'s checks, its
exact solvers are ``benders`` and its ``auto`` is ``auto``.

- ``problem``: the general problem (tasks, options, pools, edges with option-dependent
  transfers), objectives (bounds, lexicographic goals) and solutions;
- ``validate``: an independent validator of any schedule (``check_times``: precedence and
  capacity of timed items, what every schedule must pass);
- ``ranks``: HEFT's upward ranks and the list order they give;
- ``sgs``: the serial schedule-generation scheme (insertion into idle gaps);
- ``greedy``: HEFT generalised to pools and options, plus an upgrade loop for bounds;
- ``cpsat``: exact with OR-Tools CP-SAT, with a time limit and a proven gap;
- ``ilp``: an exact MILP (PuLP; CBC, or HiGHS), with a time limit and a proven gap;
- ``exhaustive``: the oracle for tiny problems;
- ``benders``: exact search over option choices whose totals only an evaluator knows
  (a relaxation in CP-SAT or the MILP, its answers evaluated for real);
- ``auto``: which solver ``auto`` runs, with limits measured per kind of problem;
- ``formats``: readers for STG, the HEFT paper's CSVs and WfCommons WfFormat;
- ``cli``: the ``murakkab schedule`` command.
"""

from .problem import Bound, Edge, Objective, Option, Placement, Pool, Problem, Result, Task, Totals, edge

__all__ = ["Bound", "Edge", "Objective", "Option", "Placement", "Pool", "Problem", "Result", "Task", "Totals", "edge"]
