"""EXPLAIN: render a physical plan as text, JSON, DOT or Mermaid.

Deterministic: no object ids, no unordered sets, units on every number and ``~`` on
every estimate, so golden files diff cleanly when the planner changes.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from ..catalog.catalog import Catalog
from ..catalog.show import elide, fit_widths
from .job import METRIC_UNITS, Settings
from .logical import LogicalPlan
from .matcher import MIN_CONFIDENCE, StepMatch
from .physical.plan import Candidate, Estimate, PhysicalPlan
from .physical.objective import Bound
from .units import counted

if TYPE_CHECKING:
    from ..runtime.executor import RunResult


def fmt_s(x: float) -> str:
    return f"{x:,.1f} s" if x >= 10 else f"{x:,.2f} s"


def fmt_usd(x: float) -> str:
    return f"${x:,.4f}" if x < 1 else f"${x:,.2f}"


def fmt_wh(x: float) -> str:
    return f"{x:,.1f} Wh" if x >= 10 else f"{x:,.2f} Wh"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ",
           width: int | None = None) -> list[str]:
    """Aligned columns. With a ``width`` (a terminal's), columns that do not fit wrap: they
    continue in a table below that repeats the first column, so nothing is lost; a cell
    wider than what is left even then is elided with ``…``."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    if width is None or len(indent) + sum(widths) + 2 * (len(widths) - 1) <= width or len(widths) < 2:
        groups = [list(range(len(headers)))]
    else:
        room = max(width - len(indent) - widths[0] - 2, 1)  # beside the repeated first column
        groups, used = [[0]], 0
        for i in range(1, len(headers)):
            need = min(widths[i], room) + 2
            if len(groups[-1]) > 1 and used + need > room + 2:
                groups.append([0])
                used = 0
            groups[-1].append(i)
            used += need
    lines: list[str] = []
    for n, group in enumerate(groups):
        if n:
            lines.append("")
        natural = [widths[i] for i in group]
        cols = dict(zip(group, natural if width is None else
                        fit_widths(natural, width - len(indent) - 2 * (len(group) - 1))))
        lines.append(indent + "  ".join(elide(headers[i], cols[i]).ljust(cols[i]) for i in group).rstrip())
        for r in rows:
            lines.append(indent + "  ".join(elide(r[i], cols[i]).ljust(cols[i]) for i in group).rstrip())
    return lines


class _Sources:
    """Numbers the footnotes of profile sources in order of first use."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def ref(self, source: str) -> str:
        if source not in self.order:
            self.order.append(source)
        kind = source.split(":", 1)[0]
        return f"{kind} [{self.order.index(source) + 1}]"


def cluster_line(catalog: Catalog, name: str) -> str:
    cluster = catalog.cluster(name)
    if cluster is None:
        return name
    nodes = sorted({(n.node, n.count) for n in cluster.nodes})
    machines = ", ".join(f"{count} x {node}" for node, count in nodes)
    units = ", ".join(f"{cluster.capacity(hw)} x {hw}" for hw in cluster.hardware_names())
    return f"{name} ({machines}: {units})"


def estimate_line(est: Estimate) -> str:
    held = ", ".join(f"{u} x {hw}" for hw, u in est.held) or "nothing"
    return (f"~makespan {fmt_s(est.makespan_s)}, ~cost {fmt_usd(est.cost_usd)}, ~energy {fmt_wh(est.energy_wh)}, "
            f"~quality {est.quality:.3f}, ~gpus {est.gpus} (held: {held})")


def judged(plan: PhysicalPlan, est: Estimate) -> list[dict[str, Any]]:
    """The plan's SLOs and quality floor judged on ``est`` (a run's measured totals), for
    the run's report: a plan can meet them on paper and a run miss them (a sequential
    baseline, slower agents than profiled). A job's own SLO in a joint plan is judged
    only where ``est`` has that job's totals."""
    out = []
    for b in plan.bounds:
        if b.scope and b.scope not in dict(est.parts):
            continue
        out.append({"label": "quality floor" if b.slo.floor else "slo", "scope": b.scope, "slo": b.slo.text(),
                    "bound": b.value, "measured": b.observed(est), "unit": METRIC_UNITS[b.metric],
                    "met": b.met(est)})
    return out


def judged_lines(plan: PhysicalPlan, est: Estimate) -> list[str]:
    """``judged`` as text, one line per bound."""
    return [f"{j['label']}: {j['scope'] + ': ' if j['scope'] else ''}{j['slo']}: "
            f"{j['measured']:.4g} {j['unit']}".rstrip() + f", {'met' if j['met'] else 'NOT MET'}"
            for j in judged(plan, est)]


# An input attribute as ASSUMING names it.
_STATED_NAMES = {"duration_s": "duration", "fps": "fps", "tokens": "tokens"}


def _lowered(b: Bound) -> bool:
    """A quality floor out of the plan's reach, held at the best reachable value instead."""
    return b.slo.floor and b.slo.value is not None and b.value < b.slo.value - 1e-9


def render_text(plan: PhysicalPlan, catalog: Catalog, verbose: bool = False, where: str | None = None,
                width: int | None = None) -> str:
    """EXPLAIN as text; with a ``width``, tables wrap and elide to fit it (``_table``)."""
    bounds = plan.bounds
    out: list[str] = []
    head = f"EXPLAIN RUN {plan.job}" + (f"  ({where})" if where else "")
    out.append(head)
    out.append(f"cluster: {cluster_line(catalog, plan.cluster)}")
    out.append("objective: " + " THEN ".join(g.text() for g in plan.goals))
    for b in bounds:
        unit = METRIC_UNITS[b.metric]
        resolved = f" (= ~{b.value:.4g} {unit})".replace(" )", ")") if b.slo.tier else ""
        actual = b.observed(plan.estimate)
        status = "met" if b.met(plan.estimate) else "NOT MET"
        label = "quality floor" if b.slo.floor else "slo"
        scope = f"{b.scope}: " if b.scope else ""
        why = ""
        if _lowered(b):
            resolved = f" (out of reach: held at the best reachable ~{b.value:.4g}{(' ' + unit) if unit else ''})"
        if b.slo.floor:  # the default floor, or the one the script SET
            why = (" (no quality SLO: the default floor, the workflow's BASIC tier; SET quality_floor changes it)"
                   if b.slo.tier == Settings().quality_floor else " (no quality SLO: the floor SET quality_floor "
                                                                 "gives)")
        out.append(f"{label}: {scope}{b.slo.text()}{resolved}: ~{actual:.4g} {unit}, {status}{why}".replace(" ,", ","))
    if plan.sequential:
        out.append("mode: sequential baseline (SET parallelism = off)")
    out.extend(matched_lines(_steps(plan, catalog)))
    if verbose:
        out.append("")
        out.append("bound logical plan")
        out.extend("  " + line for line in plan.bound.render())
        for fired in plan.rewrites:
            out.append("")
            out.append(f"after {fired.rule} (changed: {', '.join(fired.nodes)})")
            out.extend("  " + line for line in fired.plan.render())
    out.append("")
    fired_names = ", ".join(f.rule for f in plan.rewrites) or "none"
    out.append(f"logical plan (rules fired: {fired_names})")
    out.extend("  " + line for line in plan.logical.render())
    out.append("")
    out.append(f"physical plan (solver: {plan.solver}; {plan.solver_note}; "
               f"{counted(plan.candidates_considered, 'candidate')}, "
               f"{counted(plan.plans_evaluated, 'plan')} evaluated)")
    sources = _Sources()
    rows = []
    for t in plan.tasks:
        c = t.candidate
        rows.append([
            t.id, t.interface, c.agent, f"{c.hardware} x{c.units}", str(c.fanout), f"~{c.calls:,.0f}",
            f"~{fmt_s(t.start_s)}", f"~{fmt_s(t.end_s)}", f"~{fmt_s(c.latency_s)}", f"~{fmt_usd(c.cost_usd)}",
            f"~{fmt_wh(c.energy_wh)}", f"{c.quality:.3f}", sources.ref(c.source),
        ])
    out.extend(_table(["task", "interface", "agent", "hardware x units", "fan-out", "calls", "start", "end",
                       "latency", "busy cost", "busy energy", "quality", "estimate from"], rows, width=width))
    streams = [f"{t.id} streams from {t.streams_from}" for t in plan.tasks if t.streams_from]
    if streams:
        out.append("  pipelined: " + "; ".join(streams))
    out.append("")
    out.append("estimate: " + estimate_line(plan.estimate))
    for label, source in plan.quality_source:
        # Quality defined once, where users read it.
        out.append(f"quality{' of ' + label if label else ''} (the estimated probability that the answer is right): "
                   f"{source}")
    if plan.separately is not None:
        sep, est = plan.separately, plan.estimate
        merged = sum(len(f.nodes) for f in plan.rewrites if f.rule == "merge_common_tasks")
        out.append(f"joint plan of {len(plan.jobs)} jobs ({', '.join(plan.jobs)}); planned one by one and run back "
                   f"to back: " + estimate_line(sep))
        out.append(f"  the joint plan saves: ~makespan {_saving(sep.makespan_s, est.makespan_s)}, "
                   f"~energy {_saving(sep.energy_wh, est.energy_wh)}, ~cost {_saving(sep.cost_usd, est.cost_usd)}; "
                   f"{merged} task{'s' if merged != 1 else ''} shared between jobs computed once")
    for n in plan.logical.nodes:
        out.extend(f"note: {note}" for note in n.notes)
    for n in plan.logical.nodes:
        if n.op == "input" and n.stats.defaulted:
            said = [_STATED_NAMES.get(k, k) for k in n.stats.defaulted]
            out.append(f"note: {n.id}: {', '.join(said)} from the catalog's defaults (give real files, or "
                       f"ASSUMING ({', '.join(f'{w} = ...' for w in said)}))")
    out.append("")
    out.append("considered alternatives (standalone estimates; * = chosen)")
    for t in plan.tasks:
        out.append(f"  {t.id} ({t.interface})")
        alt_rows = [_alt_row(c, c is t.candidate, sources) for c in t.alternatives]
        out.extend(_table(["", "agent", "hardware x units", "fan-out", "latency", "energy", "cost", "quality",
                           "estimate from"], alt_rows, indent="    ", width=width))
    out.append("")
    out.append("sources")
    for i, src in enumerate(sources.order, 1):
        out.append(f"  [{i}] {src}")
    return "\n".join(out) + "\n"


def _steps(plan: PhysicalPlan, catalog: Catalog) -> tuple[StepMatch, ...]:
    from .bind import step_matches  # the binder imports the planner, which this module serves

    return step_matches(catalog, plan.bound, plan.job)


def matched_lines(steps: Sequence[StepMatch], qualified: bool = False) -> list[str]:
    """The plain-words steps and what the matcher chose for each: score (cosine, 0..1)
    and the runner-up, so a reader sees how close the choice was; ``qualified`` names
    each task with its workflow (``check`` lists every workflow of a script)."""
    if not steps:
        return []
    lines = [f"plain-words steps (matched to the catalog; score 0..1, refused below {MIN_CONFIDENCE:.2f} "
             "or when the interface does another action):"]
    for s in steps:
        where = "RUN" if s.task == "<run>" else f"{s.workflow}.{s.task}" if qualified else s.task
        runner = "none" if s.runner_up is None else f"{s.runner_up.name} {s.runner_up.score:.2f}" + (
            "" if s.runner_up_eligible else ", another action")
        lines.append(f"  {where} '{s.phrase}' -> {s.kind} {s.chosen.name} (score {s.chosen.score:.2f}; "
                     f"runner-up {runner})")
    return lines


def matched_dicts(steps: Sequence[StepMatch]) -> list[dict[str, Any]]:
    return [{"workflow": s.workflow, "task": s.task, "phrase": s.phrase, "kind": s.kind, "chosen": s.chosen.name,
             "score": s.chosen.score, "runner_up": s.runner_up.name if s.runner_up else None,
             "runner_up_score": s.runner_up.score if s.runner_up else None,
             "runner_up_same_action": s.runner_up_eligible} for s in steps]


def _saving(alone: float, joint: float) -> str:
    if alone <= 0:
        return "n/a"
    return f"{100 * (alone - joint) / alone:.1f}% ({alone / joint:.2f}x)" if joint > 0 else "100%"


def _alt_row(c: Candidate, chosen: bool, sources: _Sources) -> list[str]:
    return ["*" if chosen else " ", c.agent, f"{c.hardware} x{c.units}", str(c.fanout), f"~{fmt_s(c.latency_s)}",
            f"~{fmt_wh(c.energy_wh)}", f"~{fmt_usd(c.cost_usd)}", f"{c.quality:.3f}", sources.ref(c.source)]


def _round(x: float) -> float:
    return round(x, 6)


def to_dict(plan: PhysicalPlan, catalog: Catalog | None = None) -> dict[str, Any]:
    """The plan as JSON data; with the catalog it was bound against, also the plain-words
    steps and what was matched to each (``matched``)."""
    est, bounds = plan.estimate, plan.bounds
    matched = {} if catalog is None else {"matched": matched_dicts(_steps(plan, catalog))}
    return {
        "job": plan.job,
        "cluster": plan.cluster,
        "solver": plan.solver,
        "sequential": plan.sequential,
        "objective": [{"metric": g.metric, "minimize": g.minimize} for g in plan.goals],
        "solver_note": plan.solver_note,
        "slos": [{"metric": b.metric, "bound": _round(b.value), "tier": b.slo.tier, "met": b.met(est),
                  "asked": _round(b.slo.value) if _lowered(b) and b.slo.value is not None else None,
                  "observed": _round(b.observed(est)), "job": b.scope, "floor": b.slo.floor}
                 for b in bounds],
        "estimate": {"makespan_s": _round(est.makespan_s), "cost_usd": _round(est.cost_usd),
                     "energy_wh": _round(est.energy_wh), "quality": _round(est.quality), "gpus": est.gpus,
                     "held": {hw: u for hw, u in est.held}},
        "quality_source": {label: source for label, source in plan.quality_source},
        "knobs_chosen": {f"{interface}.{knob}": value for (interface, knob), value in plan.knobs},
        **matched,
        "rewrites": [{"rule": f.rule, "nodes": list(f.nodes)} for f in plan.rewrites],
        "joint": None if plan.separately is None else {
            "jobs": list(plan.jobs),
            "separately": {"makespan_s": _round(plan.separately.makespan_s),
                           "cost_usd": _round(plan.separately.cost_usd),
                           "energy_wh": _round(plan.separately.energy_wh), "gpus": plan.separately.gpus,
                           "quality": _round(plan.separately.quality)},
            "per_job": {label: {"makespan_s": _round(p.makespan_s), "cost_usd": _round(p.cost_usd),
                                "energy_wh": _round(p.energy_wh), "quality": _round(p.quality), "gpus": p.gpus}
                        for label, p in est.parts},
            "merged_tasks": sum(len(f.nodes) for f in plan.rewrites if f.rule == "merge_common_tasks")},
        "logical": {"nodes": [
            {"id": n.id, "op": n.op, "interface": n.interface, "inputs": list(n.inputs), "type": str(n.type),
             "items": _round(n.stats.items), "estimate_origin": n.stats.origin, "partitioned": n.partitioned,
             "streams_from": n.streams_from, "notes": list(n.notes), "knobs": {k: v for k, v in n.knobs},
             "knobs_fixed_by_script": list(n.fixed_knobs)}
            for n in plan.logical.nodes]},
        "physical": {
            "candidates_considered": plan.candidates_considered,
            "plans_evaluated": plan.plans_evaluated,
            "tasks": [
                {"id": t.id, "interface": t.interface, "agent": t.candidate.agent, "hardware": t.candidate.hardware,
                 "units": t.candidate.units, "fanout": t.candidate.fanout, "calls": _round(t.candidate.calls),
                 "start_s": _round(t.start_s), "end_s": _round(t.end_s), "latency_s": _round(t.candidate.latency_s),
                 "cost_usd": _round(t.candidate.cost_usd), "energy_wh": _round(t.candidate.energy_wh),
                 "quality": _round(t.candidate.quality), "source": t.candidate.source,
                 "streams_from": t.streams_from,
                 "alternatives": [{"agent": c.agent, "hardware": c.hardware, "units": c.units, "fanout": c.fanout,
                                   "latency_s": _round(c.latency_s), "energy_wh": _round(c.energy_wh),
                                   "cost_usd": _round(c.cost_usd), "quality": _round(c.quality),
                                   "chosen": c is t.candidate} for c in t.alternatives]}
                for t in plan.tasks],
        },
    }


def render_json(plan: PhysicalPlan, catalog: Catalog | None = None) -> str:
    return json.dumps(to_dict(plan, catalog), indent=2, sort_keys=False) + "\n"


def _graph_edges(logical: LogicalPlan) -> list[tuple[str, str, bool]]:
    edges = []
    for n in logical.nodes:
        for i in n.inputs:
            edges.append((i, n.id, n.streams_from == i))
    return edges


def _node_label(plan: PhysicalPlan, node_id: str) -> str:
    node = plan.logical.node(node_id)
    if node.op == "input":
        return f"{node.id}: {node.type}"
    if node.op == "output":
        return "output"
    c = plan.task(node_id).candidate
    return f"{node.id}: {node.interface}\\n{c.agent} on {c.hardware} x{c.units}, fan-out {c.fanout}"


def render_dot(plan: PhysicalPlan) -> str:
    lines = [f'digraph "{plan.job}" {{', "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    for n in plan.logical.nodes:
        shape = "ellipse" if n.op in ("input", "output") else "box"
        lines.append(f'  "{n.id}" [label="{_node_label(plan, n.id)}", shape={shape}];')
    for a, b, streaming in _graph_edges(plan.logical):
        style = ' [style=dashed, label="streams"]' if streaming else ""
        lines.append(f'  "{a}" -> "{b}"{style};')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(node_id: str) -> str:
    return "n_" + "".join(ch if ch.isalnum() else "_" for ch in node_id)


def render_mermaid(plan: PhysicalPlan) -> str:
    lines = ["flowchart LR"]
    for n in plan.logical.nodes:
        label = _node_label(plan, n.id).replace("\\n", "<br/>").replace('"', "'")
        open_, close = ("([", "])") if n.op in ("input", "output") else ("[", "]")
        lines.append(f'  {_mermaid_id(n.id)}{open_}"{label}"{close}')
    for a, b, streaming in _graph_edges(plan.logical):
        arrow = "-. streams .->" if streaming else "-->"
        lines.append(f"  {_mermaid_id(a)} {arrow} {_mermaid_id(b)}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class AnalyzeRow:
    """One task of EXPLAIN ANALYZE: the plan's estimate beside what the run did."""

    task: str
    agent: str
    ran: tuple[str, ...]  # agents that ran shards of the task other than the planned one
    hardware: str
    units: int
    shards_planned: int
    shards_run: int
    latency_est_s: float
    latency_s: float
    calls_est: float
    calls: float
    energy_est_wh: float
    energy_wh: float
    cached_calls: float = 0.0  # calls answered from the output cache, not executed


def analyze(plan: PhysicalPlan, result: "RunResult") -> tuple[list[AnalyzeRow], float | None]:
    """Per task, the estimate beside the actual, and the median estimation error of task
    latency (|actual - estimate| / estimate) over the tasks that ran shards and executed
    every call: a call answered from the cache takes no time, so a cached task says
    nothing about the estimate (None when no task qualifies)."""
    rows, errors = [], []
    for t in plan.tasks:
        mine = [r for r in result.timeline if r.task == t.id]
        c = t.candidate
        est_s = t.end_s - t.start_s
        act_s = (max(r.end_s for r in mine) - min(r.start_s for r in mine)) if mine else 0.0
        cached = sum(r.cached_calls for r in mine)
        if mine and est_s > 0 and cached == 0:
            errors.append(abs(act_s - est_s) / est_s)
        rows.append(AnalyzeRow(t.id, c.agent, tuple(sorted({r.agent for r in mine} - {c.agent})), c.hardware,
                               c.units, c.fanout, len(mine), est_s, act_s, c.calls, sum(r.calls for r in mine),
                               c.energy_wh, _shard_energy_wh(plan, result, t.id, c), cached))
    return rows, (float(statistics.median(errors)) if errors else None)


def render_analyze(plan: PhysicalPlan, result: "RunResult", width: int | None = None) -> str:
    """EXPLAIN ANALYZE: per task, the estimate beside what the run did, and the median
    estimation error (|actual - estimate| / estimate of task latencies). With a ``width``
    (a terminal's) the table's columns wrap to fit it."""
    lines = [f"EXPLAIN ANALYZE {plan.job} on {result.backend}: estimate beside actual"]
    rows, median = analyze(plan, result)
    table = []
    for r in rows:
        # A task whose agent was dropped mid-run shows the plan's agent and the one that ran.
        agent = f"{r.agent} -> {', '.join(r.ran)}" if r.ran else r.agent
        table.append([r.task, agent, f"{r.hardware} x{r.units}", f"{r.shards_planned}/{r.shards_run}",
                      f"~{fmt_s(r.latency_est_s)}", fmt_s(r.latency_s), f"~{r.calls_est:,.0f}", f"{r.calls:,.0f}",
                      f"~{fmt_wh(r.energy_est_wh)}", fmt_wh(r.energy_wh)])
    lines.extend(_table(["task", "agent", "hardware x units", "shards est/run", "latency est", "actual",
                         "calls est", "actual", "energy est", "actual"], table, width=width))
    t = result.totals
    lines.append(f"makespan ~{fmt_s(plan.estimate.makespan_s)} estimated, {fmt_s(t.makespan_s)} actual; "
                 f"energy ~{fmt_wh(plan.estimate.energy_wh)} estimated, {fmt_wh(t.energy_wh)} actual")
    cached = sum(r.cached_calls for r in rows)
    if cached:
        executed = sum(1 for r in rows if r.shards_run and not r.cached_calls)
        lines.append(f"{cached:,.0f} of {sum(r.calls for r in rows):,.0f} calls came from the cache; the error "
                     f"below is over the {executed} task{'s' if executed != 1 else ''} that executed every call")
    if median is not None:
        lines.append(f"median estimation error of task latency: {100 * median:.0f}%")
    elif cached:
        lines.append("no estimation error: every task read calls from the cache (run with --no-cache to measure)")
    return "\n".join(lines) + "\n"


def _shard_energy_wh(plan: PhysicalPlan, result: "RunResult", task: str, cand: Candidate) -> float:
    est_busy = cand.busy_unit_s
    watts_wh = cand.energy_wh / est_busy if est_busy > 0 else 0.0  # Wh per unit-second, as estimated
    return sum((r.end_s - r.start_s) * r.units for r in result.timeline if r.task == task) * watts_wh
