"""Workflow knobs as decisions: the configurations of a job's free knobs, and the job's
logical plan under each.

A knob (``frames_per_scene`` of frame extraction, ``threshold`` of scene detection,
``chunk_tokens`` of document chunking) has a domain in the catalog
(``interface_knobs``). A knob the script sets with ``WITH (...)`` is fixed; every other
one is the planner's to choose. One decision is made per (interface, knob): every task
of the interface in the job takes the same value, as a hand-tuned workflow would.

A configuration changes how much work flows downstream (5 frames per scene caption 5x
the frames of 1), so each is a different logical plan: the bound plan with the knob
values set and every task's output re-estimated (``compiler/cardinality.py``, the
binder's own estimate). The planner plans each and keeps the best
(``planner.plan_job``): all of them while there are at most ``MAX_CONFIGS``; beyond,
each knob varied alone from the catalog defaults, which EXPLAIN states.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ...catalog.catalog import Catalog
from ..cardinality import output_stats
from ..logical import LogicalPlan, Node
from .accuracy import SHAPES

MAX_CONFIGS = 27


@dataclass(frozen=True)
class KnobConfig:
    """Values of the free knobs, by (interface, knob); empty when nothing is free."""

    values: tuple[tuple[tuple[str, str], float], ...] = ()

    def label(self) -> str:
        return ", ".join(f"{iface}.{knob}={value:g}" for (iface, knob), value in self.values) or "defaults"


@dataclass(frozen=True)
class KnobSpace:
    """The configurations to plan and how they were chosen."""

    configs: tuple[KnobConfig, ...]
    free: tuple[tuple[str, str], ...]
    exhaustive: bool

    def describe(self) -> str:
        if not self.free:
            return ""
        names = ", ".join(f"{i}.{k}" for i, k in self.free)
        how = "every combination" if self.exhaustive else "each varied alone from its default"
        return f"knobs {names}: {len(self.configs)} configurations planned ({how})"


def free_knobs(plan: LogicalPlan, catalog: Catalog) -> dict[tuple[str, str], tuple[float, ...]]:
    """(interface, knob) -> domain, for knobs no task of the interface fixed, whose
    catalog domain has a choice, and that the estimates read. A knob fixed on one task
    of an interface is fixed for all of them (one decision per interface and knob). A
    knob no estimate reads (neither the interface's cardinality expressions nor a
    workflow accuracy profile) keeps its default: every value would plan the same."""
    fixed = {(n.interface, k) for n in plan.tasks for k in n.fixed_knobs}
    profiled = {(f.interface, f.knob) for shape in SHAPES for f in shape.features if f.kind == "knob"}
    out: dict[tuple[str, str], tuple[float, ...]] = {}
    for n in plan.tasks:
        iface = catalog.interface(n.interface or "")
        if iface is None:
            continue
        expressions = " ".join([iface.cardinality, *(e for _, e in iface.output_attrs)])
        for knob in iface.knobs:
            key = (iface.name, knob.name)
            read = (key in profiled or re.search(rf"\b{re.escape(knob.name)}\b", expressions) is not None)
            if key not in fixed and len(knob.domain) > 1 and read:
                out[key] = tuple(sorted(knob.domain))
    return dict(sorted(out.items()))


def knob_space(plan: LogicalPlan, catalog: Catalog) -> KnobSpace:
    free = free_knobs(plan, catalog)
    if not free:
        return KnobSpace((KnobConfig(),), (), True)
    keys = list(free)
    combos = 1
    for domain in free.values():
        combos *= len(domain)
    if combos <= MAX_CONFIGS:
        configs = [KnobConfig(tuple(zip(keys, values))) for values in itertools.product(*free.values())]
        return KnobSpace(tuple(configs), tuple(keys), True)
    defaults = {key: _default(catalog, *key) for key in keys}
    configs = [KnobConfig(tuple(defaults.items()))]
    for key in keys:
        for value in free[key]:
            if value != defaults[key]:
                configs.append(KnobConfig(tuple({**defaults, key: value}.items())))
    return KnobSpace(tuple(configs), tuple(keys), False)


def _default(catalog: Catalog, iface_name: str, knob_name: str) -> float:
    iface = catalog.interface(iface_name)
    knob = iface.knob(knob_name) if iface is not None else None
    assert knob is not None
    return knob.default


def with_knobs(plan: LogicalPlan, config: KnobConfig, catalog: Catalog) -> LogicalPlan:
    """``plan`` (a bound plan, in dependency order) with ``config``'s knob values and every
    task's output re-estimated from its inputs."""
    if not config.values:
        return plan
    values = dict(config.values)
    statistics = {s.key: s.value for s in catalog.statistics()}
    nodes: dict[str, Node] = {}
    for n in plan.nodes:
        iface = catalog.interface(n.interface) if n.interface else None
        if iface is None or not n.is_task:
            nodes[n.id] = n
            continue
        knobs = tuple(sorted((k, values.get((iface.name, k), v)) for k, v in n.knobs))
        args = [nodes[i] for i in n.inputs]
        over = nodes[n.over] if n.over is not None else None
        stats, _ = output_stats(iface, args, over, knobs, statistics)
        nodes[n.id] = n.with_(knobs=knobs, stats=stats)
    return LogicalPlan(tuple(nodes[n.id] for n in plan.nodes))
