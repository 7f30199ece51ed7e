"""What a rewrite rule is, and the marker a rule returns to delete a node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

from ..logical import LogicalPlan, Node


@dataclass(frozen=True)
class Removed:
    """Returned by a rule to delete the node it was shown."""


REMOVED = Removed()

# A rule sees one node (and the plan, read-only) and returns a replacement node,
# REMOVED, or None when it does not apply. The driver owns traversal and fixed point.
Rewrite = Callable[[Node, LogicalPlan], Union[Node, Removed, None]]


@dataclass(frozen=True)
class Rule:
    name: str
    rewrite: Rewrite
    doc: str
