"""HEFT-style list scheduling of chosen candidates on a cluster's machines.

Each task becomes ``fanout`` shards; a shard needs ``units`` units of one hardware
type on a single machine for ``Candidate.shard_seconds(calls)``. Tasks are taken in
order of upward rank (the longest path from the task to the end, as in HEFT), and each
of their shards placed on the machine where it finishes earliest, on the units that free
up first.
Capacity holds at every instant because every unit is a slot that runs one shard at a
time. A shard waits for all shards of the tasks it reads, except along a streaming edge
(``fuse_maps``) where it waits only for the upstream shards that produce its items.

``serial=True`` runs one shard at a time in rank order: the hand-written sequential
baseline.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, replace

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
    readers: dict[str, list[str]] = {}
    for n in plan.nodes:
        for i in n.inputs:
            readers.setdefault(i, []).append(n.id)
    rank: dict[str, float] = {}
    for node in reversed(plan.nodes):
        if not node.is_task:
            continue
        below = [rank[r] for r in readers.get(node.id, ()) if r in rank]
        rank[node.id] = choice[node.id].latency_s + max(below, default=0.0)
    return rank


def _fractions(calls: list[float]) -> list[tuple[float, float]]:
    total = sum(calls) or 1.0
    out, acc = [], 0.0
    for c in calls:
        out.append((acc / total, (acc + c) / total))
        acc += c
    return out


def shard_deps(node: Node, calls: dict[str, list[float]]) -> list[tuple[tuple[str, int], ...]]:
    """For each shard of ``node``, the (task, shard) pairs it must wait for."""
    mine = _fractions(calls[node.id])
    deps: list[list[tuple[str, int]]] = [[] for _ in mine]
    for src in dict.fromkeys(node.inputs):
        if src not in calls:
            continue  # an input parameter: available at time 0
        theirs = _fractions(calls[src])
        if node.streams_from != src:
            every = [(src, i) for i in range(len(theirs))]
            for d in deps:
                d.extend(every)
            continue
        # Streaming: wait only for the upstream shards whose items overlap ours.
        for j, (lo, hi) in enumerate(mine):
            for i, (a, b) in enumerate(theirs):
                if (a < hi and lo < b) or (lo == hi == a):
                    deps[j].append((src, i))
    return [tuple(d) for d in deps]


class Placer:
    """Places tasks one at a time, all shards of a task together, on a cluster's slots.

    Each shard goes to the machine where it finishes first, on the units that free up
    first (``trial`` computes that without committing, so a search can compare
    candidates against the same cluster state). A shard is ready when the tasks it reads
    have finished, or, along a streaming edge, when the upstream shards producing its
    items have. ``with_deps`` records each shard's dependencies explicitly (the
    simulator and the validator need them; a search scoring thousands of plans does not).
    """

    def __init__(self, plan: LogicalPlan, cluster: Cluster, serial: bool = False, with_deps: bool = True) -> None:
        self.plan, self.cluster, self.serial, self.with_deps = plan, cluster, serial, with_deps
        self.machines = [m for m, _ in cluster.machines()]
        self.slots: dict[tuple[str, str], list[float]] = {}
        for machine, inventory in cluster.machines():
            for hw, units in inventory.items():
                self.slots[(machine, hw)] = [0.0] * units
        self.calls: dict[str, list[float]] = {}
        self.shards: dict[str, list[Shard]] = {}
        self.task_end: dict[str, float] = {}
        self.last_end = 0.0

    def _ready_times(self, node: Node, calls: list[float]) -> list[float]:
        barrier = 0.0
        ready = [0.0] * len(calls)
        mine = None
        for src in dict.fromkeys(node.inputs):
            if src not in self.task_end:
                continue  # an input parameter: available at time 0
            if node.streams_from != src:
                barrier = max(barrier, self.task_end[src])
                continue
            mine = mine or _fractions(calls)
            theirs = _fractions(self.calls[src])
            ends = [s.end_s for s in self.shards[src]]
            for j, (lo, hi) in enumerate(mine):
                for i, (a, b) in enumerate(theirs):
                    if (a < hi and lo < b) or (lo == hi == a):
                        ready[j] = max(ready[j], ends[i])
        return [max(barrier, r) for r in ready]

    def trial(self, node: Node, cand: Candidate) -> list[Shard]:
        calls = split_calls(cand.calls, cand.fanout)
        ready_times = self._ready_times(node, calls)
        pools = {m: list(self.slots[(m, cand.hardware)]) for m in self.machines if (m, cand.hardware) in self.slots}
        out = []
        last_end = self.last_end
        for i, n_calls in enumerate(calls):
            duration = cand.shard_seconds(n_calls)
            ready = max(ready_times[i], last_end) if self.serial else ready_times[i]
            best: tuple[float, float, str] | None = None
            for machine, free in pools.items():
                if len(free) < cand.units:
                    continue
                # `free` is sorted, so the units that free up first are its head.
                start = max(ready, free[cand.units - 1])
                if best is None or start + duration < best[0] - 1e-12:
                    best = (start + duration, start, machine)
            if best is None:
                raise ValueError(f"no machine of {self.cluster.name} has {cand.units} x {cand.hardware} "
                                 f"for {node.id}")
            end, start, machine = best
            free = pools[machine]
            del free[: cand.units]
            for _ in range(cand.units):
                bisect.insort(free, end)
            out.append(Shard(node.id, i, machine, cand.hardware, cand.units, n_calls, duration, start, end, ()))
            last_end = max(last_end, end)
        return out

    def commit(self, node: Node, cand: Candidate, shards: list[Shard]) -> None:
        self.calls[node.id] = split_calls(cand.calls, cand.fanout)
        if self.with_deps:
            deps = shard_deps(node, self.calls)
            shards = [replace(s, deps=deps[s.index]) for s in shards]
        self.shards[node.id] = shards
        self.task_end[node.id] = max(s.end_s for s in shards)
        for s in shards:
            free = self.slots[(s.machine, s.hardware)]
            del free[: s.units]
            for _ in range(s.units):
                bisect.insort(free, s.end_s)
            self.last_end = max(self.last_end, s.end_s)

    def result(self, ordered: bool = True) -> Schedule:
        """The schedule; ``ordered`` sorts its shards by start time (for plans and
        timelines; a search that only totals the schedule skips the sort)."""
        shards = tuple(s for ss in self.shards.values() for s in ss)
        if ordered:
            order = {n.id: i for i, n in enumerate(self.plan.nodes)}
            shards = tuple(sorted(shards, key=lambda s: (s.start_s, order[s.task], s.index)))
        spans = {t: (min(s.start_s for s in ss), max(s.end_s for s in ss)) for t, ss in self.shards.items()}
        return Schedule(shards, spans)


def ready_order(plan: LogicalPlan, rank: dict[str, float]) -> list[Node]:
    """Tasks in list-scheduling order: highest upward rank first among those whose
    producers are placed (a topological order even when ranks tie)."""
    tasks = {n.id: n for n in plan.nodes if n.is_task}
    order = {n.id: i for i, n in enumerate(plan.nodes)}
    waiting = {t: len({i for i in n.inputs if i in tasks}) for t, n in tasks.items()}
    readers: dict[str, list[str]] = {}
    for t, n in tasks.items():
        for i in dict.fromkeys(n.inputs):
            if i in tasks:
                readers.setdefault(i, []).append(t)
    heap = [(-rank[t], order[t], t) for t, w in waiting.items() if w == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        _, _, t = heapq.heappop(heap)
        out.append(tasks[t])
        for r in readers.get(t, ()):
            waiting[r] -= 1
            if waiting[r] == 0:
                heapq.heappush(heap, (-rank[r], order[r], r))
    return out


def schedule(plan: LogicalPlan, choice: dict[str, Candidate], cluster: Cluster, serial: bool = False,
             with_deps: bool = True) -> Schedule:
    """List-schedule a fixed choice of candidates."""
    placer = Placer(plan, cluster, serial, with_deps)
    for node in ready_order(plan, upward_ranks(plan, choice)):
        cand = choice[node.id]
        placer.commit(node, cand, placer.trial(node, cand))
    # Without dependencies the schedule is only being scored: its order does not matter.
    return placer.result(ordered=with_deps)
