"""Rewrites preserve meaning, on random well-typed workflows (hypothesis).

After the rules, the tasks the output depends on are the same (same interface, inputs,
type, cardinality); only dead tasks disappear; and running the plan before and after
(on the simulator) performs exactly the same calls for every live task.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from murakkab.compiler.bind import compile_script
from murakkab.compiler.job import Settings
from murakkab.compiler.physical.planner import plan_job
from murakkab.compiler.rules import RULES
from murakkab.compiler.rules.driver import optimize_logical
from murakkab.runtime.simulator import Simulator

MEDIA = {"VIDEO", "SCENE"}


@st.composite
def workflows(draw: st.DrawFn) -> str:
    names: dict[str, tuple[str, bool]] = {"v": ("VIDEO", True), "q": ("TEXT", False)}  # name -> (elem, is_list)
    tasks = []
    for i in range(draw(st.integers(1, 6))):
        media = [n for n, (t, _) in names.items() if t in MEDIA]
        texts = [n for n, (t, _) in names.items() if t == "TEXT"]
        kind = draw(st.sampled_from(["scenes", "stt", "summary", "qa"]))
        name = f"t{i}"
        if kind == "scenes" and any(names[m][0] == "VIDEO" for m in media):
            src = draw(st.sampled_from([m for m in media if names[m][0] == "VIDEO"]))
            tasks.append(f"{name} := scene_detection ({src})")
            names[name] = ("SCENE", True)
        elif kind == "stt" and media:
            src = draw(st.sampled_from(media))
            tasks.append(f"{name} := speech_to_text ({src})")
            names[name] = ("TEXT", names[src][1])
        elif kind == "summary" and texts:
            src = draw(st.sampled_from(texts))
            tasks.append(f"{name} := summarization ({src})")
            names[name] = ("TEXT", names[src][1])
        else:
            context = draw(st.lists(st.sampled_from(sorted(names)), min_size=0, max_size=3, unique=True))
            tasks.append(f"{name} := question_answering ({', '.join(['q', *context])})")
            names[name] = ("TEXT", False)
    produced = [t.split(" ")[0] for t in tasks]
    returns = draw(st.lists(st.sampled_from(produced), min_size=1, max_size=2, unique=True))
    duration = draw(st.sampled_from([5, 30, 100]))
    count = draw(st.integers(1, 3))
    videos = ", ".join(f"'v{i}.mp4'" for i in range(count))
    return (f"CREATE WORKFLOW w (v LIST<VIDEO>, q TEXT) AS ({', '.join(tasks)}) RETURNS {', '.join(returns)};\n"
            f"RUN w (v => [{videos}] ASSUMING (duration = {duration} s), q => 'why?') ON CLUSTER 'hotos-testbed';")


def meaning(plan, node_id: str, memo: dict | None = None) -> tuple:
    """What a node computes, as a term: its interface and knobs applied to the meanings
    of its inputs (an input's meaning is its type, value and statistics). Two nodes with
    the same term compute the same output, whatever their ids."""
    memo = {} if memo is None else memo
    if node_id not in memo:
        n = plan.node(node_id)
        if n.op == "input":
            memo[node_id] = ("input", str(n.type), n.value, n.stats)
        else:
            over = n.inputs.index(n.over) if n.over is not None else None
            memo[node_id] = (n.op, n.interface, n.knobs, n.prefs, over, str(n.type), n.stats,
                             tuple(meaning(plan, i, memo) for i in n.inputs))
    return memo[node_id]


def _work(plan, timeline) -> dict[tuple, float]:
    """Calls executed per distinct computation (merged twins count once)."""
    memo: dict = {}
    out: dict[tuple, float] = {}
    for r in timeline:
        key = meaning(plan, r.task, memo)
        out[key] = out.get(key, 0.0) + r.calls
    return out


@settings(max_examples=60, deadline=None)
@given(workflows())
def test_rules_preserve_meaning(tiny_catalog, script: str) -> None:
    job = compile_script(script, "gen.job", tiny_catalog).jobs[0]
    result = optimize_logical(job.plan, RULES)
    # The output computes the same terms before and after.
    before_out = [meaning(job.plan, i) for i in job.plan.output.inputs]
    after_out = [meaning(result.plan, i) for i in result.plan.output.inputs]
    assert before_out == after_out
    # Every task left computes something the original plan computed, and only once.
    before_terms = {meaning(job.plan, n.id) for n in job.plan.nodes if n.is_task}
    after_terms = [meaning(result.plan, n.id) for n in result.plan.nodes if n.is_task]
    assert set(after_terms) <= before_terms and len(after_terms) == len(set(after_terms))

    # Execute both: the sequential plan (no fan-out, no streaming) and the optimized one
    # do the same calls for every distinct computation the output needs.
    sequential = plan_job(replace(job, settings=Settings(parallelism=False)), tiny_catalog)
    optimized = plan_job(job, tiny_catalog)
    assert _work(sequential.logical, Simulator(tiny_catalog).run(sequential).timeline) == \
        _work(optimized.logical, Simulator(tiny_catalog).run(optimized).timeline)
