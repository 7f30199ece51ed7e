"""Timelines people can look at: Chrome trace / Perfetto JSON from any run's timeline.

Open the file in chrome://tracing or https://ui.perfetto.dev: one process per machine,
one row per hardware unit lane, one slice per shard (times in microseconds).
"""

from __future__ import annotations

import json
from pathlib import Path

from .executor import RunResult


def lanes(result: RunResult) -> list[int]:
    """A lane per shard such that shards on one lane of a machine never overlap."""
    out = [0] * len(result.timeline)
    free: dict[tuple[str, str], list[float]] = {}
    order = sorted(range(len(result.timeline)), key=lambda i: (result.timeline[i].start_s, i))
    for i in order:
        r = result.timeline[i]
        ends = free.setdefault((r.machine, r.hardware), [])
        lane = next((k for k, end in enumerate(ends) if end <= r.start_s + 1e-9), len(ends))
        if lane == len(ends):
            ends.append(r.end_s)
        else:
            ends[lane] = r.end_s
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
    Path(path).write_text(json.dumps(chrome_trace(result), indent=1), encoding="utf-8")


def gantt_svg(result: RunResult, width: int = 960, row_h: int = 18) -> str:
    """The timeline as a Gantt chart: one row per unit lane of each machine's hardware,
    one bar per shard, coloured by task, with a time axis in seconds."""
    from xml.sax.saxutils import escape

    lane_of = lanes(result)
    rows = sorted({(r.machine, r.hardware, lane) for r, lane in zip(result.timeline, lane_of)})
    index = {row: i for i, row in enumerate(rows)}
    tasks = sorted({r.task for r in result.timeline})
    palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
    colour = {t: palette[i % len(palette)] for i, t in enumerate(tasks)}
    end = max((r.end_s for r in result.timeline), default=1.0) or 1.0
    left, top = 170, 30
    scale = (width - left - 20) / end
    height = top + row_h * len(rows) + 30 + 18 * len(tasks)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="11">',
           f'<text x="8" y="18" font-size="13">{escape(result.job)} on {escape(result.backend)}: '
           f'{end:.2f} s</text>']
    for (machine, hw, lane), i in index.items():
        y = top + i * row_h
        out.append(f'<text x="8" y="{y + 13}">{escape(f"{machine} {hw} #{lane}")}</text>')
    for r, lane in zip(result.timeline, lane_of):
        y = top + index[(r.machine, r.hardware, lane)] * row_h
        x, w = left + r.start_s * scale, max(1.0, (r.end_s - r.start_s) * scale)
        out.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 4}" fill="{colour[r.task]}">'
                   f'<title>{escape(f"{r.task} #{r.index} ({r.agent}): {r.start_s:.2f}-{r.end_s:.2f} s")}</title>'
                   f'</rect>')
    axis_y = top + row_h * len(rows) + 12
    for k in range(6):
        t = end * k / 5
        out.append(f'<text x="{left + t * scale:.1f}" y="{axis_y}" text-anchor="middle">{t:.1f} s</text>')
    for i, t in enumerate(tasks):
        y = axis_y + 18 * (i + 1)
        out.append(f'<rect x="8" y="{y - 10}" width="12" height="12" fill="{colour[t]}"/>'
                   f'<text x="26" y="{y}">{escape(t)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_gantt(result: RunResult, path: Path) -> None:
    Path(path).write_text(gantt_svg(result), encoding="utf-8")
