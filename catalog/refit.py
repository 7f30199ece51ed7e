"""``murakkab catalog refit``: update profiles from what runs observed.

Every run records one ``observations`` row per shard (:func:`record_observations`, called
by the executor): the shard's agent, hardware and units, its calls, the media seconds per
call, and the seconds it took. The cost model says a shard takes

    seconds = setup_s + calls × (per_item_s + per_media_s × media_s)

where ``media_s`` is as recorded (for an agent that decodes every frame, seconds of video
at its profile's ``media_fps``: ``api.observation_rows`` scales them to it); so, per
stored profile (agent, hardware, units), refit keeps ``setup_s`` and fits
``per_item_s`` and ``per_media_s`` by non-negative least squares (scipy.optimize.nnls)
on the columns (calls, calls × media_s) against (seconds − setup_s). When every
observation has the same media_s the two coefficients cannot be told apart: with no
media at all only per_item_s is fitted (per_media_s kept); otherwise both are scaled by
one least-squares factor (their ratio kept). The source of a refitted row says so.

Only observations of real backends are used by default: the simulator's durations
(backend 'sim') come from these very profiles, so refitting to them would be circular.
All updates happen in one transaction; the change reported per profile is the per-call
time at the median observed media_s, before and after.
"""

from __future__ import annotations

import statistics
from dataclasses import astuple, dataclass, fields
from datetime import datetime, timezone
from typing import Any, Iterable

import duckdb
import numpy as np

from ..grammar.diagnostics import MurakkabError
from .catalog import Catalog

SIM_BACKEND = "sim"


@dataclass(frozen=True)
class ObservationRow:
    """One shard of one run, as the ``observations`` table stores it (columns in order)."""

    run_id: str
    recorded_at: datetime
    host: str
    backend: str
    job: str
    task: str
    shard: int
    agent: str
    hardware: str
    units: int
    calls: float
    media_s: float
    est_seconds: float
    seconds: float
    est_energy_wh: float
    energy_wh: float


OBSERVATION_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ObservationRow))


@dataclass(frozen=True)
class RefitChange:
    """How one profile's estimate moved: per-call seconds at ``media_s`` (the median media
    seconds per call of its observations), before and after, and (new − old) / old.
    ``skipped`` says why a profile was left alone ('' when it was refitted): then new =
    old, or all are None when there is no stored row. ``relative_change`` is None when
    old is 0 and new is not."""

    agent: str
    hardware: str
    units: int
    observations: int
    old_call_s: float | None
    new_call_s: float | None
    relative_change: float | None
    media_s: float
    old_per_item_s: float | None
    old_per_media_s: float | None
    new_per_item_s: float | None
    new_per_media_s: float | None
    skipped: str = ""
    source: str = ""


def _check_writable(catalog: Catalog, what: str) -> None:
    if getattr(catalog, "read_only", False):
        raise MurakkabError(f"cannot {what}: the catalog {catalog.path} is open read-only",
                            hint="open it without --read-only")


def record_observations(catalog: Catalog, rows: Iterable[ObservationRow]) -> int:
    """Insert observation rows in one transaction; returns how many were inserted.

    ``recorded_at`` is stored as naive UTC (an aware datetime is converted). A row whose
    (run_id, task, shard) is already recorded fails the whole batch."""
    return insert_run_rows(catalog, "observations", rows, "(run_id, task, shard) identifies a shard")


def insert_run_rows(catalog: Catalog, table: str, rows: Iterable[Any], identity: str) -> int:
    """Insert dataclass rows (fields in the table's column order, the second one
    ``recorded_at``) in one transaction; ``identity`` names the key, for the error."""
    rows = list(rows)
    if not rows:
        return 0
    _check_writable(catalog, f"record {table}")
    columns = [f.name for f in fields(rows[0])]
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    try:
        with catalog.transaction():
            for row in rows:
                values = list(astuple(row))
                when = row.recorded_at
                if isinstance(when, datetime) and when.tzinfo is not None:  # the column holds naive UTC
                    values[1] = when.astimezone(timezone.utc).replace(tzinfo=None)
                catalog.execute(sql, values)
    except duckdb.ConstraintException as exc:
        raise MurakkabError(f"cannot record {table}: {str(exc).splitlines()[0]}",
                            hint=f"{identity}; each is recorded once") from None
    return len(rows)


def _relative(old: float, new: float) -> float | None:
    if old > 0:
        return (new - old) / old
    return 0.0 if new == old else None


def fit_coefficients(calls: np.ndarray, media: np.ndarray, seconds: np.ndarray, setup_s: float,
                     old_per_item: float, old_per_media: float) -> tuple[float, float, str]:
    """(per_item_s, per_media_s, note) fitted to shard timings; note is '' for a full fit."""
    y = seconds - setup_s
    if np.ptp(media) > 1e-9 * max(1.0, float(np.max(np.abs(media)))):
        a = np.column_stack([calls, calls * media])
        from scipy.optimize import nnls  # scipy.optimize costs ~1 s to import: only when refitting

        (per_item, per_media), _ = nnls(a, y)
        return float(per_item), float(per_media), ""
    m = float(media[0])
    if m == 0.0 or old_per_item + old_per_media * m <= 0:
        denom = float(calls @ calls)
        per_item = max(0.0, float(calls @ y) / denom) if denom > 0 else old_per_item
        return per_item, old_per_media, f"all at media_s {m:g}: per_item_s fitted, per_media_s kept"
    x = calls * (old_per_item + old_per_media * m)
    denom = float(x @ x)
    scale = max(0.0, float(x @ y) / denom) if denom > 0 else 1.0
    return old_per_item * scale, old_per_media * scale, (
        f"all at media_s {m:g}: both coefficients scaled by {scale:.4g}")


def refit(catalog: Catalog, include_sim: bool = False, min_observations: int = 3) -> list[RefitChange]:
    """Refit per_item_s and per_media_s of every profile with enough observations.

    Returns one :class:`RefitChange` per (agent, hardware, units) that has observations
    (refitted or skipped), sorted by that key; refitted rows are written in one
    transaction and the catalog is reloaded."""
    _check_writable(catalog, "refit profiles")
    where = "" if include_sim else f"WHERE backend <> '{SIM_BACKEND}'"
    obs = catalog.execute(
        f"SELECT agent, hardware, units, calls, media_s, seconds, host, recorded_at FROM observations {where} "
        "ORDER BY agent, hardware, units, recorded_at, run_id, task, shard")
    groups: dict[tuple[str, str, int], list[tuple]] = {}
    for r in obs:
        groups.setdefault((r[0], r[1], int(r[2])), []).append(r)
    stored = {(r[0], r[1], int(r[2])): (float(r[3]), float(r[4]), float(r[5]))
              for r in catalog.execute("SELECT agent, hardware, units, setup_s, per_item_s, per_media_s FROM profiles")}
    changes: list[RefitChange] = []
    updates: list[tuple[float, float, str, str, str, int]] = []
    for key in sorted(groups):
        rows = groups[key]
        agent, hardware, units = key
        n = len(rows)
        median_media = float(statistics.median(float(r[4]) for r in rows))
        served = catalog.agent(agent)
        if served is not None and served.serving_model and catalog.llm_curve(served.serving_model, hardware, units):
            # The planner times this agent with its load curve, not with the profile's
            # per-call numbers; fitting those to batched shards would mean nothing.
            changes.append(RefitChange(agent, hardware, units, n, None, None, None, median_media, None, None, None,
                                       None, skipped="timed by its LLM load curve (llm_curves), not refitted"))
            continue
        if key not in stored:
            changes.append(RefitChange(agent, hardware, units, n, None, None, None, median_media, None, None, None,
                                       None, skipped="no stored profile row for these units"))
            continue
        setup_s, per_item, per_media = stored[key]
        old_call = per_item + per_media * median_media
        if n < min_observations:
            changes.append(RefitChange(agent, hardware, units, n, old_call, old_call, 0.0, median_media, per_item,
                                       per_media, per_item, per_media,
                                       skipped=f"{n} observation{'s' if n != 1 else ''}, fewer than {min_observations}"))
            continue
        calls = np.array([float(r[3]) for r in rows])
        media = np.array([float(r[4]) for r in rows])
        seconds = np.array([float(r[5]) for r in rows])
        new_item, new_media, note = fit_coefficients(calls, media, seconds, setup_s, per_item, per_media)
        new_call = new_item + new_media * median_media
        hosts = "+".join(sorted({str(r[6]) for r in rows}))
        latest = max(r[7] for r in rows)
        date = latest.date().isoformat() if hasattr(latest, "date") else str(latest)[:10]
        source = (f"measured:{hosts}, {date}; refit from {n} observations" + (f" ({note})" if note else "")
                  + f"; setup_s {setup_s:g} kept from the previous row")
        changes.append(RefitChange(agent, hardware, units, n, old_call, new_call, _relative(old_call, new_call),
                                   median_media, per_item, per_media, new_item, new_media, source=source))
        updates.append((new_item, new_media, source, agent, hardware, units))
    if updates:
        with catalog.transaction():
            for u in updates:
                catalog.execute("UPDATE profiles SET per_item_s = ?, per_media_s = ?, source = ? "
                                "WHERE agent = ? AND hardware = ? AND units = ?", list(u))
        catalog.reload()
    return changes


def format_changes(changes: Iterable[RefitChange]) -> str:
    """The changes as the CLI prints them."""
    changes = list(changes)
    if not changes:
        return "no observations to refit from (runs on the simulator are not used unless --include-sim)"
    head = (f"{'agent':<28} {'hardware':<16} {'units':>5} {'obs':>4} {'media s':>8} {'old call s':>10} "
            f"{'new call s':>10} {'change':>8}")
    lines = [head]
    def num(v: float | None, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    for c in changes:
        row = (f"{c.agent:<28} {c.hardware:<16} {c.units:>5} {c.observations:>4} {c.media_s:>8.3g} "
               f"{num(c.old_call_s, '.4g'):>10}")
        if c.skipped:
            lines.append(f"{row} {'-':>10} {'-':>8}  skipped: {c.skipped}")
        else:
            lines.append(f"{row} {num(c.new_call_s, '.4g'):>10} {num(c.relative_change, '+.1%'):>8}")
    refitted = sum(1 for c in changes if not c.skipped)
    lines.append(f"refitted {refitted} profile{'s' if refitted != 1 else ''}, skipped {len(changes) - refitted}")
    return "\n".join(lines)
