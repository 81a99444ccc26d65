"""The one way files are opened: read on the shared worker pool, one progress indication.

``open(paths)`` reads with :func:`xestools.workspace.load_files` off the GUI thread; ``loaded``
delivers the outcomes (objects, or an error naming the file) on the GUI thread. ``read(paths, deliver)``
does the same for a session restore (:meth:`xestools.workspace.Workspace.restore`).
"""
from __future__ import annotations

import logging
import os
from typing import Callable

from PySide6.QtCore import QObject, Signal

from xestools.runtime.safe import safe_slot
from xestools.workspace.datasets import LoadOutcome, load_files

log = logging.getLogger("xestools.gui.loader")


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
        self._closed = False

    @property
    def is_loading(self) -> bool:
        return bool(self._tasks)

    def open(self, paths) -> bool:
        """Start reading ``paths``; False when there is nothing to read (or the loader is closed)."""
        return self._read(paths, self.loaded.emit, restoring=False)

    def read(self, paths, deliver: Callable[[list], None]) -> bool:
        """Read ``paths`` for a session restore and hand the outcomes to ``deliver`` on the GUI thread
        (a :data:`xestools.workspace.workspace.Reader`); a read that fails outright delivers an error for
        every path, so the restore always ends."""
        return self._read(paths, deliver, restoring=True)

    def _read(self, paths, deliver: Callable[[list], None], *, restoring: bool) -> bool:
        from xestools.gui.common.workers import submit

        paths = [os.fspath(p) for p in paths if p]
        if not paths or self._closed:
            return False
        task = submit(load_files, paths)
        task.progress.connect(self._on_progress)
        task.finished.connect(safe_slot(lambda outcomes, t=task: self._on_finished(t, deliver, outcomes)))
        task.failed.connect(safe_slot(lambda exc, t=task: self._on_failed(t, exc, paths, deliver if restoring else None)))
        self._tasks.append(task)
        if len(self._tasks) == 1:
            self.busy_changed.emit(True)
        self.progress.emit(0, len(paths))
        return True

    def _finish(self, task) -> None:
        self._tasks = [known for known in self._tasks if known is not task]
        if not self._tasks:
            self.busy_changed.emit(False)

    @safe_slot
    def _on_progress(self, done: int, total: int) -> None:
        if not self._closed:
            self.progress.emit(done, total)

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
