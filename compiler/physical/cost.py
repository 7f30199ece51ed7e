"""The cost model: what one candidate costs alone, and what a whole timeline costs.

Estimates per candidate (standalone, no contention):
  calls      = items the map runs over (1 for an invoke)
  call_s     = per_item_s + per_media_s × media seconds per item        (catalog profile;
               × fps / media_fps for an agent that decodes every frame)
  shard i    = setup_s + calls_i × call_s, with the calls split evenly over the fan-out

An LLM agent whose serving model has a load curve on this hardware and tensor-parallel
degree (``llm_curves``) is batched, as a serving engine runs it: T output tokens per call,
  shard i    = setup_s + max(TTFT + T × TPOT_low,  calls_i × T / throughput)
one call alone decodes at the low-load TPOT; many calls are bound by the instance's
throughput at its latency target (the saturation point of the curve by default).
  latency    = the longest shard
  energy     = Σ shard seconds × units × busy power, busy power = idle + utilisation × (active − idle)

Totals of a timeline (planner's schedule or the simulator's run) charge for what the job
*holds*: the peak number of units of each hardware type, for the whole makespan.
  cost   = Σ_hw held_hw × makespan × $/unit-hour
  energy = Σ busy unit-seconds × busy power + Σ (held unit-seconds − busy unit-seconds) × idle power
"""

from __future__ import annotations

import functools
import math
from typing import Iterable, Mapping, Sequence

import numpy as np

from ...catalog.catalog import Catalog, CurvePoint, Hardware, Profile
from ..scheduling.problem import peak_usage as core_peak_usage
from .plan import Candidate, Estimate


def busy_power_w(hw: Hardware, profile: Profile) -> float:
    return hw.idle_w + profile.utilisation * (hw.active_w - hw.idle_w)


# Output tokens per LLM call when the interface states none: the median GeneratedTokens
# of the Azure LLM conversation trace (2023-11-16) is 129.
DEFAULT_OUTPUT_TOKENS = 128.0


def candidate_power_w(catalog: Catalog, cand: Candidate) -> float:
    """Busy power of one unit running ``cand`` (W)."""
    hw = catalog.hardware(cand.hardware)
    profile = catalog.profile(cand.agent, cand.hardware, cand.units)
    assert hw is not None and profile is not None
    return busy_power_w(hw, profile)


def throughput_at(curve: Sequence[CurvePoint], tpot_target_s: float | None = None) -> float:
    """Output tokens per second one instance sustains while its TPOT stays within the
    target, interpolated linearly between the curve's points (saturation when None)."""
    points = sorted(curve, key=lambda p: p.offered_tps)
    if tpot_target_s is None:
        return points[-1].offered_tps
    if tpot_target_s <= points[0].tpot_s:
        return points[0].offered_tps * tpot_target_s / points[0].tpot_s
    for a, b in zip(points, points[1:]):
        if a.tpot_s <= tpot_target_s <= b.tpot_s:
            w = (tpot_target_s - a.tpot_s) / (b.tpot_s - a.tpot_s) if b.tpot_s > a.tpot_s else 1.0
            return a.offered_tps + w * (b.offered_tps - a.offered_tps)
    return points[-1].offered_tps


def split_calls(calls: float, fanout: int) -> list[float]:
    """Calls per shard: as even as whole calls allow (the first shards take the remainder)."""
    return list(_split_calls(calls, fanout))


# Planning splits the same few (calls, fan-out) pairs hundreds of thousands of times.
@functools.lru_cache(maxsize=4096)
def _split_calls(calls: float, fanout: int) -> tuple[float, ...]:
    whole = max(0, int(math.ceil(calls - 1e-9)))
    base, extra = divmod(whole, fanout)
    return tuple(float(base + (1 if i < extra else 0)) for i in range(fanout))


def estimate_candidate(node_id: str, profile: Profile, hw: Hardware, quality: float, calls: float,
                       media_s: float, fanout: int, curve: Sequence[CurvePoint] = (),
                       output_tokens: float = DEFAULT_OUTPUT_TOKENS, fps: float = 0.0) -> Candidate:
    call_s, floor_s, source = profile.call_seconds(media_s, fps), 0.0, profile.source
    scale = profile.fps_scale(fps)
    if scale != 1.0 and media_s > 0:
        source = f"{source}; per media second x {scale:.3g} (video at {fps:g} fps, profiled at {profile.media_fps:g})"
    if curve:
        low = min(curve, key=lambda p: p.offered_tps)
        call_s = output_tokens / throughput_at(curve)
        floor_s = low.ttft_s + output_tokens * low.tpot_s
        source = f"{low.source.split(';')[0]}; batched at the curve's saturation, {output_tokens:g} tokens per call"
    fields = dict(node=node_id, agent=profile.agent, hardware=profile.hardware, units=profile.units, fanout=fanout,
                  calls=calls, call_s=call_s, setup_s=profile.setup_s, quality=quality,
                  gpus=profile.units * fanout if hw.is_gpu else 0, source=source, floor_s=floor_s)
    base = Candidate(latency_s=0.0, busy_unit_s=0.0, energy_wh=0.0, cost_usd=0.0, **fields)
    # Shards differ by one call at most: their seconds are computed once per call count.
    seconds = {c: base.shard_seconds(c) for c in set(_split_calls(calls, fanout))}
    shards = [seconds[c] for c in _split_calls(calls, fanout) if c > 0 or fanout == 1]
    latency = max(shards) if shards else profile.setup_s
    busy_unit_s = sum(shards) * profile.units
    power = busy_power_w(hw, profile)
    # Built directly rather than by dataclasses.replace, which is several times slower.
    return Candidate(latency_s=latency, busy_unit_s=busy_unit_s, energy_wh=busy_unit_s * power / 3600.0,
                     cost_usd=busy_unit_s * hw.usd_per_hour / 3600.0, **fields)


def peak_usage(intervals: Iterable[tuple[float, float, int]]) -> int:
    """The most units in use at once over (start, end, units) intervals, a unit freed at t
    free at t (the scheduling core's ``peak_usage``, counted exactly)."""
    return core_peak_usage(intervals, eps=0.0)


def timeline_totals(catalog: Catalog, busy: Sequence[tuple[str, str, float, float, int, float]],
                    quality: float) -> Estimate:
    """Totals for a timeline of busy intervals.

    ``busy`` rows are (machine, hardware, start_s, end_s, units, busy power per unit in W).
    """
    if len(busy) < VECTOR_ROWS:
        return _timeline_totals(catalog, busy, quality)
    machines, hws, starts, ends, units, powers = zip(*busy)
    return _column_totals(catalog, machines, hws, starts, ends, units, powers, quality)


# From this many rows the totals are taken over arrays (``_column_totals``): the same
# floats as the loop, which is faster for a few rows.
VECTOR_ROWS = 256


def _timeline_totals(catalog: Catalog, busy: Sequence[tuple[str, str, float, float, int, float]],
                     quality: float) -> Estimate:
    """``timeline_totals`` one row at a time: the definition ``_column_totals`` keeps to."""
    makespan = max((row[3] for row in busy), default=0.0)
    by_machine: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    # One pass over the rows; each sum adds its terms in row order, as separate passes would.
    energy_j = 0.0
    busy_unit_s: dict[str, float] = {}
    for machine, hw, start, end, units, power in busy:
        by_machine.setdefault((machine, hw), []).append((start, end, units))
        energy_j += (end - start) * units * power
        busy_unit_s[hw] = busy_unit_s.get(hw, 0.0) + (end - start) * units
    held: dict[str, int] = {}
    for (machine, hw), intervals in by_machine.items():
        peak = peak_usage(intervals)
        if peak:
            held[hw] = held.get(hw, 0) + peak
    return _held_totals(catalog, makespan, energy_j, busy_unit_s, held, quality)


def _column_totals(catalog: Catalog, machines: Sequence[str], hws: Sequence[str], starts: Sequence[float],
                   ends: Sequence[float], units: Sequence[int], powers: Sequence[float], quality: float) -> Estimate:
    """``_timeline_totals`` of the rows given as columns, over arrays. The same floats:
    every term is computed as there, and each sum adds them in row order
    (``np.cumsum`` accumulates one term at a time, where ``np.sum`` would pair them)."""
    if not set(map(type, units)) <= {int}:
        return _timeline_totals(catalog, list(zip(machines, hws, starts, ends, units, powers)), quality)
    makespan = max(ends)
    s = np.array(starts, dtype=np.float64)
    e = np.array(ends, dtype=np.float64)
    u = np.array(units, dtype=np.int64)
    unit_s = (e - s) * u
    energy_j = float(np.cumsum(unit_s * np.array(powers, dtype=np.float64))[-1])
    # Each (machine, hardware) pool, numbered in order of first appearance (the held
    # totals below add up in that order).
    pools = {k: i for i, k in enumerate(dict.fromkeys(zip(machines, hws)))}
    pool = np.fromiter(map(pools.__getitem__, zip(machines, hws)), dtype=np.int64, count=len(machines))
    busy_unit_s: dict[str, float] = {}
    for hw in dict.fromkeys(hws):
        mine = np.isin(pool, [i for (_, h), i in pools.items() if h == hw])
        busy_unit_s[hw] = float(np.cumsum(unit_s[mine])[-1])
    held: dict[str, int] = {}
    for (_, hw), i in pools.items():
        mine = (pool == i) & (e > s)  # empty intervals hold nothing
        if not mine.any():
            continue
        times = np.concatenate((s[mine], e[mine]))
        deltas = np.concatenate((u[mine], -u[mine]))
        # By time, then ends (negative) before starts: a unit freed at t is reused at t.
        peak = int(np.cumsum(deltas[np.lexsort((deltas, times))]).max())
        if peak > 0:
            held[hw] = held.get(hw, 0) + peak
    return _held_totals(catalog, makespan, energy_j, busy_unit_s, held, quality)


def _held_totals(catalog: Catalog, makespan: float, energy_j: float, busy_unit_s: dict[str, float],
                 held: dict[str, int], quality: float) -> Estimate:
    """The totals from the busy energy and unit-seconds and the units held: idle power
    and price of every unit held over the makespan."""
    cost = 0.0
    gpus = 0
    for hw_name, units in held.items():
        hw = catalog.hardware(hw_name)
        assert hw is not None
        idle_unit_s = max(0.0, units * makespan - busy_unit_s.get(hw_name, 0.0))
        energy_j += idle_unit_s * hw.idle_w
        cost += units * makespan * hw.usd_per_hour / 3600.0
        if hw.is_gpu:
            gpus += units
    return Estimate(makespan, cost, energy_j / 3600.0, quality, gpus, tuple(sorted(held.items())))


def plan_totals(catalog: Catalog, choice: Mapping[str, Candidate],
                shards: Iterable[tuple[str, str, str, float, float, int]],
                scopes: Mapping[str, frozenset[str]] | None = None,
                power: dict[tuple[str, str, int], float] | None = None) -> Estimate:
    """The reported totals of a scheduled plan from its shards as (task, machine,
    hardware, start_s, end_s, units) rows in schedule order; with ``scopes`` (a joint
    plan), each job's own totals as ``parts`` too. ``power``: busy power per (agent,
    hardware, units), kept by a caller that totals many plans of the same candidates."""
    power = {} if power is None else power
    per_task: dict[str, float] = {}
    for task, cand in choice.items():
        key = (cand.agent, cand.hardware, cand.units)
        w = power.get(key)
        if w is None:
            w = power[key] = candidate_power_w(catalog, cand)
        per_task[task] = w
    rows = shards if isinstance(shards, list) else list(shards)
    columns = tuple(zip(*rows)) or ((),) * 6
    tasks = columns[0]
    powers = [per_task[t] for t in tasks]
    whole = _columns(catalog, columns[1:], powers, math.prod(c.quality for c in choice.values()))
    if not scopes:
        return whole
    parts = []
    for label, mine in scopes.items():
        at = [i for i, t in enumerate(tasks) if t in mine]
        part = tuple([column[i] for i in at] for column in columns[1:])
        parts.append((label, _columns(catalog, part, [powers[i] for i in at],
                                      math.prod(choice[t].quality for t in mine))))
    return Estimate(whole.makespan_s, whole.cost_usd, whole.energy_wh, whole.quality, whole.gpus, whole.held,
                    tuple(parts))


def _columns(catalog: Catalog, columns: Sequence[Sequence], powers: Sequence[float], quality: float) -> Estimate:
    """``timeline_totals`` of rows given as (machine, hardware, start, end, units) columns
    and each row's busy power."""
    machines, hws, starts, ends, units = columns
    if len(ends) < VECTOR_ROWS:
        return _timeline_totals(catalog, list(zip(machines, hws, starts, ends, units, powers)), quality)
    return _column_totals(catalog, machines, hws, starts, ends, units, powers, quality)
