"""Classic computer-vision agents on single frames (OpenCV, CPU, no learned weights downloaded).

    opencv-hog       object_detection     Frame -> str   "person x1; face x2"
    opencv-describe  frame_summarization  Frame -> str   a one-sentence factual description

``opencv-hog`` runs OpenCV's HOG pedestrian detector (Dalal & Triggs 2005; the linear SVM
OpenCV ships, ``HOGDescriptor_getDefaultPeopleDetector``) and the Viola-Jones Haar cascade
for frontal faces that ships with opencv-python(-headless) 4.x in ``cv2.data.haarcascades``.
It finds people and faces only, not the many other objects a caller may ask about, and
reports counts in a fixed order (people, then faces), leaving out what it did not find;
"no person or face detected" when it finds neither. OpenCV 5 moved both detectors out of
the main package: with it, this agent raises an error that says so (pin
``opencv-python-headless<5``).

``opencv-describe`` is a tool, not a vision-language model: it states measurable facts
about the frame, not what the scene means. It reports brightness (mean luma), the
dominant colours (each pixel named by simple hue/saturation/value rules, the names
covering at least 10 % of the frame, largest first), the people and faces ``opencv-hog``
finds, and motion: the mean absolute grey-level difference to the frame 0.2 s earlier in
the source video (later, at the start of a clip), when that frame can be read.

Both work on a copy of the frame shrunk to at most 640 pixels wide (the size the catalog's
opencv-hog profile assumes), and are deterministic.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .errors import AgentError
from .registry import agent
from .values import Frame

MAX_WIDTH = 640                 # pixels; detection and description run on frames at most this wide
HOG_MIN_SCORE = 0.5             # SVM margin below which a HOG window is not counted as a person
HOG_NMS_IOU = 0.3               # overlapping person boxes above this IoU count once
FACE_CASCADE = "haarcascade_frontalface_default.xml"
MOTION_GAP_S = 0.2              # compare with the frame this much earlier to measure motion
COLOUR_MIN_SHARE = 0.10         # a colour is "dominant" when it covers at least this share of the frame
ACCENT_MIN_SHARE = 0.02         # a saturated colour covering this much is mentioned as a small area

_LOCAL = threading.local()      # OpenCV detectors are not safe to share between threads


def detectors_available() -> bool:
    """Whether this OpenCV has the HOG people detector and the Haar face cascade (4.x does)."""
    haar_dir = getattr(getattr(cv2, "data", None), "haarcascades", "")
    return (hasattr(cv2, "HOGDescriptor") and hasattr(cv2, "CascadeClassifier")
            and os.path.isfile(os.path.join(haar_dir, FACE_CASCADE)))


def _detectors() -> tuple[Any, Any]:
    cached = getattr(_LOCAL, "detectors", None)
    if cached is None:
        if not detectors_available():
            raise AgentError(f"opencv-hog needs OpenCV's HOG people detector and Haar face cascade, which "
                             f"OpenCV {cv2.__version__} does not ship",
                             hint="pip install 'opencv-python-headless>=4.8,<5'")
        haar_dir = cv2.data.haarcascades  # type: ignore[attr-defined]  # (OpenCV 4.x only)
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())  # type: ignore[attr-defined]
        faces = cv2.CascadeClassifier(os.path.join(haar_dir, FACE_CASCADE))
        if faces.empty():
            raise AgentError(f"cannot load the Haar cascade {FACE_CASCADE} from {haar_dir}")
        cached = _LOCAL.detectors = (hog, faces)
    return cached


def _shrunk(image: np.ndarray, max_width: int = MAX_WIDTH) -> np.ndarray:
    h, w = image.shape[:2]
    if w <= max_width:
        return np.ascontiguousarray(image)
    return cv2.resize(image, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_AREA)


def _nms(boxes: list[tuple[int, int, int, int]], scores: list[float], iou: float) -> list[int]:
    """Indices of the boxes kept by greedy non-maximum suppression (highest score first;
    ties broken by position, so the result does not depend on detector output order)."""
    order = sorted(range(len(boxes)), key=lambda i: (-scores[i], boxes[i]))
    kept: list[int] = []
    for i in order:
        x, y, w, h = boxes[i]
        ok = True
        for j in kept:
            X, Y, W, H = boxes[j]
            ix = max(0, min(x + w, X + W) - max(x, X))
            iy = max(0, min(y + h, Y + H) - max(y, Y))
            inter = ix * iy
            if inter and inter / float(w * h + W * H - inter) > iou:
                ok = False
                break
        if ok:
            kept.append(i)
    return sorted(kept, key=lambda i: boxes[i])


@dataclass(frozen=True)
class Detections:
    """People and faces found in a frame, as (x, y, width, height) boxes in its pixels."""

    people: tuple[tuple[int, int, int, int], ...]
    faces: tuple[tuple[int, int, int, int], ...]

    def text(self) -> str:
        parts = [f"{label} x{len(found)}" for label, found in (("person", self.people), ("face", self.faces)) if found]
        return "; ".join(parts) if parts else "no person or face detected"


def detect(image: np.ndarray, min_score: float = HOG_MIN_SCORE) -> Detections:
    """Run both detectors on a BGR image (shrunk to MAX_WIDTH first; boxes in its pixels)."""
    hog, cascade = _detectors()
    small = _shrunk(image)
    scale = image.shape[1] / small.shape[1]
    people: list[tuple[int, int, int, int]] = []
    if small.shape[0] >= 128 and small.shape[1] >= 64:  # the HOG window is 64 x 128
        rects, weights = hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.05)
        boxes = [_box(r) for r in rects]
        scores = [float(s) for s in np.ravel(weights)]
        people = [boxes[i] for i in _nms(boxes, scores, HOG_NMS_IOU) if scores[i] >= min_score]
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    found = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    faces = sorted(_box(r) for r in (found if len(found) else []))
    return Detections(tuple(_box(b, scale) for b in people), tuple(_box(b, scale) for b in faces))


def _box(values: Any, scale: float = 1.0) -> tuple[int, int, int, int]:
    x, y, w, h = (int(round(float(v) * scale)) for v in values)
    return (x, y, w, h)


@agent("opencv-hog", interface="object_detection", version="1")
def opencv_hog(frame: Frame, *, min_score: float = HOG_MIN_SCORE) -> str:
    """People (HOG) and faces (Haar) in the frame, as "person x1; face x2"."""
    return detect(frame.image, min_score).text()


# -- description -------------------------------------------------------------------------------------
# Colour names from OpenCV's 8-bit HSV (H 0..179, S and V 0..255). Reasons: below V 50 any
# hue looks black; below S 40 a pixel is a grey level; hue bands follow the usual colour
# wheel (OpenCV halves degrees: red at 0/180, yellow 30, green 60, blue 120), with orange
# turning brown when dark, and pale orange or yellow named beige.
_HUE_BANDS: tuple[tuple[int, str], ...] = (
    (8, "red"), (20, "orange"), (33, "yellow"), (85, "green"), (100, "cyan"), (130, "blue"),
    (150, "purple"), (170, "pink"), (180, "red"),
)


def colour_names(image: np.ndarray) -> list[tuple[str, float]]:
    """(name, share of pixels) for every colour name in the image, largest share first."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.int16)
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    names = np.empty(len(hsv), dtype=object)
    lo = 0
    for hi, name in _HUE_BANDS:
        names[(h >= lo) & (h < hi)] = name
        lo = hi
    names[(names == "orange") & (v < 150)] = "brown"
    names[((names == "orange") | (names == "yellow")) & (s < 90) & (v >= 170)] = "beige"
    grey = s < 40
    names[grey & (v >= 200)] = "white"
    names[grey & (v < 200)] = "grey"
    names[v < 50] = "black"
    labels, counts = np.unique(names.astype(str), return_counts=True)
    shares = sorted(zip(labels.tolist(), (counts / len(hsv)).tolist()), key=lambda p: (-p[1], p[0]))
    return [(str(n), float(c)) for n, c in shares]


def _brightness(image: np.ndarray) -> str:
    luma = float(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean())
    if luma < 50:
        return "very dark"
    if luma < 100:
        return "dark"
    if luma < 170:
        return "moderately bright"
    return "bright"


def _motion(frame: Frame, small: np.ndarray) -> str | None:
    """How much the picture changes over MOTION_GAP_S, or None if no neighbour can be read.

    The smaller of the differences to the frames MOTION_GAP_S before and after (those inside
    the source clip) is used, so a scene cut on one side is not taken for motion."""
    from .frames import VideoError, extract_frames, video_info

    if frame.source is None:  # a still picture: nothing before or after it
        return None
    try:
        fps, _ = video_info(frame.source.path)
    except (VideoError, OSError):
        return None
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.int16)
    diffs = []
    for other in (frame.time_s - MOTION_GAP_S, frame.time_s + MOTION_GAP_S):
        if not frame.source.start_s <= other < frame.source.end_s:
            continue
        try:
            image = extract_frames(frame.source.path, other, other + 1.0 / fps, 1)[0]
        except (VideoError, ValueError, OSError):
            continue
        b = cv2.cvtColor(_shrunk(image, small.shape[1]), cv2.COLOR_BGR2GRAY).astype(np.int16)
        if b.shape == grey.shape:
            diffs.append(float(np.abs(grey - b).mean()))
    if not diffs:
        return None
    diff = min(diffs)
    if diff < 1.0:
        return "no visible motion"
    if diff < 6.0:
        return "slight motion"
    return "strong motion"


def _count(n: int, word: str) -> str:
    if n == 0:
        return f"no {word}"
    return f"1 {word}" if n == 1 else f"{n} people" if word == "person" else f"{n} {word}s"


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@agent("opencv-describe", interface="frame_summarization", version="1")
def opencv_describe(frame: Frame, *, motion: bool = True) -> str:
    """One sentence of measurable facts: brightness, dominant colours, people and faces
    detected, motion (a tool's description, not a vision-language model's caption)."""
    small = _shrunk(frame.image)
    shares = colour_names(small)
    main = [f"{n} ({round(100 * s)}%)" for n, s in shares if s >= COLOUR_MIN_SHARE][:3]
    accents = [n for n, s in shares if ACCENT_MIN_SHARE <= s < COLOUR_MIN_SHARE
               and n not in ("black", "white", "grey", "beige")][:2]
    what = "frame" if frame.source is not None else "picture"
    look = f"a {_brightness(small)} {what}, " + (f"mostly {_listing(main)}" if main else "with no dominant colour")
    if accents:
        look += f" with small areas of {_listing(accents)}"
    # A still picture has no time to name.
    facts = [f"At {frame.time_s:.1f} s: {look}" if frame.source is not None else look[0].upper() + look[1:]]
    if detectors_available():
        found = detect(frame.image)
        facts.append(f"{_count(len(found.people), 'person')} and {_count(len(found.faces), 'face')} detected")
    if motion:
        moving = _motion(frame, small)
        if moving:
            facts.append(moving)
    return "; ".join(facts) + "."
