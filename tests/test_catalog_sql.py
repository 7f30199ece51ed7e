"""``murakkab catalog sql``: catalog/sql.py, and the SHOW ... WHERE predicate checks.

Read-only queries over the catalog's own tables answer; everything else (other
statements, table functions, functions that read files or the system, tables that are
not the catalog's, several statements) is refused before DuckDB sees it, and changes
nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from murakkab.catalog.catalog import Catalog
from murakkab.catalog.show import show
from murakkab.catalog.sql import HINT, check_query, run_readonly
from murakkab.grammar.diagnostics import MurakkabError

TINY = Path(__file__).parent / "fixtures" / "tiny_catalog"


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return Catalog(seed_dir=TINY)


def snapshot(cat: Catalog) -> dict[str, list[tuple[Any, ...]]]:
    tables = [r[0] for r in cat.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1")]
    return {t: cat.execute(f'SELECT * FROM "{t}" ORDER BY ALL') for t in tables}


# -- allowed ----------------------------------------------------------------------------------


def test_select(cat: Catalog) -> None:
    cols, rows = run_readonly(cat, "SELECT name, quality FROM agents WHERE kind = 'tool' ORDER BY name")
    assert cols == ["name", "quality"]
    assert rows == [("detect-cpu", 0.9)]


def test_join_and_aggregate(cat: Catalog) -> None:
    cols, rows = run_readonly(cat, """
        SELECT a.interface, count(*) AS n, max(p.per_media_s) AS slowest
        FROM agents AS a JOIN profiles AS p ON p.agent = a.name
        WHERE a.interface = 'speech_to_text'
        GROUP BY a.interface""")
    assert cols == ["interface", "n", "slowest"]
    assert rows == [("speech_to_text", 2, 0.5)]


def test_cte_union_and_subquery(cat: Catalog) -> None:
    cols, rows = run_readonly(cat, """
        WITH gpu AS (SELECT agent FROM profiles WHERE hardware = 'GPU'),
             cpu AS (SELECT agent FROM profiles WHERE hardware = 'CORE' AND agent NOT IN (SELECT agent FROM gpu))
        SELECT agent, 'gpu' AS on_hw FROM gpu UNION ALL SELECT agent, 'cpu' FROM cpu ORDER BY 1, 2""")
    assert cols == ["agent", "on_hw"]
    assert ("detect-cpu", "cpu") in rows and ("stt-gpu", "gpu") in rows
    assert len(rows) == 7


def test_qualified_names_trailing_semicolon_and_from_first(cat: Catalog) -> None:
    assert run_readonly(cat, "SELECT count(*) AS n FROM main.hardware WHERE kind = 'gpu';") == (["n"], [(1,)])
    cols, rows = run_readonly(cat, "FROM hardware SELECT name WHERE name <> 'local-core' ORDER BY name")
    assert rows == [("CORE",), ("GPU",)]


def test_every_catalog_table_can_be_read(cat: Catalog) -> None:
    for table in ("interfaces", "agents", "hardware", "clusters", "profiles", "statistics", "llm_curves",
                  "observations", "catalog_meta", "workflow_templates"):
        run_readonly(cat, f"SELECT * FROM {table} LIMIT 1")


def test_query_errors_are_murakkab_errors(cat: Catalog) -> None:
    with pytest.raises(MurakkabError, match="the query failed: Binder Error"):
        run_readonly(cat, "SELECT no_such_column FROM agents")
    with pytest.raises(MurakkabError, match="cannot parse the query"):
        run_readonly(cat, "SELEC name FROM agents")
    with pytest.raises(MurakkabError, match="needs a query"):
        run_readonly(cat, "  ;  ")


# -- refused ----------------------------------------------------------------------------------

REFUSED = [
    ("SELECT 1; DROP TABLE agents", "2 statements (SELECT, DROP)"),
    ("SELECT * FROM agents WHERE 1=1; DROP TABLE agents", "2 statements"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto()"),
    ("SELECT * FROM read_parquet('x.parquet')", "read_parquet()"),
    ("SELECT * FROM read_json('x.json')", "read_json()"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text()"),
    ("SELECT * FROM read_blob('/etc/passwd')", "read_blob()"),
    ("SELECT * FROM glob('/etc/*')", "glob()"),
    ("SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv()"),
    ("SELECT * FROM parquet_scan('x.parquet')", "parquet_scan()"),
    ("SELECT * FROM duckdb_settings()", "duckdb_settings()"),
    ("SELECT * FROM query('SELECT 1')", "query()"),
    ("SELECT * FROM range(10)", "table function"),
    ("SELECT * FROM unnest([1, 2])", "table function"),
    ("SELECT * FROM agents, LATERAL read_text(agents.name)", "read_text()"),
    ("SELECT (SELECT count(*) FROM read_csv('/etc/passwd')) AS n", "read_csv()"),
    ("SELECT name FROM agents WHERE name IN (SELECT * FROM glob('*'))", "glob()"),
    ("SELECT getenv('HOME')", "getenv()"),
    ("SELECT current_setting('enable_external_access')", "current_setting()"),
    ("SELECT json_execute_serialized_sql('x')", "json_execute_serialized_sql()"),
    ("SELECT * FROM '/etc/passwd'", "the table '\"/etc/passwd\"'"),
    ('SELECT * FROM "data.parquet"', "not a catalog table"),
    ("SELECT * FROM information_schema.tables", "not a catalog table"),
    ("SELECT * FROM duckdb_tables", "not a catalog table"),
    ("SELECT * FROM sqlite_master", "not a catalog table"),
    ("SELECT * FROM other.main.agents", "not a catalog table"),
    ("SELECT * FROM (WITH duckdb_tables AS (SELECT 1) SELECT 1), duckdb_tables", "not a catalog table"),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r", "WITH RECURSIVE"),
    ("SELECT * INTO copy FROM agents", "SELECT ... INTO"),
    ("COPY agents TO '/tmp/x.csv'", "COPY"),
    ("COPY (SELECT * FROM agents) TO '/tmp/x.csv'", "COPY"),
    ("ATTACH '/tmp/x.db'", "ATTACH"),
    ("ATTACH '/tmp/x.db' AS x (READ_ONLY)", "ATTACH"),
    ("DETACH x", "DETACH"),
    ("INSTALL httpfs", "INSTALL"),
    ("LOAD httpfs", "LOAD"),
    ("PRAGMA version", "PRAGMA"),
    ("SET threads = 1", "SET"),
    ("RESET threads", "RESET"),
    ("CALL pragma_version()", "CALL"),
    ("CREATE TABLE x AS SELECT 1", "CREATE"),
    ("CREATE MACRO m(a) AS a", "CREATE"),
    ("INSERT INTO agents SELECT * FROM agents", "INSERT"),
    ("UPDATE agents SET quality = 1", "UPDATE"),
    ("DELETE FROM agents", "DELETE"),
    ("DROP TABLE agents", "DROP"),
    ("ALTER TABLE agents ADD COLUMN x INT", "ALTER"),
    ("EXPORT DATABASE '/tmp/x'", "EXPORT DATABASE"),
    ("IMPORT DATABASE '/tmp/x'", "IMPORT DATABASE"),
    ("CHECKPOINT", "CHECKPOINT"),
    ("BEGIN TRANSACTION", "BEGIN"),
    ("DESCRIBE agents", "DESCRIBE"),
    ("SHOW TABLES", "SHOW"),
    ("EXPLAIN SELECT 1", "EXPLAIN"),
    ("USE memory", "USE"),
]


@pytest.mark.parametrize("sql, what", REFUSED, ids=[s for s, _ in REFUSED])
def test_refused_and_nothing_changes(cat: Catalog, sql: str, what: str) -> None:
    before = snapshot(cat)
    with pytest.raises(MurakkabError) as info:
        run_readonly(cat, sql)
    assert what in info.value.message
    assert info.value.hint == HINT
    assert snapshot(cat) == before
    assert len(cat.agents()) == 7 and cat.execute("SELECT count(*) FROM agents") == [(7,)]


def test_the_hint_shows_a_read_only_query(cat: Catalog) -> None:
    with pytest.raises(MurakkabError) as info:
        run_readonly(cat, "DROP TABLE agents")
    assert info.value.message == "catalog sql refused DROP: only queries are allowed"
    assert "catalog sql answers read-only queries: SELECT ... FROM agents" in info.value.render()


def test_the_checked_tree_is_what_runs(cat: Catalog) -> None:
    tree = check_query(cat, "select name from agents where quality > 0.85 order by 1")
    assert tree.sql(dialect="duckdb") == "SELECT name FROM agents WHERE quality > 0.85 ORDER BY 1"


def test_nothing_a_query_does_is_kept(cat: Catalog) -> None:
    # The query runs in a transaction that is always rolled back: the catalog stays usable.
    run_readonly(cat, "SELECT count(*) FROM agents")
    cat.execute("SELECT 1")
    with cat.transaction():
        pass


def test_external_access_is_off_as_a_second_line(cat: Catalog) -> None:
    # Even SQL that bypassed the checks could not read files.
    import duckdb
    with pytest.raises(duckdb.Error):
        cat.execute("SELECT * FROM read_csv('/etc/passwd')")


# -- SHOW ... WHERE -----------------------------------------------------------------------------


@pytest.mark.parametrize("where, what", [
    ("1=1; DROP TABLE agents", "not a statement"),
    ("read_csv('x') IS NULL", "is not allowed in a SHOW predicate"),
    ("name IN (SELECT 1)", "is not allowed in a SHOW predicate"),
    ("name IN (SELECT name FROM read_csv('/etc/passwd'))", "is not allowed in a SHOW predicate"),
    ("getenv('HOME') = 'x'", "is not allowed in a SHOW predicate"),
    ("1=1) UNION SELECT * FROM duckdb_settings() --", ""),
])
def test_show_where_injections_are_refused(cat: Catalog, where: str, what: str) -> None:
    before = snapshot(cat)
    with pytest.raises(MurakkabError) as info:
        show(cat, "agents", where=where)
    assert what in info.value.message
    assert snapshot(cat) == before
    assert len(show(cat, "agents").rows) == 7
