"""Compute the same interface on the same inputs once.

Two tasks with the same interface, knobs and preferences over the same inputs (and, for
maps, over the same list) produce the same output; the later one is dropped and its
readers read the earlier one. Two inputs are the same when they hold the same value
with the same statistics, so identical work in different jobs planned together merges
too (their inputs are the same files).

Example:
    >>> from murakkab.compiler.bind import compile_script
    >>> job = compile_script('''
    ...   CREATE WORKFLOW w (v VIDEO) AS (
    ...     a := speech_to_text (v),
    ...     b := speech_to_text (v),
    ...     c := question_answering (a, b)
    ...   ) RETURNS c;
    ...   RUN w (v => 'x.mp4');''').jobs[0]
    >>> RULE.rewrite(job.plan.node("b"), job.plan)
    MergeInto(target='a')
"""

from __future__ import annotations

from ..logical import INPUT, OUTPUT, Node, PlanView
from .base import MergeInto, Rule


def signature(node: Node) -> tuple[object, ...]:
    """What determines a node's output (its id and span do not)."""
    if node.op == INPUT:
        return (INPUT, node.type, node.value, node.stats)
    return (node.op, node.interface, node.inputs, node.over, node.knobs, node.prefs)


def rewrite(node: Node, plan: PlanView) -> MergeInto | None:
    if node.op == OUTPUT or (node.op == INPUT and node.value is None):
        return None
    # The first node of the plan with this signature (an index, not a walk of the plan:
    # equal signatures mean equal ops). Only an earlier twin: the first of a group
    # stays, so readers keep a definition that precedes them.
    first = plan.first_with(signature, signature(node))
    if first is None or first.id == node.id:
        return None
    return MergeInto(first.id)


RULE = Rule("merge_common_tasks", rewrite, __doc__.splitlines()[0])
