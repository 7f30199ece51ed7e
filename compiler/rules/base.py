"""What a rewrite rule is, and what it may return besides a replacement node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

from ..logical import Node, PlanView


@dataclass(frozen=True)
class Removed:
    """Returned by a rule to delete the node it was shown."""


@dataclass(frozen=True)
class MergeInto:
    """Returned by a rule to delete the node it was shown and make every reader of it
    read ``target`` instead (an equivalent node earlier in the plan)."""

    target: str


@dataclass(frozen=True)
class Expand:
    """Returned by a rule to replace the node it was shown by several, in topological
    order; the last keeps the node's id, so its readers are unchanged."""

    nodes: tuple[Node, ...]


REMOVED = Removed()

# A rule sees one node (and the plan, read-only) and returns a replacement node,
# REMOVED, MergeInto, Expand, or None when it does not apply. The driver owns
# traversal, rewiring and the fixed point.
Result = Union[Node, Removed, MergeInto, Expand, None]
Rewrite = Callable[[Node, PlanView], Result]


@dataclass(frozen=True)
class Rule:
    name: str
    rewrite: Rewrite
    doc: str
