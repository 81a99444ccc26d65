"""Logging for the GUI process: rotating main and error logs, console, an in-memory tail.

Files are ``xestools-<YYYYmmdd-HHMMSS>-<pid>.log`` (DEBUG, 10 MB x 5 backups) and
``xestools-<...>-<pid>.errors.log`` (ERROR and above, 5 MB x 3); only the newest 20 runs are kept.
Log files are append streams, the one kind of file not written through ``xestools.io.atomic``; they
are created 0600 (they name files and scans) and never through a symlink.
"""
from __future__ import annotations

import collections
import logging
import logging.handlers
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s [%(filename)s:%(lineno)d] %(message)s"
MAIN_MAX_BYTES = 10 * 1024 * 1024
MAIN_BACKUPS = 5
ERROR_MAX_BYTES = 5 * 1024 * 1024
ERROR_BACKUPS = 3
KEEP_RUNS = 20
TAIL_LINES = 200

_RUN_FILE = re.compile(r"^xestools-(\d{8}-\d{6})-(\d+)\.")


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files (the current one and each new one after a rollover) are 0600."""

    def _open(self):
        from xestools.runtime.files import open_private_append

        return open_private_append(Path(self.baseFilename), encoding=self.encoding or "utf-8")


class TailHandler(logging.Handler):
    """Keeps the last ``capacity`` formatted lines for crash reports."""

    def __init__(self, capacity: int = TAIL_LINES) -> None:
        super().__init__(logging.DEBUG)
        self.lines: collections.deque[str] = collections.deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except (TypeError, ValueError):  # a bad %-format in someone's log call
            self.handleError(record)

    def snapshot(self) -> list[str]:
        return list(self.lines)


@dataclass
class LogSetup:
    """What :func:`setup_logging` installed, so it can be reported, flushed and removed."""

    folder: Path
    run_name: str
    main_file: Path
    error_file: Path
    tail: TailHandler
    handlers: list[logging.Handler] = field(default_factory=list)

    def flush(self) -> None:
        for handler in self.handlers:
            handler.flush()

    def close(self) -> None:
        global _installed
        if _installed is self:
            _installed = None
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            handler.close()
        self.handlers.clear()


_installed: LogSetup | None = None


def current() -> LogSetup | None:
    """The active setup of this process, if any."""
    return _installed


def run_name(pid: int | None = None, when: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if when is None else when))
    return f"xestools-{stamp}-{os.getpid() if pid is None else pid}"


def setup_logging(folder: Path, console_level: str = "INFO", *,
                  main_max_bytes: int = MAIN_MAX_BYTES, main_backups: int = MAIN_BACKUPS,
                  error_max_bytes: int = ERROR_MAX_BYTES, error_backups: int = ERROR_BACKUPS,
                  keep_runs: int = KEEP_RUNS, console: bool = True) -> LogSetup:
    """Install the handlers on the root logger; ``xestools.*`` logs at DEBUG, others at WARNING+."""
    global _installed
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = run_name()
    formatter = logging.Formatter(LOG_FORMAT)
    main_file = folder / f"{name}.log"
    error_file = folder / f"{name}.errors.log"

    main_handler = PrivateRotatingFileHandler(
        main_file, maxBytes=main_max_bytes, backupCount=main_backups, encoding="utf-8")
    main_handler.setLevel(logging.DEBUG)
    error_handler = PrivateRotatingFileHandler(
        error_file, maxBytes=error_max_bytes, backupCount=error_backups, encoding="utf-8", delay=True)
    error_handler.setLevel(logging.ERROR)
    tail = TailHandler()
    handlers: list[logging.Handler] = [main_handler, error_handler, tail]
    if console:
        console_handler = logging.StreamHandler(sys.stderr)
        console_handler.setLevel(getattr(logging, console_level.upper(), logging.INFO))
        handlers.append(console_handler)

    root = logging.getLogger()
    root.setLevel(logging.WARNING)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    logging.getLogger("xestools").setLevel(logging.DEBUG)
    logging.captureWarnings(True)
    _installed = LogSetup(folder, name, main_file, error_file, tail, handlers)
    prune_runs(folder, keep_runs, keep=name)
    return _installed


def prune_runs(folder: Path, keep_runs: int = KEEP_RUNS, keep: str | None = None) -> list[Path]:
    """Delete the log files of all but the newest ``keep_runs`` runs; returns what was removed.

    A run is the ``xestools-<stamp>-<pid>`` prefix shared by its main log, error log, rotated
    copies and fault files.
    """
    runs: dict[str, list[Path]] = collections.defaultdict(list)
    for path in Path(folder).iterdir():
        match = _RUN_FILE.match(path.name)
        if match and not path.is_symlink() and path.is_file():
            runs[f"xestools-{match.group(1)}-{match.group(2)}"].append(path)
    ordered = sorted(runs, key=lambda run: (run.split("-")[1] + run.split("-")[2], max(
        (p.stat().st_mtime for p in runs[run] if p.exists()), default=0.0)), reverse=True)
    from xestools.runtime.runstate import pid_alive

    removed: list[Path] = []
    survivors = [run for run in ordered if run != keep][: max(keep_runs - (1 if keep else 0), 0)]
    for run in ordered:
        if run == keep or run in survivors:
            continue
        if run.rsplit("-", 1)[1] != str(os.getpid()) and pid_alive(int(run.rsplit("-", 1)[1])):
            continue  # another xestools still writes these
        for path in runs[run]:
            try:
                path.unlink()
                removed.append(path)
            except FileNotFoundError:
                continue
            except OSError:
                logging.getLogger("xestools.runtime.logs").warning("could not remove old log %s", path,
                                                                    exc_info=True)
    return removed


def read_tail(path: Path, lines: int = TAIL_LINES, max_bytes: int = 512 * 1024) -> list[str]:
    """The last ``lines`` lines of a text file of this user (reading at most ``max_bytes`` from its
    end); nothing from a symlink or another user's file."""
    from xestools.runtime.files import read_own_bytes

    data = read_own_bytes(Path(path), max_bytes + 1, from_end=True)
    if data is None:
        return []
    text = data.decode("utf-8", errors="replace").splitlines()
    if len(data) > max_bytes and text:
        text = text[1:]  # the first line is probably cut
    return text[-lines:]


_flush_lock = threading.Lock()


def flush_all() -> None:
    with _flush_lock:
        if _installed is not None:
            _installed.flush()
