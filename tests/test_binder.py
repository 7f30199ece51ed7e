"""The binder: interfaces by name and by description, types and maps, cardinality
estimates (probed, stated, default), templates for description-only RUNs, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from murakkab.catalog.types import Type, is_subtype, list_of, parse_type
from murakkab.compiler.bind import compile_script
from murakkab.compiler.logical import INVOKE, MAP
from murakkab.grammar.diagnostics import MurakkabError

WF = """
CREATE WORKFLOW w (v VIDEO, q TEXT) AS (
  s := 'Identify the scenes' (v),
  t := speech_to_text (s),
  a := question_answering (q, t)
) RETURNS a;
"""


def job(text: str, catalog):
    return compile_script(text, "t.job", catalog).jobs[0]


def test_interface_by_description_records_confidence(tiny_catalog) -> None:
    j = job(WF + "RUN w (v => 'x.mp4', q => 'why?');", tiny_catalog)
    assert j.plan.node("s").interface == "scene_detection"
    (task, iface, confidence), = j.matched
    assert (task, iface) == ("s", "scene_detection") and 0.2 <= confidence <= 1.0


def test_low_confidence_description_lists_candidates(tiny_catalog) -> None:
    with pytest.raises(MurakkabError) as err:
        job("CREATE WORKFLOW w (v VIDEO) AS (s := 'Bake a chocolate cake' (v)) RETURNS s;", tiny_catalog)
    assert "enough confidence" in err.value.message and "closest:" in (err.value.hint or "")
    assert err.value.span is not None and err.value.span.text == "'Bake a chocolate cake'"


def test_list_where_item_expected_makes_a_map(tiny_catalog) -> None:
    j = job(WF + "RUN w (v => 'x.mp4', q => 'why?');", tiny_catalog)
    s, t, a = (j.plan.node(x) for x in "sta")
    assert s.op == INVOKE and s.type == list_of(Type("SCENE"))
    assert t.op == MAP and t.over == "s" and t.type == list_of(Type("TEXT"))
    # question_answering's variadic context takes the list whole: a gather, not a map.
    assert a.op == INVOKE and a.type == Type("TEXT")


def test_type_mismatch_points_at_the_argument(tiny_catalog) -> None:
    with pytest.raises(MurakkabError) as err:
        job("CREATE WORKFLOW w (q TEXT) AS (t := speech_to_text (q)) RETURNS t;", tiny_catalog)
    assert "expects audio MEDIA" in err.value.message and err.value.span.text == "q"


def test_cannot_map_over_two_lists(default_catalog) -> None:
    with pytest.raises(MurakkabError, match="cannot map test_execution over both") as err:
        job("CREATE WORKFLOW w (a LIST<CODE>, b LIST<CODE>) AS (x := test_execution (a, b)) RETURNS x;",
            default_catalog)
    assert err.value.span.text == "b"


def test_variadic_parameter_takes_lists_whole(tiny_catalog) -> None:
    j = job("CREATE WORKFLOW w (a LIST<TEXT>, b LIST<TEXT>) AS (x := question_answering (a, b)) RETURNS x;"
            " RUN w (a => ['x'], b => ['y']);", tiny_catalog)
    # The first list maps over `question`; the second goes whole into the variadic context.
    assert j.plan.node("x").over == "a"


def test_cardinality_from_stated_statistics(tiny_catalog) -> None:
    j = job(WF + "RUN w (v => 'none.mp4' ASSUMING (duration = 2 min, fps = 25), q => 'why?');", tiny_catalog)
    v, s = j.plan.node("v"), j.plan.node("s")
    assert v.stats.origin == "stated" and v.stats.attr("duration_s") == 120
    # 120 s / scene_length_s 10 s = 12 scenes of 10 s each.
    assert s.stats.items == 12 and s.stats.attr("duration_s") == 10
    assert j.plan.node("t").stats.items == 12


def test_cardinality_falls_back_to_marked_defaults(tiny_catalog) -> None:
    j = job(WF + "RUN w (v => 'none.mp4', q => 'why?');", tiny_catalog)
    v = j.plan.node("v")
    assert v.stats.origin == "default" and v.stats.attr("duration_s") == 100
    assert j.plan.node("s").stats.origin == "default"
    assert "[default]" in "\n".join(j.plan.render())


def _write_video(path: Path, seconds: int, fps: int) -> None:
    av = pytest.importorskip("av")
    import numpy as np

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i % 255, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_cardinality_probed_from_a_real_file(tiny_catalog, tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    _write_video(video, seconds=3, fps=10)
    # The real file wins over what the script states.
    j = job(WF + f"RUN w (v => '{video}' ASSUMING (duration = 1 h), q => 'why?');", tiny_catalog)
    v = j.plan.node("v")
    assert v.stats.origin == "probed"
    assert v.stats.attr("duration_s") == pytest.approx(3.0, abs=0.2)
    assert v.stats.attr("fps") == pytest.approx(10.0)


def test_list_input_statistics(tiny_catalog) -> None:
    text = """CREATE WORKFLOW w (vs LIST<VIDEO>) AS (s := scene_detection (vs)) RETURNS s;
              RUN w (vs => ['a.mp4', 'b.mp4', 'c.mp4'] ASSUMING (duration = 50 s));"""
    j = job(text, tiny_catalog)
    assert j.plan.node("vs").stats.items == 3
    assert j.plan.node("s").stats.items == 15  # 3 videos x 50 s / 10 s


def test_description_only_run_uses_a_template(default_catalog) -> None:
    j = job("RUN 'List the objects shown or mentioned in the videos' (videos => ['a.mp4']);", default_catalog)
    assert j.workflow == "video_objects"
    assert j.matched[0][1] == "template video_objects"
    assert {n.interface for n in j.plan.tasks} >= {"scene_detection", "object_detection"}


def test_preferences_restrict_and_are_checked(tiny_catalog) -> None:
    j = job("CREATE WORKFLOW w (v VIDEO) AS (t := speech_to_text (v) USING (device = CPU)) RETURNS t;"
            "RUN w (v => 'x.mp4');", tiny_catalog)
    assert [(p.key, p.pattern) for p in j.plan.node("t").prefs] == [("device", "CPU")]
    with pytest.raises(MurakkabError, match="no implementation of speech_to_text matches model"):
        job("CREATE WORKFLOW w (v VIDEO) AS (t := speech_to_text (v) USING (model = 'gpt-*')) RETURNS t;",
            tiny_catalog)


def test_settings_and_defaults(tiny_catalog) -> None:
    j = job(WF + "SET parallelism = off; SET seed = 7; RUN w (v => 'x.mp4', q => 'why?');", tiny_catalog)
    assert not j.settings.parallelism and j.settings.seed == 7
    assert [(g.metric, g.minimize) for g in j.goals] == [("latency", True), ("energy", True)]


def test_slo_units_are_normalised(tiny_catalog) -> None:
    j = job(WF + "RUN w (v => 'x.mp4', q => 'y') WITH SLO (latency <= 2 min, energy <= 1 kWh, quality >= GOOD);",
            tiny_catalog)
    assert [(s.metric, s.value, s.tier) for s in j.slos] == [
        ("latency", 120.0, None), ("energy", 1000.0, None), ("quality", None, "GOOD")]


def test_workflow_redefinition_needs_or_replace(tiny_catalog) -> None:
    body = "WORKFLOW w (v VIDEO) AS (t := speech_to_text (v)) RETURNS t;"
    with pytest.raises(MurakkabError, match="already defined"):
        compile_script(f"CREATE {body} CREATE {body}", "t.job", tiny_catalog)
    compile_script(f"CREATE {body} CREATE OR REPLACE {body}", "t.job", tiny_catalog)


def test_type_lattice() -> None:
    assert is_subtype(Type("SCENE"), Type("MEDIA")) and not is_subtype(Type("TEXT"), Type("MEDIA"))
    assert is_subtype(parse_type("LIST<SCENE>"), parse_type("LIST<VIDEO>"))
    assert not is_subtype(parse_type("LIST<TEXT>"), Type("TEXT"))
    assert str(parse_type("list<list<text>>")) == "LIST<LIST<TEXT>>"


def test_input_paths_are_found_next_to_the_job_file(tmp_path, monkeypatch) -> None:
    import shutil

    import murakkab
    from murakkab.catalog.catalog import Catalog

    root = __import__("pathlib").Path(__file__).parent.parent
    (tmp_path / "jobs").mkdir()
    shutil.copy(root / "samples" / "city_walk.mp4", tmp_path / "jobs" / "clip.mp4")
    job = tmp_path / "jobs" / "w.job"
    job.write_text("CREATE WORKFLOW w (v LIST<VIDEO>) AS (s := scene_detection (v)) RETURNS s;\n"
                   "RUN w (v => ['clip.mp4']);")
    monkeypatch.chdir(tmp_path)  # not where the video is
    (bound,) = murakkab.compile(job, catalog=Catalog()).jobs
    video = bound.plan.node("v")
    assert video.literal == (str(tmp_path / "jobs" / "clip.mp4"),) and video.value == "['clip.mp4']"
    assert video.stats.origin == "probed"
    # Not next to the job: the working directory; in neither: kept as written.
    (tmp_path / "jobs" / "clip.mp4").rename(tmp_path / "clip.mp4")
    (bound,) = murakkab.compile(job, catalog=Catalog()).jobs
    assert bound.plan.node("v").literal == (str(tmp_path / "clip.mp4"),)
    (tmp_path / "clip.mp4").unlink()
    (bound,) = murakkab.compile(job, catalog=Catalog()).jobs
    assert bound.plan.node("v").literal == ("clip.mp4",) and bound.plan.node("v").stats.origin == "default"


@pytest.mark.parametrize("value, said", [("3", "'3'"), ("'fast'", "'fast'"), ("fastest", "'fastest'")])
def test_an_unknown_solver_is_named_as_written(tiny_catalog, value: str, said: str) -> None:
    with pytest.raises(MurakkabError) as err:
        job(f"SET solver = {value};\n" + WF + "RUN w (v => 'x.mp4', q => 'q');", tiny_catalog)
    assert err.value.message == f"unknown solver {said}" and err.value.span.text == value


def test_explain_says_whether_the_solver_and_the_floor_were_set_or_defaulted(default_catalog) -> None:
    import murakkab

    run = WF + "RUN w (v => 'x.mp4' ASSUMING (duration = 60 s), q => 'q') ON CLUSTER 'hotos-testbed';"
    plain = murakkab.explain(run, catalog=default_catalog)
    assert "solver: greedy; the default" in plain and "as requested" not in plain
    assert "the default floor, the workflow's BASIC tier" in plain
    chosen = murakkab.explain("SET solver = greedy; SET quality_floor = FAIR;\n" + run, catalog=default_catalog)
    assert "solver: greedy; as requested" in chosen and "the floor SET quality_floor gives" in chosen


def test_a_quality_floor_out_of_reach_says_where_it_is_held(default_catalog) -> None:
    """The planner holds an unreachable floor at the best reachable quality; EXPLAIN says
    so instead of printing the asked value beside "met"."""
    import json

    import murakkab

    run = "SET quality_floor = 0.99;\n" + WF + (
        "RUN w (v => 'x.mp4' ASSUMING (duration = 60 s), q => 'q') ON CLUSTER 'hotos-testbed';")
    text = murakkab.explain(run, catalog=default_catalog)
    line = next(x for x in text.splitlines() if x.startswith("quality floor:"))
    assert "quality >= 0.99 (out of reach: held at the best reachable ~" in line
    (slo,) = json.loads(murakkab.explain(run, catalog=default_catalog, format="json"))["slos"]
    assert slo["asked"] == 0.99 and slo["bound"] < 0.99 and slo["met"]
    reachable = murakkab.explain(run.replace("0.99", "0.1"), catalog=default_catalog)
    assert "out of reach" not in reachable


def test_a_stated_count_gives_way_to_the_files_the_list_names(default_catalog, tmp_path: Path) -> None:
    """As a stated duration gives way to the file's: a list of files that exist has the
    count it has (noted); a list of paths not there yet plans for the stated count."""
    import murakkab

    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("Some text. More text.")
    wf = ("CREATE WORKFLOW s (docs LIST<DOCUMENT>) AS (c := document_chunking (docs), "
          "t := summarization (c)) RETURNS t;\n")
    real = murakkab.compile(wf + f"RUN s (docs => ['{tmp_path}/*.txt'] ASSUMING (count = 40));",
                            catalog=default_catalog).jobs[0]
    docs = real.plan.node("docs")
    assert docs.stats.items == 2
    assert "input 'docs': ASSUMING (count = 40) is ignored: the list names 2 files" in docs.notes
    planned = murakkab.compile(wf + "RUN s (docs => ['later.txt'] ASSUMING (count = 40));",
                               catalog=default_catalog).jobs[0]
    assert planned.plan.node("docs").stats.items == 40 and not planned.plan.node("docs").notes


def test_explain_names_the_input_attributes_left_at_the_catalog_defaults(default_catalog) -> None:
    import murakkab

    run = WF + "RUN w (v => 'x.mp4' ASSUMING (duration = 5 min), q => 'q') ON CLUSTER 'hotos-testbed';"
    text = murakkab.explain(run, catalog=default_catalog)
    assert "note: v: fps from the catalog's defaults (give real files, or ASSUMING (fps = ...))" in text
    stated = murakkab.explain(run.replace("duration = 5 min", "duration = 5 min, fps = 25"), catalog=default_catalog)
    assert "from the catalog's defaults" not in stated


def test_a_set_floor_beside_a_quality_slo_is_said_not_applied(default_catalog) -> None:
    """The quality SLO sets the job's quality; a floor the script SET is not silently lost."""
    import murakkab

    run = WF + ("RUN w (v => 'x.mp4' ASSUMING (duration = 60 s), q => 'q') WITH SLO (quality >= BASIC) "
                "ON CLUSTER 'hotos-testbed';")
    text = murakkab.explain("SET quality_floor = BEST;\n" + run, catalog=default_catalog)
    assert "note: SET quality_floor = BEST is not applied: the SLO quality >= BASIC sets this job's quality" in text
    assert "quality_floor" not in murakkab.explain(run, catalog=default_catalog)
    assert "is not applied" not in murakkab.explain("SET quality_floor = off;\n" + run, catalog=default_catalog)


@pytest.mark.parametrize("tail", ["SET seed = 3;", "SET solver = cpsat; SHOW AGENTS;"])
def test_a_set_after_the_last_run_is_an_error_where_written(tiny_catalog, tail: str) -> None:
    with pytest.raises(MurakkabError) as err:
        job(WF + "RUN w (v => 'x.mp4', q => 'q');\n" + tail, tiny_catalog)
    assert "comes after the last RUN: it applies to nothing" in err.value.message
    assert err.value.span.text == tail.split(";")[0] and err.value.span.line == 8
    assert "move it above the RUN" in (err.value.hint or "")
    # Before a RUN, or in a script with no RUN at all, a SET is fine.
    job(WF + "RUN w (v => 'x.mp4', q => 'q');\nSET seed = 3;\nRUN w (v => 'x.mp4', q => 'q');", tiny_catalog)
    assert compile_script(WF + tail, "t.job", tiny_catalog).jobs == ()


def test_the_exhaustive_limit_points_at_the_set_that_chose_it(default_catalog) -> None:
    import murakkab

    # The five-step video Q&A on the testbed: over a million plans.
    script = (Path(__file__).parent.parent / "examples" / "video_qa.job").read_text()
    with pytest.raises(MurakkabError) as err:
        murakkab.explain("SET solver = exhaustive;\n" + script, catalog=default_catalog)
    assert "exhaustive oracle would evaluate" in err.value.message, err.value.message
    assert err.value.span is not None and err.value.span.text == "SET solver = exhaustive"


def test_a_bool_input_takes_true_or_false(tiny_catalog) -> None:
    wf = "CREATE WORKFLOW b (q TEXT, flag BOOL, flags LIST<BOOL>) AS (a := question_answering (q, flag)) RETURNS a;\n"
    j = job(wf + "RUN b (q => 'why?', flag => TRUE, flags => [false, True]);", tiny_catalog)
    assert j.plan.node("flag").literal is True and j.plan.node("flags").literal == (False, True)
    for bad in ("'banana'", "1", "maybe"):
        with pytest.raises(MurakkabError) as err:
            job(wf + f"RUN b (q => 'why?', flag => {bad}, flags => [TRUE]);", tiny_catalog)
        assert err.value.message == "'flag' takes TRUE or FALSE" and err.value.span.text == bad
