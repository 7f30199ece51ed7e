"""Processes that never outlive the one that started them.

A worker blocked writing its answer into a pipe nobody reads any more would hold its
memory and the caller's stdout forever; so every process murakkab starts for agents
(the local executor's workers, the frame decoder's pool inside them) arms
:func:`die_with_parent` first.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
ORPHAN_POLL_S = 0.5  # how often a worker without prctl looks for its parent


def die_with_parent(parent_pid: int, also: int | None = None) -> None:
    """SIGKILL this process when ``parent_pid`` dies: Linux's parent-death signal
    (``prctl(PR_SET_PDEATHSIG)``), elsewhere a thread that watches ``os.getppid()``.
    SIGKILL, not SIGTERM: a parent that died abruptly cannot wait for a worker stuck in
    native code, and entries are written atomically, so nothing is left half-done.
    ``also``: the process the parent serves (a fork server's caller): this process dies
    when that one does too."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if not armed:
        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(ORPHAN_POLL_S)
            os.kill(os.getpid(), signal.SIGKILL)

        threading.Thread(target=watch, name="murakkab-orphan-watch", daemon=True).start()
    if also is not None:
        # A fork server outlives its caller while any child of it runs (each holds the
        # server's keep-alive pipe), so the caller itself is watched.
        threading.Thread(target=_die_with, args=(also,), name="murakkab-caller-watch", daemon=True).start()
    # The parent may have died before the signal was armed: then no signal comes.
    if os.getppid() != parent_pid or (also is not None and not _alive(also)):
        os.kill(os.getpid(), signal.SIGKILL)


def _die_with(pid: int) -> None:
    """SIGKILL this process when ``pid`` (not its parent) exits: a pidfd turns readable
    then (Linux 5.3+); elsewhere, poll."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        while _alive(pid):
            time.sleep(ORPHAN_POLL_S)
    else:
        select.select([fd], [], [])
    os.kill(os.getpid(), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


