"""Where the runtime keeps its files: log folder, crash reports, run markers, session.

Log folder: ``XESTOOLS_LOG_DIR`` (or ``--log-dir``), else ``logs/`` next to ``main_enhanced.py`` when
that folder is writable, else the user's log folder from platformdirs. A folder that is a symlink,
belongs to another user or is writable by the group or everyone is never used (anyone who can write
there could plant a run marker): the per-user folder is used instead, and the reason is logged.
Folders created here are 0700 (see :mod:`xestools.runtime.files`). Light: no Qt, no numpy.
"""
from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from xestools.runtime.files import UnsafeFolderError, folder_problem, private_folder

log = logging.getLogger("xestools.runtime.paths")

APP_NAME = "xestools"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LogFolderChoice:
    """The log folder for this run and, when it is not the one asked for, why (for the log)."""

    path: Path
    note: str = ""


def _writable_folder(folder: Path) -> bool:
    """Create ``folder`` if needed and prove it is writable by creating a file in it."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError:
        return False
    return True


def user_log_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def choose_log_dir(explicit: str | os.PathLike | None = None) -> LogFolderChoice:
    """The log folder for this run (created, checked); :class:`UnsafeFolderError` when even the
    per-user folder cannot be used."""
    if explicit is None:
        explicit = os.environ.get("XESTOOLS_LOG_DIR") or None
    if explicit is not None:
        wanted = Path(explicit).expanduser().resolve()
        wanted.mkdir(mode=0o700, parents=True, exist_ok=True)
        why = "--log-dir/XESTOOLS_LOG_DIR"
    else:
        wanted = PROJECT_ROOT / "logs"
        why = "the default"
        if not ((PROJECT_ROOT / "main_enhanced.py").is_file() and _writable_folder(wanted)):
            return LogFolderChoice(private_folder(user_log_dir()))
    problem = folder_problem(wanted)
    if problem is None:
        return LogFolderChoice(wanted)
    fallback = private_folder(user_log_dir())
    if fallback == wanted:
        raise UnsafeFolderError(f"{wanted} {problem}")
    return LogFolderChoice(fallback, f"not using the log folder {wanted} ({why}): it {problem}; "
                                     f"using the per-user folder {fallback} instead")


def resolve_log_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The log folder for this run (created); a refused folder is logged with the reason."""
    choice = choose_log_dir(explicit)
    if choice.note:
        log.warning("%s", choice.note)
    return choice.path


def crash_dir(log_dir: Path) -> Path:
    return private_folder(Path(log_dir) / "crash_reports")


def run_dir(log_dir: Path) -> Path:
    """Markers of running GUI processes, their last memory sample, the start-up crash record."""
    return private_folder(Path(log_dir) / "run")


def default_session_file(explicit: str | os.PathLike | None = None) -> Path:
    if explicit is None:
        explicit = os.environ.get("XESTOOLS_SESSION_FILE") or None
    if explicit is not None:
        return Path(explicit).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "session.json"
