"""The one way files are opened: read on the shared worker pool, one progress indication.

``open(paths)`` reads with :func:`xestools.workspace.load_files` off the GUI thread; ``loaded``
delivers the outcomes (objects, or an error naming the file) on the GUI thread. ``read(paths, deliver)``
does the same for a session restore (:meth:`xestools.workspace.Workspace.restore`), in parts: the pool's
two threads read two parts at once, and each part is applied while the next ones are read.
"""
from __future__ import annotations

import collections
import logging
import os
from typing import Callable

from PySide6.QtCore import QObject, Signal

from xestools.runtime.safe import safe_slot
from xestools.workspace.datasets import LoadOutcome, load_files

log = logging.getLogger("xestools.gui.loader")

#: files per part of a session restore's read (one task on the pool, one delivery)
RESTORE_PART = 6
#: parts of a restore queued on the pool at once (its two threads read two files at a time)
PARTS_AT_ONCE = 2


class Loader(QObject):
    """Reads files on the worker pool and reports progress; several reads may overlap."""

    #: (files read, files asked) of the reads in flight
    progress = Signal(int, int)
    #: list[LoadOutcome] of one ``open`` call
    loaded = Signal(object)
    #: an unexpected error of one read (each file's own errors are in its outcome)
    failed = Signal(object)
    #: True while at least one read is in flight
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: list = []
        self._counts: dict = {}      # task → (files read, files asked), until no read is in flight
        self._closed = False

    @property
    def is_loading(self) -> bool:
        return bool(self._tasks)

    def open(self, paths) -> bool:
        """Start reading ``paths``; False when there is nothing to read (or the loader is closed)."""
        return self._read(paths, self.loaded.emit, restoring=False)

    def read(self, paths, deliver: Callable[..., None]) -> bool:
        """Read ``paths`` for a session restore and hand the outcomes to ``deliver`` on the GUI thread, a
        part at a time (``more=True`` until the last part; a :data:`xestools.workspace.workspace.Reader`);
        a part that fails outright delivers an error for each of its paths, so the restore always ends.
        At most ``PARTS_AT_ONCE`` parts are queued on the pool: a file opened meanwhile is not read last."""
        paths = [os.fspath(p) for p in paths if p]
        if not paths or self._closed:
            return False
        parts = collections.deque(paths[start:start + RESTORE_PART] for start in range(0, len(paths), RESTORE_PART))
        waiting, left = object(), [len(parts)]       # the files of parts not yet queued count in the progress

        def queue_next() -> None:
            part = parts.popleft()
            self._counts[waiting] = (0, sum(len(later) for later in parts))
            self._read(part, arrived, restoring=True)

        def arrived(outcomes) -> None:
            left[0] -= 1
            if parts and not self._closed:
                queue_next()
            deliver(outcomes, more=left[0] > 0)
        for _ in range(min(PARTS_AT_ONCE, len(parts))):
            queue_next()
        return True

    def _read(self, paths, deliver: Callable[[list], None], *, restoring: bool) -> bool:
        from xestools.gui.common.workers import submit

        paths = [os.fspath(p) for p in paths if p]
        if not paths or self._closed:
            return False
        task = submit(load_files, paths)
        task.progress.connect(safe_slot(lambda done, total, t=task: self._on_progress(t, done, total)))
        task.finished.connect(safe_slot(lambda outcomes, t=task: self._on_finished(t, deliver, outcomes)))
        task.failed.connect(safe_slot(lambda exc, t=task: self._on_failed(t, exc, paths, deliver if restoring else None)))
        self._tasks.append(task)
        if len(self._tasks) == 1:
            self.busy_changed.emit(True)
        self._on_progress(task, 0, len(paths))
        return True

    def _finish(self, task) -> None:
        self._tasks = [known for known in self._tasks if known is not task]
        if not self._tasks:
            self._counts.clear()
            self.busy_changed.emit(False)

    def _on_progress(self, task, done: int, total: int) -> None:
        """Progress over every read since the loader was last idle (a restore's parts add up)."""
        if self._closed or task not in self._tasks:
            return
        self._counts[task] = (done, total)
        if len(self._counts) > 1 and done and done < total:
            return          # several reads: the sum is said as each begins and ends, not per file
        self.progress.emit(sum(d for d, _ in self._counts.values()), sum(t for _, t in self._counts.values()))

    def _on_finished(self, task, deliver, outcomes) -> None:
        self._finish(task)
        if not self._closed:
            deliver(outcomes)

    def _on_failed(self, task, exc: BaseException, paths, deliver) -> None:
        self._finish(task)
        if self._closed:
            return
        log.error("loading failed", exc_info=(type(exc), exc, exc.__traceback__))
        self.failed.emit(exc)
        if deliver is not None:
            deliver([LoadOutcome(path, error=f"{os.path.basename(path)}: not read ({exc})") for path in paths])

    def close(self) -> None:
        """Forget reads in flight: their results are dropped when they arrive."""
        self._closed = True
        self._tasks.clear()
        self._counts.clear()
