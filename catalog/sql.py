"""``murakkab catalog sql "SELECT ..."``: read-only queries over the catalog tables.

The text is user input. It is parsed with sqlglot (DuckDB dialect) and must be exactly
one query (SELECT, WITH ... SELECT, UNION / INTERSECT / EXCEPT). Every node of the
tree is checked before anything runs:

* no statement other than a query anywhere (COPY, ATTACH, DETACH, INSTALL, LOAD,
  PRAGMA, SET, CALL, CREATE, INSERT, UPDATE, DELETE, DROP, ALTER, EXPORT/IMPORT
  DATABASE, SELECT ... INTO, ...);
* no table functions in FROM (read_csv, read_parquet, glob, duckdb_settings(), range,
  unnest, ...) and no function, anywhere, that reads files, the system or runs SQL
  (read_*, glob, getenv, current_setting, query, json_execute_serialized_sql, ...);
* every table named is one of the catalog's own tables (the main schema) or a CTE
  in scope; a replacement scan ('/etc/passwd', "x.parquet") names no such table.

The checked tree is re-emitted by sqlglot as DuckDB SQL and run inside a transaction
that is always rolled back. The connection's ``enable_external_access = false`` is a
second line of defence, not the first.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from ..grammar.diagnostics import MurakkabError
from .catalog import Catalog

HINT = "catalog sql answers read-only queries: SELECT ... FROM agents JOIN profiles ON agents.name = profiles.agent ..."

# Statement nodes refused wherever they appear (looked up by name: sqlglot versions differ).
_STATEMENTS = (
    "Command", "Copy", "Attach", "Detach", "Install", "Pragma", "Set", "Create", "Insert", "Update",
    "Delete", "Drop", "Alter", "AlterTable", "Use", "Transaction", "Commit", "Rollback", "Merge",
    "Describe", "Show", "Summarize", "Into", "LoadData", "Export", "Import", "Analyze", "Refresh",
    "Grant", "Revoke", "Cache", "Uncache", "TruncateTable", "Comment", "Kill", "Call",
)
_STATEMENT_TYPES: tuple[type, ...] = tuple(
    t for t in (getattr(exp, name, None) for name in _STATEMENTS) if isinstance(t, type))

# Functions that read files or the system, or run SQL given as text.
_DENIED_PREFIXES = (
    "read_", "parquet_", "sniff_", "glob", "duckdb_", "pragma_", "iceberg_", "delta_", "postgres_",
    "sqlite_", "mysql_", "json_execute", "query", "getenv", "current_setting", "nextval", "currval",
    "setval", "which_secret", "load_", "install_", "checkpoint", "force_checkpoint", "enable_",
    "disable_", "sql_auto_complete", "test_", "httpfs", "s3_", "azure_", "http_", "fts_", "icu_",
    "ducklake", "attach", "detach", "export_", "import_", "copy_", "write_", "unity_", "uc_",
)

# Statements sqlglot cannot parse, named from their first words for a clear refusal.
_KEYWORDS = ("EXPORT DATABASE", "IMPORT DATABASE", "COPY", "ATTACH", "DETACH", "INSTALL", "FORCE INSTALL",
             "LOAD", "PRAGMA", "SET", "RESET", "CALL", "CREATE", "INSERT", "UPDATE", "DELETE", "DROP",
             "ALTER", "VACUUM", "CHECKPOINT", "FORCE CHECKPOINT", "BEGIN", "COMMIT", "ROLLBACK", "USE",
             "EXPLAIN", "DESCRIBE", "SHOW", "SUMMARIZE", "PIVOT", "UNPIVOT", "TRUNCATE", "MERGE", "GRANT",
             "PREPARE", "EXECUTE", "DEALLOCATE", "UPSERT", "REPLACE")


class _Rollback(Exception):
    pass


def _refuse(what: str) -> MurakkabError:
    return MurakkabError(f"catalog sql refused {what}", None, HINT)


def _statement_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    if isinstance(node, exp.Into):
        return "SELECT ... INTO"
    return node.key.upper()


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this)
    if isinstance(node, exp.Func):
        return node.sql_name()
    return node.key


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


def check_query(catalog: Catalog, sql: str) -> exp.Expression:
    """Parse and check ``sql``; the tree of one read-only query over catalog tables."""
    if not sql or not sql.strip():
        raise MurakkabError("catalog sql needs a query", None, HINT)
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        keyword = _leading_keyword(sql)
        if keyword:
            raise _refuse(f"{keyword}: only queries are allowed") from None
        errors = getattr(exc, "errors", None)
        detail = errors[0].get("description") if errors else str(exc).splitlines()[0]
        raise MurakkabError(f"cannot parse the query: {detail}", None, HINT) from None
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
    for node in tree.walk():
        if isinstance(node, _STATEMENT_TYPES):
            raise _refuse(f"{_statement_name(node)}: only queries are allowed")
        if isinstance(node, exp.With) and node.args.get("recursive"):
            raise _refuse("WITH RECURSIVE: a recursive query can run forever")
        if isinstance(node, exp.Func):
            name = _function_name(node).lower()
            if name.startswith(_DENIED_PREFIXES):
                raise _refuse(f"the function {name}(): it reads files or the system")
        if isinstance(node, (exp.From, exp.Join, exp.Lateral)):
            source = node.this
            if isinstance(node, (exp.From, exp.Join)) and isinstance(source, exp.Lateral):
                continue    # the LATERAL node itself is checked
            if not isinstance(source, (exp.Table, exp.Subquery, exp.Values)):
                raise _refuse(f"the table function {_function_name(source).lower()}() in FROM: "
                              "only catalog tables, CTEs and subqueries may be read")
        if isinstance(node, exp.Table):
            if not isinstance(node.this, exp.Identifier):
                raise _refuse(f"the table function {_function_name(node.this).lower()}() in FROM: "
                              "only catalog tables, CTEs and subqueries may be read")
            name = node.name.lower()
            schema, db = node.db.lower(), node.catalog.lower()
            if not schema and not db and name in _visible_ctes(node):
                continue
            if name not in allowed or schema not in ("", "main") or db not in ("", database):
                raise _refuse(f"the table '{node.sql(dialect='duckdb')}': it is not a catalog table; "
                              f"tables: {', '.join(sorted(allowed))}")
    return tree


def run_readonly(catalog: Catalog, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of one checked, read-only query over the catalog tables."""
    tree = check_query(catalog, sql)
    text = tree.sql(dialect="duckdb")
    result: tuple[list[str], list[tuple[Any, ...]]] | None = None
    try:
        # Whatever the query did, nothing is kept: the transaction is always rolled back.
        with catalog.transaction():
            result = catalog.query(text)
            raise _Rollback
    except _Rollback:
        pass
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MurakkabError(f"the query failed: {first}", None, HINT) from None
    assert result is not None
    return result
