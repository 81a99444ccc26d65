"""The trail of recent user actions (menu actions, files opened, views changed) for crash reports.

Each crumb is also logged by ``xestools.runtime.breadcrumbs`` at INFO, so the supervisor can rebuild
the trail from the log of a GUI process that died in native code.
"""
from __future__ import annotations

import collections
import logging
import threading
import time

log = logging.getLogger("xestools.runtime.breadcrumbs")

MAX_CRUMBS = 50
_crumbs: collections.deque = collections.deque(maxlen=MAX_CRUMBS)
_lock = threading.Lock()


def add(text: str) -> None:
    """Record one user action, e.g. ``add("opened 279517_1.nxs")``."""
    text = str(text)
    with _lock:
        _crumbs.append({"time": time.time(), "action": text})
    log.info("user: %s", text)


def recent() -> list[dict]:
    """Oldest first: ``[{"time": epoch seconds, "action": text}, ...]``."""
    with _lock:
        return list(_crumbs)


def clear() -> None:
    with _lock:
        _crumbs.clear()
