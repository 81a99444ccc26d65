"""The Qt side of the runtime: POSIX signals into the event loop, and the non-modal error message.

Only this module, :mod:`~xestools.runtime.gui_process`, :mod:`~xestools.runtime.autosave` and
:mod:`~xestools.runtime.instance` import Qt (widgets only here and for dialogs); everything else in
``runtime`` stays Qt-free so the supervisor and the CLI can use it.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import time
import traceback
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QSocketNotifier, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

from xestools.runtime.hooks import FORCE_WINDOW_SECONDS, SHUTDOWN_SIGNALS
from xestools.runtime.safe import safe_slot

log = logging.getLogger("xestools.runtime.qt_runtime")


def _alive(widget) -> bool:
    """False once Qt has deleted the C++ object (a message box closed by the user deletes itself)."""
    import shiboken6

    return shiboken6.isValid(widget)


class SignalRouter(QObject):
    """Delivers SIGTERM/SIGINT/SIGHUP/SIGQUIT to the event loop promptly.

    The C-level handler writes the signal number to a socket (``signal.set_wakeup_fd``); a
    ``QSocketNotifier`` wakes the event loop, which runs ``on_signal(signum)`` once. A second signal
    within 2 s calls ``force_exit(signum)`` straight from the Python handler, so it works even when
    the event loop is stuck in Python code. ``first_signal`` continues the 2-s window of a signal
    that arrived during start-up. After :meth:`uninstall` (the end of a clean shutdown) further
    shutdown signals are ignored: the process is exiting with status 0 and must not be killed.
    """

    def __init__(self, on_signal: Callable[[int], None], force_exit: Callable[[int], None],
                 parent: QObject | None = None, first_signal: float | None = None) -> None:
        super().__init__(parent)
        self._on_signal = on_signal
        self._force_exit = force_exit
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = -1
        self._previous_handlers: dict[int, object] = {}
        self._first_signal: float | None = first_signal
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_readable)
        self.installed = False

    def install(self) -> None:
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for signum in SHUTDOWN_SIGNALS:
            self._previous_handlers[signum] = signal.signal(signum, self._python_handler)
        self.installed = True

    def uninstall(self) -> None:
        if not self.installed:
            return
        for signum in self._previous_handlers:
            signal.signal(signum, signal.SIG_IGN)
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self.installed = False

    def _python_handler(self, signum, frame) -> None:
        now = time.monotonic()
        if self._first_signal is not None and now - self._first_signal <= FORCE_WINDOW_SECONDS:
            self._force_exit(signum)
            return
        self._first_signal = now

    @Slot()
    def _on_readable(self) -> None:
        try:
            data = self._reader.recv(512)
        except (BlockingIOError, InterruptedError):
            return
        for signum in dict.fromkeys(data):  # keep order, once each
            try:
                name = signal.Signals(signum).name
            except ValueError:
                name = str(signum)
            log.info("received %s: shutting down in order", name)
            self._on_signal(signum)


class ErrorPresenter(QObject):
    """Non-modal messages with Details and Open report folder; callable from any thread."""

    requested = Signal(str, str, str, str)   # level, title, text, details

    def __init__(self, report_folder: Path, parent_widget: Callable[[], QWidget | None] = lambda: None) -> None:
        super().__init__()
        self.report_folder = Path(report_folder)
        self._parent_widget = parent_widget
        self._boxes: list[QMessageBox] = []
        self._last_shown: dict[tuple[str, str], float] = {}
        self.requested.connect(self._show, Qt.ConnectionType.QueuedConnection)

    REPEAT_QUIET_SECONDS = 30.0

    def present_exception(self, exc: BaseException, context: str) -> None:
        """Registered with :func:`xestools.runtime.safe.add_exception_presenter`.

        The same error from the same place is shown once per 30 s (a failing mouse-move callback
        must not open a message per event); repeats are in the log.
        """
        key = (type(exc).__qualname__, context)
        now = time.monotonic()
        if now - self._last_shown.get(key, -1e9) < self.REPEAT_QUIET_SECONDS:
            return
        self._last_shown[key] = now
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.requested.emit("error", "xestools: something went wrong",
                            f"{type(exc).__name__} in {context}:\n{exc}\n\nThe action was not completed; "
                            "the rest of the program keeps working. The details are in the log and "
                            "in the crash report folder.", details)

    def message(self, level: str, title: str, text: str, details: str = "") -> None:
        self.requested.emit(level, title, text, details)

    @Slot(str, str, str, str)
    @safe_slot
    def _show(self, level: str, title: str, text: str, details: str) -> None:
        self._boxes = [box for box in self._boxes if _alive(box) and box.isVisible()]
        if len(self._boxes) >= 3:  # do not bury the user under message boxes
            log.info("message not shown (three already open): %s", text)
            return
        icon = {"error": QMessageBox.Icon.Critical, "warning": QMessageBox.Icon.Warning}.get(
            level, QMessageBox.Icon.Information)
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Close, self._parent_widget())
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        if details:
            box.setDetailedText(details)
        if level in ("error", "warning"):
            # The text overload: the box owns the button (a Python-made button would be deleted
            # together with its wrapper when this function returns).
            button = box.addButton("Open report folder", QMessageBox.ButtonRole.ActionRole)
            button.clicked.connect(self.open_report_folder)
        box.show()
        self._boxes.append(box)

    @Slot()
    @safe_slot
    def open_report_folder(self) -> None:
        self.report_folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.fspath(self.report_folder)))

    def close_all(self) -> None:
        for box in self._boxes:
            if _alive(box) and box.isVisible():
                box.close()
        self._boxes.clear()
