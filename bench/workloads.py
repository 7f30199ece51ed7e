"""Synthetic job scripts of a given size, for the planning benchmarks.

A video is split into scenes and transcribed; then `n` tasks build on earlier ones:
per-item summaries of a list (maps, which fan out) and question answering over a few
earlier texts (gathers). Seeded, so every run plans the same workflow.
"""

from __future__ import annotations

import random


def big_workflow(n: int, seed: int = 0, returns: int = 50) -> str:
    """A script with one workflow of about ``n`` tasks and one RUN of it."""
    rng = random.Random(seed)
    tasks = ["s0 := scene_detection (v)", "t0 := speech_to_text (s0)"]
    lists, texts = ["t0"], ["t0"]
    for i in range(1, max(2, n - 1)):
        if rng.random() < 0.5:
            src = rng.choice(lists)
            tasks.append(f"x{i} := summarization ({src})")
            lists.append(f"x{i}")
            texts.append(f"x{i}")
        else:
            context = rng.sample(texts, min(2, len(texts)))
            tasks.append(f"x{i} := question_answering (q, {', '.join(context)})")
            texts.append(f"x{i}")
    # Return many results so that most tasks stay live after dead-task elimination.
    outputs = texts[-returns:] + [t for t in texts[:-returns] if rng.random() < 0.5]
    body = ",\n  ".join(tasks)
    return (f"CREATE WORKFLOW big (v VIDEO, q TEXT) AS (\n  {body}\n) RETURNS {', '.join(outputs)};\n"
            "RUN big (v => 'x.mp4' ASSUMING (duration = 10 min, fps = 30), q => 'why?');\n")
