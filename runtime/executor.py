"""The executor protocol: every backend (simulator, local, Ray) runs a physical plan and
reports the same kind of result, so EXPLAIN ANALYZE and benchmarks treat them alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..compiler.physical.plan import Estimate, PhysicalPlan


@dataclass(frozen=True)
class ShardRun:
    """What one shard actually did (or, in the simulator, did in virtual time)."""

    task: str
    index: int
    agent: str
    machine: str
    hardware: str
    units: int
    calls: float
    start_s: float
    end_s: float
    # Media seconds per call, measured from the shard's inputs on a real run (None when
    # unknown: simulated, or no media among the inputs).
    media_s: float | None = None
    # Calls answered from the output cache rather than executed (real runs).
    cached_calls: float = 0.0


@dataclass(frozen=True)
class RunResult:
    backend: str
    job: str
    totals: Estimate
    timeline: tuple[ShardRun, ...]
    events: int
    outputs: tuple[tuple[str, str], ...] = ()
    # What the executor had to do about failures (retries, replacements, timeouts).
    notes: tuple[str, ...] = ()
    cache_hits: int = 0
    # The plan the run switched to when it dropped a failing agent and re-planned; the
    # tasks that had not started then followed it.
    replanned: PhysicalPlan | None = None
    # Items each task with a list output really produced (real backends only).
    items: tuple[tuple[str, int], ...] = ()

    def task_span(self, task: str) -> tuple[float, float]:
        mine = [s for s in self.timeline if s.task == task]
        return min(s.start_s for s in mine), max(s.end_s for s in mine)


class Executor(Protocol):
    name: str

    def run(self, plan: PhysicalPlan) -> RunResult: ...
