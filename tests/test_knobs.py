"""Workflow knobs as decisions (compiler/physical/knobs.py) and the quality of a
configuration from the catalog's workflow accuracy profile (compiler/physical/accuracy.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import murakkab
from murakkab import api
from murakkab.compiler.explain import render_text, to_dict
from murakkab.compiler.job import Settings
from murakkab.compiler.physical.accuracy import job_quality_models, parse_config, quality_function
from murakkab.compiler.physical.candidates import enumerate_candidates
from murakkab.compiler.logical import check_invariants
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
    # (speech-to-text's `enabled` shapes the plan: applied, it leaves the node)
    assert [(n.id, n.stats, n.knobs) for n in same.nodes] == [
        (n.id, n.stats, tuple(k for k in n.knobs if k[0] != "enabled")) for n in job.plan.nodes]
    ten = with_knobs(job.plan, KnobConfig(((("frame_extraction", "frames_per_scene"), 10.0),)), cat)
    assert ten.node("frames").stats.items == 2 * job.plan.node("frames").stats.items
    # Downstream work follows: captions map over twice the frames.
    assert ten.node("captions").stats.items == 2 * job.plan.node("captions").stats.items


def test_only_free_knobs_that_an_estimate_reads_are_decisions() -> None:
    cat = api.default_catalog()
    free = free_knobs(api.compile(video_qa(), settings=Settings()).jobs[0].plan, cat)
    # threshold is read by no cardinality expression nor profile: every value plans the same.
    assert list(free) == [("frame_extraction", "frames_per_scene"), ("speech_to_text", "enabled")]
    assert list(free_knobs(api.compile(video_qa(frames=5), settings=Settings()).jobs[0].plan, cat)) == [
        ("speech_to_text", "enabled")]


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


CODE_GEN = """CREATE WORKFLOW cg (problem TEXT, personas LIST<TEXT>) AS (
  drafts := code_generation (problem, personas){debaters}, r1 := debate_round (drafts, drafts){rounds},
  {more} tests := test_generation (problem), results := test_execution ({last}, tests),
  best := ranking ({last}, results)) RETURNS best;
RUN cg (problem => 'p', personas => [{personas}]) {goal};"""


def code_gen(personas: int = 4, debaters: int | None = None, rounds: int | None = None, tasks: int = 1,
             goal: str = "") -> str:
    more = "".join(f"r{i} := debate_round (r{i - 1}, r{i - 1}), " for i in range(2, tasks + 1))
    return CODE_GEN.format(more=more, last=f"r{tasks}", personas=", ".join(f"'p{i}'" for i in range(personas)),
                           debaters=f" WITH (debaters = {debaters})" if debaters else "",
                           rounds=f" WITH (rounds = {rounds})" if rounds else "", goal=goal)


def test_debaters_and_rounds_select_the_code_gen_row() -> None:
    cat = api.default_catalog()
    for text, code in ((code_gen(personas=2), "D2R2"), (code_gen(rounds=4), "D4R4"), (code_gen(debaters=2), "D2R2"),
                       (code_gen(tasks=3), None)):
        job = api.compile(text, settings=Settings()).jobs[0]
        model = job_quality_models(with_knobs(job.plan, KnobConfig(), cat), cat)[""]
        if code is None:  # three tasks of two rounds each: six rounds, which nobody measured
            assert model.profile is None and "no row at D=4,R=6" in model.why
        else:
            assert model.profile == "code_gen" and parse_config(model.config) == parse_config(code)
            assert dict(model.accuracy)["gemma-3-27b"] == profile("code_gen", "Gemma-3-27B", code)


# -- knobs that shape the plan (catalog effect: optional, repeat, limit) ---------------------------
def test_rounds_chain_the_step_and_readers_keep_its_name() -> None:
    cat = api.default_catalog()
    job = api.compile(code_gen(rounds=4), settings=Settings()).jobs[0]
    plan = with_knobs(job.plan, KnobConfig(), cat)
    rounds = [n for n in plan.tasks if n.interface == "debate_round"]
    assert [n.id for n in rounds] == ["r1.1", "r1.2", "r1.3", "r1"]
    assert [n.inputs for n in rounds] == [("drafts", "drafts"), ("r1.1", "r1.1"), ("r1.2", "r1.2"), ("r1.3", "r1.3")]
    assert [n.over for n in rounds] == ["drafts", "r1.1", "r1.2", "r1.3"]
    assert plan.node("results").inputs == ("r1", "tests")
    # The knob shaped the plan and is gone: no agent is handed `rounds`.
    assert all("rounds" not in dict(n.knobs) for n in rounds)


def test_debaters_map_over_the_first_items_of_the_list() -> None:
    cat = api.default_catalog()
    job = api.compile(code_gen(personas=4, debaters=2), settings=Settings()).jobs[0]
    plan = with_knobs(job.plan, KnobConfig(), cat)
    drafts = plan.node("drafts")
    cut = plan.node(drafts.over)
    assert cut.id == "personas.first2" and cut.literal == ("p0", "p1") and cut.stats.items == 2
    assert drafts.stats.items == 2 and plan.node("personas").literal == ("p0", "p1", "p2", "p3")
    # Fewer personas than debaters: all of them, and no new input.
    three = with_knobs(api.compile(code_gen(personas=3, debaters=4), settings=Settings()).jobs[0].plan,
                       KnobConfig(), cat)
    assert three.node("drafts").over == "personas" and three.node("drafts").stats.items == 3
    # ... which EXPLAIN says: the script asked for more debaters than it gave personas.
    assert three.node("drafts").notes == ("drafts: WITH (debaters = 4) but 'personas' has 3 items: it maps over all 3",)
    assert "maps over all" in murakkab.explain(code_gen(personas=3, debaters=4), settings=Settings(cluster="hotos-testbed"))
    assert not plan.node("drafts").notes


def test_debaters_need_a_list_given_in_the_run() -> None:
    script = """CREATE WORKFLOW cg (problem TEXT, seeds LIST<TEXT>) AS (
      personas := summarization (seeds),
      drafts := code_generation (problem, personas) WITH (debaters = 2)) RETURNS drafts;
    RUN cg (problem => 'p', seeds => ['a', 'b', 'c']);"""
    with pytest.raises(murakkab.MurakkabError) as info:
        murakkab.optimize(script)
    assert "'drafts' can use at most 2 items only of a list given in the RUN" in str(info.value)
    assert info.value.span is not None and info.value.span.line == 3


def test_plan_shaping_knobs_are_decisions_only_where_a_profile_rates_them() -> None:
    cat = api.default_catalog()
    free = free_knobs(api.compile(video_qa(frames=5), settings=Settings()).jobs[0].plan, cat)
    assert free == {("speech_to_text", "enabled"): (0.0, 1.0)}
    assert free_knobs(api.compile(code_gen(), settings=Settings()).jobs[0].plan, cat) == {
        ("code_generation", "debaters"): (2.0, 4.0), ("debate_round", "rounds"): (2.0, 4.0)}
    # Two personas: every number of debaters in the domain (2, 4) uses both.
    assert free_knobs(api.compile(code_gen(personas=2), settings=Settings()).jobs[0].plan, cat) == {
        ("debate_round", "rounds"): (2.0, 4.0)}
    # Transcribe and summarise: no accuracy profile says what leaving speech-to-text out
    # costs, so it stays (it would only ever look cheaper).
    notes = api.compile("""CREATE WORKFLOW notes (calls LIST<AUDIO>) AS (
      text := speech_to_text (calls), summary := summarization (text)) RETURNS summary;
    RUN notes (calls => ['a.wav'] ASSUMING (duration = 10 min)) MINIMIZE latency;""", settings=Settings()).jobs[0]
    assert free_knobs(notes.plan, cat) == {}
    plan = murakkab.optimize("""CREATE WORKFLOW notes (calls LIST<AUDIO>) AS (
      text := speech_to_text (calls), summary := summarization (text)) RETURNS summary;
    RUN notes (calls => ['a.wav'] ASSUMING (duration = 10 min)) MINIMIZE latency ON CLUSTER 'hotos-testbed';""")[0]
    assert plan.logical.node("text").op == "map"


def test_speech_to_text_left_out_is_an_empty_input_and_the_stt_n_row() -> None:
    plan = plan_of(video_qa(frames=10, goal="MINIMIZE latency"))
    transcript = plan.logical.node("transcript")
    assert transcript.op == "input" and transcript.literal == () and transcript.stats.items == 0
    assert "left out (speech_to_text.enabled = 0)" in transcript.notes
    assert "chose speech_to_text.enabled=0" in plan.solver_note
    assert plan.task("captions").candidate.quality == pytest.approx(profile("video_qa", "Gemma-3-27B", "F10,STT=N"))
    # Fixed on, it runs.
    kept = plan_of(video_qa(frames=10, goal="MINIMIZE latency").replace(
        "speech_to_text (scenes)", "speech_to_text (scenes) WITH (enabled = 1)"))
    assert kept.logical.node("transcript").op == "map"
    assert kept.estimate.makespan_s >= plan.estimate.makespan_s
    assert kept.task("captions").candidate.quality == pytest.approx(profile("video_qa", "Gemma-3-27B", "F10,STT=Y"))


def test_a_model_without_a_row_pays_the_profiles_mean_effect() -> None:
    """An agent the profile did not measure: its own quality times the measured models'
    mean accuracy at the configuration over the default one (F5 with speech-to-text)."""
    cat = api.default_catalog()
    rows = cat.workflow_quality("video_qa")
    at = {(r.model, r.config): r.value for r in rows}
    models = {r.model for r in rows}
    expected = sum(at[(m, "F1,STT=N")] / at[(m, "F5,STT=Y")] for m in models) / len(models)
    script = video_qa(frames=1, goal="MINIMIZE latency").replace(
        "frame_summarization (frames)", "frame_summarization (frames) USING (agent = 'qwen3-vl-8b-captioner')")
    plan = plan_of(script)
    assert plan.logical.node("transcript").op == "input"
    own = cat.agent("qwen3-vl-8b-captioner").quality
    assert plan.task("captions").candidate.quality == pytest.approx(own * expected)
    assert f"its own quality x {expected:.3f}" in dict(plan.quality_source)[""]


def test_the_planner_picks_debaters_and_rounds_for_the_goal() -> None:
    best = plan_of(code_gen(goal="MAXIMIZE quality THEN MINIMIZE energy ON CLUSTER 'hotos-testbed'"))
    assert "chose code_generation.debaters=4, debate_round.rounds=4" in best.solver_note
    assert best.estimate.quality == pytest.approx(profile("code_gen", "Gemma-3-27B", "D4R4"), rel=1e-9)
    cheap = plan_of(code_gen(goal="MINIMIZE energy ON CLUSTER 'hotos-testbed'"))
    assert "debaters=2" in cheap.solver_note and "rounds=2" in cheap.solver_note
    for d, r in ((2, 2), (2, 4), (4, 2), (4, 4)):
        fixed = plan_of(code_gen(debaters=d, rounds=r, goal="MINIMIZE energy ON CLUSTER 'hotos-testbed'"))
        assert fixed.estimate.energy_wh >= cheap.estimate.energy_wh - 1e-9


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


@settings(max_examples=40, deadline=None)
@given(personas=st.integers(1, 6), tasks=st.integers(1, 3), debaters=st.sampled_from([2.0, 4.0]),
       rounds=st.sampled_from([2.0, 4.0]))
def test_plan_shaping_preserves_a_well_formed_plan_of_the_configured_shape(personas: int, tasks: int,
                                                                           debaters: float, rounds: float) -> None:
    """Whatever the configuration: a valid plan (every input defined before it is read,
    maps over one of their inputs), as many debate rounds as ``rounds`` per task in a
    chain, the drafts over the first ``debaters`` personas, every reader of a step
    reading its last round, and no plan-shaping knob left on a node."""
    cat = api.default_catalog()
    bound = api.compile(code_gen(personas=personas, tasks=tasks), settings=Settings()).jobs[0].plan
    config = KnobConfig(((("code_generation", "debaters"), debaters), (("debate_round", "rounds"), rounds)))
    plan = with_knobs(bound, config, cat)
    check_invariants(plan)
    rounds_run = [n for n in plan.tasks if n.interface == "debate_round"]
    assert len(rounds_run) == tasks * int(rounds)
    assert plan.node("drafts").stats.items == min(personas, int(debaters))
    assert all(n.stats.items == min(personas, int(debaters)) for n in rounds_run)
    assert plan.node("results").inputs == (f"r{tasks}", "tests")
    assert not any(k in dict(n.knobs) for n in plan.tasks for k in ("debaters", "rounds", "enabled"))
    # The same configuration applied twice is the same plan: nothing shapes it again.
    assert with_knobs(plan, KnobConfig(), cat).nodes == plan.nodes
