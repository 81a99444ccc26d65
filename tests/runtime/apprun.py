"""Helpers to run the real application (``main_enhanced.py``) in child processes, offscreen.

Every process :func:`start` launches is remembered; the autouse fixture in ``conftest.py`` calls
:func:`kill_leftovers` after each test, which kills by PID whatever is still running of them, their
descendants, and the GUI processes named by run markers in their log folders.
"""
from __future__ import annotations

import contextlib

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = PROJECT_ROOT / "main_enhanced.py"
_started: list[tuple[subprocess.Popen, "AppDirs"]] = []


@dataclass
class AppDirs:
    root: Path
    log_dir: Path
    session_file: Path

    @property
    def crash_dir(self) -> Path:
        return self.log_dir / "crash_reports"

    @property
    def run_dir(self) -> Path:
        return self.log_dir / "run"

    def reports(self) -> list[dict]:
        """Complete reports only: the ``.~…`` temporary file of a report being written is skipped
        (it is renamed into place once complete, so every other file is whole)."""
        if not self.crash_dir.is_dir():
            return []
        out = []
        for path in sorted(p for p in self.crash_dir.glob("*.json") if not p.name.startswith(".")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue  # pruned between the listing and the read
            data["_path"] = str(path)
            data["_mtime"] = path.stat().st_mtime
            out.append(data)
        return out

    def markers(self) -> list[dict]:
        if not self.run_dir.is_dir():
            return []
        out = []
        for path in self.run_dir.glob("run-*.json"):
            try:
                out.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, RecursionError):
                continue  # being replaced right now, or a damaged marker a test planted
        return out

    def main_logs(self) -> list[Path]:
        return sorted(p for p in self.log_dir.glob("xestools-*.log") if not p.name.endswith(".errors.log")
                      and ".fault." not in p.name and ".stacks." not in p.name)

    def all_log_text(self) -> str:
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in self.main_logs())


def make_dirs(tmp_path: Path) -> AppDirs:
    dirs = AppDirs(tmp_path, tmp_path / "logs", tmp_path / "state" / "session.json")
    dirs.log_dir.mkdir(parents=True, exist_ok=True)
    return dirs


def app_env(dirs: AppDirs, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XESTOOLS_") and k not in
           ("QT_PLUGIN_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH")}
    env.update({
        "QT_QPA_PLATFORM": "offscreen",
        "XESTOOLS_LOG_DIR": str(dirs.log_dir),
        "XESTOOLS_SESSION_FILE": str(dirs.session_file),
        "XESTOOLS_LOG_LEVEL": "WARNING",
        "XESTOOLS_MEMORY_INTERVAL": "0.2",
        "XESTOOLS_HANG_SECONDS": "10",
        "XESTOOLS_CRASH_TEST_DELAY": "0.2",
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT)] + env_pythonpath()),
    })
    env.pop("PYTHONFAULTHANDLER", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def env_pythonpath() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def start(dirs: AppDirs, *args: str, env: dict | None = None, launcher: list[str] | None = None) -> subprocess.Popen:
    """Start ``python main_enhanced.py ARGS`` (the supervisor unless ``--single-process``)."""
    command = (launcher or [sys.executable, str(LAUNCHER)]) + list(args)
    out = open(dirs.root / f"console-{time.monotonic_ns()}.txt", "wb")  # noqa: SIM115 - kept by the process
    process = subprocess.Popen(command, env=env if env is not None else app_env(dirs), cwd=str(dirs.root),
                               stdout=out, stderr=subprocess.STDOUT)
    process.console_path = Path(out.name)
    out.close()
    _started.append((process, dirs))
    return process


def track(process: subprocess.Popen, dirs: "AppDirs | None" = None) -> subprocess.Popen:
    """Remember a process started some other way, so the fixture ends it too."""
    _started.append((process, dirs))
    return process


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return  # already gone (or the pid now belongs to someone else's process)


def kill_leftovers() -> list[int]:
    """SIGKILL, by PID, every process started through this module that still runs, with its
    descendants and the GUI processes of its run markers; returns the PIDs killed."""
    victims: set[int] = set()
    for process, dirs in _started:
        if process.poll() is None:
            victims.add(process.pid)
            victims.update(child.pid for child in _descendants(process.pid))
        if dirs is not None:
            for marker in dirs.markers():
                pid = marker.get("pid")
                if isinstance(pid, int) and pid != os.getpid() and _alive_child_of_test(pid):
                    victims.add(pid)
    for pid in victims:
        _kill(pid)
    for process, _dirs in _started:
        if process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be refused; a zombie is reaped by its parent
                process.wait(10)
    _started.clear()
    return sorted(victims)


def _alive_child_of_test(pid: int) -> bool:
    """A GUI process a test started (its command line runs xestools), not an unrelated reused pid."""
    try:
        command = " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return False
    return "xestools" in command or "main_enhanced" in command


def session_file_names(path: Path) -> list[str]:
    """Base names of the files a saved session lists (empty while it is missing or half written)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))["state"]["main_window"]
    except (OSError, ValueError, KeyError):
        return []
    return [os.path.basename(entry["path"]) for entry in state.get("files", [])]


def console(process: subprocess.Popen) -> str:
    return process.console_path.read_text(encoding="utf-8", errors="replace")


def wait_for(predicate, timeout: float, interval: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_ready(dirs: AppDirs, process: subprocess.Popen, timeout: float = 60.0) -> dict:
    """Wait until a GUI process marker says ``running``; returns that marker (has ``pid``)."""
    def ready():
        if process.poll() is not None:
            raise AssertionError(f"app exited early with {process.returncode}:\n{console(process)}")
        return next((m for m in dirs.markers() if m.get("phase") == "running"), None)

    return wait_for(ready, timeout, what="the GUI to be ready")


def finish(process: subprocess.Popen, timeout: float = 60.0) -> int:
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"app did not exit within {timeout} s:\n{console(process)}") from None


def error_log_entries(dirs: AppDirs) -> list[str]:
    """Entries (not lines) of the error logs: each starts with a timestamp."""
    entries = []
    for path in dirs.log_dir.glob("xestools-*.errors.log*"):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if len(line) > 23 and line[:4].isdigit() and line[4] == "-" and line[10] == " ":
                entries.append(line)
    return entries
