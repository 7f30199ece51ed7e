"""The ``opencv-frames`` agent: decode a video segment with OpenCV and keep evenly spaced frames.

Work model (the one the catalog's frame_extraction profiles assume): every frame of the
segment ``[start_s, end_s)`` is decoded, in order, and ``count`` of them are kept. Frame
``i`` of a video has timestamp ``i / fps``; the segment holds frames ``lo .. hi-1`` with
``lo = ceil(start_s × fps)`` and ``hi = ceil(end_s × fps)`` (clipped to the video), and
the kept frames are the centres of ``count`` equal bins of that range:

    target_k = lo + floor((k + 0.5) × (hi − lo) / count),  k = 0 .. count−1

so a request for more frames than the segment has repeats frames (the output always has
``count`` frames, as the interface's cardinality says).

One core: :func:`extract_frames` decodes in this process with one decoder thread (the
capture is opened with ``CAP_PROP_N_THREADS = 1``; FFmpeg would otherwise use every core,
and "one core" must mean one core). ``n`` cores:
:class:`FrameDecoder` splits ``[lo, hi)`` into ``n`` contiguous frame ranges decoded by a
pool of ``n`` worker *processes* (each single-threaded); each worker seeks to the start
of its range and writes the kept frames that fall in it into a shared-memory block the
parent copies them out of (pickling 720p frames through pipes costs ~9 ms a frame, more
than decoding them). Seeking is by frame index and is checked: when the decoder does not
report the requested position after a seek, the worker decodes sequentially from the
first frame instead. Workers are started with ``spawn``: a script that uses
:class:`FrameDecoder` needs the usual ``if __name__ == "__main__":`` guard.

:func:`make_test_video` writes deterministic synthetic videos with visible scene cuts
(a solid colour per scene with a scrolling texture and moving shapes), for tests and for
``murakkab catalog profile opencv-frames``.
"""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.pool
import os
import time
from multiprocessing import shared_memory
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..lifetime import die_with_parent

# Scene colours (BGR), cycled: far apart so a cut changes every channel's mean.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (40, 40, 200), (40, 200, 40), (200, 40, 40), (40, 200, 200), (200, 40, 200), (200, 200, 40),
    (90, 90, 90), (220, 220, 220),
)


class VideoError(RuntimeError):
    """A video cannot be opened, written or decoded as asked."""


# -- synthetic test videos ---------------------------------------------------------------
def make_test_video(path: str | os.PathLike[str], seconds: float, fps: float = 30.0, width: int = 320,
                    height: int = 240, cuts: Sequence[float] | None = None) -> str:
    """Write a deterministic synthetic video; returns the path written.

    ``cuts`` are the scene-cut times in seconds (default: every 2 s). Scene ``k`` is a
    solid colour ``PALETTE[k]`` plus a low-amplitude texture (seeded by ``k``) scrolling
    2 px per frame, a white disc and a black square moving across it. Written with the
    ``mp4v`` codec; if this OpenCV cannot write it, as Motion-JPEG in an ``.avi`` next to
    ``path`` (the returned path says which).
    """
    if seconds <= 0 or fps <= 0 or width < 16 or height < 16:
        raise ValueError("make_test_video needs seconds > 0, fps > 0 and at least 16x16 pixels")
    frames = int(round(seconds * fps))
    cut_times = sorted(float(c) for c in (cuts if cuts is not None else np.arange(2.0, seconds, 2.0)))
    cut_frames = [int(round(c * fps)) for c in cut_times if 0 < c < seconds]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    attempts = [(path.with_suffix(".mp4") if path.suffix.lower() != ".mp4" else path, "mp4v"),
                (path.with_suffix(".avi"), "MJPG")]
    for target, fourcc in attempts:
        writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*fourcc), float(fps), (width, height))
        if not writer.isOpened():
            writer.release()
            continue
        try:
            textures: dict[int, np.ndarray] = {}
            for i in range(frames):
                scene = sum(1 for c in cut_frames if c <= i)
                writer.write(_test_frame(i, scene, width, height, textures))
        finally:
            writer.release()
        if target.is_file() and target.stat().st_size > 0:
            return str(target)
    raise VideoError(f"OpenCV cannot write a video here (tried mp4v and MJPG) at {path}")


def _test_frame(i: int, scene: int, width: int, height: int, textures: dict[int, np.ndarray]) -> np.ndarray:
    if scene not in textures:
        rng = np.random.default_rng(1000 + scene)
        small = rng.integers(-24, 25, size=(max(2, height // 4), max(2, width // 4), 1), dtype=np.int16)
        big = cv2.resize(small.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        textures[scene] = np.clip(big[:, :, None] + np.array(PALETTE[scene % len(PALETTE)], np.float32), 0, 255
                                  ).astype(np.uint8)
    frame = np.roll(textures[scene], shift=2 * i, axis=1)
    r = max(4, min(width, height) // 8)
    cx = r + (7 * i) % max(1, width - 2 * r)
    cy = height // 2 + int((height // 4) * math.sin(i / 9.0))
    cv2.circle(frame, (cx, cy), r, (255, 255, 255), -1)
    sx = (width - 1 - r) - (5 * i) % max(1, width - 2 * r)
    cv2.rectangle(frame, (sx, r), (sx + r, 2 * r), (0, 0, 0), -1)
    return frame


# -- decoding ------------------------------------------------------------------------------
def _open(path: str) -> cv2.VideoCapture:
    """A single-threaded capture (FFmpeg backend when available)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    if not cap.isOpened():
        cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"cannot open video {path}")
    return cap


def _probe(path: str) -> tuple[float, int, int, int]:
    """(fps, frame count, width, height) as the container reports them."""
    cap = _open(path)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    finally:
        cap.release()
    if fps <= 0:
        raise VideoError(f"video {path} reports no frame rate")
    return fps, count, width, height


def video_info(path: str) -> tuple[float, int]:
    """(fps, frame count) as the container reports them."""
    return _probe(path)[:2]


def segment_frames(fps: float, frame_count: int, start_s: float, end_s: float) -> tuple[int, int]:
    """Frame index range ``[lo, hi)`` of the segment ``[start_s, end_s)``."""
    if end_s <= start_s or start_s < 0:
        raise ValueError(f"empty or negative segment [{start_s}, {end_s})")
    lo = math.ceil(start_s * fps - 1e-9)
    hi = math.ceil(end_s * fps - 1e-9)
    if frame_count > 0:
        hi = min(hi, frame_count)
    if hi <= lo:
        raise VideoError(f"segment [{start_s}, {end_s}) s holds no frames of a {frame_count}-frame video at {fps} fps")
    return lo, hi


def sample_indices(lo: int, hi: int, count: int) -> list[int]:
    """``count`` evenly spaced frame indices of ``[lo, hi)`` (bin centres; repeats if count > hi − lo)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    n = hi - lo
    return [lo + min(n - 1, int(math.floor((k + 0.5) * n / count))) for k in range(count)]


def _decode_range(path: str, lo: int, hi: int, targets: Sequence[int], seek: bool = True) -> dict[int, np.ndarray]:
    """Decode frames ``lo .. hi-1`` of ``path`` and return the ``targets`` among them."""
    wanted = sorted(set(t for t in targets if lo <= t < hi))
    out: dict[int, np.ndarray] = {}
    cap = _open(path)
    try:
        pos = 0
        if lo > 0 and seek:
            cap.set(cv2.CAP_PROP_POS_FRAMES, lo)
            if int(round(cap.get(cv2.CAP_PROP_POS_FRAMES))) == lo:
                pos = lo
            else:  # the decoder did not land where asked: start over and decode sequentially
                cap.release()
                cap = _open(path)
        while pos < lo:
            if not cap.grab():
                break
            pos += 1
        want = iter(wanted)
        nxt = next(want, None)
        while pos < hi:
            if not cap.grab():
                break
            if pos == nxt:
                ok, frame = cap.retrieve()
                if not ok:
                    raise VideoError(f"cannot decode frame {pos} of {path}")
                out[pos] = frame
                nxt = next(want, None)
            pos += 1
    finally:
        cap.release()
    return out


def _plan(path: str, start_s: float, end_s: float, count: int) -> tuple[int, int, list[int]]:
    fps, frame_count, _, _ = _probe(path)
    lo, hi = segment_frames(fps, frame_count, start_s, end_s)
    return lo, hi, sample_indices(lo, hi, count)


def extract_frames(path: str, start_s: float, end_s: float, count: int, *, seek: bool = True) -> list[np.ndarray]:
    """``count`` evenly spaced frames (BGR ``uint8`` arrays, height × width × 3) of the
    segment ``[start_s, end_s)`` of the video at ``path``, decoded on one core.

    ``seek=False`` decodes from the first frame of the video instead of seeking to the
    segment (the same frames, slower)."""
    lo, hi, targets = _plan(str(path), start_s, end_s, count)
    got = _decode_range(str(path), lo, hi, targets, seek=seek)
    return _assemble(str(path), lo, hi, targets, got)


def _assemble(path: str, lo: int, hi: int, targets: list[int], got: dict[int, np.ndarray]) -> list[np.ndarray]:
    missing = [t for t in targets if t not in got]
    if missing:
        # The container promised more frames than the stream holds: sample the frames
        # that really are there, decoding sequentially this time.
        got_all = _decode_range(path, 0, hi, range(hi), seek=False)
        last = max(got_all, default=-1) + 1
        if last <= lo:
            raise VideoError(f"{path} ends at frame {last}, before the segment starts (frame {lo})")
        targets = sample_indices(lo, last, len(targets))
        got = got_all
    return [got[t] for t in targets]


# -- n cores: a pool of single-threaded decoder processes -----------------------------------------
def _init_worker(warm_path: str | None) -> None:
    # A decoder must not outlive the worker that started it (runtime/lifetime.py).
    die_with_parent(os.getppid())
    cv2.setNumThreads(1)
    if warm_path:  # load the FFmpeg backend and the codec once, as part of starting the instance
        cap = _open(warm_path)
        cap.grab()
        cap.release()


def _worker_pid(_: int) -> int:
    time.sleep(0.02)
    return os.getpid()


def _attach(name: str) -> shared_memory.SharedMemory:
    """Attach to the parent's shared block without taking ownership of it."""
    try:
        return shared_memory.SharedMemory(name=name, track=False)  # type: ignore[call-arg]  # Python 3.13+
    except TypeError:
        # Before 3.13 attaching registers the block with the resource tracker again; a
        # spawned worker shares its parent's tracker, whose registry is a set, so this is
        # a no-op and the parent's unlink unregisters the block once.
        return shared_memory.SharedMemory(name=name)


def _worker_decode(args: tuple[str, int, int, dict[int, int], str, tuple[int, int, int]]
                   ) -> tuple[list[int], dict[int, np.ndarray]]:
    """Decode one slice; write the kept frames into their slots of the shared block.

    Returns the frame indices written to slots and, pickled, any frame whose shape is
    not the one the container announced."""
    path, lo, hi, slots, shm_name, shape = args
    got = _decode_range(path, lo, hi, list(slots))
    written: list[int] = []
    odd: dict[int, np.ndarray] = {}
    shm = _attach(shm_name)
    try:
        view = np.ndarray((max(slots.values(), default=-1) + 1,) + shape, np.uint8, buffer=shm.buf)
        for index, frame in got.items():
            if frame.shape == shape and frame.dtype == np.uint8:
                view[slots[index]] = frame
                written.append(index)
            else:
                odd[index] = frame
        del view
    finally:
        shm.close()
    return written, odd


def split_range(lo: int, hi: int, parts: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` as ``parts`` contiguous, non-empty, nearly equal ranges (fewer if it is short)."""
    parts = max(1, min(parts, hi - lo))
    bounds = [lo + round(j * (hi - lo) / parts) for j in range(parts + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


class FrameDecoder:
    """An instance of the agent on ``cores`` cores.

    ``cores == 1`` decodes in this process; ``cores > 1`` starts ``cores`` worker processes
    (``spawn``, so no thread state is inherited) that stay up until :meth:`close`. Starting
    the instance (:meth:`start`, also on entering a ``with``) is the agent's setup:
    processes started, OpenCV imported and the codec opened once on ``warm_path``.
    """

    def __init__(self, cores: int = 1, warm_path: str | None = None) -> None:
        if cores < 1:
            raise ValueError("cores must be at least 1")
        self.cores = cores
        self.warm_path = warm_path
        self._pool: multiprocessing.pool.Pool | None = None
        self._shm: shared_memory.SharedMemory | None = None
        self._started = False

    def start(self) -> "FrameDecoder":
        if self._started:
            return self
        if self.cores == 1:
            _init_worker(self.warm_path)
        else:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ctx.Pool(self.cores, initializer=_init_worker, initargs=(self.warm_path,))
            seen: set[int] = set()
            for _ in range(50):  # wait until every worker has initialised and answered
                seen.update(self._pool.map(_worker_pid, range(self.cores), chunksize=1))
                if len(seen) >= self.cores:
                    break
        self._started = True
        return self

    def extract(self, path: str, start_s: float, end_s: float, count: int) -> list[np.ndarray]:
        """Like :func:`extract_frames`, with the segment split over this instance's cores."""
        self.start()
        path = str(path)
        if self._pool is None:
            return extract_frames(path, start_s, end_s, count)
        fps, frame_count, width, height = _probe(path)
        lo, hi = segment_frames(fps, frame_count, start_s, end_s)
        targets = sample_indices(lo, hi, count)
        # Kept frames come back through one shared-memory block (a slot per distinct
        # frame): pickling 720p frames through the pool's pipes costs ~9 ms a frame.
        unique = sorted(set(targets))
        shape = (max(height, 1), max(width, 1), 3)
        slot = {t: i for i, t in enumerate(unique)}
        shm = self._buffer(len(unique) * shape[0] * shape[1] * 3)
        jobs = [(path, a, b, {t: slot[t] for t in unique if a <= t < b}, shm.name, shape)
                for a, b in split_range(lo, hi, self.cores)]
        got: dict[int, np.ndarray] = {}
        view = np.ndarray((len(unique),) + shape, np.uint8, buffer=shm.buf)
        try:
            for written, odd in self._pool.map(_worker_decode, jobs, chunksize=1):
                for t in written:
                    got[t] = view[slot[t]].copy()
                got.update(odd)
        finally:
            del view
        return _assemble(path, lo, hi, targets, got)

    def _buffer(self, size: int) -> shared_memory.SharedMemory:
        """This instance's shared block, grown to at least ``size`` bytes."""
        if self._shm is None or self._shm.size < size:
            self._release_buffer()
            self._shm = shared_memory.SharedMemory(create=True, size=max(size, 1))
        return self._shm

    def _release_buffer(self) -> None:
        if self._shm is not None:
            self._shm.close()
            self._shm.unlink()
            self._shm = None

    def close(self) -> None:
        self._release_buffer()
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None
        self._started = False

    def __enter__(self) -> "FrameDecoder":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def extract_frames_parallel(path: str, start_s: float, end_s: float, count: int, cores: int) -> list[np.ndarray]:
    """:func:`extract_frames` on ``cores`` worker processes (a pool started and stopped for this call)."""
    with FrameDecoder(cores) as decoder:
        return decoder.extract(path, start_s, end_s, count)
