"""The rules driver: traversal, fixed point, and an invariant check after every rule.

Rules stay small because the driver does the rest: it shows each rule every node in
topological order, rebuilds the plan, checks invariants (a broken rule fails at the
rule, by name), records the plans after the rules that fired (EXPLAIN VERBOSE), and
repeats the whole list until nothing changes or a plan repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..logical import LogicalPlan, Node, check_invariants
from .base import Expand, MergeInto, Rule

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


def apply_rule(rule: Rule, plan: LogicalPlan) -> tuple[LogicalPlan, tuple[str, ...]]:
    """One traversal of ``rule`` over ``plan``; the new plan and the nodes it changed."""
    changed: list[str] = []
    current = plan
    for original in plan.nodes:
        try:
            node = current.node(original.id)
        except KeyError:
            continue
        result = rule.rewrite(node, current)
        if result is None or result == node:
            continue
        changed.append(node.id)
        nodes: list[Node] = []
        for n in current.nodes:
            if n.id != node.id:
                nodes.append(_rewire(n, node.id, result.target) if isinstance(result, MergeInto) else n)
            elif isinstance(result, Expand):
                nodes.extend(result.nodes)
            elif isinstance(result, Node):
                nodes.append(result)
        current = LogicalPlan(tuple(nodes))
    return current, tuple(changed)


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
