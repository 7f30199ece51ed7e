"""The planner's fast paths against the slow ones they replace, on the same inputs: the
placement that bounds candidates before trying them picks what trying every one picks,
the bounds it uses never exceed a finish time, totals over arrays are the loop's floats,
quality tiers sampled without building choices are those of the choices, and the sorted
list-scheduling order is the heap's."""

from __future__ import annotations

import heapq
import math
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from murakkab import api
from murakkab.catalog.catalog import Catalog
from murakkab.compiler.job import Goal, Settings
from murakkab.compiler.physical import cost as cost_module
from murakkab.compiler.physical.accuracy import quality_function
from murakkab.compiler.physical.candidates import enumerate_candidates
from murakkab.compiler.physical.greedy import _cost, place
from murakkab.compiler.physical.objective import Objective
from murakkab.compiler.physical.schedule import Placer, _task_graph, ready_order, upward_ranks
from murakkab.compiler.physical.tiers import tier_choices, tier_qualities
from murakkab.compiler.rules import RULES, optimize_logical

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from workloads import big_workflow  # noqa: E402


@pytest.fixture(scope="module", params=[("hotos-testbed", 40), ("hotos-testbed", 150), (None, 60)],
                ids=["testbed-40", "testbed-150", "default-60"])
def setup(request):
    cluster_name, n = request.param
    catalog = Catalog()
    settings_ = Settings(cluster=cluster_name) if cluster_name else Settings()
    job = api.compile(big_workflow(n, seed=n), catalog=catalog, settings=settings_).jobs[0]
    plan = optimize_logical(job.plan, RULES).plan
    cluster = catalog.cluster(job.cluster)
    quality = quality_function(plan, catalog)
    cands = {t.id: enumerate_candidates(t, plan, catalog, cluster, None, quality) for t in plan.tasks}
    yield catalog, plan, cluster, cands
    catalog.close()


def _place_every_candidate(plan, cands, objective, cluster, serial=False):
    """greedy.place before it bounded candidates: every one tried, the first least key kept."""
    fastest = {t: min(cs, key=lambda c: c.latency_s) for t, cs in cands.items()}
    placer = Placer(plan, cluster, serial, with_deps=False)
    choice = {}
    for node in ready_order(plan, upward_ranks(plan, fastest)):
        best = None
        for cand in cands[node.id]:
            finish = placer.finish(node, cand)
            key = tuple(finish if g.metric == "latency" else _cost(cand, g.metric)
                        for g in objective.goals) + (finish, cand.units * cand.fanout)
            if best is None or key < best[0]:
                best = (key, cand)
        choice[node.id] = best[1]
        placer.place(node, best[1])
    return choice


GOALS = [("latency", "energy"), ("latency",), ("energy", "latency"), ("cost",), ("gpus", "latency"), ()]


@pytest.mark.parametrize("goals", GOALS, ids=lambda g: "-".join(g) or "none")
def test_bounded_placement_picks_what_trying_every_candidate_picks(setup, goals) -> None:
    catalog, plan, cluster, cands = setup
    objective = Objective((), tuple(Goal(g, True) for g in goals))
    rng = random.Random(len(goals))
    subsets = [cands] + [{t: [c for c in cs if rng.random() < 0.6] or cs[:1] for t, cs in cands.items()}
                         for _ in range(2)]
    for options in subsets:
        for serial in (False, True):
            assert place(plan, options, objective, cluster, serial) == \
                _place_every_candidate(plan, options, objective, cluster, serial)


def test_finish_bounds_never_exceed_the_finish(setup) -> None:
    catalog, plan, cluster, cands = setup
    rng = random.Random(5)
    for serial in (False, True):
        placer = Placer(plan, cluster, serial, with_deps=False)
        for node in ready_order(plan, upward_ranks(plan, {t: cs[0] for t, cs in cands.items()})):
            options = cands[node.id]
            quick = placer.quick_bounds(node, options)
            for cand, bound in zip(options, quick):
                finish = placer.finish(node, cand)
                tight = placer.finish_bound(node, cand)
                assert bound <= finish
                assert bound <= tight * (1 + 1e-12) or tight == -math.inf
                assert tight <= finish * (1 + 1e-9)
            placer.place(node, rng.choice(options))


def test_placing_a_tried_candidate_commits_its_trial(setup) -> None:
    catalog, plan, cluster, cands = setup
    rng = random.Random(7)
    for with_deps in (False, True):
        direct = Placer(plan, cluster, with_deps=with_deps)
        tried = Placer(plan, cluster, with_deps=with_deps)
        choice = {t: rng.choice(cs) for t, cs in cands.items()}
        for node in ready_order(plan, upward_ranks(plan, choice)):
            for cand in cands[node.id]:
                tried.finish(node, cand)
            direct.place(node, choice[node.id])
            tried.place(node, choice[node.id])
        assert direct.result() == tried.result()
        assert direct.slots == tried.slots and direct.last_end == tried.last_end


def _heap_order(plan, rank):
    graph = plan.derived(_task_graph)
    waiting = {t: len({i for i in n.inputs if i in graph.tasks}) for t, n in graph.tasks.items()}
    heap = [(-rank[t], graph.order[t], t) for t, w in waiting.items() if w == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        _, _, t = heapq.heappop(heap)
        out.append(graph.tasks[t])
        for r in graph.readers.get(t, ()):
            waiting[r] -= 1
            if waiting[r] == 0:
                heapq.heappush(heap, (-rank[r], graph.order[r], r))
    return out


def test_ready_order_is_the_heaps(setup) -> None:
    catalog, plan, cluster, cands = setup
    rng = random.Random(11)
    for _ in range(20):
        choice = {t: rng.choice(cs) for t, cs in cands.items()}
        rank = upward_ranks(plan, choice)
        assert ready_order(plan, rank) == _heap_order(plan, rank)
        # Ranks that are not upward ranks (ties, readers ranked higher): the heap decides.
        shuffled = {t: float(rng.choice([0, 1, 2])) for t in rank}
        assert ready_order(plan, shuffled) == _heap_order(plan, shuffled)


def test_tier_qualities_are_those_of_the_tier_choices(setup) -> None:
    catalog, plan, cluster, cands = setup
    for seed in range(3):
        choices = tier_choices(cands, seed, 16)
        assert tier_qualities(cands, seed, 16) == [math.prod(c.quality for c in ch.values()) for ch in choices]


ROW = st.tuples(st.sampled_from(["m#0", "m#1", "m#2"]), st.sampled_from(["GPU", "CORE"]),
                st.floats(0, 1e6, allow_nan=False), st.floats(0, 1e4, allow_nan=False),
                st.integers(1, 8), st.sampled_from([0.0, 10.0, 250.5, 400.0, 1234.567]))


@settings(max_examples=200, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=600), st.booleans())
def test_totals_over_arrays_are_the_loops(rows, back_to_back) -> None:
    catalog = _tiny_catalog()
    busy = []
    for i, (machine, hw, start, length, units, power) in enumerate(rows):
        if back_to_back and i:
            start = busy[-1][3]  # ties between one shard's end and the next one's start
        busy.append((machine, hw, start, start + (0.0 if i % 7 == 3 else length), units, power))
    columns = list(zip(*busy))
    assert cost_module._column_totals(catalog, *columns, quality=0.5) == \
        cost_module._timeline_totals(catalog, busy, 0.5)


_CATALOG: list[Catalog] = []


def _tiny_catalog():
    """A stand-in for the catalog: the two hardware types the rows name, with the idle
    power, price and kind the totals read."""
    if not _CATALOG:
        class _Hardware:
            def __init__(self, idle_w, usd_per_hour, is_gpu):
                self.idle_w, self.usd_per_hour, self.is_gpu = idle_w, usd_per_hour, is_gpu

        class _Catalog:
            _hw = {"GPU": _Hardware(100.0, 3.6, True), "CORE": _Hardware(5.5, 0.036, False)}

            def hardware(self, name):
                return self._hw.get(name)

        _CATALOG.append(_Catalog())
    return _CATALOG[0]
