"""Progress of long planning, for whoever is watching (the CLI's stderr line, a program
embedding murakkab).

Planning a 10,000-task job takes minutes on a small machine, and an exact schedule a
minute; the planner and the solvers report where they are (:func:`report`: a stage, and
how far through it; CP-SAT each incumbent and its gap) to the watcher installed with
:func:`watching`, if any. Reports cost a context-variable lookup when nobody watches.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Callable, Iterator

Watcher = Callable[[str, int, int], None]

_watcher: contextvars.ContextVar[Watcher | None] = contextvars.ContextVar("planning_progress", default=None)


def report(stage: str, done: int = 0, total: int = 0) -> None:
    """Tell the watcher that planning is at ``stage`` (``done`` of ``total`` when known)."""
    watcher = _watcher.get()
    if watcher is not None:
        watcher(stage, done, total)


def active() -> bool:
    """Whether anyone watches (a solver adds its progress callback only then)."""
    return _watcher.get() is not None


@contextlib.contextmanager
def watching(watcher: Watcher | None) -> Iterator[None]:
    """Send the planner's reports to ``watcher`` inside the block."""
    token = _watcher.set(watcher)
    try:
        yield
    finally:
        _watcher.reset(token)
