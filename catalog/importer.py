"""``murakkab catalog import FILE``: add the rows of a CSV file to a catalog table.

The file has the seed format (catalog/seed/*.csv): a header of column names, one row
per line, lines starting with '#' are comments. Every row is checked before anything
is written, and every problem is reported as ``file:line: problem`` (the physical line
in the file: the header is line 1 when the file starts with it, comment lines count):

* the header: a missing required column, an unknown or repeated column;
* each value: an empty required value, a value that is not a number / integer /
  boolean, a unit that does not fit the column ('120 ms' is fine in ``per_item_s``,
  '5 USD' is not), a value the schema's CHECK constraints refuse (a negative latency);
* each row: a reference to a row that does not exist (a profile's agent or hardware),
  a key that is already in the catalog or earlier in the file (an import adds rows,
  it never overwrites), a profile source that does not say where the numbers are from.

The checks are read from the database itself (column types, NOT NULL, defaults,
CHECK, PRIMARY KEY / UNIQUE and FOREIGN KEY constraints), so a new table or column
in a migration is validated without touching this module. Only if there is no problem
are the rows written, all in one transaction: a failure while writing (DuckDB refusing
a row, the process dying) leaves the catalog as it was.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb

from ..compiler.units import UNITS
from ..grammar.diagnostics import MurakkabError, did_you_mean, suggestion
from . import expressions
from .catalog import KNOB_EFFECTS, SEED_TABLES, Catalog, _parse_attrs, _parse_params
from .types import parse_type

# Profile sources must say where the numbers come from (see migrations/0001).
SOURCE_PREFIXES: dict[tuple[str, str], tuple[str, ...]] = {
    ("profiles", "source"): ("published:", "derived:", "measured:", "interpolated", "default"),
}


@dataclass(frozen=True)
class ImportReport:
    table: str
    rows_inserted: int


class ImportRejected(MurakkabError):
    """The file has bad rows; nothing was written. ``problems`` lists every one."""

    def __init__(self, message: str, problems: tuple[str, ...] | list[str], hint: str | None = None) -> None:
        super().__init__(message, None, hint)
        self.problems: tuple[str, ...] = tuple(problems)

    def render(self) -> str:
        lines = [f"error: {self.message}"]
        lines += [f"  {p}" for p in self.problems]
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


# -- units --------------------------------------------------------------------------
# dimension -> {unit (lower case): factor to the column's unit}
_POWER = {"w": 1.0, "watt": 1.0, "watts": 1.0, "kw": 1e3, "kilowatt": 1e3, "kilowatts": 1e3}
_MEMORY = {"gb": 1.0, "mb": 1e-3, "tb": 1e3, "gib": 2**30 / 1e9, "mib": 2**20 / 1e9, "tib": 2**40 / 1e9}
_COST = {**UNITS["cost"], "$": 1.0}


def _cost_per_hour(unit: str) -> float | None:
    """'USD/h', '$/hour', 'cents per hour' -> factor to USD per hour."""
    parts = re.split(r"\s*/\s*|\s+per\s+", unit.strip().lower())
    if len(parts) != 2:
        return None
    cost, per = _COST.get(parts[0]), UNITS["time"].get(parts[1])
    if cost is None or per is None:
        return None
    return cost / per * 3600.0


@dataclass(frozen=True)
class _Dimension:
    name: str          # for messages: "time"
    base: str          # the column's unit: "s"
    convert: Callable[[str], float | None]


def _table_unit(table: dict[str, float]) -> Callable[[str], float | None]:
    return lambda unit: table.get(unit.strip().lower())


_TIME = _Dimension("time", "s", _table_unit(UNITS["time"]))
_ENERGY = _Dimension("energy", "Wh", _table_unit(UNITS["energy"]))
_POWER_DIM = _Dimension("power", "W", _table_unit(_POWER))
_MEMORY_DIM = _Dimension("memory", "GB", _table_unit(_MEMORY))
_RATE = _Dimension("cost per hour", "USD/h", _cost_per_hour)


def column_dimension(column: str) -> _Dimension | None:
    """The unit a numeric column is in, from its name (``per_item_s`` -> seconds)."""
    if column.endswith("usd_per_hour"):
        return _RATE
    if column.endswith("_wh"):
        return _ENERGY
    if column.endswith("_w"):
        return _POWER_DIM
    if column.endswith("_s"):
        return _TIME
    if column.endswith("_gb"):
        return _MEMORY_DIM
    return None


_NUMBER = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*)$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class _BadValue(Exception):
    pass


def _number(column: str, raw: str, integer: bool) -> float | int:
    text = raw.strip()
    match = _NUMBER.match(text)
    if not match:
        raise _BadValue(f"not {'an integer' if integer else 'a number'}: {raw!r}")
    number, unit = match.group(1), match.group(2).strip()
    if integer and not _INTEGER.match(number):
        raise _BadValue(f"not an integer: {raw!r}")
    value: float | int = int(number) if integer else float(number)
    if not unit:
        return value
    dim = None if integer else column_dimension(column)
    if dim is None:
        raise _BadValue(f"wrong unit: {unit!r} ({column} takes a plain {'integer' if integer else 'number'})")
    factor = dim.convert(unit)
    if factor is None:
        raise _BadValue(f"wrong unit: {unit!r} is not a unit of {dim.name} ({column} is in {dim.base})")
    converted = float(value) * factor
    if not math.isfinite(converted):
        raise _BadValue(f"not a number: {raw!r}")
    return converted


def _boolean(raw: str) -> bool:
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _BadValue(f"not a boolean: {raw!r} (write true or false)")


_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                  "UINTEGER", "UBIGINT")
_FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


def _kind(duck_type: str) -> str:
    t = duck_type.upper()
    if t in _INTEGER_TYPES:
        return "integer"
    if t in _FLOAT_TYPES or t.startswith("DECIMAL"):
        return "number"
    if t == "BOOLEAN":
        return "boolean"
    if t in ("VARCHAR", "TEXT") or t.startswith("VARCHAR"):
        return "text"
    return "other"


# Values the catalog parses when it loads (a bad one would break every later open).
def _check_type(text: str) -> None:
    parse_type(text)


def _check_expression(text: str) -> None:
    expressions.names(text)


def _check_domain(text: str) -> None:
    for v in str(text).split("|"):
        if v.strip():
            float(v)


def _check_effect(text: str) -> None:
    if text not in KNOB_EFFECTS:
        raise ValueError(text)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_env_name(text: str) -> None:
    # The message never quotes the value: it may be a key pasted in by mistake.
    if text and not _ENV_NAME.fullmatch(text):
        raise ValueError("letters, digits and _ only, not starting with a digit")


SEMANTIC_CHECKS: dict[tuple[str, str], tuple[str, Callable[[str], Any]]] = {
    ("interfaces", "inputs"): ("not a parameter list ('name TYPE; name TYPE...')", _parse_params),
    ("interfaces", "output"): ("not a type", _check_type),
    ("interfaces", "cardinality"): ("not an expression", _check_expression),
    ("interfaces", "output_attrs"): ("not a list of 'attr = expression'", _parse_attrs),
    ("interface_knobs", "domain"): ("not a domain of numbers ('1|5|10')", _check_domain),
    ("interface_knobs", "effect"): (f"not a knob effect ({', '.join(KNOB_EFFECTS)})", _check_effect),
    ("agents", "api_key_env"): ("not the name of an environment variable (e.g. OPENAI_API_KEY; the catalog "
                                "holds the name, never the key)", _check_env_name),
}

# Rules between columns of one row that the schema cannot state: a column added by a
# migration (DuckDB's ALTER TABLE takes no CHECK), or a table created before the rule.
# (table, columns, whether a row keeps it, what the row must do).
ROW_RULES: tuple[tuple[str, tuple[str, ...], Callable[..., bool], str], ...] = (
    ("hardware", ("idle_w", "active_w"), lambda idle, active: idle <= active,
     "idle_w {idle_w} W is above active_w {active_w} W (a unit draws its idle power at no work, at most its "
     "active power)"),
    ("energy_per_token", ("output_tps",), lambda tps: tps > 0,
     "output_tps {output_tps}: the throughput a row was measured at is above 0 (or empty: not known)"),
)


# -- the schema, read from DuckDB ---------------------------------------------------
@dataclass(frozen=True)
class _Column:
    name: str
    type: str
    kind: str
    nullable: bool
    default: Any       # the evaluated default, or _NO_DEFAULT

    @property
    def required(self) -> bool:
        return not self.nullable and self.default is _NO_DEFAULT


_NO_DEFAULT = object()


@dataclass(frozen=True)
class _Schema:
    table: str
    columns: dict[str, _Column]
    checks: tuple[tuple[str, tuple[str, ...]], ...]                  # (expression, columns)
    keys: tuple[tuple[str, ...], ...]                                 # PRIMARY KEY / UNIQUE
    references: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...]  # (cols, table, cols)


# References the schema cannot declare (the target is no key) but a row is useless
# without: an API endpoint serves a model the serving configurations name; another name
# (a typo, other capitals) would be imported and never used.
_IMPLIED_REFERENCES: dict[str, tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...]] = {
    "llm_apis": ((("model",), "workflow_quality", ("model",)),),
}


def _schema(catalog: Catalog, table: str) -> _Schema:
    defaults = dict(catalog.execute(
        "SELECT column_name, column_default FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ?", [table]))
    columns: dict[str, _Column] = {}
    for name, duck_type, nullable in catalog.columns(table):
        default: Any = _NO_DEFAULT
        if defaults.get(name) is not None:
            # The default is schema text from the migrations, not user input.
            default = catalog.execute(f"SELECT CAST({defaults[name]} AS {duck_type})")[0][0]
        columns[name] = _Column(name, duck_type, _kind(duck_type), nullable, default)
    checks, keys, refs = [], [], []
    for ctype, expression, cols, ref_table, ref_cols in catalog.execute(
            "SELECT constraint_type, expression, constraint_column_names, referenced_table, "
            "referenced_column_names FROM duckdb_constraints() "
            "WHERE schema_name = 'main' AND table_name = ? ORDER BY constraint_index", [table]):
        cols = tuple(dict.fromkeys(cols or ()))
        if ctype == "CHECK" and expression:
            checks.append((expression, cols))
        elif ctype in ("PRIMARY KEY", "UNIQUE"):
            keys.append(cols)
        elif ctype == "FOREIGN KEY" and ref_table:
            refs.append((cols, ref_table, tuple(ref_cols)))
    refs.extend(_IMPLIED_REFERENCES.get(table, ()))
    return _Schema(table, columns, tuple(checks), tuple(dict.fromkeys(keys)), tuple(refs))


# -- reading the file ---------------------------------------------------------------
@dataclass
class _Row:
    line: int
    raw: dict[str, str]
    values: dict[str, Any]        # converted values of the columns in the header
    bad: set[str]                 # columns whose value could not be converted


class _CsvError(Exception):
    """csv could not read a record; ``line`` is where that record starts."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the record starts, fields) for each non-comment record;
    a record csv cannot read raises :class:`_CsvError` at the line it starts on."""
    consumed: list[int] = []

    def lines() -> Iterator[str]:
        for number, line in enumerate(io.StringIO(text, newline=""), 1):
            if line.startswith("#"):
                continue
            consumed.append(number)
            yield line

    reader = csv.reader(lines())
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _CsvError(consumed[0] if consumed else reader.line_num, str(exc)) from None
        start = consumed[0] if consumed else 0
        consumed.clear()
        if len(fields) <= 1 and not "".join(fields).strip():
            continue        # a blank line
        yield start, fields


def _fmt_key(cols: tuple[str, ...], values: tuple[Any, ...]) -> str:
    if len(cols) == 1:
        return f"{cols[0]} = {values[0]!r}"
    return f"({', '.join(cols)}) = ({', '.join(repr(v) for v in values)})"


def _plain(value: Any) -> Any:
    """Key values comparable between the file and the database (1 == 1.0)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value


def _strip_parens(expression: str) -> str:
    text = expression.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for i, ch in enumerate(text):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(text) - 1:
                return text
        text = text[1:-1].strip()
    return text


# -- the importer -------------------------------------------------------------------
def import_csv(catalog: Catalog, path: Path | str, table: str | None = None) -> ImportReport:
    """Add the rows of CSV ``path`` to ``table`` (default: the file's stem), all or nothing."""
    path = Path(path)
    if not path.is_file():  # before the table its name would give: the file is the mistake
        raise MurakkabError(f"cannot read {path}: " + ("it is a folder" if path.is_dir() else "no such file"), None,
                            "name a CSV file with a header row (its name, or --table, says the table)")
    name = table or path.stem
    if name not in SEED_TABLES:
        other = {r[0] for r in catalog.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")}
        why = ("it is kept by murakkab itself" if name in other
               else "there is no such table")
        close = did_you_mean(name, SEED_TABLES)
        raise MurakkabError(f"cannot import into '{name}': {why}; importable tables: "
                            f"{', '.join(SEED_TABLES)}", None,
                            (f"did you mean '{close}'? " if close else "")
                            + "name the table with --table, or name the file after it (profiles.csv)")
    if catalog.read_only:
        raise MurakkabError(f"cannot import into catalog {catalog.path}: it is open read-only", None,
                            "open it without --read-only to import")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise MurakkabError(f"{path}:{line}: byte 0x{exc.object[exc.start]:02x} is not UTF-8 text", None,
                            "save the file as UTF-8 (a spreadsheet's 'CSV UTF-8'; or iconv -f latin1 -t utf-8)"
                            ) from None
    except OSError as exc:
        raise MurakkabError(f"cannot read {path}: {exc.strerror or exc}") from None

    schema = _schema(catalog, name)
    where = str(path)
    problems: list[tuple[int, int, str]] = []     # (line, order, text)

    def problem(line: int, message: str) -> None:
        problems.append((line, len(problems), f"{where}:{line}: {message}"))

    records = _records(text)
    try:
        header_line, header = next(records)
    except StopIteration:
        raise ImportRejected(f"{where} is empty: no header, nothing was imported",
                             (f"{where}:1: no header (the first line names the columns of {name})",),
                             f"the columns of {name}: {', '.join(schema.columns)}") from None
    except _CsvError as exc:
        raise ImportRejected(f"{where} is not a CSV file; nothing was imported",
                             (f"{where}:{exc.line}: {exc}",)) from None
    header = [h.strip() for h in header]
    known: list[str] = []
    for h in header:
        if h in known:
            problem(header_line, f"column '{h}' appears twice in the header")
        elif h not in schema.columns:
            problem(header_line, f"unknown column '{h}' in {name}; "
                    + suggestion(h, schema.columns, f"columns of {name}"))
        else:
            known.append(h)
    for col in schema.columns.values():
        if col.required and col.name not in header:
            problem(header_line, f"missing column '{col.name}' (required by {name})")
    header_bad = bool(problems)

    # Values, one row at a time.
    rows: list[_Row] = []
    try:
        for line, fields in records:
            if len(fields) != len(header):
                problem(line, f"expected {len(header)} values (one per column of the header), found {len(fields)}")
                continue
            raw = dict(zip(header, fields))
            row = _Row(line, raw, {}, set())
            for col_name in known:
                col, value = schema.columns[col_name], raw[col_name]
                if not value.strip():
                    if col.required:
                        problem(line, f"empty value for '{col_name}' (required)")
                        row.bad.add(col_name)
                    else:
                        row.values[col_name] = None if col.default is _NO_DEFAULT else col.default
                    continue
                try:
                    if col.kind == "integer":
                        row.values[col_name] = _number(col_name, value, integer=True)
                    elif col.kind == "number":
                        row.values[col_name] = _number(col_name, value, integer=False)
                    elif col.kind == "boolean":
                        row.values[col_name] = _boolean(value)
                    else:
                        row.values[col_name] = value
                except _BadValue as exc:
                    problem(line, f"{col_name}: {exc}")
                    row.bad.add(col_name)
                    continue
                prefixes = SOURCE_PREFIXES.get((name, col_name))
                if prefixes and not value.strip().startswith(prefixes):
                    problem(line, f"{col_name}: {value[:40]!r} does not say where the numbers are from; "
                            f"it must start with {', '.join(prefixes)}")
                    row.bad.add(col_name)
                semantic = SEMANTIC_CHECKS.get((name, col_name))
                if semantic:
                    try:
                        semantic[1](value)
                    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad value
                        problem(line, f"{col_name}: {semantic[0]}: {exc}")
                        row.bad.add(col_name)
            for table, cols, keeps, says in ROW_RULES:
                args = [row.values.get(c) for c in cols]
                if table == name and not row.bad & set(cols) and None not in args and not keeps(*args):
                    problem(line, says.format(**dict(zip(cols, args))))
                    row.bad.update(cols)
            rows.append(row)
    except _CsvError as exc:
        problem(exc.line, f"not a CSV file: {exc}")

    _check_constraints(catalog, schema, rows, problem)
    _check_references(catalog, schema, rows, problem)
    _check_keys(catalog, schema, rows, problem)

    if problems:
        problems.sort()
        bad_rows = len({line for line, _, _ in problems if line != header_line or not header_bad})
        what = []
        if header_bad:
            what.append("the header does not fit the table")
        if bad_rows:
            what.append(f"{bad_rows} bad row{'s' if bad_rows != 1 else ''}")
        raise ImportRejected(
            f"cannot import {where} into {name}: {' and '.join(what)} "
            f"({len(problems)} problem{'s' if len(problems) != 1 else ''}); nothing was imported",
            [p for _, _, p in problems],
            f"fix the lines above and import the file again; the columns of {name}: {', '.join(schema.columns)}")

    _write(catalog, schema, known, rows, where)
    return ImportReport(name, len(rows))


def _check_constraints(catalog: Catalog, schema: _Schema, rows: list[_Row],
                       problem: Callable[[int, str], None]) -> None:
    """Evaluate the table's CHECK constraints on each row, in DuckDB (NULL passes)."""
    if not schema.checks or not rows:
        return
    needed = list(dict.fromkeys(c for _, cols in schema.checks for c in cols if c in schema.columns))
    cols = [schema.columns[c] for c in needed]
    tests = ", ".join(f"({expr}) IS NOT FALSE" for expr, _ in schema.checks)
    names = ", ".join(f'"{c}"' for c in needed)
    chunk = 200
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        one = "(" + ", ".join(["?"] + [f"CAST(? AS {c.type})" for c in cols]) + ")"
        params: list[Any] = []
        for i, row in enumerate(part):
            params.append(i)
            for c in cols:
                if c.name in row.values and c.name not in row.bad:
                    params.append(row.values[c.name])
                elif c.name not in row.raw and c.default is not _NO_DEFAULT:
                    params.append(c.default)
                else:
                    params.append(None)
        sql = (f"SELECT {tests} FROM (VALUES {', '.join([one] * len(part))}) AS t(__row, {names}) "
               f"ORDER BY __row")
        for row, results in zip(part, catalog.execute(sql, params)):
            for (expr, ccols), ok in zip(schema.checks, results):
                if ok:
                    continue
                rule = _strip_parens(expr)
                shown = [c for c in ccols if c in row.values]
                values = ", ".join(f"{c} = {row.raw.get(c, row.values.get(c))!r}" for c in shown)
                numeric = [row.values[c] for c in shown if isinstance(row.values[c], (int, float))
                           and not isinstance(row.values[c], bool)]
                if len(shown) == 1 and numeric and numeric[0] < 0:
                    problem(row.line, f"{shown[0]}: negative value {row.raw[shown[0]].strip()!r} "
                            f"(the schema requires {rule})")
                elif len(shown) == 1:
                    problem(row.line, f"{shown[0]}: value {row.raw[shown[0]].strip()!r} is refused "
                            f"(the schema requires {rule})")
                else:
                    problem(row.line, f"{values or ', '.join(ccols)}: refused (the schema requires {rule})")


def _check_references(catalog: Catalog, schema: _Schema, rows: list[_Row],
                      problem: Callable[[int, str], None]) -> None:
    """Each foreign key must name a row of the catalog (or of this file, for a self-reference)."""
    for cols, ref_table, ref_cols in schema.references:
        targets = {tuple(_plain(v) for v in r) for r in catalog.execute(
            f"SELECT {', '.join(chr(34) + c + chr(34) for c in ref_cols)} FROM \"{ref_table}\"")}
        if ref_table == schema.table:
            targets |= {tuple(_plain(row.values.get(c)) for c in ref_cols) for row in rows
                        if all(c in row.values and c not in row.bad for c in ref_cols)}
        for row in rows:
            if not all(c in row.values and c not in row.bad for c in cols):
                continue
            values = tuple(row.values[c] for c in cols)
            if any(v is None for v in values):
                continue
            if tuple(_plain(v) for v in values) in targets:
                continue
            if len(cols) == 1:
                known = sorted(str(t[0]) for t in targets)
                close = did_you_mean(str(values[0]), known)
                hint = f"; did you mean '{close}'?" if close else ""
                problem(row.line, f"unknown {cols[0]} {values[0]!r} (not in {ref_table}.{ref_cols[0]}){hint}")
            else:
                problem(row.line, f"{_fmt_key(cols, values)}: no such row in {ref_table}")


def _check_keys(catalog: Catalog, schema: _Schema, rows: list[_Row],
                problem: Callable[[int, str], None]) -> None:
    """Keys must be new: not in the catalog (an import never overwrites), not twice in the file."""
    for cols in schema.keys:
        existing = {tuple(_plain(v) for v in r) for r in catalog.execute(
            f"SELECT {', '.join(chr(34) + c + chr(34) for c in cols)} FROM \"{schema.table}\"")}
        first: dict[tuple[Any, ...], int] = {}
        for row in rows:
            if not all(c in row.values and c not in row.bad for c in cols):
                continue
            values = tuple(row.values[c] for c in cols)
            key = tuple(_plain(v) for v in values)
            if key in first:
                problem(row.line, f"duplicate key {_fmt_key(cols, values)}: the first copy is on line {first[key]}")
                continue
            first[key] = row.line
            if key in existing:
                problem(row.line, f"key {_fmt_key(cols, values)} is already in {schema.table}; "
                        "an import adds rows, it never overwrites")


# Rows per INSERT: one statement per row took 0.7 ms a row (70 s for 100,000).
INSERT_BATCH = 500


class _Located(Exception):
    """Raised inside a transaction to roll it back once the refused row is found."""

    def __init__(self, line: int, text: str) -> None:
        super().__init__(text)
        self.line, self.text = line, text


def _refused_row(catalog: Catalog, sql: str, columns: list[str], rows: list[_Row]) -> tuple[int, str] | None:
    """The first row the database refuses on its own, and why, inserting one row at a
    time in a transaction that is always rolled back (only to name the line)."""
    try:
        with catalog.transaction():
            for row in rows:
                try:
                    catalog.execute(sql, [row.values.get(c) for c in columns])
                except duckdb.Error as exc:
                    raise _Located(row.line, _first_line(exc)) from None
            raise _Located(0, "")
    except _Located as found:
        return (found.line, found.text) if found.line else None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _write(catalog: Catalog, schema: _Schema, columns: list[str], rows: list[_Row], where: str) -> None:
    """Insert every row in one transaction, and check that the catalog still loads."""
    names = ", ".join(f'"{c}"' for c in columns)
    one = "(" + ", ".join("?" for _ in columns) + ")"
    sql = f'INSERT INTO "{schema.table}" ({names}) VALUES '
    try:
        with catalog.transaction():
            for start in range(0, len(rows), INSERT_BATCH):
                part = rows[start:start + INSERT_BATCH]
                values = [row.values.get(c) for row in part for c in columns]
                catalog.execute(sql + ", ".join([one] * len(part)), values)
            # The catalog's own loader is the last check: a row it cannot read would
            # make every later open fail, so it must not be committed.
            catalog.reload()
    except duckdb.Error as exc:
        catalog.reload()
        found = _refused_row(catalog, sql + one, columns, rows)
        line, text = found if found else (0, _first_line(exc))
        at = f"{where}:{line}" if line else where
        raise ImportRejected(f"cannot import {where} into {schema.table}: the database refused it; "
                             "nothing was imported", (f"{at}: {text}",)) from None
    except (ValueError, KeyError, TypeError) as exc:
        catalog.reload()
        raise ImportRejected(f"cannot import {where} into {schema.table}: the catalog cannot read the "
                             "imported rows; nothing was imported", (f"{where}: {exc}",)) from None
    except BaseException:
        catalog.reload()
        raise
    catalog.reload()
