"""Physical planning: rewrite the logical plan, enumerate candidates, search, schedule.

Cost (``cost.py``), objective (``objective.py``) and search (``greedy.py``, ``exact.py``)
are separate pieces; this module wires them together and ends with a sanity pass that
changes nothing and rejects a plan that could not run.

Every plan any search scores goes into one ``Pool`` per planning call, and the plan
returned is the pool's best by the objective on the totals EXPLAIN reports: no solver
can return a plan worse than one already evaluated, and ``auto`` is never worse than
the greedy (which always runs first).
"""

from __future__ import annotations

import contextlib
import gc
import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterator, Sequence

from ...catalog.catalog import Agent, Catalog, Cluster
from ...grammar.diagnostics import InfeasibleError, MurakkabError
from ..job import DEFAULT_SOLVER, METRIC_UNITS, BoundJob, Goal, Slo
from ..joint import combine, job_labels, job_tasks
from ..logical import LogicalPlan, Node
from ..metrics import metric
from ..progress import report
from ..rules import RULES, optimize_logical
from ..rules.driver import RewriteResult
from ..scheduling.auto import JOB_PLANS, pick
from ..scheduling.benders import ExactResult
from ..scheduling.ilp import default_backend
from .accuracy import QualityModel, agent_quality, job_quality_models
from ..units import counted
from .candidates import baseline_candidate, enumerate_candidates
from .cost import plan_totals
from .exact import Pool, check_exhaustive, solve_exact
from .greedy import greedy_search, standalone_keyer
from .knobs import KnobConfig, KnobSpace, knob_space, with_knobs
from .objective import Bound, Objective
from .plan import Candidate, Estimate, PhysicalPlan, PhysicalTask
from .schedule import Schedule, placements, schedule, upward_ranks
from .tiers import Tiers, workflow_job_tiers
from .validate import validate

ALTERNATIVES_SHOWN = 6
# Rules a hand-written sequential workflow does not get: no fan-out, no streaming.
PARALLEL_RULES = ("partition_maps", "fuse_maps")


@dataclass(frozen=True)
class _Variant:
    """One knob configuration of the job: its rewritten plan and candidates."""

    config: KnobConfig
    rewritten: RewriteResult
    cands: dict[str, list[Candidate]]
    scopes: dict[str, frozenset[str]]
    quality: dict[str, QualityModel]

    @property
    def plan(self) -> LogicalPlan:
        return self.rewritten.plan


def plan_job(job: BoundJob, catalog: Catalog, tiers: Tiers | None = None) -> PhysicalPlan:
    """Plan one job (or a joint job of several, ``compiler/joint.py``). ``tiers``: the
    workflow's tier thresholds when the caller computed them already.

    Each configuration of the job's free knobs (``knobs.py``) is a plan variant: every
    variant is searched with the same objective and solver, and the best plan over all
    of them is returned."""
    with gc_paused():
        return _plan_job(job, catalog, tiers)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off for the duration (as it was after). Planning a large
    job allocates millions of objects, and the collector's full passes, triggered by
    that growth, traverse every object alive each time: about a second of planning a
    10,000-task job (``bench/planning_scale.py``). What planning allocates is freed by
    reference counting; a cycle left behind is collected once the collector is back."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _plan_job(job: BoundJob, catalog: Catalog, tiers: Tiers | None) -> PhysicalPlan:
    cluster = catalog.cluster(job.cluster)
    assert cluster is not None, "the binder checks cluster names"
    sequential = not job.settings.parallelism
    disabled = job.settings.disabled_rules + (PARALLEL_RULES if sequential else ())
    if sequential or not any(s.metric == "quality" and s.floor is False for s in job.slos):
        # Sampling costs k calls: only worth it where an SLO asks for quality.
        disabled += ("expand_paths",)
    # A hand-written sequential workflow keeps the catalog's default knobs.
    space = knob_space(job.plan, catalog) if not sequential else KnobSpace((KnobConfig(),), (), True)
    variants = []
    for i, config in enumerate(space.configs):
        report(f"{job.name}: rewriting and enumerating candidates, knob configuration", i + 1, len(space.configs))
        variants.append(_variant(job, config, catalog, cluster, disabled, sequential))

    if sequential:
        v = variants[0]
        choice = {t.id: _baseline(t.id, v, catalog, cluster, job.settings.available_agents) for t in v.plan.tasks}
        v = replace(v, cands={t: [c] for t, c in choice.items()})
        objective = Objective(tuple(b for b in _bounds(job, tiers, catalog, [v]) if not b.slo.floor), job.goals)
        evaluations = 1
        solver, note = "fixed", "SET parallelism = off: baseline agents, one task at a time, no fan-out"
    else:
        objective = Objective(_bounds(job, tiers, catalog, variants, frozenset(disabled)), job.goals)
        solver, why = pick_solver(job.settings.solver or DEFAULT_SOLVER, variants[0].cands)
        if solver == "exhaustive":
            for v in variants:  # before any search: the error points at what chose it
                check_exhaustive(v.cands, job.settings.solver_span or job.span)
        if job.settings.solver is None:
            why = "the default (SET solver = auto picks an exact solver for a small job)"
        # The exact solvers share the time limit over the variants: each gets an equal
        # share of what is left, so the time a quickly proven one leaves goes to the rest.
        searches = [_Search(v, catalog, cluster, sequential) for v in variants]
        proofs: list[ExactResult | None] = []
        started = time.perf_counter()
        for i, search in enumerate(searches):
            report(f"{job.name}: {solver} search, knob configuration", i + 1, len(searches))
            left = job.settings.solver_time_limit_s - (time.perf_counter() - started)
            proofs.append(search.run(solver, objective, max(left, 0.0) / (len(searches) - i)))
        # What is left of the limit goes to the configurations not proven yet: their search
        # resumes (its pool's plans are forbidden to the relaxation) with equal shares.
        open_ = [i for i, p in enumerate(proofs) if p is not None and not (p.optimal or p.infeasible)]
        for k, i in enumerate(open_):
            left = job.settings.solver_time_limit_s - (time.perf_counter() - started)
            if left <= 0.01:
                break
            more = searches[i].run(solver, objective, left / (len(open_) - k))
            before = proofs[i]
            assert more is not None and before is not None
            # (``evaluations`` counts the pool's plans, the first run's among them.)
            proofs[i] = replace(more, seconds=before.seconds + more.seconds,
                                master_solves=before.master_solves + more.master_solves)
        best, choice, estimate = _best_search(searches, objective)
        if not objective.feasible(estimate) and any(b.slo.floor for b in objective.bounds):
            # The floor is the planner's default, not the user's: where it conflicts with
            # the SLOs the script wrote, those win, and EXPLAIN says so.
            objective = Objective(tuple(b for b in objective.bounds if not b.slo.floor), objective.goals)
            for search in searches:
                greedy_search(search.plan, search.order, search.v.cands, objective, cluster, search.pool)
            best, choice, estimate = _best_search(searches, objective)
            floor_note = "; the quality floor conflicts with the SLOs, so it was dropped (SET quality_floor)"
        else:
            floor_note = ""
        v = best.v
        # Infeasibility is proven only when every configuration's search proved it.
        proof = proofs[0] if all(p is not None and p.infeasible for p in proofs) else None
        if solver in EXACT_SOLVERS:
            first = objective.goals[0].metric if objective.goals else "latency"
            note = f"{why}; {_exact_note(proofs, first, estimate.metric(first))}"
        else:
            note = f"{why}; HEFT list scheduling + per-task improvement, critical path first"
        if space.free:
            note += f"; {space.describe()}, chose {v.config.label()}"
        note += floor_note
        evaluations = sum(s.pool.scored for s in searches)
        if not objective.feasible(estimate):
            raise _diagnose(job, objective, estimate, best.plan, best.order, v.cands, cluster, best.evaluate, proof)

    plan = v.plan
    report(f"{job.name}: final schedule and checks")
    final = schedule(plan, choice, cluster, serial=sequential)
    estimate = totals(catalog, choice, final, v.scopes)
    key = standalone_keyer(objective)
    physical_tasks = tuple(
        PhysicalTask(t.id, t.interface or "", choice[t.id], *final.spans[t.id],
                     _alternatives(v.cands[t.id], choice[t.id], key), t.streams_from)
        for t in plan.tasks
    )
    physical = PhysicalPlan(
        job=job.name, cluster=cluster.name, solver=solver, solver_note=note, logical=plan,
        bound=with_knobs(job.plan, v.config, catalog),
        rewrites=v.rewritten.fired, tasks=physical_tasks, shards=final.shards, estimate=estimate,
        bounds=objective.bounds, goals=job.goals, candidates_considered=sum(len(c) for c in v.cands.values()),
        plans_evaluated=evaluations, sequential=sequential,
        quality_source=tuple((label, m.describe(choice, catalog)) for label, m in v.quality.items()),
        knobs=v.config.values,
    )
    # The final sanity pass changes nothing: it rejects a plan that could not run.
    problems = validate(physical, catalog, check_slos=not sequential)
    if problems:
        raise PlanValidationError("the planner produced an invalid plan (a bug): " + "; ".join(problems[:5]))
    return physical


def _variant(job: BoundJob, config: KnobConfig, catalog: Catalog, cluster: Cluster, disabled: tuple[str, ...],
             sequential: bool) -> _Variant:
    rewritten = optimize_logical(with_knobs(job.plan, config, catalog), RULES, disabled)
    plan = rewritten.plan
    scopes = job_tasks(plan, job.parts) if job.parts else {}
    models = job_quality_models(plan, catalog, scopes)

    def quality(node: Node, agent: Agent) -> float:
        return agent_quality(models, node, agent, catalog)

    cands: dict[str, list[Candidate]] = {}
    if not sequential:
        for i, t in enumerate(plan.tasks):
            if i % 500 == 0:
                report(f"{job.name}: candidates, task", i, len(plan.tasks))
            cands[t.id] = enumerate_candidates(t, plan, catalog, cluster, job.settings.available_agents, quality)
        missing = [t for t in plan.tasks if not cands[t.id]]
        if missing:
            raise _no_candidate(job, missing, catalog, cluster)
    return _Variant(config, rewritten, cands, scopes, models)


class _Search:
    """The search of one variant: its plan pool, greedy first, then the exact solver."""

    def __init__(self, v: _Variant, catalog: Catalog, cluster: Cluster, sequential: bool) -> None:
        self.v = v
        self.plan = v.plan
        self.order = _critical_first(v.plan, v.cands)

        power: dict[tuple[str, str, int], float] = {}

        def evaluate(choice: dict[str, Candidate]) -> Estimate:
            # totals(schedule(..., with_deps=False)) without making the shards.
            return plan_totals(catalog, choice, placements(v.plan, choice, cluster, serial=sequential), v.scopes,
                               power)

        self.evaluate = evaluate
        self.catalog, self.cluster = catalog, cluster
        self.pool = Pool([t.id for t in v.plan.tasks], v.cands, evaluate)

    def run(self, solver: str, objective: Objective, time_limit_s: float) -> ExactResult | None:
        if solver != "exhaustive":
            # The greedy first, for every solver: its plans are where an exact search
            # starts, and what auto can never be worse than.
            # Alone, it may prune the moves a bound proves worse (same steps, same plan);
            # before an exact search, every plan it scores is evaluated for that search.
            greedy_search(self.plan, self.order, self.v.cands, objective, self.cluster, self.pool,
                          prune=solver == "greedy")
        proof = None
        if solver in EXACT_SOLVERS:
            proof = solve_exact(solver, self.plan, self.v.cands, self.catalog, self.cluster, objective, self.pool,
                                time_limit_s, backend=default_backend())
        return proof

    def best(self, objective: Objective) -> tuple[dict[str, Candidate], Estimate]:
        best = self.pool.best(objective)
        assert best is not None
        return best


def _best_search(searches: list[_Search], objective: Objective
                 ) -> tuple[_Search, dict[str, Candidate], Estimate]:
    """The search whose best plan is best overall (the first among equals), with that plan."""
    winner: tuple[_Search, dict[str, Candidate], Estimate] | None = None
    for s in searches:
        choice, est = s.best(objective)
        if winner is None or objective.better(est, winner[2]):
            winner = (s, choice, est)
    assert winner is not None
    return winner


def _exact_note(proofs: list[ExactResult | None], first: str, best: float | None = None) -> str:
    """The exact solver's note: one variant's own, or how many variants were proven and,
    where some were not, the bound over all of them beside ``best`` (the chosen plan's
    value of the ``first`` goal)."""
    results = [p for p in proofs if p is not None]
    if len(results) == 1:
        return results[0].note(first)
    closed = sum(1 for p in results if p.optimal or p.infeasible)
    seconds = sum(p.seconds for p in results)
    evaluations = sum(p.evaluations for p in results)
    what = (f"{results[0].solver}: {counted(evaluations, 'plan')} evaluated over "
            f"{counted(len(results), 'knob configuration')}")
    if closed == len(results):
        return f"{what}; proven optimal on the reported totals over all of them ({seconds:.2f} s)"
    stopped = (f"{what}; {closed} proven (optimal or infeasible), the others stopped at their share of "
               f"the time limit")
    # The bound over all configurations: an open one's proven bound, a closed one's optimum.
    open_ = [p for p in results if not (p.optimal or p.infeasible)]
    if best is None or any(p.bound is None for p in open_):
        return f"{stopped}, one before it proved a bound, so none is proven over all of them ({seconds:.2f} s)"
    m = metric(first)
    bound = min([p.bound for p in open_ if p.bound is not None]
                + [p.estimate.metric(first) for p in results if p.optimal and p.estimate is not None], key=m.to_min)
    gap = abs(best - bound) / max(abs(best), 1e-12)
    return (f"{stopped}: best {m.format(best)}, proven bound {m.format(bound)} over all of them on the reported "
            f"totals, gap {100 * gap:.1f}% ({seconds:.2f} s)")


def _no_candidate(job: BoundJob, missing: list[Node], catalog: Catalog, cluster: Cluster) -> MurakkabError:
    """One error for every task no implementation fits, located at the first of them."""
    here = job.settings.available_agents is not None
    local = " and runs on this machine" if here else ""
    interfaces = sorted({t.interface or "" for t in missing})
    lacking = [f"{name} would, with {why}" for name, why in job.settings.unavailable_agents
               if (row := catalog.agent(name)) is not None and row.interface in interfaces]
    if here:
        each = interfaces[0] if len(interfaces) == 1 else "each of " + ", ".join(interfaces)
        hint = (f"write an agent for {each} (@agent in a Python file) and pass it with "
                "--agents my_agents.py, or simulate the job on a cluster that has them: "
                "murakkab run --backend sim --cluster hotos-testbed")
        if lacking:
            hint = f"{'; '.join(lacking)}; else {hint}"
    else:
        hint = "relax the tasks' USING preferences, or plan for another cluster (--cluster NAME or ON CLUSTER 'NAME')"
    first = missing[0]
    if len(missing) == 1:
        what = f"no implementation of {first.interface} for task '{first.id}' fits cluster '{cluster.name}'{local}"
    else:
        tasks = ", ".join(f"'{t.id}' ({t.interface})" for t in missing)
        what = f"no implementation fits cluster '{cluster.name}'{local} for {len(missing)} tasks: {tasks}"
    return MurakkabError(what, first.span, hint)


def _bounds(job: BoundJob, tiers: "Tiers | None", catalog: Catalog, variants: list[_Variant],
            disabled: frozenset[str] | None = None) -> tuple[Bound, ...]:
    """The job's SLOs as numbers (tiers from the workflow's own thresholds, computed once
    per workflow and cluster) plus, where no SLO asks for quality, the quality floor. A
    floor the job's preferences (USING) cannot reach in any knob configuration is
    lowered to what they can. ``disabled``: the rules the variants were rewritten
    without, when the tiers may reuse their plans and candidates."""
    if not job.parts:
        known = {v.config: (v.plan, v.cands) for v in variants} if disabled is not None else None
        job = _resolve_slos(job, catalog, tiers, known, disabled or frozenset())
    out: list[Bound] = []
    for slo in job.slos:
        assert slo.value is not None, "tiers are resolved per job"
        value = slo.value
        if slo.floor:
            value = min(value, max(_reachable_quality(v, slo.job) for v in variants))
        out.append(Bound(slo, value, slo.job))
    return tuple(out)


def _reachable_quality(v: _Variant, job: str | None) -> float:
    mine = v.scopes.get(job, frozenset(v.cands)) if job else frozenset(v.cands)
    return math.prod(max(c.quality for c in v.cands[t]) for t in mine if t in v.cands)


class PlanValidationError(AssertionError):
    """The validator rejected the planner's own plan: a planner bug, never a user error."""


EXACT_SOLVERS = ("cpsat", "ilp", "exhaustive")


def pick_solver(requested: str, cands: dict[str, list[Candidate]]) -> tuple[str, str]:
    """The solver to run and why (``requested`` is greedy, cpsat, ilp, exhaustive or auto):
    ``scheduling.auto.pick`` with the limits measured for job plans."""
    return pick(requested, JOB_PLANS, len(cands), sum(len(c) for c in cands.values()),
                math.prod(len(c) for c in cands.values()))


def plan_jobs(jobs: Sequence[BoundJob], catalog: Catalog) -> PhysicalPlan:
    """Plan several jobs jointly (see ``compiler/joint.py``) and compare with planning
    them one by one: each alone on the whole cluster, run back to back. Each job's tiers
    and quality floor are resolved on its own workflow first, so joint planning moves
    neither; its SLOs then hold for its own totals in the joint plan."""
    if len(jobs) == 1:
        return plan_job(jobs[0], catalog)
    return _joint_and_alone(jobs, catalog)[0]


def plan_group(jobs: Sequence[BoundJob], catalog: Catalog) -> list[PhysicalPlan]:
    """The plans a group of RUNs is run by: the joint plan, or, where it is worse on the
    goals than planning each job alone and running them back to back (a search on the
    larger joint problem can end worse), each job's own plan, saying why. A plan already
    evaluated is never beaten by the one returned."""
    if len(jobs) == 1:
        return [plan_job(jobs[0], catalog)]
    joint, alone = _joint_and_alone(jobs, catalog)
    assert joint.separately is not None
    worse = _worse_on(joint.estimate, joint.separately, jobs[0].goals)
    if worse is None:
        return [joint]
    goal, together, apart = worse
    unit = f" {METRIC_UNITS[goal]}" if METRIC_UNITS.get(goal) else ""
    why = (f"planned alone: the joint plan of {len(jobs)} RUNs was worse on {goal} "
           f"(~{together:.4g}{unit} together, ~{apart:.4g}{unit} one after another)")
    return [replace(p, solver_note=f"{p.solver_note}; {why}") for p in alone]


def _joint_and_alone(jobs: Sequence[BoundJob], catalog: Catalog) -> tuple[PhysicalPlan, list[PhysicalPlan]]:
    resolved = [_resolve_slos(j, catalog) for j in jobs]
    joint = plan_job(combine(resolved), catalog)
    alone = [plan_job(j, catalog) for j in resolved]
    held: dict[str, int] = {}
    for est in (p.estimate for p in alone):
        for hw, units in est.held:
            held[hw] = max(held.get(hw, 0), units)
    estimates = [p.estimate for p in alone]
    separately = Estimate(
        makespan_s=sum(e.makespan_s for e in estimates), cost_usd=sum(e.cost_usd for e in estimates),
        energy_wh=sum(e.energy_wh for e in estimates), quality=math.prod(e.quality for e in estimates),
        gpus=max(e.gpus for e in estimates), held=tuple(sorted(held.items())))
    return replace(joint, jobs=tuple(job_labels(jobs)), separately=separately), alone


def _worse_on(joint: Estimate, apart: Estimate, goals: Sequence[Goal]) -> tuple[str, float, float] | None:
    """The first goal on which ``joint`` is worse than ``apart`` where none before it is
    better (lexicographic, within a relative 1e-6); None when the joint plan is no worse."""
    for g in goals:
        a, b = joint.metric(g.metric), apart.metric(g.metric)
        if math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12):
            continue
        return (g.metric, a, b) if (a > b) == g.minimize else None
    return None


def _resolve_slos(job: BoundJob, catalog: Catalog, tiers: Tiers | None = None,
                  known: dict[KnobConfig, tuple[LogicalPlan, dict[str, list[Candidate]]]] | None = None,
                  known_disabled: frozenset[str] = frozenset()) -> BoundJob:
    """``job`` with its tier SLOs and its quality floor as numbers (tiers kept for
    display), and no floor setting left to apply. ``known``: the job's rewritten plans
    and candidates by knob configuration, for the tiers to reuse where they may
    (``workflow_job_tiers``)."""
    slos = list(job.slos)
    floor = job.settings.quality_floor
    if floor is not None and not any(s.metric == "quality" for s in slos):
        slos.append(Slo("quality", None if isinstance(floor, str) else float(floor),
                        floor if isinstance(floor, str) else None, None, floor=True))
    if any(s.value is None for s in slos):
        try:
            tiers = tiers or workflow_job_tiers(job, catalog, {s.metric for s in slos if s.value is None},
                                                known, known_disabled)
        except LookupError:
            # A step nothing on the cluster implements: planning it reports that, located.
            return replace(job, slos=tuple(slos), settings=replace(job.settings, quality_floor=None))
        slos = [s if s.value is not None else replace(s, value=tiers.value(s.metric, s.tier or "")) for s in slos]
    return replace(job, slos=tuple(slos), settings=replace(job.settings, quality_floor=None))


def totals(catalog: Catalog, choice: dict[str, Candidate], sched: Schedule,
           scopes: dict[str, frozenset[str]] | None = None) -> Estimate:
    """The reported totals of a scheduled plan; with ``scopes`` (a joint plan), each
    job's own totals as ``parts`` too."""
    return plan_totals(catalog, choice, ((s.task, s.machine, s.hardware, s.start_s, s.end_s, s.units)
                                         for s in sched.shards), scopes)


def _baseline(task: str, v: _Variant, catalog: Catalog, cluster: Cluster,
              available: frozenset[str] | None) -> Candidate:
    node = v.plan.node(task)
    try:
        return baseline_candidate(node, v.plan, catalog, cluster, available,
                                  lambda n, a: agent_quality(v.quality, n, a, catalog))
    except LookupError:
        raise MurakkabError(f"no implementation of {node.interface} for task '{task}' fits cluster "
                            f"'{cluster.name}'", node.span) from None


def _critical_first(plan: LogicalPlan, cands: dict[str, list[Candidate]]) -> list[str]:
    fastest = {t: min(c, key=lambda x: x.latency_s) for t, c in cands.items()}
    rank = upward_ranks(plan, fastest)
    return sorted(cands, key=lambda t: (-rank[t], t))


def _alternatives(options: Sequence[Candidate], chosen: Candidate,
                  standalone: Callable[[Candidate], tuple[float, ...]]) -> tuple[Candidate, ...]:
    """The chosen candidate and the best others by the goals (``standalone``: the
    objective's ``greedy.standalone_keyer``), for EXPLAIN."""
    # Each key computed once; sorting positions by them is the same stable sort.
    keys = [standalone(c) for c in options]
    key = keys.__getitem__
    others = sorted((i for i, c in enumerate(options) if c is not chosen), key=key)[: ALTERNATIVES_SHOWN - 1]
    at = next((i for i, c in enumerate(options) if c is chosen), None)
    if at is None:
        # (Never in a plan: the chosen candidate is one of the task's options.)
        return tuple(sorted([chosen, *(options[i] for i in others)], key=standalone))
    return tuple(options[i] for i in sorted([at, *others], key=key))


def _diagnose(job: BoundJob, objective: Objective, best: Estimate, plan: LogicalPlan, order: list[str],
              cands: dict[str, list[Candidate]], cluster: Cluster, evaluate, proof: ExactResult | None) -> InfeasibleError:
    """Which SLOs cannot hold, and the best value each can reach alone."""
    failing = [b for b in objective.bounds if not b.met(best)]
    lines = []
    for b in objective.bounds:
        m = metric(b.metric)
        alone = greedy_search(plan, order, cands, Objective((), (Goal(b.metric, m.lower_is_better),)), cluster,
                              Pool(list(cands), cands, evaluate))
        reach = b.observed(alone.estimate)
        unit = f" {m.unit}" if m.unit else ""
        status = "cannot be met" if (b in failing and not b.met(alone.estimate)) else (
            "conflicts with the others" if b in failing else "met")
        lines.append(f"{_slo_text(b)} (= {b.value:.4g}{unit}): best reachable ~{reach:.4g}{unit}; {status}")
    if proof is not None and proof.infeasible:
        lines.append(f"{proof.solver} proved that no plan meets them all")
    first = failing[0]
    others = " with the other SLOs" if len(objective.bounds) > 1 else ""
    return InfeasibleError(
        f"no plan of {job.name} meets {_slo_text(first)}{others} on cluster '{job.cluster}'", first.slo.span,
        "\n        ".join(["per constraint, optimising it alone:"] + lines),
    )


def _slo_text(b: Bound) -> str:
    text = b.slo.text()
    if b.slo.floor:
        text = f"the quality floor {text} (SET quality_floor)"
    return f"{b.scope}: {text}" if b.scope else text
