"""Silence native solvers: file descriptors 1 and 2 point at the null device meanwhile.

Solvers written in C++ print past Python: highspy 1.16 writes its banner ("Running HiGHS
1.16.0 ...") straight to file descriptor 1 when a ``Highs`` object is made, whatever
``msg=False`` says, which broke ``murakkab schedule --format json``. Replacing
``sys.stdout`` cannot catch that; only redirecting the descriptors can.

Example:
    >>> import os
    >>> with quiet():
    ...     _ = os.write(1, b"not shown")

The descriptors belong to the process, so while any thread is inside ``quiet()`` every
thread's output to them is discarded. Threads may enter at once: the first one in
redirects, the last one out restores (a lock guards the count), so one thread leaving
never un-silences another that is still solving.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

_LOCK = threading.Lock()
_depth = 0
# fd -> the duplicate of what it pointed at before the outermost quiet() began.
_saved: dict[int, int] = {}


def _flush() -> None:
    """Push Python's buffered text to the descriptors before they change hands."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed or detached stream has nothing to flush
            pass


@contextmanager
def quiet() -> Iterator[None]:
    """Within the block, anything written to file descriptors 1 and 2 (by native code, a
    child process that inherits them, or Python's ``sys.stdout``/``sys.stderr``) goes to
    ``os.devnull``; both are restored afterwards, also when the block raises."""
    global _depth
    with _LOCK:
        if _depth == 0:
            _flush()
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                for fd in (1, 2):
                    try:
                        _saved[fd] = os.dup(fd)
                    except OSError:  # the descriptor is closed: nothing to silence
                        continue
                    os.dup2(null, fd)
            finally:
                os.close(null)
        _depth += 1
    try:
        yield
    finally:
        with _LOCK:
            _depth -= 1
            if _depth == 0:
                _flush()  # what Python buffered inside the block goes to the null device too
                for fd, copy in _saved.items():
                    os.dup2(copy, fd)
                    os.close(copy)
                _saved.clear()


def write_stderr(text: str) -> None:
    """Write ``text`` to the real standard error, also from inside ``quiet()`` (progress
    of a long solve must reach the user while the solver itself is silenced)."""
    sys.stderr.flush()
    with _LOCK:
        fd = _saved.get(2, 2)
        try:
            os.write(fd, text.encode("utf-8", "replace"))
        except OSError:  # no standard error to write to
            pass
