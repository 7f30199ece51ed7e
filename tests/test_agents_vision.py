"""opencv-hog and opencv-describe on frames of the samples: deterministic text, people and
faces where they were drawn, colours that match the drawing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from murakkab.runtime.agents import AgentError, Clip, Frame, get
from murakkab.runtime.agents import vision
from murakkab.runtime.agents.vision import colour_names, detectors_available

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
MANIFEST: dict[str, Any] = json.loads((SAMPLES / "samples.json").read_text())["videos"]
needs_detectors = pytest.mark.skipif(not detectors_available(),
                                     reason="this OpenCV has no HOG/Haar detectors (OpenCV 5 moved them out)")


def scene_frames(painter: str, count: int = 3) -> list[Frame]:
    for meta in MANIFEST.values():
        for scene in meta["scenes"]:
            if scene["painter"] == painter:
                clip = Clip(str(SAMPLES / meta["file"]), scene["start_s"], scene["end_s"])
                return list(get("opencv-frames")(clip, frames_per_scene=count))
    raise KeyError(painter)


@pytest.fixture(scope="module")
def frames() -> dict[str, list[Frame]]:
    return {p: scene_frames(p) for p in ("skyline", "umbrella", "face", "night")}


@needs_detectors
def test_hog_finds_the_person_and_the_face_and_nothing_else(frames: dict[str, list[Frame]]) -> None:
    hog = get("opencv-hog")
    assert [hog(f) for f in frames["umbrella"]] == ["person x1"] * 3
    assert [hog(f) for f in frames["face"]] == ["face x1"] * 3
    for painter in ("skyline", "night"):
        assert [hog(f) for f in frames[painter]] == ["no person or face detected"] * 3
    # Deterministic, and the same for a copy of the pixels.
    f = frames["umbrella"][0]
    assert hog(f) == hog(Frame(f.image.copy(), f.source, f.time_s))
    boxes = vision.detect(f.image)
    assert boxes == vision.detect(f.image) and len(boxes.people) == 1
    x, y, w, h = boxes.people[0]
    assert 0 <= x < x + w <= f.width and 0 <= y < y + h <= f.height
    assert hog(f, min_score=100.0) == "no person or face detected"


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = [(10, 10, 50, 100), (12, 12, 50, 100), (200, 10, 50, 100)]
    assert vision._nms(boxes, [0.9, 1.5, 0.7], 0.3) == [1, 2]
    assert vision.Detections((), ((1, 2, 3, 4), (5, 6, 7, 8))).text() == "face x2"
    assert vision.Detections(((0, 0, 1, 1),), ((1, 2, 3, 4),)).text() == "person x1; face x1"


def test_hog_without_detectors_says_how_to_get_them(monkeypatch: pytest.MonkeyPatch,
                                                     frames: dict[str, list[Frame]]) -> None:
    monkeypatch.setattr(vision, "detectors_available", lambda: False)
    monkeypatch.setattr(vision._LOCAL, "detectors", None, raising=False)
    with pytest.raises(AgentError) as err:
        get("opencv-hog")(frames["skyline"][0])
    assert err.value.hint is not None and "opencv-python-headless" in err.value.hint
    # The describer still describes, without the detectors' clause.
    text = get("opencv-describe")(frames["skyline"][0])
    assert "detected" not in text and "blue" in text


def test_colour_names_follow_the_hsv_rules() -> None:
    def named(bgr: tuple[int, int, int]) -> str:
        return colour_names(np.full((4, 4, 3), bgr, np.uint8))[0][0]

    assert [named(c) for c in ((0, 0, 255), (0, 140, 255), (0, 255, 255), (0, 200, 0), (255, 0, 0),
                               (255, 255, 255), (128, 128, 128), (10, 10, 10), (40, 80, 140), (180, 215, 235))] == \
        ["red", "orange", "yellow", "green", "blue", "white", "grey", "black", "brown", "beige"]
    half = np.zeros((2, 2, 3), np.uint8)
    half[0] = (0, 0, 255)
    assert colour_names(half) == [("black", 0.5), ("red", 0.5)]


def test_describe_states_what_was_drawn(frames: dict[str, list[Frame]]) -> None:
    describe = get("opencv-describe")
    umbrella = describe(frames["umbrella"][1])
    assert umbrella.startswith(f"At {frames['umbrella'][1].time_s:.1f} s: ") and umbrella.endswith(".")
    assert "grey" in umbrella and "small areas of red" in umbrella  # the red umbrella
    assert "motion" in umbrella
    night = describe(frames["night"][0], motion=False)
    assert "very dark" in night and "blue" in night and "motion" not in night
    if detectors_available():
        assert "1 person and no face detected" in umbrella
        assert "no person and 1 face detected" in describe(frames["face"][0])
    assert describe(frames["umbrella"][1]) == umbrella  # deterministic


def test_motion_is_not_measured_across_a_cut() -> None:
    meta = MANIFEST["city_walk"]
    cut = meta["cuts_s"][1]
    whole = Clip(str(SAMPLES / meta["file"]), 0.0, meta["duration_s"])
    image = get("opencv-frames")(Clip(whole.path, cut, cut + 0.1), frames_per_scene=1)[0].image
    # The frame 0.2 s earlier is in the previous scene; the one 0.2 s later is not.
    text = get("opencv-describe")(Frame(image, whole, cut + 1 / meta["fps"]))
    assert "strong motion" not in text
