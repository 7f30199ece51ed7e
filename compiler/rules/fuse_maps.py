"""Let a per-item map consume the items of the map before it one by one (no barrier).

When map B runs over the list map A produces, and nothing else reads A, B's item i
can start as soon as A has produced it: the two stages stream like a pipeline instead
of waiting for all of A. (A query engine does the same when it pipelines operators.)
"""

from __future__ import annotations

from ..logical import MAP, Node, PlanView
from .base import Rule


def rewrite(node: Node, plan: PlanView) -> Node | None:
    if node.op != MAP or node.streams_from is not None or node.over is None:
        return None
    upstream = plan.node(node.over)
    # Only a map produces its items one at a time; an invoke's list appears whole.
    if upstream.op != MAP:
        return None
    # Another reader needs A's whole list anyway; keep the barrier visible.
    if len(plan.consumers(upstream.id)) != 1:
        return None
    # B also reads A whole (a broadcast argument): it must wait for all of A.
    if node.inputs.count(upstream.id) != 1:
        return None
    return node.with_(streams_from=upstream.id)


RULE = Rule("fuse_maps", rewrite, __doc__.splitlines()[0])
