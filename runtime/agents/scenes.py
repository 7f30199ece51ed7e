"""Scene detection with OpenCV: cut a video clip where consecutive frames differ sharply.

    opencv-content-scenes    scene_detection  Clip -> list[Clip]   HSV mean-absolute-difference detector
    opencv-histogram-scenes  scene_detection  Clip -> list[Clip]   colour-histogram correlation detector

Both decode every frame of the clip in order (one decoder thread), shrink it to at most
:data:`ANALYSIS_WIDTH` pixels wide (a cut changes the whole picture; detail only adds
noise and time), score each frame against the one before, and declare a cut at frame
``i`` when the score reaches the threshold and the scene so far is at least
``min_scene_s`` long. The scenes returned are ranges of the input file that partition the
input clip: ``[start, cut_1), [cut_1, cut_2), ..., [cut_k, end)``, with ``cut = i / fps``.

The content score is PySceneDetect's ContentDetector score (Breakthrough/PySceneDetect,
``scenedetect/detectors/content_detector.py``): the mean, over hue, saturation and value,
of the mean absolute difference of that channel between the two frames, on OpenCV's
8-bit HSV scale (H in 0..179). The interface knob ``threshold`` is on that scale, with
PySceneDetect's default 27, so ``threshold = 27`` means the same thing here as there.

The histogram score is ``1 - correlation`` of the two frames' colour histograms (32 bins
for each of Y, Cr and Cb, concatenated), in [0, 2]. PySceneDetect's HistogramDetector
cuts at a score of 0.05 by default; the interface knob is mapped linearly onto that
default, ``score threshold = 0.05 × threshold / 27`` (15 → 0.028, 27 → 0.05, 40 → 0.074),
so a lower ``threshold`` still means more, shorter scenes.
"""

from __future__ import annotations

from typing import Callable, Iterator

import cv2
import numpy as np

from .errors import AgentError, MediaError
from .registry import agent
from .values import Clip

ANALYSIS_WIDTH = 320              # pixels; frames are shrunk to this width before scoring
CONTENT_DEFAULT_THRESHOLD = 27.0  # PySceneDetect ContentDetector default (its README and source)
HISTOGRAM_DEFAULT_SCORE = 0.05    # PySceneDetect HistogramDetector default threshold
HISTOGRAM_BINS = 32
MIN_SCENE_S = 0.5                 # PySceneDetect's default min_scene_len is 15 frames = 0.5 s at 30 fps


def _capture(path: str) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    if not cap.isOpened():
        cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise MediaError(f"cannot open video {path}")
    return cap


def iter_frames(clip: Clip, max_width: int = ANALYSIS_WIDTH) -> Iterator[tuple[int, float, np.ndarray]]:
    """``(index, fps, image)`` for every frame of the clip, in order, shrunk to at most
    ``max_width`` pixels wide (BGR ``uint8``)."""
    from .frames import VideoError, segment_frames, video_info

    try:
        fps, count = video_info(clip.path)
        lo, hi = segment_frames(fps, count, clip.start_s, clip.end_s)
    except VideoError as e:
        raise MediaError(str(e)) from None
    cap = _capture(clip.path)
    try:
        pos = 0
        if lo > 0:
            cap.set(cv2.CAP_PROP_POS_FRAMES, lo)
            if int(round(cap.get(cv2.CAP_PROP_POS_FRAMES))) == lo:
                pos = lo
            else:  # the seek did not land where asked: decode from the start instead
                cap.release()
                cap = _capture(clip.path)
        while pos < lo and cap.grab():
            pos += 1
        while pos < hi:
            ok, image = cap.read()
            if not ok:
                break
            h, w = image.shape[:2]
            if w > max_width:
                image = cv2.resize(image, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_AREA)
            yield pos, fps, image
            pos += 1
    finally:
        cap.release()


def detect_cuts(clip: Clip, features: Callable[[np.ndarray], np.ndarray],
                score: Callable[[np.ndarray, np.ndarray], float], threshold: float,
                min_scene_s: float) -> list[Clip]:
    """The scenes of ``clip``: a cut wherever ``score(previous, current) >= threshold``
    (features of consecutive frames) once the current scene is ``min_scene_s`` long."""
    if min_scene_s < 0:
        raise AgentError(f"min_scene_s must be >= 0, got {min_scene_s!r}")
    cuts: list[float] = []
    previous: np.ndarray | None = None
    scene_start: int | None = None
    for index, fps, image in iter_frames(clip):
        current = features(image)
        if scene_start is None:
            scene_start = index
        elif previous is not None and score(previous, current) >= threshold \
                and (index - scene_start) >= min_scene_s * fps - 1e-9:
            cuts.append(index / fps)
            scene_start = index
        previous = current
    if scene_start is None:
        raise MediaError(f"no frame could be decoded in [{clip.start_s:g}, {clip.end_s:g}) s of {clip.path}")
    bounds = [clip.start_s] + [c for c in cuts if clip.start_s < c < clip.end_s] + [clip.end_s]
    return [Clip(clip.path, a, b) for a, b in zip(bounds, bounds[1:])]


# -- content (HSV difference) ---------------------------------------------------------------------
def hsv_features(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.int16)


def content_score(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over H, S, V of the mean absolute difference (PySceneDetect's content_val)."""
    return float(np.abs(a - b).mean(axis=(0, 1)).mean())


def _check_threshold(name: str, threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 255:
        raise AgentError(f"{name}: threshold must be a number in (0, 255], got {threshold!r}",
                         hint="the interface's scale is PySceneDetect's content score; 27 is its default")
    return float(threshold)


@agent("opencv-content-scenes", interface="scene_detection", version="1")
def opencv_content_scenes(video: Clip, *, threshold: float = CONTENT_DEFAULT_THRESHOLD,
                          min_scene_s: float = MIN_SCENE_S) -> list[Clip]:
    """Scenes of the video: cuts where the mean HSV frame difference reaches ``threshold``."""
    t = _check_threshold("opencv-content-scenes", threshold)
    return detect_cuts(video, hsv_features, content_score, t, min_scene_s)


# -- histogram correlation -------------------------------------------------------------------------
def histogram_features(image: np.ndarray) -> np.ndarray:
    ycc = cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb)
    hists = [cv2.calcHist([ycc], [c], None, [HISTOGRAM_BINS], [0, 256]).ravel() for c in range(3)]
    h = np.concatenate(hists).astype(np.float32)
    return h / max(float(h.sum()), 1.0)


def histogram_score(a: np.ndarray, b: np.ndarray) -> float:
    """``1 - correlation`` of two histograms: 0 for the same colours, up to 2."""
    return 1.0 - float(cv2.compareHist(a, b, cv2.HISTCMP_CORREL))


@agent("opencv-histogram-scenes", interface="scene_detection", version="1")
def opencv_histogram_scenes(video: Clip, *, threshold: float = CONTENT_DEFAULT_THRESHOLD,
                            min_scene_s: float = MIN_SCENE_S) -> list[Clip]:
    """Scenes of the video: cuts where the colour histograms' correlation drops by
    ``0.05 × threshold / 27`` or more between consecutive frames."""
    t = _check_threshold("opencv-histogram-scenes", threshold)
    return detect_cuts(video, histogram_features, histogram_score,
                       HISTOGRAM_DEFAULT_SCORE * t / CONTENT_DEFAULT_THRESHOLD, min_scene_s)
