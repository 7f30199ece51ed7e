"""Media agents: frame extraction, audio extraction and splitting, on this machine's CPU.

    opencv-frames  frame_extraction  Clip -> list[Frame]   frames_per_scene evenly spaced frames
    pyav-audio     audio_extraction  Clip -> Clip          16 kHz mono WAV of the clip's audio
    pyav-split     media_split       Clip -> list[Clip]    consecutive ranges, nothing re-encoded

``opencv-frames`` is :func:`murakkab.runtime.agents.frames.extract_frames` (the decoder
``murakkab catalog profile`` measures) seen through the runtime values: it takes a scene
``Clip`` and returns :class:`Frame` values that remember their source and time.

``pyav-audio`` decodes the clip's first audio stream with PyAV, resamples it with
libswresample to 16 kHz mono signed 16-bit (what speech recognisers take) and writes a WAV
named by the fingerprint of its input into the work directory (:func:`work_dir`: beside
the executor's cache unless ``$MURAKKAB_WORKDIR`` says otherwise), so extracting the same
audio twice reads the file written the first time. The output lasts exactly as long as the
input clip: audio that starts late or ends early is padded with silence, and a video
without an audio track gives silence (its soundtrack *is* silence).
"""

from __future__ import annotations

import math
import os
import tempfile
import wave
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import AgentError, MediaError
from .registry import agent
from .values import Clip, Frame, fingerprint

SPEECH_RATE_HZ = 16_000  # what PocketSphinx's en-us model and Whisper-family models take
_DECODE_SLACK_S = 0.25   # decode this far past the clip's end: resampler delay, frame granularity
_PREROLL_S = 0.25        # decode from this far before the clip: codec history after a seek


# The call cache of the shard running now (set by the executor around each shard), so
# derived media live beside the cache entries that name them.
_CACHE_ROOT: ContextVar[str | None] = ContextVar("murakkab_cache_root", default=None)


@contextmanager
def media_beside(root: str | None) -> Iterator[None]:
    """Within the block, :func:`work_dir` defaults to ``root/media``."""
    token = _CACHE_ROOT.set(root)
    try:
        yield
    finally:
        _CACHE_ROOT.reset(token)


def work_dir(sub: str = "") -> Path:
    """The directory agents write derived media into (created if missing).

    ``$MURAKKAB_WORKDIR``, else ``media/`` beside the executor's call cache (the cache
    keeps outputs that name these files, so they must live as long as it does): the
    running shard's cache (``--cache-dir``), else the default cache
    (``runtime/cache.default_cache_dir``)."""
    from ..cache import default_cache_dir

    root = os.environ.get("MURAKKAB_WORKDIR")
    if not root:
        root = os.path.join(_CACHE_ROOT.get() or str(default_cache_dir()), "media")
    path = Path(root) / sub if sub else Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- frame extraction ------------------------------------------------------------------------
@agent("opencv-frames", interface="frame_extraction", version="1")
def opencv_frames(scene: Clip, *, frames_per_scene: int = 5) -> list[Frame]:
    """``frames_per_scene`` evenly spaced frames of the scene (OpenCV decode, one core).

    Frame ``k`` is the centre of the ``k``-th of ``frames_per_scene`` equal bins of the
    scene's frames (see runtime/agents/frames.py); its ``time_s`` is its index / fps."""
    from .frames import VideoError, extract_frames, sample_indices, segment_frames, video_info

    if not isinstance(frames_per_scene, int) or frames_per_scene < 1:
        raise AgentError(f"opencv-frames: frames_per_scene must be a whole number >= 1, got {frames_per_scene!r}")
    try:
        fps, count = video_info(scene.path)
        lo, hi = segment_frames(fps, count, scene.start_s, scene.end_s)
        images = extract_frames(scene.path, scene.start_s, scene.end_s, frames_per_scene)
    except VideoError as e:
        raise MediaError(f"opencv-frames: {e}") from None
    return [Frame(image, scene, index / fps)
            for image, index in zip(images, sample_indices(lo, hi, frames_per_scene))]


# -- audio -----------------------------------------------------------------------------------------
def decode_audio(clip: Clip, rate: int = SPEECH_RATE_HZ) -> np.ndarray:
    """The clip's first audio stream as mono int16 samples at ``rate`` Hz, exactly
    ``round(duration × rate)`` of them (silence where the stream has no audio).

    Decoding starts :data:`_PREROLL_S` before the clip (after a seek a codec such as AAC
    needs one frame of history before its output is right), and the first sample handed
    to the resampler is one whose time lies on the grid both rates share (every
    1 / gcd(in, out) s): output sample ``k`` is then the source's sound at exactly
    ``k / rate`` s, so a range decodes to the same samples as that range of the whole file.
    """
    import av

    n = round(clip.duration_s * rate)
    pieces: list[np.ndarray] = []
    first_s: float | None = None  # time of the first sample given to the resampler
    try:
        with av.open(clip.path) as container:
            if not container.streams.audio:
                return np.zeros(n, np.int16)
            stream = container.streams.audio[0]
            seek_s = clip.start_s - _PREROLL_S
            if seek_s > 0:  # audio frames are all key frames: this lands at or before seek_s
                container.seek(int(seek_s * 1_000_000), any_frame=False, backward=True)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            done = False
            for packet in container.demux(stream):
                for frame in packet.decode():
                    if frame.time is not None and frame.time >= clip.end_s + _DECODE_SLACK_S:
                        done = True
                        break
                    if first_s is None:
                        aligned = _align_to_grid(frame, rate)
                        if aligned is None:
                            continue
                        frame, first_s = aligned
                    frame.pts = None  # samples, not timestamps, place the audio (see above)
                    for out in resampler.resample(frame):
                        pieces.append(out.to_ndarray().reshape(-1))
                if done:
                    break
            for out in resampler.resample(None):
                pieces.append(out.to_ndarray().reshape(-1))
    except (OSError, av.error.FFmpegError) as e:
        raise MediaError(f"cannot decode the audio of {clip.path}: {e}") from None
    if first_s is None:
        return np.zeros(n, np.int16)
    samples = np.concatenate(pieces).astype(np.int16, copy=False) if pieces else np.zeros(0, np.int16)
    offset = round((clip.start_s - first_s) * rate)
    if offset < 0:  # the stream starts after the clip does: silence first
        samples = np.concatenate([np.zeros(-offset, np.int16), samples])
        offset = 0
    window = samples[offset: offset + n]
    if len(window) < n:  # the stream ends before the clip does: silence after
        window = np.concatenate([window, np.zeros(n - len(window), np.int16)])
    return window


def _align_to_grid(frame: Any, rate: int) -> tuple[Any, float] | None:
    """``frame`` without the samples before the first one on the shared sample grid of its
    rate and ``rate``, with that sample's time; None if no sample of it is on the grid."""
    import av

    in_rate = frame.sample_rate
    period = in_rate // math.gcd(in_rate, rate)  # input samples between grid points
    index = round(float(frame.time or 0.0) * in_rate)  # the frame's first sample, counted from t = 0
    drop = (-index) % period
    if drop == 0:
        return frame, index / in_rate
    if drop >= frame.samples:
        return None
    data = frame.to_ndarray()  # planar: channels x samples; packed: 1 x (samples x channels)
    channels = len(frame.layout.channels)
    data = data[:, drop:] if frame.format.is_planar else data[:, drop * channels:]
    trimmed = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=frame.format.name,
                                         layout=frame.layout.name)
    trimmed.sample_rate = in_rate
    return trimmed, (index + drop) / in_rate


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write mono int16 ``samples`` as a WAV file, atomically (a reader never sees half a file)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@agent("pyav-audio", interface="audio_extraction", version="1")
def pyav_audio(video: Clip, *, sample_rate: int = SPEECH_RATE_HZ, workdir: str | None = None) -> Clip:
    """The clip's audio as a mono 16-bit WAV at ``sample_rate`` Hz (default 16 kHz), the
    same duration as the clip; returns the whole WAV as a Clip."""
    if not isinstance(sample_rate, int) or not 1000 <= sample_rate <= 192_000:
        raise AgentError(f"pyav-audio: sample_rate must be a whole number of Hz in [1000, 192000], got {sample_rate!r}")
    out_dir = Path(workdir) if workdir else work_dir("audio")
    out_dir.mkdir(parents=True, exist_ok=True)
    n = round(video.duration_s * sample_rate)
    path = out_dir / f"{fingerprint(['pyav-audio', 1, video, sample_rate])[:32]}.wav"
    if not (path.is_file() and path.stat().st_size == 44 + 2 * n):  # 44-byte header + samples
        write_wav(path, decode_audio(video, sample_rate), sample_rate)
    return Clip(str(path), 0.0, n / sample_rate)


# -- splitting --------------------------------------------------------------------------------------
@agent("pyav-split", interface="media_split", version="1")
def pyav_split(media: Clip, *, split_chunk_s: float = 30.0) -> list[Clip]:
    """Consecutive ranges of ``split_chunk_s`` seconds covering the clip (the last may be
    shorter). No media is read or written: a chunk is a range of the same file, cut
    exactly where asked (a stream copy could only cut at key frames)."""
    if not isinstance(split_chunk_s, (int, float)) or not math.isfinite(split_chunk_s) or split_chunk_s <= 0:
        raise AgentError(f"pyav-split: split_chunk_s must be a positive number of seconds, got {split_chunk_s!r}")
    # The small tolerance keeps float error (10.0 / 2.5 = 4.000000001) from adding an empty chunk.
    count = max(1, math.ceil(media.duration_s / split_chunk_s - 1e-9))
    bounds = [media.start_s + k * split_chunk_s for k in range(count)] + [media.end_s]
    return [Clip(media.path, a, min(b, media.end_s)) for a, b in zip(bounds, bounds[1:])]
