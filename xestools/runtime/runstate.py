"""Run markers: what a GUI process leaves behind so that its end can be judged from outside.

``run/run-<pid>.json`` is written at start (phase ``starting``), updated when the GUI is ready
(``running``) and when it shuts down (``stopping``), and removed at a clean exit. A marker whose
process is gone means the run ended uncleanly. ``run/memory-<pid>.json`` holds the memory monitor's
latest sample; ``run/startup-crashes.json`` the times of recent start-up crashes (safe mode after
3 within 6 hours). Light: no Qt, no numpy.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from xestools.io.atomic import atomic_write

log = logging.getLogger("xestools.runtime.runstate")

STARTUP_CRASH_WINDOW = 6 * 3600.0
STARTUP_CRASH_LIMIT = 3


def marker_path(run_folder: Path, pid: int) -> Path:
    return Path(run_folder) / f"run-{pid}.json"


def memory_path(run_folder: Path, pid: int) -> Path:
    return Path(run_folder) / f"memory-{pid}.json"


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("unreadable run file %s", path, exc_info=True)
        return None
    return data if isinstance(data, dict) else None


class RunMarker:
    """This process's marker; every update rewrites the whole file atomically."""

    def __init__(self, run_folder: Path, pid: int | None = None) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.path = marker_path(run_folder, self.pid)
        self.data: dict = {"pid": self.pid, "started_epoch": time.time()}

    def update(self, **fields) -> None:
        self.data.update(fields)
        try:
            atomic_write(self.path, json.dumps(self.data, indent=1, default=str))
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
    """Markers of processes that no longer exist (unclean ends), oldest first."""
    stale = []
    for path in Path(run_folder).glob("run-*.json"):
        data = read_json(path)
        try:
            pid = int(path.stem.split("-", 1)[1])
        except ValueError:
            continue
        if pid in exclude or same_process_alive(pid, (data or {}).get("started_epoch")):
            continue
        supervisor = (data or {}).get("supervisor_pid")
        if supervisor and pid_alive(int(supervisor)):
            continue  # its supervisor is alive and reports it
        data = data or {"pid": pid, "phase": "unknown"}
        data["_path"] = str(path)
        stale.append(data)
    return sorted(stale, key=lambda d: d.get("started_epoch", 0.0))


def orphan_fault_files(log_dir: Path, known: set[str], keep: str | None = None) -> list[dict]:
    """Non-empty fault files of dead runs that have no marker (the run crashed after removing it).

    Returned as minimal markers (pid, fault file, log file) for :mod:`postmortem`.
    """
    found = []
    for path in Path(log_dir).glob("xestools-*-*.fault.log"):
        if str(path) in known or str(path) == keep:
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
        atomic_write(_crash_file(run_folder), json.dumps({"times": times}))
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
