"""The agent registry (runtime/agents/registry.py): built-ins, user agents, and the errors a
mistake gets, at registration rather than at run time."""

from __future__ import annotations

import importlib
from typing import Any, Iterator

import pytest

from murakkab.grammar.diagnostics import MurakkabError
from murakkab.runtime import agents
from murakkab.runtime.agents import LOCAL_AGENTS, AgentError, Clip, UnknownAgentError, agent, get, load, registered
from murakkab.runtime.agents.registry import BUILTIN_AGENTS, _REGISTRY, parse_params, seed_interfaces, unregister


@pytest.fixture
def cleanup() -> Iterator[list[str]]:
    """Names registered by a test, unregistered after it."""
    names: list[str] = []
    yield names
    for name in names:
        _REGISTRY.pop(name, None)


def test_every_builtin_registers_from_its_module_and_matches_the_seed() -> None:
    specs = {s.name: s for s in registered()}
    assert set(BUILTIN_AGENTS) <= set(specs)
    seed = seed_interfaces()
    for name, module in BUILTIN_AGENTS.items():
        spec = specs[name]
        assert spec.fn.__module__ == f"murakkab.runtime.agents.{module}", name
        assert spec.interface in seed and spec.version.isdigit() and spec.description, name
        assert set(seed[spec.interface].knobs) <= set(spec.knobs), name  # interface knobs accepted
    assert [s.name for s in registered("scene_detection")] == ["opencv-content-scenes", "opencv-histogram-scenes"]


def test_local_agents_and_load_keep_their_meaning() -> None:
    from murakkab.runtime.agents.frames import extract_frames
    from murakkab.runtime.agents.media import opencv_frames

    assert set(LOCAL_AGENTS) == {"opencv-frames"}
    assert load("opencv-frames") is extract_frames          # the raw function the profiler measures
    assert get("opencv-frames").fn is opencv_frames          # the Clip -> list[Frame] agent
    assert load("concat-text") is get("concat-text")


def test_unknown_agent_says_what_was_meant() -> None:
    with pytest.raises(UnknownAgentError) as err:
        get("opencv-frame")
    assert isinstance(err.value, KeyError) and isinstance(err.value, MurakkabError)
    assert err.value.hint is not None and "did you mean 'opencv-frames'?" in err.value.hint
    assert "unknown agent 'opencv-frame'" in str(err.value)
    with pytest.raises(KeyError):
        load("no-such-agent")


def test_user_agent_registers_and_runs(cleanup: list[str]) -> None:
    @agent("my-stt", interface="speech_to_text", version="2")
    def transcribe(audio: Clip, *, language: str = "en") -> str:
        """Say where the audio is."""
        return f"{language}:{audio.start_s:g}-{audio.end_s:g}"

    cleanup.append("my-stt")
    spec = get("my-stt")
    assert (spec.interface, spec.version, spec.knobs, spec.description) == \
        ("speech_to_text", "2", ("language",), "Say where the audio is.")
    assert spec(Clip("x.wav", 0, 3), language="fr") == "fr:0-3"
    assert transcribe(Clip("x.wav", 1, 2)) == "en:1-2"  # the decorator returns the function unchanged
    assert "my-stt" in [s.name for s in registered("speech_to_text")]
    with pytest.raises(AgentError, match="has no knob 'langage'") as err:
        spec(Clip("x.wav", 0, 3), langage="fr")
    assert err.value.hint == "its knobs: language"
    with pytest.raises(AgentError, match="called with 2 arguments"):
        spec(Clip("x.wav", 0, 3), Clip("y.wav", 0, 3))
    unregister("my-stt")
    cleanup.clear()
    with pytest.raises(UnknownAgentError):
        get("my-stt")


def test_variadic_interface_and_custom_signature(cleanup: list[str]) -> None:
    @agent("echo-qa", interface="question_answering")
    def echo(question: str, *context: Any, seed: int | None = None) -> str:
        return f"{question} {len(context)}"

    @agent("shout", interface="shouting", signature="text TEXT; volume NUMBER")
    def shout(text: str, volume: float) -> str:
        return text.upper() + "!" * int(volume)

    cleanup.extend(["echo-qa", "shout"])
    assert get("echo-qa")("q", "a", ["b"]) == "q 2"
    assert get("shout")("hi", 2) == "HI!!"
    assert parse_params("question TEXT; context ANY...")[1].variadic


@pytest.mark.parametrize("define, message", [
    (lambda: agent("Bad Name", interface="speech_to_text"), "bad agent name"),
    (lambda: agent("x", interface="speech_to_txt"), "unknown interface 'speech_to_txt'"),
    (lambda: agent("x", interface="speech_to_text", version=""), "version must be a non-empty string"),
    (lambda: agent("x", interface="speech_to_text")(lambda: ""), "takes ()"),
    (lambda: agent("x", interface="speech_to_text")(lambda a, b: ""), "takes (a, b)"),
    (lambda: agent("x", interface="question_answering")(lambda q, c: ""), "implements question_answering"),
    (lambda: agent("x", interface="frame_extraction")(lambda scene: []), "does not accept its knob 'frames_per_scene'"),
    (lambda: agent("x", interface="speech_to_text")(_knob_without_default), "knob 'language' has no default"),
    (lambda: agent("x", interface="q", signature="a TEXT...; b TEXT"), "only the last parameter may be variadic"),
    (lambda: agent("x", interface="q", signature="TEXT"), "bad interface parameter 'TEXT'"),
])
def test_registration_mistakes_are_caught_early(define: Any, message: str) -> None:
    with pytest.raises(AgentError, match=None) as err:
        define()
    assert message in err.value.render()
    assert "x" not in _REGISTRY


def _knob_without_default(audio: Clip, *, language: str) -> str:
    return language


def test_unknown_interface_hint_and_duplicate_names(cleanup: list[str]) -> None:
    with pytest.raises(AgentError) as err:
        agent("x", interface="speech_to_txt")
    assert err.value.hint is not None and "did you mean 'speech_to_text'?" in err.value.hint

    def first(text: list[str]) -> str:
        return "first"

    def second(text: list[str]) -> str:
        return "second"

    agent("dup", interface="text_concatenation")(first)
    cleanup.append("dup")
    agent("dup", interface="text_concatenation")(first)  # the same function again (a module reload) is fine
    with pytest.raises(AgentError, match="already registered by"):
        agent("dup", interface="text_concatenation")(second)
    agent("dup", interface="text_concatenation", replace=True)(second)
    assert get("dup")([]) == "second"


def test_builtin_module_reload_keeps_one_registration() -> None:
    before = get("concat-text")
    importlib.reload(importlib.import_module("murakkab.runtime.agents.text"))
    after = get("concat-text")
    assert after.name == before.name and after("a b".split(), separator="+") == "a+b"
    assert agents.get is get


def test_a_builtin_name_is_taken_before_its_module_is_imported(cleanup: list[str]) -> None:
    """Built-ins are imported on first use, so a user's agent of the same name must not
    slip in first and then be blamed when the built-in arrives."""
    name = "extractive-qa"
    saved = _REGISTRY.pop(name, None)
    try:
        def mine(question: str, *context: Any) -> str:
            return "42"

        with pytest.raises(AgentError, match=r"'extractive-qa' is a built-in agent \(murakkab.runtime.agents.text\)"):
            agent(name, interface="question_answering")(mine)
        agent(name, interface="question_answering", replace=True)(mine)
        # The built-in module, imported after the replacement, leaves the user's in place.
        importlib.reload(importlib.import_module("murakkab.runtime.agents.text"))
        assert get(name)("q") == "42"
    finally:
        _REGISTRY.pop(name, None)
        if saved is not None:
            _REGISTRY[name] = saved
