"""Where the runtime keeps its files: log folder, crash reports, run markers, session.

Log folder: ``XESTOOLS_LOG_DIR`` (or ``--log-dir``), else ``logs/`` next to ``main_enhanced.py`` when
that folder is writable, else the user's log folder from platformdirs. Light: no Qt, no numpy.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger("xestools.runtime.paths")

APP_NAME = "xestools"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _writable_folder(folder: Path) -> bool:
    """Create ``folder`` if needed and prove it is writable by creating a file in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError:
        return False
    return True


def resolve_log_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The log folder for this run (created)."""
    if explicit is None:
        explicit = os.environ.get("XESTOOLS_LOG_DIR") or None
    if explicit is not None:
        folder = Path(explicit).expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    next_to_launcher = PROJECT_ROOT / "logs"
    if (PROJECT_ROOT / "main_enhanced.py").is_file() and _writable_folder(next_to_launcher):
        return next_to_launcher
    import platformdirs

    folder = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def crash_dir(log_dir: Path) -> Path:
    folder = Path(log_dir) / "crash_reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_dir(log_dir: Path) -> Path:
    """Markers of running GUI processes, their last memory sample, the start-up crash record."""
    folder = Path(log_dir) / "run"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def default_session_file(explicit: str | os.PathLike | None = None) -> Path:
    if explicit is None:
        explicit = os.environ.get("XESTOOLS_SESSION_FILE") or None
    if explicit is not None:
        return Path(explicit).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "session.json"
