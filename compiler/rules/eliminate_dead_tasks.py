"""Remove tasks whose output reaches no RETURN.

Example:
    >>> from murakkab.compiler.bind import compile_script
    >>> job = compile_script('''
    ...   CREATE WORKFLOW w (v VIDEO) AS (
    ...     t := speech_to_text (v),
    ...     unused := scene_detection (v)
    ...   ) RETURNS t;
    ...   RUN w (v => 'x.mp4');''').jobs[0]
    >>> [n.id for n in job.plan]
    ['v', 't', 'unused', '<output>']
    >>> [n.id for n in job.plan if RULE.rewrite(n, job.plan) is None]
    ['v', 't', '<output>']
"""

from __future__ import annotations

from ..logical import LogicalPlan, Node
from .base import REMOVED, Removed, Rule


def live_nodes(plan: LogicalPlan) -> set[str]:
    """Ids of the nodes the output depends on (walked from the output backwards)."""
    by_id = {n.id: n for n in plan.nodes}
    live: set[str] = set()
    stack = [plan.output.id]
    while stack:
        node_id = stack.pop()
        if node_id in live:
            continue
        live.add(node_id)
        stack.extend(by_id[node_id].inputs)
    return live


def rewrite(node: Node, plan: LogicalPlan) -> Removed | None:
    # Inputs stay even when unused: they are the job's signature, not work.
    if node.is_task and node.id not in live_nodes(plan):
        return REMOVED
    return None


RULE = Rule("eliminate_dead_tasks", rewrite, __doc__.splitlines()[0])
