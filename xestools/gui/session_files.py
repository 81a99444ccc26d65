"""File → Save session as… / Open session… / Open recent session: one ``.xes-session`` file per
sample or per beamtime, the same versioned JSON as the autosave (:mod:`xestools.session`).

Opening a session replaces what is open (after asking, when something is); its files are read on
the worker pool like any restore, and the undo history starts again from what it brings.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from xestools.gui import settings as gui_settings
from xestools.runtime.safe import safe_slot
from xestools.session import SESSION_SUFFIX, SessionError, read_session_file, write_session_file

log = logging.getLogger("xestools.gui.session_files")

SESSION_FILTER = f"xestools sessions (*{SESSION_SUFFIX});;All files (*)"
#: window placement is the autosave's business: a session file opened later does not move the window
_LAYOUT_KEYS = ("geometry", "window_state")


class SessionFiles:
    """The session-file commands of one main window."""

    def __init__(self, window, status, error) -> None:
        self.window = window
        self._status, self._error = status, error

    def _folder(self) -> str:
        recent = gui_settings.recent_files(gui_settings.RECENT_SESSIONS)
        if recent and os.path.isdir(os.path.dirname(recent[0])):
            return os.path.dirname(recent[0])
        return gui_settings.last_folder(str(Path.home()))

    def save_as_dialog(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(self.window, "Save session as", self._folder(), SESSION_FILTER)
        if path:
            self.save(path)

    def save(self, path: str) -> Path | None:
        try:
            written = write_session_file(path, self.window.session_state())
        except OSError as exc:
            self._error(f"The session could not be saved as {path}: {exc.strerror or exc}", title="Save session")
            return None
        gui_settings.add_recent_file(str(written), gui_settings.RECENT_SESSIONS)
        self.window.user_action.emit(f"save session {written.name}")
        self._status(f"Session saved as {written}")
        return written

    def open_dialog(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self.window, "Open session", self._folder(), SESSION_FILTER)
        if path:
            self.open(path)

    def open(self, path: str, *, confirm: bool = True) -> bool:
        """Replace what is open with the session in ``path``; a bad file gets a message naming it."""
        try:
            state = read_session_file(path)
        except SessionError as exc:
            self._error(f"{exc}\n\nNothing was changed.", title="Open session")
            return False
        if confirm and self.window.workspace.datasets and not self._confirm(os.path.basename(path)):
            return False
        self.window.user_action.emit(f"open session {os.path.basename(path)}")
        self.window.workspace.clear()
        self.window.restore_session({k: v for k, v in state.items() if k not in _LAYOUT_KEYS})
        gui_settings.add_recent_file(os.path.abspath(path), gui_settings.RECENT_SESSIONS)
        self._status(f"Opening session {os.path.basename(path)} …")
        return True

    def _confirm(self, name: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Open session", f"Open the session {name}?",
                          QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel, self.window)
        box.setInformativeText("What is open now will be closed.\nTo keep it, use File → Save session as… first.")
        box.setDefaultButton(QMessageBox.StandardButton.Open)
        try:
            return box.exec() == QMessageBox.StandardButton.Open
        finally:
            box.deleteLater()

    def fill_recent_menu(self, menu) -> None:
        menu.clear()
        sessions = gui_settings.recent_files(gui_settings.RECENT_SESSIONS)
        for path in sessions:
            action = menu.addAction(path)
            action.triggered.connect(safe_slot(lambda _=False, p=path: self.open(p)))
        if sessions:
            menu.addSeparator()
            clear = menu.addAction("Clear list")
            clear.triggered.connect(safe_slot(lambda _=False: gui_settings.clear_recent_files(gui_settings.RECENT_SESSIONS)))
        else:
            menu.addAction("(no recent sessions)").setEnabled(False)
