"""The pocketsphinx agent on the samples' espeak-ng speech. PocketSphinx's generic en-us
model mishears a synthetic voice often, so the checks are lenient: the transcript of each
video shares content words with what was said."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from murakkab.runtime.agents import Clip, get
from murakkab.runtime.agents.text import STOP_WORDS

pytest.importorskip("pocketsphinx")

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
MANIFEST: dict[str, Any] = json.loads((SAMPLES / "samples.json").read_text())["videos"]


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOP_WORDS}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_transcript_shares_words_with_the_speech(name: str, tmp_path: Path) -> None:
    meta = MANIFEST[name]
    audio = get("pyav-audio")(Clip.whole(SAMPLES / meta["file"]), workdir=str(tmp_path))
    transcript = get("pocketsphinx")(audio)
    spoken = content_words(" ".join(s["sentence"] for s in meta["scenes"]))
    heard = content_words(transcript)
    assert len(spoken & heard) >= 2, (transcript, spoken)
    assert transcript == transcript.lower()


def test_a_scene_is_transcribed_from_the_video_directly() -> None:
    meta = MANIFEST["city_walk"]
    scene = meta["scenes"][1]
    clip = Clip(str(SAMPLES / meta["file"]), scene["start_s"], scene["end_s"])
    text = get("pocketsphinx")(clip)
    assert content_words(text) & content_words(scene["sentence"]), text
    assert get("pocketsphinx")(clip) == text  # deterministic


def test_silence_gives_an_empty_transcript() -> None:
    meta = MANIFEST["city_walk"]
    lead_in = Clip(str(SAMPLES / meta["file"]), 0.0, meta["scenes"][0]["speech_s"][0] - 0.05)
    assert get("pocketsphinx")(lead_in) == ""


def test_a_video_without_an_audio_track_gives_an_empty_transcript(tmp_path: Path) -> None:
    # Its audio decodes to zeros, on which the decoder alone would invent a word.
    import av
    import numpy as np

    path = tmp_path / "mute.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(48):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 5, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    audio = get("pyav-audio")(Clip.whole(path), workdir=str(tmp_path))
    assert audio.duration_s == pytest.approx(2.0, abs=0.1)
    assert get("pocketsphinx")(audio) == ""
    assert get("pocketsphinx")(Clip.whole(path)) == ""
