"""A physical plan's schedule in the scheduling core's terms (``compiler/scheduling``).

The job planner schedules *shards* on the units of machines; the scheduling core knows
tasks with options on pools. This adapter states the first as the second, so a job's
schedule is checked by the core's own validator (``scheduling.validate``) rather than by a
second one:

- a pool per (machine, hardware type) the cluster has, its capacity the machine's units
  (``machine/hardware``; GPU pools marked, so the core's ``gpus`` counts them);
- a task per shard (``task#index``) with one option: its pool, units and duration, and
  its busy energy (the plan's idle power over the makespan is the job planner's and is
  left to its own check of the totals);
- an edge per dependency of a shard. The shards of a task without a streaming edge share
  one dependency tuple (every shard of every source): such a tuple becomes one task of
  duration 0 (``all of a, b``) that waits for its shards and that its readers wait for, so
  a 256-way map after a 256-way map is 512 edges, not 65,536. A task of duration 0 holds
  nothing, so it changes no capacity; it starts when its last dependency ends.

What the plan gets wrong in a way the core cannot state (a shard on a machine without its
hardware, a dependency on a shard that does not exist) is returned as sentences instead,
and the shard or edge left out, so the rest is still checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalog.catalog import Catalog, Cluster
from ..scheduling.problem import Edge, Option, Placement, Pool, Problem, Task
from .plan import Shard


@dataclass(frozen=True)
class ShardProblem:
    """The schedule as a core problem with its placements, and what could not be stated."""

    problem: Problem
    placements: tuple[Placement, ...]
    unstated: tuple[str, ...]


@dataclass(slots=True)
class _Deps:
    """One dependency tuple: its shards that are stated, those that do not exist, how
    many shards wait for it, and the task of duration 0 standing for it (if any)."""

    known: list[tuple[str, int]]
    unknown: list[tuple[str, int]]
    users: int = 0
    join: str | None = None


def shard_id(task: str, index: int) -> str:
    return f"{task}#{index}"


def pool_name(machine: str, hardware: str) -> str:
    return f"{machine}/{hardware}"


def shard_problem(shards: tuple[Shard, ...], cluster: Cluster, catalog: Catalog) -> ShardProblem:
    """``shards`` (a plan's, each with its dependencies) on ``cluster`` as a core problem.

    Raises ``MurakkabError`` (from ``Problem``) only for what no schedule can be, such as
    dependencies in a cycle."""
    pools: list[Pool] = []
    capacity: dict[tuple[str, str], int] = {}
    for machine, inventory in cluster.machines():
        for hw, units in inventory.items():
            info = catalog.hardware(hw)
            pools.append(Pool(pool_name(machine, hw), units, gpu=bool(info is not None and info.is_gpu)))
            capacity[(machine, hw)] = units
    unstated: list[str] = []
    tasks: list[Task] = []
    placements: list[Placement] = []
    end: dict[tuple[str, int], float] = {}  # the stated shards' ends
    ids: dict[tuple[str, int], str] = {}  # and their task ids
    every = {(s.task, s.index) for s in shards}
    made: dict[tuple[str, str, float, int], tuple[Option]] = {}
    for s in shards:
        key = (s.task, s.index)
        if key in ids:
            unstated.append(f"shard {s.task}#{s.index} appears twice")
            continue
        if capacity.get((s.machine, s.hardware), 0) < s.units:
            unstated.append(f"shard {s.task}#{s.index} needs {s.units} x {s.hardware} on {s.machine}, "
                            f"which lacks them")
            continue
        me = shard_id(s.task, s.index)
        shape = (s.machine, s.hardware, s.end_s - s.start_s, s.units)
        options = made.get(shape)
        if options is None:  # shards of one task mostly share theirs (options are immutable)
            options = made[shape] = (Option(pool_name(s.machine, s.hardware), shape[2], s.units),)
        tasks.append(Task(me, options))
        placements.append(Placement(me, 0, s.start_s))
        end[key] = s.end_s
        ids[key] = me

    edges: list[Edge] = []
    # Per distinct dependency tuple (by id: the shards of a task without a streaming edge
    # share one), what is known of it, worked out once.
    tuples: dict[int, _Deps] = {}
    for s in shards:
        deps = tuples.get(id(s.deps))
        if deps is None:
            distinct = tuple(dict.fromkeys(s.deps))
            deps = tuples[id(s.deps)] = _Deps([d for d in distinct if d in end], [d for d in distinct if d not in every])
        deps.users += 1
    joins = 0
    for s in shards:
        me = ids.get((s.task, s.index))
        if me is None or not s.deps:
            continue
        deps = tuples[id(s.deps)]
        unstated.extend(f"shard {s.task}#{s.index} depends on unknown shard {dep}" for dep in deps.unknown)
        if len(deps.known) < 2 or deps.users < 2:
            edges.extend(Edge(ids[dep], me) for dep in deps.known)
            continue
        if deps.join is None:
            joins += 1
            deps.join = f"all of {', '.join(dict.fromkeys(t for t, _ in deps.known))} ({joins})"
            tasks.append(Task(deps.join, (Option(pools[0].name, 0.0),)))
            placements.append(Placement(deps.join, 0, max(end[dep] for dep in deps.known)))
            edges.extend(Edge(ids[dep], deps.join) for dep in deps.known)
        edges.append(Edge(deps.join, me))
    return ShardProblem(Problem("shards", tuple(pools), tuple(tasks), tuple(edges)), tuple(placements),
                        tuple(unstated))
