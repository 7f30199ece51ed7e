"""SHOW AGENTS | HARDWARE | PROFILES | CLUSTERS | INTERFACES | KNOBS | WORKFLOWS | TEMPLATES |
STATISTICS [WHERE ... [ORDER BY ...] [LIMIT n]]; AGENTS, PROFILES and KNOBS also take
FOR x (an interface, an agent, an interface; quoted when it holds a dash).

The WHERE predicate is user text. It is parsed with sqlglot, every node is checked
against an allow-list (the table's columns, literals, comparisons, AND/OR/NOT, LIKE,
IN, BETWEEN, IS NULL and a few scalar functions) and re-emitted as DuckDB SQL, so no
user text ever reaches DuckDB unparsed.

Values shown are data, whoever wrote them: :func:`visible` makes control characters
visible for a terminal and :func:`csv_cell` keeps a spreadsheet from running a cell.
"""

from __future__ import annotations

import io
import re
import shutil

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import duckdb
import sqlglot
from sqlglot import exp

from ..grammar.diagnostics import MurakkabError, Span, suggestion
from .catalog import Catalog

# SHOW target -> (table, column the FOR clause filters on)
TARGETS: dict[str, tuple[str, str | None]] = {
    "agents": ("agents", "interface"),
    "hardware": ("hardware", None),
    "profiles": ("profiles", "agent"),
    "clusters": ("clusters", None),
    "interfaces": ("interfaces", None),
    "knobs": ("interface_knobs", "interface"),
    "workflows": ("workflow_templates", None),
    # What a description-only RUN is matched against: each template's name, inputs (the
    # parameter list of its CREATE WORKFLOW text) and DESCRIPTION.
    "templates": ("(SELECT name, regexp_extract(body, '\\(([^)]*)\\)', 1) AS inputs, description "
                  "FROM workflow_templates)", None),
    "statistics": ("statistics", None),
}

_ALLOWED_NODES: tuple[type, ...] = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.Neg, exp.Not,
    exp.And, exp.Or, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.In,
    exp.Is, exp.Between, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Lower, exp.Upper, exp.Abs, exp.Round,
    exp.Length, exp.Tuple,
)


# C0 and C1 controls but newline and tab (ESC starts ANSI sequences, CR overwrites the
# line, NUL ends strings in C), and the bidirectional overrides that reorder what a
# terminal shows ("Trojan Source", CVE-2021-42574).
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# Characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def visible(text: str) -> str:
    """``text`` with each control character shown as its escape (ESC as ``\\x1b``)."""
    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _INVISIBLE.sub(escape, text)


# A column is never elided below this many characters while the table could fit otherwise.
MIN_COLUMN_CHARS = 4
ELLIPSIS = "\u2026"


def terminal_width() -> int:
    """Columns of the terminal (``$COLUMNS`` first; 80 in a pipe), what text tables fit."""
    return shutil.get_terminal_size().columns


def elide(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one ``…`` when anything was cut."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS if width > 0 else ""


def fit_widths(natural: list[int], budget: int) -> list[int]:
    """Column widths that sum to at most ``budget``: the widest columns shrink first, to a
    common cap (water-filling), none below MIN_COLUMN_CHARS unless the budget leaves less
    for each; a table that fits keeps its natural widths.

        >>> fit_widths([3, 40, 12], 30)
        [3, 15, 12]
    """
    if sum(natural) <= budget or not natural:
        return list(natural)
    floor = max(1, min(MIN_COLUMN_CHARS, budget // len(natural)))
    lo, hi = floor, max(natural)
    while lo < hi:  # the largest cap whose widths fit
        mid = (lo + hi + 1) // 2
        if sum(min(w, mid) for w in natural) <= budget:
            lo = mid
        else:
            hi = mid - 1
    widths = [min(w, max(lo, floor)) for w in natural]
    spare = budget - sum(widths)
    for i, w in enumerate(natural):  # what the cap left over, to the capped columns in order
        if spare <= 0:
            break
        if w > widths[i]:
            widths[i] += 1
            spare -= 1
    return widths


def table_text(columns: list[str], rows: list[tuple[Any, ...]], width: int | None = None) -> str:
    """A rich box table of values (control characters visible, brackets not markup) that
    fits ``width`` columns (default: the terminal's): the longest cells are elided with
    ``…``; ``--format csv|json`` gives them in full."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    width = terminal_width() if width is None else width
    head = [visible(c) for c in columns]
    body = [["" if v is None else visible(str(v)) for v in row] for row in rows]
    natural = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(head)]
    # A box table spends 3 characters a column (a border and a space each side) and 1 more.
    widths = fit_widths(natural, width - 3 * len(head) - 1)
    table = Table(*(escape(elide(h, w)) for h, w in zip(head, widths)), show_lines=False)
    for column, w in zip(table.columns, widths):
        column.no_wrap, column.min_width, column.max_width = True, w, w
    for row in body:
        table.add_row(*(escape(elide(v, w)) for v, w in zip(row, widths)))
    buffer = io.StringIO()
    # A table too wide even at the narrowest columns is printed whole, not folded.
    Console(file=buffer, width=max(width, sum(widths) + 3 * len(head) + 1), force_terminal=False,
            color_system=None).print(table)
    return buffer.getvalue()


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: NULL empty, text visible and, where a spreadsheet would read
    it as a formula, prefixed with a quote (OWASP's rule); numbers as they are."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    text = visible(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def written(node: exp.Expression, sql: str) -> str | None:
    """The name of a function node as the user wrote it in ``sql`` (sqlglot keeps where
    it was), without quotes; None where sqlglot kept no position."""
    start, end = node.meta.get("start"), node.meta.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end < len(sql):
        return sql[start:end + 1].strip().strip('"`') or None
    return None


def _construct(node: exp.Expression, sql: str) -> str:
    """A refused node in the user's words, not sqlglot's class (ANONYMOUS, GENERATESERIES)."""
    if isinstance(node, exp.Func):
        name = written(node, sql) or node.sql_name().lower()
        return f"the function {visible(name)}()"
    if isinstance(node, (exp.Subquery, exp.Query)):
        return "a subquery"
    return visible(node.sql(dialect="duckdb")[:40]) or node.key.upper()


@dataclass(frozen=True)
class ShowResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Where:
    """A checked WHERE clause as DuckDB SQL: the predicate, then an optional ORDER BY
    (rows are otherwise in column order, ORDER BY ALL) and LIMIT."""

    predicate: str
    order: str | None = None
    limit: int | None = None

    def tail(self) -> str:
        return f" {self.order or 'ORDER BY ALL'}" + (f" LIMIT {self.limit}" if self.limit is not None else "")


# What may follow a predicate, and what may not (sqlglot's keys for each clause).
_TAIL_CLAUSES = {"order", "limit"}
_SELECT_PARTS = {"expressions", "from_", "from", "where"} | _TAIL_CLAUSES
_EXAMPLE = "e.g. WHERE kind = 'tool' AND quality > 0.8 ORDER BY quality DESC LIMIT 5"


def check_predicate(text: str, columns: list[str], span: Span | None = None) -> Where:
    """Parse, check and re-emit a WHERE predicate (and its ORDER BY and LIMIT) as DuckDB SQL."""
    try:
        wrapped = f"SELECT * FROM t WHERE {text}"
        statements = sqlglot.parse(wrapped, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise MurakkabError(f"cannot parse the WHERE predicate: {_parse_problem(exc)}", span, _EXAMPLE) from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise MurakkabError("a WHERE predicate is one condition, not a statement", span, _EXAMPLE)
    select = statements[0]
    extra = sorted(k.rstrip("_").upper() for k, v in select.args.items() if v and k not in _SELECT_PARTS)
    if extra:
        raise MurakkabError(f"a SHOW predicate takes no {', '.join(extra)}", span,
                            "ORDER BY and LIMIT may follow the condition; " + _EXAMPLE)
    where = select.args.get("where")
    if where is None:
        raise MurakkabError("empty WHERE predicate", span, _EXAMPLE)
    order = select.args.get("order")
    for part in (where.this, *(order.expressions if order else ())):
        for node in part.walk():
            if isinstance(node, exp.Ordered) and node is part:
                continue
            if not isinstance(node, _ALLOWED_NODES):
                raise MurakkabError(f"{_construct(node, wrapped)} is not allowed in a SHOW predicate", span,
                                    "use columns, literals, comparisons, AND/OR/NOT, LIKE, IN, BETWEEN")
            if isinstance(node, exp.Column):
                if node.table or node.name not in columns:
                    raise MurakkabError(f"unknown column '{node.sql()}'", span,
                                        suggestion(node.name, columns, "columns"))
    limit = select.args.get("limit")
    rows = None
    if limit is not None:
        value = limit.expression
        if not (isinstance(value, exp.Literal) and value.is_int and int(value.this) >= 0):
            raise MurakkabError(f"LIMIT takes a whole number of rows, not {visible(value.sql()[:40])}", span,
                                _EXAMPLE)
        rows = int(value.this)
    return Where(where.this.sql(dialect="duckdb"), order.sql(dialect="duckdb") if order else None, rows)


def _parse_problem(exc: sqlglot.errors.ParseError) -> str:
    """sqlglot's complaint in a user's words: no Python class names."""
    first = exc.errors[0] if exc.errors else {}
    said = str(first.get("description") or exc)
    if said.startswith("Required keyword"):
        near = str(first.get("highlight") or "").strip()
        return f"it ends too early{f' after {visible(near)!r}' if near else ''}"
    return visible(re.sub(r"\s*for <class '[^']*'>", "", said).splitlines()[0])


# Computed targets: the caller supplies the rows (SHOW WORKFLOWS needs the planner to
# place SLO tiers, and the catalog does not depend on the planner).
Provider = Callable[[], ShowResult]


def show(catalog: Catalog, what: str, subject: str | None = None, where: str | None = None,
         span: Span | None = None, where_span: Span | None = None,
         computed: Mapping[str, Provider] | None = None) -> ShowResult:
    if what not in TARGETS:
        raise MurakkabError(f"cannot SHOW '{what}'", span, suggestion(what, TARGETS, "things to show"))
    if computed and what in computed:
        return _filter_computed(catalog, computed[what](), what, subject, where, span, where_span)
    table, for_column = TARGETS[what]
    columns, _ = catalog.query(f"SELECT * FROM {table} LIMIT 0")
    clauses, params, tail = [], [], Where("").tail()
    if subject is not None:
        if for_column is None:
            raise MurakkabError(f"SHOW {what.upper()} takes no FOR clause", span)
        known = [r[0] for r in catalog.query(f"SELECT DISTINCT {for_column} FROM {table}")[1]]
        _check_subject(subject, known, what, for_column, span)
        clauses.append(f"{for_column} = ?")
        params.append(subject)
    if where is not None:
        checked = check_predicate(where, columns, where_span or span)
        clauses.append(f"({checked.predicate})")
        tail = checked.tail()
    sql = f"SELECT * FROM {table}" + (" WHERE " + " AND ".join(clauses) if clauses else "") + tail
    cols, rows = _query(catalog, sql, params, where_span or span)
    return ShowResult(cols, rows)


def _check_subject(subject: str, known: list[Any], what: str, column: str, span: Span | None) -> None:
    """A FOR subject that names nothing is a mistake (a typo), not an empty table."""
    names = sorted({str(k) for k in known if k is not None})
    if subject not in names:
        raise MurakkabError(f"SHOW {what.upper()} FOR '{visible(subject)}': no {column} of that name", span,
                            suggestion(subject, names, f"{column}s"))


def _query(catalog: Catalog, sql: str, params: list[Any], span: Span | None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Rows of a checked SHOW query; DuckDB's refusal of a well-formed predicate (a text
    column compared with a number) is the user's error, located at the predicate."""
    try:
        return catalog.query(sql, params)
    except duckdb.Error as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MurakkabError(f"the WHERE predicate failed: {visible(why)}", span,
                            "compare a column with a value of its type, e.g. units >= 4 or name = 'x'") from None


def _filter_computed(catalog: Catalog, result: ShowResult, what: str, subject: str | None, where: str | None,
                     span: Span | None, where_span: Span | None) -> ShowResult:
    """Apply FOR and WHERE to computed rows, in DuckDB over a VALUES list (parameters only)."""
    # FOR filters on the target's own column (an agent's interface), else the first.
    for_column = TARGETS[what][1]
    at = result.columns.index(for_column) if for_column in result.columns else 0
    if subject is not None:
        _check_subject(subject, [r[at] for r in result.rows], what, result.columns[at], span)
    rows = [r for r in result.rows if subject is None or r[at] == subject]
    if where is None or not rows:
        return ShowResult(result.columns, rows)
    checked = check_predicate(where, result.columns, where_span or span)
    marks = ", ".join("(" + ", ".join("?" for _ in result.columns) + ")" for _ in rows)
    names = ", ".join(result.columns)
    params = [v for r in rows for v in r]
    cols, out = _query(catalog, f"SELECT * FROM (VALUES {marks}) AS t({names}) WHERE {checked.predicate}"
                                f"{checked.tail()}",
                       params, where_span or span)
    return ShowResult(cols, out)
