"""The abstract syntax tree of the job language: frozen dataclasses with source spans.

The parser builds these and nothing else; the binder (``murakkab.compiler.bind``)
resolves names against the catalog. Values keep their written form (a number and its
unit, a bare word such as ``GOOD`` or ``CPU``) so the binder can give precise errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .diagnostics import Span


@dataclass(frozen=True)
class Quantity:
    """A number with an optional unit as written: ``90 s``, ``2.00 USD``, ``5``."""

    value: float
    unit: str | None
    span: Span


@dataclass(frozen=True)
class StringLit:
    value: str
    span: Span


@dataclass(frozen=True)
class Word:
    """A bare word used as a value: ``GOOD``, ``CPU``, ``off``, ``greedy``."""

    name: str
    span: Span


@dataclass(frozen=True)
class ListLit:
    items: tuple["Value", ...]
    span: Span


Value = Union[Quantity, StringLit, Word, ListLit]


@dataclass(frozen=True)
class TypeRef:
    """A written type: ``VIDEO`` or ``LIST<TEXT>``."""

    name: str
    arg: "TypeRef | None"
    span: Span


@dataclass(frozen=True)
class Setting:
    """``name = value`` inside ``WITH (...)``, ``USING (...)``, ``ASSUMING (...)`` or ``SET``."""

    name: str
    value: Value
    span: Span


@dataclass(frozen=True)
class Ref:
    """A reference to a parameter or an earlier task by name."""

    name: str
    span: Span


@dataclass(frozen=True)
class Param:
    name: str
    type: TypeRef
    span: Span


@dataclass(frozen=True)
class Task:
    """``name := target (args) [WITH (knobs)] [USING (preferences)]``.

    ``target`` is an interface name, or a plain-words description when
    ``by_description`` is true.
    """

    name: str
    target: str
    by_description: bool
    args: tuple[Ref, ...]
    knobs: tuple[Setting, ...]
    prefs: tuple[Setting, ...]
    span: Span
    target_span: Span


@dataclass(frozen=True)
class CreateWorkflow:
    name: str
    params: tuple[Param, ...]
    description: str | None
    tasks: tuple[Task, ...]
    returns: tuple[Ref, ...]
    replace: bool
    span: Span
    name_span: Span


@dataclass(frozen=True)
class NamedArg:
    """``name => value [ASSUMING (statistics)]`` in a RUN."""

    name: str
    value: Value
    assuming: tuple[Setting, ...]
    span: Span


@dataclass(frozen=True)
class SloConstraint:
    """``metric op value``: ``latency <= 90 s`` or ``quality >= GOOD``."""

    metric: str
    op: str
    value: Value
    span: Span


@dataclass(frozen=True)
class Objective:
    direction: str  # "minimize" | "maximize"
    metric: str
    span: Span


@dataclass(frozen=True)
class Run:
    target: str
    by_description: bool
    args: tuple[NamedArg, ...]
    slos: tuple[SloConstraint, ...]
    objectives: tuple[Objective, ...]
    cluster: str | None
    span: Span
    target_span: Span
    cluster_span: Span | None


@dataclass(frozen=True)
class FleetSlo:
    """``[70 %] metric op value``: the SLO some share of a workflow's requests ask for
    (None: all of them)."""

    share: float | None
    slo: SloConstraint
    span: Span


@dataclass(frozen=True)
class FleetItem:
    """``workflow AT rate PER period | FROM TRACE 'file' [(columns)]
    [WITH SLO (...)] [ASSUMING (...)]`` inside PLAN FLEET."""

    workflow: Ref
    rate: float | None
    period: str | None
    trace: StringLit | None
    trace_settings: tuple[Setting, ...]
    slos: tuple[FleetSlo, ...]
    assuming: tuple[Setting, ...]
    span: Span
    load_span: Span


@dataclass(frozen=True)
class PlanFleet:
    items: tuple[FleetItem, ...]
    budgets: tuple[Setting, ...]
    objectives: tuple[Objective, ...]
    cluster: str | None
    span: Span


@dataclass(frozen=True)
class Explain:
    statement: Union[Run, PlanFleet]
    analyze: bool
    verbose: bool
    format: str | None
    span: Span
    format_span: Span | None


@dataclass(frozen=True)
class Show:
    """``SHOW what [FOR subject] [WHERE predicate]``; the predicate is kept as raw text
    for sqlglot to parse later, never for DuckDB to see directly."""

    what: str
    subject: str | None
    where: str | None
    span: Span
    where_span: Span | None


@dataclass(frozen=True)
class SetStmt:
    name: str
    value: Value
    span: Span
    name_span: Span


Statement = Union[CreateWorkflow, Run, Explain, Show, SetStmt, PlanFleet]


@dataclass(frozen=True)
class Script:
    statements: tuple[Statement, ...]
