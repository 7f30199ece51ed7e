"""``murakkab catalog import``: catalog/importer.py.

Every kind of bad row is reported as ``file:line: problem`` (the physical line, header
= line 1, comment lines count), all problems of a file at once, and a rejected file
changes nothing. Good files add rows the planner then uses. The fixtures are in
tests/fixtures/import and are imported into the tiny catalog (tests/fixtures/tiny_catalog).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from murakkab import api
from murakkab.catalog.catalog import SEED_TABLES, Catalog
from murakkab.catalog.importer import ImportRejected, ImportReport, column_dimension, import_csv
from murakkab.grammar.diagnostics import MurakkabError

FIX = Path(__file__).parent / "fixtures" / "import"
TINY = Path(__file__).parent / "fixtures" / "tiny_catalog"
SEED = Path(__file__).resolve().parent.parent / "catalog" / "seed"


def snapshot(cat: Catalog) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the catalog."""
    tables = [r[0] for r in cat.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1")]
    return {t: cat.execute(f'SELECT * FROM "{t}" ORDER BY ALL') for t in tables}


@pytest.fixture(scope="module")
def shared() -> Catalog:
    """One tiny catalog for the rejections: each test checks that it did not change."""
    return Catalog(seed_dir=TINY)


@pytest.fixture()
def fresh() -> Catalog:
    return Catalog(seed_dir=TINY)


def rejected(cat: Catalog, name: str, table: str | None = "profiles") -> tuple[ImportRejected, Path]:
    """Import a fixture that must be refused; check that nothing changed."""
    path = FIX / name
    before = snapshot(cat)
    profiles_before = {a.name: cat.profiles(a.name) for a in cat.agents()}
    with pytest.raises(ImportRejected) as info:
        import_csv(cat, path, table)
    assert snapshot(cat) == before
    assert {a.name: cat.profiles(a.name) for a in cat.agents()} == profiles_before
    assert info.value.problems, "a rejection lists its problems"
    return info.value, path


# -- one fixture per kind of bad row ----------------------------------------------------


def test_missing_column_is_reported_on_the_header_line(shared: Catalog) -> None:
    err, path = rejected(shared, "profiles_missing_column.csv")
    assert err.problems == (f"{path}:1: missing column 'per_item_s' (required by profiles)",)
    assert "the header does not fit" in err.message and "nothing was imported" in err.message


def test_unknown_column_is_reported_with_a_suggestion(shared: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "profiles.csv"
    path.write_text("agent,hardware,units,setup_s,per_item_s,per_media_s,utilisation,source,per_itme_s\n"
                    "detect-cpu,CORE,2,0,0,0.05,1.0,measured:x,1\n")
    before = snapshot(shared)
    with pytest.raises(ImportRejected) as info:
        import_csv(shared, path)
    assert snapshot(shared) == before
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}:1: unknown column 'per_itme_s' in profiles")
    assert "did you mean 'per_item_s'?" in problem


def test_wrong_unit(shared: Catalog) -> None:
    err, path = rejected(shared, "profiles_wrong_unit.csv")
    # line 2 ('120 ms') is fine; line 3 puts dollars in a time column
    assert err.problems == (
        f"{path}:3: per_item_s: wrong unit: 'USD' is not a unit of time (per_item_s is in s)",)
    assert "1 bad row" in err.message


def test_unknown_hardware(shared: Catalog) -> None:
    err, path = rejected(shared, "profiles_unknown_hardware.csv")
    # line 1 is a comment, line 2 the header: the row is on line 3
    assert err.problems == (f"{path}:3: unknown hardware 'TPU' (not in hardware.name); did you mean 'GPU'?",)


def test_negative_latency(shared: Catalog) -> None:
    err, path = rejected(shared, "profiles_negative_latency.csv")
    assert err.problems == (f"{path}:3: per_item_s: negative value '-0.5' (the schema requires per_item_s >= 0)",)


def test_duplicate_key_in_the_file_names_the_first_copy(shared: Catalog) -> None:
    err, path = rejected(shared, "profiles_duplicate_in_file.csv")
    assert err.problems == (
        f"{path}:4: duplicate key (agent, hardware, units) = ('detect-cpu', 'CORE', 2): the first copy is on line 2",)


def test_duplicate_of_an_existing_row_is_not_overwritten(shared: Catalog) -> None:
    old = shared.profiles("detect-cpu")
    err, path = rejected(shared, "profiles_duplicate_existing.csv")
    assert err.problems == (
        f"{path}:3: key (agent, hardware, units) = ('detect-cpu', 'CORE', 1) is already in profiles; "
        "an import adds rows, it never overwrites",)
    assert shared.profiles("detect-cpu") == old


def test_wrong_type(shared: Catalog) -> None:
    err, path = rejected(shared, "profiles_wrong_type.csv")
    assert err.problems == (f"{path}:2: units: not an integer: 'two'",)


def test_unknown_table_is_refused(shared: Catalog) -> None:
    before = snapshot(shared)
    with pytest.raises(MurakkabError) as info:
        import_csv(shared, FIX / "gpus.csv")
    assert "cannot import into 'gpus': there is no such table" in info.value.message
    assert "profiles" in info.value.message
    assert snapshot(shared) == before


@pytest.mark.parametrize("table", ["observations", "catalog_meta", "workflow_templates"])
def test_tables_kept_by_murakkab_are_refused(shared: Catalog, table: str) -> None:
    with pytest.raises(MurakkabError) as info:
        import_csv(shared, FIX / "profiles_new.csv", table=table)
    assert f"cannot import into '{table}': it is kept by murakkab itself" in info.value.message


def test_unknown_interface_of_an_agent(shared: Catalog) -> None:
    err, path = rejected(shared, "agents_unknown_interface.csv", table="agents")
    assert err.problems == (
        f"{path}:2: unknown interface 'optical_character_recognition' (not in interfaces.name)",)


def test_every_bad_row_of_a_file_is_reported(shared: Catalog) -> None:
    err, path = rejected(shared, "profiles_many_bad.csv")
    assert err.problems == (
        f"{path}:4: unknown agent 'no-such-agent' (not in agents.name)",
        f"{path}:5: per_item_s: wrong unit: 'kWh' is not a unit of time (per_item_s is in s)",
        f"{path}:6: source: 'made it up' does not say where the numbers are from; "
        "it must start with published:, derived:, measured:, interpolated, default",
        f"{path}:6: utilisation: value '1.5' is refused (the schema requires (utilisation > 0) AND (utilisation <= 1))",
        f"{path}:8: empty value for 'setup_s' (required)",
        f"{path}:8: duplicate key (agent, hardware, units) = ('detect-cpu', 'CORE', 2): the first copy is on line 3",
    )
    assert "4 bad rows (6 problems)" in err.message
    rendered = err.render()
    assert all(p in rendered for p in err.problems)


@pytest.mark.parametrize("row, problem", [
    ("detect-cpu,CORE,2,0,0,0.05,1.0", "expected 8 values (one per column of the header), found 7"),
    ("detect-cpu,CORE,2,0,0,0.05,maybe,measured:x", "utilisation: not a number: 'maybe'"),
    ("detect-cpu,CORE,2,0,0,0.05,1.0,", "empty value for 'source' (required)"),
    ("detect-cpu,CORE,2,0,0,0.05,1.0,guessed", "source: 'guessed' does not say where the numbers are from"),
    ("detect-cpu,CORE,0,0,0,0.05,1.0,measured:x", "units: value '0' is refused (the schema requires units > 0)"),
    ("detect-cpu,CORE,2 GPUs,0,0,0.05,1.0,measured:x", "units: wrong unit: 'GPUs' (units takes a plain integer)"),
    ("detect-cpu,CORE,2,0,0,0.05,50 %,measured:x", "utilisation: wrong unit: '%' (utilisation takes a plain number)"),
    ("detect-cpu,CORE,2,3 parsecs,0,0.05,1.0,measured:x", "setup_s: wrong unit: 'parsecs' is not a unit of time"),
])
def test_more_bad_values(shared: Catalog, tmp_path: Path, row: str, problem: str) -> None:
    path = tmp_path / "profiles.csv"
    path.write_text("agent,hardware,units,setup_s,per_item_s,per_media_s,utilisation,source\n" + row + "\n")
    before = snapshot(shared)
    with pytest.raises(ImportRejected) as info:
        import_csv(shared, path)
    assert snapshot(shared) == before
    (got,) = info.value.problems
    assert got.startswith(f"{path}:2: {problem}")


def test_bad_values_of_other_tables(shared: Catalog, tmp_path: Path) -> None:
    agents = tmp_path / "agents.csv"
    agents.write_text("name,interface,kind,model,quality,quality_source,baseline\n"
                      "x,chat,agent,m,0.5,default:x,true\n"
                      "y,chat,tool,m,0.5,default:x,perhaps\n"
                      "z,chat,tool,m,1.5,default:x,false\n")
    interfaces = tmp_path / "interfaces.csv"
    interfaces.write_text("name,description,inputs,output\nocr,read text,image IMAGE,PAGE\n")
    before = snapshot(shared)
    with pytest.raises(ImportRejected) as info:
        import_csv(shared, agents)
    assert info.value.problems == (
        f"{agents}:2: kind: value 'agent' is refused (the schema requires kind IN ('model', 'tool'))",
        f"{agents}:3: baseline: not a boolean: 'perhaps' (write true or false)",
        f"{agents}:4: quality: value '1.5' is refused (the schema requires (quality > 0) AND (quality <= 1))",
    )
    with pytest.raises(ImportRejected) as info:
        import_csv(shared, interfaces)
    assert info.value.problems == (f"{interfaces}:2: output: not a type: unknown type 'PAGE'",)
    assert snapshot(shared) == before


def test_line_numbers_count_physical_lines(shared: Catalog, tmp_path: Path) -> None:
    # a quoted value over two lines, a comment and a blank line before the bad row
    path = tmp_path / "agents.csv"
    path.write_text("name,interface,kind,model,description,quality,quality_source,baseline\n"
                    'a1,chat,tool,m,"two\nlines",0.5,default:x,false\n'
                    "# comment\n"
                    "\n"
                    "a2,chat,tool,m,d,zero,default:x,false\n")
    with pytest.raises(ImportRejected) as info:
        import_csv(shared, path)
    assert info.value.problems == (f"{path}:6: quality: not a number: 'zero'",)


def test_empty_file(shared: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "profiles.csv"
    path.write_text("# only a comment\n")
    with pytest.raises(ImportRejected, match="empty"):
        import_csv(shared, path)


def test_missing_file(shared: Catalog, tmp_path: Path) -> None:
    with pytest.raises(MurakkabError, match="cannot read"):
        import_csv(shared, tmp_path / "profiles.csv")


# -- good files ---------------------------------------------------------------------------


def test_good_files_import_and_the_planner_uses_them(fresh: Catalog) -> None:
    assert import_csv(fresh, FIX / "agents_new.csv", table="agents") == ImportReport("agents", 1)
    assert import_csv(fresh, FIX / "profiles_new.csv", table="profiles") == ImportReport("profiles", 2)
    agent = fresh.agent("stt-fast")
    assert agent is not None and agent.description == "a fast CPU transcriber, imported" and not agent.baseline
    one, two = fresh.profiles("stt-fast")
    # units converted on import: '0.5 s', '120 ms', '10 ms', '500 ms'
    assert (one.units, one.setup_s, one.per_item_s, one.per_media_s) == (1, 0.5, pytest.approx(0.12), 0.01)
    assert (two.units, two.setup_s, two.per_item_s) == (2, 0.5, 0.06)
    assert one.serial_fraction == pytest.approx(0.05)      # the column's default
    # The imported agent is the fastest but not good enough for the default quality floor.
    (p,) = api.optimize("""
        SET quality_floor = off;
        CREATE WORKFLOW w (v VIDEO) AS (s := scene_detection (v), t := speech_to_text (s)) RETURNS t;
        RUN w (v => 'none.mp4' ASSUMING (duration = 100 s)) ON CLUSTER 'tiny' MINIMIZE latency;""",
                        catalog=fresh)
    assert p.task("t").candidate.agent == "stt-fast"


def test_units_are_converted_to_the_columns_unit(fresh: Catalog) -> None:
    import_csv(fresh, FIX / "hardware_units.csv", table="hardware")
    hw = fresh.hardware("BIG-GPU")
    assert hw is not None
    assert (hw.memory_gb, hw.active_w, hw.idle_w, hw.usd_per_hour) == (192.0, 1500.0, 150.0, 6.0)


@pytest.mark.parametrize("column, written, value", [
    ("per_item_s", "120 ms", 0.12), ("setup_s", "2 min", 120.0), ("per_media_s", "0.5", 0.5),
    ("active_w", "1.5 kW", 1500.0), ("idle_w", "70 W", 70.0), ("energy_wh", "3.6 kJ", 1.0),
    ("usd_per_hour", "50 cents/hour", 0.5), ("usd_per_hour", "$2.5/h", None), ("memory_gb", "512 MB", 0.512),
])
def test_column_units(column: str, written: str, value: float | None) -> None:
    from murakkab.catalog.importer import _BadValue, _number
    if value is None:
        with pytest.raises(_BadValue):
            _number(column, written, integer=False)
    else:
        assert _number(column, written, integer=False) == pytest.approx(value)
    assert column_dimension(column) is not None


def test_the_seed_files_import_into_an_empty_catalog(tmp_path: Path) -> None:
    # The validator accepts the real seed data, and the rows come out as the seed loader's.
    empty = Catalog(seed_dir=tmp_path)
    seeded = Catalog()
    for table in SEED_TABLES:
        path = SEED / f"{table}.csv"
        if path.is_file():
            report = import_csv(empty, path)
            assert report.table == table
    for table in SEED_TABLES:
        assert empty.execute(f"SELECT * FROM {table} ORDER BY ALL") == seeded.execute(
            f"SELECT * FROM {table} ORDER BY ALL"), table
    assert [a.name for a in empty.agents()] == [a.name for a in seeded.agents()]


def test_an_oversized_field_is_reported_on_the_line_its_record_starts(shared: Catalog, tmp_path: Path) -> None:
    """Seen: a field over csv's size limit was reported on the header's line."""
    import csv

    path = tmp_path / "profiles.csv"
    huge = "x" * (csv.field_size_limit() + 10)
    path.write_text("agent,hardware,units,setup_s,per_item_s,per_media_s,utilisation,source\n"
                    "# a comment line\n"
                    "detect-cpu,CORE,2,0,0,0.05,1.0,measured:x\n"
                    f'detect-cpu,CORE,4,0,0,0.05,1.0,"measured:{huge}"\n')
    before = snapshot(shared)
    with pytest.raises(ImportRejected) as info:
        import_csv(shared, path)
    assert snapshot(shared) == before
    assert any(p.startswith(f"{path}:4: not a CSV file: field larger than field limit") for p in info.value.problems)


def test_a_missing_file_is_named_before_its_table(shared: Catalog, tmp_path: Path) -> None:
    # `catalog import gpus.csv` with no such file: the file is the mistake, not the table.
    for path, why in ((tmp_path / "profiles.csv", "no such file"), (tmp_path, "it is a folder")):
        with pytest.raises(MurakkabError) as info:
            import_csv(shared, path)
        assert info.value.message == f"cannot read {path}: {why}"


def test_an_api_endpoint_must_name_a_model_the_serving_configurations_use(tmp_path: Path) -> None:
    """llm_apis.model has no foreign key (workflow_quality.model is no key), but a row for
    another name would be imported and never used: it is refused with the near name."""
    cat = Catalog()
    err, path = rejected(cat, "llm_apis_unknown_model.csv", "llm_apis")
    assert err.problems == (f"{path}:3: unknown model 'gemma-3-27b' (not in workflow_quality.model); "
                            "did you mean 'Gemma-3-27B'?",)
    good = tmp_path / "apis.csv"
    good.write_text("model,usd_per_mtok,rate_limit_tps,ttft_s,tpot_s,source\nGemma-3-27B,0.3,100000,0.3,0.01,test\n")
    assert import_csv(cat, good, "llm_apis").rows_inserted == 1
    assert [a.model for a in cat.llm_apis()] == ["Gemma-3-27B"]


def test_a_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("agent,hardware\nok,GPU\ncaf\xe9,GPU\n".encode("latin-1"))
    with pytest.raises(MurakkabError) as err:
        import_csv(Catalog(seed_dir=TINY), path, "profiles")
    assert err.value.message == f"{path}:3: byte 0xe9 is not UTF-8 text" and "UTF-8" in (err.value.hint or "")


def test_rules_between_columns_the_schema_cannot_state(tmp_path: Path) -> None:
    """Hardware whose idle power is above its active power, and a power row measured at
    no throughput, are refused at their line (the schema has no CHECK for either)."""
    cat = Catalog()
    hw = tmp_path / "hardware.csv"
    hw.write_text("name,kind,description,memory_gb,active_w,idle_w,usd_per_hour,source\n"
                  "GPU-X,gpu,x,80,300 W,50 W,1.0,measured:x\n"
                  "GPU-Y,gpu,y,80,300 W,400 W,1.0,measured:y\n")
    power = tmp_path / "energy_per_token.csv"
    power.write_text("model,hardware,units,max_num_seqs,joules_per_token,source,output_tps\n"
                     "M,H100-80GB,1,8,0.5,measured:m,0\n"
                     "M,H100-80GB,1,16,0.4,measured:m,\n")
    with pytest.raises(ImportRejected) as info:
        import_csv(cat, hw, "hardware")
    assert info.value.problems == (f"{hw}:3: idle_w 400.0 W is above active_w 300.0 W (a unit draws its idle "
                                   "power at no work, at most its active power)",)
    with pytest.raises(ImportRejected) as info:
        import_csv(cat, power, "energy_per_token")
    assert info.value.problems == (f"{power}:2: output_tps 0.0: the throughput a row was measured at is above 0 "
                                   "(or empty: not known)",)
    assert cat.hardware("GPU-X") is None and cat.serving_power() == Catalog().serving_power()
