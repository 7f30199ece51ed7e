"""Exact search for job plans: the MILP and the exhaustive oracle of
``compiler/scheduling`` applied to a job's tasks and candidates.

A job becomes a general scheduling problem (``compiler/scheduling/problem.py``):

- a pool per hardware type of the cluster, its capacity the cluster's units of that type;
- a task per logical task, an option per candidate: ``units x fan-out`` units of the
  candidate's hardware for its standalone latency, with its busy energy, cost and quality;
- an edge per data dependency (a barrier: streaming between maps is not modelled).

The solver picks one candidate per task optimally *for that model*: each task holds all
its shards' units at once for its longest shard, machines are pooled, and energy counts
busy time only. The chosen candidates are then placed by the same list scheduler as the
greedy's (machines, shards, streaming), which gives the plan's reported totals; EXPLAIN
shows the model's optimum, its proven bound and the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from ...catalog.catalog import Catalog, Cluster
from ..logical import LogicalPlan
from ..scheduling.exhaustive import solve_exhaustive
from ..scheduling.ilp import default_backend, solve_ilp
from ..scheduling.problem import Bound, Edge, Objective, Option, Pool, Problem, Result, Task
from .objective import Objective as JobObjective
from .plan import Candidate

# The job language's metric names and the scheduling core's.
_METRIC = {"latency": "makespan", "energy": "energy", "cost": "cost", "quality": "quality", "gpus": "gpus"}


@dataclass(frozen=True)
class ExactResult:
    choice: dict[str, Candidate]
    result: Result

    def note(self) -> str:
        r = self.result
        proven = "proven optimal" if r.optimal else f"gap {100 * r.gap:.1f}% (bound {r.lower_bound:.4g})"
        return f"{r.solver}: task-level model optimum {r.objective:.4g}, {proven}, {r.seconds:.2f} s"


def job_problem(plan: LogicalPlan, cands: dict[str, list[Candidate]], catalog: Catalog, cluster: Cluster) -> Problem:
    pools = []
    for hw in cluster.hardware_names():
        unit = catalog.hardware(hw)
        pools.append(Pool(hw, cluster.capacity(hw), gpu=bool(unit and unit.is_gpu)))
    tasks = [Task(t, tuple(Option(c.hardware, c.latency_s, c.units * c.fanout, c.energy_wh, c.cost_usd, c.quality,
                                  c.label()) for c in cands[t])) for t in cands]
    edges = []
    for node in plan.tasks:
        for src in dict.fromkeys(node.inputs):
            if src in cands:
                edges.append(Edge(src, node.id))
    return Problem(f"job plan ({len(tasks)} tasks)", tuple(pools), tuple(tasks), tuple(edges))


def job_objective(objective: JobObjective) -> Objective:
    goals = tuple(dict.fromkeys(_METRIC[g.metric] for g in objective.goals))
    bounds = tuple(Bound(_METRIC[b.metric], b.value) for b in objective.bounds)
    return Objective(goals or ("makespan",), bounds)


def solve_exact(solver: str, plan: LogicalPlan, cands: dict[str, list[Candidate]], catalog: Catalog,
                cluster: Cluster, objective: JobObjective, time_limit_s: float) -> ExactResult:
    """``solver`` is 'ilp' or 'exhaustive'."""
    problem = job_problem(plan, cands, catalog, cluster)
    target = job_objective(objective)
    result = (solve_exhaustive(problem, target) if solver == "exhaustive"
              else solve_ilp(problem, target, time_limit_s, backend=default_backend()))
    order = [t.id for t in problem.tasks]
    choice = {p.task: cands[p.task][p.option] for p in result.solution}
    assert set(choice) == set(order)
    return ExactResult(choice, result)
