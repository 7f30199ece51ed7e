"""Input statistics probed from real media files, without decoding them.

PyAV reads the container's header (duration, stream frame rate); no frame is decoded,
so probing a long video costs milliseconds.
"""

from __future__ import annotations

import os


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
