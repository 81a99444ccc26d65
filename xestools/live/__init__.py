"""Following scans while they are measured: incremental readers, a follower and a folder poller.

Qt-free, so the GUI drives it with a QTimer and tests and benches with a loop:

* :class:`Follower` (``poll()`` -> :class:`FollowUpdate` with the models and a :class:`Progress`)
  follows one growing ``.dat`` or ``.nxs`` and stops by itself when the scan is complete (its first
  poll is the "open": the points so far, the rest NaN/masked, "in progress — N of M points");
* :func:`looks_in_progress` tells cheaply whether a file is still being written (Follow on by default);
* :class:`FolderPoller` (``poll()`` -> new :class:`ScanEntry` items, newest first) lists the scans
  that appear in a data folder without loading them.

See :mod:`xestools.replay` for writing a growing scan from a finished one.
"""
from __future__ import annotations

from .folder import FolderPoller, ScanEntry
from .follower import (DEFAULT_INTERVAL_S, DEFAULT_STALE_AFTER_S, FollowUpdate, Follower, Progress,
                       follow, looks_in_progress)

__all__ = ["DEFAULT_INTERVAL_S", "DEFAULT_STALE_AFTER_S", "FolderPoller", "FollowUpdate", "Follower",
           "Progress", "ScanEntry", "follow", "looks_in_progress"]
