"""Persistent GUI settings (QSettings): window geometry and layout, recent files, last folder.

``XESTOOLS_SETTINGS_FILE`` points the settings at an INI file (tests, portable installs);
otherwise Qt's native per-user store is used.
"""
from __future__ import annotations

import logging
import os
import stat
import sys
import tempfile

from PySide6.QtCore import QByteArray, QSettings

from xestools.io.regular_files import special_file_kind
from xestools.session import set_aside

log = logging.getLogger("xestools.gui.common.settings")

ORGANISATION = "xestools"
APPLICATION = "xestools"
MAX_RECENT = 10


def _native_file() -> str | None:
    """The INI file Qt's native store uses on Linux/BSD (elsewhere the store is not a plain file we could check)."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(config, ORGANISATION, f"{APPLICATION}.conf")


def _not_a_regular_file(path: str) -> str | None:
    """What ``path`` is when it exists and is not a regular file (reading a FIFO or device would block)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # missing (Qt creates it) or unreachable (Qt reports it)
    return None if stat.S_ISREG(mode) else special_file_kind(mode)


_WARNED: set[str] = set()


def _fallback(path: str, kind: str) -> QSettings:
    """Settings for this run in a private file of our own; the odd file itself is left untouched."""
    folder = os.path.join(tempfile.gettempdir(), f"xestools-settings-{os.getuid() if hasattr(os, 'getuid') else 0}")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    replacement = os.path.join(folder, "settings.ini")
    if path not in _WARNED:
        _WARNED.add(path)
        log.warning("the settings file %s is a %s, not a regular file; it was not read, and settings are kept in "
                    "%s for this run", path, kind, replacement)
    return QSettings(replacement, QSettings.Format.IniFormat)


def settings() -> QSettings:
    """The settings store; a settings path that is not a regular file is never opened (see :func:`_fallback`)."""
    path = os.environ.get("XESTOOLS_SETTINGS_FILE")
    checked = path or _native_file()
    kind = _not_a_regular_file(checked) if checked else None
    if kind is not None:
        return _fallback(checked, kind)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(ORGANISATION, APPLICATION)


#: a settings file larger than this was not written by xestools (ours are a few kB)
MAX_SETTINGS_BYTES = 1024 * 1024


def set_aside_if_damaged() -> str:
    """Rename a damaged settings file (binary, not text, too large, unreadable for Qt) to
    ``<name>.damaged-<time>`` so this start uses defaults; returns the message for the user, or ""."""
    path = settings().fileName()
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return ""     # not a file of ours to judge
        with open(path, "rb") as handle:
            data = handle.read(MAX_SETTINGS_BYTES + 1)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"The settings file {path} cannot be read ({exc.strerror or exc}); default settings are used."
    problem = ""
    if len(data) > MAX_SETTINGS_BYTES:
        problem = f"it is larger than {MAX_SETTINGS_BYTES // 1024} kB"
    elif b"\0" in data:
        problem = "it holds binary data"
    elif settings().status() != QSettings.Status.NoError:
        problem = "Qt cannot read it"
    else:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            problem = "it is not text"
    if not problem:
        return ""
    kept = set_aside(path)
    where = f"it was kept as {kept}" if kept else "it could not be renamed"
    return f"The settings file {path} is damaged ({problem}): {where}, and default settings are used."


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


def complete_scans_only() -> bool:
    """The user's last choice: series averages leave out scans still being measured."""
    return str(settings().value("average_complete_scans_only", "false")).lower() in ("true", "1")


def set_complete_scans_only(on: bool) -> None:
    store = settings()
    store.setValue("average_complete_scans_only", "true" if on else "false")
    store.sync()
