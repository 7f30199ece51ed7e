"""Greedy search: start from each task's best standalone candidate, then improve one
task at a time (critical path first) while the scheduled plan's objective key drops.

Each step re-schedules the whole plan (HEFT-style, capacity-aware), so contention
between tasks is priced in: a fan-out of 64 GPUs looks great alone and poor next to
another task that also wants them. Stops at a local optimum or after ``MAX_ROUNDS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .objective import Objective
from .plan import Candidate, Estimate

MAX_ROUNDS = 8


@dataclass(frozen=True)
class SearchResult:
    choice: dict[str, Candidate]
    estimate: Estimate
    evaluations: int


def initial_choice(cands: dict[str, list[Candidate]], objective: Objective) -> dict[str, Candidate]:
    """Per task, the candidate best for the goals when it runs alone."""

    def standalone(c: Candidate) -> tuple[float, ...]:
        metric = {"latency": c.latency_s, "energy": c.energy_wh, "cost": c.cost_usd, "quality": -c.quality,
                  "gpus": float(c.gpus)}
        return tuple(metric[g.metric] for g in objective.goals) + (c.latency_s, c.units * c.fanout)

    return {task: min(options, key=standalone) for task, options in cands.items()}


def greedy_search(order: list[str], cands: dict[str, list[Candidate]], objective: Objective,
                  evaluate: Callable[[dict[str, Candidate]], Estimate]) -> SearchResult:
    """Coordinate descent over tasks in ``order`` (most critical first)."""
    cache: dict[tuple[int, ...], Estimate] = {}
    index = {task: {id(c): i for i, c in enumerate(options)} for task, options in cands.items()}

    def score(choice: dict[str, Candidate]) -> tuple[tuple[float, ...], Estimate]:
        key = tuple(index[t][id(choice[t])] for t in order)
        if key not in cache:
            cache[key] = evaluate(choice)
        est = cache[key]
        return objective.key(est), est

    choice = initial_choice(cands, objective)
    best_key, best_est = score(choice)
    for _ in range(MAX_ROUNDS):
        improved = False
        for task in order:
            for cand in cands[task]:
                if cand is choice[task]:
                    continue
                trial = {**choice, task: cand}
                key, est = score(trial)
                if key < best_key:
                    choice, best_key, best_est, improved = trial, key, est, True
        if not improved:
            break
    return SearchResult(choice, best_est, len(cache))
