"""The parser: job-language text -> frozen AST nodes with spans.

These tests exercise ``murakkab.grammar.parser.parse`` alone (no catalog, no binding):
the examples parse, keywords are case-insensitive, comments are ignored, string
escapes, nested types, spans, every statement form and its flags, and syntax errors
are MurakkabErrors pointing into the text.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from murakkab.grammar import ast
from murakkab.grammar.diagnostics import MurakkabError, Span
from murakkab.grammar.parser import keywords, parse

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.job"))

WORKFLOW = """CREATE WORKFLOW video_qa (videos LIST<VIDEO>, question TEXT)
  DESCRIPTION 'Answer a question about a set of videos'
AS (
  scenes     := scene_detection (videos),
  frames     := frame_extraction (scenes) WITH (frames_per_scene = 5),
  transcript := 'Transcribe the speech in each scene' (scenes),
  captions   := frame_summarization (frames) USING (device = GPU, agent = 'qwen*'),
  answer     := question_answering (question, captions, transcript)
)
RETURNS answer;
RUN video_qa (videos => ['a.mp4', 'b.mp4'] ASSUMING (duration = 10 min, fps = 30),
              question => 'What is the person holding?')
  WITH SLO (latency <= 90 s, quality >= GOOD)
  MINIMIZE cost THEN latency
  ON CLUSTER 'hotos-testbed';
"""


def strip(node: Any) -> Any:
    """An AST without spans, for comparing scripts whose text differs in layout only."""
    if isinstance(node, Span):
        return None
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__,) + tuple(
            (f.name, strip(getattr(node, f.name))) for f in dataclasses.fields(node)
            if not f.name.endswith("span"))
    if isinstance(node, tuple):
        return tuple(strip(x) for x in node)
    return node


def one(text: str) -> Any:
    script = parse(text)
    assert len(script.statements) == 1, script
    return script.statements[0]


# ---------------------------------------------------------------------------
# examples and the overall shape
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_parses(path: Path) -> None:
    script = parse(path.read_text(encoding="utf-8"), str(path))
    kinds = [type(s) for s in script.statements]
    if kinds == [ast.PlanFleet]:  # serving mode names catalog workflows
        assert script.statements[0].items
        return
    assert kinds[0] is ast.CreateWorkflow
    assert ast.Run in kinds
    wf = script.statements[0]
    assert wf.tasks and wf.returns and wf.name_span.text == wf.name
    assert wf.span.source.name == str(path)


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 3


def test_empty_script_and_trailing_semicolon_are_optional() -> None:
    assert parse("").statements == ()
    assert parse("-- only a comment\n").statements == ()
    with_semi = parse("SET seed = 1;")
    without = parse("SET seed = 1")
    assert strip(with_semi) == strip(without)


def test_a_full_workflow_and_run() -> None:
    wf, run = parse(WORKFLOW).statements
    assert isinstance(wf, ast.CreateWorkflow) and isinstance(run, ast.Run)
    assert wf.name == "video_qa" and not wf.replace
    assert wf.description == "Answer a question about a set of videos"
    assert [(p.name, p.type.name) for p in wf.params] == [("videos", "LIST"), ("question", "TEXT")]
    assert wf.params[0].type.arg is not None and wf.params[0].type.arg.name == "VIDEO"
    assert [t.name for t in wf.tasks] == ["scenes", "frames", "transcript", "captions", "answer"]
    frames = wf.tasks[1]
    assert frames.target == "frame_extraction" and not frames.by_description
    assert [(k.name, k.value.value) for k in frames.knobs] == [("frames_per_scene", 5.0)]
    transcript = wf.tasks[2]
    assert transcript.by_description and transcript.target == "Transcribe the speech in each scene"
    captions = wf.tasks[3]
    assert [(s.name, type(s.value).__name__) for s in captions.prefs] == [("device", "Word"), ("agent", "StringLit")]
    assert [r.name for r in wf.tasks[4].args] == ["question", "captions", "transcript"]
    assert [r.name for r in wf.returns] == ["answer"]

    assert run.target == "video_qa" and not run.by_description
    videos, question = run.args
    assert isinstance(videos.value, ast.ListLit) and [i.value for i in videos.value.items] == ["a.mp4", "b.mp4"]
    assert [(s.name, s.value.value, s.value.unit) for s in videos.assuming] == [("duration", 10.0, "min"),
                                                                              ("fps", 30.0, None)]
    assert isinstance(question.value, ast.StringLit) and question.assuming == ()
    assert [(s.metric, s.op) for s in run.slos] == [("latency", "<="), ("quality", ">=")]
    assert run.slos[0].value == ast.Quantity(90.0, "s", run.slos[0].value.span)
    assert isinstance(run.slos[1].value, ast.Word) and run.slos[1].value.name == "GOOD"
    assert [(o.direction, o.metric) for o in run.objectives] == [("minimize", "cost"), ("minimize", "latency")]
    assert run.cluster == "hotos-testbed" and run.cluster_span.text == "'hotos-testbed'"


def test_or_replace_and_trailing_commas() -> None:
    wf = one("CREATE OR REPLACE WORKFLOW w (a TEXT, b TEXT,) AS (t := summarization (a),) RETURNS t, a")
    assert wf.replace and [p.name for p in wf.params] == ["a", "b"] and len(wf.tasks) == 1
    assert [r.name for r in wf.returns] == ["t", "a"]


def test_workflow_without_params_and_task_without_args() -> None:
    wf = one("CREATE WORKFLOW w () AS (t := test_generation ()) RETURNS t")
    assert wf.params == () and wf.tasks[0].args == ()


# ---------------------------------------------------------------------------
# lexical matters
# ---------------------------------------------------------------------------


def test_keywords_are_case_insensitive() -> None:
    upper = parse(WORKFLOW)
    lower = parse(WORKFLOW.replace("CREATE WORKFLOW", "create workflow").replace("DESCRIPTION", "description")
                  .replace("AS (", "as (").replace("WITH", "with").replace("USING", "using")
                  .replace("RETURNS", "returns").replace("RUN", "run").replace("ASSUMING", "assuming")
                  .replace("SLO", "slo").replace("MINIMIZE", "minimize").replace("THEN", "then")
                  .replace("ON CLUSTER", "on cluster"))
    mixed = parse(WORKFLOW.replace("CREATE WORKFLOW", "Create Workflow").replace("RETURNS", "Returns")
                  .replace("MINIMIZE", "MiNiMiZe").replace("ON CLUSTER", "On Cluster"))
    # Same length replacements: even the spans agree.
    assert lower == upper and mixed == upper
    assert strip(lower) == strip(upper)


def test_keywords_may_be_used_as_names_where_no_keyword_fits() -> None:
    wf = one("CREATE WORKFLOW w (format TEXT, show TEXT) AS (run := summarization (format),"
             " plan := summarization (show)) RETURNS run, plan")
    assert [p.name for p in wf.params] == ["format", "show"]
    assert [t.name for t in wf.tasks] == ["run", "plan"]
    run = one("RUN w (format => 'x', show => 'y')")
    assert [a.name for a in run.args] == ["format", "show"]


def test_line_and_block_comments_are_ignored() -> None:
    commented = """-- a header comment
    /* a block comment
       over several lines; with a ; inside */
    CREATE WORKFLOW /* inline */ w (a TEXT) -- trailing
    AS ( t := summarization (a) -- after a task
    ) RETURNS t; /* between statements */
    -- RUN w (a => 'commented out');
    RUN w (a => 'x -- not a comment /* nor this */');
    """
    plain = "CREATE WORKFLOW w (a TEXT) AS (t := summarization (a)) RETURNS t; RUN w (a => 'x -- not a comment /* nor this */');"
    assert strip(parse(commented)) == strip(parse(plain))
    run = parse(commented).statements[1]
    assert run.args[0].value.value == "x -- not a comment /* nor this */"


def test_doubled_quote_escapes_a_quote() -> None:
    wf, run = parse("CREATE WORKFLOW w (q TEXT) DESCRIPTION 'Bob''s workflow' AS ("
                    " t := 'Answer the user''s question' (q)) RETURNS t;"
                    " RUN w (q => 'It''s ''quoted''');").statements
    assert wf.description == "Bob's workflow"
    assert wf.tasks[0].target == "Answer the user's question" and wf.tasks[0].by_description
    assert run.args[0].value.value == "It's 'quoted'"
    assert run.args[0].value.span.text == "'It''s ''quoted'''"
    assert one("RUN w (q => '')").args[0].value.value == ""
    assert one("RUN w (q => '''')").args[0].value.value == "'"


def test_nested_list_types() -> None:
    wf = one("CREATE WORKFLOW w (x LIST<LIST<TEXT>>, y list<video>) AS (t := summary_reduction (x)) RETURNS t")
    x, y = wf.params
    assert x.type.name == "LIST" and x.type.arg.name == "LIST" and x.type.arg.arg.name == "TEXT"
    assert x.type.arg.arg.arg is None
    assert x.type.span.text == "LIST<LIST<TEXT>>" and x.type.arg.span.text == "LIST<TEXT>"
    # Type names are upper-cased.
    assert (y.type.name, y.type.arg.name) == ("LIST", "VIDEO")


def test_values_numbers_units_words_and_lists() -> None:
    run = one("RUN w (a => 1.5e3 ms, b => -2, c => .5, d => [1, 'x', GOOD, [2, 3]], e => off)")
    a, b, c, d, e = (arg.value for arg in run.args)
    assert (a.value, a.unit) == (1500.0, "ms") and a.span.text == "1.5e3 ms"
    assert (b.value, b.unit) == (-2.0, None)
    assert c.value == 0.5
    assert isinstance(d, ast.ListLit) and [type(i).__name__ for i in d.items] == ["Quantity", "StringLit", "Word",
                                                                                   "ListLit"]
    assert isinstance(e, ast.Word) and e.name == "off"
    assert one("RUN w (a => [])").args[0].value.items == ()


def test_comparators_are_normalised() -> None:
    run = one("RUN w () WITH SLO (a <= 1, b >= 2, c < 3, d > 4, e = 5, f == 6, g != 7, h <> 8)")
    assert [s.op for s in run.slos] == ["<=", ">=", "<", ">", "=", "=", "!=", "!="]
    # Metric names are lower-cased; values are kept as written.
    assert one("RUN w () WITH SLO (Latency <= 9 S)").slos[0].metric == "latency"
    assert one("RUN w () WITH SLO (Latency <= 9 S)").slos[0].value.unit == "S"


# ---------------------------------------------------------------------------
# spans
# ---------------------------------------------------------------------------


def test_task_target_spans_point_at_the_target() -> None:
    wf = parse(WORKFLOW, "video.job").statements[0]
    frames = wf.tasks[1]
    assert (frames.target_span.line, frames.target_span.col) == (5, 17)
    assert frames.target_span.text == "frame_extraction"
    transcript = wf.tasks[2]
    assert (transcript.target_span.line, transcript.target_span.col) == (6, 17)
    assert transcript.target_span.text == "'Transcribe the speech in each scene'"
    assert transcript.span.text.startswith("transcript :=") and transcript.span.text.endswith("(scenes)")
    assert frames.target_span.where() == "video.job:5:17"
    # Every span lies inside the text and reads back what was written.
    assert wf.name_span.text == "video_qa" and (wf.name_span.line, wf.name_span.col) == (1, 17)
    assert [r.span.text for r in wf.tasks[4].args] == ["question", "captions", "transcript"]
    assert wf.params[0].span.text == "videos LIST<VIDEO>"


def test_spans_on_later_lines_and_after_comments() -> None:
    text = "-- comment\n/* block\n block */\nRUN   w (x => 'a');\n  SET seed = 3;"
    run, set_stmt = parse(text).statements
    assert (run.target_span.line, run.target_span.col) == (4, 7)
    assert run.span.text == "RUN   w (x => 'a')"
    assert (set_stmt.span.line, set_stmt.span.col) == (5, 3)
    assert set_stmt.value.span.text == "3"


def test_run_target_description_and_cluster_name() -> None:
    run = one("RUN 'Summarize my reports' (documents => ['a.txt']) ON CLUSTER single_a100")
    assert run.by_description and run.target == "Summarize my reports"
    assert run.target_span.text == "'Summarize my reports'"
    assert run.cluster == "single_a100" and run.cluster_span.text == "single_a100"


# ---------------------------------------------------------------------------
# EXPLAIN, SHOW, SET, PLAN FLEET, objectives
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "analyze", "verbose", "fmt"), [
    ("EXPLAIN", False, False, None),
    ("EXPLAIN ANALYZE", True, False, None),
    ("EXPLAIN ANALYSE", True, False, None),
    ("EXPLAIN VERBOSE", False, True, None),
    ("EXPLAIN FORMAT json", False, False, "json"),
    ("EXPLAIN ANALYZE VERBOSE FORMAT JSON", True, True, "json"),
    ("explain analyze verbose format Mermaid", True, True, "mermaid"),
    ("EXPLAIN VERBOSE FORMAT dot", False, True, "dot"),
])
def test_explain_flags(prefix: str, analyze: bool, verbose: bool, fmt: str | None) -> None:
    stmt = one(f"{prefix} RUN w (x => 1) MINIMIZE latency")
    assert isinstance(stmt, ast.Explain)
    assert (stmt.analyze, stmt.verbose, stmt.format) == (analyze, verbose, fmt)
    assert isinstance(stmt.statement, ast.Run) and stmt.statement.target == "w"
    if fmt is None:
        assert stmt.format_span is None
    else:
        assert stmt.format_span.text.lower() == fmt


def test_explain_flags_in_the_wrong_order_are_a_syntax_error() -> None:
    with pytest.raises(MurakkabError):
        parse("EXPLAIN VERBOSE ANALYZE RUN w ()")


def test_explain_plan_fleet() -> None:
    stmt = one("EXPLAIN PLAN FLEET FOR w AT 10 PER hour")
    assert isinstance(stmt, ast.Explain) and isinstance(stmt.statement, ast.PlanFleet)


def test_show_keeps_the_raw_where_text() -> None:
    text = "SHOW agents FOR speech_to_text WHERE quality >= 0.5 AND (kind = 'tool' OR name LIKE 'whisper%');"
    show = one(text)
    assert isinstance(show, ast.Show)
    assert show.what == "agents" and show.subject == "speech_to_text"
    assert show.where == "quality >= 0.5 AND (kind = 'tool' OR name LIKE 'whisper%')"
    assert show.where_span.text == show.where
    # The predicate text is taken from the source verbatim: spacing and case kept.
    odd = one("show HARDWARE where   Price_USD_h<2    and  kind!='gpu'")
    assert odd.what == "hardware" and odd.subject is None
    assert odd.where == "Price_USD_h<2    and  kind!='gpu'"
    # A subject with a dash is quoted; a quote in it is doubled.
    quoted = one("SHOW PROFILES FOR 'whisper-small-cpu' WHERE units = 1")
    assert quoted.subject == "whisper-small-cpu" and quoted.where == "units = 1"
    assert one("SHOW PROFILES FOR 'it''s'").subject == "it's"


def test_show_without_where() -> None:
    show = one("SHOW interfaces")
    assert (show.what, show.subject, show.where, show.where_span) == ("interfaces", None, None, None)
    # A predicate may use words that are keywords elsewhere.
    assert one("SHOW agents WHERE interface IN ('run', 'set') AND model IS NOT NULL").where.startswith("interface IN")


@pytest.mark.parametrize(("text", "name", "kind", "value"), [
    ("SET solver = 'greedy'", "solver", ast.StringLit, "greedy"),
    ("SET Solver = greedy", "solver", ast.Word, "greedy"),
    ("SET seed = 42", "seed", ast.Quantity, 42.0),
    ("SET parallelism = off", "parallelism", ast.Word, "off"),
    ("SET solver_time_limit = 10 s", "solver_time_limit", ast.Quantity, 10.0),
    ("set cluster = 'single-a100'", "cluster", ast.StringLit, "single-a100"),
])
def test_set(text: str, name: str, kind: type, value: object) -> None:
    stmt = one(text)
    assert isinstance(stmt, ast.SetStmt) and stmt.name == name and isinstance(stmt.value, kind)
    assert (stmt.value.name if isinstance(stmt.value, ast.Word) else stmt.value.value) == value
    assert stmt.span.text == text


def test_plan_fleet_parses() -> None:
    stmt = one("PLAN FLEET FOR video_qa AT 20 PER hour WITH SLO (latency <= 90 s),"
               " code_debate AT 2.5 PER minute MINIMIZE cost THEN energy ON CLUSTER 'osdi-a100-h100'")
    assert isinstance(stmt, ast.PlanFleet)
    first, second = stmt.items
    assert (first.workflow.name, first.rate, first.period) == ("video_qa", 20.0, "hour")
    assert [(s.share, s.slo.metric, s.slo.op) for s in first.slos] == [(None, "latency", "<=")]
    assert (second.workflow.name, second.rate, second.period, second.slos) == ("code_debate", 2.5, "minute", ())
    assert [(o.direction, o.metric) for o in stmt.objectives] == [("minimize", "cost"), ("minimize", "energy")]
    assert stmt.cluster == "osdi-a100-h100"
    assert first.workflow.span.text == "video_qa"


def test_plan_fleet_traces_shares_and_budgets_parse() -> None:
    stmt = one("PLAN FLEET FOR video_qa FROM TRACE 'conv.csv' (time = TIMESTAMP, window = 30 s)"
               " WITH SLO (70% quality >= GOOD, 30 % latency <= 20 s) ASSUMING (duration = 30 s)"
               " BUDGET (A100 = 64, cost = 300 USD) MAXIMIZE quality")
    assert isinstance(stmt, ast.PlanFleet)
    (item,) = stmt.items
    assert item.rate is None and item.trace is not None and item.trace.value == "conv.csv"
    assert [s.name for s in item.trace_settings] == ["time", "window"]
    assert [(s.share, s.slo.metric) for s in item.slos] == [(70.0, "quality"), (30.0, "latency")]
    assert [s.name for s in item.assuming] == ["duration"]
    assert [(b.name, b.value.value) for b in stmt.budgets] == [("A100", 64.0), ("cost", 300.0)]
    assert item.load_span.text.startswith("FROM TRACE 'conv.csv'")


def test_objectives_carry_direction_until_changed() -> None:
    run = one("RUN w () MINIMIZE latency THEN cost THEN MAXIMIZE quality")
    assert [(o.direction, o.metric) for o in run.objectives] == [
        ("minimize", "latency"), ("minimize", "cost"), ("maximize", "quality")]
    assert [o.span.text for o in run.objectives] == ["latency", "cost", "quality"]
    run = one("RUN w () maximise Quality THEN latency")
    assert [(o.direction, o.metric) for o in run.objectives] == [("maximize", "quality"), ("maximize", "latency")]
    run = one("RUN w () MINIMISE energy")
    assert [(o.direction, o.metric) for o in run.objectives] == [("minimize", "energy")]


def test_run_clauses_in_any_order_and_repeated() -> None:
    run = one("RUN w () ON CLUSTER a MINIMIZE cost WITH SLO (latency <= 1 s) WITH SLO (quality >= GOOD)")
    assert run.cluster == "a" and [s.metric for s in run.slos] == ["latency", "quality"]
    assert [o.metric for o in run.objectives] == ["cost"]
    # A second goal clause or cluster would silently become THEN, or win: refused where written.
    for text, said, at in [("RUN w () MINIMIZE latency MINIMIZE cost", "a second goal clause", "cost"),
                           ("RUN w () ON CLUSTER 'a' ON CLUSTER 'b'", "a second ON CLUSTER clause", "'b'")]:
        with pytest.raises(MurakkabError) as err:
            parse(text)
        assert err.value.message == said and err.value.span is not None and err.value.span.text == at


# ---------------------------------------------------------------------------
# the AST is immutable
# ---------------------------------------------------------------------------


def test_ast_nodes_are_frozen() -> None:
    wf, run = parse(WORKFLOW).statements
    with pytest.raises(dataclasses.FrozenInstanceError):
        wf.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        wf.tasks[0].target = "summarization"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.slos[0].op = ">="  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.args[0].value.items[0].value = "b.mp4"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        wf.span.start = 3  # type: ignore[misc]
    # Collections are tuples, so they cannot be changed in place either.
    assert isinstance(wf.tasks, tuple) and isinstance(run.args, tuple) and isinstance(parse("").statements, tuple)


def test_every_node_class_is_a_frozen_dataclass() -> None:
    classes = [getattr(ast, n) for n in dir(ast) if isinstance(getattr(ast, n), type)
               and dataclasses.is_dataclass(getattr(ast, n)) and getattr(ast, n).__module__ == ast.__name__]
    assert len(classes) >= 15
    for cls in classes:
        assert cls.__dataclass_params__.frozen, cls.__name__


# ---------------------------------------------------------------------------
# syntax errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "line", "col", "message", "hint"), [
    ("CRAETE WORKFLOW w () AS (t := test_generation ()) RETURNS t", 1, 1, "unexpected 'CRAETE'", "'CREATE'"),
    ("RUN w ()\n  MINIMZE latency", 2, 3, "unexpected 'MINIMZE'", "'MINIMIZE'"),
    ("RUN w (q => 'open)", 1, 13, "unterminated string", "close the string"),
    ('RUN w (q => "x")', 1, 13, "strings use single quotes", "double quotes"),
    ("RUN w (q => 'x'", 1, 16, "unexpected end of input", "')'"),  # just after the last token
    ("RUN w (q => 'x') @", 1, 18, "unexpected character '@'", None),
    ("CREATE WORKFLOW w (a TEXT) AS (t := summarization (a)) RETURNS t\nRUN w (a => 'x')", 2, 1,
     "unexpected 'RUN'", "statements end with ';'"),
])
def test_syntax_errors_point_at_the_fault(text: str, line: int, col: int, message: str, hint: str | None) -> None:
    with pytest.raises(MurakkabError) as info:
        parse(text, "bad.job")
    error = info.value
    assert (error.span.line, error.span.col) == (line, col), error.render()
    assert message in error.message
    if hint is not None:
        assert error.hint is not None and hint in error.hint
    rendered = error.render()
    assert rendered.startswith(f"bad.job:{line}:{col}: error: ") and "^" in rendered


def test_keywords_list() -> None:
    words = keywords()
    for kw in ("CREATE", "WORKFLOW", "RETURNS", "RUN", "MINIMIZE", "MAXIMIZE", "EXPLAIN", "ANALYZE", "SHOW",
               "WHERE", "SET", "PLAN", "FLEET"):
        assert kw in words
    assert all(w == w.upper() for w in words) and list(words) == sorted(words)


# ---------------------------------------------------------------------------
# known product bugs (strict xfails: they start failing when the bug is fixed)
# ---------------------------------------------------------------------------


def test_missing_semicolon_after_a_unitless_number() -> None:
    with pytest.raises(MurakkabError) as info:
        parse("SET seed = 42\nRUN video_qa (q => 'x');")
    assert (info.value.span.line, info.value.span.col) == (2, 1), info.value.render()
    assert info.value.hint == "statements end with ';'"


def test_expected_tokens_are_only_those_valid_here() -> None:
    with pytest.raises(MurakkabError) as info:
        parse("CREATE WORKFLOW w (a TEXT) AS (t := summarization (a)) RETURNS t\nRUN w (a => 'x');")
    message = info.value.message
    assert "unexpected 'RUN'" in message
    assert " AT" not in message and "')'" not in message, message


def test_end_of_input_caret_is_not_inside_a_trailing_comment() -> None:
    with pytest.raises(MurakkabError) as info:
        parse("RUN w (q => 'x' -- the question\n")
    # The last token is the string 'x' (columns 13-15); the caret belongs there or
    # just after it, not on the comment's last letter (column 31).
    assert info.value.span.col <= 16, info.value.render()
