"""Catalog files: re-opening, all-or-nothing imports (a failure or a crash half-way leaves
the file as it was), several read-only readers at once, and read-only refusing writes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from murakkab.catalog import importer
from murakkab.catalog.catalog import Catalog
from murakkab.catalog.importer import ImportRejected, import_csv
from murakkab.catalog.sql import run_readonly
from murakkab.grammar.diagnostics import MurakkabError

TINY = Path(__file__).parent / "fixtures" / "tiny_catalog"
ROOT = Path(__file__).resolve().parent.parent

PROFILES = ("agent,hardware,units,setup_s,per_item_s,per_media_s,utilisation,source\n"
            "detect-cpu,CORE,2,0,0,0.05,1.0,measured:test box\n"
            "detect-cpu,CORE,3,0,0,0.04,1.0,measured:test box\n"
            "detect-cpu,CORE,4,0,0,0.03,1.0,measured:test box\n")


def snapshot(cat: Catalog) -> dict[str, list[str]]:
    """Every row of every table, as text (comparable across processes)."""
    tables = [r[0] for r in cat.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1")]
    return {t: [repr(r) for r in cat.execute(f'SELECT * FROM "{t}" ORDER BY ALL')] for t in tables}


def close(cat: Catalog) -> None:
    cat._db.close()


def profiles_csv(tmp_path: Path, text: str = PROFILES) -> Path:
    path = tmp_path / "profiles.csv"
    path.write_text(text)
    return path


def python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def seeded_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    """A catalog file with the default seed, closed, and what was in it."""
    path = tmp_path_factory.mktemp("seeded") / "c.duckdb"
    cat = Catalog(path)
    snap = snapshot(cat)
    close(cat)
    return path, snap


# -- re-opening -----------------------------------------------------------------------------


def test_a_catalog_file_reopens_read_only_with_the_seed_intact(
        seeded_file: tuple[Path, dict[str, list[str]]]) -> None:
    path, snap = seeded_file
    assert len(snap["agents"]) > 10 and len(snap["profiles"]) > 10
    cat = Catalog(path, read_only=True)
    try:
        assert snapshot(cat) == snap
        assert cat.read_only and cat.agents() and cat.profiles(cat.agents()[0].name) is not None
    finally:
        close(cat)


def test_a_catalog_file_reopens_read_write_with_the_seed_intact(tmp_path: Path) -> None:
    # Re-opening for writing registers this machine again ('local'); nothing else changes.
    path = tmp_path / "c.duckdb"
    cat = Catalog(path, seed_dir=TINY)
    snap = snapshot(cat)
    close(cat)
    cat = Catalog(path)
    try:
        assert snapshot(cat) == snap
    finally:
        close(cat)


def test_an_import_persists(tmp_path: Path) -> None:
    path = tmp_path / "c.duckdb"
    cat = Catalog(path, seed_dir=TINY)
    import_csv(cat, profiles_csv(tmp_path))
    close(cat)
    cat = Catalog(path, read_only=True)
    try:
        assert [p.units for p in cat.profiles("detect-cpu")] == [1, 2, 3, 4]
    finally:
        close(cat)


# -- all or nothing -------------------------------------------------------------------------


def test_an_import_that_fails_half_way_leaves_the_file_unchanged(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.duckdb"
    cat = Catalog(path, seed_dir=TINY)
    before = snapshot(cat)
    real = cat.execute
    inserts: list[str] = []

    def failing(sql: str, params: Any = ()) -> Any:
        if sql.startswith("INSERT"):
            inserts.append(sql)
            if len(inserts) == 2:
                raise RuntimeError("the disk is full")
        return real(sql, params)

    monkeypatch.setattr(cat, "execute", failing)
    monkeypatch.setattr(importer, "INSERT_BATCH", 1)  # a statement per row: fail between two
    with pytest.raises(RuntimeError, match="the disk is full"):
        import_csv(cat, profiles_csv(tmp_path))
    monkeypatch.undo()
    assert len(inserts) == 2                      # one row was in, inside the transaction
    assert snapshot(cat) == before
    assert [p.units for p in cat.profiles("detect-cpu")] == [1]
    close(cat)
    cat = Catalog(path, read_only=True)
    try:
        assert snapshot(cat) == before
    finally:
        close(cat)


def test_a_row_duckdb_refuses_rolls_back_the_whole_import(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # With the key check switched off, DuckDB itself refuses the second copy of a key.
    path = tmp_path / "c.duckdb"
    cat = Catalog(path, seed_dir=TINY)
    before = snapshot(cat)
    monkeypatch.setattr(importer, "_check_keys", lambda *a: None)
    csv = profiles_csv(tmp_path, PROFILES + "detect-cpu,CORE,2,0,0,0.06,1.0,measured:again\n")
    with pytest.raises(ImportRejected) as info:
        import_csv(cat, csv)
    (problem,) = info.value.problems
    assert problem.startswith(f"{csv}:5: Constraint Error")
    assert "the database refused it; nothing was imported" in info.value.message
    assert snapshot(cat) == before
    close(cat)
    cat = Catalog(path, read_only=True)
    try:
        assert snapshot(cat) == before
    finally:
        close(cat)


def test_rows_the_catalog_cannot_load_are_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # With the semantic checks switched off, the catalog's own loader (run inside the
    # transaction) refuses an unknown type, and nothing is committed.
    cat = Catalog(seed_dir=TINY)
    before = snapshot(cat)
    monkeypatch.setattr(importer, "SEMANTIC_CHECKS", {})
    csv = tmp_path / "interfaces.csv"
    csv.write_text("name,description,inputs,output\nocr,read text,image IMAGE,PAGE\n")
    with pytest.raises(ImportRejected, match="the catalog cannot read the imported rows"):
        import_csv(cat, csv)
    assert snapshot(cat) == before
    assert cat.interface("ocr") is None and cat.interface("chat") is not None


CRASH = """
    import json, os, signal, sys
    from pathlib import Path
    from murakkab.catalog.catalog import Catalog
    from murakkab.catalog import importer

    path, csv, snap = sys.argv[1:4]
    cat = Catalog(path, seed_dir=sys.argv[4])          # creates and seeds the file
    tables = [r[0] for r in cat.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1")]
    Path(snap).write_text(json.dumps(
        {t: [repr(r) for r in cat.execute(f'SELECT * FROM "{t}" ORDER BY ALL')] for t in tables}))
    real = cat.execute
    inserted = []

    def execute(sql, params=()):
        out = real(sql, params)
        if sql.startswith("INSERT"):
            inserted.append(sql)
            if len(inserted) == 2:                     # two rows in, inside the transaction
                sys.stdout.write("killing myself\\n"); sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        return out

    cat.execute = execute
    importer.INSERT_BATCH = 1                           # a statement per row: die between two
    importer.import_csv(cat, Path(csv))
    print("not reached")
"""


def test_a_crash_during_an_import_leaves_the_file_readable_and_unchanged(tmp_path: Path) -> None:
    import json
    path, snap = tmp_path / "c.duckdb", tmp_path / "before.json"
    proc = python(CRASH, str(path), str(profiles_csv(tmp_path)), str(snap), str(TINY))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -9, err
    assert out == "killing myself\n"
    before = json.loads(snap.read_text())
    cat = Catalog(path, read_only=True)
    try:
        assert snapshot(cat) == before
        assert [p.units for p in cat.profiles("detect-cpu")] == [1]
    finally:
        close(cat)


# -- several readers ------------------------------------------------------------------------

READER = """
    import sys, time
    from pathlib import Path
    from murakkab.catalog.catalog import Catalog
    from murakkab.catalog.sql import run_readonly

    path, me, other, folder = sys.argv[1:5]
    folder = Path(folder)

    def wait_for(name):
        deadline = time.monotonic() + 30
        while not (folder / name).exists():
            if time.monotonic() > deadline:
                sys.exit(f"{me}: gave up waiting for {name}")
            time.sleep(0.01)

    cat = Catalog(path, read_only=True)
    (folder / f"{me}.open").touch()
    wait_for(f"{other}.open")                          # both are open now
    agents = cat.execute("SELECT count(*) FROM agents")[0][0]
    cols, rows = run_readonly(cat, "SELECT count(*) FROM profiles JOIN agents ON agents.name = profiles.agent")
    (folder / f"{me}.done").touch()
    wait_for(f"{other}.done")                          # still open while the other queried
    print(agents, rows[0][0], len(cat.agents()))
"""


def test_two_processes_read_one_file_at_once(seeded_file: tuple[Path, dict[str, list[str]]],
                                             tmp_path: Path) -> None:
    path, snap = seeded_file
    a = python(READER, str(path), "a", "b", str(tmp_path))
    b = python(READER, str(path), "b", "a", str(tmp_path))
    out_a, err_a = a.communicate(timeout=60)
    out_b, err_b = b.communicate(timeout=60)
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    agents = len(snap["agents"])
    assert out_a == out_b
    assert out_a.split()[0] == str(agents) and out_a.split()[2] == str(agents)


# -- read-only ------------------------------------------------------------------------------


def test_a_read_only_catalog_refuses_imports_and_answers_queries(
        seeded_file: tuple[Path, dict[str, list[str]]], tmp_path: Path) -> None:
    path, snap = seeded_file
    cat = Catalog(path, read_only=True)
    try:
        with pytest.raises(MurakkabError) as info:
            import_csv(cat, profiles_csv(tmp_path))
        assert "open read-only" in info.value.message and "--read-only" in (info.value.hint or "")
        assert snapshot(cat) == snap
        assert run_readonly(cat, "SELECT count(*) AS n FROM agents") == (["n"], [(len(snap["agents"]),)])
    finally:
        close(cat)


def test_a_version_7_catalog_gains_the_plan_shaping_knobs_and_keeps_its_edits(tmp_path: Path) -> None:
    """Migration 0008: the knobs' `effect` column, and the seed rows an older catalog
    lacks (the plan-shaping knobs, the code-gen study's Gemma agents); rows it has, the
    user's edits included, stay as they are."""
    path = tmp_path / "old.duckdb"
    cat = Catalog(path)
    # Make it what a version-7 catalog was, with one edit of the user's.
    cat._db.execute("DELETE FROM interface_knobs WHERE knob IN ('enabled', 'rounds', 'debaters')")
    cat._db.execute("ALTER TABLE interface_knobs DROP COLUMN effect")
    cat._db.execute("ALTER TABLE profiles DROP COLUMN media_fps")  # migration 0009's
    cat._db.execute("ALTER TABLE energy_per_token DROP COLUMN output_tps")  # migration 0010's
    cat._db.execute("UPDATE interface_knobs SET default_value = 10 WHERE knob = 'frames_per_scene'")
    cat._db.execute("DELETE FROM profiles WHERE agent LIKE 'gemma-3-27b-%er' AND agent <> 'gemma-3-27b-captioner'")
    cat._db.execute("DELETE FROM agents WHERE name IN ('gemma-3-27b-coder', 'gemma-3-27b-debater')")
    cat._db.execute("UPDATE catalog_meta SET value = '7' WHERE key = 'schema_version'")
    close(cat)
    migrated = Catalog(path)
    assert migrated.interface("speech_to_text").knob("enabled").effect == "optional"
    assert migrated.interface("debate_round").knob("rounds").effect == "repeat"
    assert migrated.interface("frame_extraction").knob("frames_per_scene").default == 10  # the user's edit
    assert migrated.interface("frame_extraction").knob("frames_per_scene").effect == "value"
    assert migrated.agent("gemma-3-27b-coder") is not None and migrated.profiles("gemma-3-27b-debater")


def test_a_version_8_catalog_learns_which_profiles_decode_every_frame(tmp_path: Path) -> None:
    """Migration 0009: the seed's frame-decoding rows get the frame rate they were
    profiled at; a row the user measured (another source) is left without one."""
    path = tmp_path / "old.duckdb"
    cat = Catalog(path)
    cat._db.execute("ALTER TABLE profiles DROP COLUMN media_fps")
    cat._db.execute("ALTER TABLE energy_per_token DROP COLUMN output_tps")  # migration 0010's
    cat._db.execute("UPDATE profiles SET source = 'measured:my laptop' WHERE agent = 'pyav-decode' AND units = 4")
    cat._db.execute("UPDATE catalog_meta SET value = '8' WHERE key = 'schema_version'")
    close(cat)
    migrated = Catalog(path)
    fresh = Catalog()
    for agent in ("pyscenedetect-content", "transnetv2", "nvdec-decode", "opencv-content-scenes", "opencv-frames",
                  "whisper-small-cpu", "pocketsphinx"):
        assert [p.media_fps for p in migrated.profiles(agent)] == [p.media_fps for p in fresh.profiles(agent)], agent
    assert {p.units: p.media_fps for p in migrated.profiles("pyav-decode") if p.hardware == "EPYC-7V12-core"} == \
        {1: 30.0, 4: None, 16: 30.0}
    assert fresh.profiles("opencv-content-scenes")[0].media_fps == 24.0
    assert fresh.profiles("whisper-small-cpu")[0].media_fps is None
    close(migrated)


def test_a_duckdb_file_of_someone_elses_is_never_written_into(tmp_path: Path) -> None:
    import duckdb

    from murakkab.catalog.catalog import CatalogError

    path = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE foo (x INTEGER)")
    con.close()
    for read_only in (False, True):
        with pytest.raises(CatalogError, match="is a DuckDB file but not a murakkab catalog \\(it has tables foo\\)"):
            Catalog(path, read_only=read_only)
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT table_name FROM information_schema.tables").fetchall() == [("foo",)]
    con.close()


def test_a_version_9_catalog_learns_the_throughput_of_its_power_rows(tmp_path: Path) -> None:
    """Migration 0010: the seed's energy_per_token rows get the throughput they were
    measured at, so they give the same power curves as a new catalog's; a row of the
    user's (another source) is kept without one and enters no curve."""
    path = tmp_path / "old.duckdb"
    cat = Catalog(path)
    cat._db.execute("ALTER TABLE energy_per_token DROP COLUMN output_tps")
    cat._db.execute("INSERT INTO energy_per_token VALUES ('My-LLM', 'A100-80GB', 2, 32, 0.5, 'measured:my rack')")
    cat._db.execute("UPDATE catalog_meta SET value = '9' WHERE key = 'schema_version'")
    close(cat)
    migrated = Catalog(path)
    assert migrated.serving_power() == Catalog().serving_power()
    assert sorted(k[0] for k in migrated.serving_power()) == ["Llama-3.1-70B", "Llama-3.1-8B"]
    row = migrated._db.execute("SELECT output_tps FROM energy_per_token WHERE model = 'My-LLM'").fetchone()
    assert row == (None,)


def test_a_row_the_database_refuses_is_named_by_its_line_among_batched_inserts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows go in INSERT_BATCH at a time; when the database refuses a batch, the row it
    refuses is found one row at a time (rolled back) and named by its line."""
    cat = Catalog(seed_dir=TINY)
    before = snapshot(cat)
    monkeypatch.setattr(importer, "INSERT_BATCH", 2)
    # With the importer's own checks off, the database's CHECK is what refuses line 4.
    monkeypatch.setattr(importer, "_check_constraints", lambda *args: None)
    csv = tmp_path / "profiles.csv"
    csv.write_text("agent,hardware,units,setup_s,per_item_s,per_media_s,utilisation,source\n"
                   "detect-cpu,CORE,2,0,0.1,0,0.5,measured:x\n"
                   "detect-cpu,CORE,4,0,0.1,0,0.5,measured:x\n"
                   "detect-cpu,CORE,8,0,-0.1,0,0.5,measured:x\n")
    with pytest.raises(ImportRejected) as info:
        import_csv(cat, csv)
    assert "the database refused it" in info.value.message
    (problem,) = info.value.problems
    assert problem.startswith(f"{csv}:4: ") and "CHECK" in problem.upper(), problem
    assert snapshot(cat) == before
