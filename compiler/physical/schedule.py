"""HEFT-style list scheduling of chosen candidates on a cluster's machines.

Each task becomes ``fanout`` shards; a shard needs ``units`` units of one hardware
type on a single machine for ``setup_s + calls × call_s`` seconds. Shards are taken in
order of upward rank (the longest path from the task to the end, as in HEFT), each
placed on the machine where it finishes earliest, on the units that free up first.
Capacity holds at every instant because every unit is a slot that runs one shard at a
time. A shard waits for all shards of the tasks it reads, except along a streaming edge
(``fuse_maps``) where it waits only for the upstream shards that produce its items.

``serial=True`` runs one shard at a time in rank order: the hand-written sequential
baseline.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass

from ...catalog.catalog import Cluster
from ..logical import LogicalPlan, Node
from .cost import split_calls
from .plan import Candidate, Shard


@dataclass(frozen=True)
class Schedule:
    shards: tuple[Shard, ...]
    spans: dict[str, tuple[float, float]]

    @property
    def makespan_s(self) -> float:
        return max((s.end_s for s in self.shards), default=0.0)


def upward_ranks(plan: LogicalPlan, choice: dict[str, Candidate]) -> dict[str, float]:
    """rank(t) = latency(t) + max rank of the tasks reading t (HEFT's upward rank)."""
    rank: dict[str, float] = {}
    for node in reversed(plan.nodes):
        if not node.is_task:
            continue
        below = [rank[c.id] for c in plan.consumers(node.id) if c.id in rank]
        rank[node.id] = choice[node.id].latency_s + max(below, default=0.0)
    return rank


def _fractions(calls: list[float]) -> list[tuple[float, float]]:
    total = sum(calls) or 1.0
    out, acc = [], 0.0
    for c in calls:
        out.append((acc / total, (acc + c) / total))
        acc += c
    return out


def shard_deps(node: Node, plan: LogicalPlan, calls: dict[str, list[float]]) -> list[tuple[tuple[str, int], ...]]:
    """For each shard of ``node``, the (task, shard) pairs it must wait for."""
    mine = _fractions(calls[node.id])
    deps: list[list[tuple[str, int]]] = [[] for _ in mine]
    for src in node.inputs:
        if src not in calls:
            continue  # an input parameter: available at time 0
        theirs = _fractions(calls[src])
        for j, (lo, hi) in enumerate(mine):
            for i, (a, b) in enumerate(theirs):
                # Streaming: wait only for the upstream shards whose items overlap ours.
                if node.streams_from == src and not (a < hi and lo < b) and not (lo == hi == a):
                    continue
                deps[j].append((src, i))
    return [tuple(d) for d in deps]


def schedule(plan: LogicalPlan, choice: dict[str, Candidate], cluster: Cluster, serial: bool = False) -> Schedule:
    tasks = [n for n in plan.nodes if n.is_task]
    order = {n.id: i for i, n in enumerate(plan.nodes)}
    calls = {n.id: split_calls(choice[n.id].calls, choice[n.id].fanout) for n in tasks}
    deps = {n.id: shard_deps(n, plan, calls) for n in tasks}
    rank = upward_ranks(plan, choice)

    # Slots: (machine, hardware) -> the time each unit becomes free.
    machines = cluster.machines()
    slots: dict[tuple[str, str], list[float]] = {}
    for machine, inventory in machines:
        for hw, units in inventory.items():
            slots[(machine, hw)] = [0.0] * units

    waiting = {(t.id, i): len(deps[t.id][i]) for t in tasks for i in range(len(calls[t.id]))}
    readers: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for t in tasks:
        for i, ds in enumerate(deps[t.id]):
            for d in ds:
                readers.setdefault(d, []).append((t.id, i))
    ready_at: dict[tuple[str, int], float] = {key: 0.0 for key in waiting}
    heap = [(-rank[t], order[t], i, t) for (t, i), n in waiting.items() if n == 0]
    heapq.heapify(heap)
    placed: dict[tuple[str, int], Shard] = {}
    last_end = 0.0
    while heap:
        _, _, i, task_id = heapq.heappop(heap)
        cand = choice[task_id]
        n_calls = calls[task_id][i]
        duration = cand.shard_seconds(n_calls)
        ready = ready_at[(task_id, i)]
        if serial:
            ready = max(ready, last_end)
        best: tuple[float, float, str] | None = None
        for machine, _ in machines:
            free = slots.get((machine, cand.hardware))
            if free is None or len(free) < cand.units:
                continue
            # `free` is sorted, so the units that free up first are its head.
            start = max(ready, free[cand.units - 1])
            if best is None or start + duration < best[0] - 1e-12:
                best = (start + duration, start, machine)
        if best is None:
            raise ValueError(f"no machine of {cluster.name} has {cand.units} x {cand.hardware} for {task_id}")
        end, start, machine = best
        free = slots[(machine, cand.hardware)]
        del free[: cand.units]
        for _ in range(cand.units):
            bisect.insort(free, end)
        shard = Shard(task_id, i, machine, cand.hardware, cand.units, n_calls, duration, start, end,
                      deps[task_id][i])
        placed[(task_id, i)] = shard
        last_end = max(last_end, end)
        for reader in readers.get((task_id, i), ()):
            ready_at[reader] = max(ready_at[reader], end)
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(heap, (-rank[reader[0]], order[reader[0]], reader[1], reader[0]))
    shards = tuple(sorted(placed.values(), key=lambda s: (s.start_s, order[s.task], s.index)))
    spans = {}
    for t in tasks:
        mine = [s for s in shards if s.task == t.id]
        spans[t.id] = (min(s.start_s for s in mine), max(s.end_s for s in mine))
    return Schedule(shards, spans)
