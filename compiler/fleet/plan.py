"""Planning a bound fleet: tiers resolved, the joint MILP solved, and the baselines the
OSDI paper compares with computed on the same profiles and demand.

Tiers are relative, as in OSDI '26 §3.4: BEST / GOOD / FAIR / BASIC are the best, p95,
p80 and median over a workflow's configurations. Quality tiers are the thresholds the
paper published (``published_tiers``) where the catalog has them, so a fleet's "GOOD" is
the paper's; else the percentiles of the workflow's accuracy rows (``workflow_quality``).
Latency tiers are always computed here, as the best, p5, p20 and median end-to-end
latency of the configurations considered that meet the quality floor (``SET
quality_floor``, BASIC unless set), since a latency request is served only by those: so
every latency tier is reachable whatever the requests' inputs. The published latency
tiers time one LLM call, not the workflow's DAG with its tools, and so do not measure
the same thing.

Baselines:
  static    one fixed configuration per workflow, as a hand-built deployment: Gemma-3-27B
            on A100 x4 at its saturation point, its most accurate knobs, the tools with
            the least energy per request among those; instances per workflow (not
            shared) sized for the workflow's own peak with the same 1.15 buffer.
  per pair  each (workflow, SLO) pair optimised alone by the same MILP: its own
            instances, sized for its own peak.
  joint     every pair in one MILP, instances shared across workflows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...catalog.catalog import Catalog
from ...grammar.diagnostics import MurakkabError
from ..job import TIER_PERCENTILE, TIERS
from .bind import BoundFleet
from .solve import METRICS, Infeasible, Pair, Problem, Solution, SolveTimeout, instances_for, solve
from .workload import Catalogue, Config, build, fleet_hardware

STATIC_MODEL = "Gemma-3-27B"
STATIC_HARDWARE = "A100-80GB"
STATIC_TP = 4


@dataclass(frozen=True)
class Baseline:
    name: str
    totals: dict[str, float]
    instances: dict[str, int]
    note: str = ""
    attainment: float | None = None  # share of requests whose SLO the policy meets


@dataclass(frozen=True)
class FleetPlan:
    fleet: BoundFleet
    catalogue: Catalogue
    tiers: dict[str, dict[str, tuple[float, float]]]  # workflow -> tier -> (quality, latency)
    tier_source: dict[str, str]  # workflow -> where its quality tiers come from
    pairs: tuple[Pair, ...]
    problem: Problem
    solution: Solution
    baselines: tuple[Baseline, ...]


def published_quality_tiers(catalog: Catalog, workflow: str) -> dict[str, float]:
    return {tier: float(value) for tier, value in catalog.execute(
        "SELECT tier, value FROM published_tiers WHERE workflow = ? AND metric = 'accuracy_threshold'", [workflow])}


def tiers_of(catalogue: Catalogue, workflow: str, published: dict[str, float] | None = None,
             floor: str | float | None = None) -> dict[str, tuple[float, float]]:
    """tier -> (quality floor, latency ceiling in s); see the module docstring. Latency
    tiers are over the configurations at or above the quality ``floor`` (a tier name, a
    number, or None for none): those a latency request may be served by."""
    acc = catalogue.all_accuracies.get(workflow) or [0.0]
    published = published or {}
    quality = {t: published.get(t, float(np.percentile(acc, TIER_PERCENTILE[t], method="linear"))) for t in TIERS}
    points = catalogue.all_latencies.get(workflow) or [(1.0, math.inf)]
    least = _floor_value(floor, quality)
    lat = [s for a, s in points if a >= least - 1e-12] or [s for _, s in points]
    return {t: (quality[t], float(np.percentile(lat, 100.0 - TIER_PERCENTILE[t], method="linear"))) for t in TIERS}


def _floor_value(floor: str | float | None, quality: dict[str, float]) -> float:
    if floor is None:
        return 0.0
    return quality[floor] if isinstance(floor, str) else float(floor)


def _floor(fleet: BoundFleet, tiers: dict[str, tuple[float, float]]) -> float:
    return _floor_value(fleet.settings.quality_floor, {t: q for t, (q, _) in tiers.items()})


def pairs_of(fleet: BoundFleet, tiers: dict[str, dict[str, tuple[float, float]]]) -> tuple[Pair, ...]:
    """One pair per (workflow, SLO); a workflow without SLOs is one pair at the quality floor."""
    out = []
    for item in fleet.items:
        t = tiers[item.workflow]
        floor = _floor(fleet, t)
        if not item.slos:
            out.append(Pair(item.workflow, "no SLO (quality floor)", 1.0, floor))
        for s in item.slos:
            if s.metric == "quality":
                value = s.value if s.value is not None else t[s.tier or "BASIC"][0]
                out.append(Pair(item.workflow, s.text, s.share, max(value, floor)))
            else:
                value = s.value if s.value is not None else t[s.tier or "BASIC"][1]
                out.append(Pair(item.workflow, s.text, s.share, floor, value))
    return tuple(out)


def plan_fleet(fleet: BoundFleet, catalog: Catalog, baselines: bool = True) -> FleetPlan:
    catalogue = build(catalog, {i.workflow: i.request for i in fleet.items}, fleet.hardware)
    _check_runs_somewhere(fleet, catalog, catalogue)
    published = {i.workflow: published_quality_tiers(catalog, i.workflow) for i in fleet.items}
    tiers = {i.workflow: tiers_of(catalogue, i.workflow, published[i.workflow], fleet.settings.quality_floor)
             for i in fleet.items}
    pairs = pairs_of(fleet, tiers)
    problem = Problem(pairs, {i.workflow: i.demand for i in fleet.items}, catalogue, fleet.objectives,
                      dict(fleet.budgets), fleet.cost_budget, time_limit_s=fleet.settings.solver_time_limit_s,
                      ties=fleet.ties)
    try:
        solution = solve(problem)
    except Infeasible as exc:
        on = [f"cluster '{fleet.cluster}' makes its units budgets"] if fleet.cluster else []
        raise Infeasible(exc.diagnosis + on, fleet.span) from None
    except SolveTimeout as exc:
        raise SolveTimeout(exc.limit_s, fleet.span) from None
    extra = (static_baseline(problem), per_pair_baseline(problem)) if baselines else ()
    joint = Baseline("joint", solution.totals, solution.instances, "every pair in one MILP, shared instances", 1.0)
    source = {w: "published (published_tiers)" if p else "percentiles of the accuracy rows" for w, p in published.items()}
    return FleetPlan(fleet, catalogue, tiers, source, pairs, problem, solution,
                     tuple(b for b in extra if b is not None) + ((joint,) if baselines else ()))


def _check_runs_somewhere(fleet: BoundFleet, catalog: Catalog, catalogue: Catalogue) -> None:
    """A workflow with no configuration on the fleet's hardware (ON CLUSTER a cluster
    without the GPUs its models are profiled on) is a located error naming where it runs."""
    for item in fleet.items:
        if catalogue.configs.get(item.workflow):
            continue
        anywhere = build(catalog, {item.workflow: item.request}, fleet_hardware(catalog))
        runs_on = sorted({anywhere.profiles[k].hardware for c in anywhere.configs.get(item.workflow, [])
                          for k, _ in c.work if anywhere.profiles[k].kind != "tool"} - {""})
        where = f"cluster '{fleet.cluster}'" if fleet.cluster else "the fleet's hardware"
        clusters = [c.name for c in catalog.clusters() if runs_on and set(runs_on) <= set(c.hardware_names())]
        raise MurakkabError(
            f"{item.workflow}: no configuration can run on {where} ({', '.join(fleet.hardware) or 'no hardware'})",
            item.span,
            hint=(f"its models are profiled on {', '.join(runs_on)}" if runs_on else "the catalog has no serving "
                  "profile for it") + (f"; plan ON CLUSTER '{clusters[0]}', or leave ON CLUSTER out" if clusters
                                       else ""))


def static_config(problem: Problem, workflow: str) -> Config | None:
    """The hand-built deployment's configuration of ``workflow`` (see the module docstring)."""
    cands = [c for c in problem.catalogue.configs.get(workflow, [])
             if c.model == STATIC_MODEL and any(
                 (p := problem.catalogue.profiles[k]).kind == "llm" and p.hardware == STATIC_HARDWARE
                 and p.units == STATIC_TP and p.load >= 1.0 - 1e-9 for k, _ in c.work)]
    if not cands:
        return None
    best = max(c.accuracy for c in cands)

    def energy(c: Config) -> float:
        return sum(w * problem.catalogue.profiles[k].busy_j_per_work +
                   w / problem.catalogue.profiles[k].capacity * problem.catalogue.profiles[k].held_w
                   for k, w in c.work)

    return min((c for c in cands if c.accuracy >= best - 1e-12), key=lambda c: (energy(c), c.stages))


def static_baseline(problem: Problem) -> Baseline | None:
    instances: dict[str, int] = {}
    totals = dict.fromkeys(METRICS, 0.0)
    met = 0.0
    total_rate = sum(d.mean for d in problem.demands.values())
    weighted_q = weighted_l = 0.0
    for workflow, demand in sorted(problem.demands.items()):
        config = static_config(problem, workflow)
        if config is None:
            return None
        for key, work in config.work:
            prof = problem.catalogue.profiles[key]
            n = instances_for(demand.peak * work, prof.capacity, problem.buffer)
            instances[f"{key} [{workflow}]"] = n
            totals["energy"] += n * prof.held_w + prof.busy_j_per_work * work * demand.mean
            totals["cost"] += n * prof.usd_per_hour + 3600 * prof.usd_per_work * work * demand.mean
            totals["gpus"] += n * prof.gpus()
        weight = demand.mean / total_rate if total_rate else 0.0
        weighted_q += weight * config.accuracy
        weighted_l += weight * config.latency_s
        for pair in problem.pairs:
            if pair.workflow == workflow and config.accuracy >= pair.min_accuracy - 1e-12 \
                    and config.latency_s <= pair.max_latency_s + 1e-9:
                met += weight * pair.share
    totals["quality"], totals["latency"] = weighted_q, weighted_l
    return Baseline("static", totals, instances,
                    f"{STATIC_MODEL} on {STATIC_HARDWARE} x{STATIC_TP} at saturation, one configuration per "
                    "workflow, own instances sized for its peak", met)


def per_pair_baseline(problem: Problem) -> Baseline | None:
    instances: dict[str, int] = {}
    totals = dict.fromkeys(METRICS, 0.0)
    total_rate = sum(d.mean for d in problem.demands.values())
    for pair in problem.pairs:
        demand = problem.demands[pair.workflow]
        alone = Problem((Pair(pair.workflow, pair.label, 1.0, pair.min_accuracy, pair.max_latency_s),),
                        {pair.workflow: type(demand)(demand.workflow, tuple(r * pair.share for r in demand.rates),
                                                     demand.window_s, demand.source)},
                        problem.catalogue, problem.objectives, problem.budgets, problem.cost_budget,
                        problem.buffer, problem.time_limit_s, problem.ties)
        try:
            s = solve(alone)
        except (Infeasible, SolveTimeout):  # the baseline is left out, the joint plan stands
            return None
        for k, n in s.instances.items():
            instances[f"{k} [{pair.workflow} {pair.label}]"] = n
        for m in ("energy", "cost", "gpus"):
            totals[m] += s.totals[m]
        weight = demand.mean * pair.share / total_rate if total_rate else 0.0
        totals["quality"] += weight * s.totals["quality"]
        totals["latency"] += weight * s.totals["latency"]
    used: dict[str, float] = {}
    for key, n in instances.items():
        prof = problem.catalogue.profiles[key.split(" [")[0]]
        used[prof.hardware] = used.get(prof.hardware, 0.0) + n * prof.units
    over = [f"{hw} {used.get(hw, 0.0):g} > {b:g}" for hw, b in sorted(problem.budgets.items()) if used.get(hw, 0.0) > b]
    note = "each (workflow, SLO) pair alone, own instances sized for its own peak"
    if over:
        note += "; together over budget: " + ", ".join(over)
    return Baseline("per pair", totals, instances, note, 1.0)
