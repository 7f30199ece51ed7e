"""A scheduling problem in general form: tasks with alternative configurations on pools.

Notation (the solvers and their docstrings use it):

- ``T``: the tasks; task ``t`` has options ``O_t``. Option ``o`` runs on pool ``p(o)``,
  holding ``u(o)`` of its units for ``d(o)`` seconds, and costs ``e(o)`` Wh of energy and
  ``c(o)`` USD, with quality ``q(o)`` in (0, 1]. An option holds ``u(o)`` GPUs when its
  pool is a GPU pool and none otherwise, so the GPU count cannot disagree with the pool.
- ``P``: the pools; pool ``p`` has ``cap(p)`` identical units. A pool of capacity 1 is a
  single processor; a larger one is cumulative (any ``cap(p)`` units at once).
- ``E``: precedence edges ``(s, t)``; ``tau_st(i, j)`` is the transfer time in seconds
  when ``s`` runs option ``i`` and ``t`` option ``j``: ``t`` may start ``tau`` after ``s``
  ends. (HEFT's communication cost is ``tau(i, j) = data / bandwidth`` for options on
  different processors and 0 on the same one.)

A schedule picks one option and a start time per task (and, on a pool of capacity > 1,
which units). A task holds its units over ``[start, start + d)``; a task of duration 0
holds nothing. Its metrics:

- ``makespan`` = max end (s); ``energy`` = sum of ``e`` (Wh); ``cost`` = sum of ``c`` (USD);
- ``quality`` = product of ``q``;
- ``gpus`` = sum over GPU pools of the peak number of units in use at once (what must be
  provisioned).

An :class:`Objective` is bounds on any metric (``quality >= value``, the others
``<= value``) plus lexicographic goals: each goal is optimised in turn, its optimum kept
(within ``tolerance``) while the next is optimised.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterable, Sequence

from ...grammar.diagnostics import MurakkabError, suggestion
from .. import metrics

# Views of compiler/metrics.py in the scheduling core's names (makespan, not latency):
# metric -> True when lower is better (quality is the one to maximise), and its unit.
METRICS: dict[str, bool] = {m.schedule_name: m.lower_is_better for m in metrics.ALL}
METRIC_UNITS: dict[str, str] = {m.schedule_name: m.unit for m in metrics.ALL}
# Instants closer than this (seconds) are the same: sums of float durations would otherwise
# leave overlaps of a few ulps between back-to-back tasks.
TIME_EPS = 1e-9
# The job language calls the makespan "latency".
_ALIASES = {"latency": "makespan"}


def metric_name(name: str) -> str:
    """The canonical metric for ``name`` (``latency`` is ``makespan``); unknown names are an error."""
    canonical = _ALIASES.get(name.lower(), name.lower())
    if canonical not in METRICS:
        raise MurakkabError(f"unknown scheduling metric '{name}'", hint=f"known metrics: {', '.join(METRICS)}")
    return canonical


@dataclass(frozen=True)
class Pool:
    """``capacity`` identical units; ``gpu`` marks units that count towards the gpus metric."""

    name: str
    capacity: int
    gpu: bool = False


@dataclass(frozen=True)
class Option:
    """One configuration of a task: ``units`` units of ``pool`` for ``duration_s`` seconds."""

    pool: str
    duration_s: float
    units: int = 1
    energy_wh: float = 0.0
    cost_usd: float = 0.0
    quality: float = 1.0
    label: str = ""

    @property
    def work(self) -> float:
        """Unit-seconds held: what the option takes out of its pool's capacity."""
        return self.units * self.duration_s

    def name(self) -> str:
        return self.label or f"{self.pool} x{self.units}"


@dataclass(frozen=True)
class Task:
    id: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Edge:
    """``dst`` starts no earlier than ``transfer_s[i][j]`` seconds after ``src`` ends, when
    ``src`` runs its option ``i`` and ``dst`` its option ``j``. An empty table: no transfer."""

    src: str
    dst: str
    transfer_s: tuple[tuple[float, ...], ...] = ()

    def seconds(self, i: int, j: int) -> float:
        return self.transfer_s[i][j] if self.transfer_s else 0.0

    @property
    def has_transfer(self) -> bool:
        return any(v for row in self.transfer_s for v in row)


def edge(src: Task, dst: Task, transfer: Callable[[Option, Option], float] | float = 0.0) -> Edge:
    """An edge whose transfer time is ``transfer(option_src, option_dst)`` seconds (or a
    constant), tabulated over every pair of the two tasks' options."""
    if callable(transfer):
        fn = transfer
        table = tuple(tuple(float(fn(a, b)) for b in dst.options) for a in src.options)
    else:
        table = tuple(tuple(float(transfer) for _ in dst.options) for _ in src.options) if transfer else ()
    return Edge(src.id, dst.id, table)


@dataclass(frozen=True)
class Bound:
    """``metric <= value`` (``>=`` for quality)."""

    metric: str
    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "metric", metric_name(self.metric))

    def shortfall(self, totals: "Totals") -> float:
        """How far ``totals`` miss the bound, relative to it (0 when met)."""
        return metrics.metric(self.metric).shortfall(totals.metric(self.metric), self.value)

    def met(self, totals: "Totals", tol: float = 1e-6) -> bool:
        # Relative tolerance: totals are sums of floats, and solver values carry noise.
        return self.shortfall(totals) <= tol

    def text(self) -> str:
        op = "<=" if METRICS[self.metric] else ">="
        return f"{self.metric} {op} {self.value:g} {METRIC_UNITS[self.metric]}".rstrip()


@dataclass(frozen=True)
class Objective:
    """Bounds, then ``goals`` optimised lexicographically. ``tolerance`` is the relative
    slack a goal's optimum keeps while later goals are optimised (solver values are floats)."""

    goals: tuple[str, ...] = ("makespan",)
    bounds: tuple[Bound, ...] = ()
    tolerance: float = 1e-6

    def __post_init__(self) -> None:
        goals = tuple(metric_name(g) for g in self.goals)
        if len(set(goals)) != len(goals):
            raise MurakkabError(f"a goal is repeated: {', '.join(goals)}")
        object.__setattr__(self, "goals", goals)

    def violation(self, totals: "Totals") -> float:
        return sum(b.shortfall(totals) for b in self.bounds)

    def feasible(self, totals: "Totals") -> bool:
        return all(b.met(totals) for b in self.bounds)

    def key(self, totals: "Totals") -> tuple[float, ...]:
        """Sort key, smaller is better: SLO violation, then the goals in order."""
        return (round(self.violation(totals), 12), *(goal_value(g, totals) for g in self.goals))

    def uses(self, metric: str) -> bool:
        return metric in self.goals or any(b.metric == metric for b in self.bounds)


def goal_value(metric: str, totals: "Totals") -> float:
    """The metric as a quantity to minimise (quality is negated)."""
    return metrics.metric(metric).to_min(totals.metric(metric))


@dataclass(frozen=True)
class Placement:
    """Task ``task`` runs its option ``option`` from ``start_s``; ``units`` names the units
    of a pool of capacity > 1 it holds (empty on a single processor, or when not assigned)."""

    task: str
    option: int
    start_s: float
    units: tuple[int, ...] = ()


@dataclass(frozen=True)
class Totals:
    makespan_s: float
    energy_wh: float
    cost_usd: float
    quality: float
    gpus: int

    def metric(self, name: str) -> float:
        return {"makespan": self.makespan_s, "energy": self.energy_wh, "cost": self.cost_usd,
                "quality": self.quality, "gpus": float(self.gpus)}[metric_name(name)]


@dataclass(frozen=True)
class Stage:
    """One goal of a lexicographic solve: the value found, the best bound proven on it (a
    lower bound; an upper bound for quality, which is maximised), whether it was proven
    optimal, and how long it took."""

    goal: str
    objective: float
    bound: float
    optimal: bool
    seconds: float

    @property
    def gap(self) -> float:
        return relative_gap(self.objective, self.bound)


def relative_gap(value: float, bound: float) -> float:
    """|value - bound| / |value|, 0 when they agree."""
    if abs(value - bound) <= 1e-9 * max(1.0, abs(value)):
        return 0.0
    return abs(value - bound) / max(abs(value), 1e-9)


@dataclass(frozen=True)
class Result:
    """A solver's answer. ``objective``, ``lower_bound`` and ``gap`` concern the first goal
    (``stages`` has one entry per goal); ``lower_bound`` is the best bound proven on it (an
    upper bound when the goal is quality). ``optimal`` is True only when every goal was
    proven optimal; ``feasible`` when every bound holds."""

    solver: str
    solution: tuple[Placement, ...]
    totals: Totals
    optimal: bool
    objective: float
    lower_bound: float
    feasible: bool
    seconds: float
    note: str = ""
    stages: tuple[Stage, ...] = ()

    @property
    def gap(self) -> float:
        return relative_gap(self.objective, self.lower_bound)


class InfeasibleScheduleError(MurakkabError):
    """No schedule meets the bounds."""


@dataclass(frozen=True)
class Problem:
    name: str
    pools: tuple[Pool, ...]
    tasks: tuple[Task, ...]
    edges: tuple[Edge, ...] = ()
    # Where the problem came from (a file), for messages.
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _check(self)

    # --- indices (cached: the problem is immutable) -------------------------------------

    @cached_property
    def index(self) -> dict[str, int]:
        return {t.id: i for i, t in enumerate(self.tasks)}

    @cached_property
    def pool_index(self) -> dict[str, int]:
        return {p.name: i for i, p in enumerate(self.pools)}

    @cached_property
    def preds(self) -> tuple[tuple[int, ...], ...]:
        """Per task, the indices into ``edges`` of its incoming edges."""
        out: list[list[int]] = [[] for _ in self.tasks]
        for k, e in enumerate(self.edges):
            out[self.index[e.dst]].append(k)
        return tuple(tuple(x) for x in out)

    @cached_property
    def succs(self) -> tuple[tuple[int, ...], ...]:
        """Per task, the indices into ``edges`` of its outgoing edges."""
        out: list[list[int]] = [[] for _ in self.tasks]
        for k, e in enumerate(self.edges):
            out[self.index[e.src]].append(k)
        return tuple(tuple(x) for x in out)

    @cached_property
    def readers(self) -> dict[int, tuple[int, ...]]:
        """Per task index, the indices of the tasks its outgoing edges lead to."""
        return {t: tuple(self.index[self.edges[k].dst] for k in ks) for t, ks in enumerate(self.succs)}

    @cached_property
    def edge_ends(self) -> tuple[tuple[int, int], ...]:
        return tuple((self.index[e.src], self.index[e.dst]) for e in self.edges)

    @cached_property
    def topo_order(self) -> tuple[int, ...]:
        """Task indices in a topological order (Kahn's, smallest index first among ready)."""
        order = _topological(self)
        assert order is not None  # _check rejected cycles
        return order

    def option(self, task: int, i: int) -> Option:
        return self.tasks[task].options[i]

    def pool_of(self, opt: Option) -> Pool:
        return self.pools[self.pool_index[opt.pool]]

    def gpus_of(self, opt: Option) -> int:
        """GPUs an option holds while it runs: its units, on a GPU pool."""
        return opt.units if self.pool_of(opt).gpu else 0

    def totals(self, placements: Sequence[Placement]) -> Totals:
        """The metrics of a schedule (assumed valid; see ``validate`` for the checks)."""
        makespan = energy = cost = 0.0
        log_q = 0.0
        usage: dict[str, list[tuple[float, float, int]]] = {}
        for pl in placements:
            opt = self.option(self.index[pl.task], pl.option)
            end = pl.start_s + opt.duration_s
            makespan = max(makespan, end)
            energy += opt.energy_wh
            cost += opt.cost_usd
            log_q += math.log(opt.quality)
            if self.pool_of(opt).gpu and opt.duration_s > 0:
                usage.setdefault(opt.pool, []).append((pl.start_s, end, opt.units))
        gpus = sum(peak_usage(iv) for iv in usage.values())
        return Totals(makespan, energy, cost, math.exp(log_q), gpus)

    # --- simple bounds the solvers share ------------------------------------------------

    def fastest(self, task: int) -> float:
        return min(o.duration_s for o in self.tasks[task].options)

    def min_transfer(self, k: int) -> float:
        e = self.edges[k]
        return min((v for row in e.transfer_s for v in row), default=0.0)

    def critical_path_bound(self) -> float:
        """The longest path with every task at its fastest option and every transfer at its
        least: no schedule is shorter."""
        head = [0.0] * len(self.tasks)
        best = 0.0
        for t in self.topo_order:
            end = head[t] + self.fastest(t)
            best = max(best, end)
            for k in self.succs[t]:
                _, dst = self.edge_ends[k]
                head[dst] = max(head[dst], end + self.min_transfer(k))
        return best

    def work_bound(self) -> float:
        """Total least work over total capacity: all pools together cannot do more."""
        work = sum(min(o.work for o in t.options) for t in self.tasks)
        return work / sum(p.capacity for p in self.pools)

    def pool_work_bound(self) -> float:
        """For each pool, the least work of the tasks that can only run there, over its
        capacity; the largest of these."""
        best = 0.0
        for p in self.pools:
            only = [min(o.work for o in t.options) for t in self.tasks if all(o.pool == p.name for o in t.options)]
            best = max(best, sum(only) / p.capacity)
        return best

    @cached_property
    def integral(self) -> bool:
        """Whether every duration and transfer is a whole number of seconds: then so are the
        start times of a semi-active schedule, and some optimal makespan is a whole number."""
        return all(float(o.duration_s).is_integer() for t in self.tasks for o in t.options) and \
            all(float(v).is_integer() for e in self.edges for row in e.transfer_s for v in row)

    def makespan_lower_bound(self) -> float:
        """The largest of the three bounds above, rounded up when the data are whole numbers."""
        bound = max(self.critical_path_bound(), self.work_bound(), self.pool_work_bound())
        return float(math.ceil(bound - 1e-9)) if self.integral else bound

    def serial_horizon(self) -> float:
        """Every task one after another at its slowest option, every transfer at its
        largest: for any choice of options some schedule (the serial one, in topological
        order) ends by then, and it is the best such schedule on every metric but makespan."""
        slow = sum(max(o.duration_s for o in t.options) for t in self.tasks)
        transfer = sum(max((v for row in e.transfer_s for v in row), default=0.0) for e in self.edges)
        return slow + transfer


def peak_usage(intervals: Iterable[tuple[float, float, int]], eps: float = TIME_EPS) -> int:
    """Most units held at once by half-open intervals ``[start, end)`` of ``units`` each
    (an empty one holds nothing). Releases count ``eps`` early and sort before
    acquisitions at equal times, so back-to-back intervals share units; the job planner's
    totals count exactly (``eps=0``)."""
    used = [iv for iv in intervals if iv[1] > iv[0]]
    events = sorted([(s, 1, u) for s, _, u in used] + [(e - eps, 0, -u) for _, e, u in used])
    peak = cur = 0
    for _, _, du in events:
        cur += du
        if cur > peak:
            peak = cur
    return peak


def _topological(problem: Problem) -> tuple[int, ...] | None:
    n = len(problem.tasks)
    indeg = [0] * n
    out: list[list[int]] = [[] for _ in range(n)]
    for e in problem.edges:
        s, d = problem.index[e.src], problem.index[e.dst]
        indeg[d] += 1
        out[s].append(d)
    heap = [t for t in range(n) if indeg[t] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        t = heapq.heappop(heap)
        order.append(t)
        for d in out[t]:
            indeg[d] -= 1
            if indeg[d] == 0:
                heapq.heappush(heap, d)
    return tuple(order) if len(order) == n else None


# The longest task or transfer a schedule takes (about 31 years): the exact solvers hold
# times as integers and sums of them, which larger values overflow (CP-SAT's domains,
# the MILP's big-M rows).
MAX_SECONDS = 1e9


def _check(problem: Problem) -> None:
    """Reject a malformed problem with a message naming the faulty piece."""
    where = f" in {problem.source}" if problem.source else ""
    pools: dict[str, Pool] = {}
    for p in problem.pools:
        if p.name in pools:
            raise MurakkabError(f"pool '{p.name}' is defined twice{where}")
        if not isinstance(p.capacity, int) or p.capacity < 1:
            raise MurakkabError(f"pool '{p.name}' has capacity {p.capacity!r}{where}; it must be a positive integer")
        pools[p.name] = p
    seen: set[str] = set()
    for t in problem.tasks:
        if t.id in seen:
            raise MurakkabError(f"task '{t.id}' is defined twice{where}")
        seen.add(t.id)
        if not t.options:
            raise MurakkabError(f"task '{t.id}' has no option{where}")
        for i, o in enumerate(t.options):
            what = f"option {i} of task '{t.id}'"
            if o.pool not in pools:
                raise MurakkabError(f"{what} uses unknown pool '{o.pool}'{where}",
                                    hint=suggestion(o.pool, pools, "pools"))
            if not isinstance(o.units, int) or not 1 <= o.units <= pools[o.pool].capacity:
                raise MurakkabError(f"{what} needs {o.units} units of '{o.pool}', which has "
                                    f"{pools[o.pool].capacity}{where}")
            if not (math.isfinite(o.duration_s) and 0 <= o.duration_s <= MAX_SECONDS):
                raise MurakkabError(f"{what} has duration {o.duration_s:g} s{where}; it must be >= 0 and at "
                                    f"most {MAX_SECONDS:g} s")
            for name, v in (("energy", o.energy_wh), ("cost", o.cost_usd)):
                if not (math.isfinite(v) and v >= 0):
                    raise MurakkabError(f"{what} has {name} {v}{where}; it must be finite and >= 0")
            if not 0 < o.quality <= 1:
                raise MurakkabError(f"{what} has quality {o.quality}{where}; it must be in (0, 1]")
    pairs: set[tuple[str, str]] = set()
    sizes = {t.id: len(t.options) for t in problem.tasks}
    for e in problem.edges:
        for end in (e.src, e.dst):
            if end not in seen:
                raise MurakkabError(f"edge {e.src} -> {e.dst} names unknown task '{end}'{where}")
        if e.src == e.dst:
            raise MurakkabError(f"task '{e.src}' depends on itself{where}")
        if (e.src, e.dst) in pairs:
            raise MurakkabError(f"edge {e.src} -> {e.dst} is given twice{where}")
        pairs.add((e.src, e.dst))
        if e.transfer_s:
            if len(e.transfer_s) != sizes[e.src] or any(len(r) != sizes[e.dst] for r in e.transfer_s):
                raise MurakkabError(f"edge {e.src} -> {e.dst}: the transfer table must be "
                                    f"{sizes[e.src]} x {sizes[e.dst]} (options of each end){where}")
            if any(not (math.isfinite(v) and 0 <= v <= MAX_SECONDS) for r in e.transfer_s for v in r):
                raise MurakkabError(f"edge {e.src} -> {e.dst} has a transfer time that is negative or above "
                                    f"{MAX_SECONDS:g} s{where}")
    if _topological(problem) is None:
        raise MurakkabError(f"the precedence edges form a cycle{where}",
                            hint="a schedule needs a directed acyclic graph of tasks")
