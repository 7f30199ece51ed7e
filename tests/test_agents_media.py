"""Media agents on the committed samples (samples/*.mp4, ground truth in samples.json):
scene detection, frame extraction, audio extraction and splitting."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from murakkab.runtime.agents import AgentError, Clip, Frame, MediaError, get
from murakkab.runtime.agents.frames import make_test_video
from murakkab.runtime.agents.media import decode_audio

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
MANIFEST: dict[str, Any] = json.loads((SAMPLES / "samples.json").read_text())["videos"]
TOLERANCE_S = 0.5


def whole(name: str) -> Clip:
    return Clip.whole(SAMPLES / MANIFEST[name]["file"])


@pytest.mark.parametrize("detector", ["opencv-content-scenes", "opencv-histogram-scenes"])
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_scene_detection_finds_the_cuts(detector: str, name: str) -> None:
    video = whole(name)
    scenes = get(detector)(video)
    cuts = [s.start_s for s in scenes[1:]]
    assert len(cuts) == len(MANIFEST[name]["cuts_s"])
    assert cuts == pytest.approx(MANIFEST[name]["cuts_s"], abs=TOLERANCE_S)
    # The scenes partition the clip: consecutive ranges of the same file.
    assert scenes[0].start_s == video.start_s and scenes[-1].end_s == video.end_s
    assert all(a.end_s == b.start_s and a.path == video.path for a, b in zip(scenes, scenes[1:]))


def test_scene_detection_on_part_of_a_video_and_its_knobs() -> None:
    video = whole("city_walk")
    part = Clip(video.path, 4.0, 10.0)  # holds the cuts at 5.5 and 8.5
    scenes = get("opencv-content-scenes")(part)
    assert [s.start_s for s in scenes] == pytest.approx([4.0, 5.5, 8.5], abs=TOLERANCE_S)
    assert scenes[-1].end_s == 10.0
    # A scene shorter than min_scene_s is not cut off: one scene for the whole part.
    assert len(get("opencv-content-scenes")(part, min_scene_s=7.0)) == 1
    # The most sensitive setting of the interface's knob still sees no cut inside a scene.
    assert len(get("opencv-histogram-scenes")(Clip(video.path, 0.0, 2.4), threshold=15)) == 1
    with pytest.raises(AgentError, match="threshold must be a number"):
        get("opencv-content-scenes")(part, threshold=0)
    with pytest.raises(MediaError):
        get("opencv-content-scenes")(Clip(str(SAMPLES / "no_such.mp4"), 0, 1))


def test_frames_are_evenly_spaced_in_the_scene() -> None:
    meta = MANIFEST["city_walk"]
    scene = Clip(whole("city_walk").path, meta["cuts_s"][0], meta["cuts_s"][1])
    frames = get("opencv-frames")(scene, frames_per_scene=5)
    assert len(frames) == 5 and all(isinstance(f, Frame) for f in frames)
    assert all(f.image.shape == (meta["height"], meta["width"], 3) and f.image.dtype == np.uint8 for f in frames)
    times = [f.time_s for f in frames]
    assert times == sorted(times) and scene.start_s <= times[0] and times[-1] < scene.end_s
    assert np.diff(times) == pytest.approx([scene.duration_s / 5] * 4, abs=1.0 / meta["fps"])
    assert all(f.source == scene for f in frames)
    assert len(get("opencv-frames")(scene, frames_per_scene=1)) == 1
    with pytest.raises(AgentError, match="frames_per_scene"):
        get("opencv-frames")(scene, frames_per_scene=0)


def _read_wav(path: str) -> tuple[int, int, int, np.ndarray]:
    with wave.open(path) as w:
        return (w.getframerate(), w.getnchannels(), w.getsampwidth(),
                np.frombuffer(w.readframes(w.getnframes()), "<i2"))


def test_audio_is_16khz_mono_of_the_video_duration(tmp_path: Path) -> None:
    meta = MANIFEST["city_walk"]
    video = whole("city_walk")
    audio = get("pyav-audio")(video, workdir=str(tmp_path))
    rate, channels, width, samples = _read_wav(audio.path)
    assert (rate, channels, width) == (16_000, 1, 2)
    assert audio.start_s == 0 and audio.duration_s == pytest.approx(meta["duration_s"], abs=0.05)
    assert len(samples) == round(video.duration_s * 16_000)
    # Speech where the manifest says it is, silence in the lead-in before it.
    first = meta["scenes"][0]["speech_s"]
    rms = lambda a, b: float(np.sqrt(np.mean(samples[int(a * 16000): int(b * 16000)].astype(float) ** 2)))  # noqa: E731
    assert rms(*first) > 20 * max(rms(0.0, 0.2), 1.0)
    # The same input again reads the file already written.
    mtime = Path(audio.path).stat().st_mtime_ns
    assert get("pyav-audio")(video, workdir=str(tmp_path)) == audio
    assert Path(audio.path).stat().st_mtime_ns == mtime


def test_audio_of_a_clip_range_and_of_a_silent_video(tmp_path: Path) -> None:
    video = whole("kitchen")
    full = decode_audio(video).astype(float)
    for start in (0.5, 3.0, 5.77):  # a range decodes to (nearly) the samples of that range of the whole
        part = decode_audio(Clip(video.path, start, start + 2.0)).astype(float)
        assert len(part) == 32_000
        at = round(start * 16_000)
        assert np.abs(part - full[at: at + 32_000]).mean() < 0.02 * np.abs(part).mean()
    silent = make_test_video(tmp_path / "silent.mp4", 1.0, 10.0, 64, 48)
    clip = get("pyav-audio")(Clip.whole(silent), workdir=str(tmp_path))
    rate, _, _, samples = _read_wav(clip.path)
    assert rate == 16_000 and len(samples) == round(Clip.whole(silent).duration_s * 16_000) and not samples.any()


def test_split_cuts_ranges_without_writing_media() -> None:
    clip = Clip("talk.wav", 5.0, 75.0)  # the file is never opened
    chunks = get("pyav-split")(clip, split_chunk_s=30)
    assert [(c.start_s, c.end_s) for c in chunks] == [(5.0, 35.0), (35.0, 65.0), (65.0, 75.0)]
    assert [(c.start_s, c.end_s) for c in get("pyav-split")(Clip("a.wav", 0, 10), split_chunk_s=2.5)] == \
        [(0, 2.5), (2.5, 5.0), (5.0, 7.5), (7.5, 10.0)]
    assert get("pyav-split")(Clip("a.wav", 0, 10)) == [Clip("a.wav", 0, 10)]
    with pytest.raises(AgentError, match="split_chunk_s must be a positive number"):
        get("pyav-split")(clip, split_chunk_s=0)
