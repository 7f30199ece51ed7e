"""How many items a task produces, and their attributes: the one estimate the binder
makes when it binds a task and the planner remakes when it tries other knob values
(``compiler/physical/knobs.py``).

The interface's cardinality expression (e.g. ``max(1, duration_s / scene_length_s)``
scenes per video) is evaluated over the catalog's statistics, the attributes of the
items the task reads and the task's knobs, in that order of precedence reversed (a knob
overrides an item attribute of the same name, which overrides a statistic).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from ..catalog import expressions
from ..catalog.catalog import Interface
from ..catalog.types import Type, list_of
from ..grammar.diagnostics import MurakkabError
from .logical import Node, Stats


def output_stats(iface: Interface, args: Sequence[Node], over: Node | None,
                 knobs: tuple[tuple[str, float], ...], statistics: Mapping[str, float]) -> tuple[Stats, Type]:
    """Output type and cardinality of a task from its inputs' statistics."""
    source = over if over is not None else (args[0] if args else None)
    item_attrs = dict(source.stats.attrs) if source is not None else {}
    env = {**statistics, **item_attrs, **dict(knobs)}
    try:
        per_call = max(0.0, expressions.evaluate(iface.cardinality, env))
        attrs = tuple((k, expressions.evaluate(e, env)) for k, e in iface.output_attrs)
    except expressions.ExpressionError as exc:  # a catalog bug, reported as such
        raise MurakkabError(f"catalog: interface {iface.name}: {exc}") from None
    origins = {a.stats.origin for a in args}
    origin = "default" if "default" in origins else "derived"
    out = iface.output
    if over is not None:
        calls = over.stats.items
        if out.is_list and out.elem is not None:
            return Stats(calls * per_call, attrs, origin), list_of(out.elem)
        return Stats(calls, attrs, origin), list_of(out)
    return Stats(per_call if out.is_list else 1.0, attrs, origin), out
