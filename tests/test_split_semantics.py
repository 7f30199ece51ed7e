"""split_long_inputs keeps meaning: the chunks cover the input exactly, the joined
output has the original type and estimate, and running the plan transcribes the same
seconds of audio as the unsplit plan."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest import approx

from murakkab.compiler.bind import compile_script
from murakkab.compiler.job import Settings
from murakkab.compiler.physical.candidates import work_of
from murakkab.compiler.physical.planner import plan_job
from murakkab.runtime.simulator import Simulator

SCRIPT = """CREATE WORKFLOW w (talk AUDIO) AS (t := speech_to_text (talk)) RETURNS t;
RUN w (talk => 'talk.wav' ASSUMING (duration = {d} s));"""


def seconds_transcribed(plan, catalog) -> float:
    """Seconds of media that speech_to_text calls processed in a simulated run."""
    result = Simulator(catalog).run(plan)
    media = {t.id: work_of(plan.logical.node(t.id), plan.logical)[1] for t in plan.tasks}
    return sum(r.calls * media[r.task] for r in result.timeline
               if plan.logical.node(r.task).interface == "speech_to_text")


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=5, max_value=3 * 3600))
def test_split_transcribes_the_same_audio(default_catalog, duration: int) -> None:
    job = compile_script(SCRIPT.format(d=duration), "t.job", default_catalog).jobs[0]
    split = plan_job(job, default_catalog)
    fired = any(f.rule == "split_long_inputs" for f in split.rewrites)
    assert fired == (duration > 2 * 30)
    out = split.logical.node("t")
    assert out.type == job.plan.node("t").type and out.stats == job.plan.node("t").stats
    whole = plan_job(replace(job, settings=Settings(disabled_rules=("split_long_inputs",))), default_catalog)
    assert not any(f.rule == "split_long_inputs" for f in whole.rewrites)
    assert seconds_transcribed(split, default_catalog) == approx(seconds_transcribed(whole, default_catalog))
    assert seconds_transcribed(whole, default_catalog) == approx(duration)
