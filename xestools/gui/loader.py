"""The one way files are opened: read on the shared worker pool, one progress indication.

``open(paths)`` reads with :func:`xestools.workspace.load_files` off the GUI thread; ``loaded``
delivers the outcomes (objects, or an error naming the file) on the GUI thread.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import QObject, Signal

from xestools.runtime.safe import safe_slot
from xestools.workspace.datasets import load_files

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
        from xestools.gui.workers import submit

        paths = [os.fspath(p) for p in paths if p]
        if not paths or self._closed:
            return False
        task = submit(load_files, paths)
        task.progress.connect(self._on_progress)
        task.finished.connect(self._on_finished)
        task.failed.connect(self._on_failed)
        self._tasks.append(task)
        if len(self._tasks) == 1:
            self.busy_changed.emit(True)
        self.progress.emit(0, len(paths))
        return True

    def _finish(self) -> None:
        self._tasks = [task for task in self._tasks if task is not self.sender()]
        if not self._tasks:
            self.busy_changed.emit(False)

    @safe_slot
    def _on_progress(self, done: int, total: int) -> None:
        if not self._closed:
            self.progress.emit(done, total)

    @safe_slot
    def _on_finished(self, outcomes) -> None:
        self._finish()
        if not self._closed:
            self.loaded.emit(outcomes)

    @safe_slot
    def _on_failed(self, exc: BaseException) -> None:
        self._finish()
        if not self._closed:
            log.error("loading failed", exc_info=(type(exc), exc, exc.__traceback__))
            self.failed.emit(exc)

    def close(self) -> None:
        """Forget reads in flight: their results are dropped when they arrive."""
        self._closed = True
        self._tasks.clear()
