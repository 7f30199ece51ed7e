"""A physical plan's schedule in the scheduling core's terms (``compiler/scheduling``).

The job planner schedules *shards* on the units of machines; the scheduling core checks
timed items on pools (``scheduling.validate.check_times``, the checks behind its
validator). This adapter states the first as the second, so a job's schedule passes the
same checks as every schedule of the core, rather than a second validator's:

- a pool per (machine, hardware type) the cluster has, its capacity the machine's units
  (named ``machine/hardware``);
- an item per shard (``task#index``): its pool, start, end and units;
- an edge per dependency of a shard. The shards of a task without a streaming edge share
  one dependency tuple (every shard of every source): such a tuple becomes one item of
  duration 0 (``all of a, b``) that starts when the last of its shards ends and that its
  readers wait for, so a 256-way map after a 256-way map is 512 edges, not 65,536. An
  item of duration 0 holds nothing, so it changes no capacity.

Items and edges are plain tuples, not the core's ``Problem``: the planner states every
plan it returns (83,250 shards at 10,000 tasks), and a ``Problem``'s objects and checks
cost several times the checks themselves.

What the plan gets wrong in a way the core cannot state (a shard on a machine without its
hardware, a dependency on a shard that does not exist, a shard given twice) is returned as
sentences instead, and the shard or edge left out, so the rest is still checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalog.catalog import Cluster
from .plan import Shard

Item = tuple[str, str, float, float, int]  # (name, pool, start s, end s, units)


@dataclass(frozen=True)
class ShardTimes:
    """The schedule as the core's timed items, and what could not be stated."""

    capacity: dict[str, int]  # units per pool
    items: list[Item]
    edges: list[tuple[int, int, float]]  # (item, item waiting for it, transfer s)
    unstated: list[str]


@dataclass(slots=True)
class _Deps:
    """One dependency tuple: the items of its shards that are stated, the shards that do
    not exist, how many shards wait for it, and the item of duration 0 standing for it."""

    known: list[int]
    unknown: list[tuple[str, int]]
    users: int = 0
    join: int | None = None


def pool_name(machine: str, hardware: str) -> str:
    return f"{machine}/{hardware}"


def shard_times(shards: tuple[Shard, ...], cluster: Cluster) -> ShardTimes:
    """``shards`` (a plan's, each with its dependencies) on ``cluster`` as timed items."""
    capacity: dict[str, int] = {}
    for machine, inventory in cluster.machines():
        for hw, units in inventory.items():
            capacity[pool_name(machine, hw)] = units
    unstated: list[str] = []
    items: list[Item] = []
    at: dict[tuple[str, int], int] = {}  # each stated shard's item
    for s in shards:
        key = (s.task, s.index)
        if key in at:
            unstated.append(f"shard {s.task}#{s.index} appears twice")
            continue
        pool = pool_name(s.machine, s.hardware)
        if capacity.get(pool, 0) < s.units:
            unstated.append(f"shard {s.task}#{s.index} needs {s.units} x {s.hardware} on {s.machine}, "
                            f"which lacks them")
            continue
        at[key] = len(items)
        items.append((f"{s.task}#{s.index}", pool, s.start_s, s.end_s, s.units))

    every = {(s.task, s.index) for s in shards}
    # Per distinct dependency tuple (by id: the shards of a task without a streaming edge
    # share one), what is known of it, worked out once.
    tuples: dict[int, _Deps] = {}
    for s in shards:
        deps = tuples.get(id(s.deps))
        if deps is None:
            distinct = tuple(dict.fromkeys(s.deps))
            deps = tuples[id(s.deps)] = _Deps([at[d] for d in distinct if d in at],
                                              [d for d in distinct if d not in every])
        deps.users += 1
    edges: list[tuple[int, int, float]] = []
    joins = 0
    done: set[int] = set()  # a shard given twice waits once
    for s in shards:
        me = at.get((s.task, s.index))
        if me is None or not s.deps or me in done:
            continue
        done.add(me)
        deps = tuples[id(s.deps)]
        unstated.extend(f"shard {s.task}#{s.index} depends on unknown shard {dep}" for dep in deps.unknown)
        if len(deps.known) < 2 or deps.users < 2:
            edges.extend((i, me, 0.0) for i in deps.known)
            continue
        if deps.join is None:
            joins += 1
            sources = ", ".join(dict.fromkeys(items[i][0].rsplit("#", 1)[0] for i in deps.known))
            ready = max(items[i][3] for i in deps.known)
            deps.join = len(items)
            items.append((f"all of {sources} ({joins})", items[me][1], ready, ready, 0))
            edges.extend((i, deps.join, 0.0) for i in deps.known)
        edges.append((deps.join, me, 0.0))
    return ShardTimes(capacity, items, edges, unstated)
