"""The logical plan: what a job computes, with no model, hardware or degree chosen.

A plan is a DAG of :class:`Node` in topological order. Node kinds (``op``):

- ``input``  a workflow parameter bound to a RUN argument
- ``invoke`` one call of an interface on whole values (lists are passed as lists)
- ``map``    a per-item call over the list produced by ``over``: the source of fan-out
- ``output`` the values the job returns

Every node carries a cardinality estimate (:class:`Stats`), like a query optimizer's
row estimates. Rewrite rules (``compiler/rules/``) return new plans; nodes are frozen.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable, Hashable, Iterable, Iterator, Protocol, TypeVar

from ..catalog.types import Type
from ..grammar.diagnostics import Span

INPUT, INVOKE, MAP, OUTPUT = "input", "invoke", "map", "output"
T = TypeVar("T")
# The catalog interfaces split_long_inputs cuts long inputs and joins results with, and
# the one expand_paths decides sampled answers with.
SPLIT_INTERFACE, JOIN_INTERFACE, VOTE_INTERFACE = "media_split", "text_concatenation", "answer_vote"


@dataclass(frozen=True)
class Stats:
    """Estimated output of a node: how many items, and each item's attributes.

    ``origin`` says where the estimate rests: ``probed`` (read from the file),
    ``stated`` (ASSUMING in the script), ``default`` (a catalog default) or
    ``derived`` (computed from inputs that were all probed or stated).
    """

    items: float
    attrs: tuple[tuple[str, float], ...] = ()
    origin: str = "derived"
    # An input's attributes taken from the catalog's defaults (what to state with ASSUMING).
    defaulted: tuple[str, ...] = ()

    def attr(self, name: str, default: float = 0.0) -> float:
        return dict(self.attrs).get(name, default)

    @property
    def media_s(self) -> float:
        """Seconds of audio/video per item (0 for non-media items)."""
        return self.attr("duration_s")


@dataclass(frozen=True)
class Preference:
    """A developer's preference from ``USING (...)``; becomes an optimizer constraint."""

    key: str  # "agent" | "model" | "device" | "hardware"
    pattern: str


@dataclass(frozen=True)
class Node:
    id: str
    op: str
    type: Type
    stats: Stats
    inputs: tuple[str, ...] = ()
    interface: str | None = None
    over: str | None = None
    knobs: tuple[tuple[str, float], ...] = ()
    # The knobs the script set (WITH ...); the others are the planner's to choose.
    fixed_knobs: tuple[str, ...] = ()
    # Plan-shaping knobs already applied to this node (compiler/physical/knobs.py): they
    # left ``knobs``, and applying the knobs again leaves the node as it is.
    shaped: tuple[str, ...] = ()
    prefs: tuple[Preference, ...] = ()
    # From the catalog: may this interface's items be processed independently?
    partitionable: bool = True
    # From the catalog: a long single input may be cut into chunks of this many seconds
    # and the results joined (split_long_inputs); None when the interface cannot.
    chunk_s: float | None = None
    # From the catalog: the answer may be sampled this many times and voted on
    # (expand_paths); None when the interface cannot.
    vote_k: int | None = None
    # Set by expand_paths on the map that samples a task: majority of this many samples.
    votes: int = 0
    # Set by partition_maps: the per-item map may run as k parallel partitions.
    partitioned: bool = False
    # Set by fuse_maps: items stream from this upstream map one by one, no barrier.
    streams_from: str | None = None
    description: str | None = None
    # Inputs: the literal value bound to the parameter, canonical text (None if unknown),
    # and as Python data (str, float, or a tuple of them) for an executor to read.
    value: str | None = None
    literal: object = field(default=None, compare=False)
    # What binding had to say about an input (a stated statistic its file contradicts).
    notes: tuple[str, ...] = field(default=(), compare=False)
    span: Span | None = field(default=None, compare=False)

    @property
    def is_task(self) -> bool:
        return self.op in (INVOKE, MAP)

    def with_(self, **changes: object) -> "Node":
        return replace(self, **changes)  # type: ignore[arg-type]


def upstream(node: Callable[[str], Node], starts: Iterable[str]) -> frozenset[str]:
    """Ids of ``starts`` and every node they read, directly or not (``node`` looks a
    node up by id)."""
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        stack.extend(node(node_id).inputs)
    return frozenset(seen)


@dataclass(frozen=True)
class LogicalPlan:
    nodes: tuple[Node, ...]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    # Indexes built on first use: rules and the planner look nodes up by id thousands of
    # times on large plans (a plan is immutable, so they never go stale).
    @cached_property
    def _by_id(self) -> dict[str, Node]:
        index: dict[str, Node] = {}
        for n in self.nodes:
            index.setdefault(n.id, n)
        return index

    @cached_property
    def _consumers(self) -> dict[str, tuple[Node, ...]]:
        readers: dict[str, list[Node]] = {}
        for n in self.nodes:
            for i in dict.fromkeys(n.inputs):
                readers.setdefault(i, []).append(n)
        return {i: tuple(ns) for i, ns in readers.items()}

    def node(self, node_id: str) -> Node:
        try:
            return self._by_id[node_id]
        except KeyError:
            raise KeyError(node_id) from None

    @cached_property
    def live(self) -> frozenset[str]:
        """Ids of the nodes the output depends on (walked from the output backwards)."""
        return upstream(self._by_id.__getitem__, (self.output.id,))

    @property
    def tasks(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.is_task)

    @property
    def output(self) -> Node:
        return next(n for n in self.nodes if n.op == OUTPUT)

    def consumers(self, node_id: str) -> tuple[Node, ...]:
        return self._consumers.get(node_id, ())

    @cached_property
    def _firsts(self) -> dict[Callable[[Node], Hashable], dict[Hashable, Node]]:
        return {}

    def first_with(self, key: Callable[[Node], Hashable], value: Hashable) -> Node | None:
        """The first node, in plan order, whose ``key`` is ``value`` (None if none is).

        ``key`` must be a pure function of the node: its index is built on first use
        and kept for the plan's lifetime, so a rule asking once per node pays for one walk.
        """
        index = self._firsts.get(key)
        if index is None:
            index = self._firsts[key] = {}
            for n in self.nodes:
                index.setdefault(key(n), n)
        return index.get(value)

    @cached_property
    def _derived(self) -> dict[Callable[["LogicalPlan"], object], object]:
        return {}

    def derived(self, fn: Callable[["LogicalPlan"], T]) -> T:
        """``fn(self)``, computed on first use and kept for the plan's lifetime: for data a
        caller derives from the plan over and over (the scheduler's task graph, once per
        plan scored). ``fn`` must be a pure function of the plan, and its result is
        shared: callers must not change it."""
        memo = self._derived
        if fn not in memo:
            memo[fn] = fn(self)
        return memo[fn]  # type: ignore[return-value]

    def replace_nodes(self, nodes: Iterable[Node]) -> "LogicalPlan":
        return LogicalPlan(tuple(nodes))

    def render(self) -> list[str]:
        """One line per node, inputs first; deterministic, estimates marked ``~``."""
        width = max((len(n.id) for n in self.nodes), default=4)
        lines = []
        for n in self.nodes:
            lines.append(f"{n.id:<{width}}  {_describe(n)}")
        return lines


class PlanView(Protocol):
    """What a rewrite rule may read of the plan it rewrites: a :class:`LogicalPlan`, or
    the rules driver's plan in the middle of a traversal (``rules/driver.py``)."""

    @property
    def nodes(self) -> tuple[Node, ...]: ...

    @property
    def live(self) -> frozenset[str]: ...

    @property
    def output(self) -> Node: ...

    def node(self, node_id: str) -> Node: ...

    def consumers(self, node_id: str) -> tuple[Node, ...]: ...

    def first_with(self, key: Callable[[Node], Hashable], value: Hashable) -> Node | None: ...


def _fmt_num(x: float) -> str:
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 or abs(x) >= 100 else f"{x:,.1f}"


def describe_stats(stats: Stats) -> str:
    items = _fmt_num(stats.items)
    text = f"~{items} item{'s' if items != '1' else ''}"
    extras = []
    for key, value in stats.attrs:
        unit = {"duration_s": " s", "fps": " fps", "tokens": " tokens"}.get(key, "")
        label = key.removesuffix("_s")
        extras.append(f"{label}=~{_fmt_num(value)}{unit}")
    if extras:
        text += " (" + ", ".join(extras) + " each)"
    if stats.origin in ("default", "stated", "probed"):
        text += f" [{stats.origin}]"
    return text


# The note on a task the planner left out (a plan-shaping knob at 0): it is a constant
# empty input in the plan, and EXPLAIN says which step it was.
LEFT_OUT = "left out"


def _describe(n: Node) -> str:
    if n.op == INPUT:
        why = next((note for note in n.notes if note.startswith(LEFT_OUT)), None)
        if why is not None:
            return f"Left out {why[len(LEFT_OUT):].strip()}: empty {n.type}"
        return f"Input {n.type}  {describe_stats(n.stats)}"
    if n.op == OUTPUT:
        return f"Output ({', '.join(n.inputs)})"
    args = ", ".join(n.inputs)
    knobs = "".join(f" {k}={_fmt_num(v)}" for k, v in n.knobs)
    prefs = "".join(f" using {p.key}={p.pattern!r}" for p in n.prefs)
    if n.op == MAP:
        marks = []
        if n.partitioned:
            marks.append("partitions=k")
        if n.streams_from:
            marks.append(f"streams from {n.streams_from}")
        mark = f"[{', '.join(marks)}]" if marks else ""
        head = f"Map{mark} over {n.over}: {n.interface}({args})"
    else:
        head = f"Invoke {n.interface}({args})"
    return f"{head}{knobs}{prefs} -> {n.type}  {describe_stats(n.stats)}"


def check_invariants(plan: LogicalPlan) -> None:
    """Raise AssertionError if the plan is malformed: the rules driver calls this after
    every rule, so a buggy rule is caught at the rule, not downstream."""
    seen: dict[str, Node] = {}
    outputs = sum(1 for n in plan.nodes if n.op == OUTPUT)
    assert outputs == 1, "a plan has exactly one Output"
    for n in plan.nodes:
        assert n.id not in seen, f"duplicate node id {n.id}"
        for i in n.inputs:
            assert i in seen, f"{n.id} reads {i}, which is not defined before it"
        if n.op == MAP:
            assert n.over in n.inputs, f"map {n.id} is over {n.over}, not one of its inputs"
        if n.streams_from is not None:
            assert n.op == MAP and n.streams_from == n.over, f"{n.id} streams from a node it does not map over"
            # Defined before n (its inputs are), so already seen: no walk of the plan.
            src = seen[n.streams_from]
            assert src.op == MAP, f"{n.id} streams from {src.id}, which is not a map"
        assert n.stats.items >= 0, f"{n.id} has a negative cardinality"
        seen[n.id] = n
