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
