"""HEFT's upward ranks and the list order they give: the one definition, for this core's
heuristic (``greedy.py``, on task indices) and the job planner's list scheduler
(``compiler/physical/schedule.py``, on task names).

- ``upward_ranks``: rank(t) = w(t) + max over the tasks d reading t of (c(t, d) + rank(d)),
  the longest path from t to the end (Topcuoglu et al., 2002), with w the task's time and
  c an edge's transfer time;
- ``rank_order``: a topological order taking, among the tasks whose predecessors are
  placed, the highest rank first (the earlier task on ties), so tasks of duration 0,
  which tie with what reads them, cannot break it.
"""

from __future__ import annotations

import heapq
from typing import Callable, Hashable, Iterable, Mapping, Sequence, TypeVar

K = TypeVar("K", bound=Hashable)


def upward_ranks(backwards: Iterable[tuple[K, Iterable[tuple[K, float]]]], weight: Callable[[K], float]) -> dict[K, float]:
    """The upward rank of every task. ``backwards``: each task (in reverse topological
    order) with the tasks reading it and each edge's transfer time; it is walked once,
    so the readers of a task may be produced lazily, after the ranks of those readers."""
    rank: dict[K, float] = {}
    for task, readers in backwards:
        below = 0.0
        for reader, transfer in readers:
            r = transfer + rank[reader]
            if r > below:
                below = r
        rank[task] = weight(task) + below
    return rank


def rank_order(tasks: Sequence[K], readers: Mapping[K, Sequence[K]], rank: Mapping[K, float]) -> list[K]:
    """``tasks`` in list-scheduling order: highest ``rank`` first among the tasks whose
    predecessors (the tasks that ``readers`` lists them under) are placed; ties go to the
    one earlier in ``tasks``."""
    position = {t: i for i, t in enumerate(tasks)}
    keyed = sorted(tasks, key=lambda t: (-rank[t], position[t]))
    # When every task sorts before the tasks reading it (upward ranks do, but for ties of
    # tasks of duration 0), the task sorted first among those left is always ready: the
    # order is simply the sorted one.
    at = {t: i for i, t in enumerate(keyed)}
    if all(at[t] < at[r] for t in tasks for r in readers.get(t, ())):
        return keyed
    waiting = dict.fromkeys(tasks, 0)
    for t in tasks:
        for r in readers.get(t, ()):
            waiting[r] += 1
    heap = [(-rank[t], i) for i, t in enumerate(tasks) if waiting[t] == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        t = tasks[heapq.heappop(heap)[1]]
        out.append(t)
        for r in readers.get(t, ()):
            waiting[r] -= 1
            if waiting[r] == 0:
                heapq.heappush(heap, (-rank[r], position[r]))
    return out
