"""The rules driver: traversal, fixed point, and an invariant check after every rule.

Rules stay small because the driver does the rest: it shows each rule every node in
topological order, applies what the rule returns, checks invariants (a broken rule
fails at the rule, by name), records the plans after the rules that fired (EXPLAIN
VERBOSE), and repeats the whole list until nothing changes or a plan repeats.

A traversal rewrites a :class:`Draft` in place rather than building a new plan after
every rewrite: each change costs what it touches (the node, its readers), not the size
of the plan, so a 10,000-task plan is rewritten in linear time. The plan is built once
per traversal that changed something.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable, Iterable, Iterator

from ..logical import OUTPUT, LogicalPlan, Node, check_invariants, upstream
from .base import Expand, MergeInto, Removed, Result, Rule

MAX_PASSES = 16


@dataclass(frozen=True)
class RuleFired:
    rule: str
    nodes: tuple[str, ...]
    plan: LogicalPlan


@dataclass(frozen=True)
class RewriteResult:
    plan: LogicalPlan
    fired: tuple[RuleFired, ...]
    passes: int


class RuleError(AssertionError):
    """A rule produced a malformed plan (a bug in the rule, never in user input)."""


def _rewire(node: Node, old: str, new: str) -> Node:
    """``node`` reading ``new`` wherever it read ``old``."""
    if old not in node.inputs:
        return node
    return node.with_(inputs=tuple(new if i == old else i for i in node.inputs),
                      over=new if node.over == old else node.over,
                      streams_from=new if node.streams_from == old else node.streams_from)


class Draft:
    """A plan in the middle of a traversal, changed in place; rules read it through the
    same API as a :class:`LogicalPlan` (``logical.PlanView``) and see every change made
    before them, exactly as if the plan had been rebuilt after each rewrite.

    Until the first change it answers from the plan it started from (whose indexes are
    built once and shared by every traversal of that plan); the first change copies the
    plan into dictionaries that later changes update in place.

    Position in the plan is an order key that never changes: node i of the starting
    plan has ``(i,)``, and the nodes an :class:`Expand` puts in place of a node with key
    ``k`` have ``k + (0,)``, ``k + (1,)``, ... (tuples compare lexicographically, and no
    key is a prefix of another, so the expansion sits exactly where the node was).
    """

    def __init__(self, plan: LogicalPlan) -> None:
        # The plan as it stands, while nothing has changed since it was last built.
        self._plan: LogicalPlan | None = plan
        self._thawed = False
        self._nodes: dict[str, Node] = {}
        self._order: dict[str, tuple[int, ...]] = {}
        # Reader ids of every id read, defined or not (as LogicalPlan.consumers).
        self._readers: dict[str, dict[str, None]] = {}
        self._outputs: dict[str, None] = {}
        self._indexes: dict[Callable[[Node], Hashable], dict[Hashable, dict[str, None]]] = {}
        # Which nodes are live, once asked; kept across changes that cannot alter it.
        self._live: frozenset[str] | None = None

    def _thaw(self) -> None:
        plan = self._plan
        assert plan is not None and not self._thawed
        self._thawed = True
        self._nodes = {n.id: n for n in plan.nodes}
        self._order = {n.id: (i,) for i, n in enumerate(plan.nodes)}
        for n in plan.nodes:
            for i in n.inputs:
                self._readers.setdefault(i, {})[n.id] = None
        self._outputs = {n.id: None for n in plan.nodes if n.op == OUTPUT}

    # -- the read API rules use (logical.PlanView) -------------------------------------
    def node(self, node_id: str) -> Node:
        if not self._thawed:
            return self._plan.node(node_id)  # type: ignore[union-attr]
        return self._nodes[node_id]

    def get(self, node_id: str) -> Node | None:
        try:
            return self.node(node_id)
        except KeyError:
            return None

    def consumers(self, node_id: str) -> tuple[Node, ...]:
        if not self._thawed:
            return self._plan.consumers(node_id)  # type: ignore[union-attr]
        readers = self._readers.get(node_id)
        if not readers:
            return ()
        return tuple(self._nodes[r] for r in sorted(readers, key=self._order.__getitem__))

    @property
    def nodes(self) -> tuple[Node, ...]:
        return self.plan().nodes

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    @property
    def tasks(self) -> tuple[Node, ...]:
        return self.plan().tasks

    @property
    def output(self) -> Node:
        if not self._thawed:
            return self._plan.output  # type: ignore[union-attr]
        return self._nodes[min(self._outputs, key=self._order.__getitem__)]

    @property
    def live(self) -> frozenset[str]:
        """Ids of the nodes the output depends on (walked from the output backwards)."""
        if self._live is None:
            if not self._thawed:
                self._live = self._plan.live  # type: ignore[union-attr]
            else:
                self._live = upstream(self._nodes.__getitem__, (self.output.id,))
        return self._live

    def first_with(self, key: Callable[[Node], Hashable], value: Hashable) -> Node | None:
        """The first node, in plan order, whose ``key`` is ``value`` (``key`` pure)."""
        if not self._thawed:
            return self._plan.first_with(key, value)  # type: ignore[union-attr]
        index = self._indexes.get(key)
        if index is None:
            index = self._indexes[key] = {}
            for node_id, n in self._nodes.items():
                index.setdefault(key(n), {})[node_id] = None
        group = index.get(value)
        if not group:
            return None
        return self._nodes[min(group, key=self._order.__getitem__)]

    def plan(self) -> LogicalPlan:
        """The plan as it stands now."""
        if self._plan is None:
            ids = sorted(self._nodes, key=self._order.__getitem__)
            self._plan = LogicalPlan(tuple(self._nodes[i] for i in ids))
        return self._plan

    # -- changes ---------------------------------------------------------------------
    def apply(self, rule: str, node: Node, result: Result) -> None:
        """Apply what ``rule`` returned for ``node`` (a node of this draft)."""
        if not self._thawed:
            self._thaw()
        key = self._order[node.id]
        # Whether the nodes the output depends on can have changed: not when a node
        # nobody live reads goes, nor when a node is replaced by one reading the same.
        keeps_live = (self._live is not None and (
            (isinstance(result, (Removed, MergeInto)) and node.id not in self._live)
            or (isinstance(result, Node) and result.id == node.id and result.inputs == node.inputs
                and (result.op == OUTPUT) == (node.op == OUTPUT))))
        if isinstance(result, MergeInto):
            readers = [r for r in self._readers.get(node.id, ()) if r != node.id]
            self._drop(node.id)
            for r in readers:
                rewired = _rewire(self._nodes[r], node.id, result.target)
                self._put(rewired, self._drop(r), rule)
        elif isinstance(result, Expand):
            self._drop(node.id)
            for j, n in enumerate(result.nodes):
                self._put(n, key + (j,), rule)
        elif isinstance(result, Node):
            self._drop(node.id)
            self._put(result, key, rule)
        else:
            self._drop(node.id)
        self._plan = None
        if not keeps_live:
            self._live = None

    def _put(self, n: Node, key: tuple[int, ...], rule: str) -> None:
        if n.id in self._nodes:
            raise RuleError(f"rule {rule} broke the plan: duplicate node id {n.id}")
        self._nodes[n.id] = n
        self._order[n.id] = key
        for i in n.inputs:
            self._readers.setdefault(i, {})[n.id] = None
        if n.op == OUTPUT:
            self._outputs[n.id] = None
        for fn, index in self._indexes.items():
            index.setdefault(fn(n), {})[n.id] = None

    def _drop(self, node_id: str) -> tuple[int, ...]:
        """Remove a node; its order key."""
        n = self._nodes.pop(node_id)
        key = self._order.pop(node_id)
        for i in n.inputs:
            readers = self._readers.get(i)
            if readers is not None:
                readers.pop(node_id, None)
        self._outputs.pop(node_id, None)
        for fn, index in self._indexes.items():
            value = fn(n)
            group = index[value]
            del group[node_id]
            if not group:
                del index[value]
        return key


def apply_rule(rule: Rule, plan: LogicalPlan) -> tuple[LogicalPlan, tuple[str, ...]]:
    """One traversal of ``rule`` over ``plan``; the new plan and the nodes it changed.

    Every node of ``plan`` is shown once, in order, as it stands after the rewrites
    before it (a node an earlier rewrite removed is skipped; nodes a rewrite adds are
    not shown until the next traversal).
    """
    changed: list[str] = []
    draft = Draft(plan)
    for original in plan.nodes:
        node = draft.get(original.id)
        if node is None:
            continue
        result = rule.rewrite(node, draft)
        if result is None or result == node:
            continue
        changed.append(node.id)
        draft.apply(rule.name, node, result)
    return draft.plan(), tuple(changed)


def optimize_logical(plan: LogicalPlan, rules: Iterable[Rule], disabled: Iterable[str] = ()) -> RewriteResult:
    """Apply ``rules`` (minus ``disabled``) to a fixed point."""
    skip = set(disabled)
    active = [r for r in rules if r.name not in skip]
    check_invariants(plan)
    fired: list[RuleFired] = []
    seen = {plan}
    passes = 0
    for passes in range(1, MAX_PASSES + 1):
        any_change = False
        for rule in active:
            new_plan, changed = apply_rule(rule, plan)
            if not changed:
                continue
            try:
                check_invariants(new_plan)
            except AssertionError as exc:
                raise RuleError(f"rule {rule.name} broke the plan: {exc}") from exc
            fired.append(RuleFired(rule.name, changed, new_plan))
            plan, any_change = new_plan, True
        if not any_change or plan in seen:
            break
        seen.add(plan)
    return RewriteResult(plan, tuple(fired), passes)
