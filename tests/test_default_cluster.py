"""One default target, and output that fits the terminal.

Without ON CLUSTER or --cluster every command and the API plan for 'local' (this
machine, where `murakkab run` runs the plan, with the agents that run here); EXPLAIN says
so. Tables fit $COLUMNS, eliding long cells (SHOW, catalog show) or wrapping columns
(EXPLAIN ANALYZE); --format csv|json stays whole.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

import murakkab
from murakkab import api
from murakkab.catalog.catalog import LOCAL_CLUSTER
from murakkab.catalog.show import ELLIPSIS, elide, fit_widths, table_text
from murakkab.cli import _parser, main
from murakkab.compiler.explain import _table
from murakkab.compiler.job import DEFAULT_CLUSTER, Settings
from murakkab.grammar.diagnostics import MurakkabError

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "examples" / "map_reduce_docs_samples.job"
ON_TESTBED = "CREATE WORKFLOW w (q TEXT, n TEXT) AS (a := question_answering (q, n)) RETURNS a;\n" \
             "RUN w (q => 'Who won?', n => 'minutes') ON CLUSTER 'hotos-testbed';"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_default_is_where_run_runs() -> None:
    assert DEFAULT_CLUSTER == LOCAL_CLUSTER == Settings().cluster
    # The API's run and the command's run default to the same backend: this machine.
    api_default = inspect.signature(murakkab.run).parameters["backend"].default
    sub = _parser()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    assert api_default == sub.get_default("backend") == "local"


def test_explain_says_the_cluster_was_the_default() -> None:
    text = murakkab.explain(DOCS)
    assert "cluster: local (" in text and api.DEFAULT_CLUSTER_NOTE in text
    assert "--cluster NAME or ON CLUSTER 'NAME'" in text
    assert api.DEFAULT_CLUSTER_NOTE not in murakkab.explain(ON_TESTBED)
    chosen = murakkab.explain(DOCS, settings=Settings(cluster="hotos-testbed"))
    assert "cluster: hotos-testbed" in chosen and api.DEFAULT_CLUSTER_NOTE not in chosen


def test_a_comment_or_string_saying_on_cluster_is_not_a_choice() -> None:
    script = DOCS.read_text(encoding="utf-8").replace(
        "WITH SLO", "-- ON CLUSTER 'x' in a comment\n  WITH SLO")
    assert api.DEFAULT_CLUSTER_NOTE in murakkab.explain(script, name=str(DOCS))


def test_explain_plans_with_the_agents_run_would_use(tmp_path: Path) -> None:
    (planned,) = murakkab.optimize(DOCS)
    assert planned.cluster == LOCAL_CLUSTER
    assert {t.candidate.agent for t in planned.tasks} <= api.local_agents()
    (ran,) = murakkab.run(DOCS, cache_dir=tmp_path)
    assert ran.result is not None and ran.result.backend == "local"
    assert [(t.id, t.candidate.agent, t.candidate.fanout) for t in ran.plan.tasks] == \
           [(t.id, t.candidate.agent, t.candidate.fanout) for t in planned.tasks]


def test_cli_explain_and_sim_plan_for_this_machine_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "explain", str(DOCS), "--format", "json")
    assert code == 0 and json.loads(out)["cluster"] == LOCAL_CLUSTER
    code, out, _ = run_cli(capsys, "run", str(DOCS), "--backend", "sim", "--format", "json")
    assert code == 0 and json.loads(out)[0]["plan"]["cluster"] == LOCAL_CLUSTER


def test_no_implementation_here_names_the_cluster_flag() -> None:
    script = (ROOT / "examples" / "code_debate.job").read_text(encoding="utf-8").replace(
        "ON CLUSTER 'hotos-testbed'", "")
    with pytest.raises(MurakkabError) as caught:
        murakkab.optimize(script)
    assert "fits cluster 'local'" in str(caught.value) and "--cluster" in caught.value.render()


def test_show_without_show_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "show", str(DOCS))
    assert code == 0 and out == "" and "no SHOW statement" in err


# ---- tables that fit ----------------------------------------------------------------


def test_fit_widths_shrinks_the_widest_first() -> None:
    assert fit_widths([3, 40, 12], 100) == [3, 40, 12]
    assert fit_widths([3, 40, 12], 30) == [3, 15, 12]
    assert sum(fit_widths([600, 10, 10, 10], 60)) <= 60
    assert elide("abcdef", 4) == "abc" + ELLIPSIS and elide("abc", 4) == "abc"


def test_table_text_fits_the_width() -> None:
    rows = [("x" * 600, "short", 1), ("y", None, 2)]
    for width in (40, 80, 120):
        text = table_text(["long", "s", "n"], rows, width)
        assert max(len(line) for line in text.splitlines()) <= width
        assert ELLIPSIS in text
    assert "x" * 600 in table_text(["long", "s", "n"], rows, 1000)


@pytest.mark.parametrize("what", ["profiles", "agents", "workflows"])
def test_catalog_show_fits_columns(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                   what: str) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run_cli(capsys, "catalog", "show", what)
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 80
    # --format csv keeps every value whole.
    code, full, _ = run_cli(capsys, "catalog", "show", what, "--format", "csv")
    assert code == 0 and ELLIPSIS not in full and max(len(line) for line in full.splitlines()) > 80


def test_analyze_table_wraps_its_columns() -> None:
    headers = ["task", "agent", "hardware x units", "latency est", "actual"]
    rows = [["transcript", "whisper-large-v3-on-a-long-name", "A100-80GB x4", "~12.5 s", "13.1 s"]]
    whole = _table(headers, rows)
    assert len(whole) == 2  # no width: one table, as EXPLAIN's golden text has it
    wrapped = _table(headers, rows, width=50)
    assert max(len(line) for line in wrapped) <= 50
    # The first column repeats in the continuation; every cell is still there.
    assert sum(line.strip().startswith("task") for line in wrapped) >= 2
    assert all(cell in "\n".join(wrapped) for cell in rows[0])
