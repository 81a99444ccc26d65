"""A session coming back in the main window: the layout at once, the workspace by
:meth:`xestools.workspace.Workspace.restore` (each file read once on the worker pool, applied in order as
the files arrive, a slice of steps per event-loop turn so that the window keeps answering), then what
did not come back is said and the followed scans and watched folder are resumed."""
from __future__ import annotations

import gc
import logging
import time
from typing import Iterator

from PySide6.QtCore import QByteArray, QObject, QTimer

from xestools.runtime.safe import safe_slot
from xestools.workspace.workspace import WAITING

log = logging.getLogger("xestools.gui.restore")

#: the longest a slice of restore steps keeps the event loop waiting (a step itself may take longer)
SLICE_S = 0.025


class StepRunner(QObject):
    """Runs a restore's steps (a :data:`xestools.workspace.workspace.Runner`) in slices of at most
    ``SLICE_S``, one per event-loop turn: painting, input and timers run between them. The first slice
    runs at once (a session without files is restored before ``restore_session`` returns)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._steps: Iterator | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(safe_slot(self._slice))

    def __call__(self, steps: Iterator) -> None:
        self._timer.stop()
        self._steps = steps
        self._slice()

    def _slice(self) -> None:
        steps, deadline = self._steps, time.perf_counter() + SLICE_S
        while steps is not None:
            try:
                step = next(steps)
            except StopIteration:
                self._steps = None
                return
            if step is WAITING:
                return        # run again when the next files arrive
            if time.perf_counter() >= deadline:
                self._timer.start()
                return

    def stop(self) -> None:
        """The window closes: no more steps."""
        self._timer.stop()
        self._steps = None
        gc.unfreeze()


def restore_session(window, state: dict) -> None:
    """Restore ``state`` (the main window's session) into ``window``; unknown keys are ignored."""
    if not isinstance(state, dict):
        log.warning("ignoring session state of type %s", type(state).__name__)
        return
    for key, name in (("geometry", "restoreGeometry"), ("window_state", "restoreState")):
        value = state.get(key)
        if isinstance(value, str) and value:
            getattr(window, name)(QByteArray.fromBase64(value.encode("ascii")))
    window.session_files.remember_restored(state)
    window.undo.start_over()
    window._show_status("Restoring the session …")
    # A full garbage collection scans every object; those of the window (tens of thousands) are set
    # aside until the restore is over, so a collection during it scans only what the restore makes.
    gc.freeze()
    try:
        window.workspace.restore(state, window.loader.read, window.restore_runner)
    except BaseException:
        gc.unfreeze()       # no restore under way: nothing will unfreeze them later
        raise
    window._update_actions()


def show_restored(window, report) -> None:
    """Say what did not come back; follow and watch again what was followed and watched."""
    gc.unfreeze()
    if report.missing:
        window._error("These files of the session no longer exist and were skipped:\n" + "\n".join(report.missing)
                      + "\n\nIf their folder moved, use File → Locate missing files…", title="Restore session")
    if report.errors:
        window._error("These files of the session could not be read:\n" + "\n".join(report.errors),
                      title="Restore session")
    window.live.resume(report.live)
    window._show_status(f"Session restored: {len(report.opened)} file(s)")
    window._update_actions()
