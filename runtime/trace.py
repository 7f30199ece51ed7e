"""Timelines people can look at: Chrome trace / Perfetto JSON and a Gantt chart (SVG or
PNG) from any run's timeline: local, Ray or simulated.

Open the file in chrome://tracing or https://ui.perfetto.dev: one process per machine,
one row per hardware unit lane, one slice per shard (times in microseconds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..grammar.diagnostics import MurakkabError
from .executor import RunResult


def lanes(result: RunResult) -> list[int]:
    """The first of the lanes (one per unit: a GPU, a core) each shard holds: a shard of
    ``units`` units holds that many consecutive lanes, and shards sharing a lane of a
    machine never overlap."""
    out = [0] * len(result.timeline)
    free: dict[tuple[str, str], list[float]] = {}
    order = sorted(range(len(result.timeline)), key=lambda i: (result.timeline[i].start_s, i))
    for i in order:
        r = result.timeline[i]
        ends = free.setdefault((r.machine, r.hardware), [])
        units = max(1, r.units)
        lane = next(k for k in range(len(ends) + 1)
                    if all(e <= r.start_s + 1e-9 for e in ends[k:k + units]))
        ends.extend([0.0] * max(0, lane + units - len(ends)))
        ends[lane:lane + units] = [r.end_s] * units
        out[i] = lane
    return out


def chrome_trace(result: RunResult) -> dict:
    events: list[dict] = []
    pids = {m: i + 1 for i, m in enumerate(sorted({r.machine for r in result.timeline}))}
    for machine, pid in pids.items():
        events.append({"name": "process_name", "ph": "M", "pid": pid, "args": {"name": machine}})
    for r, lane in zip(result.timeline, lanes(result)):
        events.append({
            "name": r.task, "cat": r.agent, "ph": "X", "pid": pids[r.machine], "tid": f"{r.hardware} #{lane}",
            "ts": round(r.start_s * 1e6, 3), "dur": round(max(0.0, r.end_s - r.start_s) * 1e6, 3),
            "args": {"shard": r.index, "agent": r.agent, "units": r.units, "calls": r.calls},
        })
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"job": result.job, "backend": result.backend}}


def write_trace(result: RunResult, path: Path) -> None:
    """The run's Chrome trace at ``path``, with secret values blanked out (the trace holds
    only names and numbers, but names are the user's text)."""
    from .secrets import scrub

    Path(path).write_text(scrub(json.dumps(chrome_trace(result), indent=1)), encoding="utf-8")


@dataclass(frozen=True)
class _Bar:
    x: float
    y: float
    w: float
    h: float
    colour: str
    title: str


@dataclass(frozen=True)
class _Label:
    x: float
    y: float
    text: str
    size: int = 11
    centred: bool = False


@dataclass(frozen=True)
class _Gantt:
    """A Gantt chart as shapes, drawn as SVG or PNG alike."""

    width: int
    height: int
    bars: tuple[_Bar, ...]
    labels: tuple[_Label, ...]


PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")


def _gantt(result: RunResult, width: int = 960, row_h: int = 18) -> _Gantt:
    """One row per unit lane of each machine's hardware, one bar per shard spanning the
    rows of its units, coloured by task, a time axis in seconds and a legend of the tasks."""
    lane_of = lanes(result)
    rows = sorted({(r.machine, r.hardware, lane + u) for r, lane in zip(result.timeline, lane_of)
                   for u in range(max(1, r.units))})
    index = {row: i for i, row in enumerate(rows)}
    tasks = sorted({r.task for r in result.timeline})
    colour = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(tasks)}
    end = max((r.end_s for r in result.timeline), default=1.0) or 1.0
    # Room for the longest row label (about 7 px a character at 11 px).
    left, top = max(170, 16 + 7 * max((len(f"{m} {hw} #{lane}") for m, hw, lane in rows), default=0)), 30
    width = max(width, left + 400)
    scale = (width - left - 20) / end
    height = top + row_h * len(rows) + 30 + 18 * len(tasks)
    labels = [_Label(8, 18, f"{result.job} on {result.backend}: {end:.2f} s", size=13)]
    labels += [_Label(8, top + i * row_h + 13, f"{machine} {hw} #{lane}") for (machine, hw, lane), i in index.items()]
    bars = []
    for r, lane in zip(result.timeline, lane_of):
        y = top + index[(r.machine, r.hardware, lane)] * row_h
        # A shard of several units spans their rows (its lanes are consecutive).
        bars.append(_Bar(left + r.start_s * scale, y + 2, max(1.0, (r.end_s - r.start_s) * scale),
                         row_h * max(1, r.units) - 4, colour[r.task],
                         f"{r.task} #{r.index} ({r.agent}, {r.units} x {r.hardware}): {r.start_s:.2f}-{r.end_s:.2f} s"))
    axis_y = top + row_h * len(rows) + 12
    labels += [_Label(left + end * k / 5 * scale, axis_y, f"{end * k / 5:.1f} s", centred=True) for k in range(6)]
    for i, t in enumerate(tasks):
        y = axis_y + 18 * (i + 1)
        bars.append(_Bar(8, y - 10, 12, 12, colour[t], ""))  # the legend's swatch
        labels.append(_Label(26, y, t))
    return _Gantt(width, height, tuple(bars), tuple(labels))


def gantt_svg(result: RunResult) -> str:
    from xml.sax.saxutils import escape

    g = _gantt(result)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{g.width}" height="{g.height}" '
           f'font-family="sans-serif" font-size="11">']
    for b in g.bars:
        title = f"<title>{escape(b.title)}</title>" if b.title else ""
        out.append(f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" fill="{b.colour}">'
                   f'{title}</rect>')
    for t in g.labels:
        anchor = ' text-anchor="middle"' if t.centred else ""
        size = f' font-size="{t.size}"' if t.size != 11 else ""
        out.append(f'<text x="{t.x:.1f}" y="{t.y:.1f}"{anchor}{size}>{escape(t.text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def gantt_png(result: RunResult) -> bytes:
    """The same chart as a PNG, drawn with OpenCV (already a dependency for the agents)."""
    import cv2
    import numpy as np

    g = _gantt(result)
    image = np.full((g.height, g.width, 3), 255, dtype=np.uint8)
    for b in g.bars:
        bgr = tuple(int(b.colour[i:i + 2], 16) for i in (5, 3, 1))
        cv2.rectangle(image, (round(b.x), round(b.y)), (round(b.x + b.w), round(b.y + b.h)), bgr, thickness=-1)
    for t in g.labels:
        scale = t.size / 30
        (w, _), _ = cv2.getTextSize(t.text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        x = t.x - w / 2 if t.centred else t.x
        cv2.putText(image, t.text, (round(x), round(t.y)), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise MurakkabError("could not encode the Gantt chart as PNG")
    return data.tobytes()


def write_gantt(result: RunResult, path: Path) -> None:
    """The Gantt chart as SVG or PNG, by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        path.write_bytes(gantt_png(result))
    elif suffix == ".svg":
        path.write_text(gantt_svg(result), encoding="utf-8")
    else:
        raise MurakkabError(f"cannot draw a Gantt chart as '{path.name}'", hint="name the file .svg or .png")
