"""Persistent GUI settings (QSettings): window geometry and layout, recent files, last folder.

``XESTOOLS_SETTINGS_FILE`` points the settings at an INI file (tests, portable installs);
otherwise Qt's native per-user store is used.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import QByteArray, QSettings

log = logging.getLogger("xestools.gui.settings")

ORGANISATION = "xestools"
APPLICATION = "xestools"
MAX_RECENT = 10


def settings() -> QSettings:
    path = os.environ.get("XESTOOLS_SETTINGS_FILE")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(ORGANISATION, APPLICATION)


def _string_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(item) for item in value if item]


def string_list(key: str) -> list[str]:
    """A list of strings stored under ``key`` (empty when absent)."""
    return _string_list(settings().value(key, []))


def set_value(key: str, value) -> None:
    store = settings()
    store.setValue(key, value)
    store.sync()


def recent_files(key: str = "recent_files") -> list[str]:
    return string_list(key)


def add_recent_file(path: str, key: str = "recent_files") -> list[str]:
    """Put ``path`` first in the recent-files list (at most ``MAX_RECENT``), return the list."""
    path = os.path.abspath(path)
    files = [path] + [item for item in recent_files(key) if item != path]
    files = files[:MAX_RECENT]
    store = settings()
    store.setValue(key, files)
    store.sync()
    return files


def clear_recent_files(key: str = "recent_files") -> None:
    store = settings()
    store.setValue(key, [])
    store.sync()


#: the recent *session* files (File → Open recent session) use the same list functions with this key
RECENT_SESSIONS = "recent_sessions"


def last_folder(default: str = "") -> str:
    folder = settings().value("last_folder", default)
    return str(folder) if folder and os.path.isdir(str(folder)) else default


def set_last_folder(folder: str) -> None:
    store = settings()
    store.setValue("last_folder", folder)
    store.sync()


def restore_window(window) -> None:
    """Geometry and dock/toolbar layout of the last session's window, when saved."""
    store = settings()
    geometry, state = store.value("window/geometry"), store.value("window/state")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    if isinstance(state, QByteArray) and not state.isEmpty():
        window.restoreState(state)


def save_window(window) -> None:
    store = settings()
    store.setValue("window/geometry", window.saveGeometry())
    store.setValue("window/state", window.saveState())
    store.sync()
