"""Enumerate the physical alternatives of each logical task from the catalog.

For a task: every agent implementing its interface that meets the developer's
preferences, on every hardware type of the cluster the agent has a profile for, at
every profiled unit count that fits on one machine, at every fan-out degree the
partitioning allows (1, 2, 3, 4, 6, 8, 12, ... up to the number of items and the
cluster's capacity). Candidates dominated on every metric and resource are pruned.
"""

from __future__ import annotations

import fnmatch
import math
from typing import Callable

from ...catalog.catalog import Agent, Catalog, Cluster
from ..logical import MAP, LogicalPlan, Node, Preference
from ..rules.expand_paths import majority_quality
from .cost import DEFAULT_OUTPUT_TOKENS, estimate_candidate
from .plan import Candidate

FANOUTS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


def satisfies(catalog: Catalog, agent: str, hardware: str | None, pref: Preference) -> bool:
    """Does (agent, hardware) meet a preference? ``hardware=None`` means on any hardware."""
    a = catalog.agent(agent)
    if a is None:
        return False
    pattern = pref.pattern.lower()
    if pref.key == "agent":
        return fnmatch.fnmatch(a.name.lower(), pattern)
    if pref.key == "model":
        return fnmatch.fnmatch(a.model.lower(), pattern) or fnmatch.fnmatch(a.name.lower(), pattern)
    hws = [hardware] if hardware else [p.hardware for p in catalog.profiles(agent)]
    for hw_name in hws:
        hw = catalog.hardware(hw_name)
        if hw is None:
            continue
        if pref.key == "device" and hw.kind == pattern:
            return True
        if pref.key == "hardware" and fnmatch.fnmatch(hw.name.lower(), pattern):
            return True
    return False


def work_of(node: Node, plan: LogicalPlan) -> tuple[float, float]:
    """(calls, media seconds per call) of a task."""
    if node.op == MAP and node.over is not None:
        over = plan.node(node.over)
        return over.stats.items, over.stats.media_s
    first = plan.node(node.inputs[0]) if node.inputs else None
    media = first.stats.media_s if first is not None and not first.type.is_list else 0.0
    return 1.0, media


def frame_rate(node: Node, plan: LogicalPlan) -> float:
    """Frames per second of the video a task reads (0 when it reads none): an agent that
    decodes every frame takes longer per media second at a higher rate (``media_fps``)."""
    source = plan.node(node.over) if node.op == MAP and node.over is not None else (
        plan.node(node.inputs[0]) if node.inputs else None)
    return source.stats.attr("fps") if source is not None else 0.0


def output_tokens(node: Node) -> float:
    """Tokens each call of the task generates: the interface's estimate, else the default."""
    tokens = node.stats.attr("tokens")
    return tokens if tokens > 0 else DEFAULT_OUTPUT_TOKENS


def per_machine_units(cluster: Cluster, hardware: str) -> int:
    return max((n.units for n in cluster.nodes if n.hardware == hardware), default=0)


def task_quality(node: Node, agent: Agent) -> float:
    """An agent's quality on this task. A sampled task (expand_paths) is decided by the
    majority of its samples, which lifts a model's quality (its samples differ); a tool's
    samples are the same answer k times (the same input gives the same output), so voting
    on them adds nothing."""
    if node.votes and agent.kind == "model":
        return majority_quality(agent.quality, node.votes)
    return agent.quality


def enumerate_candidates(node: Node, plan: LogicalPlan, catalog: Catalog, cluster: Cluster,
                         available: frozenset[str] | None = None,
                         quality: Callable[[Node, Agent], float] = task_quality) -> list[Candidate]:
    """All non-dominated candidates of one task, in a deterministic order (only agents in
    ``available`` when given: what an executor can actually run). ``quality``: an
    agent's quality on the task (``accuracy.agent_quality`` under a workflow profile)."""
    assert node.interface is not None
    calls, media_s = work_of(node, plan)
    fps = frame_rate(node, plan)
    agents = catalog.agents(node.interface)
    qualities = tuple(quality(node, agent) for agent in agents)
    tokens = output_tokens(node)
    # Tasks of one interface with the same work and preferences (thousands, in a large
    # workflow) have the same candidates but for the task's id: they are enumerated once.
    # The catalog's agents tuple and the cluster are kept with the entry and compared by
    # identity: a catalog that reloads (attached agents, refit) makes new ones.
    key = (id(agents), id(cluster), node.interface, calls, media_s, fps, tokens, node.partitioned, node.prefs,
           available, qualities)
    hit = _ENUMERATED.get(key)
    if hit is not None and hit[0] is agents and hit[1] is cluster:
        return [c if c.node == node.id else _for_task(c, node.id) for c in hit[2]]
    out = _enumerate(node, catalog, cluster, available, agents, qualities, calls, media_s, tokens, fps)
    if len(_ENUMERATED) >= _ENUMERATED_MAX:
        _ENUMERATED.clear()
    _ENUMERATED[key] = (agents, cluster, out)
    return list(out)


# Enumerations by what they depend on (``enumerate_candidates``); cleared when full.
_ENUMERATED: dict[tuple, tuple[tuple[Agent, ...], Cluster, list[Candidate]]] = {}
_ENUMERATED_MAX = 4096


def _for_task(c: Candidate, task: str) -> Candidate:
    """``c`` for another task with the same work (built directly: replace() is slower)."""
    return Candidate(task, c.agent, c.hardware, c.units, c.fanout, c.calls, c.call_s, c.setup_s, c.latency_s,
                     c.busy_unit_s, c.energy_wh, c.cost_usd, c.quality, c.gpus, c.source, c.floor_s)


def _enumerate(node: Node, catalog: Catalog, cluster: Cluster, available: frozenset[str] | None,
               agents: tuple[Agent, ...], qualities: tuple[float, ...], calls: float, media_s: float,
               tokens: float, fps: float) -> list[Candidate]:
    out: list[Candidate] = []
    for agent, agent_quality in zip(agents, qualities):
        if available is not None and agent.name not in available:
            continue
        if not all(satisfies(catalog, agent.name, None, p) for p in node.prefs if p.key in ("agent", "model")):
            continue
        for profile in catalog.profile_options(agent.name):
            hw = catalog.hardware(profile.hardware)
            if hw is None or profile.units > per_machine_units(cluster, hw.name):
                continue
            if not all(satisfies(catalog, agent.name, hw.name, p) for p in node.prefs
                       if p.key in ("device", "hardware")):
                continue
            capacity = cluster.capacity(hw.name)
            curve = catalog.llm_curve(agent.serving_model, hw.name, profile.units) if agent.serving_model else ()
            for fanout in _fanouts(node, calls):
                if fanout * profile.units > capacity:
                    break
                out.append(estimate_candidate(node.id, profile, hw, agent_quality, calls,
                                              media_s, fanout, curve, tokens, fps))
    return prune_dominated(out)


def _fanouts(node: Node, calls: float) -> tuple[int, ...]:
    if not node.partitioned:
        return (1,)
    limit = max(1, math.ceil(calls))
    return tuple(f for f in FANOUTS if f <= limit)


def _key(c: Candidate) -> tuple[float, ...]:
    # Lower is better in every coordinate; resources held count too, so a candidate
    # that is faster only by holding more units is not pruned.
    return (c.latency_s, c.energy_wh, c.cost_usd, -c.quality, float(c.units * c.fanout), float(c.gpus))


def prune_dominated(cands: list[Candidate]) -> list[Candidate]:
    """Drop candidates another candidate on the same hardware type beats or ties everywhere
    (of two equal ones, the first listed stays). The survivors keep their order.

    Only the same hardware type competes: a slower CPU candidate may still win when the
    GPUs are busy with other tasks, which standalone numbers cannot see.
    """
    # A candidate can only be beaten by one that sorts before it (its key is <= in every
    # coordinate, so lexicographically too; ties by position), and beating is transitive:
    # checking each against the survivors so far, in sorted order, is enough.
    keys = [_key(c) for c in cands]
    survivors: dict[str, list[int]] = {}
    kept: list[int] = []
    for i in sorted(range(len(cands)), key=lambda i: (keys[i], i)):
        mine = survivors.setdefault(cands[i].hardware, [])
        if not any(all(a <= b for a, b in zip(keys[j], keys[i])) for j in mine):
            mine.append(i)
            kept.append(i)
    return [cands[i] for i in sorted(kept)]


def baseline_candidate(node: Node, plan: LogicalPlan, catalog: Catalog, cluster: Cluster,
                       available: frozenset[str] | None = None,
                       quality: Callable[[Node, Agent], float] = task_quality) -> Candidate:
    """The configuration a hand-written workflow hard-codes: the catalog's baseline agent,
    on a GPU if it has a GPU profile, with the fewest units, one instance."""
    assert node.interface is not None
    calls, media_s = work_of(node, plan)
    agents = sorted(catalog.agents(node.interface), key=lambda a: (not a.baseline, a.name))
    for agent in agents:
        if available is not None and agent.name not in available:
            continue
        if not all(satisfies(catalog, agent.name, None, p) for p in node.prefs):
            continue
        profiles = []
        for p in catalog.profiles(agent.name):
            hw = catalog.hardware(p.hardware)
            if hw is not None and 0 < p.units <= per_machine_units(cluster, hw.name) and all(
                    satisfies(catalog, agent.name, hw.name, pref) for pref in node.prefs
                    if pref.key in ("device", "hardware")):
                profiles.append((not hw.is_gpu, p.units, p.hardware, p))
        if profiles:
            _, _, _, profile = min(profiles, key=lambda t: t[:3])
            hw = catalog.hardware(profile.hardware)
            assert hw is not None
            curve = catalog.llm_curve(agent.serving_model, hw.name, profile.units) if agent.serving_model else ()
            return estimate_candidate(node.id, profile, hw, quality(node, agent), calls, media_s, 1,
                                      curve, output_tokens(node), frame_rate(node, plan))
    raise LookupError(node.id)
