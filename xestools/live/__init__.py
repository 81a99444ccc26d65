"""Following scans while they are measured: incremental readers, a follower and a folder poller.

Qt-free, so the GUI drives it with a QTimer and tests and benches with a loop:

* :class:`Follower` (``poll()`` -> :class:`FollowUpdate` with the models and a :class:`Progress`)
  follows one live source — a growing ``.dat`` or ``.nxs`` — and stops by itself when the scan is
  complete or the file was replaced, deleted or renamed (its first poll is the "open": the points so
  far, the rest NaN/masked, "in progress — N of M points");
* :class:`LiveSource` (:mod:`.source`) is what a follower reads; the kinds are registered below, and a
  new kind (e.g. a stream from a data service) is one module plus one ``register`` line here;
* :func:`looks_in_progress` tells cheaply whether a file is still being written (Follow on by default);
* :class:`FolderPoller` (``poll()`` -> new :class:`ScanEntry` items, newest first) lists the scans
  that appear in a data folder without loading them.

How a Qt layer drives it (nothing here imports Qt):

* open: ``follower = Follower(path)``; ``update = follower.poll()`` gives the models so far (a map keeps
  its full shape, an XES its full ω range, missing points NaN/masked) and ``update.progress.text``;
  Follow is on by default when ``update.progress.following`` (or ``looks_in_progress(path)``);
* follow: a QTimer every ``DEFAULT_INTERVAL_S`` calls ``poll()``; when ``update.changed``, replace the
  dataset's models with ``update.models`` (new objects, same shapes: zoom, cuts and colour limits can
  stay); when ``not update.progress.following``, stop the timer and show ``update.progress.reason``;
  the Follow toggle off calls ``follower.stop()``, on again makes a new Follower;
* File → Watch folder… / ``--watch FOLDER``: a QTimer calls ``FolderPoller(folder, pattern).poll()``,
  lists the new :class:`ScanEntry` items (newest first) and follows the newest with ``entry.follower()``;
  older entries are loaded with ``entry.load()`` only when chosen.

``python -m xestools.live PATH`` does the same in a terminal (a file, or a folder to watch).
``poll()`` does its file reading in the calling thread and returns in milliseconds for a growing scan;
a worker thread is the place for it if a file system can stall. See :mod:`xestools.replay` for
writing a growing scan from a finished one.
"""
from __future__ import annotations

from .dat import DatTail
from .folder import FolderPoller, ScanEntry
from .follower import (DEFAULT_INTERVAL_S, DEFAULT_STALE_AFTER_S, FollowUpdate, Follower, Progress,
                       follow, looks_in_progress)
from .nexus import NexusTail
from .source import LiveSource, SourceStopped, open_source, register

# the kinds of live source, the last registered asked first (NeXus takes what no other kind accepts)
register(NexusTail)
register(DatTail)

__all__ = ["DEFAULT_INTERVAL_S", "DEFAULT_STALE_AFTER_S", "FolderPoller", "FollowUpdate", "Follower",
           "LiveSource", "Progress", "ScanEntry", "SourceStopped", "follow", "looks_in_progress", "open_source",
           "register"]
