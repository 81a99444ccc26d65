"""The session of a running GUI: restored at start, saved shortly after every change and at exit.

A change is a user action (the window's ``user_action`` signal) or anything a poll once a second
notices in ``session_state()`` (a file finished loading, a dock moved). The save is debounced: it
happens ``delay`` seconds after the last change (``--autosave-seconds``, 1.5 s), or at the latest
``max(5, 2 × delay)`` seconds after the first unsaved one, so a ``kill -9`` or a segfault loses about
the last two seconds of work. Saves are atomic (:class:`xestools.session.SessionStore`), and every
session with files is also kept in a history of the last ten (``session-history/`` beside the
session file), offered by File → Open recent session. A run that does not restore the session
(``--no-restore``, safe mode) puts it into the history first and does not save an untouched
workspace over it. A save that fails (disk full) is told to the user, once, with the reason; the
previous file stays as it was.
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
from xestools.session import SessionHistory, SessionStore

log = logging.getLogger("xestools.runtime.autosave")

POLL_SECONDS = 1.0
HISTORY_FOLDER = "session-history"


def history_for(session_file: Path) -> SessionHistory:
    """The history of autosaved sessions kept beside ``session_file``."""
    return SessionHistory(Path(session_file).parent / HISTORY_FOLDER)


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
    for crash reports); ``on_save_error(text)`` when a save fails (once until one succeeds again).
    ``restoring`` is False with ``--no-restore`` and in safe mode: the session on disk is then kept
    in the history, and an untouched workspace is never saved over it.
    """

    def __init__(self, session_file: Path, window, *, delay: float, restoring: bool,
                 on_files: Callable[[list[str]], None], on_save_error: Callable[[str], None] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = SessionStore(session_file, history_for(session_file))
        self.window = window
        self.delay = max(float(delay), 0.05)
        self.max_wait = max(5.0, 2.0 * self.delay)
        self.restoring = restoring
        self.on_files = on_files
        self.on_save_error = on_save_error
        self.save_error: str | None = None
        self.saves = 0
        self.open_files: list[str] = []
        self._last_saved_text: str | None = None
        self._last_seen_text: str | None = None
        self._unsaved_text: str | None = None
        self._dirty = False
        self._first_unsaved: float | None = None
        self._stopped = False
        self._collect = QTimer(self)
        self._collect.setSingleShot(True)
        self._collect.timeout.connect(safe.safe_slot(self._collect_unsaved))
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.timeout.connect(safe.safe_slot(self._save_now))
        self._poll = QTimer(self)
        self._poll.setInterval(int(POLL_SECONDS * 1000))
        self._poll.timeout.connect(safe.safe_slot(self.poll))

    # ------------------------------------------------------------------ restore
    def keep_unrestored(self) -> str:
        """Put the session that this run does not restore into the history (see the class); a
        damaged one is set aside. Returns a message for the user ("" when all went well)."""
        try:
            kept = self.store.keep_unrestored()
        except OSError as exc:
            log.warning("could not keep the session that was not restored in the history: %s", exc)
            return ""
        if isinstance(kept, str):
            log.warning("%s", kept)
            return kept
        if kept is not None:
            log.info("the session that was not restored is kept as %s (File → Open recent session)", kept)
        return ""

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
    def start(self, *, opened: bool = False) -> None:
        """Take the baseline (an untouched workspace is not "changed") and start watching.

        ``opened``: files were opened at start-up (the command line); they are a change to save even
        when they were read before the baseline was taken, and the run marker names them at once.
        """
        if self._stopped:
            return
        if self.saves == 0:
            text = self.state_text()
            self._last_saved_text = self._last_seen_text = text
            if text is not None:
                self._set_files(file_names_in(json.loads(text)))
        self._poll.start()
        if opened:
            self.changed()

    def stop(self) -> None:
        self._stopped = True
        self._poll.stop()
        self._debounce.stop()
        self._collect.stop()

    def changed(self) -> None:
        """A user action: save ``delay`` s from now (unless another change comes first), and
        collect the state as soon as the action is done (for :meth:`save_collected`)."""
        self._dirty = True
        self._schedule()
        if not self._stopped:
            self._collect.start(0)

    def _collect_unsaved(self, text: str | None = None) -> None:
        text = self.state_text() if text is None else text
        if text is not None and (text != self._last_saved_text or self._dirty):
            self._unsaved_text = text

    def save_collected(self) -> bool:
        """For an exit forced from a signal handler while the event loop is busy: save the state as
        it is now (the handler runs on the GUI thread between two Python steps), or, when it cannot
        be collected, the one collected after the last user action or poll. A change that came
        without a user action (a cut edited in the table) is noticed only by the poll, so the
        state is asked for first. True when something was saved."""
        current = self.state_text()
        if current is not None and (current != self._last_saved_text or self._dirty):
            self._unsaved_text = current
        text = self._unsaved_text
        if text is None:
            return False
        try:
            self.store.save(json.loads(text))
        except OSError as exc:
            log.error("the unsaved session could not be saved at the forced exit: %s", exc.strerror or exc)
            return False
        self._unsaved_text = None
        return True

    def poll(self) -> None:
        """Notice changes that came without a user action; keep the list of open files current."""
        if self._stopped:
            return
        text = self.state_text()
        if text is None or text == self._last_seen_text:
            return
        self._last_seen_text = text
        self._set_files(file_names_in(json.loads(text)))
        self._collect_unsaved(text)
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
        """Save when the state changed since the last save (or always with ``force``, except when
        the session was not restored: an untouched workspace never overwrites the user's real
        session). False when nothing was saved, also when the save failed (see ``save_error``)."""
        text = self.state_text()
        if text is None:
            return False
        changed = text != self._last_saved_text or self._dirty
        if not changed and not (force and self.restoring):
            self._first_unsaved = None
            return False
        state = json.loads(text)
        try:
            self.store.save(state)
        except OSError as exc:
            self._save_failed(exc)
            return False
        if self.save_error is not None:
            log.info("the session is saved again after the earlier failure (%s)", self.save_error)
            self.save_error = None
        self._last_saved_text = self._last_seen_text = text
        self._unsaved_text = None
        self.saves += 1
        self._dirty = False
        self._first_unsaved = None
        self._debounce.stop()
        self._set_files(file_names_in(state))
        return True

    def _save_failed(self, exc: OSError) -> None:
        """Say once (until a save succeeds) why the session could not be saved; keep trying."""
        reason = exc.strerror or str(exc)
        text = (f"The session could not be saved to {self.store.path}: {reason}. The previous session file "
                "is kept as it was; your recent changes are not saved yet. Free some space (or fix the "
                "folder) and xestools saves again at the next change.")
        log.error("session not saved: %s", reason, exc_info=(type(exc), exc, exc.__traceback__))
        self._first_unsaved = None
        first = self.save_error is None
        self.save_error = reason
        if first and self.on_save_error is not None:
            self.on_save_error(text)

    def _set_files(self, names: list[str]) -> None:
        if names != self.open_files:
            self.open_files = names
            self.on_files(names)
