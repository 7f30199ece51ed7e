"""Input files as a job names them: where they are, and statistics probed from them.

Paths in a job are relative to the job file's directory, or else to the directory the
command runs from (where the README runs the examples from); a file found in neither
keeps its path as written (the simulator plans for files that need not exist).

Media files: PyAV reads the container's header (duration, stream frame rate); no frame
is decoded, so probing a long video costs milliseconds. Text documents: their words are
counted, at :data:`TOKENS_PER_WORD` tokens a word.
"""

from __future__ import annotations

import errno
import glob
import os
import stat

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


GLOB_CHARS = frozenset("*?[")


def expand_input(path: str, script: str) -> list[str] | None:
    """The files a list item names when it is a glob (``'docs/*.txt'``, looked for next
    to ``script`` and then in the working directory, like :func:`resolve_path`) or a
    folder (its regular files, not hidden, not recursive), sorted; None when ``path`` is
    neither (one file, or nothing yet). A glob that matches nothing gives ``[]``."""
    if GLOB_CHARS & set(path):
        bases = [""] if os.path.isabs(path) else (
            [os.path.dirname(os.path.abspath(script))] if os.path.isfile(script) else []) + [os.getcwd()]
        for base in bases:
            found = sorted(p for p in glob.glob(os.path.join(base, path)) if os.path.isfile(p))
            if found:
                return [os.path.normpath(p) for p in found]
        return []
    resolved = resolve_path(path, script)
    if os.path.isdir(resolved):
        return sorted(os.path.join(resolved, name) for name in os.listdir(resolved)
                      if not name.startswith(".") and os.path.isfile(os.path.join(resolved, name)))
    return None


def input_file_problem(path: str) -> tuple[str, str | None] | None:
    """Why ``path`` cannot be a run's input file, as (message, hint), or None when it is a
    regular file (through any symbolic links). Looks with ``stat`` only and never opens
    it: opening a FIFO blocks until a writer comes, and a device such as /dev/zero never
    ends."""
    try:
        st = os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return (f"input file {path} is a symbolic link loop",
                    "point the link at a real file, or name the file itself")
        if e.errno == errno.ENOENT and os.path.islink(path):
            return (f"input file {path} is a broken symbolic link (to {os.readlink(path)})",
                    "point the link at a real file, or name the file itself")
        if e.errno == errno.ENOENT:
            return (f"input file not found: {path}",
                    "a real run reads its inputs; to plan without them, simulate: murakkab run --backend sim")
        return f"cannot read input file {path}: {e.strerror or e}", None
    if stat.S_ISREG(st.st_mode):
        return None
    if stat.S_ISDIR(st.st_mode):
        return f"{path} is a folder, not a file", "name each file: ['folder/a.mp4', 'folder/b.mp4']"
    kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else "a character device" if stat.S_ISCHR(st.st_mode)
            else "a block device" if stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
            else "a special file")
    return (f"input file {path} is {kind}, not a regular file",
            "name a regular file: a pipe or device has no fixed content to plan for, read or cache by")


def unreadable_input(path: str, type_name: str) -> tuple[str, str] | None:
    """Why a path that is there cannot be read as an input of ``type_name`` (DOCUMENT or a
    media type), as (message, hint) in the words a run uses; None when it can be, or when
    nothing is there yet (the simulator plans for files that need not exist)."""
    if not os.path.lexists(path):
        return None
    problem = input_file_problem(path)
    if problem is not None:
        return problem[0], problem[1] or "name a regular file"
    if type_name == "DOCUMENT":
        try:
            with open(path, "rb") as f:
                f.read().decode("utf-8-sig")
        except UnicodeDecodeError as e:
            return not_utf8(path, e)
        except OSError as e:
            return f"cannot read {path}: {e.strerror or e}", "check the file's permissions"
        return None
    try:
        import av

        with av.open(path):
            return None
    except Exception as e:  # noqa: BLE001 - PyAV raises FFmpeg's many error types; each means "not media"
        why = getattr(e, "strerror", None) or e  # FFmpeg's words, without its errno and the path again
        return f"{path} is not a media file this machine can read: {why}", MEDIA_HINT


# What to pass instead of a file that is not media (here and where a run opens inputs).
MEDIA_HINT = "pass a video or audio file (anything PyAV/FFmpeg opens)"


def not_utf8(path: str, e: UnicodeDecodeError) -> tuple[str, str]:
    """(message, hint) for a document that is not UTF-8: the first bad byte and its offset."""
    return (f"{path} is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start})",
            "convert it to UTF-8 plain text first (e.g. iconv -f latin1 -t utf-8); "
            "PDF and word-processor files need converting to text")


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
