"""The workspace as versioned JSON: saved atomically with the previous good copy kept.

File layout::

    {"format": "xestools-session", "version": 1, "saved_utc": "...", "app_version": "0.1.0",
     "state": {...}, "relative_paths": {"/abs/data/a.nxs": "../data/a.nxs"}}

``state`` is whatever the GUI puts in (the main window's ``session_state()`` under "main_window").
Every file path in it (the values of :data:`PATH_KEYS`) is written absolute, and
``relative_paths`` gives each one relative to the session file's folder. Reading resolves a path
to the absolute one when it exists, else to the one relative to the session file, else keeps it
as missing: a session reopens from any working folder, and a session file copied with its data
(to a laptop) still finds them. Files written before ``relative_paths`` existed (relative to the
folder xestools was started in) are read the same way. :func:`remap_missing` moves the missing
paths of a data folder that moved as a whole.

Loading never raises and never blocks start-up: a damaged file (not JSON, nested too deep, too
large) or one written by a newer version is kept aside (``session.json.damaged-<time>`` or
``session.json.newer-<time>``), the backup (``session.json.bak``, the last good copy) is tried
next, then nothing; :class:`LoadResult.message` says what happened. The files are 0600 in a 0700
folder (they name the user's scans). No Qt here.
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
from typing import Callable

from xestools.io._json import loads_bounded
from xestools.io.atomic import private_write
from xestools.io.regular_files import is_regular_file

log = logging.getLogger("xestools.session")

FORMAT = "xestools-session"
VERSION = 1
#: a session file larger than this is not ours (ours are a few kB per open file)
MAX_SESSION_BYTES = 32 * 1024 * 1024
#: keys whose string values (or lists of strings) in a state are file paths
PATH_KEYS = frozenset({"path", "current", "source_path", "map_source", "reference_source", "members",
                       "folder", "watch_folder"})
#: keys whose value is a mapping to file paths (closed inputs of a derived XES item)
PATH_MAP_KEYS = frozenset({"input_files"})


def map_paths(value, convert: Callable[[str], str], key: str = ""):
    """A copy of the state ``value`` with ``convert`` applied to every file path in it."""
    if isinstance(value, dict):
        if key in PATH_MAP_KEYS:
            return {k: convert(v) if isinstance(v, str) and v else v for k, v in value.items()}
        return {k: map_paths(v, convert, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [map_paths(v, convert, key) for v in value]
    if isinstance(value, str) and value and key in PATH_KEYS:
        return convert(value)
    return value


def paths_in(state) -> list[str]:
    """Every file path in ``state``, in order, without repeats."""
    found: list[str] = []
    map_paths(state, lambda path: found.append(path) or path)
    return list(dict.fromkeys(found))


def resolve_path(saved: str, relative: str | None, base: Path | None) -> str:
    """Where a saved path is now: absolute if it exists, else relative to the session file's
    folder ``base``, else (missing) the saved path made absolute."""
    absolute = os.path.abspath(os.path.expanduser(saved))
    if os.path.exists(absolute):
        return absolute
    for candidate in (relative, saved if not os.path.isabs(saved) else None):
        if candidate and base is not None:
            beside = os.path.normpath(os.path.join(base, candidate))
            if os.path.exists(beside):
                return beside
    return absolute


def missing_paths(state) -> list[str]:
    """The file paths of ``state`` that do not exist (for File → Locate missing files…)."""
    return [path for path in paths_in(state) if not os.path.exists(path)]


def remap_missing(missing: list[str], new_folder: str | os.PathLike) -> dict[str, str]:
    """Old path → new path for the missing files of a data folder that moved to ``new_folder``.

    The old folder is one of the folders above the missing paths (the user may point at any level:
    the beamtime folder, the one above it, one subfolder): the one under which most files are found
    in ``new_folder``, the deepest on a tie. Only paths that exist after remapping are returned.
    """
    missing = list(dict.fromkeys(os.path.abspath(path) for path in missing))
    new_folder = os.path.abspath(os.fspath(new_folder))
    candidates: set[str] = set()
    for path in missing:
        folder = os.path.dirname(path)
        while folder not in candidates:
            candidates.add(folder)
            folder = os.path.dirname(folder)
    best: dict[str, str] = {}
    for old in sorted(candidates, key=len, reverse=True):
        under = [path for path in missing if os.path.commonpath([path, old]) == old]
        found = {path: os.path.join(new_folder, os.path.relpath(path, old)) for path in under}
        found = {path: new for path, new in found.items() if os.path.exists(new)}
        if len(found) > len(best):
            best = found
    return best


def _saved_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def encode(state: dict, base: str | os.PathLike | None = None) -> str:
    """The session document of ``state``, its paths absolute and relative to the folder ``base``
    (where the file will be; the current folder when None)."""
    from xestools import __version__

    state = map_paths(state, lambda path: os.path.abspath(os.path.expanduser(path)))
    folder = os.path.abspath(os.fspath(base) if base is not None else os.curdir)
    relative = {}
    for path in paths_in(state):
        try:
            relative[path] = os.path.relpath(path, folder)
        except ValueError:   # another drive (Windows): the absolute path only
            continue
    document = {"format": FORMAT, "version": VERSION, "saved_utc": _saved_utc(),
                "app_version": __version__, "state": state, "relative_paths": relative}
    return json.dumps(document, indent=1, sort_keys=True, allow_nan=False)


def decode(text: str | bytes, base: str | os.PathLike | None = None) -> dict:
    """The ``state`` of a session document, its paths resolved (:func:`resolve_path`) against the
    folder ``base`` of the file; :class:`SessionError` when it cannot be used."""
    document = _document(text)
    state = migrate(document["state"], document["version"])
    relative = document.get("relative_paths")
    relative = relative if isinstance(relative, dict) else {}
    folder = Path(base) if base is not None else None
    return map_paths(state, lambda path: resolve_path(path, relative.get(path) if isinstance(
        relative.get(path), str) else None, folder))


def _document(text: str | bytes) -> dict:
    try:
        document = loads_bounded(text, max_bytes=MAX_SESSION_BYTES)
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
    if not isinstance(document.get("state"), dict):
        raise SessionError("session file has no state")
    return document


def saved_time(text: str | bytes) -> str:
    """The ``saved_utc`` of a session document ("" when it has none)."""
    value = _document(text).get("saved_utc")
    return value if isinstance(value, str) else ""


def migrate(state: dict, version: int) -> dict:
    """Bring an older session's state up to :data:`VERSION` (version 1 is the first)."""
    return state


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


class SessionStore:
    """Load and save one session file (``path``) with its backup ``path.bak``, and keep every
    saved session with files in ``history`` (when given) as well."""

    def __init__(self, path: str | os.PathLike, history: "SessionHistory | None" = None) -> None:
        self.path = Path(path)
        self.backup = self.path.with_name(self.path.name + ".bak")
        self.history = history

    def save(self, state: dict) -> None:
        """Write ``state``; the current file, if it is good, becomes the backup first.

        Both steps are atomic, so a kill at any moment leaves a good session or a good backup; an
        OSError (disk full) leaves the current file as it was and reaches the caller.
        """
        text = encode(state, self.path.parent)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            current = self.path.read_bytes()
        except FileNotFoundError:
            current = None
        except OSError:
            log.warning("could not read the current session %s before saving", self.path, exc_info=True)
            current = None
        if current is not None and current != text.encode("utf-8"):
            try:
                _document(current)
            except SessionError:
                log.warning("current session %s is not usable; not keeping it as backup", self.path)
            else:
                private_write(self.backup, current)
        private_write(self.path, text)
        log.debug("session saved to %s", self.path)
        if self.history is not None:
            self.history.record(state)

    def load(self) -> LoadResult:
        """The saved state, or the backup's, or nothing; never raises."""
        problems = []
        for source, path in (("session", self.path), ("backup", self.backup)):
            if os.path.lexists(path) and not is_regular_file(path):   # a FIFO would block the open for good
                problems.append(f"{path.name}: not a regular file")
                self._set_aside(path, "not-a-file")
                continue
            try:
                with open(path, "rb") as handle:
                    text = handle.read(MAX_SESSION_BYTES + 1)
            except FileNotFoundError:
                continue
            except OSError as exc:
                problems.append(f"{path.name}: {exc}")
                self._set_aside(path)
                continue
            try:
                state = decode(text, path.parent)
            except SessionError as exc:
                log.warning("session file %s cannot be used: %s", path, exc)
                kept = self._set_aside(path, "newer" if exc.newer else "damaged")
                problems.append(f"{path.name}: {exc}" + (f"; kept as {kept.name}" if kept else ""))
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

    def keep_unrestored(self) -> Path | str | None:
        """Put the session this run does not restore (``--no-restore``, safe mode) into the history
        before anything can overwrite it; returns the history file (None: nothing to keep), or a
        message when the session file is damaged (it is then set aside, see :meth:`load`)."""
        if self.history is None:
            return None
        try:
            with open(self.path, "rb") as handle:
                text = handle.read(MAX_SESSION_BYTES + 1)
        except FileNotFoundError:
            return None
        try:
            state = decode(text, self.path.parent)
        except SessionError as exc:
            kept = self._set_aside(self.path, "newer" if exc.newer else "damaged")
            return (f"The saved session {self.path.name} cannot be used ({exc})" +
                    (f"; it was kept as {kept.name}." if kept else "."))
        return self.history.record(state, saved_utc=saved_time(text))

    def _set_aside(self, path: Path, why: str = "damaged") -> Path | None:
        """Keep an unusable file under a new name (for support, or for the newer xestools that wrote
        it), so it is not read again and not overwritten; returns the new name."""
        return set_aside(path, why)


def set_aside(path: str | os.PathLike, why: str = "damaged") -> Path | None:
    """Rename a state file that cannot be used to ``<name>.<why>-<time>`` (never deleted); None
    when even that failed (logged)."""
    path = Path(path)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.{why}-{stamp}")
    try:
        shutil.move(os.fspath(path), os.fspath(target))
    except OSError:
        log.warning("could not move the unusable file %s aside", path, exc_info=True)
        return None
    log.warning("unusable state file %s kept as %s", path, target)
    return target


@dataclass(frozen=True)
class HistoryEntry:
    """One autosaved session of the history: its file, when it was saved (UTC, ISO) and how many
    files it holds."""

    path: Path
    saved_utc: str
    files: int


class SessionHistory:
    """The last ``keep`` sessions, one file per run (``session-<start>-<pid>.json``), so a launch
    that does not restore the session, or a bad day, never loses the one before."""

    def __init__(self, folder: str | os.PathLike, keep: int = 10) -> None:
        self.folder = Path(folder)
        self.keep = keep
        started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        self.run_file = self.folder / f"session-{started}-{os.getpid()}.json"

    def record(self, state: dict, saved_utc: str = "") -> Path | None:
        """Write ``state`` as this run's entry (or, with ``saved_utc``, as an entry of its own for
        a session saved then); a state without files is not worth an entry. Returns the file."""
        if not paths_in(state):
            return None
        target = self.run_file
        if saved_utc:
            stamp = saved_utc.replace("-", "").replace(":", "")[:15]
            target = self.folder / f"session-{stamp}-kept.json"
            if any(_state_of(entry.path) == state for entry in self.entries()):
                return None
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        private_write(target, encode(state, self.folder))
        self._prune()
        return target

    def entries(self) -> list[HistoryEntry]:
        """The kept sessions, newest first (unreadable ones are left out)."""
        found = []
        for path in sorted(self.folder.glob("session-*.json"), reverse=True):
            try:
                text = path.read_bytes()
                found.append(HistoryEntry(path, saved_time(text), len(paths_in(decode(text, self.folder)))))
            except (OSError, SessionError) as exc:
                log.warning("history entry %s not offered: %s", path, exc)
        return found

    def _prune(self) -> None:
        for path in sorted(self.folder.glob("session-*.json"), reverse=True)[self.keep:]:
            try:
                path.unlink()
            except OSError:
                log.warning("could not remove the old history entry %s", path, exc_info=True)


def _state_of(path: Path) -> dict | None:
    try:
        return decode(path.read_bytes(), path.parent)
    except (OSError, SessionError):
        return None


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


def write_session_file(path: str | os.PathLike, window_state: dict) -> Path:
    """Save the main window's state as a session file (the autosave's JSON, written atomically,
    readable by the user only); ``.xes-session`` is added when the name has no such suffix."""
    path = Path(path)
    if path.suffix.lower() != SESSION_SUFFIX:
        path = path.with_name(path.name + SESSION_SUFFIX)
    private_write(path, encode({"main_window": window_state}, path.parent))
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
        text = path.read_bytes()
    except OSError as exc:
        raise SessionError(f"{name} cannot be read ({exc.strerror or exc})") from exc
    try:
        state = decode(text, path.parent)
    except SessionError as exc:
        raise SessionError(f"{name} cannot be opened as a session: {exc}", newer=exc.newer) from exc
    window_state = state.get("main_window")
    if not isinstance(window_state, dict):
        raise SessionError(f"{name} cannot be opened as a session: it holds no window state")
    return window_state
