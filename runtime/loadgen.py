"""A load generator: replays a slice of a request trace against an HTTP endpoint.

The slice: the trace's arrival times (a CSV with one row per request, e.g. the Azure LLM
traces' ``TIMESTAMP``; read by ``compiler/fleet/traces.arrivals``), from its first
request, compressed by ``speedup`` (a request at trace second t is sent at t / speedup),
cut to the first ``requests`` sent within ``seconds`` of wall-clock time. Each request
POSTs the next of the given JSON bodies (in turn) from a pool of ``concurrency`` threads,
so a slow server does not delay the sends; each waits at most ``timeout_s`` for its
answer. The whole replay is thus bounded by ``seconds + timeout_s``.

It reports what the fleet simulator (``runtime/fleet_sim.py``) reports per workflow, so
simulated and real runs can be compared: ``requests``, ``p50_s`` and ``p99_s`` of the
end-to-end latency (measured by the client, answered requests only), ``slo_attainment``
(the share of all requests sent that were answered within their latency SLO: the
``max_latency_s`` the server's answer names, none meaning only the quality SLO, which the
routed configuration meets), and besides: answered and failed counts, the throughput
(answered requests per second of the replay's wall-clock time), the offered rate and the
median seconds of each stage the answers report.

Standard library only (``urllib``, threads), and numpy's percentiles (linear, as the
simulator's).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..compiler.fleet.traces import arrivals

DEFAULT_CONCURRENCY = 8
DEFAULT_TIMEOUT_S = 60.0
MAX_ERROR_EXAMPLES = 3


def trace_slice(path: str | Path, *, column: str = "TIMESTAMP", requests: int, seconds: float,
                speedup: float = 1.0) -> list[float]:
    """Send times (wall-clock seconds from the start) of the first ``requests`` arrivals of
    the trace that fall within ``seconds`` once compressed by ``speedup``. Raises
    ``TraceError`` for a file that is not such a trace."""
    if requests < 1 or seconds <= 0 or speedup <= 0:
        raise ValueError("requests >= 1, seconds > 0 and speedup > 0")
    out = []
    for t in arrivals(Path(path), column)[0]:
        at = t / speedup
        if at >= seconds or len(out) >= requests:
            break
        out.append(at)
    return out


@dataclass
class Sample:
    """One request: when it was sent (s from the start), its latency, its answer or error."""

    sent_s: float
    latency_s: float
    status: int  # HTTP status; 0 when no answer came (refused, timed out)
    answer: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 200


@dataclass
class LoadReport:
    """What a replay measured (see the module docstring for each number)."""

    url: str
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0
    offered_rps: float | None = None  # requests between the first and last send over that time

    def to_dict(self) -> dict[str, Any]:
        ok = [s for s in self.samples if s.ok]
        lat = np.array([s.latency_s for s in ok]) if ok else None
        met = sum(1 for s in ok if (s.answer or {}).get("max_latency_s") is None
                  or s.latency_s <= float((s.answer or {})["max_latency_s"]))
        stages: dict[str, list[float]] = {}
        for s in ok:
            for name, st in ((s.answer or {}).get("stages") or {}).items():
                if isinstance(st, dict) and isinstance(st.get("seconds"), (int, float)):
                    stages.setdefault(name, []).append(float(st["seconds"]))
        errors = [s for s in self.samples if not s.ok]
        return {
            "url": self.url,
            "requests": len(self.samples),
            "ok": len(ok),
            "errors": len(errors),
            "wall_s": self.wall_s,
            "offered_rps": self.offered_rps,
            "throughput_rps": len(ok) / self.wall_s if self.wall_s > 0 else 0.0,
            "p50_s": float(np.percentile(lat, 50)) if lat is not None else None,
            "p99_s": float(np.percentile(lat, 99)) if lat is not None else None,
            "slo_attainment": met / len(self.samples) if self.samples else None,
            "stage_p50_s": {k: float(np.percentile(v, 50)) for k, v in stages.items()},
            "error_examples": [s.error or f"HTTP {s.status}" for s in errors[:MAX_ERROR_EXAMPLES]],
        }

    def text(self) -> str:
        d = self.to_dict()

        def sec(x: float | None) -> str:
            return "-" if x is None else f"{x:.2f} s"

        lines = [f"replayed {d['requests']} request{'s' if d['requests'] != 1 else ''} against {d['url']} "
                 f"in {d['wall_s']:.1f} s" + ("" if d["offered_rps"] is None else f" (offered {d['offered_rps']:.2f} req/s)"),
                 f"  answered {d['ok']}, errors {d['errors']}; throughput {d['throughput_rps']:.2f} req/s",
                 f"  latency p50 {sec(d['p50_s'])}, p99 {sec(d['p99_s'])} (end to end, at the client); "
                 + ("SLO attainment -" if d["slo_attainment"] is None else
                    f"SLO attainment {100 * d['slo_attainment']:.0f}%")]
        if d["stage_p50_s"]:
            lines.append("  stage p50: " + ", ".join(f"{k} {v:.2f} s" for k, v in d["stage_p50_s"].items()))
        for e in d["error_examples"]:
            lines.append(f"  error: {e}")
        return "\n".join(lines) + "\n"


def post(url: str, body: dict[str, Any], timeout_s: float) -> tuple[int, dict[str, Any] | None, str | None]:
    """POST ``body`` as JSON: (status, the JSON answer, an error or None)."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return 0, None, f"no answer: {reason}"
    try:
        answer = json.loads(raw)
    except ValueError:
        return status, None, f"HTTP {status}: the answer is not JSON"
    if not isinstance(answer, dict):
        return status, None, f"HTTP {status}: the answer is not a JSON object"
    if status != 200:
        return status, answer, f"HTTP {status}: {answer.get('error', '')}".rstrip(": ")
    return status, answer, None


def replay(url: str, bodies: Sequence[dict[str, Any]], send_at: Sequence[float], *,
           concurrency: int = DEFAULT_CONCURRENCY, timeout_s: float = DEFAULT_TIMEOUT_S) -> LoadReport:
    """Send ``bodies`` in turn at the times ``send_at`` (s from now) and wait for every
    answer (each at most ``timeout_s``)."""
    if not bodies:
        raise ValueError("no request bodies to send")
    report = LoadReport(url)
    lock = threading.Lock()
    start = time.perf_counter()

    def one(at: float, body: dict[str, Any]) -> None:
        sent = time.perf_counter()
        status, answer, error = post(url, body, timeout_s)
        sample = Sample(sent - start, time.perf_counter() - sent, status, answer, error)
        with lock:
            report.samples.append(sample)

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="murakkab-loadgen") as pool:
        for i, at in enumerate(send_at):
            delay = at - (time.perf_counter() - start)
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, at, bodies[i % len(bodies)])
    report.wall_s = time.perf_counter() - start
    report.samples.sort(key=lambda s: s.sent_s)
    span = send_at[-1] - send_at[0] if len(send_at) > 1 else 0.0
    report.offered_rps = (len(send_at) - 1) / span if span > 0 else None
    return report
