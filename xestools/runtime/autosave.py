"""The session of a running GUI: restored at start, saved shortly after every change and at exit.

A change is a user action (the window's ``user_action`` signal) or anything a poll once a second
notices in ``session_state()`` (a file finished loading, a dock moved). The save is debounced: it
happens ``delay`` seconds after the last change (``--autosave-seconds``, 1.5 s), or at the latest
``max(5, 2 × delay)`` seconds after the first unsaved one, so a ``kill -9`` or a segfault loses about
the last two seconds of work. Saves are atomic (:class:`xestools.session.SessionStore`).
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QTimer

from xestools.runtime import breadcrumbs, safe
from xestools.session import SessionStore

log = logging.getLogger("xestools.runtime.autosave")

POLL_SECONDS = 1.0


def file_names_in(state) -> list[str]:
    """Base names of the files a session state refers to (keys ``path``, ``paths``, ``files``)."""
    found: list[str] = []

    def walk(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k).lower())
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in ("path", "paths", "file", "files", "source") and value:
            found.append(os.path.basename(value))

    walk(state)
    return list(dict.fromkeys(found))


class SessionKeeper(QObject):
    """Restores, watches and saves the session of one window.

    ``on_files(names)`` is called whenever the set of open files changes (the run marker lists them
    for crash reports).
    """

    def __init__(self, session_file: Path, window, *, delay: float, safe_mode: bool,
                 on_files: Callable[[list[str]], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = SessionStore(session_file)
        self.window = window
        self.delay = max(float(delay), 0.05)
        self.max_wait = max(5.0, 2.0 * self.delay)
        self.safe_mode = safe_mode
        self.on_files = on_files
        self.saves = 0
        self.open_files: list[str] = []
        self._last_saved_text: str | None = None
        self._last_seen_text: str | None = None
        self._dirty = False
        self._first_unsaved: float | None = None
        self._stopped = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.timeout.connect(safe.safe_slot(self._save_now))
        self._poll = QTimer(self)
        self._poll.setInterval(int(POLL_SECONDS * 1000))
        self._poll.timeout.connect(safe.safe_slot(self.poll))

    # ------------------------------------------------------------------ restore
    def restore(self) -> tuple[int, str]:
        """Hand the saved state to the window; returns (number of files, message for the user)."""
        result = self.store.load()
        if result.message:
            log.warning("%s", result.message)
        if result.state is None or not isinstance(result.state.get("main_window"), dict):
            return 0, result.message
        window_state = result.state["main_window"]
        try:
            self.window.restore_session(window_state)
        except Exception as exc:  # a session the window cannot take must not block start-up
            safe.handle_exception(exc, "restoring the session")
            return 0, result.message
        self._set_files(file_names_in(window_state))
        breadcrumbs.add(f"session restored from the {result.source} ({len(self.open_files)} files)")
        return len(self.open_files), result.message

    # ------------------------------------------------------------------ watching
    def start(self) -> None:
        """Take the baseline (an untouched workspace is not "changed") and start watching."""
        if self._stopped:
            return
        if self.saves == 0:
            self._last_saved_text = self._last_seen_text = self.state_text()
        self._poll.start()

    def stop(self) -> None:
        self._stopped = True
        self._poll.stop()
        self._debounce.stop()

    def changed(self) -> None:
        """A user action: save ``delay`` s from now (unless another change comes first)."""
        self._dirty = True
        self._schedule()

    def poll(self) -> None:
        """Notice changes that came without a user action; keep the list of open files current."""
        if self._stopped:
            return
        text = self.state_text()
        if text is None or text == self._last_seen_text:
            return
        self._last_seen_text = text
        self._set_files(file_names_in(json.loads(text)))
        if text != self._last_saved_text:
            self._schedule()

    def _schedule(self) -> None:
        if self._stopped:
            return
        now = time.monotonic()
        if self._first_unsaved is None:
            self._first_unsaved = now
        if now - self._first_unsaved >= self.max_wait:
            self._save_now()
        else:
            self._debounce.start(int(self.delay * 1000))

    def _save_now(self) -> None:
        if not self._stopped and self.save(force=False):
            log.debug("session autosaved")

    # ------------------------------------------------------------------ saving
    def state_text(self) -> str | None:
        try:
            return json.dumps({"main_window": self.window.session_state()}, sort_keys=True, default=str)
        except Exception:  # session_state() failing is reported, the runtime keeps going
            log.exception("could not collect the session state")
            return None

    def save(self, *, force: bool) -> bool:
        """Save when the state changed since the last save (or always with ``force``, except in safe
        mode, where an untouched workspace never overwrites the user's real session)."""
        text = self.state_text()
        if text is None:
            return False
        changed = text != self._last_saved_text or self._dirty
        if not changed and not (force and not self.safe_mode):
            self._first_unsaved = None
            return False
        state = json.loads(text)
        self.store.save(state)
        self._last_saved_text = self._last_seen_text = text
        self.saves += 1
        self._dirty = False
        self._first_unsaved = None
        self._debounce.stop()
        self._set_files(file_names_in(state))
        return True

    def _set_files(self, names: list[str]) -> None:
        if names != self.open_files:
            self.open_files = names
            self.on_files(names)
