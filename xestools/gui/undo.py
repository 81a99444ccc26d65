"""Edit → Undo/Redo: the Edit menu and a timer over the Qt-free :class:`~xestools.workspace.history.History`.

The recorder notices every workspace change; a change ends as a step when things have settled for
``SETTLE_MS`` and no mouse button is held (so a drag of a cut line is one step, and the arrow-key
nudges of one burst are one step), or at once before an undo or redo. While files are being read
nothing is recorded; after a session was opened, what it brought is the new starting point.
"""
from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication

from xestools.runtime.safe import safe_slot
from xestools.workspace.history import History, Recorder

log = logging.getLogger("xestools.gui.undo")

SETTLE_MS = 400


def mouse_held() -> bool:
    """A mouse button is down (a drag is going on): the step is not over yet."""
    return QGuiApplication.mouseButtons() != Qt.MouseButton.NoButton


class UndoController(QObject):
    """The undo history of one workspace; ``applied(text)`` after an undo or redo changed it."""

    applied = Signal(str)

    def __init__(self, workspace, busy: Callable[[], bool] = lambda: False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history = History(Recorder(workspace))
        self._busy = busy
        self._baseline_pending = False
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SETTLE_MS)
        self._timer.timeout.connect(safe_slot(self._settle))
        self.history.recorder.touched.connect(self._timer.start)

    def _settle(self) -> None:
        if mouse_held() or self._busy():
            self._timer.start()           # a drag or a read is still going on
            return
        self.flush()

    def flush(self) -> None:
        """End the current step now (if anything changed)."""
        self._timer.stop()
        if self._baseline_pending:
            if self._busy():
                self._timer.start()
                return
            self._baseline_pending = False
            self.history.recorder.rebase()
            return
        step = self.history.commit()
        if step is not None:
            log.debug("undo step: %s", step.label)

    def undo(self) -> None:
        self.flush()
        if self._baseline_pending:       # a session is still being read: nothing to undo yet
            return
        text = self.history.undo_text
        if self.history.undo():
            self.applied.emit(f"Undone: {text}")

    def redo(self) -> None:
        self.flush()
        if self._baseline_pending:
            return
        text = self.history.redo_text
        if self.history.redo():
            self.applied.emit(f"Redone: {text}")

    def start_over(self) -> None:
        """A session is being opened: forget the history; what it loads is the new starting point."""
        self.history.clear()
        self._baseline_pending = True
        self._timer.start()

    def bind(self, undo_action, redo_action) -> None:
        """Keep the Edit menu's actions enabled and named after the step they undo or redo."""
        def update() -> None:
            if self._closed:
                return
            history = self.history
            undo_action.setEnabled(history.can_undo)
            redo_action.setEnabled(history.can_redo)
            undo_action.setText("&Undo " + history.undo_text if history.can_undo else "&Undo")
            redo_action.setText("&Redo " + history.redo_text if history.can_redo else "&Redo")

        self.history.changed.connect(update)
        update()

    def close(self) -> None:
        """Stop recording; the history no longer reaches the menu (it may be destroyed before it)."""
        self._closed = True
        self._timer.stop()
        self.history.recorder.close()
