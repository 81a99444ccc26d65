"""Run markers: what a GUI process leaves behind so that its end can be judged from outside.

``run/run-<pid>.json`` is written at start (phase ``starting``), updated when the GUI is ready
(``running``) and when it shuts down (``stopping``), and removed at a clean exit. A marker whose
process is gone means the run ended uncleanly. ``run/memory-<pid>.json`` holds the memory monitor's
latest sample; ``run/startup-crashes.json`` the times of recent start-up crashes (safe mode after
3 within 6 hours). All are 0600 files in a 0700 folder.

A marker names files (fault dump, logs) that the next launch reads, renames and deletes, so it is
trusted only after :func:`load_marker` has checked it: a regular file of this user that nobody else
can write, whose pid matches its name and whose every path is this run's own file directly in the
log folder. Anything else is ignored (and removed from ``run/``) before any file is touched.
Light: no Qt, no numpy.
"""
from __future__ import annotations

import json
import logging
import os
import re
import stat
import time
from pathlib import Path

from xestools.io._json import loads_bounded
from xestools.runtime.files import directly_inside, own_regular_file, private_write, read_own_bytes

log = logging.getLogger("xestools.runtime.runstate")

STARTUP_CRASH_WINDOW = 6 * 3600.0
STARTUP_CRASH_LIMIT = 3
MAX_RUN_FILE_BYTES = 1024 * 1024
PATH_FIELDS = {"log_file": r"\.log", "error_log_file": r"\.errors\.log", "fault_file": r"\.fault\.log",
               "stacks_file": r"\.stacks\.log"}
_MARKER_NAME = re.compile(r"^run-(\d{1,10})\.json$")


class MarkerRejected(ValueError):
    """A run marker that must not be trusted (planted, tampered with, or not ours)."""


def marker_path(run_folder: Path, pid: int) -> Path:
    return Path(run_folder) / f"run-{pid}.json"


def memory_path(run_folder: Path, pid: int) -> Path:
    return Path(run_folder) / f"memory-{pid}.json"


def read_json(path: Path) -> dict | None:
    """A JSON object from a regular file of this user (None when missing, foreign or unreadable)."""
    raw = read_own_bytes(path, MAX_RUN_FILE_BYTES)
    if raw is None:
        return None
    try:
        data = loads_bounded(raw, max_bytes=MAX_RUN_FILE_BYTES)
    except ValueError:  # also too deep or too large, and not UTF-8
        log.warning("unreadable run file %s", path, exc_info=True)
        return None
    return data if isinstance(data, dict) else None


def _check_fields(data: dict, pid: int, log_dir: Path) -> None:
    for name, suffix in PATH_FIELDS.items():
        value = data.get(name)
        if value in (None, ""):
            continue
        inside = directly_inside(value, log_dir) if isinstance(value, str) else None
        if inside is None or not re.fullmatch(rf"xestools-\d{{8}}-\d{{6}}-{pid}{suffix}", inside.name):
            raise MarkerRejected(f"{name} {value!r} is not this run's own file in the log folder")
        data[name] = str(inside)
    for name in ("started_epoch", "supervisor_pid"):
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise MarkerRejected(f"{name} is not a number")
    files = data.get("open_files")
    data["open_files"] = [os.path.basename(f) for f in files if isinstance(f, str)] \
        if isinstance(files, list) else []


def validate_marker(path: Path, log_dir: Path) -> dict:
    """The marker at ``path`` with its paths checked and made absolute; :class:`MarkerRejected`
    says why it cannot be trusted. Touches nothing."""
    path = Path(path)
    match = _MARKER_NAME.match(path.name)
    if match is None:
        raise MarkerRejected("not a run marker name")
    if not own_regular_file(path):
        raise MarkerRejected("not a regular file of this user (a symlink, or someone else's)")
    if os.lstat(path).st_mode & 0o022:
        raise MarkerRejected(f"writable by other users (mode {stat.S_IMODE(os.lstat(path).st_mode):o})")
    raw = read_own_bytes(path, MAX_RUN_FILE_BYTES + 1)
    if raw is None or len(raw) > MAX_RUN_FILE_BYTES:
        raise MarkerRejected("unreadable or too large")
    try:
        data = loads_bounded(raw, max_bytes=MAX_RUN_FILE_BYTES)
    except ValueError as exc:  # also too deep or too large, and not UTF-8
        raise MarkerRejected(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise MarkerRejected("not a JSON object")
    pid = int(match.group(1))
    if data.get("pid") != pid:
        raise MarkerRejected(f"its pid {data.get('pid')!r} does not match its name")
    _check_fields(data, pid, log_dir)
    data["_path"] = str(path)
    return data


def load_marker(path: Path, log_dir: Path) -> dict | None:
    """The validated marker, or None (missing; or rejected: then logged and removed from ``run/``)."""
    if not os.path.lexists(path):
        return None
    try:
        return validate_marker(path, log_dir)
    except MarkerRejected as exc:
        log.warning("ignoring the run marker %s: %s; removing it", path, exc)
        remove_files([path])
        return None


class RunMarker:
    """This process's marker; every update rewrites the whole file atomically."""

    def __init__(self, run_folder: Path, pid: int | None = None) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.path = marker_path(run_folder, self.pid)
        self.data: dict = {"pid": self.pid, "started_epoch": time.time()}

    def update(self, **fields) -> None:
        self.data.update(fields)
        try:
            private_write(self.path, json.dumps(self.data, indent=1, default=str))
        except OSError:
            log.warning("could not write run marker %s", self.path, exc_info=True)

    def remove(self) -> None:
        remove_files([self.path, memory_path(self.path.parent, self.pid)])


def remove_files(paths) -> None:
    """Delete run-state files; a missing one is fine, any other failure is logged (never raised)."""
    for path in paths:
        try:
            Path(path).unlink()
        except FileNotFoundError:
            continue
        except OSError:
            log.warning("could not remove %s", path, exc_info=True)


def pid_alive(pid: int) -> bool:
    """Does a process with this id exist? (On Windows ``os.kill(pid, 0)`` would terminate it.)"""
    if pid <= 0:
        return False
    if os.name == "nt":
        try:
            import psutil
        except ImportError:
            return True  # cannot tell: never report a live run as crashed
        return psutil.pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def same_process_alive(pid: int, started_epoch: float | None) -> bool:
    """Is the process that wrote a marker still running? A reused pid (a process that started
    after the marker was written) does not count."""
    if not pid_alive(pid):
        return False
    if started_epoch is None:
        return True
    try:
        import psutil
    except ImportError:
        return True
    try:
        return psutil.Process(pid).create_time() <= float(started_epoch) + 2.0
    except (psutil.Error, ValueError):
        return False


def stale_markers(run_folder: Path, exclude: set[int] = frozenset()) -> list[dict]:
    """Validated markers of processes that no longer exist (unclean ends), oldest first.

    ``run_folder`` is ``<log folder>/run``; markers are checked against its parent.
    """
    stale = []
    for path in Path(run_folder).glob("run-*.json"):
        match = _MARKER_NAME.match(path.name)
        if match is None or int(match.group(1)) in exclude:
            continue
        data = load_marker(path, Path(run_folder).parent)
        if data is None:
            continue
        pid = data["pid"]
        if same_process_alive(pid, data.get("started_epoch")):
            continue
        supervisor = data.get("supervisor_pid")
        if supervisor and pid_alive(int(supervisor)):
            continue  # its supervisor is alive and reports it
        stale.append(data)
    return sorted(stale, key=lambda d: d.get("started_epoch") or 0.0)


def orphan_fault_files(log_dir: Path, known: set[str], keep: str | None = None) -> list[dict]:
    """Non-empty fault files of dead runs that have no marker (the run crashed after removing it).

    Returned as minimal markers (pid, fault file, log file) for :mod:`postmortem`.
    """
    found = []
    for path in Path(log_dir).glob("xestools-*-*.fault.log"):
        if str(path) in known or str(path) == keep:
            continue
        if not own_regular_file(path):
            log.warning("ignoring %s: not a regular file of this user", path)
            continue
        try:
            if path.stat().st_size == 0:
                continue
            pid = int(path.name.split(".")[0].rsplit("-", 1)[1])
        except (OSError, ValueError):
            continue
        if pid_alive(pid):
            continue
        found.append({"pid": pid, "phase": "unknown", "fault_file": str(path),
                      "log_file": str(path.with_name(path.name.replace(".fault.log", ".log"))),
                      "started_epoch": None})
    return found


def _crash_file(run_folder: Path) -> Path:
    return Path(run_folder) / "startup-crashes.json"


def recent_startup_crashes(run_folder: Path, now: float | None = None) -> list[float]:
    now = time.time() if now is None else now
    data = read_json(_crash_file(run_folder)) or {}
    times = [t for t in data.get("times", []) if isinstance(t, (int, float))]
    return [t for t in times if now - STARTUP_CRASH_WINDOW <= t <= now + 60]


def record_startup_crash(run_folder: Path, when: float | None = None) -> int:
    """Remember one start-up crash; returns how many happened within the window."""
    when = time.time() if when is None else when
    times = recent_startup_crashes(run_folder, when) + [when]
    try:
        private_write(_crash_file(run_folder), json.dumps({"times": times}))
    except OSError:
        log.warning("could not record the start-up crash", exc_info=True)
    return len(times)


def clear_startup_crashes(run_folder: Path) -> None:
    try:
        _crash_file(run_folder).unlink()
    except FileNotFoundError:
        return  # nothing recorded
    except OSError:
        log.warning("could not clear the start-up crash record", exc_info=True)


def safe_mode_due(run_folder: Path) -> bool:
    return len(recent_startup_crashes(run_folder)) >= STARTUP_CRASH_LIMIT
