"""Runtime values (runtime/agents/values.py): Clip and Frame, and the content fingerprints
the executor's cache keys on."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from murakkab.runtime.agents.values import Clip, Frame, fingerprint, media_duration

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
CITY = str(SAMPLES / "city_walk.mp4")


def test_clip_is_canonical_and_checked() -> None:
    assert Clip(CITY, 0, 2) == Clip(CITY, 0.0, 2.0)
    assert Clip(Path(CITY), 1, 3.5).duration_s == 2.5
    for start, end in ((-1, 2), (2, 2), (3, 2), (0, float("inf")), (float("nan"), 1)):
        with pytest.raises(ValueError):
            Clip(CITY, start, end)
    with pytest.raises(ValueError):
        Clip("", 0, 1)


def test_whole_clip_has_the_media_duration() -> None:
    whole = Clip.whole(CITY)
    assert whole.start_s == 0.0
    assert whole.end_s == pytest.approx(media_duration(CITY)) == pytest.approx(11.25, abs=0.05)


def test_frame_is_read_only_comparable_and_picklable() -> None:
    image = np.zeros((4, 6, 3), np.uint8)
    frame = Frame(image, Clip(CITY, 0, 1), 0.5)
    with pytest.raises(ValueError):
        frame.image[0, 0, 0] = 1  # frozen pixels
    assert (frame.width, frame.height) == (6, 4)
    again = pickle.loads(pickle.dumps(frame))
    assert again == frame and hash(again) == hash(frame)
    assert frame != Frame(np.ones((4, 6, 3), np.uint8), Clip(CITY, 0, 1), 0.5)
    assert frame.png().startswith(b"\x89PNG")
    assert "4" in repr(frame) and "array" not in repr(frame)
    with pytest.raises(ValueError):
        Frame(np.zeros((4, 6), np.uint8), Clip(CITY, 0, 1), 0.0)  # not H x W x 3
    with pytest.raises(ValueError):
        Frame(np.zeros((4, 6, 3), np.float32), Clip(CITY, 0, 1), 0.0)


def test_fingerprint_is_stable_and_separates_values() -> None:
    a = Clip(CITY, 0.0, 2.5)
    assert fingerprint(a) == fingerprint(Clip(CITY, 0, 2.5)) == fingerprint(pickle.loads(pickle.dumps(a)))
    assert fingerprint(a) != fingerprint(Clip(CITY, 0.0, 2.6))          # a different range
    assert fingerprint(a) != fingerprint(Clip(str(SAMPLES / "kitchen.mp4"), 0.0, 2.5))  # other bytes
    assert fingerprint("1") != fingerprint(1) != fingerprint(1.0) != fingerprint(True)
    assert fingerprint([1, "a"]) == fingerprint((1, "a")) != fingerprint(["a", 1])
    assert fingerprint({"x": 1, "y": [2]}) == fingerprint({"y": [2], "x": 1})
    assert fingerprint(["ab", "c"]) != fingerprint(["a", "bc"])        # lengths are part of the encoding
    img = np.zeros((2, 3, 3), np.uint8)
    assert fingerprint(Frame(img, a, 1.0)) != fingerprint(Frame(img, a, 1.5))
    assert fingerprint(img) != fingerprint(img.reshape(3, 2, 3))       # same bytes, other shape
    assert len(fingerprint(None)) == 64
    with pytest.raises(TypeError, match="cannot fingerprint a object"):
        fingerprint(object())


def test_fingerprint_is_the_same_in_another_process() -> None:
    code = ("from murakkab.runtime.agents.values import Clip, fingerprint; "
            f"print(fingerprint([Clip({CITY!r}, 1, 2), 'q', 3.5]))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    assert out == fingerprint([Clip(CITY, 1, 2), "q", 3.5])


def test_clip_fingerprint_follows_the_file_bytes(tmp_path: Path) -> None:
    copy = tmp_path / "copy.mp4"
    shutil.copyfile(CITY, copy)
    assert fingerprint(Clip(str(copy), 0, 1)) == fingerprint(Clip(CITY, 0, 1))  # content, not path
    before = fingerprint(Clip(str(copy), 0, 1))
    with open(copy, "ab") as f:
        f.write(b"\0")
    assert fingerprint(Clip(str(copy), 0, 1)) != before
    with pytest.raises(FileNotFoundError):
        fingerprint(Clip(str(tmp_path / "missing.mp4"), 0, 1))
