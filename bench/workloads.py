"""Synthetic job scripts of a given size, for the planning benchmarks.

A video is split into scenes and transcribed; then `n` tasks build on earlier ones:
per-item summaries of a list (maps, which fan out) and question answering over a few
earlier texts (gathers). Seeded, so every run plans the same workflow.
"""

from __future__ import annotations

import random


def big_workflow(n: int, seed: int = 0) -> str:
    """A script with one workflow of ``n`` distinct tasks, all of them live, and one RUN."""
    rng = random.Random(seed)
    tasks = ["s0 := scene_detection (v)", "t0 := speech_to_text (s0)"]
    unsummarised, texts = ["t0"], ["t0"]
    for i in range(1, max(2, n - 1)):
        # Each list is summarised once, and every question reads the newest text (so no
        # two read the same pair): no two tasks are the same computation, and
        # merge_common_tasks leaves all of them.
        if unsummarised and rng.random() < 0.5:
            src = unsummarised.pop(rng.randrange(len(unsummarised)))
            tasks.append(f"x{i} := summarization ({src})")
            unsummarised.append(f"x{i}")
        else:
            context = [texts[-1]] + ([rng.choice(texts[:-1])] if len(texts) > 1 else [])
            tasks.append(f"x{i} := question_answering (q, {', '.join(context)})")
        texts.append(f"x{i}")
    outputs = texts
    body = ",\n  ".join(tasks)
    return (f"CREATE WORKFLOW big (v VIDEO, q TEXT) AS (\n  {body}\n) RETURNS {', '.join(outputs)};\n"
            "RUN big (v => 'x.mp4' ASSUMING (duration = 10 min, fps = 30), q => 'why?');\n")
