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

Some knobs shape the plan instead of being read by the agents (the catalog's ``effect``,
migration 0008), and :func:`with_knobs` applies them before re-estimating:

* ``optional`` (speech-to-text ``enabled``): 0 leaves the step out; it becomes a constant
  empty value of its type, which its readers get instead of its output.
* ``repeat`` (a debate's ``rounds``): the step runs n times in a chain; run k > 1 reads
  run k - 1's output wherever the step reads its first argument. The last run keeps the
  step's name, so readers are unchanged; the others are named ``step.1``, ``step.2``...
* ``limit`` (``debaters``): the step maps over the first n items of the list it maps over,
  which must then be a RUN argument (a literal list); a new input ``list.first<n>`` holds them.

A plan-shaping knob is the planner's to choose only when a workflow accuracy profile
(``accuracy.SHAPES``) rates the plans it makes: leaving a step out or running fewer
rounds always looks cheaper, and only measured accuracies say what it costs in quality.
Otherwise it keeps its default (or the script's value).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace

from ...catalog.catalog import Catalog, Knob
from ...grammar.diagnostics import MurakkabError
from ..cardinality import output_stats
from ..logical import INPUT, LEFT_OUT, MAP, LogicalPlan, Node, Stats
from .accuracy import SHAPES, STRUCTURE_FEATURES
from ..units import counted

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
        return f"knobs {names}: {counted(len(self.configs), 'configuration')} planned ({how})"


def free_knobs(plan: LogicalPlan, catalog: Catalog) -> dict[tuple[str, str], tuple[float, ...]]:
    """(interface, knob) -> domain, for knobs no task of the interface fixed, whose
    catalog domain has a choice, and that the estimates read. A knob fixed on one task
    of an interface is fixed for all of them (one decision per interface and knob). A
    knob no estimate reads (neither the interface's cardinality expressions nor a
    workflow accuracy profile) keeps its default: every value would plan the same. A
    plan-shaping knob is free only where a profile rates the plans it makes (module
    docstring) and it can shape the task (:func:`_shapeable`)."""
    fixed = {(n.interface, k) for n in plan.tasks for k in (*n.fixed_knobs, *n.shaped)}
    interfaces = {n.interface for n in plan.tasks}
    # Features of the accuracy profiles that could rate this plan (its model step is in it).
    rated = [f for shape in SHAPES if shape.model_interface in interfaces for f in shape.features]
    profiled = {(f.interface, f.knob) for f in rated if f.kind == "knob"}
    shaped = {f.interface for f in rated if f.kind in STRUCTURE_FEATURES}
    out: dict[tuple[str, str], tuple[float, ...]] = {}
    for n in plan.tasks:
        iface = catalog.interface(n.interface or "")
        if iface is None:
            continue
        expressions = " ".join([iface.cardinality, *(e for _, e in iface.output_attrs)])
        for knob in iface.knobs:
            key = (iface.name, knob.name)
            if knob.structural:
                read = iface.name in shaped and _shapeable(n, knob, plan)
            else:
                read = (key in profiled or re.search(rf"\b{re.escape(knob.name)}\b", expressions) is not None)
            if key not in fixed and len(knob.domain) > 1 and read:
                out[key] = tuple(sorted(knob.domain))
    return dict(sorted(out.items()))


def _shapeable(node: Node, knob: Knob, plan: LogicalPlan) -> bool:
    """Whether ``knob``'s values shape ``node`` differently: a limit needs a literal list
    longer than its smallest value to cut."""
    if knob.effect != "limit":
        return True
    over = plan.node(node.over) if node.over is not None else None
    return (node.op == MAP and over is not None and over.op == INPUT and isinstance(over.literal, tuple)
            and len(over.literal) > min(knob.domain, default=0))


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
    """``plan`` (a bound plan, in dependency order) with ``config``'s knob values, its
    plan-shaping knobs applied, and the output of every task they affect (directly or
    through its inputs) re-estimated from its inputs; ``plan`` itself when nothing changes."""
    values = dict(config.values)
    statistics = {s.key: s.value for s in catalog.statistics()}
    nodes: dict[str, Node] = {}  # in plan order: every node's inputs come before it
    changed: set[str] = set()  # ids whose output differs from the bound plan's

    def estimated(node: Node) -> Node:
        iface = catalog.interface(node.interface or "")
        assert iface is not None
        args = [nodes[i] for i in node.inputs]
        over = nodes[node.over] if node.over is not None else None
        stats, _ = output_stats(iface, args, over, node.knobs, statistics)
        return node.with_(stats=stats) if stats != node.stats else node

    for n in plan.nodes:
        iface = catalog.interface(n.interface) if n.interface else None
        if iface is None or not n.is_task:
            nodes[n.id] = n
            continue
        bound = n
        set_ = dict(n.knobs)
        # The plan-shaping knobs not applied yet, and the value each takes here, by effect.
        shaping = {k.effect: k for k in iface.knobs if k.structural and k.name not in n.shaped}
        effects = {effect: int(values.get((iface.name, k.name), set_.get(k.name, k.default)))
                   for effect, k in shaping.items()}
        names = {k.name for k in shaping.values()}
        knobs = tuple(sorted((k, values.get((iface.name, k), v)) for k, v in n.knobs if k not in names))
        if knobs != n.knobs or names:
            # Plan-shaping knobs are the planner's: they leave the node once applied (no
            # agent sees them), and the node remembers they were.
            n = n.with_(knobs=knobs, shaped=tuple(sorted({*n.shaped, *names})))
        if effects.get("optional") == 0:
            nodes[n.id] = _left_out(n, f"{iface.name}.{shaping['optional'].name} = 0")
            changed.add(n.id)
            continue
        if "limit" in effects:
            limit = shaping["limit"].name
            n = _limited(n, effects["limit"], nodes, said=limit if limit in set_ else None)
        rounds = effects.get("repeat", 1)
        for k in range(1, rounds):
            run = estimated(n.with_(id=f"{n.id}.{k}"))
            nodes[run.id] = run
            n = _reading(n, n.inputs[0] if k == 1 else f"{n.id}.{k - 1}", run.id)
        rewired = n.inputs != bound.inputs or n.over != bound.over
        if rewired or n.knobs != bound.knobs or any(i in changed for i in n.inputs):
            n = estimated(n)
        if rewired or n.stats != bound.stats:
            changed.add(n.id)
        nodes[n.id] = n
    if len(nodes) == len(plan.nodes) and all(nodes[n.id] is n for n in plan.nodes):
        return plan
    return LogicalPlan(tuple(nodes.values()))


def _left_out(node: Node, why: str) -> Node:
    """``node`` as a constant empty value of its type: a step the plan leaves out."""
    empty: object = () if node.type.is_list else ""
    return Node(node.id, INPUT, node.type, Stats(0.0 if node.type.is_list else 1.0, (), "derived"),
                value="[]" if node.type.is_list else "''", literal=empty,
                notes=(f"{LEFT_OUT} ({why})",), description=node.description, span=node.span)


def _limited(node: Node, limit: int, nodes: dict[str, Node], said: str | None = None) -> Node:
    """``node`` mapping over the first ``limit`` items of its list (a new input holds them).
    ``said``: the knob's name where the script set it; a list too short to reach it is noted."""
    over = nodes[node.over] if node.over is not None else None
    if node.op != MAP or over is None or over.op != INPUT or not isinstance(over.literal, tuple):
        raise MurakkabError(f"'{node.id}' can use at most {limit} items only of a list given in the RUN",
                            node.span, "pass the list as an argument of the RUN, or leave the knob unset")
    if len(over.literal) < limit and said:
        note = (f"{node.id}: WITH ({said} = {limit}) but '{over.id}' has {counted(len(over.literal), 'item')}: "
                f"it maps over all {len(over.literal)}")
        return node.with_(notes=node.notes + (note,))
    if len(over.literal) <= limit:
        return node
    items = over.literal[:limit]
    cut = over.with_(id=f"{over.id}.first{limit}", stats=replace(over.stats, items=float(len(items))),
                     literal=items, value=f"first {limit} of {over.id}")
    nodes.setdefault(cut.id, cut)
    return _reading(node, over.id, cut.id)


def _reading(node: Node, old: str, new: str) -> Node:
    """``node`` reading ``new`` wherever it read ``old``."""
    return node.with_(inputs=tuple(new if i == old else i for i in node.inputs),
                      over=new if node.over == old else node.over)
