"""Split a per-item map into k parallel partitions; the physical planner chooses k.

The items of a map are independent, so running them as k partitions and concatenating
the results in order computes the same list. The rule only marks the map; how many
partitions, on which hardware, is a cost-based choice (``compiler/physical``).
"""

from __future__ import annotations

from ..logical import MAP, Node, PlanView
from .base import Rule


def rewrite(node: Node, plan: PlanView) -> Node | None:
    # The catalog says which interfaces keep per-item state (and so cannot split).
    if node.op != MAP or node.partitioned or not node.partitionable or node.over is None:
        return None
    # One item cannot be split; fan-out would only add setup cost.
    if plan.node(node.over).stats.items <= 1:
        return None
    return node.with_(partitioned=True)


RULE = Rule("partition_maps", rewrite, __doc__.splitlines()[0])
