"""Local implementations of catalog agents: code that really runs on this machine.

Each entry maps a catalog agent name to ``"module:function"``; the module is imported
only when the agent is loaded, so importing the runtime stays cheap (no OpenCV import).

    opencv-frames   frame_extraction: ``extract_frames(path, start_s, end_s, count)``
                    (murakkab.runtime.agents.frames; ``FrameDecoder(cores)`` for n cores)
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

LOCAL_AGENTS: dict[str, str] = {
    "opencv-frames": "murakkab.runtime.agents.frames:extract_frames",
}


def load(agent: str) -> Callable[..., Any]:
    """The callable implementing ``agent`` on this machine (KeyError if there is none)."""
    module, _, function = LOCAL_AGENTS[agent].partition(":")
    return getattr(importlib.import_module(module), function)
