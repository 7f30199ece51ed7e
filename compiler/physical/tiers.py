"""SLO tiers: BEST / GOOD / FAIR / BASIC as the best, p95, p80 and p50 of a metric over
the configurations the catalog knows for a workflow (OSDI '26 §3.4).

Quality depends only on which agents run and on the knob configuration (through a
workflow accuracy profile, ``accuracy.py``), so its tiers are exact over every
(configuration, agents) combination (when there are at most ``MAX_QUALITY_COMBINATIONS``
per configuration). Latency, cost and
energy depend on the schedule too: they are placed over ``TIER_SAMPLES`` seeded random
configurations plus the all-fastest one, each scheduled on the cluster.

A job's tiers (``workflow_job_tiers``) are those of its workflow on its cluster, with
its inputs: computed from the workflow's own plan, without the job's preferences
(USING), SLOs, goals or sampling, and before any joint planning, so a tier means the
same number whatever else the job or its script asks.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np

from dataclasses import dataclass

from ...catalog.catalog import Catalog
from ..job import TIER_PERCENTILE, TIERS, BoundJob, Settings
from ..logical import LogicalPlan
from .objective import tier_value
from .plan import Candidate, Estimate

if TYPE_CHECKING:
    from .knobs import KnobConfig

TIER_SAMPLES = 64
MAX_QUALITY_COMBINATIONS = 4096


def tier_choices(cands: dict[str, list[Candidate]], seed: int, count: int = TIER_SAMPLES) -> list[dict[str, Candidate]]:
    """``count`` random configurations (seeded), plus each task's fastest: the catalog's spread."""
    rng = random.Random(seed)
    tasks = sorted(cands)
    choices = [{t: min(cands[t], key=lambda c: c.latency_s) for t in tasks}]
    for _ in range(count):
        choices.append({t: cands[t][rng.randrange(len(cands[t]))] for t in tasks})
    return choices


def tier_qualities(cands: dict[str, list[Candidate]], seed: int, count: int = TIER_SAMPLES) -> list[float]:
    """The plan quality of each of ``tier_choices(cands, seed, count)``, without making
    the choices: the same draws of the same generator, and each product taken in the same
    order (the tasks sorted), so the same floats. A quality tier of a 10,000-task
    workflow needs 650,000 draws and no schedule."""
    rng = random.Random(seed)
    draw = rng.randrange
    tasks = sorted(cands)
    options = [(len(cands[t]), [c.quality for c in cands[t]]) for t in tasks]
    out = [math.prod(min(cands[t], key=lambda c: c.latency_s).quality for t in tasks)]
    for _ in range(count):
        # math.prod: 1, then each factor in turn (1 * q is q exactly).
        q: float = 1
        for n, qualities in options:
            q *= qualities[draw(n)]
        out.append(q)
    return out


def quality_combinations(cands: dict[str, list[Candidate]]) -> list[float] | None:
    """Plan quality of every agent combination, or None when there are too many."""
    # One entry per agent: two agents of equal quality are two configurations.
    per_task = []
    combinations = 1
    for options in cands.values():
        per_task.append(sorted({(c.agent, c.quality) for c in options}))
        combinations *= len(per_task[-1])
        if combinations > MAX_QUALITY_COMBINATIONS and all(cands.values()):
            # Too many already, and no task without options can bring the product to 0.
            return None
    if combinations > MAX_QUALITY_COMBINATIONS:
        return None
    return [math.prod(q for _, q in combo) for combo in itertools.product(*per_task)]


@dataclass(frozen=True)
class Tiers:
    """Tier thresholds of one workflow on one cluster: ``values[metric][tier]``."""

    values: dict[str, dict[str, float]]

    def value(self, metric_name: str, tier: str) -> float:
        return self.values[metric_name][tier]


SCHEDULE_METRICS = ("latency", "cost", "energy", "gpus")


def tier_rules_disabled(settings: Settings) -> frozenset[str]:
    """The rewrite rules the tiers' plans are rewritten without: no sampling (a tier is
    about the workflow, not about how a job lifts its quality), and no fan-out or
    streaming for a sequential job."""
    from .planner import PARALLEL_RULES

    return frozenset(settings.disabled_rules + ("expand_paths",)
                     + (PARALLEL_RULES if not settings.parallelism else ()))


def workflow_job_tiers(job: BoundJob, catalog: Catalog, metrics: Iterable[str] | None = None,
                       known: Mapping[KnobConfig, tuple[LogicalPlan, dict[str, list[Candidate]]]] | None = None,
                       known_disabled: frozenset[str] = frozenset()) -> Tiers:
    """The tiers of ``job``'s workflow on its cluster, for its inputs (see the module
    docstring for what they do not depend on), over every configuration of its free
    knobs (``knobs.py``): the samples are spread over the configurations, and the
    quality tiers are over every (configuration, agents) combination.

    ``metrics``: the metrics whose tiers are needed (all when None). Only latency, cost,
    energy and GPUs need the samples scheduled; quality is a product of the agents'
    qualities, so a job that asks only for a quality tier (the default quality floor)
    schedules nothing here.

    ``known``: the rewritten plan and candidates of each knob configuration the planner
    has already made for this job (rewritten without ``known_disabled``), used instead of
    rewriting and enumerating the workflow again where they are the same: the job's
    tasks have no preferences (so its plan is the workflow's), the same rules are
    disabled, and it is one job (so its candidates' qualities come from the same model)."""
    wanted = set(metrics) if metrics is not None else {*SCHEDULE_METRICS, "quality"}
    scheduled = [m for m in SCHEDULE_METRICS if m in wanted]
    from ..rules import RULES, optimize_logical
    from .accuracy import quality_function
    from .candidates import enumerate_candidates
    from .knobs import knob_space, with_knobs
    from .planner import totals
    from .schedule import schedule

    cluster = catalog.cluster(job.cluster)
    assert cluster is not None
    free = LogicalPlan(tuple(n.with_(prefs=()) if n.prefs else n for n in job.plan.nodes))
    disabled = tier_rules_disabled(job.settings)
    if known is not None and (disabled != known_disabled or job.parts or any(n.prefs for n in job.plan.nodes)):
        known = None
    configs = knob_space(free, catalog).configs if job.settings.parallelism else knob_space(free, catalog).configs[:1]
    samples: list[Estimate] = []
    sampled_quality: list[float] = []
    qualities: list[float] | None = []
    for i, config in enumerate(configs):
        reused = known.get(config) if known is not None else None
        if reused is not None:
            plan, cands = reused
        else:
            plan = optimize_logical(with_knobs(free, config, catalog), RULES, disabled).plan
            quality = quality_function(plan, catalog)
            cands = {t.id: enumerate_candidates(t, plan, catalog, cluster, job.settings.available_agents, quality)
                     for t in plan.tasks}
        missing = sorted(t for t, c in cands.items() if not c)
        if missing:
            # Tiers over part of a workflow would be numbers about another workflow.
            raise LookupError(f"no implementation on {cluster.name} for {', '.join(missing)}")
        if cands:
            # TIER_SAMPLES in all, spread over the configurations (the first takes the remainder).
            share = TIER_SAMPLES // len(configs) + (1 if i < TIER_SAMPLES % len(configs) else 0)
            if scheduled:
                choices = tier_choices(cands, job.settings.seed + i, share)
                sampled_quality += [math.prod(c.quality for c in choice.values()) for choice in choices]
                samples += [totals(catalog, choice, schedule(plan, choice, cluster, with_deps=False))
                            for choice in choices]
            else:
                sampled_quality += tier_qualities(cands, job.settings.seed + i, share)
        combos = quality_combinations(cands)
        qualities = None if combos is None or qualities is None else qualities + combos
    qualities = qualities or sampled_quality or [1.0]
    values: dict[str, dict[str, float]] = {}
    for m in scheduled:
        values[m] = {tier: tier_value(m, tier, [s.metric(m) for s in samples] or [0.0]) for tier in TIERS}
    values["quality"] = {tier: float(np.percentile(qualities, TIER_PERCENTILE[tier], method="linear"))
                         for tier in TIERS}
    return Tiers(values)


def workflow_tiers(catalog: Catalog, name: str, body: str, cluster: str, seed: int = 0) -> dict[str, dict[str, float]]:
    """Tier thresholds of a workflow (a CREATE WORKFLOW text) on ``cluster``, with the
    catalog's default input statistics: {tier: {metric: value}}, the same numbers a job
    of that workflow resolves its tiers to (``workflow_job_tiers``)."""
    from ..bind import compile_script

    script = f"{body};\nRUN {name} ({_default_inputs(body, name)}) ON CLUSTER '{cluster}';"
    job = compile_script(script, f"<workflow {name}>", catalog, Settings(seed=seed)).jobs[0]
    try:
        tiers = workflow_job_tiers(job, catalog)
    except LookupError:  # a step nothing on this cluster implements: no tiers here
        return {}
    return {tier: {m: tiers.value(m, tier) for m in ("latency", "cost", "energy", "quality")} for tier in TIERS}


def _default_inputs(body: str, name: str) -> str:
    """Named RUN arguments for every parameter, valued so the catalog defaults apply."""
    from ...grammar import ast
    from ...grammar.parser import parse

    wf = next(s for s in parse(body).statements if isinstance(s, ast.CreateWorkflow) and s.name == name)
    args = []
    for p in wf.params:
        elem = p.type.arg if p.type.name == "LIST" and p.type.arg is not None else p.type
        value = "1" if elem.name == "NUMBER" else "'default'"
        args.append(f"{p.name} => {'[' + value + ']' if p.type.name == 'LIST' else value}")
    return ", ".join(args)




WORKFLOW_COLUMNS = ["workflow", "tier", "quality", "latency_s", "cost_usd", "energy_wh", "accuracy",
                    "published_accuracy", "published_latency_s", "basis"]


def workflow_tier_rows(catalog: Catalog, cluster: str, seed: int = 0) -> list[tuple[object, ...]]:
    """SHOW WORKFLOWS: per workflow template and tier, the thresholds murakkab computes
    on ``cluster``; where the catalog has end-to-end accuracy per configuration (OSDI '26
    Fig. 2) its tiers too, beside the thresholds the paper published."""
    published: dict[tuple[str, str, str], float] = {}
    for workflow, tier, metric, value in catalog.execute(
            "SELECT workflow, tier, metric, value FROM published_tiers ORDER BY ALL"):
        published[(workflow, tier, metric)] = float(value)
    accuracy: dict[str, list[float]] = {}
    for q in catalog.workflow_quality():
        accuracy.setdefault(q.workflow, []).append(q.value)
    rows: list[tuple[object, ...]] = []
    templates = {t.name: t for t in catalog.templates()}
    for name in sorted(set(templates) | set(accuracy)):
        computed = workflow_tiers(catalog, name, templates[name].body, cluster, seed) if name in templates else {}
        for tier in TIERS:
            c = computed.get(tier, {})
            acc = float(np.percentile(accuracy[name], TIER_PERCENTILE[tier], method="linear")) \
                if name in accuracy else None
            basis = "; ".join(filter(None, [
                f"{TIER_SAMPLES + 1} sampled plans on {cluster}" if c else
                (f"a step has no implementation on {cluster}" if name in templates else ""),
                f"{len(accuracy[name])} accuracy rows (workflow_quality)" if name in accuracy else ""]))
            rows.append((name, tier, _r(c.get("quality")), _r(c.get("latency")), _r(c.get("cost")),
                         _r(c.get("energy")), _r(acc), published.get((name, tier, "accuracy_threshold")),
                         published.get((name, tier, "latency_threshold")), basis))
    return rows


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
