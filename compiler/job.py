"""What a bound RUN asks for: a logical plan plus SLOs, objectives, cluster and settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..grammar.diagnostics import Span
from . import metrics
from .logical import LogicalPlan

# Views of compiler/metrics.py in the job language's names (latency, not makespan):
# metric -> True when lower is better, its unit, the dimension its SLO numbers convert to.
METRICS: dict[str, bool] = {m.name: m.lower_is_better for m in metrics.ALL}
METRIC_UNITS = {m.name: m.unit for m in metrics.ALL}
METRIC_DIMENSION = {m.name: m.dimension for m in metrics.ALL}
TIERS = ("BEST", "GOOD", "FAIR", "BASIC")
# A tier is the value that beats this share of all known configurations (OSDI §3.4):
# BEST is the best, GOOD the p95, FAIR the p80, BASIC the median.
TIER_PERCENTILE = {"BEST": 100.0, "GOOD": 95.0, "FAIR": 80.0, "BASIC": 50.0}

# Where a job is planned when neither ON CLUSTER nor --cluster names a cluster: this
# machine (catalog.LOCAL_CLUSTER), the cluster `murakkab run`'s default backend runs on,
# so EXPLAIN, run, the simulator and the Python API all plan for the same target.
DEFAULT_CLUSTER = "local"
DEFAULT_SOLVER = "greedy"


@dataclass(frozen=True)
class Slo:
    """``metric <= value`` (or ``>=`` for quality). ``tier`` is set when written as a tier;
    the planner resolves it to a value against the catalog's configurations."""

    metric: str
    value: float | None
    tier: str | None
    span: Span | None = None
    # In a joint plan of several RUNs, the job this SLO belongs to: it holds for that
    # job's own totals.
    job: str | None = None
    # The quality floor a job keeps when none of its SLOs asks for quality (SET
    # quality_floor), rather than an SLO the script wrote.
    floor: bool = False

    @property
    def upper_bound(self) -> bool:
        return METRICS[self.metric]

    def text(self) -> str:
        op = "<=" if self.upper_bound else ">="
        shown = self.tier if self.tier else f"{self.value:g} {METRIC_UNITS[self.metric]}".strip()
        return f"{self.metric} {op} {shown}"


@dataclass(frozen=True)
class Goal:
    metric: str
    minimize: bool

    def text(self) -> str:
        return f"{'MINIMIZE' if self.minimize else 'MAXIMIZE'} {self.metric}"


@dataclass(frozen=True)
class Settings:
    """``SET`` values in effect for a job."""

    solver: str | None = None  # SET solver; None: DEFAULT_SOLVER, said as the default in EXPLAIN
    # Where the script SET the solver, for an error the choice causes (not part of equality).
    solver_span: Span | None = field(default=None, compare=False)
    parallelism: bool = True
    seed: int = 0
    cluster: str = DEFAULT_CLUSTER
    solver_time_limit_s: float = 10.0
    # Without a quality SLO a job keeps this tier of its workflow's quality (OSDI keeps an
    # accuracy floor for latency-first requests): a tier name, a number in (0, 1], or
    # None (SET quality_floor = off).
    quality_floor: str | float | None = "BASIC"
    # Rewrite rules not to apply (SET disabled_rules = 'fuse_maps, merge_common_tasks').
    disabled_rules: tuple[str, ...] = ()
    # Only these agents may run (a real executor offers what it can run); None: any.
    available_agents: frozenset[str] | None = None
    # (agent, what it lacks) of agents an executor has but cannot run as configured: named
    # in the error when a task has no implementation that runs.
    unavailable_agents: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ExplainOptions:
    analyze: bool = False
    verbose: bool = False
    format: str = "text"


@dataclass(frozen=True)
class BoundJob:
    """One RUN, bound: the logical plan before rewriting plus everything the planner needs."""

    name: str
    workflow: str
    plan: LogicalPlan
    slos: tuple[Slo, ...]
    goals: tuple[Goal, ...]
    cluster: str
    settings: Settings
    explain: ExplainOptions | None
    span: Span | None
    matched: tuple[tuple[str, str, float], ...] = ()  # (task, interface or template, confidence)
    # A joint plan of several RUNs (compiler/joint.py): per job, its label and how many of
    # the Output node's inputs are its results, in order.
    parts: tuple[tuple[str, int], ...] = ()
