"""EXPLAIN of a fleet, as text and as JSON: the same numbers, units on every one."""

from __future__ import annotations

import json
from typing import Any

from ..explain import _table
from .plan import FleetPlan
from .solve import UNITS
from .workload import SHAPES, TOKEN_PERCENTILE


def _unit(metric: str, value: float) -> str:
    """The metric's unit, singular for one GPU."""
    return "GPU" if metric == "gpus" and value == 1 else UNITS[metric]


def _status(plan: FleetPlan) -> str:
    s = plan.solution
    parts = []
    for st in s.stages:
        tie = " (tie-break)" if st.tie else ""
        head = f"{st.direction} {st.metric}{tie}: {st.value:,.4g} {_unit(st.metric, st.value)}"
        if st.status == "optimal":
            parts.append(f"{head}, proven optimal (gap {100 * st.gap:.4f}%)".replace(" ,", ","))
        else:
            parts.append(f"{head}, time limit reached; best bound {st.bound:,.4g}, gap {100 * st.gap:.2f}%")
    return "; ".join(parts)


def render_text(plan: FleetPlan, verbose: bool = False, width: int | None = None) -> str:
    f, s, cat = plan.fleet, plan.solution, plan.catalogue
    lines = [f"PLAN FLEET for {', '.join(i.workflow for i in f.items)}"]
    goals = f.objectives[: len(f.objectives) - f.ties]
    ties = f.objectives[len(goals):]
    lines.append("goal: " + ", then ".join(f"{d} {m}" for m, d in goals)
                 + (f" (ties broken by {', then '.join(m for m, _ in ties)})" if ties else ""))
    lines.append(f"solver: HiGHS MILP (highspy); {s.size[0]:,} variables ({s.size[1]} integer), "
                 f"{s.size[2]:,} constraints; {'proven optimal' if s.proven else 'not proven optimal'}")
    lines.append("  " + _status(plan))
    lines.append("hardware: " + ", ".join(f.hardware) + (f" (cluster '{f.cluster}')" if f.cluster else "") + (
        "; budgets: " + ", ".join([f"{h} <= {b:g} unit{'' if b == 1 else 's'}" for h, b in f.budgets] +
                                  ([f"cost <= {f.cost_budget:g} USD/h"] if f.cost_budget is not None else []))
        if f.budgets or f.cost_budget is not None else ""))
    if not f.settings.parallelism:
        lines.append("note: parallelism off (--sequential, SET parallelism = off) plans RUN jobs one task at a "
                     "time; a fleet has no fan-out to turn off, so this plan is the same")
    lines.append("")
    rows = []
    for i in f.items:
        d = i.demand
        rows.append((i.workflow, f"{d.mean:.3f}", f"{d.peak:.3f}", f"{len(d.rates)} x {d.window_s:g} s",
                     f"{i.request.duration_s:g} s" if SHAPES[i.workflow].has_video else "-",
                     f"{i.request.token_tail:.2f}x mean", d.source))
    lines.append(f"demand (requests/s; latency is planned at the p{TOKEN_PERCENTILE:g} request's tokens):")
    lines.append(_tab(["workflow", "mean req/s", "peak req/s", "windows", "video", f"p{TOKEN_PERCENTILE:g} tokens",
                       "source"], rows, width))
    rows = []
    for w, tiers in plan.tiers.items():
        for t, (q, lat) in tiers.items():
            rows.append((w, t, f"{q:.3f}", f"{lat:.2f} s", plan.tier_source[w]))
    floor = f.settings.quality_floor
    among = ("all configurations considered" if floor is None else
             f"the configurations considered at quality >= {floor if isinstance(floor, str) else f'{floor:g}'}")
    lines.append(f"tiers (latency: best, p5, p20, median end to end of {among}):")
    lines.append(_tab(["workflow", "tier", "quality >=", "latency <=", "quality tiers"], rows, width))
    rows = []
    for key, n in sorted(s.instances.items()):
        p = cat.profiles[key]
        peak, mean = s.load.get(key, (0.0, 0.0))
        cap = n * p.capacity
        rows.append((key, p.kind, n, n * p.gpus(), f"{peak:,.1f} {p.work_unit}/s ({100 * peak / cap:.0f}%)",
                     f"{mean:,.1f} {p.work_unit}/s", f"{n * p.held_w + p.busy_j_per_work * mean:,.0f} W",
                     f"{n * p.usd_per_hour + 3600 * p.usd_per_work * mean:,.2f} USD/h"))
    lines.append("instances (peak load includes the 1.15 buffer; power: per instance held, plus per unit of mean load; "
                 "an LLM's from the line through its measured serving power, a tool's from its idle and busy power):")
    lines.append(_tab(["profile", "kind", "count", "GPUs", "peak load", "mean load", "power", "cost"], rows, width))
    lines.append("routing:")
    for pi, pair in enumerate(plan.pairs):
        bound = [f"quality >= {pair.min_accuracy:.3f}"] + (
            [f"latency <= {pair.max_latency_s:.2f} s"] if pair.max_latency_s != float("inf") else [])
        lines.append(f"  {pair.workflow} {100 * pair.share:g}% {pair.label} ({', '.join(bound)}; "
                     f"{len(plan.problem.eligible(pair))} eligible configurations):")
        for c, share in sorted(s.routing[pi], key=lambda t: -t[1]):
            lines.append(f"    {100 * share:5.1f}%  {c.label()}")
            lines.append(f"            quality {c.accuracy:.3f}, latency {c.latency_s:.2f} s, "
                         f"{c.tokens:,.0f} tokens/request ({c.tokens_source.split(':')[0]})")
    t = s.totals
    lines.append(f"totals: {t['gpus']:,.0f} GPUs, {t['energy'] / 1000:,.2f} kWh per hour, {t['cost']:,.2f} USD per hour, "
                 f"quality {t['quality']:.3f} and latency {t['latency']:.2f} s (request-weighted means)")
    if plan.baselines:
        joint = next(b for b in plan.baselines if b.name == "joint")
        rows = []
        for b in plan.baselines:
            rows.append((b.name, f"{b.totals['gpus']:,.0f}", f"{b.totals['energy'] / 1000:,.2f}",
                         f"{b.totals['cost']:,.2f}", ratio(b.totals['gpus'], joint.totals['gpus']),
                         ratio(b.totals['energy'], joint.totals['energy']), ratio(b.totals['cost'], joint.totals['cost']),
                         "-" if b.attainment is None else f"{100 * b.attainment:.0f}%"))
        lines.append("baselines (same profiles and demand):")
        lines.append(_tab(["policy", "GPUs", "kWh/h", "USD/h", "GPUs / joint", "energy / joint",
                                         "cost / joint", "SLOs met"], rows, width))
        for b in plan.baselines:
            lines.append(f"  {b.name}: {b.note}")
    skipped = []
    for w, whys in sorted(cat.skipped.items()):
        grouped: dict[tuple[str, str], list[str]] = {}
        for why in whys:
            head, _, reason = why.partition(": ")
            model, _, knobs = head.rpartition(" ")
            grouped.setdefault((model, reason), []).append(knobs)
        skipped += [f"  {w} {model} ({', '.join(knobs)}): {reason}" for (model, reason), knobs in grouped.items()]
    if skipped:
        lines.append("not considered:")
        lines.extend(skipped)
    lines.append("considered: " + ", ".join(
        f"{w} {cat.considered.get(w, 0):,} configurations ({len(cat.configs.get(w, [])):,} after pruning dominated)"
        for w in plan.tiers) + "; proven optimal over these")
    if verbose:
        lines.append("configurations considered (after pruning):")
        for w in plan.tiers:
            rows = [(c.model, c.code, f"{c.accuracy:.3f}", f"{c.latency_s:.2f} s", f"{c.tokens:,.0f}",
                     "; ".join(f"{st} on {k}" for st, k in c.stages)) for c in cat.configs.get(w, [])]
            lines.append(f"  {w}:")
            lines.append(_tab(["model", "knobs", "quality", "latency", "tokens", "stages"], rows, width, 4))
    return "\n".join(lines) + "\n"


def ratio(a: float, b: float) -> str:
    """``a / b`` as "2.50x"; "-" where ``b`` is zero (a fleet with no GPUs, no cost)."""
    return f"{a / b:.2f}x" if b > 0 else "-"


def _tab(headers: list[str], rows: list[tuple[Any, ...]], width: int | None, indent: int = 2) -> str:
    return "\n".join(_table(headers, [[str(v) for v in r] for r in rows], " " * indent, width))


def to_dict(plan: FleetPlan, verbose: bool = False) -> dict[str, Any]:
    f, s, cat = plan.fleet, plan.solution, plan.catalogue
    out: dict[str, Any] = {
        "kind": "fleet",
        "workflows": [i.workflow for i in f.items],
        "goal": [{"metric": m, "direction": d} for m, d in f.objectives],
        "solver": {"name": "HiGHS (highspy)", "proven_optimal": s.proven,
                   "variables": s.size[0], "integer_variables": s.size[1], "constraints": s.size[2],
                   "stages": [{"metric": st.metric, "direction": st.direction, "value": st.value, "bound": st.bound,
                               "gap": st.gap, "status": st.status, "tie_break": st.tie} for st in s.stages]},
        "hardware": list(f.hardware),
        "budgets": {"units": dict(f.budgets), "cost_usd_per_hour": f.cost_budget},
        "demand": [{"workflow": i.workflow, "mean_requests_per_s": i.demand.mean,
                    "peak_requests_per_s": i.demand.peak, "windows": len(i.demand.rates),
                    "window_s": i.demand.window_s, "source": i.demand.source,
                    "video_duration_s": i.request.duration_s,
                    f"tokens_p{TOKEN_PERCENTILE:g}_over_mean": i.request.token_tail} for i in f.items],
        "tiers": {w: {t: {"quality": q, "latency_s": lat} for t, (q, lat) in tiers.items()}
                  for w, tiers in plan.tiers.items()},
        "quality_tier_source": plan.tier_source,
        "instances": [{"profile": k, "kind": cat.profiles[k].kind, "model": cat.profiles[k].model,
                       "hardware": cat.profiles[k].hardware, "units": cat.profiles[k].units, "count": n,
                       "gpus": n * cat.profiles[k].gpus(), "capacity_per_instance": cat.profiles[k].capacity,
                       "work_unit": cat.profiles[k].work_unit, "peak_load": s.load.get(k, (0, 0))[0],
                       "mean_load": s.load.get(k, (0, 0))[1]} for k, n in sorted(s.instances.items())],
        "routing": [{"workflow": p.workflow, "slo": p.label, "share": p.share, "min_quality": p.min_accuracy,
                     "max_latency_s": None if p.max_latency_s == float("inf") else p.max_latency_s,
                     "eligible": len(plan.problem.eligible(p)),
                     "configurations": [{"model": c.model, "knobs": c.code, "share": x, "quality": c.accuracy,
                                         "latency_s": c.latency_s, "tokens_per_request": c.tokens,
                                         "tokens_source": c.tokens_source,
                                         "stages": {st: k for st, k in c.stages}}
                                        for c, x in sorted(s.routing[pi], key=lambda t: -t[1])]}
                    for pi, p in enumerate(plan.pairs)],
        "totals": {"gpus": s.totals["gpus"], "energy_wh_per_hour": s.totals["energy"],
                   "cost_usd_per_hour": s.totals["cost"], "quality": s.totals["quality"],
                   "latency_s": s.totals["latency"]},
        "baselines": [{"policy": b.name, "gpus": b.totals["gpus"], "energy_wh_per_hour": b.totals["energy"],
                       "cost_usd_per_hour": b.totals["cost"], "slo_attainment": b.attainment, "note": b.note,
                       "instances": b.instances} for b in plan.baselines],
        "considered": {w: {"configurations": cat.considered.get(w, 0), "after_pruning": len(cat.configs.get(w, [])),
                           "not_considered": cat.skipped.get(w, [])} for w in plan.tiers},
    }
    if verbose:
        out["configurations"] = {w: [{"model": c.model, "knobs": c.code, "quality": c.accuracy,
                                      "latency_s": c.latency_s, "tokens_per_request": c.tokens,
                                      "stages": {st: k for st, k in c.stages}} for c in cat.configs.get(w, [])]
                                 for w in plan.tiers}
    return out


def _rounded(value: Any) -> Any:
    """Floats to 6 significant digits: what the solver's last bits do not decide (JSON
    output stays the same across platforms and HiGHS versions)."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def plan_dict(plan: FleetPlan, verbose: bool = False) -> dict[str, Any]:
    """EXPLAIN's JSON object of a fleet plan (floats rounded as :func:`_rounded` says)."""
    return _rounded(to_dict(plan, verbose))


def render_json(plan: FleetPlan, verbose: bool = False) -> str:
    return json.dumps(plan_dict(plan, verbose), indent=2) + "\n"
