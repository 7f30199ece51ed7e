"""Input files as a job names them: where they are, and statistics probed from them.

Paths in a job are relative to the job file's directory, or else to the directory the
command runs from (where the README runs the examples from); a file found in neither
keeps its path as written (the simulator plans for files that need not exist).

Media files: PyAV reads the container's header (duration, stream frame rate); no frame
is decoded, so probing a long video costs milliseconds. Text documents: their words are
counted, at :data:`TOKENS_PER_WORD` tokens a word.
"""

from __future__ import annotations

import os

# LLM tokens per English word: the ratio of the catalog's document_tokens and
# speech_tokens_per_s statistics, and the count the document agents cut and summarise
# by (runtime/agents/documents.py), so a probed document is estimated as it is chunked.
TOKENS_PER_WORD = 1.3


def resolve_path(path: str, script: str) -> str:
    """The absolute path of a file a job names, looked for next to ``script`` (the job
    file's name; ``<string>`` and the like have no directory) and then in the working
    directory; ``path`` unchanged when neither has it."""
    if os.path.isabs(path):
        return path
    bases = [os.path.dirname(os.path.abspath(script))] if os.path.isfile(script) else []
    for base in [*bases, os.getcwd()]:
        candidate = os.path.join(base, path)
        if os.path.exists(candidate):
            return os.path.normpath(candidate)
    return path


def probe_media(path: str) -> dict[str, float] | None:
    """``{'duration_s': ..., 'fps': ...}`` for a readable media file, else None."""
    if not os.path.isfile(path):
        return None
    try:
        import av

        with av.open(path) as container:
            duration = float(container.duration) / 1_000_000 if container.duration else 0.0
            out: dict[str, float] = {}
            if duration > 0:
                out["duration_s"] = duration
            if container.streams.video:
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
                if rate:
                    out["fps"] = float(rate)
                if not duration and stream.duration and stream.time_base:
                    out["duration_s"] = float(stream.duration * stream.time_base)
            return out or None
    except Exception:  # noqa: BLE001 - any unreadable file falls back to stated/default statistics
        return None


def probe_document(path: str) -> dict[str, float] | None:
    """``{'tokens': words x 1.3}`` of a readable UTF-8 text file, else None (the stated or
    default statistic is used then). Reads the file line by line: a word never spans a
    line break."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8-sig") as f:
            words = sum(len(line.split()) for line in f)
    except (OSError, UnicodeDecodeError):
        return None
    return {"tokens": words * TOKENS_PER_WORD}
