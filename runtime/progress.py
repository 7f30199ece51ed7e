"""Progress of a real run, as events: what a display (the CLI's live bar, plain log
lines, a program embedding murakkab) needs to show where a run stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

Kind = Literal["start", "done", "retry", "replan"]


@dataclass(frozen=True)
class ProgressEvent:
    """One thing that happened to a shard (or, for ``replan``, to the plan).

    ``done`` and ``total`` count shards: ``total`` is the shards the run is known to have
    now (those of tasks already cut into shards, and one for each task sure to run), so it
    never decreases: it rises as real item counts become known (the scenes a detector
    finds), and equals ``done`` when the run ends (``runtime/local.py``, ``_Run.total``).
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
