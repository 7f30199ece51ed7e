"""The physical plan: per task an implementation, hardware × units and a fan-out degree,
scheduled on a cluster as shards (one instance of the agent on one machine each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..job import Goal
from ..logical import LogicalPlan
from ..rules.driver import RuleFired

if TYPE_CHECKING:
    from .objective import Bound


# Candidate.metric: the field holding each metric's standalone value.
_CANDIDATE_FIELDS = {"latency": "latency_s", "energy": "energy_wh", "cost": "cost_usd", "quality": "quality"}


@dataclass(frozen=True)
class Candidate:
    """One way to run a logical task: ``fanout`` instances of ``agent``, each on
    ``units`` × ``hardware``. Standalone estimates ignore contention with other tasks."""

    node: str
    agent: str
    hardware: str
    units: int
    fanout: int
    calls: float
    call_s: float
    setup_s: float
    latency_s: float
    busy_unit_s: float
    energy_wh: float
    cost_usd: float
    quality: float
    gpus: int
    source: str
    # The shortest a shard with at least one call can take (an LLM call's own latency
    # when the instance is otherwise throughput-bound); 0 for linear profiles.
    floor_s: float = 0.0

    def shard_seconds(self, calls: float) -> float:
        """Seconds one instance needs for ``calls`` calls, including its setup."""
        if calls <= 0:
            return self.setup_s
        return self.setup_s + max(self.floor_s, calls * self.call_s)

    def label(self) -> str:
        return f"{self.agent} on {self.hardware} x{self.units}, fan-out {self.fanout}"

    def metric(self, name: str) -> float:
        """The candidate's standalone value of a metric (job-language names)."""
        if name == "gpus":
            return float(self.gpus)
        # A KeyError for any other name, as for an unknown one. (Asked for every
        # candidate the search compares: a dict of all five per call cost more than the
        # rest of the comparison.)
        return getattr(self, _CANDIDATE_FIELDS[name])


@dataclass(frozen=True)
class Shard:
    """One instance of a task's agent, on one machine, for a contiguous slice of calls."""

    task: str
    index: int
    machine: str
    hardware: str
    units: int
    calls: float
    duration_s: float
    start_s: float
    end_s: float
    deps: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Estimate:
    """Totals of a scheduled plan. ``held`` is the peak units held per hardware type.
    ``parts``: in a joint plan of several jobs, each job's own totals (its tasks' shards,
    the units they hold, from time 0 to its last shard's end), by job label."""

    makespan_s: float
    cost_usd: float
    energy_wh: float
    quality: float
    gpus: int
    held: tuple[tuple[str, int], ...]
    parts: tuple[tuple[str, "Estimate"], ...] = ()

    def metric(self, name: str) -> float:
        return {"latency": self.makespan_s, "makespan": self.makespan_s, "cost": self.cost_usd,
                "energy": self.energy_wh, "quality": self.quality, "gpus": float(self.gpus)}[name]

    def part(self, job: str) -> "Estimate":
        """One job's totals in a joint plan (the whole plan's when it has no parts)."""
        return dict(self.parts).get(job, self)


@dataclass(frozen=True)
class PhysicalTask:
    id: str
    interface: str
    candidate: Candidate
    start_s: float
    end_s: float
    alternatives: tuple[Candidate, ...]
    streams_from: str | None = None


@dataclass(frozen=True)
class PhysicalPlan:
    job: str
    cluster: str
    solver: str
    solver_note: str
    logical: LogicalPlan
    bound: LogicalPlan
    rewrites: tuple[RuleFired, ...]
    tasks: tuple[PhysicalTask, ...]
    shards: tuple[Shard, ...]
    estimate: Estimate
    bounds: tuple["Bound", ...]
    goals: tuple[Goal, ...]
    candidates_considered: int
    plans_evaluated: int
    sequential: bool
    # For a joint plan of several jobs: the jobs, and their totals when each is planned
    # alone on the whole cluster and they run one after the other.
    jobs: tuple[str, ...] = ()
    separately: Estimate | None = None
    # Where the plan's quality comes from, per job ('' for a single job): a workflow
    # accuracy profile or the agents' own qualities (``accuracy.py``).
    quality_source: tuple[tuple[str, str], ...] = ()
    # The knob values the planner chose, by (interface, knob) (``knobs.KnobConfig``): a
    # re-plan in the middle of a run keeps them, and with them the plan's shape.
    knobs: tuple[tuple[tuple[str, str], float], ...] = ()

    def task(self, task_id: str) -> PhysicalTask:
        return next(t for t in self.tasks if t.id == task_id)
