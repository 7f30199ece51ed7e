"""``murakkab catalog sql "SELECT ..."``: read-only, bounded queries over the catalog tables.

The text is user input. It is parsed with sqlglot (DuckDB dialect) and must be exactly
one query (SELECT, WITH ... SELECT, UNION / INTERSECT / EXCEPT). Every node of the
tree is checked before anything runs:

* no statement other than a query anywhere (COPY, ATTACH, DETACH, INSTALL, LOAD,
  PRAGMA, SET, CALL, CREATE, INSERT, UPDATE, DELETE, DROP, ALTER, EXPORT/IMPORT
  DATABASE, SELECT ... INTO, ...);
* no table functions in FROM (read_csv, glob, duckdb_settings(), range, unnest, ...);
* every function called is on an allow-list (:data:`ALLOWED_FUNCTIONS`) by the name
  DuckDB resolves, which ignores case and quotes: ``"getenv"('HOME')`` is getenv.
  The list holds the usual scalar, aggregate and window functions and leaves out what
  reads files or the system, runs SQL given as text, changes state, or builds a value
  far larger than its input outside DuckDB's memory accounting (range, repeat, lpad,
  printf: ``len(range(200000000))`` took 13.6 GB whatever the memory limit);
* every table named is one of the catalog's own tables (the main schema) or a CTE
  in scope; a replacement scan ('/etc/passwd', "x.parquet") names no such table.

Refusals name a function or construct as the user wrote it. The checked tree is
re-emitted by sqlglot as DuckDB SQL, checked once more (what runs is what was
checked), and run inside a transaction that is always rolled back, under
:class:`QueryLimits`: a wall-clock timeout (the connection is interrupted), DuckDB's
memory limit and thread count (when the catalog was opened with the limits), and a
cap on the rows of the answer. The connection's hardened configuration (no external
access, no extension loading; ``catalog.HARDENED``) is a second line of defence, not
the first.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from ..grammar.diagnostics import MurakkabError
from .catalog import Catalog, QueryLimits
from .show import visible, written

HINT = "catalog sql answers read-only queries: SELECT ... FROM agents JOIN profiles ON agents.name = profiles.agent ..."

# sqlglot logs what it cannot transpile ("contains unsupported syntax") as warnings to
# stderr; a query it cannot check is refused or reported here, with a location.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

# Statement nodes refused wherever they appear (looked up by name: sqlglot versions differ).
_STATEMENTS = (
    "Command", "Copy", "Attach", "Detach", "Install", "Pragma", "Set", "Create", "Insert", "Update",
    "Delete", "Drop", "Alter", "AlterTable", "Use", "Transaction", "Commit", "Rollback", "Merge",
    "Describe", "Show", "Summarize", "Into", "LoadData", "Export", "Import", "Analyze", "Refresh",
    "Grant", "Revoke", "Cache", "Uncache", "TruncateTable", "Comment", "Kill", "Call",
)
_STATEMENT_TYPES: tuple[type, ...] = tuple(
    t for t in (getattr(exp, name, None) for name in _STATEMENTS) if isinstance(t, type))

# The functions a query may call, by the lower-case name DuckDB resolves. Each one's
# result is bounded by its input's size (or by the memory limit, for aggregates).
ALLOWED_FUNCTIONS: frozenset[str] = frozenset("""
    count count_if countif sum avg mean min max median mode quantile quantile_cont quantile_disc
    approx_quantile approx_count_distinct stddev stddev_pop stddev_samp variance var_pop var_samp
    string_agg group_concat listagg list array_agg first last any_value arbitrary arg_min arg_max
    argmin argmax min_by max_by bool_and bool_or product fsum sumkahan favg mad geomean
    geometric_mean corr covar_pop covar_samp regr_slope regr_intercept regr_r2 regr_count entropy
    kurtosis skewness histogram bit_and bit_or bit_xor
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
    abs ceil ceiling floor round round_even trunc sign sqrt cbrt exp ln log log2 log10 pow power
    greatest least mod pi degrees radians sin cos tan asin acos atan atan2 isnan isinf isfinite
    even gcd lcm bit_count random uuid gen_random_uuid
    length len char_length character_length strlen lower upper lcase ucase trim ltrim rtrim substr
    substring left right concat concat_ws replace reverse position strpos instr starts_with
    ends_with contains prefix suffix split_part string_split str_split string_split_regex
    regexp_split_to_array regexp_matches regexp_replace regexp_extract regexp_full_match ascii chr
    md5 sha256 hash levenshtein damerau_levenshtein hamming jaccard jaro_similarity
    jaro_winkler_similarity editdist3 nfc_normalize strip_accents translate array_to_string
    now today age date_part datepart date_trunc datetrunc date_diff datediff date_sub date_add
    year month day hour minute second epoch epoch_ms strftime strptime try_strptime make_date
    make_timestamp dayname monthname to_timestamp last_day dayofweek dayofyear week weekofyear
    quarter isodow yearweek time_bucket to_seconds to_minutes to_hours to_days
    nullif typeof struct_pack struct_extract row map list_value list_pack array_value list_extract
    list_element list_contains list_has array_contains list_position list_sort list_reverse_sort
    list_distinct list_unique list_sum list_avg list_min list_max list_count list_concat list_cat
    array_concat array_cat array_length list_slice list_transform list_filter list_reduce
    list_aggregate flatten unnest list_any_value list_median list_grade_up
    json_extract json_extract_string json_valid json_keys json_array_length json_type
""".split())

# Written like calls but syntax to DuckDB (no entry in duckdb_functions()).
SYNTAX_FUNCTIONS: frozenset[str] = frozenset({"cast", "try_cast", "extract", "coalesce", "columns", "exists"})

# Function nodes that sqlglot renders as syntax, not as a call: [1, 2], {'a': 1},
# CASE, CURRENT_DATE, j -> '$.a'.
_SYNTAX_NODES: tuple[type, ...] = tuple(t for t in (getattr(exp, name, None) for name in (
    "Array", "Struct", "Case", "If", "CurrentDate", "CurrentTime", "CurrentTimestamp", "JSONExtract",
    "JSONExtractScalar", "Bracket")) if isinstance(t, type))

# Statements sqlglot cannot parse, named from their first words for a clear refusal.
_KEYWORDS = ("EXPORT DATABASE", "IMPORT DATABASE", "COPY", "ATTACH", "DETACH", "INSTALL", "FORCE INSTALL",
             "LOAD", "PRAGMA", "SET", "RESET", "CALL", "CREATE", "INSERT", "UPDATE", "DELETE", "DROP",
             "ALTER", "VACUUM", "CHECKPOINT", "FORCE CHECKPOINT", "BEGIN", "COMMIT", "ROLLBACK", "USE",
             "EXPLAIN", "DESCRIBE", "SHOW", "SUMMARIZE", "PIVOT", "UNPIVOT", "TRUNCATE", "MERGE", "GRANT",
             "PREPARE", "EXECUTE", "DEALLOCATE", "UPSERT", "REPLACE")

# The limits' environment variables (defaults in QueryLimits).
ENV_TIMEOUT, ENV_MEMORY, ENV_THREADS, ENV_MAX_ROWS = (
    "MURAKKAB_SQL_TIMEOUT_S", "MURAKKAB_SQL_MEMORY", "MURAKKAB_SQL_THREADS", "MURAKKAB_SQL_MAX_ROWS")
_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.I)
_BYTES = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30,
          "tib": 2**40}
# More DuckDB threads than this only cost memory and start-up (100,000 took minutes).
MAX_THREADS = 256
# The catalog is loaded under the same limit (about 16 MB here): below this, no query runs.
MIN_MEMORY_BYTES = 64e6


class _Rollback(Exception):
    pass


class _Deadline:
    """Interrupt the catalog's connection if the block outlives ``seconds``. DuckDB checks
    for an interrupt between chunks of work, so a runaway query stops within moments of
    its deadline; the lock keeps a late timer from interrupting the statement after."""

    def __init__(self, catalog: Catalog, seconds: float) -> None:
        self._catalog, self._lock, self._done = catalog, threading.Lock(), False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        with self._lock:
            if not self._done:
                self._catalog.interrupt()

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()


def _refuse(what: str) -> MurakkabError:
    # ``what`` quotes the user's text, which reaches a terminal too.
    return MurakkabError(f"catalog sql refused {visible(what)}", None, HINT)


def limits_from_env(timeout_s: float | None = None, memory: str | None = None,
                    environ: dict[str, str] | None = None) -> QueryLimits:
    """The limits of a query: the arguments (CLI flags), else $MURAKKAB_SQL_*, else
    :class:`QueryLimits`'s defaults; a located error for a value that is not one."""
    env = os.environ if environ is None else environ
    default = QueryLimits()

    def number(name: str, flag: str, given: float | None, fallback: float, kind: type) -> Any:
        text = f"{given:g}" if given is not None else env.get(name)
        if text is None or text.strip() == "":
            return fallback
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value <= 0:
            where = flag if given is not None else name
            raise MurakkabError(f"{where} = {text!r} is not a positive {'whole ' if kind is int else ''}number",
                                None, f"e.g. {name}={fallback}")
        return value

    size = memory if memory is not None else env.get(ENV_MEMORY) or default.memory
    if not _MEMORY.fullmatch(size.strip()):
        where = "--memory" if memory is not None else ENV_MEMORY
        raise MurakkabError(f"{where} = {size!r} is not a memory size", None, "e.g. 512MB, 1GB or 2GiB")
    amount, unit = _MEMORY.fullmatch(size.strip()).groups()  # type: ignore[union-attr]
    if float(amount) * _BYTES[unit.lower()] < MIN_MEMORY_BYTES:
        where = "--memory" if memory is not None else ENV_MEMORY
        raise MurakkabError(f"{where} = {size!r} is too little to load the catalog", None,
                            f"at least {MIN_MEMORY_BYTES / 1e6:.0f}MB")
    threads = number(ENV_THREADS, "", None, default.threads, int)
    if threads > MAX_THREADS:
        raise MurakkabError(f"{ENV_THREADS} = {threads} is more than {MAX_THREADS} threads", None,
                            f"e.g. {ENV_THREADS}={os.cpu_count() or default.threads} (this machine's cores)")
    return QueryLimits(timeout_s=number(ENV_TIMEOUT, "--timeout", timeout_s, default.timeout_s, float),
                       memory=size.strip(), threads=threads,
                       max_rows=number(ENV_MAX_ROWS, "", None, default.max_rows, int))


def _statement_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    if isinstance(node, exp.Into):
        return "SELECT ... INTO"
    return node.key.upper()


def _resolved_name(node: exp.Expression) -> str | None:
    """The lower-case name DuckDB resolves for a call (quotes and case do not matter to
    it), or None for a node sqlglot renders as syntax rather than a call."""
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    # A typed node runs as whatever sqlglot renders for DuckDB (TimeToStr is STRFTIME).
    match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(", node.sql(dialect="duckdb"))
    return match.group(1).lower() if match else None


def _written(node: exp.Expression, sql: str) -> str:
    """A function or construct as the user wrote it, else by the name it resolves to."""
    return written(node, sql) or _resolved_name(node) or node.key.upper()


def _leading_keyword(sql: str) -> str | None:
    words = " ".join(re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S).split()).upper()
    words = words.lstrip("(; ")
    for kw in _KEYWORDS:
        if words == kw or words.startswith(kw + " ") or words.startswith(kw + "("):
            return kw
    return None


def catalog_tables(catalog: Catalog) -> set[str]:
    """The catalog's own tables (main schema), lower case."""
    return {r[0].lower() for r in catalog.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")}


def _with(node: exp.Expression) -> exp.With | None:
    """The WITH clause of a query (sqlglot calls the argument 'with' or 'with_')."""
    found = node.args.get("with_") or node.args.get("with")
    return found if isinstance(found, exp.With) else None


def _visible_ctes(node: exp.Expression) -> set[str]:
    """Names of the CTEs in scope at ``node`` (a CTE sees itself and the ones before it)."""
    names: set[str] = set()
    child, parent = node, node.parent
    while parent is not None:
        if isinstance(parent, exp.With) and isinstance(child, exp.CTE):
            ctes = list(parent.expressions)
            upto = ctes.index(child) if child in ctes else len(ctes) - 1
            names |= {c.alias_or_name.lower() for c in ctes[: upto + 1]}
        elif isinstance(parent, exp.Query) and _with(parent) is not None and child is not _with(parent):
            names |= {c.alias_or_name.lower() for c in _with(parent).expressions}
        child, parent = parent, parent.parent
    return names


def _parse(sql: str) -> list[exp.Expression]:
    try:
        return [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        keyword = _leading_keyword(sql)
        if keyword:
            raise _refuse(f"{keyword}: only queries are allowed") from None
        errors = getattr(exc, "errors", None)
        detail = errors[0].get("description") if errors else str(exc).splitlines()[0]
        raise MurakkabError(f"cannot parse the query: {detail}", None, HINT) from None


def _is_operator(node: exp.Func) -> bool:
    """Whether sqlglot renders a node that is both a function and an operator (And, Pow,
    RegexpLike, ...) as the operator (``a AND b``) rather than as a call."""
    left = node.this
    return (isinstance(node, (exp.Binary, exp.Connector, exp.Unary)) and isinstance(left, exp.Expression)
            and node.sql(dialect="duckdb").startswith(left.sql(dialect="duckdb")))


def _check_function(node: exp.Func, sql: str) -> None:
    if isinstance(node, _SYNTAX_NODES) or _is_operator(node):
        return      # its operands are checked as nodes of their own
    name = _resolved_name(node)
    if name is None:
        raise _refuse(f"the construct {_written(node, sql)}: it is not among the functions allowed")
    if name not in ALLOWED_FUNCTIONS and name not in SYNTAX_FUNCTIONS:
        raise _refuse(f"the function {_written(node, sql)}(): only the usual scalar, aggregate and window "
                      "functions are allowed, none that reads files or the system or builds unbounded values")


def _check_tree(tree: exp.Expression, sql: str, allowed: set[str], database: str) -> None:
    for node in tree.walk():
        if isinstance(node, _STATEMENT_TYPES):
            raise _refuse(f"{_statement_name(node)}: only queries are allowed")
        if isinstance(node, exp.With) and node.args.get("recursive"):
            raise _refuse("WITH RECURSIVE: a recursive query can run forever")
        if isinstance(node, (exp.From, exp.Join, exp.Lateral)):
            source = node.this
            if isinstance(node, (exp.From, exp.Join)) and isinstance(source, exp.Lateral):
                continue    # the LATERAL node itself is checked
            if not isinstance(source, (exp.Table, exp.Subquery, exp.Values)):
                raise _refuse(f"the table function {_written(source, sql)}() in FROM: "
                              "only catalog tables, CTEs and subqueries may be read")
        if isinstance(node, exp.Table):
            if not isinstance(node.this, exp.Identifier):
                raise _refuse(f"the table function {_written(node.this, sql)}() in FROM: "
                              "only catalog tables, CTEs and subqueries may be read")
            name = node.name.lower()
            schema, db = node.db.lower(), node.catalog.lower()
            if not schema and not db and name in _visible_ctes(node):
                continue
            if name not in allowed or schema not in ("", "main") or db not in ("", database):
                raise _refuse(f"the table '{node.sql(dialect='duckdb')}': it is not a catalog table; "
                              f"tables: {', '.join(sorted(allowed))}")
        if isinstance(node, exp.Func):
            _check_function(node, sql)


def check_query(catalog: Catalog, sql: str) -> exp.Expression:
    """Parse and check ``sql``; the tree of one read-only query over catalog tables."""
    if not sql or not sql.strip():
        raise MurakkabError("catalog sql needs a query", None, HINT)
    statements = _parse(sql)
    if not statements:
        raise MurakkabError("catalog sql needs a query", None, HINT)
    if len(statements) != 1:
        kinds = ", ".join(_statement_name(s) for s in statements)
        raise _refuse(f"{len(statements)} statements ({kinds}): it runs exactly one query")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise _refuse(f"{_leading_keyword(sql) or _statement_name(tree)}: only queries are allowed")
    allowed = catalog_tables(catalog)
    database = str(catalog.execute("SELECT current_database()")[0][0]).lower()
    _check_tree(tree, sql, allowed, database)
    # What runs is sqlglot's rendering, not the user's text: check that too, so that no
    # rendering of an allowed node can call what the allow-list leaves out.
    emitted = tree.sql(dialect="duckdb")
    again = _parse(emitted)
    if len(again) != 1 or not isinstance(again[0], exp.Query):
        raise MurakkabError("cannot check the query as it would run", None, HINT)
    _check_tree(again[0], emitted, allowed, database)
    return tree


def run_readonly(catalog: Catalog, sql: str, limits: QueryLimits | None = None
                 ) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of one checked, read-only query over the catalog tables,
    stopped at ``limits`` (default: the catalog's own, else :class:`QueryLimits`'s)."""
    limits = limits or catalog.limits or QueryLimits()
    tree = check_query(catalog, sql)
    text = tree.sql(dialect="duckdb")
    result: tuple[list[str], list[tuple[Any, ...]]] | None = None
    try:
        # Whatever the query did, nothing is kept: the transaction is always rolled back.
        with catalog.transaction():
            with _Deadline(catalog, limits.timeout_s):
                result = catalog.query_rows(text, limits.max_rows + 1)
            raise _Rollback
    except _Rollback:
        pass
    except duckdb.InterruptException:
        raise MurakkabError(f"the query stopped at its time limit ({limits.timeout_s:g} s)", None,
                            f"narrow it (WHERE, LIMIT, fewer joins) or raise {ENV_TIMEOUT} / --timeout") from None
    except duckdb.OutOfMemoryException:
        raise MurakkabError(f"the query stopped at its memory limit ({limits.memory})", None,
                            f"narrow it (WHERE, LIMIT, fewer joins) or raise {ENV_MEMORY} / --memory") from None
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MurakkabError(f"the query failed: {visible(first)}", None, HINT) from None
    assert result is not None
    columns, rows = result
    if len(rows) > limits.max_rows:
        raise MurakkabError(f"the answer has more than {limits.max_rows:,} rows", None,
                            f"add a LIMIT or an aggregate, or raise {ENV_MAX_ROWS}")
    return columns, rows
