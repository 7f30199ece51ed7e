"""Cardinality feedback: learn the statistics that item-count estimates use from the item
counts real runs found (as a database learns from the row counts of executed plans).

The binder estimates how many items a task produces from its interface's cardinality
expression, e.g. ``max(1, duration_s / scene_length_s)`` scenes per video, where
``duration_s`` is an attribute of the input items (probed from the files) and
``scene_length_s`` a statistic of the catalog (a published average shot length). When the
content differs from the published average, every task downstream does more or less work
than planned.

Every real run records one ``cardinality_observations`` row per task whose output is a
list (:func:`record_cardinalities`): the calls, the item attributes and knobs the
expression read, the estimate, and the items the task really produced. For each
statistic that is the only one an interface's expression reads, :func:`refit_statistics`
finds the value that makes the expression predict the observed counts best (least
squares on log counts, a bounded scalar search: scipy.optimize.minimize_scalar), and
stores it with its provenance. A statistic read together with another by one expression
is left alone (one count per call cannot tell two apart), as are the simulator's rows
(their counts are the estimates themselves).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable


from . import expressions
from .catalog import Catalog
from .refit import SIM_BACKEND, insert_run_rows

# The search for a statistic's value spans this factor either side of the current one.
SEARCH_FACTOR = 1000.0
GRID_POINTS = 400


@dataclass(frozen=True)
class CardinalityRow:
    """One task of one run, as ``cardinality_observations`` stores it (columns in order).
    ``env`` is JSON: the item attributes and knobs the cardinality expression read."""

    run_id: str
    recorded_at: datetime
    host: str
    backend: str
    job: str
    task: str
    interface: str
    calls: float
    env: str
    est_items: float
    items: float


@dataclass(frozen=True)
class StatisticChange:
    """How one statistic moved. ``error_before`` / ``error_after``: the median of
    |predicted − observed| / observed items over its observations. ``skipped`` says why
    it was left alone ('' when it was refitted)."""

    key: str
    interfaces: tuple[str, ...]
    observations: int
    old_value: float
    new_value: float
    error_before: float
    error_after: float
    skipped: str = ""
    source: str = ""


def record_cardinalities(catalog: Catalog, rows: Iterable[CardinalityRow]) -> int:
    """Insert rows in one transaction; returns how many were inserted."""
    return insert_run_rows(catalog, "cardinality_observations", rows, "(run_id, task) identifies a task of a run")


@dataclass(frozen=True)
class _Observed:
    interface: str
    calls: float
    env: dict[str, float]
    items: float


def _predict(expression: str, key: str, value: float, base: dict[str, float], o: _Observed) -> float:
    per_call = max(0.0, expressions.evaluate(expression, {**base, **o.env, key: value}))
    return o.calls * per_call


def refit_statistics(catalog: Catalog, include_sim: bool = False, min_observations: int = 3) -> list[StatisticChange]:
    """Refit every statistic that is the only one some observed interface's cardinality
    reads; one change per such statistic, sorted by key. Updates happen in one
    transaction and the catalog is reloaded."""
    where = "" if include_sim else f"WHERE backend <> '{SIM_BACKEND}'"
    rows = catalog.execute(f"SELECT interface, calls, env, items FROM cardinality_observations {where} "
                           "ORDER BY recorded_at, run_id, task")
    stats = {s.key: s for s in catalog.statistics()}
    base = {k: s.value for k, s in stats.items()}
    by_key: dict[str, list[_Observed]] = {}
    expression_of: dict[str, str] = {}
    for interface, calls, env, items in rows:
        iface = catalog.interface(interface)
        if iface is None:
            continue
        observed = _Observed(interface, float(calls), {k: float(v) for k, v in json.loads(env).items()}, float(items))
        read = expressions.names(iface.cardinality) - set(observed.env)
        free = sorted(k for k in read if k in stats)
        if len(free) != 1:
            continue
        expression_of[interface] = iface.cardinality
        by_key.setdefault(free[0], []).append(observed)
    changes, updates = [], []
    for key in sorted(by_key):
        obs = by_key[key]
        old = stats[key].value
        interfaces = tuple(sorted({o.interface for o in obs}))

        def errors(value: float) -> list[float]:
            return [abs(_predict(expression_of[o.interface], key, value, base, o) - o.items) / max(o.items, 1.0)
                    for o in obs]

        before = statistics.median(errors(old))
        if len(obs) < min_observations:
            changes.append(StatisticChange(key, interfaces, len(obs), old, old, before, before,
                                           skipped=f"{len(obs)} observation{'s' if len(obs) != 1 else ''}, "
                                                   f"fewer than {min_observations}"))
            continue
        new = _fit(key, old, base, obs, expression_of)
        after = statistics.median(errors(new))
        if after >= before:
            changes.append(StatisticChange(key, interfaces, len(obs), old, old, before, before,
                                           skipped="no value predicts the observed counts better"))
            continue
        hosts_runs = f"{len(obs)} observed task{'s' if len(obs) != 1 else ''} of {', '.join(interfaces)}"
        source = (f"measured:refit from {hosts_runs}; median item-count error {100 * before:.0f}% -> "
                  f"{100 * after:.0f}%; was {old:g} ({stats[key].source.split(';')[0]})")
        changes.append(StatisticChange(key, interfaces, len(obs), old, new, before, after, source=source))
        updates.append((new, source, key))
    if updates:
        with catalog.transaction():
            for value, source, key in updates:
                catalog.execute("UPDATE statistics SET value = ?, source = ? WHERE key = ?", [value, source, key])
        catalog.reload()
    return changes


def _fit(key: str, old: float, base: dict[str, float], obs: list[_Observed], expression_of: dict[str, str]) -> float:
    """The value minimising the squared log error of the predicted item counts."""
    def loss(log_value: float) -> float:
        value = math.exp(log_value)
        total = 0.0
        for o in obs:
            predicted = _predict(expression_of[o.interface], key, value, base, o)
            total += (math.log1p(predicted) - math.log1p(o.items)) ** 2
        return total

    centre = math.log(old) if old > 0 else 0.0
    span = math.log(SEARCH_FACTOR)
    # The loss is flat where a max()/min() clamps the prediction, where a local search
    # alone stalls: a grid over the whole span finds the basin, a bounded search refines.
    grid = [centre - span + 2 * span * i / GRID_POINTS for i in range(GRID_POINTS + 1)]
    best = min(range(len(grid)), key=lambda i: (loss(grid[i]), abs(grid[i] - centre)))
    lo, hi = grid[max(0, best - 1)], grid[min(len(grid) - 1, best + 1)]
    from scipy.optimize import minimize_scalar  # ~1 s to import: only when refitting

    result = minimize_scalar(loss, bounds=(lo, hi), method="bounded", options={"xatol": 1e-9})
    if loss(result.x) > loss(grid[best]):
        return float(f"{math.exp(grid[best]):.4g}")
    # Rounded to 4 significant digits: the data cannot tell more apart.
    return float(f"{math.exp(result.x):.4g}")


def format_statistic_changes(changes: Iterable[StatisticChange]) -> str:
    changes = list(changes)
    if not changes:
        return "no item counts to refit statistics from"
    lines = [f"{'statistic':<24} {'read by':<24} {'obs':>4} {'old':>10} {'new':>10} {'error before':>12} "
             f"{'after':>7}"]
    for c in changes:
        row = (f"{c.key:<24} {', '.join(c.interfaces):<24} {c.observations:>4} {c.old_value:>10.4g} "
               f"{c.new_value:>10.4g} {100 * c.error_before:>11.0f}% {100 * c.error_after:>6.0f}%")
        lines.append(row + (f"  skipped: {c.skipped}" if c.skipped else ""))
    refitted = sum(1 for c in changes if not c.skipped)
    lines.append(f"refitted {refitted} statistic{'s' if refitted != 1 else ''}, "
                 f"skipped {len(changes) - refitted}")
    return "\n".join(lines)
