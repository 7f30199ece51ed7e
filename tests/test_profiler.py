"""The opencv-frames agent (runtime/agents/frames.py) and `murakkab catalog profile`
(catalog/profiler.py): real decoding of tiny synthetic videos, the least-squares fits on
hand-made timings, and measured profile rows the planner plans with."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import numpy as np
import pytest

from murakkab import api
from murakkab.catalog.catalog import LOCAL_CLUSTER, Catalog
from murakkab.catalog.profiler import (
    CPU_DECODE_UTILISATION, Measurement, fit_latency, fit_profile, fit_serial_fraction, format_report,
    profile_agent,
)
from murakkab.grammar.diagnostics import MurakkabError
from murakkab.runtime.agents import LOCAL_AGENTS, load
from murakkab.runtime.agents.frames import (
    FrameDecoder, extract_frames, extract_frames_parallel, make_test_video, sample_indices, split_range,
)

approx = pytest.approx
W, H, FPS = 160, 120, 15.0


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> str:
    """3 s at 15 fps (45 frames), 160x120, cuts at 1 s and 2 s."""
    return make_test_video(tmp_path_factory.mktemp("frames") / "clip.mp4", 3.0, FPS, W, H, cuts=(1.0, 2.0))


# -- the agent ----------------------------------------------------------------------------
def test_extract_frames_returns_count_frames_of_the_video_shape(video: str) -> None:
    frames = extract_frames(video, 0.5, 2.5, 4)
    assert len(frames) == 4
    assert all(f.shape == (H, W, 3) and f.dtype == np.uint8 for f in frames)
    # More frames than the segment holds (0.2 s at 15 fps = frames 0, 1, 2): repeats.
    assert len(extract_frames(video, 0.0, 0.2, 5)) == 5


def test_sampling_is_bin_centres_and_split_is_contiguous() -> None:
    # 30 frames [15, 45) in 3 bins of 10: centres 20, 30, 40.
    assert sample_indices(15, 45, 3) == [20, 30, 40]
    assert sample_indices(0, 3, 5) == [0, 0, 1, 2, 2]
    assert split_range(10, 20, 3) == [(10, 13), (13, 17), (17, 20)]
    assert split_range(0, 2, 4) == [(0, 1), (1, 2)]


def test_test_video_is_deterministic_with_visible_cuts(video: str, tmp_path: Path) -> None:
    again = make_test_video(tmp_path / "again.mp4", 3.0, FPS, W, H, cuts=(1.0, 2.0))
    assert all(np.array_equal(a, b) for a, b in zip(extract_frames(video, 0, 3, 6), extract_frames(again, 0, 3, 6)))

    def frame(i: int) -> np.ndarray:
        return extract_frames(video, i / FPS, (i + 1) / FPS, 1)[0].astype(np.float64)

    within = np.abs(frame(13) - frame(14)).mean()  # two frames of scene 0
    across = np.abs(frame(14) - frame(15)).mean()  # the cut at 1 s = frame 15
    assert across > 40 and across > 3 * within


def test_seeking_gives_the_frames_sequential_decoding_gives(video: str) -> None:
    seek = extract_frames(video, 1.3, 2.9, 5)
    scan = extract_frames(video, 1.3, 2.9, 5, seek=False)
    assert all(np.array_equal(a, b) for a, b in zip(seek, scan))


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_multicore_decode_returns_the_single_core_frames(video: str) -> None:
    one = extract_frames(video, 0.3, 2.9, 6)
    two = extract_frames_parallel(video, 0.3, 2.9, 6, cores=2)
    assert len(two) == 6
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    with FrameDecoder(2, video) as decoder:  # one instance, several calls, repeated frames
        assert all(np.array_equal(a, b) for a, b in zip(decoder.extract(video, 0.0, 0.2, 5),
                                                          extract_frames(video, 0.0, 0.2, 5)))
        assert len(decoder.extract(video, 0.0, 3.0, 3)) == 3


def test_local_agent_registry() -> None:
    assert load("opencv-frames") is extract_frames
    assert set(LOCAL_AGENTS) == {"opencv-frames"}


# -- the fits on hand-made timings -----------------------------------------------------------
def _model_timings(setup: float, per_item: float, per_media: float, s: float) -> list[Measurement]:
    """Noise-free timings: call(n, d) = (per_item + per_media d) (s + (1 - s)/n)."""
    out = []
    for n in (1, 2, 4):
        out += [Measurement(n, 0.0, setup * n, "setup")] * 2
        for d in (2.0, 4.0, 8.0):
            out.append(Measurement(n, d, (per_item + per_media * d) * (s + (1 - s) / n)))
    return out


def test_fit_recovers_exact_coefficients() -> None:
    timings = _model_timings(setup=0.5, per_item=0.05, per_media=0.1, s=0.2)
    fits, s = fit_profile(timings)
    assert [f.cores for f in fits] == [1, 2, 4]
    one, two, four = fits
    assert (one.setup_s, one.per_item_s, one.per_media_s) == (approx(0.5), approx(0.05), approx(0.1))
    assert one.residual_pct == approx(0.0, abs=1e-9) and one.runs == 3
    # On n cores every call time is scaled by s + (1 - s)/n: 0.6 at 2 cores, 0.4 at 4.
    assert (two.setup_s, two.per_item_s, two.per_media_s) == (approx(1.0), approx(0.03), approx(0.06))
    assert (four.per_item_s, four.per_media_s) == (approx(0.02), approx(0.04))
    assert s == approx(0.2)


def test_serial_fraction_is_clipped_and_needs_one_core() -> None:
    # 2 cores slower than 1: no Amdahl fraction explains it; the fit says fully serial.
    slower = [Measurement(1, 2.0, 1.0), Measurement(2, 2.0, 1.5)]
    assert fit_serial_fraction(slower) == 1.0
    # Better than linear (a super-linear cache effect): fully parallel.
    assert fit_serial_fraction([Measurement(1, 2.0, 1.0), Measurement(2, 2.0, 0.4)]) == 0.0
    assert fit_serial_fraction([Measurement(2, 2.0, 1.0), Measurement(4, 2.0, 0.6)]) is None
    with pytest.raises(ValueError):
        fit_latency([Measurement(1, 2.0, 1.0), Measurement(1, 2.0, 1.1)], 1)  # one duration only


# -- the command --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def profiled() -> tuple[Catalog, object]:
    catalog = Catalog()
    report = profile_agent(catalog, "opencv-frames", durations=(1, 3, 6), cores=(1, 2, 4096), repeats=1,
                           width=320, height=240)
    return catalog, report


def test_profile_writes_measured_rows_on_local_core(profiled: tuple[Catalog, object]) -> None:
    catalog, report = profiled
    expected = [1, 2] if (os.cpu_count() or 1) >= 2 else [1]
    rows = [p for p in catalog.profiles("opencv-frames") if p.hardware == "local-core"]
    assert [p.units for p in rows] == expected
    assert report.rows == tuple(rows)
    assert report.skipped_cores == (4096,)
    for p in rows:
        assert p.source.startswith("measured:")
        assert "runs; fit residual" in p.source
        assert p.per_media_s >= 0 and p.per_item_s >= 0 and p.setup_s >= 0
        assert 0.0 <= p.serial_fraction <= 1.0
        assert p.utilisation == CPU_DECODE_UTILISATION
    assert rows[0].per_media_s > 0  # one core, in process: decoding more video takes longer
    calls = [m for m in report.measurements if m.phase == "call"]
    assert len(calls) == 3 * len(expected) and all(m.seconds > 0 for m in calls)
    agent = catalog.agent("opencv-frames")
    assert agent is not None and agent.interface == "frame_extraction" and agent.kind == "tool"
    assert agent.quality == 1.0 and agent.quality_source.startswith("default:")
    text = format_report(report)
    assert "serial fraction" in text and "wrote" in text


def test_planner_plans_with_the_measured_profile(profiled: tuple[Catalog, object]) -> None:
    catalog, _ = profiled
    local = catalog.cluster(LOCAL_CLUSTER)
    assert local is not None and "local-core" in local.hardware_names()
    plan = api.optimize("""
        CREATE WORKFLOW fx (clip VIDEO) AS (
          frames := frame_extraction (clip) USING (agent = 'opencv-frames')
        ) RETURNS frames;
        RUN fx (clip => 'x.mp4' ASSUMING (duration = 30 s, fps = 30)) MINIMIZE latency ON CLUSTER 'local';
    """, catalog=catalog)[0]
    (task,) = plan.tasks
    assert task.candidate.agent == "opencv-frames" and task.candidate.hardware == "local-core"
    assert task.candidate.source.startswith("measured:")
    profile = next(p for p in catalog.profiles("opencv-frames") if p.units == task.candidate.units)
    assert task.candidate.call_s == approx(profile.call_seconds(30.0))


def test_profile_replaces_earlier_rows_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "catalog.duckdb"
    catalog = Catalog(path)
    for _ in range(2):
        profile_agent(catalog, "opencv-frames", durations=(0.5, 1.0), cores=(1,), repeats=1, width=160, height=120)
    assert len([p for p in catalog.profiles("opencv-frames") if p.hardware == "local-core"]) == 1
    del catalog
    gc.collect()
    reopened = Catalog(path)
    assert reopened.profiles("opencv-frames")[0].source.startswith("measured:")
    del reopened
    gc.collect()
    read_only = Catalog(path, read_only=True)
    with pytest.raises(MurakkabError, match="read-only"):
        profile_agent(read_only, "opencv-frames", durations=(0.5, 1.0), cores=(1,), repeats=1)


def test_unknown_and_unprofilable_agents_are_refused() -> None:
    catalog = Catalog()
    with pytest.raises(MurakkabError, match="unknown agent 'opencv-frame'") as err:
        profile_agent(catalog, "opencv-frame")
    assert "opencv-frames" in (err.value.hint or "")
    with pytest.raises(MurakkabError, match="no local implementation") as err:
        profile_agent(catalog, "nvdec-decode")
    assert err.value.hint == "profilable agents: opencv-frames"
    with pytest.raises(MurakkabError, match="two different"):
        profile_agent(catalog, "opencv-frames", durations=(2, 2))
