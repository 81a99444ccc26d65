"""One shared worker pool for slow work (loading files, fits); results return via queued signals.

Usage::

    task = submit(load_files, paths, progress=True)
    task.finished.connect(on_result)      # runs on the GUI thread with fn's return value
    task.failed.connect(on_error)         # runs on the GUI thread with the exception
    task.progress.connect(on_progress)    # (done, total), when fn accepts a ``report_progress`` kwarg

The task object is kept alive by the pool until it has delivered its result.
"""
from __future__ import annotations

import inspect
import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from xestools.runtime.safe import safe_slot

log = logging.getLogger("xestools.gui.common.workers")

_pool: QThreadPool | None = None
_live_tasks: set["Task"] = set()


def pool() -> QThreadPool:
    """The application's one worker pool (at most 2 threads: this is a 2-core class of machine)."""
    global _pool
    if _pool is None:
        _pool = QThreadPool()
        _pool.setMaxThreadCount(2)
    return _pool


class Task(QObject):
    """Signals of one submitted job, delivered on the GUI thread.

    The worker emits private signals; the task (living on the GUI thread) re-emits them from its
    event loop. So a caller that connects ``finished``/``failed`` right after :func:`submit`
    never misses a result, however fast the job is.
    """

    finished = Signal(object)
    failed = Signal(object)
    progress = Signal(int, int)
    _result_ready = Signal(object)
    _error_ready = Signal(object)
    _progress_ready = Signal(int, int)

    def __init__(self) -> None:
        super().__init__()
        self._result_ready.connect(self._deliver_result)
        self._error_ready.connect(self._deliver_error)
        self._progress_ready.connect(self._deliver_progress)

    @safe_slot
    def _deliver_result(self, result) -> None:
        _live_tasks.discard(self)
        self.finished.emit(result)

    @safe_slot
    def _deliver_error(self, exc) -> None:
        _live_tasks.discard(self)
        self.failed.emit(exc)

    @safe_slot
    def _deliver_progress(self, done: int, total: int) -> None:
        self.progress.emit(done, total)


class _Runnable(QRunnable):
    def __init__(self, task: Task, fn: Callable, args: tuple, kwargs: dict) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task, self._fn, self._args, self._kwargs = task, fn, args, kwargs

    def run(self) -> None:
        task = self._task
        try:
            result = self._fn(*self._args, **self._kwargs)
        except Exception as exc:  # handed to the GUI thread, which reports it
            log.debug("worker job %r failed", self._fn, exc_info=True)
            task._error_ready.emit(exc)
        else:
            task._result_ready.emit(result)


def submit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Task:
    """Run ``fn(*args, **kwargs)`` on the shared pool; connect to the returned task's signals.

    If ``fn`` has a ``report_progress`` parameter it receives a callable ``(done, total)``.
    """
    task = Task()
    try:
        accepts_progress = "report_progress" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        accepts_progress = False
    if accepts_progress:
        kwargs["report_progress"] = lambda done, total: task._progress_ready.emit(int(done), int(total))
    _live_tasks.add(task)
    pool().start(_Runnable(task, fn, args, kwargs))
    return task


def wait_for_idle(msecs: int = 30000) -> bool:
    """Wait for all queued jobs (for shutdown and tests); results are delivered by the event loop after."""
    return pool().waitForDone(msecs)
