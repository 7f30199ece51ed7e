"""Hardening of the catalog (issue 14): ``catalog sql`` calls only allowed functions,
whatever their quoting, and stops at its time and memory limits; values reach a
terminal or a spreadsheet as data; a file that is not a catalog, or a damaged one, is a
located error, and so is a SHOW predicate DuckDB refuses; and a run holds the catalog's
write lock only while it records.

The CLI is run as a subprocess where what matters is what reaches stdout and stderr.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

import murakkab
from murakkab.catalog.catalog import HARDENED, Catalog, QueryLimits
from murakkab.catalog.show import csv_cell, show, visible
from murakkab.catalog.sql import ALLOWED_FUNCTIONS, HINT, SYNTAX_FUNCTIONS, limits_from_env, run_readonly
from murakkab.grammar.diagnostics import MurakkabError

TINY = Path(__file__).parent / "fixtures" / "tiny_catalog"
ROOT = Path(__file__).resolve().parent.parent
VIDEO_QA = ROOT / "examples" / "video_qa.job"


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return Catalog(seed_dir=TINY)


@pytest.fixture(scope="module")
def catalog_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed catalog file with the tiny seed."""
    path = tmp_path_factory.mktemp("hardening") / "c.duckdb"
    Catalog(path, seed_dir=TINY).close()
    return path


def cli(*argv: str, home: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """``murakkab ARGV`` in a fresh process; stdout and stderr as bytes, as a terminal gets them."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MURAKKAB_")}
    if home is not None:
        environ["HOME"] = str(home)
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "murakkab", *argv], cwd=ROOT, env=environ,
                          capture_output=True, timeout=120)


def assert_located(done: subprocess.CompletedProcess[bytes], *words: str) -> str:
    """Exit 2, an error line naming ``words``, a hint, no traceback; the error text."""
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.startswith("error: ") and "\n  hint: " in err, err
    assert "Traceback" not in err and "internal error" not in err, err
    for word in words:
        assert word in err, err
    return err


# -- the allow-list: quoting and case do not matter ------------------------------------------

QUOTED = [
    ("SELECT \"current_setting\"('secret_directory')", "current_setting()"),
    ("SELECT \"getenv\"('HOME')", "getenv()"),
    ("SELECT \"GetEnv\"('HOME')", "GetEnv()"),
    ("SELECT GETENV('HOME')", "GETENV()"),
    ("SELECT main.\"getenv\"('HOME')", "getenv()"),
    ("SELECT name FROM agents WHERE \"current_setting\"('threads') IS NOT NULL", "current_setting()"),
    ("SELECT list_transform([1], x -> \"getenv\"('HOME'))", "getenv()"),
    ("SELECT \"query\"('SELECT 1')", "query()"),
    ("SELECT \"version\"()", "version()"),
    ("SELECT \"setseed\"(0.5)", "setseed()"),
    ("SELECT \"getvariable\"('x')", "getvariable()"),
    ("SELECT \"nextval\"('s')", "nextval()"),
    # Builders of values far larger than their input, outside DuckDB's memory accounting.
    ("SELECT len(range(200000000))", "range()"),
    ("SELECT generate_series(1, 200000000)", "generate_series()"),
    ("SELECT repeat('x', 2000000000)", "repeat()"),
    ("SELECT lpad('x', 2000000000, 'y')", "lpad()"),
    ("SELECT printf('%2000000000d', 1)", "printf()"),
    ("SELECT \"no_such_function\"(1)", "no_such_function()"),
    # Table functions are named as written, not as sqlglot's node (GENERATESERIES, ANONYMOUS).
    ("SELECT * FROM range(10)", "the table function range() in FROM"),
    ("SELECT * FROM Generate_Series(1, 10)", "the table function Generate_Series() in FROM"),
    ("SELECT * FROM \"my_macro\"()", "the table function my_macro() in FROM"),
]


@pytest.mark.parametrize("sql, what", QUOTED, ids=[s for s, _ in QUOTED])
def test_functions_off_the_allow_list_are_refused_however_quoted(cat: Catalog, sql: str, what: str) -> None:
    with pytest.raises(MurakkabError) as info:
        run_readonly(cat, sql)
    assert what in info.value.message
    assert info.value.hint == HINT
    for parser_node in ("ANONYMOUS", "GENERATESERIES", "generateseries", "anonymous"):
        assert parser_node not in info.value.message


def test_the_usual_functions_answer(cat: Catalog) -> None:
    cols, rows = run_readonly(cat, """
        SELECT a.interface,
               count(*) AS n, count(DISTINCT p.hardware) AS hw, sum(p.units) AS units, avg(p.per_media_s) AS mean_s,
               median(p.per_media_s) AS med, quantile_cont(p.per_media_s, 0.9) AS p90, stddev_pop(p.units) AS sd,
               string_agg(DISTINCT p.hardware, ',' ORDER BY p.hardware) AS hws, list(p.units ORDER BY p.units) AS us,
               arg_max(p.agent, p.per_media_s) AS slowest, max(length(upper(a.name))) AS longest,
               round(max(coalesce(p.per_item_s, 0)) * 1000, 1) AS item_ms,
               max(CASE WHEN p.hardware = 'GPU' THEN 1 ELSE 0 END) AS has_gpu,
               min(CAST(p.units AS DOUBLE)) AS fewest, max(strftime(DATE '2024-01-02', '%Y')) AS y,
               max(greatest(p.units, 1)) AS g, bool_or(starts_with(a.name, 'stt')) AS stt
        FROM agents AS a JOIN profiles AS p ON p.agent = a.name
        GROUP BY a.interface ORDER BY a.interface""")
    assert cols[:2] == ["interface", "n"] and len(rows) >= 2
    cols, rows = run_readonly(cat, """
        SELECT name, row_number() OVER (ORDER BY name) AS i, lag(name) OVER (ORDER BY name) AS before,
               rank() OVER (PARTITION BY kind ORDER BY quality DESC) AS r, ntile(2) OVER (ORDER BY name) AS half,
               first_value(name) OVER w AS first, regexp_replace(name, '-', '_') AS snake,
               split_part(name, '-', 1) AS head, nullif(kind, 'tool') AS k, typeof(quality) AS t
        FROM agents WINDOW w AS (ORDER BY name) ORDER BY name""")
    assert [r[1] for r in rows] == list(range(1, len(rows) + 1))


def test_every_allowed_function_is_one_of_duckdbs() -> None:
    # A misspelt entry would allow nothing; a name DuckDB does not know is a typo.
    known = {r[0] for r in duckdb.connect().execute("SELECT DISTINCT function_name FROM duckdb_functions()").fetchall()}
    assert sorted(ALLOWED_FUNCTIONS - known) == []
    assert not SYNTAX_FUNCTIONS & known
    for builder in ("range", "generate_series", "repeat", "lpad", "rpad", "printf", "format", "bar",
                    "list_resize", "array_resize", "getenv", "current_setting", "query", "read_csv"):
        assert builder not in ALLOWED_FUNCTIONS


# -- limits -------------------------------------------------------------------------------------


def test_a_runaway_query_stops_at_its_time_limit(cat: Catalog) -> None:
    # 7^12 = 14 billion rows: many minutes of work, stopped after one second.
    joins = ", ".join(f"agents a{i}" for i in range(12))
    start = time.monotonic()
    with pytest.raises(MurakkabError) as info:
        run_readonly(cat, f"SELECT count(*) FROM {joins} WHERE a0.quality + a11.quality > 0",
                     QueryLimits(timeout_s=1.0))
    assert time.monotonic() - start < 10
    assert info.value.message == "the query stopped at its time limit (1 s)"
    assert "MURAKKAB_SQL_TIMEOUT_S" in (info.value.hint or "")
    # The catalog answers the next query as before.
    assert run_readonly(cat, "SELECT count(*) FROM agents") == (["count_star()"], [(7,)])


def test_a_runaway_query_stops_at_its_memory_limit() -> None:
    limited = Catalog(seed_dir=TINY, limits=QueryLimits(memory="64MB"))
    joins = ", ".join(f"agents a{i}" for i in range(8))     # a list of 5.7 million strings: ~400 MB
    with pytest.raises(MurakkabError) as info:
        run_readonly(limited, f"SELECT len(list(a0.name || a1.name || a2.name || a3.name || a4.name)) FROM {joins}")
    assert info.value.message == "the query stopped at its memory limit (64MB)"
    assert run_readonly(limited, "SELECT count(*) FROM agents") == (["count_star()"], [(7,)])


def test_a_huge_answer_is_refused_without_being_held(cat: Catalog) -> None:
    joins = ", ".join(f"agents a{i}" for i in range(8))     # 5.7 million rows, 100 fetched
    with pytest.raises(MurakkabError, match="more than 100 rows"):
        run_readonly(cat, f"SELECT a0.name FROM {joins}", QueryLimits(max_rows=100))


def test_the_limits_come_from_flags_then_the_environment_then_defaults() -> None:
    assert limits_from_env(environ={}) == QueryLimits(timeout_s=10.0, memory="1GB", threads=2, max_rows=100_000)
    env = {"MURAKKAB_SQL_TIMEOUT_S": "2.5", "MURAKKAB_SQL_MEMORY": "256MB", "MURAKKAB_SQL_THREADS": "1"}
    assert limits_from_env(environ=env) == QueryLimits(timeout_s=2.5, memory="256MB", threads=1)
    assert limits_from_env(5, "2GiB", environ=env) == QueryLimits(timeout_s=5.0, memory="2GiB", threads=1)
    for bad in ({"MURAKKAB_SQL_TIMEOUT_S": "soon"}, {"MURAKKAB_SQL_TIMEOUT_S": "0"},
                {"MURAKKAB_SQL_TIMEOUT_S": "inf"}, {"MURAKKAB_SQL_MEMORY": "lots"},
                {"MURAKKAB_SQL_THREADS": "1.5"}):
        with pytest.raises(MurakkabError):
            limits_from_env(environ=bad)
    with pytest.raises(MurakkabError, match="--timeout = '-1' is not a positive number"):
        limits_from_env(-1.0, environ={})
    with pytest.raises(MurakkabError, match="--memory = 'lots' is not a memory size"):
        limits_from_env(None, "lots", environ={})
    # The catalog itself loads under the limit: a few kilobytes is a mistake said as one.
    for tiny in ("1KB", "16MB", "0.01GiB"):
        with pytest.raises(MurakkabError, match="too little to load the catalog"):
            limits_from_env(None, tiny, environ={})
    assert limits_from_env(None, "64MB", environ={}).memory == "64MB"
    with pytest.raises(MurakkabError, match="MURAKKAB_SQL_THREADS = 100000 is more than 256 threads"):
        limits_from_env(environ={"MURAKKAB_SQL_THREADS": "100000"})


def test_cli_time_limit_flag(catalog_file: Path) -> None:
    joins = ", ".join(f"agents a{i}" for i in range(12))
    done = cli("catalog", "sql", f"SELECT count(*) FROM {joins}", "--catalog", str(catalog_file), "--timeout", "1")
    assert_located(done, "the query stopped at its time limit (1 s)")


# -- output is data -----------------------------------------------------------------------------

HOSTILE = ("SELECT '=cmd|'' /C calc''!A0' AS formula, '+1' AS plus, '-2' AS minus, '@SUM(A1)' AS at, "
           "chr(9) || 'tab' AS tab, chr(27) || '[31mred' || chr(27) || '[0m' AS ansi, "
           "'a' || chr(0) || 'b' AS nul, chr(13) || 'over' AS cr, '[bold]x' AS markup, -3 AS n")


def test_terminal_output_shows_control_characters(catalog_file: Path) -> None:
    # Wide enough that no cell is elided to fit the terminal.
    done = cli("catalog", "sql", HOSTILE, "--catalog", str(catalog_file), env={"COLUMNS": "400"})
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout
    assert b"\x1b" not in out and b"\x00" not in out and b"\r" not in out
    text = out.decode()
    assert "\\x1b[31mred\\x1b[0m" in text and "a\\x00b" in text and "\\x0dover" in text
    assert "[bold]x" in text    # shown as written, not taken as rich markup


def test_csv_output_neutralises_formulas(catalog_file: Path) -> None:
    done = cli("catalog", "sql", HOSTILE, "--catalog", str(catalog_file), "--format", "csv")
    assert done.returncode == 0, done.stderr.decode()
    header, row = done.stdout.decode().splitlines()
    assert header == "formula,plus,minus,at,tab,ansi,nul,cr,markup,n"
    assert row == ("'=cmd|' /C calc'!A0,'+1,'-2,'@SUM(A1),'\ttab,\\x1b[31mred\\x1b[0m,a\\x00b,\\x0dover,"
                   "[bold]x,-3")


def test_escaping_helpers() -> None:
    assert visible("a\x1b[2Jb\x00c\x7f\x9b\u202e") == "a\\x1b[2Jb\\x00c\\x7f\\x9b\\u202e"
    assert visible("line\nnext\tcell") == "line\nnext\tcell"
    assert [csv_cell(v) for v in ("=1+1", "+", "-x", "@x", "\tx", "\rx", "ok", -1, 2.5, None)] == \
        ["'=1+1", "'+", "'-x", "'@x", "'\tx", "\\x0dx", "ok", -1, 2.5, ""]


def test_refusals_quote_user_text_visibly(cat: Catalog) -> None:
    with pytest.raises(MurakkabError) as info:
        run_readonly(cat, "SELECT \"\x1b[31mevil\"()")
    assert "\x1b" not in info.value.message and "\\x1b[31mevil()" in info.value.message
    with pytest.raises(MurakkabError) as info:
        run_readonly(cat, "SELECT \"\x1b[2Jx\" FROM agents")     # DuckDB's error quotes the column
    assert "\x1b" not in info.value.message and "\\x1b[2Jx" in info.value.message


def test_sqlglot_warnings_do_not_reach_stderr() -> None:
    done = cli("catalog", "sql", "LOAD httpfs")
    err = assert_located(done, "catalog sql refused LOAD")
    assert "WARNING" not in err and "unsupported syntax" not in err
    assert err.count("\n") == 2     # the error and its hint, nothing else


# -- files that are not catalogs ------------------------------------------------------------------


def test_the_connection_is_hardened_before_the_file_is_read() -> None:
    for key in ("autoload_known_extensions", "autoinstall_known_extensions", "enable_external_access",
                "allow_community_extensions"):
        assert HARDENED[key] is False
    cat = Catalog(seed_dir=TINY)
    settings = dict(cat.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                "('autoload_known_extensions', 'autoinstall_known_extensions', "
                                "'enable_external_access', 'lock_configuration', 'enable_progress_bar')"))
    assert settings == {"autoload_known_extensions": "false", "autoinstall_known_extensions": "false",
                        "enable_external_access": "false", "lock_configuration": "true",
                        "enable_progress_bar": "false"}


def test_a_sqlite_file_is_a_clear_error_and_nothing_is_downloaded(tmp_path: Path) -> None:
    path = tmp_path / "site.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE agents (name TEXT)")
    home = tmp_path / "home"
    home.mkdir()
    # An unreachable proxy: a download attempt would fail slowly or name it.
    done = cli("catalog", "sql", "SELECT 1", "--catalog", str(path), home=home,
               env={"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"})
    err = assert_located(done, f"cannot open catalog {path}", "it is a SQLite database, not a DuckDB file",
                         "not a murakkab catalog")
    assert "extension" not in err.lower() and "http" not in err.lower()
    # DuckDB installs extensions under ~/.duckdb: nothing was fetched.
    assert list(home.iterdir()) == []


@pytest.mark.parametrize("damage", ["truncated", "zeroed", "scribbled"])
def test_a_damaged_catalog_file_is_a_located_error(catalog_file: Path, tmp_path: Path, damage: str) -> None:
    data = catalog_file.read_bytes()
    path = tmp_path / f"{damage}.duckdb"
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif damage == "zeroed":
        path.write_bytes(b"\0" * len(data))
    else:
        # Every block after the headers: the first read fails its checksum.
        path.write_bytes(data[:12288] + bytes(b ^ 0x5A for b in data[12288:]))
    done = cli("catalog", "sql", "SELECT count(*) FROM agents", "--catalog", str(path))
    err = assert_located(done, str(path))
    if damage == "zeroed":
        assert "not a valid DuckDB database file" in err and "not a murakkab catalog" in err
    else:
        assert "the file is damaged" in err and "restore it from a copy" in err
        assert "another process" not in err     # "in block at location" is no lock


# -- the write lock -----------------------------------------------------------------------------


def read_in_another_process(path: Path) -> subprocess.CompletedProcess[bytes]:
    return cli("catalog", "sql", "SELECT count(*) AS n FROM observations", "--catalog", str(path), "--format", "csv")


def read_raw_in_another_process(path: Path) -> str:
    """What DuckDB itself says when another process opens the file to read it (no wait)."""
    code = f"import duckdb\ntry:\n    duckdb.connect({str(path)!r}, read_only=True)\n    print('read')\n" \
           "except duckdb.Error as exc:\n    print(exc)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout


def test_a_catalog_is_readable_by_others_while_a_run_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "run.duckdb"
    writer = Catalog(path, seed_dir=TINY)
    try:
        assert "lock" in read_raw_in_another_process(path)
        with writer.without_write_lock():
            assert read_in_another_process(path).stdout == b"n\n0\n"
            with writer.write_lock():
                writer.execute("INSERT INTO catalog_meta VALUES ('probe', 'x')")
            assert read_in_another_process(path).returncode == 0
            assert writer.execute("SELECT value FROM catalog_meta WHERE key = 'probe'") == [("x",)]
            assert read_raw_in_another_process(path) == "read\n"
        # Outside the block the catalog holds its lock again and writes as before.
        assert "lock" in read_raw_in_another_process(path)
        writer.execute("DELETE FROM catalog_meta WHERE key = 'probe'")
        assert not writer.read_only
    finally:
        writer.close()


def test_a_run_takes_the_write_lock_only_to_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.duckdb"
    catalog = Catalog(path)
    seen: list[subprocess.CompletedProcess[bytes]] = []
    simulate = murakkab.api.Simulator.run

    def run_and_read(self: object, plan: object) -> object:
        seen.append(read_in_another_process(path))     # while the run is in progress
        return simulate(self, plan)  # type: ignore[arg-type]

    monkeypatch.setattr(murakkab.api.Simulator, "run", run_and_read)
    try:
        (outcome,) = murakkab.run(VIDEO_QA, backend="sim", catalog=catalog)
        assert seen and seen[0].returncode == 0, seen[0].stderr.decode()
        assert seen[0].stdout == b"n\n0\n"
        # What the run observed was recorded, and the run's catalog writes again after it.
        assert catalog.execute("SELECT count(*) FROM observations") == [(len(outcome.plan.shards),)]
        assert catalog._locked
    finally:
        catalog.close()
    after = read_in_another_process(path)
    assert after.stdout == f"n\n{len(outcome.plan.shards)}\n".encode()


def test_opening_for_writing_waits_for_a_reader_to_finish(catalog_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    path.write_bytes(catalog_file.read_bytes())
    code = (f"import duckdb, time\ndb = duckdb.connect({str(path)!r}, read_only=True)\nprint('holding', flush=True)\n"
            "time.sleep(2)\ndb.close()")
    reader = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdout.readline() == "holding\n"
        start = time.monotonic()
        Catalog(path, seed_dir=TINY).close()      # a run's open: it waits for the lock, no error
        assert time.monotonic() - start > 0.5
    finally:
        reader.wait(timeout=60)


# -- SHOW ... WHERE names what the user wrote, and fails located ------------------------------


@pytest.mark.parametrize("where, what", [
    ("getenv('HOME') = 'x'", "the function getenv() is not allowed"),
    ("\"Current_Setting\"('threads') = '1'", "the function Current_Setting() is not allowed"),
    ("range(3) = [0, 1, 2]", "the function range() is not allowed"),
    ("name IN (SELECT name FROM agents)", "a subquery is not allowed"),
])
def test_show_where_refusals_name_what_was_written(cat: Catalog, where: str, what: str) -> None:
    with pytest.raises(MurakkabError) as info:
        show(cat, "agents", where=where)
    assert what in info.value.message
    assert "ANONYMOUS" not in info.value.message and "GENERATESERIES" not in info.value.message


def test_a_show_predicate_of_the_wrong_type_is_a_located_error(cat: Catalog) -> None:
    with pytest.raises(MurakkabError) as info:
        show(cat, "agents", where="upper(name) = 1")
    assert info.value.message.startswith("the WHERE predicate failed: Conversion Error")


def test_a_show_predicate_may_be_ordered_and_limited_and_nothing_else(cat: Catalog) -> None:
    """ORDER BY and LIMIT after the condition are applied, not dropped; any other clause
    is refused, and an unfinished predicate says so without sqlglot's class names."""
    gpus = show(cat, "hardware", where="kind = 'gpu' ORDER BY idle_w DESC LIMIT 1")
    every = show(cat, "hardware", where="kind = 'gpu'")
    idle = every.columns.index("idle_w")
    assert len(gpus.rows) == 1 and gpus.rows[0][idle] == max(r[idle] for r in every.rows)
    assert len(show(cat, "hardware", where="kind = 'gpu' LIMIT 0").rows) == 0
    for where, said in [("kind = 'gpu' GROUP BY kind", "takes no GROUP"), ("kind = 'gpu' LIMIT 1 OFFSET 1",
                                                                          "takes no OFFSET"),
                        ("kind = 'gpu' ORDER BY nme", "unknown column 'nme'"),
                        ("kind = 'gpu' ORDER BY getenv('HOME')", "the function getenv() is not allowed"),
                        ("kind = 'gpu' LIMIT 'x'", "LIMIT takes a whole number"),
                        ("kind = ", "it ends too early after '='")]:
        with pytest.raises(MurakkabError) as info:
            show(cat, "hardware", where=where)
        assert said in info.value.message and "<class" not in info.value.message


def test_show_for_a_name_that_is_not_there_is_a_mistake_with_a_suggestion(cat: Catalog) -> None:
    with pytest.raises(MurakkabError, match="no interface of that name") as info:
        show(cat, "agents", "speech_to_txt")
    assert "speech_to_text" in (info.value.hint or "")
    assert show(cat, "agents", "speech_to_text").rows
