"""Generate the sample videos in this folder (run from anywhere; needs espeak-ng).

    python samples/make_samples.py            # writes samples/*.mp4 and samples/samples.json

Each video is a few drawn scenes (OpenCV primitives: a skyline, a man under a red
umbrella in the rain, a park under a grey sky, a parked car, a table with an orange, a
smiling face, a house at night), cut hard from one to the next, with one English
sentence per scene spoken by espeak-ng. A scene lasts as long as its sentence needs (at
least 2.5 s, in whole quarter seconds), so each scene's speech lies wholly inside the
scene and a per-scene transcript is one sentence.

Video: H.264 (libx264, CRF 23 — at CRF 30 the compression blurred the drawn person below
what the HOG detector finds — one thread), 480x270, 24 fps (every cut time is a whole
frame). Audio: AAC mono, 22.05 kHz (espeak-ng's own rate), 48 kb/s. Both written with
PyAV into MP4. With one x264/FFmpeg build the decoded pictures and sound are the same on
every run (the bytes of the first I-frame now and then differ, decoding to the same
pixels).

``samples.json`` is the ground truth the tests read: the cut times, each scene's range,
sentence and the interval of its speech. Users and CI do not need espeak-ng: the
generated files are committed; this script documents and reproduces them.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
import sys
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
FPS = 24                      # 0.25 s = 6 frames: every cut below falls on a frame
WIDTH, HEIGHT = 480, 270
VOICE, WORDS_PER_MIN = "en-us+f2", 135   # chosen for PocketSphinx's en-us model (see README)
SPEECH_LEAD_S = 0.25          # silence between a cut and the scene's sentence
SPEECH_TAIL_S = 0.45          # at least this much silence after it, before the next cut
MIN_SCENE_S = 2.5
AUDIO_RATE = 22050
AUDIO_BITRATE = 48_000

Painter = Callable[[float, int], np.ndarray]  # (seconds into the scene, frame index) -> BGR image


@dataclass(frozen=True)
class Scene:
    painter: str
    sentence: str


VIDEOS: dict[str, tuple[Scene, ...]] = {
    "city_walk": (
        Scene("skyline", "Welcome to the city."),
        Scene("umbrella", "He is holding an umbrella in the rain."),
        Scene("park", "It is raining in the park today."),
        Scene("street", "The car is parked on the street."),
    ),
    "kitchen": (
        Scene("table", "There is an orange on the table."),
        Scene("face", "The cook is smiling at the camera."),
        Scene("night", "The lights are off at night."),
    ),
}


# -- drawing ------------------------------------------------------------------------------------
def _canvas(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    """A vertical gradient from ``top`` to ``bottom`` (BGR)."""
    ramp = np.linspace(0.0, 1.0, HEIGHT, dtype=np.float32)[:, None, None]
    img = (1 - ramp) * np.array(top, np.float32) + ramp * np.array(bottom, np.float32)
    return np.repeat(img, WIDTH, axis=1).astype(np.uint8)


def _rain(img: np.ndarray, t: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    xs = rng.integers(0, WIDTH, 70)
    ys = rng.integers(0, HEIGHT, 70)
    drop = int(t * 240)  # rain falls 240 px/s
    for x, y in zip(xs, ys):
        y0 = int((y + drop) % HEIGHT)
        cv2.line(img, (int(x), y0), (int(x) - 2, y0 + 9), (205, 200, 195), 1, cv2.LINE_AA)


def _cloud(img: np.ndarray, cx: int, cy: int) -> None:
    for dx, dy, r in ((0, 0, 22), (24, 6, 18), (-24, 6, 18), (10, -12, 16)):
        cv2.circle(img, (cx + dx, cy + dy), r, (245, 245, 245), -1, cv2.LINE_AA)


def _bird(img: np.ndarray, x: int, y: int) -> None:
    cv2.line(img, (x - 8, y), (x, y + 6), (40, 40, 40), 2, cv2.LINE_AA)
    cv2.line(img, (x, y + 6), (x + 8, y), (40, 40, 40), 2, cv2.LINE_AA)


def _person(img: np.ndarray, x: int, ground: int, height: int) -> tuple[int, int]:
    """A standing figure ``height`` px tall (dark clothes, skin-coloured head), feet on
    ``ground``, centred on ``x``; returns where its raised right hand is."""
    s = height / 170
    clothes, skin = (40, 35, 30), (140, 170, 215)

    def at(dx: float, dy: float) -> tuple[int, int]:
        return int(x + dx * s), int(ground - dy * s)

    limb = max(2, int(12 * s))
    cv2.circle(img, at(0, 155), int(13 * s), skin, -1, cv2.LINE_AA)                       # head
    cv2.rectangle(img, at(-5, 142), at(5, 134), clothes, -1)                                # neck
    torso = np.array([at(-22, 134), at(22, 134), at(17, 70), at(-17, 70)], np.int32)
    cv2.fillPoly(img, [torso], clothes, cv2.LINE_AA)
    cv2.line(img, at(-11, 72), at(-26, 0), clothes, limb, cv2.LINE_AA)                      # legs apart
    cv2.line(img, at(11, 72), at(26, 0), clothes, limb, cv2.LINE_AA)
    cv2.line(img, at(-21, 128), at(-30, 78), clothes, max(2, int(8 * s)), cv2.LINE_AA)      # left arm
    cv2.line(img, at(21, 128), at(34, 150), clothes, max(2, int(8 * s)), cv2.LINE_AA)       # right arm, up
    return at(34, 150)


def skyline(t: float, i: int) -> np.ndarray:
    img = _canvas((235, 170, 90), (250, 215, 160))      # blue sky
    _cloud(img, int(60 + 25 * t), 55)
    for k, (x0, w, h) in enumerate(((10, 70, 150), (90, 55, 200), (155, 80, 120), (245, 60, 180),
                                    (315, 90, 140), (415, 60, 210))):
        grey = 70 + 12 * (k % 3)
        cv2.rectangle(img, (x0, HEIGHT - h), (x0 + w, HEIGHT), (grey, grey, grey + 5), -1)
        for wy in range(HEIGHT - h + 12, HEIGHT - 10, 22):
            for wx in range(x0 + 8, x0 + w - 12, 16):
                cv2.rectangle(img, (wx, wy), (wx + 7, wy + 10), (60, 200, 235), -1)
    return img


def umbrella(t: float, i: int) -> np.ndarray:
    img = _canvas((150, 140, 130), (120, 115, 110))     # grey, overcast street
    cv2.rectangle(img, (0, HEIGHT - 40), (WIDTH, HEIGHT), (80, 80, 85), -1)
    hx, hy = _person(img, 240, HEIGHT - 25, 115)
    cv2.line(img, (hx, hy + 6), (hx, hy - 40), (30, 30, 30), 3, cv2.LINE_AA)                     # shaft
    cv2.ellipse(img, (hx, hy - 40), (60, 36), 0, 180, 360, (30, 30, 210), -1, cv2.LINE_AA)       # red canopy
    _rain(img, t, seed=2)
    return img


def park(t: float, i: int) -> np.ndarray:
    img = _canvas((170, 165, 155), (60, 150, 70))       # grey, rainy sky to grass
    cv2.rectangle(img, (0, 150), (WIDTH, HEIGHT), (50, 150, 60), -1)
    for x, r in ((70, 45), (200, 60), (340, 50), (440, 40)):
        cv2.rectangle(img, (x - 10, 120), (x + 10, 170), (30, 60, 100), -1)             # trunk
        cv2.ellipse(img, (x, 110 - r // 4), (r + 15, r // 2 + 8), 0, 0, 360, (40, 110, 35), -1, cv2.LINE_AA)
    cv2.rectangle(img, (100, 195), (240, 204), (40, 80, 130), -1)                       # bench
    _bird(img, int(40 + 50 * t), 30)
    return img


def street(t: float, i: int) -> np.ndarray:
    img = _canvas((210, 200, 190), (90, 90, 90))
    cv2.rectangle(img, (0, 170), (WIDTH, HEIGHT), (70, 70, 72), -1)                      # road
    for x in range(-40, WIDTH + 40, 80):
        cv2.rectangle(img, (x + 15, 228), (x + 55, 234), (60, 220, 240), -1)            # lane marks
    body = np.array([[110, 200], [120, 160], [175, 130], [290, 130], [335, 160], [365, 168], [365, 205],
                     [110, 205]], np.int32)
    cv2.fillPoly(img, [body], (20, 120, 230), cv2.LINE_AA)                              # orange car
    cv2.rectangle(img, (185, 140), (230, 162), (230, 210, 170), -1)                     # windows
    cv2.rectangle(img, (240, 140), (285, 162), (230, 210, 170), -1)
    for wx in (160, 310):
        cv2.circle(img, (wx, 205), 22, (25, 25, 25), -1, cv2.LINE_AA)
        cv2.circle(img, (wx, 205), 9, (160, 160, 160), -1, cv2.LINE_AA)
    _bird(img, int(WIDTH - 60 * t) % WIDTH, 40)
    return img


def table(t: float, i: int) -> np.ndarray:
    img = _canvas((180, 215, 235), (160, 195, 220))     # warm kitchen wall
    cv2.rectangle(img, (0, 165), (WIDTH, HEIGHT), (40, 80, 140), -1)                     # brown table
    cv2.ellipse(img, (240, 195), (95, 30), 0, 0, 360, (245, 245, 245), -1, cv2.LINE_AA)  # plate
    cy = 170 + int(3 * math.sin(2 * math.pi * t))                                        # the orange rolls a little
    cv2.circle(img, (240, cy), 30, (0, 140, 255), -1, cv2.LINE_AA)
    cv2.ellipse(img, (250, cy - 32), (10, 5), 30, 0, 360, (40, 140, 40), -1, cv2.LINE_AA)
    return img


def face(t: float, i: int) -> np.ndarray:
    img = _canvas((200, 220, 225), (170, 190, 200))
    cx, cy = 240, 135 + int(4 * math.sin(2 * math.pi * t / 2))
    cv2.ellipse(img, (cx, cy + 105), (110, 60), 0, 180, 360, (200, 120, 60), -1, cv2.LINE_AA)   # blue shirt
    skin = (140, 170, 215)
    cv2.ellipse(img, (cx, cy), (55, 72), 0, 0, 360, skin, -1, cv2.LINE_AA)
    cv2.ellipse(img, (cx, cy - 54), (57, 30), 0, 180, 360, (30, 40, 60), -1, cv2.LINE_AA)       # hair
    for ex in (cx - 24, cx + 24):
        # Shaded sockets and dark eyes: the light/dark pattern a frontal-face detector keys on.
        cv2.ellipse(img, (ex, cy - 14), (20, 13), 0, 0, 360, (98, 119, 150), -1, cv2.LINE_AA)
        cv2.line(img, (ex - 15, cy - 32), (ex + 13, cy - 33), (30, 40, 60), 4, cv2.LINE_AA)     # brows
        cv2.ellipse(img, (ex, cy - 14), (12, 7), 0, 0, 360, (60, 50, 40), -1, cv2.LINE_AA)      # eyes
    cv2.line(img, (cx, cy - 8), (cx - 6, cy + 18), (112, 136, 172), 3, cv2.LINE_AA)              # nose
    cv2.ellipse(img, (cx, cy + 34), (24, 10), 0, 0, 180, (60, 60, 150), 5, cv2.LINE_AA)          # smile
    return img


def night(t: float, i: int) -> np.ndarray:
    img = _canvas((70, 25, 15), (40, 15, 10))            # dark blue night
    rng = np.random.default_rng(7)
    for x, y in zip(rng.integers(0, WIDTH, 40), rng.integers(0, 140, 40)):
        on = (int(x) + i // 6) % 5 != 0                   # stars twinkle
        cv2.circle(img, (int(x), int(y)), 1, (230, 230, 230) if on else (90, 60, 50), -1)
    cv2.circle(img, (400, 45), 16, (180, 230, 245), -1, cv2.LINE_AA)                     # crescent moon
    cv2.circle(img, (408, 40), 14, (70, 25, 15), -1, cv2.LINE_AA)
    cv2.rectangle(img, (40, 170), (340, HEIGHT), (25, 20, 20), -1)                      # a long, low house
    roof = np.array([[25, 170], [110, 125], [270, 125], [355, 170]], np.int32)
    cv2.fillPoly(img, [roof], (20, 15, 15), cv2.LINE_AA)
    for wx in (75, 165, 255):
        cv2.rectangle(img, (wx, 190), (wx + 45, 225), (45, 40, 40), -1)                  # dark windows
    return img


PAINTERS: dict[str, Painter] = {p.__name__: p for p in (skyline, umbrella, park, street, table, face, night)}


# -- speech -------------------------------------------------------------------------------------
def speak(sentence: str) -> np.ndarray:
    """``sentence`` spoken by espeak-ng, as int16 samples at AUDIO_RATE."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        sys.exit("make_samples.py needs espeak-ng (e.g. apt-get install -y espeak-ng)")
    wav = subprocess.run([exe, "-v", VOICE, "-s", str(WORDS_PER_MIN), "--stdout", sentence],
                         check=True, capture_output=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != AUDIO_RATE:
            raise SystemExit(f"unexpected espeak-ng output: {w.getnchannels()} ch, {w.getframerate()} Hz")
        # espeak-ng --stdout cannot seek back to fill in the length: it claims ~2^30
        # frames, and readframes stops at the end of the data.
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def _trim(samples: np.ndarray, level: int = 200) -> np.ndarray:
    """Drop the silence espeak-ng puts before and after the words."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > level)
    return samples[loud[0]: loud[-1] + 1] if loud.size else samples


# -- one video ----------------------------------------------------------------------------------
def make_video(name: str, scenes: tuple[Scene, ...]) -> dict[str, object]:
    speech = [_trim(speak(s.sentence)) for s in scenes]
    lengths = [max(MIN_SCENE_S, math.ceil((SPEECH_LEAD_S + len(a) / AUDIO_RATE + SPEECH_TAIL_S) * 4) / 4)
               for a in speech]  # whole quarter seconds: whole frames at 24 fps
    starts = [sum(lengths[:k]) for k in range(len(lengths))]
    duration = sum(lengths)
    n_frames = round(duration * FPS)
    track = np.zeros(round(duration * AUDIO_RATE), np.int16)
    manifest_scenes = []
    for scene, start, length, audio in zip(scenes, starts, lengths, speech):
        at = round((start + SPEECH_LEAD_S) * AUDIO_RATE)
        track[at: at + len(audio)] = audio
        manifest_scenes.append({"start_s": start, "end_s": start + length, "painter": scene.painter,
                                "sentence": scene.sentence,
                                "speech_s": [round(start + SPEECH_LEAD_S, 3),
                                             round(start + SPEECH_LEAD_S + len(audio) / AUDIO_RATE, 3)]})

    path = HERE / f"{name}.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        vs.options = {"crf": "23", "preset": "medium", "threads": "1", "g": str(2 * FPS)}
        au = out.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        au.bit_rate = AUDIO_BITRATE
        for i in range(n_frames):
            t = i / FPS
            k = max(j for j, s in enumerate(starts) if s <= t + 1e-9)
            image = PAINTERS[scenes[k].painter](t - starts[k], i)
            # Convert to yuv420p here: left to the encoder, the conversion was not
            # reproducible from one encoder to the next in one process (PyAV 18).
            frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(vs.encode(frame))
        out.mux(vs.encode())
        step = 1024
        for at in range(0, len(track), step):
            chunk = track[at: at + step]
            aframe = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            aframe.sample_rate, aframe.pts, aframe.time_base = AUDIO_RATE, at, Fraction(1, AUDIO_RATE)
            out.mux(au.encode(aframe))
        out.mux(au.encode())
    return {"file": path.name, "duration_s": duration, "fps": FPS, "width": WIDTH, "height": HEIGHT,
            "cuts_s": starts[1:], "scenes": manifest_scenes}


def main() -> None:
    manifest = {"voice": VOICE, "words_per_min": WORDS_PER_MIN, "generator": "samples/make_samples.py",
                "videos": {name: make_video(name, scenes) for name, scenes in VIDEOS.items()}}
    (HERE / "samples.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for name, v in manifest["videos"].items():
        size = (HERE / v["file"]).stat().st_size
        print(f"{v['file']}: {v['duration_s']:g} s, cuts at {v['cuts_s']} s, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
