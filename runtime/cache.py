"""A content-addressed cache of agent outputs on disk.

The key of one call is a hash of the agent's name and version, its knobs, the
fingerprints of its arguments (``runtime/agents/values.fingerprint``: a clip's key covers
its file's bytes and range) and the places of the media files they read, so a finished
call is never redone, whichever run or plan asks for it again. Entries are written to a temporary file and renamed into place: a run
killed at any moment (SIGKILL included) leaves every entry either whole or absent.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

_MISSING = object()


def default_cache_dir() -> Path:
    """``$MURAKKAB_CACHE``, else ``$XDG_CACHE_HOME/murakkab``, else ``~/.cache/murakkab``."""
    if os.environ.get("MURAKKAB_CACHE"):
        return Path(os.environ["MURAKKAB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "murakkab"


def usable_cache_dir(root: Path) -> None:
    """Create ``root`` if missing and check a file can be written in it; else a clear
    error before any work starts (not a failure of the first agent that finishes)."""
    from ..grammar.diagnostics import MurakkabError

    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".probe-"):
            pass
    except OSError as exc:
        raise MurakkabError(f"cannot use {root} as the output cache: {exc.strerror or exc}",
                            hint="pass --cache-dir DIR (or set $MURAKKAB_CACHE) to a writable directory, "
                                 "or --no-cache") from None


def call_key(agent: str, version: str, knobs: dict[str, Any], args: tuple[Any, ...],
             settings: dict[str, str | None] | None = None) -> str:
    """The cache key of one call; ``settings`` are the values of the environment variables
    the agent declared it reads (``AgentSpec.settings``): another endpoint or model is
    another answer."""
    from .agents.values import fingerprint

    h = hashlib.sha256()
    h.update(f"{agent}\0{version}\0".encode())
    h.update(fingerprint(tuple(sorted(knobs.items()))).encode())
    h.update(fingerprint(args).encode())
    if settings:
        h.update(fingerprint(settings).encode())
    # Outputs name the files their clips come from (a scene is a range of its video), so
    # an entry serves the same content at the same place only: a copy elsewhere, or a
    # run from another directory, must not be handed clips of a path it cannot open.
    h.update("\0".join(sorted(media_paths(args))).encode())
    return h.hexdigest()


def media_paths(value: Any) -> set[str]:
    """Absolute paths of the media files the clips in ``value`` read."""
    from .agents.values import Clip

    if isinstance(value, Clip):
        return {os.path.abspath(value.path)}
    if isinstance(value, (list, tuple)):
        return set().union(*(media_paths(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(media_paths(v) for v in value.values())) if value else set()
    return set()


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pkl"

    def get(self, key: str) -> Any:
        """The cached output, or ``Cache.MISSING``."""
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except FileNotFoundError:
            return _MISSING
        except (pickle.UnpicklingError, EOFError, OSError, AttributeError):
            # Unreadable (e.g. written by another version): recompute it.
            return _MISSING

    def put(self, key: str, value: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    MISSING = _MISSING


# What the cache writes, and so all that `murakkab cache clear` removes: entries (and their
# leftover temporary files) in two-hex-digit folders, and derived media under media/.
_ENTRY = re.compile(r"^([0-9a-f]{64}\.pkl|\.tmp-.*)$")
_FOLDER = re.compile(r"^[0-9a-f]{2}$")


@dataclass(frozen=True)
class CacheUsage:
    """What a cache folder holds: call outputs and derived media, counted and sized."""

    root: Path
    entries: int
    entry_bytes: int
    media_files: int
    media_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.entry_bytes + self.media_bytes


def _owned(root: Path) -> Iterator[tuple[Path, bool]]:
    """(file, is it media) for every file the cache wrote under ``root``; nothing else."""
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if folder.is_dir() and not folder.is_symlink() and _FOLDER.match(folder.name):
            for f in folder.iterdir():
                if f.is_file() and _ENTRY.match(f.name):
                    yield f, False
    media = root / "media"
    if media.is_dir() and not media.is_symlink():
        for f in media.rglob("*"):
            if f.is_file() and not f.is_symlink():
                yield f, True


def cache_usage(root: Path) -> CacheUsage:
    counts = {False: [0, 0], True: [0, 0]}
    for f, is_media in _owned(Path(root)):
        counts[is_media][0] += 1
        counts[is_media][1] += f.stat().st_size
    return CacheUsage(Path(root), counts[False][0], counts[False][1], counts[True][0], counts[True][1])


def clear_cache(root: Path) -> CacheUsage:
    """Remove every entry and derived media file the cache wrote under ``root`` (files of
    any other kind, and the folder itself, are left alone); returns what was removed.
    Not for a cache a run is using: that run would compute again what it had."""
    root = Path(root)
    removed = cache_usage(root)
    for f, _ in list(_owned(root)):
        f.unlink(missing_ok=True)
    media = root / "media"
    folders = [f for f in root.iterdir() if f.is_dir() and _FOLDER.match(f.name)] if root.is_dir() else []
    if media.is_dir() and not media.is_symlink():
        folders += sorted((d for d in media.rglob("*") if d.is_dir()), key=lambda d: -len(d.parts)) + [media]
    for folder in folders:
        try:
            folder.rmdir()  # only if empty: anything else in it stays
        except OSError:
            pass
    return removed
