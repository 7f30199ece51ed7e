"""Physical planning: rewrite the logical plan, enumerate candidates, search, schedule.

Cost (``cost.py``), objective (``objective.py``) and search (``greedy.py``) are separate
pieces; this module wires them together and ends with a sanity pass that changes
nothing and rejects a plan that could not run.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Sequence

from ...catalog.catalog import Catalog, Cluster
from ...grammar.diagnostics import MurakkabError
from ..job import METRIC_UNITS, METRICS, BoundJob, Goal
from ..joint import combine, job_labels
from ..logical import LogicalPlan
from ..rules import RULES, optimize_logical
from .candidates import baseline_candidate, enumerate_candidates
from .cost import candidate_power_w, timeline_totals
from .exact import solve_exact
from .greedy import greedy_search, standalone_key
from .objective import Objective, resolve
from .plan import Candidate, Estimate, PhysicalPlan, PhysicalTask
from .schedule import Schedule, schedule, upward_ranks
from .tiers import exact_quality_tiers, tier_samples
from .validate import validate

ALTERNATIVES_SHOWN = 6
# Rules a hand-written sequential workflow does not get: no fan-out, no streaming.
PARALLEL_RULES = ("partition_maps", "fuse_maps")


class InfeasibleError(MurakkabError):
    """No plan meets the SLOs on this catalog and cluster; the message says how close."""


def plan_job(job: BoundJob, catalog: Catalog) -> PhysicalPlan:
    cluster = catalog.cluster(job.cluster)
    assert cluster is not None, "the binder checks cluster names"
    sequential = not job.settings.parallelism
    disabled = job.settings.disabled_rules + (PARALLEL_RULES if sequential else ())
    if sequential or not any(s.metric == "quality" for s in job.slos):
        # Sampling costs k calls: only worth it where the SLO asks for quality.
        disabled += ("expand_paths",)
    rewritten = optimize_logical(job.plan, RULES, disabled)
    plan = rewritten.plan
    tasks = plan.tasks

    def evaluate(choice: dict[str, Candidate]) -> Estimate:
        return totals(catalog, choice, schedule(plan, choice, cluster, serial=sequential, with_deps=False))

    if sequential:
        choice = {t.id: _baseline(t.id, plan, catalog, cluster, job.settings.available_agents) for t in tasks}
        cands = {t.id: [choice[t.id]] for t in tasks}
        objective = resolve(job.slos, job.goals, lambda: [evaluate(choice)])
        evaluations = 1
        solver, note = "fixed", "SET parallelism = off: baseline agents, one task at a time, no fan-out"
    else:
        cands = {}
        for t in tasks:
            cands[t.id] = enumerate_candidates(t, plan, catalog, cluster, job.settings.available_agents)
            if not cands[t.id]:
                here = job.settings.available_agents is not None
                local = " and runs on this machine" if here else ""
                hint = (f"write an agent for {t.interface} (@agent in a Python file) and pass it with "
                        "--agents my_agents.py, or simulate the job on its cluster: murakkab run --backend sim"
                        if here else
                        "relax the task's USING preferences or choose another cluster")
                lacking = [f"{name} would, with {why}" for name, why in job.settings.unavailable_agents
                           if (row := catalog.agent(name)) is not None and row.interface == t.interface]
                if here and lacking:
                    hint = f"{'; '.join(lacking)}; else {hint}"
                raise MurakkabError(
                    f"no implementation of {t.interface} for task '{t.id}' fits cluster '{cluster.name}'{local}",
                    t.span, hint)
        objective = resolve(job.slos, job.goals, lambda: tier_samples(cands, evaluate, job.settings.seed))
        objective = exact_quality_tiers(objective, cands)
        order = _critical_first(plan, cands)
        solver, why = pick_solver(job.settings.solver, cands)
        if solver in ("ilp", "exhaustive"):
            exact = solve_exact(solver, plan, cands, catalog, cluster, objective, job.settings.solver_time_limit_s)
            choice, evaluations = exact.choice, 1
            estimate = evaluate(choice)
            note = f"{why}; {exact.note()}"
            if not objective.feasible(estimate):
                # The model's optimum met the SLOs; its placement on real machines did not.
                # Repair from it with the greedy descent rather than give up.
                repaired = greedy_search(plan, order, cands, objective, cluster, evaluate)
                if objective.key(repaired.estimate) < objective.key(estimate):
                    choice, estimate, evaluations = repaired.choice, repaired.estimate, repaired.evaluations + 1
                    note += "; placed on the machines it missed an SLO, so greedy repaired it"
        else:
            result = greedy_search(plan, order, cands, objective, cluster, evaluate)
            choice, evaluations, estimate = result.choice, result.evaluations, result.estimate
            note = f"{why}; HEFT list scheduling + per-task improvement, critical path first"
        if not objective.feasible(estimate):
            raise _diagnose(job, objective, estimate, plan, order, cands, cluster, evaluate)

    final = schedule(plan, choice, cluster, serial=sequential)
    estimate = totals(catalog, choice, final)
    physical_tasks = tuple(
        PhysicalTask(t.id, t.interface or "", choice[t.id], *final.spans[t.id],
                     _alternatives(cands[t.id], choice[t.id], objective), t.streams_from)
        for t in tasks
    )
    physical = PhysicalPlan(
        job=job.name, cluster=cluster.name, solver=solver, solver_note=note, logical=plan, bound=job.plan,
        rewrites=rewritten.fired, tasks=physical_tasks, shards=final.shards, estimate=estimate,
        bounds=objective.bounds, goals=job.goals, candidates_considered=sum(len(c) for c in cands.values()),
        plans_evaluated=evaluations, sequential=sequential,
    )
    # The final sanity pass changes nothing: it rejects a plan that could not run.
    problems = validate(physical, catalog, check_slos=not sequential)
    if problems:
        raise PlanValidationError("the planner produced an invalid plan (a bug): " + "; ".join(problems[:5]))
    return physical


class PlanValidationError(AssertionError):
    """The validator rejected the planner's own plan: a planner bug, never a user error."""


# solver = 'auto': the exhaustive oracle while the candidate combinations are this few,
# the MILP for plans up to this many tasks and options, greedy beyond.
AUTO_EXHAUSTIVE_COMBINATIONS = 2_000
AUTO_ILP_TASKS = 8
AUTO_ILP_OPTIONS = 150


def pick_solver(requested: str, cands: dict[str, list[Candidate]]) -> tuple[str, str]:
    """The solver to run and why (``requested`` is greedy, ilp, exhaustive or auto)."""
    if requested != "auto":
        return requested, f"{requested} (requested)"
    combos = math.prod(len(c) for c in cands.values())
    options = sum(len(c) for c in cands.values())
    if combos <= AUTO_EXHAUSTIVE_COMBINATIONS:
        return "exhaustive", f"auto chose exhaustive: {combos:,} candidate combinations"
    if len(cands) <= AUTO_ILP_TASKS and options <= AUTO_ILP_OPTIONS:
        return "ilp", f"auto chose ilp: {len(cands)} tasks, {options} candidates"
    return "greedy", f"auto chose greedy: {len(cands)} tasks, {options} candidates (too many for the MILP)"


def plan_jobs(jobs: Sequence[BoundJob], catalog: Catalog) -> PhysicalPlan:
    """Plan several jobs jointly (see ``compiler/joint.py``) and compare with planning
    them one by one: each alone on the whole cluster, run back to back."""
    if len(jobs) == 1:
        return plan_job(jobs[0], catalog)
    joint = plan_job(combine(jobs), catalog)
    alone = [plan_job(j, catalog).estimate for j in jobs]
    held: dict[str, int] = {}
    for est in alone:
        for hw, units in est.held:
            held[hw] = max(held.get(hw, 0), units)
    separately = Estimate(
        makespan_s=sum(e.makespan_s for e in alone), cost_usd=sum(e.cost_usd for e in alone),
        energy_wh=sum(e.energy_wh for e in alone), quality=math.prod(e.quality for e in alone),
        gpus=max(e.gpus for e in alone), held=tuple(sorted(held.items())))
    return replace(joint, jobs=tuple(job_labels(jobs)), separately=separately)


def totals(catalog: Catalog, choice: dict[str, Candidate], sched: Schedule) -> Estimate:
    power = {task: candidate_power_w(catalog, cand) for task, cand in choice.items()}
    rows = [(s.machine, s.hardware, s.start_s, s.end_s, s.units, power[s.task]) for s in sched.shards]
    return timeline_totals(catalog, rows, math.prod(c.quality for c in choice.values()))


def _baseline(task: str, plan: LogicalPlan, catalog: Catalog, cluster: Cluster,
              available: frozenset[str] | None) -> Candidate:
    node = plan.node(task)
    try:
        return baseline_candidate(node, plan, catalog, cluster, available)
    except LookupError:
        raise MurakkabError(f"no implementation of {node.interface} for task '{task}' fits cluster "
                            f"'{cluster.name}'", node.span) from None


def _critical_first(plan: LogicalPlan, cands: dict[str, list[Candidate]]) -> list[str]:
    fastest = {t: min(c, key=lambda x: x.latency_s) for t, c in cands.items()}
    rank = upward_ranks(plan, fastest)
    return sorted(cands, key=lambda t: (-rank[t], t))


def _alternatives(options: Sequence[Candidate], chosen: Candidate, objective: Objective) -> tuple[Candidate, ...]:
    """The chosen candidate and the best others by the goals, for EXPLAIN."""

    def standalone(c: Candidate) -> tuple[float, ...]:
        return standalone_key(c, objective)

    others = sorted((c for c in options if c is not chosen), key=standalone)[: ALTERNATIVES_SHOWN - 1]
    return tuple(sorted([chosen, *others], key=standalone))


def _diagnose(job: BoundJob, objective: Objective, best: Estimate, plan: LogicalPlan, order: list[str],
              cands: dict[str, list[Candidate]], cluster: Cluster, evaluate) -> InfeasibleError:
    """Which SLOs cannot hold, and the best value each can reach alone."""
    failing = [b for b in objective.bounds if not b.met(best)]
    lines = []
    for b in objective.bounds:
        alone = greedy_search(plan, order, cands, Objective((), (Goal(b.metric, METRICS[b.metric]),)), cluster,
                              evaluate)
        reach = alone.estimate.metric(b.metric)
        unit = f" {METRIC_UNITS[b.metric]}" if METRIC_UNITS[b.metric] else ""
        status = "cannot be met" if (b in failing and not b.met(alone.estimate)) else (
            "conflicts with the others" if b in failing else "met")
        lines.append(f"{b.slo.text()} (= {b.value:.4g}{unit}): best reachable ~{reach:.4g}{unit}; {status}")
    first = failing[0]
    others = " with the other SLOs" if len(objective.bounds) > 1 else ""
    return InfeasibleError(
        f"no plan of {job.name} meets {first.slo.text()}{others} on cluster '{job.cluster}'", first.slo.span,
        "\n        ".join(["per constraint, optimising it alone:"] + lines),
    )
