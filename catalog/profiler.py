"""``murakkab catalog profile AGENT``: measure an agent on this machine and store its profile.

The profile is the planner's latency model (see compiler/physical/cost.py):

    one instance on n cores:  setup_s(n) once, then per call  per_item_s(n) + per_media_s(n) × media seconds
    between measured n:       time(n) = time(1) × (s + (1 − s) / n)      (Amdahl, s = serial_fraction)

How it is measured (only agents with a local implementation can be profiled; today that
is ``opencv-frames``, runtime/agents/frames.py):

1. Deterministic synthetic test videos of each duration are written to a temporary folder.
2. For each repeat and each core count n (interleaved, so that drift in the machine's
   speed hits every n alike): an instance on n cores is started and timed (the setup
   sample), then one call per duration is timed (a call decodes the whole video and
   keeps ``frames_per_scene`` frames).
3. Per core count, ``setup_s`` is the median of the setup samples and (per_item_s,
   per_media_s) the non-negative least-squares fit of the median call time of each
   duration against its media seconds (medians, because a shared machine throws the odd
   slow run). The fit residual is the RMS of (model − median) over the durations,
   relative to the mean of the medians.
4. The serial fraction s is the least-squares solution of
   time(n) − time(1)/n = s × time(1) × (1 − 1/n) over the median call times of every
   duration and every measured n > 1, clipped to [0, 1].
5. One profiles row per measured core count is written on hardware ``local-core`` (one
   core of this machine; cluster 'local'), replacing earlier rows for those unit counts,
   in one transaction; the agent's catalog row is added first if it is missing.
"""

from __future__ import annotations

import math
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..grammar.diagnostics import MurakkabError, suggestion
from .catalog import Catalog, Profile

PROFILE_HARDWARE = "local-core"

# Stated default: a CPU-bound decoder keeps every core it is given busy, so its busy
# power per core is the core's full active power (cost.busy_power_w with utilisation 1).
CPU_DECODE_UTILISATION = 1.0
# Stated default when only one core could be measured (the schema's own default).
DEFAULT_SERIAL_FRACTION = 0.05
DEFAULT_FRAMES_PER_CALL = 5


@dataclass(frozen=True)
class Measurement:
    """One timing: starting an instance (``phase='setup'``, ``duration_s`` 0) or one call
    on ``duration_s`` seconds of media (``phase='call'``), on ``cores`` cores."""

    cores: int
    duration_s: float
    seconds: float
    phase: str = "call"


@dataclass(frozen=True)
class LatencyFit:
    """The fitted latency model on ``cores`` cores and how well it fits its ``runs`` calls."""

    cores: int
    setup_s: float
    per_item_s: float
    per_media_s: float
    residual_pct: float
    runs: int

    def call_seconds(self, media_s: float) -> float:
        return self.per_item_s + self.per_media_s * media_s


@dataclass(frozen=True)
class ProfileReport:
    """What ``profile_agent`` measured, fitted and wrote."""

    agent: str
    hardware: str
    host: str
    date: str
    workload: str
    measurements: tuple[Measurement, ...]
    fits: tuple[LatencyFit, ...]
    serial_fraction: float | None
    rows: tuple[Profile, ...]
    skipped_cores: tuple[int, ...] = ()

    def format(self) -> str:
        return format_report(self)


# -- fitting (pure functions) ---------------------------------------------------------------
def fit_latency(measurements: Iterable[Measurement], cores: int) -> LatencyFit:
    """Fit setup_s, per_item_s, per_media_s (all ≥ 0) on ``cores`` cores: setup_s the
    median setup sample, the others non-negative least squares on the median call time
    of each duration."""
    mine = [m for m in measurements if m.cores == cores]
    setups = [m.seconds for m in mine if m.phase == "setup"]
    calls = [m for m in mine if m.phase == "call"]
    if not calls:
        raise ValueError(f"no call timings on {cores} cores to fit")
    medians = _medians(calls)
    if len(medians) < 2:
        raise ValueError("fitting per_media_s needs calls on at least two media durations")
    durations = sorted(d for _, d in medians)
    a = np.array([[1.0, d] for d in durations])
    y = np.array([medians[(cores, d)] for d in durations])
    from scipy.optimize import nnls  # scipy.optimize costs ~1 s to import: only when profiling

    (per_item, per_media), _ = nnls(a, y)
    pred = a @ np.array([per_item, per_media])
    mean = float(np.mean(y))
    residual = float(np.sqrt(np.mean((pred - y) ** 2)) / mean * 100.0) if mean > 0 else 0.0
    setup = float(np.median(setups)) if setups else 0.0
    return LatencyFit(cores, max(0.0, setup), float(per_item), float(per_media), residual, len(calls))


def _medians(measurements: Iterable[Measurement]) -> dict[tuple[int, float], float]:
    """Median call seconds per (cores, duration)."""
    groups: dict[tuple[int, float], list[float]] = {}
    for m in measurements:
        if m.phase == "call":
            groups.setdefault((m.cores, m.duration_s), []).append(m.seconds)
    return {k: float(np.median(v)) for k, v in groups.items()}


def fit_serial_fraction(measurements: Iterable[Measurement]) -> float | None:
    """Amdahl serial fraction s from the median call time per (cores, duration):
    least squares of time(n) − time(1)/n = s × time(1) × (1 − 1/n) over n > 1, clipped
    to [0, 1]. None without calls on 1 core and on some n > 1 at a common duration."""
    mean = _medians(measurements)
    num = den = 0.0
    for (n, d), tn in mean.items():
        t1 = mean.get((1, d))
        if n <= 1 or t1 is None:
            continue
        x = t1 * (1.0 - 1.0 / n)
        num += x * (tn - t1 / n)
        den += x * x
    if den <= 0:
        return None
    return min(1.0, max(0.0, num / den))


def fit_profile(measurements: Sequence[Measurement]) -> tuple[tuple[LatencyFit, ...], float | None]:
    """The latency fit of every measured core count and the serial fraction."""
    cores = sorted({m.cores for m in measurements if m.phase == "call"})
    return tuple(fit_latency(measurements, n) for n in cores), fit_serial_fraction(measurements)


# -- agents with a local implementation -------------------------------------------------------
@dataclass(frozen=True)
class _Profilable:
    interface: str
    kind: str
    model: str
    description: str
    quality: float
    quality_source: str


PROFILABLE: dict[str, _Profilable] = {
    "opencv-frames": _Profilable(
        interface="frame_extraction", kind="tool", model="OpenCV VideoCapture decode (this machine)",
        description="decodes the whole scene with OpenCV (FFmpeg, one thread per core; n cores = n worker "
                    "processes on n slices of the scene) and keeps frames_per_scene evenly spaced frames",
        quality=1.0, quality_source="default:decoding is lossless for the planner's purposes",
    ),
}


def _measure_frames(durations: Sequence[float], cores: Sequence[int], repeats: int, frames: int, width: int,
                    height: int, fps: float, workdir: Path, progress: Callable[[str], None] | None
                    ) -> tuple[list[Measurement], str]:
    from ..runtime.agents.frames import FrameDecoder, make_test_video

    videos: dict[float, str] = {}
    for d in sorted(durations):
        if progress:
            progress(f"writing a {d:g} s {width}x{height} test video")
        videos[d] = make_test_video(workdir / f"profile_{d:g}s.mp4", d, fps, width, height)
    codec = "mp4v" if all(v.endswith(".mp4") for v in videos.values()) else "MJPG"
    warm = videos[min(videos)]
    order = sorted(videos)
    out: list[Measurement] = []
    for rep in range(repeats):
        for n in cores:
            t0 = time.perf_counter()
            decoder = FrameDecoder(n, warm).start()
            out.append(Measurement(n, 0.0, time.perf_counter() - t0, "setup"))
            try:
                shift = rep % len(order)
                for d in order[shift:] + order[:shift]:
                    t0 = time.perf_counter()
                    got = decoder.extract(videos[d], 0.0, d, frames)
                    seconds = time.perf_counter() - t0
                    if len(got) != frames:
                        raise RuntimeError(f"decoder returned {len(got)} frames, not {frames}")
                    out.append(Measurement(n, float(d), seconds))
            finally:
                decoder.close()
            if progress:
                progress(f"repeat {rep + 1}/{repeats}, {n} core{'s' if n > 1 else ''}: done")
    workload = (f"decode of synthetic {width}x{height} {fps:g} fps {codec} clips of "
                f"{'/'.join(f'{d:g}' for d in order)} s keeping {frames} frames per call; 1 core = in-process, "
                f"n cores = n single-threaded worker processes")
    return out, workload


# -- the command -------------------------------------------------------------------------------
def profilable_agents() -> tuple[str, ...]:
    return tuple(sorted(PROFILABLE))


def _check_agent(catalog: Catalog, agent: str) -> _Profilable:
    if agent in PROFILABLE:
        return PROFILABLE[agent]
    known = ", ".join(profilable_agents())
    if catalog.agent(agent) is not None:
        raise MurakkabError(f"agent '{agent}' has no local implementation to profile",
                            hint=f"profilable agents: {known}")
    names = list(PROFILABLE) + [a.name for a in catalog.agents()]
    hint = suggestion(agent, names, "agents")
    raise MurakkabError(f"unknown agent '{agent}'", hint=f"{hint}; profilable agents: {known}")


def _check_writable(catalog: Catalog, what: str) -> None:
    if getattr(catalog, "read_only", False):
        raise MurakkabError(f"cannot {what}: the catalog {catalog.path} is open read-only",
                            hint="open it without --read-only")


def profile_agent(catalog: Catalog, agent: str, durations: Sequence[float] = (2, 4, 8),
                  cores: Sequence[int] = (1, 2), repeats: int = 3, *, width: int = 1280, height: int = 720,
                  fps: float = 30.0, frames: int | None = None, workdir: str | os.PathLike[str] | None = None,
                  progress: Callable[[str], None] | None = None) -> ProfileReport:
    """Measure ``agent`` on this machine and store one profile row per measured core count.

    ``durations``: seconds of test video per call (at least two different ones);
    ``cores``: core counts to measure (1 is always added; counts above ``os.cpu_count()``
    are skipped and listed in the report); ``repeats``: timings of each (cores, duration);
    ``frames``: frames kept per call (default: the interface's frames_per_scene default).
    """
    spec = _check_agent(catalog, agent)
    _check_writable(catalog, f"profile {agent}")
    if repeats < 1:
        raise MurakkabError("repeats must be at least 1")
    durations = sorted({float(d) for d in durations})
    if len(durations) < 2 or durations[0] <= 0:
        raise MurakkabError("profiling needs at least two different, positive durations",
                            hint="e.g. durations 2, 4, 8 (seconds)")
    if any(int(n) != n or n < 1 for n in cores):
        raise MurakkabError("core counts must be positive whole numbers")
    if catalog.interface(spec.interface) is None:
        raise MurakkabError(f"the catalog has no interface '{spec.interface}' for agent '{agent}'")
    if catalog.hardware(PROFILE_HARDWARE) is None:
        raise MurakkabError(f"the catalog has no hardware '{PROFILE_HARDWARE}' (this machine's cores)")
    available = os.cpu_count() or 1
    measured = sorted({int(n) for n in cores if n <= available} | {1})
    skipped = tuple(sorted({int(n) for n in cores if n > available}))
    if frames is None:
        iface = catalog.interface(spec.interface)
        knob = iface.knob("frames_per_scene") if iface is not None else None
        frames = int(knob.default) if knob is not None else DEFAULT_FRAMES_PER_CALL
    if frames < 1:
        raise MurakkabError("frames per call must be at least 1")

    with tempfile.TemporaryDirectory(prefix="murakkab-profile-") as tmp:
        folder = Path(workdir) if workdir is not None else Path(tmp)
        measurements, workload = _measure_frames(durations, measured, repeats, frames, width, height, fps,
                                                 folder, progress)
    fits, s = fit_profile(measurements)
    host = platform.node() or "this-machine"
    date = datetime.now(timezone.utc).date().isoformat()
    serial = s if s is not None else DEFAULT_SERIAL_FRACTION
    serial_note = (f"serial fraction {s:.4f} fitted from time(n) vs time(1) at n = "
                   f"{', '.join(str(n) for n in measured if n > 1)}" if s is not None else
                   f"serial fraction {DEFAULT_SERIAL_FRACTION} default (only one core could be measured)")
    rows = []
    for fit in fits:
        source = (f"measured:{host}, {date}; {fit.runs} runs; fit residual {fit.residual_pct:.1f}%; {workload}; "
                  f"{serial_note}; utilisation {CPU_DECODE_UTILISATION:g} default (CPU-bound decode keeps its "
                  f"cores busy)")
        # The clips' frame rate: a decoder's time per media second scales with it (media_fps).
        rows.append((agent, PROFILE_HARDWARE, fit.cores, round(fit.setup_s, 6), round(fit.per_item_s, 6),
                     round(fit.per_media_s, 6), CPU_DECODE_UTILISATION, source, round(serial, 6), float(fps)))
    with catalog.transaction():
        if not catalog.execute("SELECT 1 FROM agents WHERE name = ?", [agent]):
            catalog.execute(
                "INSERT INTO agents (name, interface, kind, model, description, quality, quality_source, baseline) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, false)",
                [agent, spec.interface, spec.kind, spec.model, spec.description, spec.quality, spec.quality_source])
        for row in rows:
            catalog.execute("DELETE FROM profiles WHERE agent = ? AND hardware = ? AND units = ?",
                            [agent, PROFILE_HARDWARE, row[2]])
            catalog.execute(
                "INSERT INTO profiles (agent, hardware, units, setup_s, per_item_s, per_media_s, utilisation, "
                "source, serial_fraction, media_fps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row))
    catalog.reload()
    written = tuple(p for p in catalog.profiles(agent) if p.hardware == PROFILE_HARDWARE and p.units in measured)
    return ProfileReport(agent, PROFILE_HARDWARE, host, date, workload, tuple(measurements), fits, s, written,
                         skipped)


def format_report(report: ProfileReport) -> str:
    """The report as the CLI prints it: timings, fits and rows written."""
    lines = [f"profiled {report.agent} on {report.hardware} ({report.host}, {report.date})",
             f"  workload: {report.workload}"]
    setups: dict[int, list[float]] = {}
    calls: dict[tuple[int, float], list[float]] = {}
    for m in report.measurements:
        if m.phase == "setup":
            setups.setdefault(m.cores, []).append(m.seconds)
        else:
            calls.setdefault((m.cores, m.duration_s), []).append(m.seconds)
    lines.append("")
    lines.append(f"  {'cores':>5}  {'media s':>8}  {'runs':>4}  {'median s':>9}  {'min s':>9}  {'max s':>9}  "
                 f"{'model s':>9}")
    fits = {f.cores: f for f in report.fits}
    for n in sorted(setups):
        v = setups[n]
        lines.append(f"  {n:>5}  {'(setup)':>8}  {len(v):>4}  {float(np.median(v)):>9.4f}  {min(v):>9.4f}  "
                     f"{max(v):>9.4f}  {fits[n].setup_s if n in fits else math.nan:>9.4f}")
    for (n, d), v in sorted(calls.items()):
        model = fits[n].call_seconds(d) if n in fits else math.nan
        lines.append(f"  {n:>5}  {d:>8g}  {len(v):>4}  {float(np.median(v)):>9.4f}  {min(v):>9.4f}  {max(v):>9.4f}  "
                     f"{model:>9.4f}")
    base = fits.get(1)
    longest = max((m.duration_s for m in report.measurements if m.phase == "call"), default=0.0)
    lines.append("")
    lines.append(f"  {'cores':>5}  {'setup_s':>9}  {'per_item_s':>10}  {'per_media_s':>11}  {'residual':>8}  "
                 f"{f'speedup@{longest:g}s':>10}")
    for f in report.fits:
        speedup = base.call_seconds(longest) / f.call_seconds(longest) if base and f.call_seconds(longest) > 0 else math.nan
        lines.append(f"  {f.cores:>5}  {f.setup_s:>9.4f}  {f.per_item_s:>10.5f}  {f.per_media_s:>11.5f}  "
                     f"{f.residual_pct:>7.1f}%  {speedup:>10.2f}")
    if report.serial_fraction is not None:
        lines.append(f"  serial fraction s = {report.serial_fraction:.4f}  "
                     f"(time(n) = time(1) x (s + (1 - s)/n))")
    else:
        lines.append(f"  serial fraction not measured (one core); stored the default {DEFAULT_SERIAL_FRACTION}")
    if report.skipped_cores:
        lines.append(f"  skipped core counts above this machine's {os.cpu_count() or 1}: "
                     f"{', '.join(str(n) for n in report.skipped_cores)}")
    lines.append(f"  wrote {len(report.rows)} profile row{'s' if len(report.rows) != 1 else ''} "
                 f"({report.agent} on {report.hardware}, units {', '.join(str(p.units) for p in report.rows)})")
    return "\n".join(lines)
