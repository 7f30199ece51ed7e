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

from ..logical import Node, PlanView
from .base import REMOVED, Removed, Rule


def rewrite(node: Node, plan: PlanView) -> Removed | None:
    # Inputs stay even when unused: they are the job's signature, not work.
    if node.is_task and node.id not in plan.live:
        return REMOVED
    return None


RULE = Rule("eliminate_dead_tasks", rewrite, __doc__.splitlines()[0])
