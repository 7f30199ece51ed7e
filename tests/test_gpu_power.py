"""bench/gpu_power.py without a GPU: the line it fits to measured phases, and that it says
it is skipped (exit 0) where there is no NVML or driver, as on CI."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("gpu_power", ROOT / "bench" / "gpu_power.py")
assert spec and spec.loader
gpu_power = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_power)


def _phase(share: float, watts: float) -> dict[str, float]:
    return {"busy_share": share, "mean_w": watts}


def test_the_fit_of_a_linear_gpu_is_exact_and_of_a_concave_one_is_not() -> None:
    linear = {"idle, no process": _phase(0.0, 50.0), "held, idle": _phase(0.0, 100.0),
              **{f"bf16 matmul, duty {d:.2f}": _phase(d, 100.0 + 600.0 * d) for d in (0.25, 0.5, 0.75, 1.0)}}
    f = gpu_power.fit(linear)
    assert (f["intercept_w"], f["slope_w_per_busy_share"]) == (pytest.approx(100.0), pytest.approx(600.0))
    assert f["r2"] == pytest.approx(1.0) and f["max_abs_residual_w"] == pytest.approx(0.0, abs=1e-9)
    assert f["held_idle_over_no_process"] == pytest.approx(2.0)
    # The H200's first run (bench/RESULTS.md): concave, the line 19-23% low in the middle.
    measured = {"idle, no process": _phase(0.0, 79.0), "held, idle": _phase(0.0, 123.8),
                "bf16 matmul, duty 0.25": _phase(0.25, 325.1), "bf16 matmul, duty 0.50": _phase(0.5, 486.2),
                "bf16 matmul, duty 0.75": _phase(0.75, 621.2), "bf16 matmul, duty 1.00": _phase(1.0, 690.0)}
    f = gpu_power.fit(measured)
    assert f["r2"] < 0.99 and f["max_abs_residual_w"] > 30.0
    assert f["held_idle_over_no_process"] == pytest.approx(123.8 / 79.0)


def test_without_nvml_the_bench_says_skipped_and_exits_0() -> None:
    done = subprocess.run([sys.executable, "-c", "import sys; sys.modules['pynvml'] = None; "
                           "sys.argv = ['gpu_power.py']; exec(open('bench/gpu_power.py').read())"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("gpu_power: skipped: nvidia-ml-py is not installed")
