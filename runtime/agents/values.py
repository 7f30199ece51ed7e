"""The runtime values that flow between tasks, and their content fingerprints.

A job's types map to Python values as follows (everything here is picklable, so an
executor may send values to worker processes):

    VIDEO, SCENE, AUDIO, MEDIA   :class:`Clip`   a time range of a media file
    DOCUMENT                     :class:`Document`  a text file, by its bytes
    IMAGE                        :class:`Frame`  decoded pixels plus where they came from
                                 (an image file given to a job: :meth:`Frame.still`)
    TEXT                         ``str``
    NUMBER                       ``int`` / ``float``
    LIST<T>                      ``list`` of the above

A whole file is ``Clip(path, 0.0, duration)``; a scene is a range of the same file, so
scene detection writes no media (the range *is* the scene), and neither does splitting.

Frames hold a ``numpy`` array (BGR, ``uint8``, height × width × 3, OpenCV's layout), not
PNG bytes: every consumer (detectors, describers) needs pixels, a 720p PNG costs ~20 ms to
encode and again to decode at each consumer, while an array pickles as one copy of its
buffer. :meth:`Frame.png` encodes on demand for an agent that must send an image
somewhere. The array is made read-only, as the dataclass is frozen.

:func:`fingerprint` is a stable content hash (SHA-256 over a canonical, type-tagged
encoding) for the content-addressed cache an executor keeps: equal values give equal
fingerprints in every process and on every machine; a change in the file's bytes, the
range, the pixels or the text gives a different one. A :class:`Clip` is identified by the
SHA-256 of its file's bytes (memoised per process by path, size and modification time, so
a file is read once), not by its path or mtime alone: a copied or re-checked-out file
keeps its fingerprint, and an edited file in place changes it.

Example:
    >>> a = Clip("samples/city_walk.mp4", 0.0, 2.5)
    >>> a.duration_s
    2.5
    >>> fingerprint("a red umbrella") == fingerprint("a red umbrella")
    True
    >>> fingerprint([1, 2]) == fingerprint((1, 2))  # a list and a tuple are the same LIST
    True
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import MediaError

FINGERPRINT_VERSION = b"murakkab-fingerprint-1"  # bump when the encoding below changes


@dataclass(frozen=True)
class Clip:
    """The range ``[start_s, end_s)`` seconds of the media file at ``path``."""

    path: str
    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        # Canonical field types: 0 and 0.0 must not make two different clips.
        object.__setattr__(self, "path", os.fspath(self.path))
        object.__setattr__(self, "start_s", float(self.start_s))
        object.__setattr__(self, "end_s", float(self.end_s))
        if not self.path:
            raise ValueError("a Clip needs a file path")
        if not (math.isfinite(self.start_s) and math.isfinite(self.end_s)):
            raise ValueError(f"Clip range must be finite, got [{self.start_s}, {self.end_s})")
        if self.start_s < 0 or self.end_s <= self.start_s:
            raise ValueError(f"Clip range must satisfy 0 <= start < end, got [{self.start_s}, {self.end_s})")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @classmethod
    def whole(cls, path: str | os.PathLike[str]) -> "Clip":
        """The whole file: ``[0, duration)``, the duration read with PyAV."""
        return cls(os.fspath(path), 0.0, media_duration(path))


@dataclass(frozen=True)
class Document:
    """A text document on disk (a DOCUMENT value). Like a :class:`Clip` it is identified
    by its file's bytes, so editing the file in place makes a new cache key; it is a
    path-like, so ``open(document)`` reads it."""

    path: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", os.fspath(self.path))
        if not self.path:
            raise ValueError("a Document needs a file path")

    def __fspath__(self) -> str:
        return self.path


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded picture: ``image`` (BGR ``uint8`` H × W × 3) taken at ``time_s``
    seconds of the file of ``source`` (the clip it was sampled from), or a still picture
    (``source`` None: an IMAGE file given to the job, see :meth:`still`)."""

    image: np.ndarray = field(repr=False)
    source: Clip | None
    time_s: float

    def __post_init__(self) -> None:
        image = np.asarray(self.image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"a Frame image must be uint8 H x W x 3 (BGR), got {image.dtype} {image.shape}")
        view = image.view()
        view.flags.writeable = False  # frozen: the pixels cannot be changed through the Frame
        object.__setattr__(self, "image", view)
        object.__setattr__(self, "time_s", float(self.time_s))

    @classmethod
    def still(cls, path: str | os.PathLike[str]) -> "Frame":
        """The picture in an image file (PNG, JPEG, ... anything OpenCV reads). Its
        fingerprint is its pixels, so an edited file is a new value."""
        import cv2

        image = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
        if image is None:
            raise MediaError(f"cannot read an image from {os.fspath(path)}")
        return cls(image, None, 0.0)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    def png(self) -> bytes:
        """The image as PNG bytes (lossless)."""
        import cv2

        ok, buf = cv2.imencode(".png", self.image)
        if not ok:
            raise ValueError("OpenCV could not encode the frame as PNG")
        return buf.tobytes()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return (self.source == other.source and self.time_s == other.time_s
                and self.image.shape == other.image.shape and bool(np.array_equal(self.image, other.image)))

    def __hash__(self) -> int:
        return hash((self.source, self.time_s, self.image.shape))

    def __repr__(self) -> str:
        h, w = self.image.shape[:2]
        return f"Frame({w}x{h}, source={self.source!r}, time_s={self.time_s:g})"


# -- fingerprints ---------------------------------------------------------------------------------
_FILE_DIGESTS: dict[tuple[str, int, int], bytes] = {}
_FILE_DIGESTS_LOCK = threading.Lock()


def file_digest(path: str | os.PathLike[str]) -> bytes:
    """SHA-256 of a file's bytes, memoised per (real path, size, mtime) in this process."""
    real = os.path.realpath(os.fspath(path))
    try:
        st = os.stat(real)
    except OSError as e:
        raise FileNotFoundError(f"cannot fingerprint {os.fspath(path)}: {e.strerror}") from None
    key = (real, st.st_size, st.st_mtime_ns)
    with _FILE_DIGESTS_LOCK:
        hit = _FILE_DIGESTS.get(key)
    if hit is not None:
        return hit
    h = hashlib.sha256()
    with open(real, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.digest()
    with _FILE_DIGESTS_LOCK:
        _FILE_DIGESTS[key] = digest
    return digest


def _encode(value: Any, out: list[bytes]) -> None:
    """Append the canonical, type-tagged encoding of ``value`` (lengths prefixed, so no
    two different values share an encoding)."""

    def blob(tag: bytes, data: bytes) -> None:
        out.append(tag + struct.pack(">Q", len(data)) + data)

    if value is None:
        out.append(b"N")
    elif isinstance(value, bool):  # before int: bool is an int subclass
        out.append(b"T" if value else b"F")
    elif isinstance(value, (int, np.integer)):
        blob(b"i", str(int(value)).encode())
    elif isinstance(value, (float, np.floating)):
        f = float(value)
        blob(b"f", (f.hex() if f == f else "nan").encode())
    elif isinstance(value, str):
        blob(b"s", value.encode("utf-8"))
    elif isinstance(value, (bytes, bytearray, memoryview)):
        blob(b"b", bytes(value))
    elif isinstance(value, Clip):
        out.append(b"C")
        blob(b"d", file_digest(value.path))
        _encode(value.start_s, out)
        _encode(value.end_s, out)
    elif isinstance(value, Document):
        out.append(b"O")
        blob(b"d", file_digest(value.path))
    elif isinstance(value, Frame):
        out.append(b"P")
        _encode(value.image, out)
        _encode(value.source, out)
        _encode(value.time_s, out)
    elif isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        blob(b"a", f"{arr.dtype.str}|{'x'.join(map(str, arr.shape))}".encode())
        blob(b"A", arr.tobytes())
    elif isinstance(value, (list, tuple)):
        blob(b"L", str(len(value)).encode())
        for item in value:
            _encode(item, out)
    elif isinstance(value, dict):
        items = []
        for k, v in value.items():
            key: list[bytes] = []
            _encode(k, key)
            items.append((b"".join(key), v))
        items.sort(key=lambda kv: kv[0])  # key order must not matter
        blob(b"D", str(len(items)).encode())
        for k_bytes, v in items:
            out.append(k_bytes)
            _encode(v, out)
    else:
        raise TypeError(f"cannot fingerprint a {type(value).__name__}: runtime values are Clip, Frame, str, "
                        f"bytes, numbers, None, numpy arrays and lists/tuples/dicts of them")


# The Python classes each base type's values are (the table in the module docstring);
# ANY and a type not named here take anything.
_PYTHON: dict[str, tuple[type, ...]] = {
    "TEXT": (str, Document), "CHUNK": (str,), "CODE": (str,), "DOCUMENT": (Document,),
    "NUMBER": (int, float), "BOOL": (bool,), "IMAGE": (Frame,),
    "MEDIA": (Clip,), "VIDEO": (Clip,), "SCENE": (Clip,), "AUDIO": (Clip,),
}


def mismatch(value: Any, type_text: str) -> str | None:
    """Why ``value`` is not a value of the job type ``type_text`` (``'LIST<TEXT>'``), in
    words; None when it is. Checks the item of a list up to its first mismatch."""
    if type_text.startswith("LIST<") and type_text.endswith(">"):
        if not isinstance(value, (list, tuple)):
            return f"{_a(type(value).__name__)}, not a list"
        elem = type_text[5:-1]
        for i, item in enumerate(value):
            why = mismatch(item, elem)
            if why is not None:
                return f"a list whose item {i} is {why}"
        return None
    allowed = _PYTHON.get(type_text)
    if allowed is None or (isinstance(value, allowed) and not (type_text == "NUMBER" and isinstance(value, bool))):
        return None
    return f"{_a(type(value).__name__)}, not {' or '.join(t.__name__ for t in allowed)}"


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def fingerprint(value: Any) -> str:
    """A stable hex SHA-256 of ``value``'s content (see the module docstring)."""
    parts: list[bytes] = [FINGERPRINT_VERSION]
    _encode(value, parts)
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.hexdigest()


def media_duration(path: str | os.PathLike[str]) -> float:
    """Duration in seconds of a media file (the container's, else its longest stream's)."""
    import av

    try:
        with av.open(os.fspath(path)) as container:
            if container.duration is not None and container.duration > 0:
                return container.duration / 1_000_000  # av.time_base is microseconds
            best = 0.0
            for stream in container.streams:
                if stream.duration is not None and stream.time_base is not None:
                    best = max(best, float(stream.duration * stream.time_base))
    except (OSError, av.error.FFmpegError) as e:
        raise MediaError(f"cannot open media file {os.fspath(path)}: {e}") from None
    if best <= 0:
        raise MediaError(f"media file {os.fspath(path)} reports no duration")
    return best
