"""extractive-qa, concat-text and majority-vote, and a small end-to-end run of the video
Q&A workflow's agents on a sample (scenes -> frames/transcripts -> captions -> answer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from murakkab.runtime.agents import AgentError, Clip, get
from murakkab.runtime.agents.values import Document
from murakkab.runtime.agents.text import NO_ANSWER, bm25_rank, sentences, terms

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
MANIFEST: dict[str, Any] = json.loads((SAMPLES / "samples.json").read_text())["videos"]
SPOKEN = [s["sentence"] for meta in MANIFEST.values() for s in meta["scenes"]]


@pytest.mark.parametrize("question, answer", [
    ("What is the man holding?", "He is holding an umbrella in the rain."),
    ("Where is it raining today?", "It is raining in the park today."),
    ("What is on the table?", "There is an orange on the table."),
    ("Who is smiling at the camera?", "The cook is smiling at the camera."),
    ("Where is the car parked?", "The car is parked on the street."),
])
def test_extractive_qa_picks_the_sentence_with_the_answer(question: str, answer: str) -> None:
    # The context as the workflow passes it: a list of per-scene transcripts, plus captions.
    captions = ["At 3.4 s: a moderately bright frame, mostly grey (95%) with small areas of red; "
                "1 person and no face detected; slight motion."]
    assert get("extractive-qa")(question, captions, SPOKEN) == answer


def test_extractive_qa_details() -> None:
    qa = get("extractive-qa")
    context = "The man walks. The man is holding an umbrella!\nIt rains. A dog is holding a stick."
    assert sentences([context]) == ["The man walks.", "The man is holding an umbrella!", "It rains.",
                                    "A dog is holding a stick."]
    assert qa("What is the man holding?", context) == "The man is holding an umbrella!"
    assert qa("What is the dog holding?", context, top_k=2) == \
        "A dog is holding a stick. The man is holding an umbrella!"  # best first
    assert qa("What colour is the sky?", context) == NO_ANSWER
    assert qa("What is the man holding?") == NO_ANSWER                        # no context at all
    assert qa("Holding what?", 3, Clip("x.mp4", 0, 1), ["It is holding on."]) == "It is holding on."  # non-text ignored
    assert qa("What is the man holding?", context, seed=2) == qa("What is the man holding?", context)
    assert terms("The cities' holdings") == ["city", "holding"]
    assert bm25_rank(["umbrella"], [["umbrella"], ["rain"]])[1] == 0.0
    with pytest.raises(AgentError, match="top_k"):
        qa("q", context, top_k=0)
    with pytest.raises(AgentError, match="question must be text"):
        qa(["q"], context)


def test_extractive_qa_reads_a_document_in_its_context(tmp_path: Path) -> None:
    """A DOCUMENT argument is the file's text, not an item to drop (a report to ask about)."""
    report = tmp_path / "report.txt"
    report.write_text("Headcount stayed flat.\nRevenue grew by twelve percent in the third quarter.\n")
    qa = get("extractive-qa")
    assert qa("By how much did revenue grow?", Document(str(report))) == \
        "Revenue grew by twelve percent in the third quarter."
    assert qa("What stayed flat?", [Document(str(report)), "Costs stayed flat too, mostly."]) == \
        "Headcount stayed flat."
    with pytest.raises(AgentError, match="extractive-qa: document not found"):
        qa("Anything?", Document(str(tmp_path / "missing.txt")))


def test_concat_and_vote() -> None:
    assert get("concat-text")(["a", "b", "c"]) == "a\nb\nc"
    assert get("concat-text")([], separator=" ") == ""
    assert get("concat-text")(["", "a", " ", "b", ""], separator=" ") == "a b"
    with pytest.raises(AgentError, match="every part must be text"):
        get("concat-text")(["a", 1])
    vote = get("majority-vote")
    assert vote(["An umbrella.", "a red umbrella", "an  UMBRELLA"]) == "An umbrella."
    assert vote(["b", "a", "a", "b"]) == "b"  # a tie goes to the answer seen first
    assert vote(["only"]) == "only"
    with pytest.raises(AgentError, match="no candidate answers"):
        vote([])
    with pytest.raises(AgentError, match="list of texts"):
        vote("abc")


def test_video_qa_agents_end_to_end() -> None:
    """The agents the video Q&A job uses, chained by hand as an executor would."""
    pytest.importorskip("pocketsphinx")
    meta = MANIFEST["city_walk"]
    video = Clip.whole(SAMPLES / meta["file"])
    scenes = get("opencv-content-scenes")(video)
    assert len(scenes) == len(meta["scenes"])
    captions = [get("opencv-describe")(frame) for scene in scenes
                for frame in get("opencv-frames")(scene, frames_per_scene=1)]
    transcripts = [get("pocketsphinx")(scene) for scene in scenes]
    answers = [get("extractive-qa")("What is the man holding?", captions, transcripts, seed=k) for k in (1, 2, 3)]
    answer = get("majority-vote")(answers)
    assert answer == NO_ANSWER or any(answer in text for text in transcripts + captions)
    if "holding" in transcripts[1]:  # what PocketSphinx 5 hears in the umbrella scene
        assert answer == transcripts[1]
    # Whatever the recogniser heard, the caption of the umbrella scene names its colours.
    assert any("red" in c for c in captions)
