"""HEFT-style list scheduling of chosen candidates on a cluster's machines: the job
planner's shard placement, over the scheduling core's pieces (``compiler/scheduling``:
its upward ranks and list order, ``ranks.py``; its checks, which every schedule made
here passes, ``validate.check_times`` through ``as_scheduling.py``).

Each task becomes ``fanout`` shards; a shard needs ``units`` units of one hardware
type on a single machine for ``Candidate.shard_seconds(calls)``. Tasks are taken in
order of upward rank (the longest path from the task to the end, as in HEFT), and each
of their shards placed on the machine where it finishes earliest, on the units that free
up first.

The placement itself is job-specific, so it stays here: all shards of a task run one
candidate (the core's ``Problem`` chooses an option per task, not per group of tasks),
a shard along a streaming edge waits only for the shards producing its items, and the
loop runs thousands of times per plan (each descent move re-places every shard), on
lists of free times rather than the core's objects. Units are taken as they free up
(no insertion into idle gaps, unlike the core's ``sgs.Profile``).
Capacity holds at every instant because every unit is a slot that runs one shard at a
time. A shard waits for all shards of the tasks it reads, except along a streaming edge
(``fuse_maps``) where it waits only for the upstream shards that produce its items.

``serial=True`` runs one shard at a time in rank order: the hand-written sequential
baseline.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from ...catalog.catalog import Cluster
from ..scheduling import ranks
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


def upward_ranks(plan: LogicalPlan, choice: Mapping[str, Candidate]) -> dict[str, float]:
    """HEFT's upward rank of every task (``scheduling.ranks``): its candidate's latency
    plus the highest rank among the tasks reading it (no transfer times)."""
    # The task graph (derived once per plan) lists each reader once.
    return ranks.upward_ranks(((t, ((r, 0.0) for r in readers)) for t, readers in plan.derived(_task_graph).backwards),
                              lambda t: choice[t].latency_s)


class MakespanBound:
    """A lower bound on the makespan of ``schedule(plan, choice, ...)``, without
    scheduling: the longest path through the plan, each task taking its longest shard
    after a barrier edge (every shard starts after the source's last one ends) and its
    shortest after a streaming edge (the source's last shard feeds one of its shards).
    Ends in the schedule are sums of the same floats, and float addition is monotone, so
    the bound never exceeds the schedule's makespan. A streaming edge where either side
    has a shard without calls (which may feed or wait for nothing) adds nothing.
    """

    def __init__(self, plan: LogicalPlan) -> None:
        graph = plan.derived(_task_graph)
        self._tasks = [(t, tuple(dict.fromkeys(i for i in n.inputs if i in graph.tasks)), n.streams_from)
                       for t, n in graph.tasks.items()]
        # Per candidate (by id, the candidate kept to guard the id): longest shard,
        # shortest shard, whether every shard has calls.
        self._shards: dict[int, tuple[Candidate, float, float, bool]] = {}
        self._sources = {t: (sources, streams_from) for t, sources, streams_from in self._tasks}
        # (reader, whether it streams from the task), per task.
        self._readers: dict[str, list[tuple[str, bool]]] = {}
        for t, sources, streams_from in self._tasks:
            for src in sources:
                self._readers.setdefault(src, []).append((t, src == streams_from))

    def _of(self, c: Candidate) -> tuple[Candidate, float, float, bool]:
        got = self._shards.get(id(c))
        if got is None or got[0] is not c:
            calls = split_calls(c.calls, c.fanout)
            seconds = [c.shard_seconds(n) for n in calls]
            got = self._shards[id(c)] = (c, max(seconds), min(seconds), min(calls) > 0)
        return got

    def __call__(self, choice: Mapping[str, Candidate]) -> float:
        return self._ends(choice)[1]

    def _ends(self, choice: Mapping[str, Candidate]) -> tuple[dict[str, tuple[float, bool]], float]:
        """(each task's bounded end and whether all its shards have calls, the bound)."""
        end: dict[str, tuple[float, bool]] = {}
        makespan = 0.0
        for task, sources, streams_from in self._tasks:
            _, longest, shortest, full = self._of(choice[task])
            e = _bounded_end(end, sources, streams_from, longest, shortest, full)
            end[task] = (e, full)
            if e > makespan:
                makespan = e
        return end, makespan

    def around(self, choice: Mapping[str, Candidate]) -> "PathsThrough":
        """What :meth:`PathsThrough.bound` needs of ``choice``: each task's bounded end,
        and the longest bounded path after it to the end of the plan."""
        end, _ = self._ends(choice)
        tail: dict[str, float] = {}
        for task, _, _ in reversed(self._tasks):
            full = end[task][1]
            t = 0.0
            for reader, streaming in self._readers.get(task, ()):
                _, longest, shortest, full_reader = self._of(choice[reader])
                if not streaming:
                    x = longest + tail[reader]
                elif full and full_reader:
                    x = shortest + tail[reader]
                else:
                    continue
                if x > t:
                    t = x
            tail[task] = t
        return PathsThrough(self, choice, end, tail)


def _bounded_end(end: Mapping[str, tuple[float, bool]], sources: tuple[str, ...], streams_from: str | None,
                 longest: float, shortest: float, full: bool) -> float:
    """A task's bounded end from its sources' (``MakespanBound``): its longest shard
    after each barrier source, its shortest after a streaming one."""
    e = longest
    for src in sources:
        e_src, full_src = end[src]
        if src != streams_from:
            x = e_src + longest
        elif full and full_src:
            x = e_src + shortest
        else:
            continue
        if x > e:
            e = x
    return e


class PathsThrough:
    """The longest bounded path through one task, for choices that differ from the one
    it was made for (``MakespanBound.around``) in that task only: the tasks before it
    and after it keep their ends and tails, so the path is a few additions, not a walk
    of the plan. It is one path of the changed choice's bound, so it is no greater than
    ``MakespanBound(choice)`` but for rounding (its sums are associated differently:
    a relative 1e-12 at most); the paths not through the task are those of the choice
    it was made for, whose bound the incumbent's makespan already meets."""

    def __init__(self, bound: MakespanBound, choice: Mapping[str, Candidate], end: dict[str, tuple[float, bool]],
                 tail: dict[str, float]) -> None:
        self._bound, self._choice, self._end, self._tail = bound, choice, end, tail

    def bound(self, task: str, cand: Candidate) -> float:
        of = self._bound._of
        _, longest, shortest, full = of(cand)
        sources, streams_from = self._bound._sources[task]
        e = _bounded_end(self._end, sources, streams_from, longest, shortest, full)
        t = 0.0
        for reader, streaming in self._bound._readers.get(task, ()):
            # The reader's own candidate is the one the paths were made with.
            _, r_longest, r_shortest, full_reader = of(self._choice[reader])
            if not streaming:
                x = r_longest + self._tail[reader]
            elif full and full_reader:
                x = r_shortest + self._tail[reader]
            else:
                continue
            if x > t:
                t = x
        return e + t


def _fractions(calls: Sequence[float]) -> list[tuple[float, float]]:
    total = sum(calls) or 1.0
    out, acc = [], 0.0
    for c in calls:
        out.append((acc / total, (acc + c) / total))
        acc += c
    return out


def shard_deps(node: Node, calls: dict[str, list[float]]) -> list[tuple[tuple[str, int], ...]]:
    """For each shard of ``node``, the (task, shard) pairs it must wait for."""
    return _deps(node, calls[node.id], calls)


def _deps(node: Node, own: Sequence[float], calls: Mapping[str, Sequence[float]]) -> list[tuple[tuple[str, int], ...]]:
    """:func:`shard_deps` of ``node`` split into ``own`` calls per shard, its sources' in ``calls``."""
    mine = _fractions(own)
    sources = [src for src in dict.fromkeys(node.inputs) if src in calls]  # others: input parameters, at time 0
    if node.streams_from not in sources:
        # No streaming edge: every shard waits for all shards of every source, so they
        # share one tuple (a 256-way map after a 256-way map would otherwise build
        # 65,536 pairs per task, per shard).
        shared = tuple((src, i) for src in sources for i in range(len(calls[src])))
        return [shared] * len(mine)
    deps: list[list[tuple[str, int]]] = [[] for _ in mine]
    for src in sources:
        if node.streams_from != src:
            every = [(src, i) for i in range(len(calls[src]))]
            for d in deps:
                d.extend(every)
            continue
        # Streaming: wait only for the upstream shards whose items overlap ours.
        theirs = _fractions(calls[src])
        for j, (lo, hi) in enumerate(mine):
            deps[j].extend((src, i) for i in _overlapping(lo, hi, theirs))
    return [tuple(d) for d in deps]


def _overlapping(lo: float, hi: float, theirs: list[tuple[float, float]]) -> range | list[int]:
    """Indexes i, ascending, of the intervals (a, b) of ``theirs`` that overlap [lo, hi]:
    ``(a < hi and lo < b) or (lo == hi == a)``.

    ``theirs`` is a partition of [0, 1] in order, so its starts and ends both ascend:
    ``a < hi`` holds for a prefix and ``lo < b`` for a suffix, and the overlap is the
    range between them (two binary searches instead of a walk of all of ``theirs``). A
    point (``lo == hi``) may also touch intervals that start at it; it is walked.
    """
    if lo == hi:
        return [i for i, (a, b) in enumerate(theirs) if (a < hi and lo < b) or (lo == hi == a)]
    first = bisect.bisect_right(theirs, lo, key=_end)
    last = bisect.bisect_left(theirs, hi, key=_start)
    return range(first, max(first, last))


def _start(interval: tuple[float, float]) -> float:
    return interval[0]


def _end(interval: tuple[float, float]) -> float:
    return interval[1]


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
        self.ends: dict[str, list[float]] = {}  # each placed task's shard ends, by shard index
        self.last_end = 0.0
        # A placer that only scores (``placements``) records rows, not shards.
        self.rows: list[tuple[str, str, str, float, float, int]] | None = None
        self._inputs: dict[str, tuple[str, ...]] = {}
        # The machines with each hardware type, in machine order (slots are keyed so).
        self._machines_with: dict[str, list[str]] = {}
        for machine, hw in self.slots:
            self._machines_with.setdefault(hw, []).append(machine)
        # Trials since the last commit, by id of the shard list returned: (shards,
        # hardware, the pools after placing them, last end).
        self._trials: dict[int, tuple[list[Shard], str, list[tuple[str, list[float]]], float]] = {}
        # Finish times asked since the last commit, by id of the candidate (``_Tried``):
        # placing one of them commits what its trial computed.
        self._tried: dict[int, _Tried] = {}

    def _ready_times(self, node: Node, calls: list[float]) -> list[float]:
        barrier = 0.0
        mine = None
        ready: list[float] | None = None
        task_end = self.task_end
        for src in self._sources(node):
            end = task_end.get(src)
            if end is None:
                continue  # an input parameter: available at time 0
            if node.streams_from != src:
                if end > barrier:
                    barrier = end
                continue
            if ready is None:
                ready = [0.0] * len(calls)
            mine = mine or _fractions(calls)
            theirs = _fractions(self.calls[src])
            ends = self.ends[src]
            for j, (lo, hi) in enumerate(mine):
                for i in _overlapping(lo, hi, theirs):
                    ready[j] = max(ready[j], ends[i])
        if ready is None:
            return [barrier] * len(calls)
        return [max(barrier, r) for r in ready]

    def _sources(self, node: Node) -> tuple[str, ...]:
        """The distinct inputs of ``node``, in order (asked once per placement of it)."""
        got = self._inputs.get(node.id)
        if got is None:
            got = self._inputs[node.id] = tuple(dict.fromkeys(node.inputs))
        return got

    def trial(self, node: Node, cand: Candidate) -> list[Shard]:
        """The shards of ``node`` run as ``cand``, placed on the cluster as it stands
        (nothing is committed)."""
        shards, _ = self._place(node, cand, True, False)
        assert shards is not None
        return shards

    def finish(self, node: Node, cand: Candidate) -> float:
        """When ``node`` run as ``cand`` would finish: ``max(s.end_s for s in
        self.trial(node, cand))``, without making the shards (a search that compares
        many candidates needs only this, and the shards of the one it commits)."""
        finish = self._place(node, cand, False, False)[1]
        if finish is None:
            raise ValueError(f"{node.id} run as {cand.label()} has no shards")
        return finish

    def quick_bounds(self, node: Node, options: Sequence[Candidate]) -> list[float]:
        """A lower bound on :meth:`finish` of each of ``options``, in constant time: its
        longest shard, started no earlier than the tasks ``node`` waits for (but along a
        streaming edge) end, nor than the ``units``-th unit of ``hw`` frees up on some
        machine (see :meth:`finish_bound`, which is tighter). -inf when no machine has
        the units."""
        barrier = 0.0
        task_end = self.task_end
        for src in self._sources(node):
            end = task_end.get(src)
            if end is not None and end > barrier and node.streams_from != src:
                barrier = end
        firsts: dict[tuple[str, int], float] = {}
        out = []
        for cand in options:
            hw, units = cand.hardware, cand.units
            first = firsts.get((hw, units))
            if first is None:
                first = math.inf
                for m in self._machines_with.get(hw, ()):
                    free = self.slots[(m, hw)]
                    if len(free) >= units and free[units - 1] < first:
                        first = free[units - 1]
                firsts[(hw, units)] = first
            if first == math.inf:
                out.append(-math.inf)
                continue
            out.append((barrier if barrier > first else first) + _longest(cand))
        return out

    def finish_bound(self, node: Node, cand: Candidate) -> float:
        """A lower bound on :meth:`finish`, without placing (but for rounding, see below).

        Each shard starts no earlier than it is ready, nor than the ``units``-th unit of
        ``hw`` to free up on some machine: a pool only frees up later as shards are placed
        on it. One unit per shard, all ready at once: each shard takes the unit that frees
        up first (but for ends within the placement's 1e-12 of each other: a caller
        allows for that); those are the pools' own units or ones an earlier shard of the task ran
        on, free no earlier than the ready time plus the shortest shard. So the j-th shard
        placed starts no earlier than the j-th unit of all pools to free up, or than that.
        (Shards ready at different times, along a streaming edge, may take units out of
        that order: they get the first bound only.) -inf when no machine has the units,
        so that ``finish`` is asked and raises."""
        calls = split_calls(cand.calls, cand.fanout)
        ready = self._ready_times(node, calls)
        hw, units = cand.hardware, cand.units
        pools = [self.slots[(m, hw)] for m in self._machines_with.get(hw, ())]
        heads = [free[units - 1] for free in pools if len(free) >= units]
        if not heads:
            return -math.inf
        first = min(heads)
        seconds: dict[float, float] = {}
        for n in calls:
            if n not in seconds:
                seconds[n] = cand.shard_seconds(n)
        bound = -math.inf
        if units == 1 and len(calls) > 1 and min(ready) == max(ready):
            units_free = sorted(itertools.chain.from_iterable(pools))
            at = ready[0] if ready[0] > first else first
            reuse = ready[0] + min(seconds.values())
            for j, n in enumerate(calls):
                start = units_free[j] if j < len(units_free) and units_free[j] < reuse else reuse
                if at > start:
                    start = at
                end = start + seconds[n]
                if end > bound:
                    bound = end
            return bound
        for j, n in enumerate(calls):
            start = ready[j] if ready[j] > first else first
            end = start + seconds[n]
            if end > bound:
                bound = end
        return bound

    def place(self, node: Node, cand: Candidate) -> None:
        """``commit(node, cand, trial(node, cand))`` in one step: the shards are placed
        on the cluster's own pools, not on copies (a fixed choice has nothing to compare),
        or, when :meth:`finish` placed them on copies since the last commit, those."""
        tried = self._tried.get(id(cand))
        if tried is None or tried.cand is not cand or tried.task != node.id:
            self._place(node, cand, True, True)
            return
        task, hw, units = node.id, cand.hardware, cand.units
        for machine, free in tried.pools:
            self.slots[(machine, hw)] = free
        rows = self.rows
        if rows is not None:
            rows.extend((task, machine, hw, start, end, units) for machine, start, end in tried.placed)
        else:
            deps = _deps(node, tried.calls, self.calls) if self.with_deps else None
            self.shards[task] = [
                Shard(task, i, machine, hw, units, n, cand.shard_seconds(n), start, end,
                      deps[i] if deps is not None else ())
                for i, (n, (machine, start, end)) in enumerate(zip(tried.calls, tried.placed))]
        self.calls[task] = tried.calls
        self.ends[task] = tried.ends
        self.task_end[task] = tried.finish
        self.last_end = tried.last_end
        self._trials = {}
        self._tried = {}

    def _place(self, node: Node, cand: Candidate, keep: bool, in_place: bool) -> tuple[list[Shard] | None, float | None]:
        """(the shards if ``keep``, the latest end among them: None if there are none).
        ``in_place``: place on the pools themselves and record the task as committed;
        with ``rows`` set (a placer that only scores), rows instead of shards."""
        calls = split_calls(cand.calls, cand.fanout)
        ready_times = self._ready_times(node, calls)
        hw, units = cand.hardware, cand.units
        slots = self.slots
        # A single shard whose finish is all that is asked leaves the pools as they are.
        look = not keep and not in_place and len(calls) == 1
        # Several, on copies of the pools: what :meth:`place` needs to commit them is kept.
        placed: list[tuple[str, float, float]] | None = [] if not keep and not in_place and not look else None
        # (machine, its units of hw by the time they free up), in machine order.
        names = self._machines_with.get(hw, ())
        if in_place or look:
            frees = [slots[(m, hw)] for m in names]
        else:
            frees = [list(slots[(m, hw)]) for m in names]
        rows = self.rows if in_place else None
        make = keep and rows is None
        out: list[Shard] = []
        ends: list[float] = []
        last_end = self.last_end
        head = units - 1
        # A task's shards differ by one call at most: the first's and the last's seconds.
        first_calls = calls[0] if calls else 0.0
        first_s = cand.shard_seconds(first_calls) if calls else 0.0
        last_s = cand.shard_seconds(calls[-1]) if calls and calls[-1] != first_calls else first_s
        # Dependencies are recorded as the shards are made (commit would otherwise copy each).
        deps = _deps(node, calls, self.calls) if self.with_deps and make else None
        finish: float | None = None
        serial = self.serial
        task = node.id
        machines = range(len(frees))
        # The loop below runs once per shard of every candidate tried: `x if x > y else y`
        # is max(y, x) (the same float, ties included) without a call.
        for i, n_calls in enumerate(calls):
            duration = first_s if n_calls == first_calls else last_s
            ready = ready_times[i]
            if serial and last_end > ready:
                ready = last_end
            best_end = best_start = 0.0
            best = -1
            for j in machines:
                free = frees[j]
                if len(free) <= head:
                    continue
                # `free` is sorted, so the units that free up first are its head.
                start = free[head] if free[head] > ready else ready
                if best < 0 or start + duration < best_end - 1e-12:
                    best_end, best_start, best = start + duration, start, j
            if best < 0:
                raise ValueError(f"no machine of {self.cluster.name} has {units} x {hw} for {node.id}")
            free, machine = frees[best], names[best]
            if look:
                pass
            elif units == 1:
                del free[0]
                bisect.insort(free, best_end)
            else:
                _occupy(free, units, best_end)
            if make:
                out.append(Shard(task, i, machine, hw, units, n_calls, duration, best_start, best_end,
                                 deps[i] if deps is not None else ()))
            elif rows is not None:
                rows.append((task, machine, hw, best_start, best_end, units))
            elif placed is not None:
                placed.append((machine, best_start, best_end))
            ends.append(best_end)
            if finish is None or best_end > finish:
                finish = best_end
            if best_end > last_end:
                last_end = best_end
        if in_place:
            self.calls[task] = calls
            self.ends[task] = ends
            if finish is not None:
                self.task_end[task] = finish
            self.last_end = last_end
            if make:
                self.shards[task] = out
            self._trials = {}
            self._tried = {}
            return (out if make else None), finish
        if placed is not None and finish is not None:
            self._tried[id(cand)] = _Tried(cand, task, list(zip(names, frees)), placed, calls, ends, finish, last_end)
        if not keep:
            return None, finish
        self._trials[id(out)] = (out, hw, list(zip(names, frees)), last_end)
        return out, finish

    def commit(self, node: Node, cand: Candidate, shards: list[Shard]) -> None:
        self.calls[node.id] = split_calls(cand.calls, cand.fanout)
        tried = self._trials.get(id(shards))
        if tried is not None and tried[0] is not shards:
            tried = None
        self._trials = {}
        self._tried = {}
        if self.with_deps and tried is None:
            deps = shard_deps(node, self.calls)
            shards = [replace(s, deps=deps[s.index]) for s in shards]
        self.shards[node.id] = shards
        self.ends[node.id] = [s.end_s for s in shards]
        self.task_end[node.id] = max(s.end_s for s in shards)
        if tried is not None:
            # The trial ran against the state this commit starts from and placed exactly
            # these shards: its pools are what replaying them would give.
            _, hw, pools, last_end = tried
            for machine, free in pools:
                self.slots[(machine, hw)] = free
            self.last_end = last_end
            return
        for s in shards:
            _occupy(self.slots[(s.machine, s.hardware)], s.units, s.end_s)
            self.last_end = max(self.last_end, s.end_s)

    def result(self, ordered: bool = True) -> Schedule:
        """The schedule; ``ordered`` sorts its shards by start time (for plans and
        timelines; a search that only totals the schedule skips the sort)."""
        shards = tuple(s for ss in self.shards.values() for s in ss)
        if ordered:
            order = self.plan.derived(_task_graph).order
            shards = tuple(sorted(shards, key=lambda s: (s.start_s, order[s.task], s.index)))
        spans = {t: (min(s.start_s for s in ss), max(s.end_s for s in ss)) for t, ss in self.shards.items()}
        return Schedule(shards, spans)


def _longest(cand: Candidate) -> float:
    """The candidate's longest shard: of thousands of tasks' candidates, few differ in
    what it depends on (kept in ``_LONGEST``)."""
    key = (cand.calls, cand.fanout, cand.setup_s, cand.call_s, cand.floor_s)
    got = _LONGEST.get(key)
    if got is None:
        calls = split_calls(cand.calls, cand.fanout)
        # Shards differ by one call at most: the first and the last are the two kinds.
        head, tail = cand.shard_seconds(calls[0]), cand.shard_seconds(calls[-1])
        if len(_LONGEST) >= _LONGEST_MAX:
            _LONGEST.clear()
        got = _LONGEST[key] = head if head > tail else tail
    return got


# The longest shard by what Candidate.shard_seconds and the split of calls read.
_LONGEST: dict[tuple[float, int, float, float, float], float] = {}
_LONGEST_MAX = 100_000


@dataclass(frozen=True)
class _Tried:
    """A finish time asked of a placer (``Placer.finish``): the pools of ``hw`` after
    placing ``cand``'s shards on copies of them, and where each shard went."""

    cand: Candidate
    task: str
    pools: list[tuple[str, list[float]]]
    placed: list[tuple[str, float, float]]  # (machine, start, end) per shard
    calls: list[float]
    ends: list[float]
    finish: float
    last_end: float


def _occupy(free: list[float], units: int, end: float) -> None:
    """Take the ``units`` units of a sorted pool that free up first until ``end``."""
    del free[:units]
    # As many insort(free, end) calls: the copies go together at the same place.
    at = bisect.bisect_right(free, end)
    free[at:at] = [end] * units


@dataclass(frozen=True)
class _TaskGraph:
    """What list scheduling needs of a plan's shape, derived once per plan."""

    tasks: dict[str, Node]
    names: tuple[str, ...]  # the tasks, in plan order
    order: dict[str, int]  # position in the plan, of every node
    readers: dict[str, list[str]]  # tasks reading each task, in plan order
    backwards: tuple[tuple[str, tuple[str, ...]], ...]  # (task, its readers), tasks in reverse plan order


def _task_graph(plan: LogicalPlan) -> _TaskGraph:
    tasks = {n.id: n for n in plan.nodes if n.is_task}
    order = {n.id: i for i, n in enumerate(plan.nodes)}
    readers: dict[str, list[str]] = {}
    for t, n in tasks.items():
        for i in dict.fromkeys(n.inputs):
            if i in tasks:
                readers.setdefault(i, []).append(t)
    backwards = tuple((t, tuple(readers.get(t, ()))) for t in reversed(tasks))
    return _TaskGraph(tasks, tuple(tasks), order, readers, backwards)


def ready_order(plan: LogicalPlan, rank: Mapping[str, float]) -> list[Node]:
    """Tasks in list-scheduling order (``scheduling.ranks.rank_order``): highest upward
    rank first among those whose producers are placed, plan order on ties."""
    graph = plan.derived(_task_graph)
    return [graph.tasks[t] for t in ranks.rank_order(graph.names, graph.readers, rank)]


def schedule(plan: LogicalPlan, choice: dict[str, Candidate], cluster: Cluster, serial: bool = False,
             with_deps: bool = True) -> Schedule:
    """List-schedule a fixed choice of candidates."""
    placer = Placer(plan, cluster, serial, with_deps)
    for node in ready_order(plan, upward_ranks(plan, choice)):
        placer.place(node, choice[node.id])
    # Without dependencies the schedule is only being scored: its order does not matter.
    return placer.result(ordered=with_deps)


def placements(plan: LogicalPlan, choice: dict[str, Candidate], cluster: Cluster,
               serial: bool = False) -> list[tuple[str, str, str, float, float, int]]:
    """What a search scores of ``schedule(plan, choice, cluster, serial, with_deps=False)``:
    (task, machine, hardware, start_s, end_s, units) of each of its shards, in the same
    order, without making the shards."""
    placer = Placer(plan, cluster, serial, with_deps=False)
    rows: list[tuple[str, str, str, float, float, int]] = []
    placer.rows = rows
    for node in ready_order(plan, upward_ranks(plan, choice)):
        placer.place(node, choice[node.id])
    return rows
