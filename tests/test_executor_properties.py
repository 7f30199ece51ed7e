"""Properties of real execution: how a plan cuts work into shards never changes what the
job returns (partitioning preserves meaning, as rewrites must)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import murakkab
from murakkab.catalog.catalog import Catalog
from murakkab.runtime.local import LocalExecutor

ROOT = Path(__file__).parent.parent
REPORTS = ROOT / "examples" / "map_reduce_docs_samples.job"
CATALOG = Catalog()
(PLAN,) = [o.plan for o in murakkab.run(REPORTS, backend="local", catalog=CATALOG, use_cache=False)]
EXPECTED = LocalExecutor(CATALOG, use_cache=False).run(PLAN).outputs


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_fan_out_gives_the_same_outputs(data: st.DataObject) -> None:
    tasks = []
    for t in PLAN.tasks:
        node = PLAN.logical.node(t.id)
        fanout = data.draw(st.integers(1, 4), label=t.id) if node.partitioned else 1
        tasks.append(replace(t, candidate=replace(t.candidate, fanout=fanout)))
    plan = replace(PLAN, tasks=tuple(tasks))
    result = LocalExecutor(CATALOG, use_cache=False).run(plan)
    assert result.outputs == EXPECTED
    shards = {t.id: sum(1 for r in result.timeline if r.task == t.id) for t in plan.tasks}
    assert all(shards[t.id] <= t.candidate.fanout for t in plan.tasks)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(st.data())
def test_the_video_job_assembles_the_same_outputs_whatever_the_shards(tmp_path_factory, data: st.DataObject) -> None:
    # Per-call outputs come from a warm cache (each call is deterministic); what varies
    # is how calls are grouped into shards and their outputs put back in order.
    cache = tmp_path_factory.getbasetemp() / "video-cache"
    (outcome,) = murakkab.run(ROOT / "examples" / "video_qa_samples.job", backend="local", catalog=CATALOG,
                              cache_dir=cache)
    tasks = []
    for t in outcome.plan.tasks:
        node = outcome.plan.logical.node(t.id)
        fanout = data.draw(st.integers(1, 5), label=t.id) if node.partitioned else 1
        tasks.append(replace(t, candidate=replace(t.candidate, fanout=fanout)))
    result = LocalExecutor(CATALOG, cache_dir=cache).run(replace(outcome.plan, tasks=tuple(tasks)))
    assert result.outputs == outcome.result.outputs
    assert result.items == outcome.result.items
