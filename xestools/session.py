"""The workspace as versioned JSON: saved atomically with the previous good copy kept.

File layout::

    {"format": "xestools-session", "version": 1, "saved_utc": "...", "app_version": "0.1.0",
     "state": {...}}

``state`` is whatever the GUI puts in (the main window's ``session_state()`` under "main_window").
Loading never raises and never blocks start-up: a damaged file or one written by a newer version is
kept aside (``session.json.damaged-<time>`` or ``session.json.newer-<time>``), the backup (``session.json.bak``, the last good copy)
is tried next, then nothing; :class:`LoadResult.message` says what happened. The files are 0600
in a 0700 folder (they name the user's scans). No Qt here.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from xestools.io.atomic import private_write

log = logging.getLogger("xestools.session")

FORMAT = "xestools-session"
VERSION = 1


@dataclass(frozen=True)
class LoadResult:
    """``state`` is None when nothing usable was found; ``source`` is "session", "backup" or "none"."""

    state: dict | None
    source: str
    message: str = ""


class SessionError(ValueError):
    """A session file that cannot be used (damaged, not ours, or from a newer version)."""

    def __init__(self, message: str, *, newer: bool = False) -> None:
        super().__init__(message)
        self.newer = newer


def encode(state: dict) -> str:
    from xestools import __version__

    document = {"format": FORMAT, "version": VERSION,
                "saved_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "app_version": __version__, "state": state}
    return json.dumps(document, indent=1, sort_keys=True, allow_nan=False)


def decode(text: str) -> dict:
    """The ``state`` of a session document; :class:`SessionError` when it cannot be used."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SessionError(f"not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SessionError("not an xestools session file")
    version = document.get("version")
    if not isinstance(version, int):
        raise SessionError("session file has no version")
    if version > VERSION:
        raise SessionError(f"written by a newer xestools (session version {version}, this one reads "
                           f"up to {VERSION})", newer=True)
    state = document.get("state")
    if not isinstance(state, dict):
        raise SessionError("session file has no state")
    return migrate(state, version)


def migrate(state: dict, version: int) -> dict:
    """Bring an older session's state up to :data:`VERSION` (version 1 is the first)."""
    return state


class SessionStore:
    """Load and save one session file (``path``) with its backup ``path.bak``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.backup = self.path.with_name(self.path.name + ".bak")

    def save(self, state: dict) -> None:
        """Write ``state``; the current file, if it is good, becomes the backup first.

        Both steps are atomic, so a kill at any moment leaves a good session or a good backup.
        """
        text = encode(state)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            current = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        except (OSError, UnicodeDecodeError):
            log.warning("could not read the current session %s before saving", self.path, exc_info=True)
            current = None
        if current is not None and current != text:
            try:
                decode(current)
            except SessionError:
                log.warning("current session %s is not usable; not keeping it as backup", self.path)
            else:
                private_write(self.backup, current)
        private_write(self.path, text)
        log.debug("session saved to %s", self.path)

    def load(self) -> LoadResult:
        """The saved state, or the backup's, or nothing; never raises."""
        problems = []
        for source, path in (("session", self.path), ("backup", self.backup)):
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path.name}: {exc}")
                self._set_aside(path)
                continue
            try:
                state = decode(text)
            except SessionError as exc:
                log.warning("session file %s cannot be used: %s", path, exc)
                problems.append(f"{path.name}: {exc}")
                self._set_aside(path, "newer" if exc.newer else "damaged")
                continue
            message = ""
            if problems:
                message = ("The last session could not be read (" + "; ".join(problems) +
                           f"); the previous copy was restored instead.")
            return LoadResult(state, source, message)
        if problems:
            return LoadResult(None, "none", "The saved session could not be read (" + "; ".join(problems) +
                              "); starting with an empty workspace. The damaged file was kept for support.")
        return LoadResult(None, "none", "")

    def _set_aside(self, path: Path, why: str = "damaged") -> None:
        """Keep an unusable file under a new name (for support, or for the newer xestools that wrote
        it), so it is not read again and not overwritten."""
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = path.with_name(f"{path.name}.{why}-{stamp}")
        try:
            shutil.move(os.fspath(path), os.fspath(target))
            log.warning("damaged session file kept as %s", target)
        except OSError:
            log.warning("could not move the damaged session file %s aside", path, exc_info=True)


def saved_age(path: str | os.PathLike, at: float | None = None) -> float | None:
    """Seconds between the last save of the session file ``path`` and ``at`` (now), or None when
    there is none; for the crash dialog ("the restored session is 3 s old")."""
    try:
        saved = os.stat(path).st_mtime
    except OSError:
        return None
    return max((time.time() if at is None else at) - saved, 0.0)


def describe_age(seconds: float | None) -> str:
    """"1 s", "2 min 5 s", "3 h 4 min" — or a sentence part for no saved session."""
    if seconds is None:
        return "no session was saved yet"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


#: File → Save session as… / Open session…: the extension of a session file
SESSION_SUFFIX = ".xes-session"
#: a session file larger than this is not ours (ours are a few kB per open file)
MAX_SESSION_BYTES = 32 * 1024 * 1024


def write_session_file(path: str | os.PathLike, window_state: dict) -> Path:
    """Save the main window's state as a session file (the autosave's JSON, written atomically,
    readable by the user only); ``.xes-session`` is added when the name has no such suffix."""
    path = Path(path)
    if path.suffix.lower() != SESSION_SUFFIX:
        path = path.with_name(path.name + SESSION_SUFFIX)
    private_write(path, encode({"main_window": window_state}))
    return path


def read_session_file(path: str | os.PathLike) -> dict:
    """The main window's state in a session file; :class:`SessionError` naming the file otherwise."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise SessionError(f"{name} is not a regular file")
        if size > MAX_SESSION_BYTES:
            raise SessionError(f"{name} is {size / 1e6:.0f} MB: not an xestools session file")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SessionError(f"{name} is not an xestools session file (not text: {exc.reason})") from exc
    except OSError as exc:
        raise SessionError(f"{name} cannot be read ({exc.strerror or exc})") from exc
    try:
        state = decode(text)
    except SessionError as exc:
        raise SessionError(f"{name} cannot be opened as a session: {exc}", newer=exc.newer) from exc
    window_state = state.get("main_window")
    if not isinstance(window_state, dict):
        raise SessionError(f"{name} cannot be opened as a session: it holds no window state")
    return window_state
