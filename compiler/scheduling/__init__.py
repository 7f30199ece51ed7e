"""Exact and heuristic scheduling of task graphs with alternative configurations.

- ``problem``: the general problem (tasks, options, pools, edges with option-dependent
  transfers), objectives (bounds, lexicographic goals) and solutions;
- ``validate``: an independent validator of any schedule;
- ``greedy``: HEFT generalised to pools and options, plus an upgrade loop for bounds;
- ``ilp``: an exact MILP (PuLP; CBC, or HiGHS), with a time limit and a proven gap;
- ``exhaustive``: the oracle for tiny problems;
- ``formats``: readers for STG, the HEFT paper's CSVs and WfCommons WfFormat;
- ``cli``: the ``murakkab schedule`` command.
"""

from .problem import Bound, Edge, Objective, Option, Placement, Pool, Problem, Result, Task, Totals, edge

__all__ = ["Bound", "Edge", "Objective", "Option", "Placement", "Pool", "Problem", "Result", "Task", "Totals", "edge"]
