"""Local implementations of catalog agents: code that really runs on this machine.

Two views of them:

* :mod:`.registry` — every agent an executor can run, by catalog name: a plain callable
  taking the interface's parameters (runtime values of :mod:`.values`: ``Clip``,
  ``Frame``, ``str``) and its knobs as keywords. Built-in agents register themselves when
  their module is imported (``get`` imports it on first use); users register their own
  with ``@agent("name", interface=...)`` (example in the registry's docstring).

      opencv-content-scenes, opencv-histogram-scenes   scene_detection     (scenes.py)
      opencv-frames                                     frame_extraction    (media.py)
      pyav-audio                                        audio_extraction    (media.py)
      pyav-split                                        media_split         (media.py)
      pocketsphinx                                      speech_to_text      (speech.py)
      opencv-hog                                        object_detection    (vision.py)
      opencv-describe                                   frame_summarization (vision.py)
      extractive-qa                                     question_answering  (text.py)
      openai-chat                                       question_answering  (llm.py)
      concat-text                                       text_concatenation  (text.py)
      majority-vote                                     answer_vote         (text.py)
      text-chunker                                      document_chunking   (documents.py)
      extractive-summary                                summarization       (documents.py)
      extractive-reduce                                 summary_reduction   (documents.py)

* :data:`LOCAL_AGENTS` — the raw functions ``murakkab catalog profile`` measures, mapped
  to ``"module:function"`` and imported only when loaded:

      opencv-frames   ``extract_frames(path, start_s, end_s, count)`` -> list of arrays
                      (murakkab.runtime.agents.frames; ``FrameDecoder(cores)`` for n cores)

:func:`load` returns the raw function for a name in ``LOCAL_AGENTS`` and the registered
agent otherwise. Importing this package imports neither OpenCV nor PyAV.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from .errors import AgentError, MediaError, UnknownAgentError
from .registry import AgentSpec, agent, get, registered, unregister
from .values import Clip, Document, Frame, fingerprint

LOCAL_AGENTS: dict[str, str] = {
    "opencv-frames": "murakkab.runtime.agents.frames:extract_frames",
}


def load(agent: str) -> Callable[..., Any]:
    """The callable implementing ``agent`` on this machine (KeyError if there is none)."""
    if agent in LOCAL_AGENTS:
        module, _, function = LOCAL_AGENTS[agent].partition(":")
        return getattr(importlib.import_module(module), function)
    return get(agent)  # UnknownAgentError is a KeyError


__all__ = ["LOCAL_AGENTS", "load", "agent", "get", "registered", "unregister", "AgentSpec", "Clip", "Document", "Frame",
           "fingerprint", "AgentError", "MediaError", "UnknownAgentError"]
