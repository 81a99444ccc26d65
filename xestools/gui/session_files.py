"""File → Save session as… / Open session… / Open recent session / Locate missing files…: one
``.xes-session`` file per sample or per beamtime, the same versioned JSON as the autosave
(:mod:`xestools.session`).

Opening a session replaces what is open (after asking, when something is); its files are read on
the worker pool like any restore, and the undo history starts again from what it brings. Open
recent session also offers the autosaved sessions of the history ("Restore previous session").
Locate missing files asks for the folder the data moved to and reopens the last restored session
with every missing file found there (:func:`xestools.session.remap_missing`).
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from xestools.gui.common import settings as gui_settings
from xestools.runtime.autosave import history_for
from xestools.runtime.paths import default_session_file
from xestools.runtime.safe import safe_slot
from xestools.session import (SESSION_SUFFIX, HistoryEntry, SessionError, map_paths, missing_paths, read_session_file,
                              remap_missing, write_session_file)

log = logging.getLogger("xestools.gui.session_files")

SESSION_FILTER = f"xestools sessions (*{SESSION_SUFFIX});;All files (*)"
#: window placement is the autosave's business: a session file opened later does not move the window
_LAYOUT_KEYS = ("geometry", "window_state")


class SessionFiles:
    """The session-file commands of one main window."""

    def __init__(self, window, status, error) -> None:
        self.window = window
        self._status, self._error = status, error
        self._restored: dict | None = None

    def remember_restored(self, state: dict) -> None:
        """The session state the window restores (autosave or file), for Locate missing files."""
        self._restored = state

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
        if Path(path).resolve().parent != history_for(default_session_file()).folder.resolve():
            gui_settings.add_recent_file(os.path.abspath(path), gui_settings.RECENT_SESSIONS)   # (history: listed anyway)
        self._status(f"Opening session {os.path.basename(path)} …")
        return True

    def locate_missing_dialog(self) -> None:
        missing = missing_paths(self._restored) if self._restored else []
        if not missing:
            self._status("No file of the restored session is missing.")
            return
        folder = QFileDialog.getExistingDirectory(
            self.window, f"Locate missing files: the folder that now holds {os.path.basename(missing[0])}",
            gui_settings.last_folder(str(Path.home())))
        if folder:
            self.locate_missing(folder)

    def locate_missing(self, folder: str, *, confirm: bool = True) -> tuple[int, int]:
        """Reopen the restored session with its missing files looked for under ``folder``; returns
        (found, still missing) and says both."""
        state = self._restored or {}
        missing = missing_paths(state)
        moved = remap_missing(missing, folder)
        left = len(missing) - len(moved)
        if not moved:
            self._error(f"None of the {len(missing)} missing files of the session is in {folder} or its "
                        "subfolders (under the same names).", title="Locate missing files")
            return 0, left
        if confirm and self.window.workspace.datasets and not self._confirm(
                "again with the files found", informative="What is open now is reloaded from the session."):
            return 0, len(missing)
        self.window.user_action.emit(f"locate missing files in {folder}")
        self.window.workspace.clear()
        self.window.restore_session({k: v for k, v in map_paths(state, lambda path: moved.get(path, path)).items()
                                     if k not in _LAYOUT_KEYS})
        found = f"Found {len(moved)} of the {len(missing)} missing files in {folder}"
        if left:   # a message that stays: the user has to look for these elsewhere
            self._error(f"{found}; {left} still missing:\n" + "\n".join(p for p in missing if p not in moved),
                        title="Locate missing files")
        else:
            self._status(found + ".")
        return len(moved), left

    def _confirm(self, name: str, informative: str = "What is open now will be closed.\nTo keep it, use "
                 "File → Save session as… first.") -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Open session", f"Open the session {name}?",
                          QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel, self.window)
        box.setInformativeText(informative)
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
        previous = history_for(default_session_file()).entries()
        if previous:
            menu.addSeparator()
            menu.addAction("Restore previous session (autosaved):").setEnabled(False)
        for entry in previous:
            action = menu.addAction(describe_entry(entry))
            action.setToolTip(str(entry.path))
            action.triggered.connect(safe_slot(lambda _=False, p=str(entry.path): self.open(p)))


def describe_entry(entry: HistoryEntry) -> str:
    """"Sat 7 Dec 19:40 — 16 files": when the session was saved (local time) and what it holds."""
    try:
        when = _dt.datetime.fromisoformat(entry.saved_utc).astimezone().strftime("%a %d %b %Y %H:%M")
    except ValueError:
        when = "unknown time"
    return f"{when} — {entry.files} file{'s' if entry.files != 1 else ''}"
