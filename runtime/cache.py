"""A content-addressed cache of agent outputs on disk, whose entries cannot run code or lie.

The key of one call is a hash of the agent's name and version, its knobs, the
fingerprints of its arguments (``runtime/agents/values.fingerprint``: a clip's key covers
its file's bytes and range) and the places of the media files they read, so a finished
call is never redone, whichever run or plan asks for it again. Entries are written to a
temporary file and renamed into place: a run killed at any moment (SIGKILL included)
leaves every entry either whole or absent.

A cache folder may be shared, or written by someone else, so nothing in it is trusted
until it verifies (:meth:`Cache.lookup`). An entry is data, never code: one header line
(JSON: format, the call's key, the payload's length and SHA-256, and an HMAC-SHA256 of
those under this user's signing key) and a JSON payload in a typed encoding of the
runtime values (:func:`encode` / :func:`decode`: text, numbers, bytes, lists, tuples,
dicts, :class:`Clip`, :class:`Document`, :class:`Frame` and numeric numpy arrays, and
nothing else). The signing key is 32 random bytes in ``.key-<uid>`` in the cache folder,
trusted only when it is a regular file this user owns that nobody else can read or
write, so another user of a shared folder can neither read it nor forge an entry that
verifies: an entry written by them, or edited, counts as foreign. An entry that is
missing is a miss; one that is not a regular file (a FIFO, a symbolic link, a folder:
opened without blocking or following links), too large, unreadable, truncated, written
for another key, not signed with this user's key, or holding a value of any other type
is not trusted either: the call is computed again, and the lookup says why in a note,
never an exception. An answer that holds the value of a secret variable
(``runtime/secrets.py``, in any encoding) is not written.

Example:
    >>> decode(encode([1, 2.5, ("a", None)])) == [1, 2.5, ("a", None)]
    True
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import json
import math
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

_MISSING = object()
FORMAT = "murakkab-cache-2"  # bump when the layout or the value encoding changes
SUFFIX = ".entry"
# No built-in agent's output of one call comes near this (a list of frames is tens of
# MB); a bigger file was not written by an agent we run, and reading it would only cost
# memory.
MAX_ENTRY_BYTES = 1 << 30
MAX_HEADER_BYTES = 4096  # the header line is ~300 bytes
KEY_BYTES = 32  # HMAC-SHA256's block-sized key would be 64; 32 random bytes are 256 bits of key


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


class Untrusted(Exception):
    """Why an entry (or the signing key) is not trusted; a note, never a failure."""


@dataclass(frozen=True)
class Lookup:
    """What the cache holds for a key: the value (``Cache.MISSING`` when nothing
    trusted), and when an entry was there but not trusted, a note that says why."""

    value: Any
    note: str | None = None


class Cache:
    """The entries under ``root`` (see the module docstring for what is trusted)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._key: bytes | None = None

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{SUFFIX}"

    def lookup(self, key: str) -> Lookup:
        """The verified value for ``key``; a miss, with a note when an entry was there but
        did not verify. Never raises for anything found on disk."""
        try:
            data = _read_bounded(self._path(key), MAX_ENTRY_BYTES + MAX_HEADER_BYTES)
            if data is None:
                return Lookup(_MISSING)
            return Lookup(self._verify(key, data))
        except Untrusted as why:
            return Lookup(_MISSING, f"cache entry {key[:12]} not trusted ({why}); computed again")

    def get(self, key: str) -> Any:
        """The cached output, or ``Cache.MISSING`` (an entry that does not verify included)."""
        return self.lookup(key).value

    def _verify(self, key: str, data: bytes) -> Any:
        line, sep, payload = data.partition(b"\n")
        if not sep or len(line) > MAX_HEADER_BYTES:
            raise Untrusted("not a murakkab cache entry")
        try:
            head = json.loads(line)
            fields = (head["format"], head["key"], head["bytes"], head["sha256"], head["mac"])
        except (ValueError, TypeError, KeyError, RecursionError):
            raise Untrusted("not a murakkab cache entry") from None
        if not all(isinstance(f, str) for f in fields[:2] + fields[3:]) or type(fields[2]) is not int:
            raise Untrusted("not a murakkab cache entry")
        fmt, entry_key, size, digest, mac = fields
        if fmt != FORMAT:
            raise Untrusted(f"format {fmt[:40]!r}, not {FORMAT}")
        if entry_key != key:
            raise Untrusted("written for another call")
        if size != len(payload) or not hmac.compare_digest(digest, hashlib.sha256(payload).hexdigest()):
            raise Untrusted("truncated or corrupt: its content hash does not match")
        if not hmac.compare_digest(mac, _mac(self._signing_key(), key, digest)):
            raise Untrusted("not signed with this user's cache key: written by someone else, or edited")
        try:
            return decode(json.loads(payload))
        except (ValueError, TypeError, KeyError, RecursionError, OverflowError):
            raise Untrusted("it holds a value the cache does not store") from None

    def put(self, key: str, value: Any, secret_names: Iterable[str | None] = ()) -> str | None:
        """Write ``value`` under ``key``; or, a note why it was not written: it holds a
        secret (``runtime/secrets.py``), is not a runtime value, is too large, or the
        folder cannot take it. Not writing costs a re-computation, never the run."""
        from .secrets import contains_secret

        if contains_secret(value, secret_names):
            return f"the answer for cache key {key[:12]} holds the value of a secret variable: not cached"
        try:
            payload = json.dumps(encode(value), separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            return f"the answer for cache key {key[:12]} is not a runtime value the cache stores ({exc}): not cached"
        if len(payload) > MAX_ENTRY_BYTES:
            return f"the answer for cache key {key[:12]} is over {MAX_ENTRY_BYTES >> 20} MiB: not cached"
        path = self._path(key)
        try:
            digest = hashlib.sha256(payload).hexdigest()
            head = {"format": FORMAT, "key": key, "bytes": len(payload), "sha256": digest,
                    "mac": _mac(self._signing_key(), key, digest)}
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, json.dumps(head).encode() + b"\n" + payload)
        except (OSError, Untrusted) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return f"cannot write cache entry {key[:12]} ({why}): not cached"
        return None

    def _signing_key(self) -> bytes:
        """This user's key for this folder, created on first use (see the module docstring)."""
        if self._key is None:
            path = self.root / f".key-{os.getuid()}"
            key = _read_key(path)
            if key is None:
                try:
                    _create_key(path)
                except OSError as exc:
                    raise Untrusted(f"cannot create its signing key {path.name}: {exc.strerror or exc}") from None
                key = _read_key(path)
            if key is None:
                raise Untrusted(f"the cache key {path.name} vanished")
            self._key = key
        return self._key

    MISSING = _MISSING


def _create_key(path: Path) -> None:
    """A new random key at ``path``, unless another process made one first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(KEY_BYTES))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic, and never over a key another worker made first
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def _read_key(path: Path) -> bytes | None:
    """The signing key at ``path``; None if there is none; :class:`Untrusted` if it is
    not a private regular file of this user's."""
    try:
        data = _read_bounded(path, KEY_BYTES, private=True)
    except Untrusted as why:
        raise Untrusted(f"its signing key {path.name} is {why}") from None
    if data is not None and len(data) != KEY_BYTES:
        raise Untrusted(f"its signing key {path.name} is not {KEY_BYTES} bytes")
    return data


def _read_bounded(path: Path, limit: int, private: bool = False) -> bytes | None:
    """The bytes of the regular file at ``path`` (None if there is none): opened without
    following a link or blocking (a FIFO opens at once, and is refused), at most ``limit``
    bytes read. ``private``: the file must also be this user's and closed to others."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Untrusted("a symbolic link") from None
        raise Untrusted(f"unreadable: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Untrusted("not a regular file")
        if private and (st.st_uid != os.getuid() or st.st_mode & 0o077):
            raise Untrusted("not private to this user")
        if st.st_size > limit:
            raise Untrusted(f"{st.st_size:,} bytes, over the limit of {limit:,}")
        chunks, left = [], limit + 1  # one byte more: a file that grew past the limit shows it
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise Untrusted(f"over the limit of {limit:,} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise Untrusted(f"unreadable: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _mac(key: bytes, entry_key: str, digest: str) -> str:
    return hmac.new(key, f"{FORMAT}\0{entry_key}\0{digest}".encode(), hashlib.sha256).hexdigest()


# -- the value encoding ------------------------------------------------------------------------
# JSON null, booleans, integers, strings and arrays stand for themselves (None, bool, int,
# str, list); every other value is an object {"t": tag, "v": ...}. A float is its exact
# hex form (so inf and nan survive, and JSON's own floats are refused on reading).
_NUMERIC_KINDS = frozenset("biufc")


def encode(value: Any) -> Any:
    """``value`` as JSON data in the typed encoding; TypeError for anything that is not a
    runtime value (``runtime/agents/values.py``)."""
    import numpy as np

    from .agents.values import Clip, Document, Frame

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return {"t": "float", "v": float(value).hex()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"t": "tuple", "v": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, (bytes, bytearray)):
        return {"t": "bytes", "v": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, Clip):
        return {"t": "Clip", "v": [value.path, encode(value.start_s), encode(value.end_s)]}
    if isinstance(value, Document):
        return {"t": "Document", "v": value.path}
    if isinstance(value, Frame):
        return {"t": "Frame", "v": [encode(value.image), encode(value.source), encode(value.time_s)]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _NUMERIC_KINDS or value.dtype.fields is not None:
            raise TypeError(f"a numpy array of {value.dtype}")
        arr = np.ascontiguousarray(value)
        return {"t": "ndarray", "v": [arr.dtype.str, list(arr.shape), base64.b64encode(arr.tobytes()).decode()]}
    raise TypeError(f"a {type(value).__name__}")


def decode(data: Any) -> Any:
    """The value JSON ``data`` encodes (:func:`encode`); ValueError or TypeError for
    anything :func:`encode` does not write."""
    import numpy as np

    from .agents.values import Clip, Document, Frame

    if data is None or isinstance(data, (bool, str, int)):
        return data
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict) or set(data) != {"t", "v"}:
        raise ValueError(f"not an encoded value: {type(data).__name__}")
    tag, v = data["t"], data["v"]
    if tag == "float" and isinstance(v, str):
        return float.fromhex(v)
    if tag == "tuple" and isinstance(v, list):
        return tuple(decode(x) for x in v)
    if tag == "dict" and isinstance(v, list) and all(isinstance(kv, list) and len(kv) == 2 for kv in v):
        return {decode(k): decode(x) for k, x in v}
    if tag == "bytes" and isinstance(v, str):
        return base64.b64decode(v, validate=True)
    if tag == "Document" and isinstance(v, str):
        return Document(v)
    if isinstance(v, list) and len(v) == 3:
        if tag == "Clip" and isinstance(v[0], str):
            return Clip(v[0], _float(decode(v[1])), _float(decode(v[2])))
        if tag == "Frame":
            image, source = decode(v[0]), decode(v[1])
            if not isinstance(image, np.ndarray) or not (source is None or isinstance(source, Clip)):
                raise ValueError("a Frame holds an array and a Clip or None")
            return Frame(image, source, _float(decode(v[2])))
        if tag == "ndarray" and isinstance(v[0], str) and isinstance(v[1], list) and isinstance(v[2], str):
            dtype = np.dtype(v[0])
            if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None:
                raise ValueError(f"a numpy array of {dtype}")
            if not all(type(n) is int and n >= 0 for n in v[1]):
                raise ValueError("an array's shape is whole numbers")
            raw = base64.b64decode(v[2], validate=True)
            if math.prod(v[1]) * dtype.itemsize != len(raw):
                raise ValueError("an array's bytes do not fill its shape")
            return np.frombuffer(raw, dtype=dtype).reshape(v[1]).copy()
    raise ValueError(f"not an encoded value: tag {str(tag)[:20]!r}")


def _float(value: Any) -> float:
    if not isinstance(value, float):
        raise ValueError("expected an encoded float")
    return value


# What the cache writes, and so all that `murakkab cache clear` removes: entries (and their
# leftover temporary files) in two-hex-digit folders, and derived media under media/.
# Entries of the pickle format before it (never read: a pickle can run code on loading)
# are cleared too.
_ENTRY = re.compile(r"^([0-9a-f]{64}\.(entry|pkl)|\.tmp-.*)$")
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
    """Remove every entry and derived media file the cache wrote under ``root``, and this
    user's signing key (files of any other kind, and the folder itself, are left alone);
    returns what was removed.
    Not for a cache a run is using: that run would compute again what it had."""
    root = Path(root)
    removed = cache_usage(root)
    for f, _ in list(_owned(root)):
        f.unlink(missing_ok=True)
    # This user's signing key goes too: with no entry left, it signs nothing (another
    # user's key is theirs to remove).
    key = root / f".key-{os.getuid()}"
    if key.is_file() and not key.is_symlink() and key.stat().st_uid == os.getuid():
        key.unlink(missing_ok=True)
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
