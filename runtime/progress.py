"""Progress of a real run, as events: what a display (the CLI's live bar, plain log
lines, a program embedding murakkab) needs to show where a run stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

Kind = Literal["start", "done", "retry", "replan"]


@dataclass(frozen=True)
class ProgressEvent:
    """One thing that happened to a shard (or, for ``replan``, to the plan).

    ``done`` and ``total`` count shards: ``total`` is what the run knows now (the shards
    of started tasks plus the planned fan-out of the others), so it can change as real
    item counts become known or the plan changes.
    """

    kind: Kind
    job: str
    task: str
    shard: int
    agent: str
    done: int
    total: int
    message: str


Progress = Callable[[ProgressEvent], None]
