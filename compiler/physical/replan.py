"""Plan a job again when agents drop out in the middle of a run (fungibility).

An executor gives up on an agent when it keeps failing (retries spent, or timeouts).
The rest of the run should then not keep a configuration that was chosen with that agent
in mind: its tasks need another implementation of the same interface, and that choice
can change what is best for the tasks around them (hardware, units, fan-out). So the job
is planned again, from its bound logical plan, with the dropped agents unavailable; the
executor adopts the new plan for every task that has not started yet.

Two things the first plan honoured may no longer be possible, and are relaxed rather
than ending the run:

- a ``USING (agent = ...)`` or ``(model = ...)`` preference that only dropped agents
  meet: the preference chose an implementation, the interface is the contract, so the
  task may take any other implementation;
- an SLO: when no plan without the dropped agents meets the SLOs, the re-plan comes as
  close as it can: each SLO's metric becomes a goal (in the SLOs' order, ahead of the
  job's own goals), and the note says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...catalog.catalog import Catalog
from ..job import BoundJob, Goal
from ..logical import Node
from .candidates import satisfies
from .plan import PhysicalPlan
from .planner import InfeasibleError, plan_job

PINNING = ("agent", "model")


@dataclass(frozen=True)
class Replan:
    plan: PhysicalPlan
    # What the re-plan had to relax, in words (empty when nothing was).
    relaxed: tuple[str, ...]


def replan_without(job: BoundJob, catalog: Catalog, dropped: frozenset[str],
                   knobs: tuple[tuple[tuple[str, str], float], ...] = ()) -> Replan:
    """The plan of ``job`` with the ``dropped`` agents unavailable, and the ``knobs`` the
    running plan chose (``PhysicalPlan.knobs``) fixed: the run keeps its shape (a step
    left out stays out, the rounds already run stay the rounds) and only agents move.

    Raises ``MurakkabError`` when some task has no implementation left at all.
    """
    chosen: dict[str, dict[str, float]] = {}
    for (interface, knob), value in knobs:
        chosen.setdefault(interface, {})[knob] = value
    available = job.settings.available_agents
    if available is None:
        available = frozenset(a.name for a in catalog.agents())
    available = available - dropped
    relaxed: list[str] = []
    nodes = []
    for node in job.plan.nodes:
        if node.is_task and _pinned_to_dropped(node, catalog, available):
            node = node.with_(prefs=tuple(p for p in node.prefs if p.key not in PINNING))
            relaxed.append(f"task '{node.id}' may use any {node.interface} (its USING preference "
                           f"named only {', '.join(sorted(dropped))})")
        fixed = chosen.get(node.interface or "", {}) if node.is_task else {}
        if fixed:
            node = node.with_(knobs=tuple(sorted({**dict(node.knobs), **fixed}.items())),
                              fixed_knobs=tuple(sorted({*node.fixed_knobs, *fixed})))
        nodes.append(node)
    job = replace(job, plan=job.plan.replace_nodes(nodes),
                  settings=replace(job.settings, available_agents=available))
    try:
        return Replan(plan_job(job, catalog), tuple(relaxed))
    except InfeasibleError as exc:
        if not job.slos:
            raise
        goals = _closest_goals(job)
        relaxed.append(f"the SLOs can no longer be met ({exc.message}); planned to come closest: "
                       + " THEN ".join(g.text() for g in goals))
        return Replan(plan_job(replace(job, slos=(), goals=goals), catalog), tuple(relaxed))


def _closest_goals(job: BoundJob) -> tuple[Goal, ...]:
    """The SLOs' metrics as goals, then the job's goals on other metrics."""
    goals: dict[str, Goal] = {}
    for slo in job.slos:
        goals.setdefault(slo.metric, Goal(slo.metric, minimize=slo.upper_bound))
    for goal in job.goals:
        goals.setdefault(goal.metric, goal)
    return tuple(goals.values())


def _pinned_to_dropped(node: Node, catalog: Catalog, available: frozenset[str]) -> bool:
    """Does the node's agent/model preference rule out every agent still available?"""
    pins = [p for p in node.prefs if p.key in PINNING]
    if not pins or node.interface is None:
        return False
    return not any(a.name in available and all(satisfies(catalog, a.name, None, p) for p in pins)
                   for a in catalog.agents(node.interface))
