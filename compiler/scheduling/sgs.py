"""The serial schedule-generation scheme the heuristic and the oracle share.

Tasks are placed one at a time, in a given order that respects precedence; each starts at
the earliest time at which its predecessors have ended (plus transfers) and its pool has
enough units free for its whole duration, given the tasks placed so far. That may be
before tasks placed earlier (insertion into an idle gap, as HEFT's insertion policy).
Pools are tracked as a step function of units in use (``Profile``), so a cumulative pool
is never fragmented; units are named afterwards by ``assign_units``, which always succeeds
because every task holds its units for one contiguous interval.
"""

from __future__ import annotations

import bisect
import heapq
from typing import Sequence

from .problem import TIME_EPS, Placement, Problem
from .ranks import rank_order

# Breakpoints closer than this are the same instant: sums of float durations would
# otherwise leave slivers of a few ulps that block a task for no reason.
EPS = TIME_EPS


class Profile:
    """Units in use of one pool over time: ``used[i]`` on ``[times[i], times[i+1])``, and
    ``used[-1]`` (always 0) from the last breakpoint on."""

    __slots__ = ("capacity", "times", "used")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.times: list[float] = [0.0]
        self.used: list[int] = [0]

    def earliest(self, ready: float, duration: float, units: int) -> float:
        """The earliest start >= ``ready`` with ``units`` units free for ``duration`` seconds."""
        if duration <= 0:
            return ready
        limit = self.capacity - units
        times, used = self.times, self.used
        start = ready
        j = bisect.bisect_right(times, start + EPS) - 1
        while True:
            # Check the segments overlapping [start, start + duration).
            k = j
            while k < len(times) and (k == j or times[k] < start + duration - EPS):
                if used[k] > limit:
                    break
                k += 1
            else:
                return start
            # Segment k is too full: the next candidate start is where it ends.
            start = times[k + 1]
            j = k + 1

    def _split(self, t: float) -> int:
        """The index of the segment starting at ``t``, splitting one there if needed."""
        i = bisect.bisect_left(self.times, t - EPS)
        if i < len(self.times) and abs(self.times[i] - t) <= EPS:
            return i
        self.times.insert(i, t)
        self.used.insert(i, self.used[i - 1])
        return i

    def add(self, start: float, end: float, units: int) -> None:
        if end <= start:
            return
        i = self._split(start)
        j = self._split(end)
        for k in range(i, j):
            self.used[k] += units


def place(problem: Problem, order: Sequence[int], choice: Sequence[int]) -> list[float]:
    """Start times of the serial scheme placing tasks in ``order`` on options ``choice``
    (indexed by task); ``order`` must be topological."""
    profiles = {p.name: Profile(p.capacity) for p in problem.pools}
    start = [0.0] * len(problem.tasks)
    end = [0.0] * len(problem.tasks)
    for t in order:
        opt = problem.option(t, choice[t])
        ready = 0.0
        for k in problem.preds[t]:
            src, _ = problem.edge_ends[k]
            ready = max(ready, end[src] + problem.edges[k].seconds(choice[src], choice[t]))
        s = profiles[opt.pool].earliest(ready, opt.duration_s, opt.units)
        profiles[opt.pool].add(s, s + opt.duration_s, opt.units)
        start[t], end[t] = s, s + opt.duration_s
    return start


def assign_units(problem: Problem, choice: Sequence[int], start: Sequence[float]) -> list[tuple[int, ...]]:
    """Name the units of every task on a pool of capacity > 1: in order of start time,
    each takes the lowest-numbered units free at its start (released units first at equal
    times). Empty for single processors and tasks of duration 0."""
    out: list[tuple[int, ...]] = [() for _ in problem.tasks]
    by_pool: dict[str, list[int]] = {}
    for t in range(len(problem.tasks)):
        opt = problem.option(t, choice[t])
        if problem.pool_of(opt).capacity > 1 and opt.duration_s > 0:
            by_pool.setdefault(opt.pool, []).append(t)
    for pool, ts in by_pool.items():
        cap = problem.pools[problem.pool_index[pool]].capacity
        free = list(range(cap))  # a heap: lowest unit first
        running: list[tuple[float, int, tuple[int, ...]]] = []  # (end, task, units)
        for t in sorted(ts, key=lambda t: (start[t], t)):
            while running and running[0][0] <= start[t] + EPS:
                _, _, units = heapq.heappop(running)
                for u in units:
                    heapq.heappush(free, u)
            opt = problem.option(t, choice[t])
            if len(free) < opt.units:
                raise AssertionError(f"pool {pool} over capacity at {start[t]} s: the schedule is invalid")
            units = tuple(sorted(heapq.heappop(free) for _ in range(opt.units)))
            heapq.heappush(running, (start[t] + opt.duration_s, t, units))
            out[t] = units
    return out


def placements(problem: Problem, choice: Sequence[int], start: Sequence[float]) -> tuple[Placement, ...]:
    units = assign_units(problem, choice, start)
    return tuple(Placement(t.id, choice[i], start[i], units[i]) for i, t in enumerate(problem.tasks))


def priority_order(problem: Problem, rank: Sequence[float]) -> list[int]:
    """Task indices in list-scheduling order (``ranks.rank_order``): the highest ``rank``
    first among tasks whose predecessors are placed (the smaller index on ties), so
    zero-length tasks cannot break it."""
    return rank_order(range(len(problem.tasks)), problem.readers, rank)


def critical_tasks(problem: Problem, choice: Sequence[int], start: Sequence[float]) -> list[int]:
    """The chain of tasks that fixes the makespan: from a last task back, each step to the
    predecessor whose end (plus transfer) is the task's start, or else to a task on the
    same pool ending exactly then (the task waited for its units)."""
    n = len(problem.tasks)
    if n == 0:
        return []
    end = [start[t] + problem.option(t, choice[t]).duration_s for t in range(n)]
    t = max(range(n), key=lambda i: (end[i], -i))
    chain = [t]
    seen = {t}
    while True:
        nxt = None
        for k in problem.preds[t]:
            src, _ = problem.edge_ends[k]
            if abs(end[src] + problem.edges[k].seconds(choice[src], choice[t]) - start[t]) <= 1e-7:
                nxt = src
                break
        if nxt is None and start[t] > 0:
            pool = problem.option(t, choice[t]).pool
            for s in range(n):
                if s not in seen and problem.option(s, choice[s]).pool == pool and abs(end[s] - start[t]) <= 1e-7 \
                        and problem.option(s, choice[s]).duration_s > 0:
                    nxt = s
                    break
        if nxt is None or nxt in seen:
            return chain
        chain.append(nxt)
        seen.add(nxt)
        t = nxt
