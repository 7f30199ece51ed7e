"""Workflow knobs as decisions (compiler/physical/knobs.py) and the quality of a
configuration from the catalog's workflow accuracy profile (compiler/physical/accuracy.py)."""

from __future__ import annotations

import json

import pytest

import murakkab
from murakkab import api
from murakkab.compiler.explain import render_text, to_dict
from murakkab.compiler.job import Settings
from murakkab.compiler.physical.accuracy import job_quality_models, parse_config, quality_function
from murakkab.compiler.physical.candidates import enumerate_candidates
from murakkab.compiler.physical.knobs import MAX_CONFIGS, KnobConfig, free_knobs, knob_space, with_knobs

VIDEO_QA = """CREATE WORKFLOW video_qa (videos LIST<VIDEO>, question TEXT) AS (
  scenes     := scene_detection (videos),
  frames     := frame_extraction (scenes){frames},
  {stt}
  captions   := frame_summarization (frames),
  answer     := question_answering (question, captions{transcript})
) RETURNS answer;
SET solver = '{solver}';
RUN video_qa (videos => ['road_trip.mp4'] ASSUMING (duration = 10 min, fps = 30), question => 'what?')
  {goal} ON CLUSTER 'hotos-testbed';"""


def video_qa(frames: int | None = None, stt: bool = True, solver: str = "greedy",
             goal: str = "MAXIMIZE quality THEN MINIMIZE energy") -> str:
    return VIDEO_QA.format(frames=f" WITH (frames_per_scene = {frames})" if frames else "",
                           stt="transcript := speech_to_text (scenes)," if stt else "",
                           transcript=", transcript" if stt else "", solver=solver, goal=goal)


def profile(workflow: str, model: str, config: str) -> float:
    rows = api.default_catalog().workflow_quality(workflow)
    return next(r.value for r in rows if r.model == model and parse_config(r.config) == parse_config(config))


def plan_of(script: str):
    return murakkab.optimize(script, settings=Settings(quality_floor=None))[0]


def test_config_codes_parse() -> None:
    assert parse_config("F5,STT=Y") == {"F": "5", "STT": "Y"}
    assert parse_config("F10,STT=N") == {"F": "10", "STT": "N"}
    assert parse_config("D4R2") == {"D": "4", "R": "2"}


def test_default_knobs_reestimate_to_the_bound_plan() -> None:
    """with_knobs with every knob at the value the binder used changes no estimate."""
    job = api.compile(video_qa(), settings=Settings()).jobs[0]
    cat = api.default_catalog()
    same = with_knobs(job.plan, KnobConfig((( ("frame_extraction", "frames_per_scene"), 5.0),)), cat)
    assert [(n.id, n.stats, n.knobs) for n in same.nodes] == [(n.id, n.stats, n.knobs) for n in job.plan.nodes]
    ten = with_knobs(job.plan, KnobConfig(((("frame_extraction", "frames_per_scene"), 10.0),)), cat)
    assert ten.node("frames").stats.items == 2 * job.plan.node("frames").stats.items
    # Downstream work follows: captions map over twice the frames.
    assert ten.node("captions").stats.items == 2 * job.plan.node("captions").stats.items


def test_only_free_knobs_that_an_estimate_reads_are_decisions() -> None:
    cat = api.default_catalog()
    free = free_knobs(api.compile(video_qa(), settings=Settings()).jobs[0].plan, cat)
    # threshold is read by no cardinality expression nor profile: every value plans the same.
    assert list(free) == [("frame_extraction", "frames_per_scene")]
    assert free_knobs(api.compile(video_qa(frames=5), settings=Settings()).jobs[0].plan, cat) == {}


def test_frames_per_scene_changes_quality_as_the_profile_says() -> None:
    """Seen: frames per scene 1 and 10 estimated the same quality (0.438)."""
    one, ten = plan_of(video_qa(frames=1)), plan_of(video_qa(frames=10))
    assert one.estimate.quality < ten.estimate.quality
    captions = {p: p.task("captions").candidate for p in (one, ten)}
    assert captions[ten].agent == "gemma-3-27b-captioner"
    assert captions[ten].quality == pytest.approx(profile("video_qa", "Gemma-3-27B", "F10,STT=Y"))
    cat = api.default_catalog()
    every = enumerate_candidates(one.logical.node("captions"), one.logical, cat, cat.cluster(one.cluster), None,
                                 quality_function(one.logical, cat))
    gemma_one = [c for c in every if c.agent == "gemma-3-27b-captioner"]
    assert gemma_one and all(c.quality == pytest.approx(profile("video_qa", "Gemma-3-27B", "F1,STT=Y"))
                             for c in gemma_one)


def test_the_planner_chooses_a_free_knob_for_the_goal() -> None:
    best_quality = plan_of(video_qa())
    assert dict(best_quality.logical.node("frames").knobs)["frames_per_scene"] == 10
    assert "chose frame_extraction.frames_per_scene=10" in best_quality.solver_note
    # Each fixed configuration planned alone is no better than the free choice.
    for f in (1, 5, 10):
        fixed = plan_of(video_qa(frames=f))
        assert fixed.estimate.quality <= best_quality.estimate.quality + 1e-12
    cheapest = plan_of(video_qa(goal="MINIMIZE energy"))
    assert dict(cheapest.logical.node("frames").knobs)["frames_per_scene"] == 1
    for f in (5, 10):
        assert plan_of(video_qa(frames=f, goal="MINIMIZE energy")).estimate.energy_wh >= cheapest.estimate.energy_wh


def test_exact_search_over_configurations_equals_the_best_fixed_configuration() -> None:
    def small(frames: int | None) -> str:
        # Agents pinned so the exhaustive oracle stays small: the decisions left are the
        # knob, hardware units and fan-outs.
        return (video_qa(frames=frames, stt=False, solver="exhaustive", goal="MINIMIZE energy")
                .replace("scene_detection (videos)", "scene_detection (videos) USING (agent = 'pyscenedetect-content')")
                .replace("frame_summarization (frames)", "frame_summarization (frames) USING (agent = 'gemma-3-27b-captioner')")
                .replace("(question, captions)", "(question, captions) USING (agent = 'llama-3.1-8b-qa')"))

    free = plan_of(small(None))
    fixed = [plan_of(small(f)) for f in (1, 5, 10)]
    assert free.estimate.energy_wh == pytest.approx(min(p.estimate.energy_wh for p in fixed), rel=1e-9)
    assert "3 knob configurations" in free.solver_note


def test_speech_to_text_off_uses_the_stt_n_row() -> None:
    plan = plan_of(video_qa(frames=10, stt=False))
    assert plan.task("captions").candidate.quality == pytest.approx(profile("video_qa", "Gemma-3-27B", "F10,STT=N"))
    assert "at F10,STT=N" in dict(plan.quality_source)[""]


def test_explain_names_the_quality_source() -> None:
    plan = plan_of(video_qa(frames=5))
    source = dict(plan.quality_source)[""]
    assert source.startswith("workflow accuracy profile video_qa (accuracy_videomme) at F5,STT=Y")
    assert json.loads(json.dumps(to_dict(plan)))["quality_source"][""] == source
    assert f"quality (the estimated probability that the answer is right): {source}" in \
        render_text(plan, api.default_catalog())
    # A workflow the profiles do not describe: the agents' own qualities.
    docs = plan_of("""CREATE WORKFLOW s (documents LIST<DOCUMENT>) AS (
      chunks := document_chunking (documents), summaries := summarization (chunks),
      summary := summary_reduction (summaries)) RETURNS summary;
    RUN s (documents => ['a.txt'] ASSUMING (tokens = 24000)) MINIMIZE cost;""")
    assert dict(docs.quality_source)[""].startswith("product of the agents' qualities")


def test_debaters_and_rounds_select_the_code_gen_row() -> None:
    script = """CREATE WORKFLOW cg (problem TEXT, personas LIST<TEXT>) AS (
      drafts := code_generation (problem, personas), r1 := debate_round (drafts, drafts),
      {more} tests := test_generation (problem), results := test_execution ({last}, tests),
      best := ranking ({last}, results)) RETURNS best;
    RUN cg (problem => 'p', personas => [{personas}]);"""
    cat = api.default_catalog()
    for personas, rounds, code in ((2, 2, "D2R2"), (4, 4, "D4R4"), (4, 1, None)):
        more = "".join(f"r{i} := debate_round (r{i - 1}, r{i - 1}), " for i in range(2, rounds + 1))
        text = script.format(more=more, last=f"r{rounds}", personas=", ".join(["'x'"] * personas))
        job = api.compile(text, settings=Settings()).jobs[0]
        model = job_quality_models(job.plan, cat)[""]
        if code is None:
            assert model.profile is None and "no row at D=4,R=1" in model.why
        else:
            assert model.profile == "code_gen" and parse_config(model.config) == parse_config(code)
            assert dict(model.accuracy)["gemma-3-27b"] == profile("code_gen", "Gemma-3-27B", code)


def test_too_many_configurations_vary_one_knob_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    cat = api.default_catalog()
    script = """CREATE WORKFLOW w (videos LIST<VIDEO>, documents LIST<DOCUMENT>) AS (
      scenes := scene_detection (videos), frames := frame_extraction (scenes), tags := object_detection (frames),
      chunks := document_chunking (documents), sums := summarization (chunks)) RETURNS tags, sums;
    RUN w (videos => ['v.mp4'], documents => ['d.txt']);"""
    plan = api.compile(script, settings=Settings()).jobs[0].plan
    frames = cat.interface("frame_extraction").knob("frames_per_scene")
    chunk = cat.interface("document_chunking").knob("chunk_tokens")
    every = knob_space(plan, cat)
    assert every.exhaustive and len(every.configs) == len(frames.domain) * len(chunk.domain) <= MAX_CONFIGS
    monkeypatch.setattr("murakkab.compiler.physical.knobs.MAX_CONFIGS", 4)
    alone = knob_space(plan, cat)
    assert not alone.exhaustive
    assert len(alone.configs) == 1 + (len(frames.domain) - 1) + (len(chunk.domain) - 1)
    # Each configuration differs from the defaults in one knob at most.
    defaults = {("frame_extraction", "frames_per_scene"): frames.default, ("document_chunking", "chunk_tokens"): chunk.default}
    for config in alone.configs:
        assert sum(dict(config.values)[k] != v for k, v in defaults.items()) <= 1
    assert "each varied alone from its default" in alone.describe()
