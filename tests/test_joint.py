"""Several RUNs in one script are planned jointly, share common work, and EXPLAIN says
what that saves against planning them one by one."""

from __future__ import annotations

import json

import pytest

import murakkab
from murakkab.compiler.explain import to_dict

WF = """
CREATE WORKFLOW w (v VIDEO, q TEXT) AS (
  s := scene_detection (v),
  t := speech_to_text (s) USING (agent = 'stt-gpu'),
  a := question_answering (q, t) USING (agent = 'qa-small')
) RETURNS a;
"""


def test_two_runs_over_one_video_share_its_work(tiny_catalog) -> None:
    script = WF + """
    RUN w (v => 'x.mp4' ASSUMING (duration = 100 s), q => 'who?') ON CLUSTER 'tiny';
    RUN w (v => 'x.mp4' ASSUMING (duration = 100 s), q => 'what?') ON CLUSTER 'tiny';"""
    (plan,) = murakkab.optimize(script, catalog=tiny_catalog)
    ids = [t.id for t in plan.tasks]
    # Scene detection and transcription of the shared video run once; each job answers.
    assert ids == ["w#1.s", "w#1.t", "w#1.a", "w#2.a"]
    assert plan.jobs == ("w#1", "w#2") and plan.separately is not None
    assert plan.estimate.makespan_s < plan.separately.makespan_s
    assert plan.estimate.energy_wh < plan.separately.energy_wh
    joint = to_dict(plan)["joint"]
    assert joint["merged_tasks"] == 3 and joint["jobs"] == ["w#1", "w#2"]
    text = murakkab.explain(script, catalog=tiny_catalog)
    assert "joint plan of 2 jobs" in text and "the joint plan saves" in text


def test_jobs_over_different_inputs_share_the_cluster(tiny_catalog) -> None:
    script = WF + """
    RUN w (v => 'x.mp4' ASSUMING (duration = 100 s), q => 'who?') ON CLUSTER 'tiny';
    RUN w (v => 'y.mp4' ASSUMING (duration = 100 s), q => 'who?') ON CLUSTER 'tiny';"""
    (plan,) = murakkab.optimize(script, catalog=tiny_catalog)
    assert len(plan.tasks) == 6
    # Sharing 2 GPUs, the joint plan is no slower than running the jobs back to back.
    assert plan.estimate.makespan_s <= plan.separately.makespan_s + 1e-9
    # Capacity holds across both jobs at every instant.
    events = sorted([(s.start_s, s.units) for s in plan.shards if s.hardware == "GPU"]
                    + [(s.end_s, -s.units) for s in plan.shards if s.hardware == "GPU"], key=lambda e: (e[0], e[1]))
    level = 0
    for _, delta in events:
        level += delta
        assert level <= 2


def test_explain_statements_stay_separate_and_clusters_split_groups(tiny_catalog) -> None:
    script = WF + """
    EXPLAIN RUN w (v => 'x.mp4', q => 'a') ON CLUSTER 'tiny';
    RUN w (v => 'x.mp4', q => 'b') ON CLUSTER 'tiny';
    RUN w (v => 'x.mp4', q => 'c') ON CLUSTER 'hotos-testbed';"""
    plans = murakkab.optimize(script, catalog=tiny_catalog)
    assert [p.jobs for p in plans] == [(), (), ()]


def test_runs_with_other_goals_are_planned_each_for_its_own(tiny_catalog) -> None:
    """One plan has one objective: a RUN asking for another goal is not planned jointly
    under the first RUN's, and each plan states its own."""
    script = WF + """
    RUN w (v => 'x.mp4', q => 'a') ON CLUSTER 'tiny' MINIMIZE cost;
    RUN w (v => 'x.mp4', q => 'b') ON CLUSTER 'tiny' MINIMIZE cost;
    RUN w (v => 'x.mp4', q => 'c') ON CLUSTER 'tiny' MINIMIZE latency;"""
    plans = murakkab.optimize(script, catalog=tiny_catalog)
    assert [p.jobs for p in plans] == [("w#1", "w#2"), ()]
    text = murakkab.explain(script, catalog=tiny_catalog)
    assert text.count("objective: MINIMIZE cost") == 1 and text.count("objective: MINIMIZE latency") == 1


def test_joint_run_reports_one_result(tiny_catalog) -> None:
    script = WF + """
    RUN w (v => 'x.mp4', q => 'who?') ON CLUSTER 'tiny';
    RUN w (v => 'x.mp4', q => 'what?') ON CLUSTER 'tiny';"""
    (outcome,) = murakkab.run(script, backend="sim", catalog=tiny_catalog)
    assert outcome.result is not None
    assert outcome.result.totals.makespan_s == outcome.plan.estimate.makespan_s
    assert json.dumps(to_dict(outcome.plan))


def test_each_jobs_slos_hold_for_its_own_totals(tiny_catalog) -> None:
    """Seen: a cost SLO of one job failed when an unrelated second job was added, and a
    quality floor was checked against the product over both jobs."""
    first = "RUN w (v => 'x.mp4' ASSUMING (duration = 100 s), q => 'who?') WITH SLO ({slo}) ON CLUSTER 'tiny';"
    other = "RUN w (v => 'y.mp4' ASSUMING (duration = 100 s), q => 'who?') ON CLUSTER 'tiny';"
    (alone,) = murakkab.optimize(WF + first.format(slo="quality >= 0.5"), catalog=tiny_catalog)
    cost = alone.estimate.cost_usd
    for slo in (f"cost <= {cost * 1.01} USD", "quality >= 0.5"):
        (joint,) = murakkab.optimize(WF + first.format(slo=slo) + other, catalog=tiny_catalog)
        scoped = [b for b in joint.bounds if not b.slo.floor]
        assert [b.scope for b in scoped] == ["w#1"]
        own = joint.estimate.part("w#1")
        assert scoped[0].met(joint.estimate) and own is not joint.estimate
        # The joint totals cover both jobs: more than the first job's own.
        assert joint.estimate.cost_usd > own.cost_usd
        assert to_dict(joint)["joint"]["per_job"]["w#1"]["cost_usd"] == round(own.cost_usd, 6)


def test_the_joint_plan_is_used_only_where_it_is_no_worse_than_each_job_alone() -> None:
    """Ten RUNs over ten videos: the greedy search on the joint problem ends slower than
    the ten plans run one after another, so those are what EXPLAIN and run use."""
    import re

    runs = "\n".join(f"RUN vqa (videos => ['x{i}.mp4'] ASSUMING (duration = 5 min), question => 'q{i}') "
                     "ON CLUSTER 'hotos-testbed';" for i in range(10))
    text = """CREATE WORKFLOW vqa (videos LIST<VIDEO>, question TEXT) AS (
  scenes     := 'Identify the scenes in each video'     (videos),
  frames     := 'Extract frames from each scene'        (scenes),
  transcript := 'Transcribe the speech in each scene'   (scenes),
  captions   := 'Describe what is shown in each frame'  (frames),
  answer     := 'Answer the question given the context' (question, captions, transcript)
) RETURNS answer;
""" + runs
    plans = murakkab.optimize(text)
    assert len(plans) == 10 and all("planned alone: the joint plan of 10 RUNs was worse on latency" in p.solver_note
                                    for p in plans)
    together, apart = map(float, re.search(r"~([\d.]+) s together, ~([\d.]+) s one after another",
                                           plans[0].solver_note).groups())
    assert sum(p.estimate.makespan_s for p in plans) == pytest.approx(apart, rel=1e-3) and apart < together


def test_worse_on_reads_the_goals_in_order() -> None:
    from murakkab.compiler.job import Goal
    from murakkab.compiler.physical.plan import Estimate
    from murakkab.compiler.physical.planner import _worse_on

    fast_dear = Estimate(makespan_s=10.0, cost_usd=5.0, energy_wh=1.0, quality=0.5, gpus=1, held=())
    slow_cheap = Estimate(makespan_s=20.0, cost_usd=1.0, energy_wh=1.0, quality=0.5, gpus=1, held=())
    latency_then_cost = (Goal("latency", True), Goal("cost", True))
    assert _worse_on(fast_dear, slow_cheap, latency_then_cost) is None
    assert _worse_on(slow_cheap, fast_dear, latency_then_cost) == ("latency", 20.0, 10.0)
    assert _worse_on(fast_dear, slow_cheap, (Goal("cost", True),)) == ("cost", 5.0, 1.0)
    assert _worse_on(fast_dear, fast_dear, latency_then_cost) is None  # ties are no worse
    assert _worse_on(slow_cheap, fast_dear, (Goal("quality", False), Goal("latency", True))) == \
        ("latency", 20.0, 10.0)
