"""A GPU's power against its load, measured: the check behind the fleet's energy model.

Every energy figure murakkab prints for a GPU (EXPLAIN of a job, a fleet's kWh per hour,
the serving simulator) uses one model: a held GPU draws its idle power, plus (active -
idle) x the share of the time it is busy (``compiler/fleet/workload.py``,
``compiler/physical/cost.py``). The catalog's idle power is what ``nvidia-smi`` shows for
a GPU with no process on it. This script measures, on whatever NVIDIA GPU it finds:

1. idle, no process: NVML only, before any CUDA context exists;
2. held, idle: a CUDA context with most of the memory allocated (what a served model
   that gets no requests looks like), and nothing running;
3. duty cycles: bf16 matrix products of 8192^3 for a share d of every 200 ms period and
   nothing for the rest, d = 0.25, 0.5, 0.75, 1.0 (compute-bound, as prefill);
4. memory-bound: device-to-device copies back to back;
5. decode-shaped: the feed-forward products of a 3.8-billion-parameter stack (32 layers
   of 4096 x 14336 and back, bf16) applied to a batch of b tokens step after step, b = 1,
   16, 64, 256: tokens/s, mean power and joules per token as the batch grows (no
   attention, no framework: the weight streaming and arithmetic of LLM decoding).

Power is the NVML energy counter's difference over each phase's window (after 3 s to
settle) divided by its length, so it is the true mean, not a sampled one. It reports a
least-squares line power = a + b x d over the held-idle point and the duty cycles, its
R^2 and largest residual (how linear the model's assumption is), and the ratios of the
held-idle and line-intercept powers to the no-process idle.

Needs torch with CUDA and nvidia-ml-py (neither is a murakkab dependency); on a machine
without them it says so and exits 0. Run:  python bench/gpu_power.py [--phase-s 15] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np


def _energy_j(nvml: Any, handle: Any) -> float:
    return nvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000.0  # mJ -> J


def _measure(nvml: Any, handle: Any, seconds: float, settle_s: float, work: Any = None) -> dict[str, float]:
    """Mean power over ``seconds`` after ``settle_s``, running ``work()`` (which returns the
    busy seconds it spent) in a loop all the while."""
    busy, calls = 0.0, 0
    t_end_settle = time.perf_counter() + settle_s
    while time.perf_counter() < t_end_settle:
        if work is None:
            time.sleep(0.05)
        else:
            work()
    e0, t0 = _energy_j(nvml, handle), time.perf_counter()
    samples = []
    while time.perf_counter() - t0 < seconds:
        if work is None:
            time.sleep(0.05)
        else:
            busy += work()
            calls += 1
        samples.append(nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0)
    e1, t1 = _energy_j(nvml, handle), time.perf_counter()
    return {"mean_w": (e1 - e0) / (t1 - t0), "busy_share": busy / (t1 - t0), "seconds": t1 - t0, "calls": calls,
            "sampled_min_w": min(samples), "sampled_max_w": max(samples)}


def _decode(nvml: Any, handle: Any, torch: Any, dev: Any, phase_s: float, settle_s: float) -> list[dict[str, float]]:
    """Decode-shaped work at several batch sizes: tokens/s, mean W, J/token."""
    hidden, inner, layers = 4096, 14336, 32
    weights = [(torch.randn(hidden, inner, dtype=torch.bfloat16, device=dev) * 0.01,
                torch.randn(inner, hidden, dtype=torch.bfloat16, device=dev) * 0.01) for _ in range(layers)]
    rows = []
    for batch in (1, 16, 64, 256):
        x = torch.randn(batch, hidden, dtype=torch.bfloat16, device=dev)

        def steps(x: Any = x) -> float:  # four decode steps of the batch
            start = time.perf_counter()
            for _ in range(4):
                y = x
                for up, down in weights:
                    y = (y @ up) @ down
            torch.cuda.synchronize()
            return time.perf_counter() - start

        m = _measure(nvml, handle, phase_s, settle_s, steps)
        tokens_per_s = batch * 4 * m["calls"] / m["seconds"]
        rows.append({"batch": batch, "tokens_per_s": tokens_per_s, "mean_w": m["mean_w"],
                     "joules_per_token": m["mean_w"] / tokens_per_s, "params_b": 2 * hidden * inner * layers / 1e9})
    return rows


def run(phase_s: float, settle_s: float) -> dict[str, Any]:
    try:
        import pynvml as nvml  # nvidia-ml-py
    except ImportError:
        return {"skipped": "nvidia-ml-py is not installed (pip install nvidia-ml-py)"}
    try:
        nvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - no driver: nothing to measure here
        return {"skipped": f"no NVIDIA driver: {exc}"}
    handle = nvml.nvmlDeviceGetHandleByIndex(0)
    name = nvml.nvmlDeviceGetName(handle)
    out: dict[str, Any] = {"gpu": name if isinstance(name, str) else name.decode(),
                           "power_limit_w": nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0,
                           "driver": str(nvml.nvmlSystemGetDriverVersion()), "phase_s": phase_s, "phases": {}}
    out["phases"]["idle, no process"] = _measure(nvml, handle, phase_s, settle_s)

    import torch

    dev = torch.device("cuda:0")
    free, total = torch.cuda.mem_get_info(dev)
    held = torch.empty(int(free * 0.8) // 2, dtype=torch.bfloat16, device=dev)  # weights and KV cache stand-in
    held.zero_()
    torch.cuda.synchronize()
    out["held_gib"] = held.numel() * 2 / 2**30
    out["phases"]["held, idle"] = _measure(nvml, handle, phase_s, settle_s)

    n = 8192
    a = torch.randn(n, n, dtype=torch.bfloat16, device=dev)
    b = torch.randn(n, n, dtype=torch.bfloat16, device=dev)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(10):
        a @ b
    torch.cuda.synchronize()
    per_gemm = (time.perf_counter() - t0) / 10
    out["gemm_tflops"] = 2 * n**3 / per_gemm / 1e12
    period = 0.2
    for duty in (0.25, 0.5, 0.75, 1.0):
        count = max(1, round(duty * period / per_gemm))

        def burst(count: int = count, duty: float = duty) -> float:
            start = time.perf_counter()
            for _ in range(count):
                a @ b
            torch.cuda.synchronize()
            spent = time.perf_counter() - start
            if duty < 1.0:
                time.sleep(max(0.0, spent / duty - spent))
            return spent

        out["phases"][f"bf16 matmul, duty {duty:.2f}"] = _measure(nvml, handle, phase_s, settle_s, burst)

    src = held[: min(held.numel() // 2, 2**31)]
    dst = held[src.numel(): 2 * src.numel()]

    def copy() -> float:
        start = time.perf_counter()
        for _ in range(4):
            dst.copy_(src)
        torch.cuda.synchronize()
        return time.perf_counter() - start

    out["phases"]["memory copies, back to back"] = _measure(nvml, handle, phase_s, settle_s, copy)
    out["decode"] = _decode(nvml, handle, torch, dev, phase_s, settle_s)
    nvml.nvmlShutdown()

    out["fit"] = fit(out["phases"])
    return out


def fit(phases: dict[str, dict[str, float]]) -> dict[str, float]:
    """The least-squares line of power over busy share through the held-idle point and the
    duty cycles, how far the points stray from it, and the idle ratios."""
    idle0 = phases["idle, no process"]["mean_w"]
    pts = [(0.0, phases["held, idle"]["mean_w"])] + [
        (p["busy_share"], p["mean_w"]) for k, p in phases.items() if k.startswith("bf16")]
    xs, ys = [x for x, _ in pts], [y for _, y in pts]
    slope, intercept = (float(v) for v in np.polyfit(xs, ys, 1))
    resid = np.asarray(ys) - (intercept + slope * np.asarray(xs))
    ss_tot = float(np.sum((np.asarray(ys) - np.mean(ys)) ** 2))
    return {"intercept_w": intercept, "slope_w_per_busy_share": slope,
            "r2": 1.0 - float(resid @ resid) / ss_tot if ss_tot else 1.0,
            "max_abs_residual_w": float(np.max(np.abs(resid))),
            "held_idle_over_no_process": phases["held, idle"]["mean_w"] / idle0,
            "intercept_over_no_process": intercept / idle0}


def text(r: dict[str, Any]) -> str:
    if "skipped" in r:
        return f"gpu_power: skipped: {r['skipped']}\n"
    lines = [f"{r['gpu']} (power limit {r['power_limit_w']:.0f} W, driver {r['driver']}); "
             f"{r['held_gib']:.0f} GiB held; bf16 matmul {r['gemm_tflops']:.0f} TFLOP/s; {r['phase_s']:g} s per phase",
             f"  {'phase':34} {'busy share':>10} {'mean W':>8} {'sampled W':>14}"]
    for k, p in r["phases"].items():
        lines.append(f"  {k:34} {p['busy_share']:>10.2f} {p['mean_w']:>8.1f} "
                     f"{p['sampled_min_w']:>6.0f}-{p['sampled_max_w']:<6.0f}")
    f = r["fit"]
    lines.append(f"  line over held idle and duty cycles: {f['intercept_w']:.1f} W + {f['slope_w_per_busy_share']:.1f} W x "
                 f"busy share (R^2 {f['r2']:.4f}, largest residual {f['max_abs_residual_w']:.1f} W)")
    lines.append(f"  held idle / no-process idle: {f['held_idle_over_no_process']:.2f}x; "
                 f"line intercept / no-process idle: {f['intercept_over_no_process']:.2f}x")
    if r.get("decode"):
        lines.append(f"  decode-shaped work ({r['decode'][0]['params_b']:.1f} B parameters of feed-forward, bf16):")
        lines.append(f"    {'batch':>5} {'tokens/s':>10} {'mean W':>8} {'J/token':>9} {'W / limit':>9}")
        for d in r["decode"]:
            lines.append(f"    {d['batch']:>5} {d['tokens_per_s']:>10,.0f} {d['mean_w']:>8.1f} {d['joules_per_token']:>9.4f} "
                         f"{d['mean_w'] / r['power_limit_w']:>9.2f}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phase-s", type=float, default=15.0, help="seconds measured per phase (after settling)")
    parser.add_argument("--settle-s", type=float, default=3.0, help="seconds let pass before each phase is measured")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args(argv)
    result = run(args.phase_s, args.settle_s)
    sys.stdout.write(json.dumps(result, indent=2) + "\n" if args.json else text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
