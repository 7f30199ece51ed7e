"""Properties of real execution: how a plan cuts work into shards never changes what the
job returns (partitioning preserves meaning, as rewrites must), and a task that streams
from another starts on the items already produced."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import murakkab
from murakkab.catalog.catalog import Catalog
from murakkab.runtime.agents import registry
from murakkab.runtime.agents.documents import DEFAULT_CHUNK_TOKENS, text_chunker
from murakkab.runtime.local import LocalExecutor, _tickets

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


@pytest.fixture()
def slow_late_chunker():
    @registry.agent("slow-late-chunker", interface="document_chunking", version="1")
    def chunk(document, *, chunk_tokens: float = DEFAULT_CHUNK_TOKENS):  # type: ignore[no-untyped-def]
        """text-chunker that takes its time over the last two reports."""
        if Path(document).name in ("q3.txt", "q4.txt"):
            time.sleep(1.0)
        return text_chunker(document, chunk_tokens=chunk_tokens)

    yield
    registry.unregister("slow-late-chunker")


def test_a_streaming_task_starts_before_its_upstream_task_is_done(slow_late_chunker) -> None:
    # summaries streams from chunks (fuse_maps): the chunks of the first two reports are
    # summarised while the slow shard is still chunking the last two.
    tasks = []
    for t in PLAN.tasks:
        fanout = 2 if t.id in ("chunks", "summaries") else t.candidate.fanout
        agent = "slow-late-chunker" if t.id == "chunks" else t.candidate.agent
        tasks.append(replace(t, candidate=replace(t.candidate, fanout=fanout, agent=agent)))
    plan = replace(PLAN, tasks=tuple(tasks))
    assert plan.task("summaries").streams_from == "chunks"
    result = LocalExecutor(CATALOG, use_cache=False).run(plan)
    assert result.outputs == EXPECTED
    chunks_done = max(r.end_s for r in result.timeline if r.task == "chunks")
    first_summary = min(r.start_s for r in result.timeline if r.task == "summaries")
    assert first_summary < chunks_done


@given(st.integers(0, 12), st.integers(1, 12))
def test_stream_tickets_cover_every_upstream_shard_once_in_order(upstream: int, fanout: int) -> None:
    tickets = _tickets(upstream, fanout)
    assert len(tickets) == (fanout if upstream else 0)
    # Read in order, the tickets visit each upstream shard's items exactly once, front to back.
    visits = [(i, piece, pieces) for shards, piece, pieces in tickets for i in shards]
    for i in range(upstream):
        mine = [(piece, pieces) for j, piece, pieces in visits if j == i]
        assert [p for p, _ in mine] == list(range(len(mine))) and {n for _, n in mine} == {len(mine)}
    assert [i for i, _, _ in visits] == sorted(i for i, _, _ in visits)
