"""Binding a PLAN FLEET statement: names, units, shares and files checked against the
catalog, every error located at the user's text.

    PLAN FLEET FOR
      video_qa AT 2 PER second WITH SLO (70% quality >= GOOD, 30% latency <= GOOD)
               ASSUMING (duration = 30 s),
      code_gen FROM TRACE 'code.csv' (time = TIMESTAMP, window = 60 s, scale = 1)
    BUDGET (A100 = 64, H100 = 16, cost = 400 USD)
    MINIMIZE energy THEN MINIMIZE cost

Rates are per second, minute or hour; a trace gives one rate per window. Shares of one
workflow's SLOs add up to 100% (one SLO without a share covers every request). Budgets
are units per hardware type (a unique prefix of its catalog name) and a cost in USD per
hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ...catalog.catalog import Catalog
from ...grammar import ast
from ...grammar.diagnostics import MurakkabError, Span, suggestion
from ..job import DEFAULT_CLUSTER, TIERS, ExplainOptions, Settings
from ..probe import resolve_path
from ..units import to_base
from .solve import METRICS, Demand
from .traces import TOKEN_COLUMN, TraceError, arrivals, rates
from .workload import SHAPES, TOKEN_PERCENTILE, Request, fleet_hardware, serving_workflows

PERIODS = {"second": 1.0, "seconds": 1.0, "s": 1.0, "sec": 1.0, "minute": 60.0, "minutes": 60.0, "min": 60.0,
           "hour": 3600.0, "hours": 3600.0, "h": 3600.0, "day": 86400.0, "days": 86400.0}
SLO_METRICS = ("quality", "latency")
DEFAULT_WINDOW_S = 60.0
MAX_RATE = 1e6  # requests/s of one workflow: beyond it, instance counts leave the solver's exact range
DEFAULT_TIME_LIMIT_S = 30.0


@dataclass(frozen=True)
class SloSpec:
    """One SLO of a workflow's requests: ``value`` or ``tier`` (resolved when planned)."""

    metric: str
    value: float | None
    tier: str | None
    share: float
    text: str


@dataclass(frozen=True)
class FleetItemSpec:
    workflow: str
    demand: Demand
    request: Request
    slos: tuple[SloSpec, ...]
    span: Span
    trace: Path | None = None  # the trace the demand was read from, its time and token columns
    time_column: str = "TIMESTAMP"
    token_column: str = TOKEN_COLUMN


@dataclass(frozen=True)
class BoundFleet:
    """A PLAN FLEET statement, bound."""

    items: tuple[FleetItemSpec, ...]
    budgets: tuple[tuple[str, float], ...]
    cost_budget: float | None
    objectives: tuple[tuple[str, str], ...]  # the script's goals, then the tie-breaks
    hardware: tuple[str, ...]
    settings: Settings
    explain: ExplainOptions | None
    span: Span
    ties: int = 0  # how many of the objectives are tie-breaks the script did not ask for
    cluster: str | None = None  # ON CLUSTER: its hardware, its units the budgets (with BUDGET's)

    @property
    def job(self) -> str:
        return "fleet " + ", ".join(i.workflow for i in self.items)


def bind_fleet(stmt: ast.PlanFleet, catalog: Catalog, settings: Settings,
               explain: ExplainOptions | None) -> BoundFleet:
    known = serving_workflows(catalog)
    seen: dict[str, Span] = {}
    raw: list[tuple[ast.FleetItem, str, tuple[float, ...] | None, float, tuple[Path, str] | None]] = []
    window_s = DEFAULT_WINDOW_S
    for item in stmt.items:
        name = item.workflow.name
        if name not in known:
            raise MurakkabError(f"'{name}' is not a workflow serving mode can plan", item.workflow.span,
                                suggestion(name, known, "serving workflows") +
                                " (a serving workflow has accuracy rows in the catalog's workflow_quality)")
        if name in seen:
            raise MurakkabError(f"workflow '{name}' is listed twice", item.workflow.span,
                                f"first at {seen[name].where()}; give one line per workflow with its SLO mix")
        seen[name] = item.workflow.span
        if item.trace is None:
            assert item.rate is not None and item.period is not None
            period = PERIODS.get(item.period)
            if period is None:
                raise MurakkabError(f"'{item.period}' is not a period", item.load_span,
                                    "write AT 30 PER minute (second, minute, hour or day)")
            if not math.isfinite(item.rate) or item.rate <= 0:
                raise MurakkabError(f"the rate of '{name}' must be a positive number", item.load_span)
            if item.rate / period > MAX_RATE:
                raise MurakkabError(f"the rate of '{name}' is {item.rate / period:,.4g} requests/s; a fleet is "
                                    f"planned for at most {MAX_RATE:,.0f}", item.load_span,
                                    "plan a slice of the traffic: per region or per cluster")
            raw.append((item, name, None, item.rate / period, None, 1.0))
        else:
            series, window_s, path, columns, tail = _trace_rates(item, window_s)
            raw.append((item, name, series, 0.0, (path, *columns), tail))
    series_lengths = [len(s) for _, _, s, _, _, _ in raw if s is not None]
    windows = min(series_lengths) if series_lengths else 1
    items = []
    for item, name, series, rate, trace, tail in raw:
        if series is not None:
            demand = Demand(name, series[:windows], window_s, f"trace {item.trace.value if item.trace else ''}")
        else:
            demand = Demand(name, (rate,) * windows, window_s if series_lengths else 3600.0,
                            f"{item.rate:g} per {item.period}")
        items.append(FleetItemSpec(name, demand, _request(item, catalog, tail), _slos(item), item.span,
                                   *(trace or ())))
    budgets, cost = _budgets(stmt.budgets, catalog)
    hardware = fleet_hardware(catalog)
    # ON CLUSTER, else a cluster the settings name (--cluster, SET cluster); the default
    # cluster is this machine, where no fleet runs, so without either the fleet may use
    # every type a named cluster has.
    on = stmt.cluster if stmt.cluster is not None else (
        settings.cluster if settings.cluster != DEFAULT_CLUSTER else None)
    if on is not None:
        cluster = catalog.cluster(on)
        if cluster is None:
            raise MurakkabError(f"unknown cluster '{on}'", stmt.span,
                                suggestion(on, [c.name for c in catalog.clusters()], "clusters"))
        hardware = tuple(h for h in cluster.hardware_names() if catalog.hardware(h) is not None)
        # The fleet lives on the cluster: its units of each type are budgets too.
        stated = dict(budgets)
        budgets = tuple(sorted((h, min(stated.get(h, math.inf), float(cluster.capacity(h)))) for h in hardware))
    objectives, ties = _objectives(stmt.objectives)
    return BoundFleet(tuple(items), budgets, cost, objectives, hardware, settings, explain, stmt.span, ties, on)


def _trace_rates(item: ast.FleetItem,
                 window_s: float) -> tuple[tuple[float, ...], float, Path, tuple[str, str], float]:
    """The trace's rates per window, the window, the file, its time and token columns,
    and its requests' tokens at :data:`TOKEN_PERCENTILE` over their mean (1 without a
    token column)."""
    assert item.trace is not None
    column, token_column, named_tokens, scale = "TIMESTAMP", TOKEN_COLUMN, False, 1.0
    for s in item.trace_settings:
        key = s.name.lower()
        if key in ("time", "tokens"):
            if isinstance(s.value, ast.Word):
                named = s.value.name
            elif isinstance(s.value, ast.StringLit):
                named = s.value.value
            else:
                raise MurakkabError(f"{key} names the trace's {key} column", s.value.span,
                                    f"write {key} = {'TIMESTAMP' if key == 'time' else TOKEN_COLUMN}")
            if key == "time":
                column = named
            else:
                token_column, named_tokens = named, True
        elif key in ("scale", "window"):
            if not isinstance(s.value, ast.Quantity):
                raise MurakkabError(f"{key} is a number", s.value.span,
                                    "write scale = 2 (twice the trace's rate) or window = 60 s")
            value = to_base(s.value, "time", key) if key == "window" else s.value.value
            if not math.isfinite(value) or value <= 0:
                raise MurakkabError(f"{key} must be positive", s.value.span)
            if key == "scale":
                if value > MAX_RATE:
                    raise MurakkabError(f"scale is at most {MAX_RATE:,.0f}", s.value.span)
                scale = value
            else:
                window_s = value
        else:
            raise MurakkabError(f"unknown trace setting '{s.name}'", s.span,
                                suggestion(s.name, ("time", "tokens", "scale", "window"), "trace settings"))
    path = Path(resolve_path(item.trace.value, item.trace.span.source.name))
    try:
        times, tokens = arrivals(path, column, token_column, tokens_required=named_tokens)
    except TraceError as exc:
        hint = ("a CSV with one row per request and a time column (name them: (time = COLUMN, "
                "tokens = COLUMN))")
        if not path.is_absolute() and not path.exists():
            script = item.trace.span.source.name
            places = ([f"next to the script ({Path(script).resolve().parent})"] if Path(script).is_file() else []) + [
                f"in the working directory ({Path.cwd()})"]
            hint = f"a relative path is looked for {' and then '.join(places)}"
        raise MurakkabError(str(exc), item.trace.span, hint) from None
    mean = sum(tokens) / len(tokens)
    tail = float(np.percentile(tokens, TOKEN_PERCENTILE)) / mean if mean > 0 else 1.0
    series = rates(times, window_s, scale)
    if series and max(series) > MAX_RATE:
        raise MurakkabError(f"the trace peaks at {max(series):,.4g} requests/s (scale {scale:g}); a fleet is "
                            f"planned for at most {MAX_RATE:,.0f}", item.trace.span, "a smaller scale")
    return series, window_s, path, (column, token_column), max(1.0, tail)


def _request(item: ast.FleetItem, catalog: Catalog, token_tail: float = 1.0) -> Request:
    stat = catalog.statistic("video_duration_s")
    scene = catalog.statistic("scene_length_s")
    duration = stat.value if stat else 60.0
    for s in item.assuming:
        if s.name.lower() != "duration":
            raise MurakkabError(f"a fleet request cannot assume '{s.name}'", s.span,
                                "ASSUMING (duration = 30 s) sets the length of each request's video")
        shape = SHAPES.get(item.workflow.name)
        if shape is not None and not shape.has_video:
            raise MurakkabError(f"a request of '{item.workflow.name}' has no video to assume a duration of",
                                s.span, "ASSUMING (duration = ...) applies to workflows that read a video: "
                                + ", ".join(w for w, sh in sorted(SHAPES.items()) if sh.has_video))
        if not isinstance(s.value, ast.Quantity):
            raise MurakkabError("duration is a time", s.value.span, "write duration = 30 s")
        duration = to_base(s.value, "time", "duration")
        if not math.isfinite(duration) or duration <= 0 or duration > 86400:
            raise MurakkabError("duration must be between 0 and 24 h", s.value.span)
    return Request(duration, scene.value if scene else 4.0, token_tail)


def _slos(item: ast.FleetItem) -> tuple[SloSpec, ...]:
    out = []
    shares = [s.share for s in item.slos]
    if any(x is None for x in shares) and len(shares) > 1:
        missing = next(s for s in item.slos if s.share is None)
        raise MurakkabError("with several SLOs, each says the share of requests that ask for it", missing.span,
                            "write WITH SLO (70% quality >= GOOD, 30% latency <= GOOD)")
    for s in item.slos:
        slo = s.slo
        if slo.metric not in SLO_METRICS:
            raise MurakkabError(f"a fleet SLO is on quality or latency, not '{slo.metric}'", slo.span,
                                "cost, energy and GPUs are budgets and goals of the fleet: BUDGET (cost = 100 USD)")
        want = "<=" if slo.metric == "latency" else ">="
        if slo.op not in (want, want[0]):
            raise MurakkabError(f"{slo.metric} is a {'ceiling' if want == '<=' else 'floor'}", slo.span,
                                f"write {slo.metric} {want} ...")
        share = 100.0 if s.share is None else s.share
        if not math.isfinite(share) or share <= 0 or share > 100:
            raise MurakkabError("a share is a percentage in (0, 100]", s.span)
        if isinstance(slo.value, ast.Word):
            tier = slo.value.name.upper()
            if tier not in TIERS:
                raise MurakkabError(f"unknown tier '{slo.value.name}'", slo.value.span, suggestion(tier, TIERS, "tiers"))
            out.append(SloSpec(slo.metric, None, tier, share / 100, f"{slo.metric} {want} {tier}"))
        elif isinstance(slo.value, ast.Quantity):
            value = to_base(slo.value, "time" if slo.metric == "latency" else "count", slo.metric)
            if value < 0 or (slo.metric == "quality" and value > 1):
                raise MurakkabError(f"{slo.value.span.text} is out of range for {slo.metric}", slo.value.span,
                                    "quality is between 0 and 1" if slo.metric == "quality" else "use a positive value")
            shown = f"{value:g} s" if slo.metric == "latency" else f"{value:g}"
            out.append(SloSpec(slo.metric, value, None, share / 100, f"{slo.metric} {want} {shown}"))
        else:
            raise MurakkabError(f"{slo.metric} takes a number or a tier", slo.value.span,
                                "e.g. latency <= 20 s, quality >= GOOD")
    if out and abs(sum(s.share for s in out) - 1.0) > 1e-9:
        raise MurakkabError(f"the shares of '{item.workflow.name}' add up to {100 * sum(s.share for s in out):g}%",
                            replace(item.slos[0].span, end=item.slos[-1].span.end),
                            "the shares of one workflow's SLOs add up to 100%")
    return tuple(out)


def _budgets(settings: tuple[ast.Setting, ...], catalog: Catalog) -> tuple[tuple[tuple[str, float], ...], float | None]:
    names = [h.name for h in catalog.all_hardware()]
    out: dict[str, float] = {}
    cost = None
    for s in settings:
        if not isinstance(s.value, ast.Quantity) or not math.isfinite(s.value.value) or s.value.value < 0:
            raise MurakkabError(f"budget '{s.name}' is a non-negative number", s.value.span,
                                "write BUDGET (A100 = 64, cost = 300 USD)")
        if s.name.lower() == "cost":
            if s.value.unit not in (None, "USD", "usd", "$"):
                raise MurakkabError(f"'{s.value.unit}' is not a currency", s.value.span,
                                    "the cost budget is in USD per hour: cost = 300 USD")
            cost = s.value.value
            continue
        hits = [n for n in names if n.lower() == s.name.lower()] or \
            [n for n in names if n.lower().startswith(s.name.lower())]
        if len(hits) != 1:
            what = f"'{s.name}' names {len(hits)} hardware types ({', '.join(hits)})" if hits else \
                f"unknown hardware '{s.name}'"
            raise MurakkabError(what, s.span, suggestion(s.name, names + ["cost"], "budgets"))
        if s.value.value != int(s.value.value):
            raise MurakkabError(f"a budget of {hits[0]} is a whole number of units", s.value.span)
        out[hits[0]] = s.value.value
    return tuple(sorted(out.items())), cost


def _objectives(objectives: tuple[ast.Objective, ...]) -> tuple[tuple[tuple[str, str], ...], int]:
    """The goals (default: minimize energy), then the tie-breaks, and how many those are."""
    out = []
    for o in objectives:
        if o.metric not in METRICS:
            raise MurakkabError(f"a fleet cannot optimise '{o.metric}'", o.span, suggestion(o.metric, METRICS, "goals"))
        if o.direction != METRICS[o.metric]:
            better = METRICS[o.metric].upper()
            raise MurakkabError(f"{o.direction.upper()} {o.metric} asks for a worse fleet", o.span,
                                f"write {better} {o.metric}")
        if any(m == o.metric for m, _ in out):
            raise MurakkabError(f"'{o.metric}' is already a goal", o.span, "each metric once: MINIMIZE energy THEN cost")
        out.append((o.metric, o.direction))
    if not out:
        out = [("energy", "minimize")]
    goals = len(out)
    # Ties broken by cost, then GPUs: among equally good fleets the cheaper one.
    for tie in (("cost", "minimize"), ("gpus", "minimize")):
        if tie[0] not in {m for m, _ in out}:
            out.append(tie)
    return tuple(out), len(out) - goals
