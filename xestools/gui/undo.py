"""Edit → Undo/Redo: a ``QUndoStack`` over the Qt-free steps of :mod:`xestools.workspace.history`.

The recorder notices every workspace change; a change ends as a step when things have settled for
``SETTLE_MS`` and no mouse button is held (so a drag of a cut line is one step, and the arrow-key
nudges of one burst are one step), or at once before an undo or redo. While files are being read
nothing is recorded; after a session was opened, what it brought is the new starting point.
"""
from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QUndoCommand, QUndoStack

from xestools.runtime.safe import safe_slot
from xestools.workspace.history import MAX_STEPS, Recorder, Step

log = logging.getLogger("xestools.gui.undo")

SETTLE_MS = 400


def mouse_held() -> bool:
    """A mouse button is down (a drag is going on): the step is not over yet."""
    return QGuiApplication.mouseButtons() != Qt.MouseButton.NoButton


class _StepCommand(QUndoCommand):
    """One workspace step; QUndoStack.push calls ``redo`` at once, when the change is already made."""

    def __init__(self, step: Step, recorder: Recorder) -> None:
        super().__init__(step.label)
        self.step = step
        self._recorder = recorder
        self._done = True

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self._recorder.apply(self.step, undo=False)

    def undo(self) -> None:
        self._recorder.apply(self.step, undo=True)


class UndoController(QObject):
    """The undo stack of one workspace; ``applied(text)`` after an undo or redo changed it."""

    applied = Signal(str)

    def __init__(self, workspace, busy: Callable[[], bool] = lambda: False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stack = QUndoStack(self)
        self.stack.setUndoLimit(MAX_STEPS)
        self.recorder = Recorder(workspace)
        self._busy = busy
        self._baseline_pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SETTLE_MS)
        self._timer.timeout.connect(safe_slot(self._settle))
        self.recorder.touched.connect(self._timer.start)

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
            self.recorder.rebase()
            return
        step = self.recorder.take_step()
        if step is not None:
            log.debug("undo step: %s", step.label)
            self.stack.push(_StepCommand(step, self.recorder))

    def undo(self) -> None:
        self.flush()
        if self.stack.canUndo():
            text = self.stack.undoText()
            self.stack.undo()
            self.applied.emit(f"Undone: {text}")

    def redo(self) -> None:
        self.flush()
        if self.stack.canRedo():
            text = self.stack.redoText()
            self.stack.redo()
            self.applied.emit(f"Redone: {text}")

    def start_over(self) -> None:
        """A session is being opened: forget the history; what it loads is the new starting point."""
        self.stack.clear()
        self._baseline_pending = True
        self._timer.start()

    def bind(self, undo_action, redo_action) -> None:
        """Keep the Edit menu's actions enabled and named after the step they undo or redo."""
        def update(*_args) -> None:
            undo_action.setEnabled(self.stack.canUndo())
            redo_action.setEnabled(self.stack.canRedo())
            undo_action.setText("&Undo " + self.stack.undoText() if self.stack.canUndo() else "&Undo")
            redo_action.setText("&Redo " + self.stack.redoText() if self.stack.canRedo() else "&Redo")

        self.stack.indexChanged.connect(update)
        self.stack.cleanChanged.connect(update)
        update()

    def close(self) -> None:
        """Stop recording; the stack no longer reaches the menu (it may be destroyed before it)."""
        self._timer.stop()
        self.stack.blockSignals(True)
        self.recorder.close()
