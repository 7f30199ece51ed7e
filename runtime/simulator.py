"""A discrete-event simulator: runs a physical plan on its modelled cluster in virtual time.

The simulator follows the plan as a real executor would: each shard runs on the machine
the plan chose, shards on one machine's hardware start in the plan's order, a shard
starts once its inputs are done and its units are free. Durations come from the cost
model, optionally perturbed by seeded log-normal noise (``jitter`` is its sigma), so the
same seed always gives the same run. Totals (energy with idle power of held units, cost
of held units) come from the same accounting as the planner's estimates.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque

from ..catalog.catalog import Catalog
from ..compiler.physical.cost import candidate_power_w, timeline_totals
from ..compiler.physical.plan import Estimate, PhysicalPlan, Shard
from .executor import RunResult, ShardRun


class Simulator:
    name = "sim"

    def __init__(self, catalog: Catalog, seed: int = 0, jitter: float = 0.0) -> None:
        if jitter < 0:
            raise ValueError("jitter is a standard deviation and cannot be negative")
        self.catalog = catalog
        self.seed = seed
        self.jitter = jitter

    def run(self, plan: PhysicalPlan) -> RunResult:
        rng = random.Random(self.seed)
        cluster = self.catalog.cluster(plan.cluster)
        assert cluster is not None
        free: dict[tuple[str, str], int] = {}
        for machine, inventory in cluster.machines():
            for hw, units in inventory.items():
                free[(machine, hw)] = units
        shards = {(s.task, s.index): s for s in plan.shards}
        # Each resource's queue, in the plan's order of starts. A sequential plan (the
        # hand-written baseline) has one queue for everything: one shard at a time.
        queues: dict[tuple[str, str], deque[Shard]] = {}
        topo = {n.id: i for i, n in enumerate(plan.logical.nodes)}
        for s in sorted(plan.shards, key=lambda s: (s.start_s, s.end_s, topo[s.task], s.index)):
            queues.setdefault(("*", "*") if plan.sequential else (s.machine, s.hardware), deque()).append(s)
        waiting = {key: len(s.deps) for key, s in shards.items()}
        readers: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for key, s in shards.items():
            for d in s.deps:
                readers.setdefault(d, []).append(key)
        durations = {key: s.duration_s * self._noise(rng) for key, s in sorted(shards.items())}
        started: dict[tuple[str, int], float] = {}
        done: list[ShardRun] = []
        events: list[tuple[float, int, tuple[str, int]]] = []
        seq = 0
        now = 0.0
        processed = 0

        def dispatch() -> None:
            nonlocal seq
            for resource, queue in queues.items():
                # In plan order: the head waits for its inputs, and everything behind it waits too.
                while queue and waiting[(queue[0].task, queue[0].index)] == 0 \
                        and free[(queue[0].machine, queue[0].hardware)] >= queue[0].units \
                        and not (plan.sequential and events):
                    s = queue.popleft()
                    free[(s.machine, s.hardware)] -= s.units
                    key = (s.task, s.index)
                    started[key] = now
                    seq += 1
                    heapq.heappush(events, (now + durations[key], seq, key))

        agents = {t.id: t.candidate.agent for t in plan.tasks}
        dispatch()
        while events:
            now, _, key = heapq.heappop(events)
            processed += 1
            s = shards[key]
            free[(s.machine, s.hardware)] += s.units
            done.append(ShardRun(s.task, s.index, agents[s.task], s.machine, s.hardware, s.units, s.calls, started[key], now))
            for r in readers.get(key, ()):
                waiting[r] -= 1
            dispatch()
        if len(done) != len(shards):  # pragma: no cover - the planner's sanity pass prevents it
            raise RuntimeError("the simulation deadlocked: the plan's order is not runnable")
        timeline = tuple(sorted(done, key=lambda r: (r.start_s, r.task, r.index)))
        return RunResult("sim", plan.job, self._totals(plan, timeline), timeline, processed)

    def _noise(self, rng: random.Random) -> float:
        return math.exp(rng.gauss(0.0, self.jitter)) if self.jitter > 0 else 1.0

    def _totals(self, plan: PhysicalPlan, timeline: tuple[ShardRun, ...]) -> Estimate:
        power = {t.id: candidate_power_w(self.catalog, t.candidate) for t in plan.tasks}
        rows = [(r.machine, r.hardware, r.start_s, r.end_s, r.units, power[r.task]) for r in timeline]
        return timeline_totals(self.catalog, rows, plan.estimate.quality)
