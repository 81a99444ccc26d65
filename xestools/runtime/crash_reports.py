"""Crash reports: one scrubbed JSON file per event in ``<log folder>/crash_reports/``.

Written by the GUI process for what it can see itself (exceptions, thread exceptions, hangs, start-up
failures) and by the supervisor for what only a parent sees (native crashes, aborts, kills). The
schema is documented in ``docs/crash-reports.md``. Light: no Qt, numpy or matplotlib, so the
supervisor and ``xestools report`` can use it. Nothing here ever uploads anything. Reports and
bundles are 0600 files (see :mod:`xestools.runtime.files`).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import re
import sys
import threading
import time
import traceback
import uuid
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterable

from xestools.io.atomic import atomic_path
from xestools.io._json import loads_bounded
from xestools.runtime import paths
from xestools.runtime.files import directly_inside, private_folder, private_write, read_own_bytes
from xestools.runtime.scrub import Scrubber

log = logging.getLogger("xestools.runtime.crash_reports")

SCHEMA_VERSION = 1
KINDS = ("exception", "thread_exception", "native_crash", "abort", "killed", "hang", "startup_failure")
MAX_FRAMES = 60
MAX_BUNDLED_BYTES = 64 * 1024 * 1024   # per file: more than any log or report xestools writes


# ---------------------------------------------------------------- building blocks

def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def platform_info() -> dict:
    return {"system": platform.system(), "release": platform.release(), "machine": platform.machine(),
            "platform": platform.platform(), "python": sys.version.split()[0],
            "python_implementation": platform.python_implementation(), "executable": sys.executable}


def frames_of(tb_or_stack: Iterable[traceback.FrameSummary]) -> list[dict]:
    """Frames as dicts (no local variables, ever)."""
    frames = [{"file": f.filename, "line": f.lineno, "function": f.name, "code": (f.line or "").strip()}
              for f in tb_or_stack]
    return frames[-MAX_FRAMES:]


def exception_chain(exc: BaseException) -> list[dict]:
    """The exception and its causes/contexts, outermost (the one raised last) first."""
    chain: list[dict] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    relation = "raised"
    while current is not None and id(current) not in seen and len(chain) < 10:
        seen.add(id(current))
        chain.append({"type": f"{type(current).__module__}.{type(current).__qualname__}",
                      "message": str(current), "relation": relation,
                      "frames": frames_of(traceback.extract_tb(current.__traceback__))})
        if current.__cause__ is not None:
            current, relation = current.__cause__, "cause"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, relation = current.__context__, "context"
        else:
            current = None
    return chain


def grouping_key(kind: str, frames: list[dict], head: str = "") -> str:
    """Stable key for "the same bug": kind, exception type, function names and file basenames.

    Line numbers are left out so that the key survives unrelated edits; the innermost 8 frames count.
    """
    parts = [f"{f.get('function', '?')}@{os.path.basename(str(f.get('file', '?')))}" for f in frames[-8:]]
    readable = f"{kind}|{head}|" + "<".join(reversed(parts))
    digest = hashlib.sha1(readable.encode("utf-8")).hexdigest()[:12]
    return f"{digest} {readable}"


_FAULT_FRAME = re.compile(r'^\s*File "(?P<file>.*)", line (?P<line>\d+) in (?P<function>.+?)\s*$')
_FAULT_THREAD = re.compile(r"^(?P<current>Current thread|Thread) (?P<ident>0x[0-9a-fA-F]+)"
                           r"(?: \[(?P<name>[^\]]*)\])? \(most recent call first\):")
_FAULT_ERROR = re.compile(r"^Fatal Python error: (?P<error>.+)$")


def parse_fault_dump(text: str) -> dict:
    """Parse ``faulthandler`` output: the fatal error line and each thread's frames (innermost last).

    Returns ``{"error": str | None, "threads": [{"ident", "name", "current", "frames"}]}``; frames
    are reordered outermost-first like a Python traceback.
    """
    error = None
    threads: list[dict] = []
    block: dict | None = None
    for line in text.splitlines():
        match = _FAULT_ERROR.match(line.strip())
        if match:
            error = match.group("error")
            continue
        match = _FAULT_THREAD.match(line.strip())
        if match:
            block = {"ident": match.group("ident"), "name": match.group("name"),
                     "current": match.group("current") == "Current thread", "frames": []}
            threads.append(block)
            continue
        match = _FAULT_FRAME.match(line)
        if match and block is not None:
            block["frames"].append({"file": match.group("file"), "line": int(match.group("line")),
                                    "function": match.group("function"), "code": ""})
    for thread in threads:
        thread["frames"].reverse()
    return {"error": error, "threads": threads}


def fault_kind(error: str | None, default: str = "native_crash") -> str:
    if error and "Aborted" in error:
        return "abort"
    if error:
        return "native_crash"
    return default


# ---------------------------------------------------------------- the report itself

def new_report(kind: str, summary: str, *, exception: BaseException | None = None,
               native_dump: str | None = None, thread: dict | None = None,
               frames: list[dict] | None = None, log_tail: list[str] | None = None,
               breadcrumbs: list[dict] | None = None, open_files: list[str] | None = None,
               memory: dict | None = None, versions: dict | None = None, platform_: dict | None = None,
               process: dict | None = None, uptime: float | None = None, safe_mode: bool | None = None,
               extra: dict | None = None) -> dict:
    """A report dict following schema :data:`SCHEMA_VERSION` (not yet scrubbed)."""
    if kind not in KINDS:
        raise ValueError(f"unknown crash report kind {kind!r}")
    chain = exception_chain(exception) if exception is not None else []
    dump = parse_fault_dump(native_dump) if native_dump else None
    if frames is None:
        if chain:
            frames = chain[0]["frames"]
        elif dump:
            current = next((t for t in dump["threads"] if t["current"]), None)
            frames = current["frames"] if current else []
        else:
            frames = []
    head = chain[0]["type"] if chain else (dump["error"] if dump and dump["error"] else "")
    report = {
        "schema_version": SCHEMA_VERSION,
        "id": uuid.uuid4().hex[:12],
        "kind": kind,
        "summary": summary,
        "time_utc": utc_now(),
        "uptime_seconds": None if uptime is None else round(uptime, 3),
        "app_version": _app_version(),
        "versions": versions or {},
        "platform": platform_ or platform_info(),
        "process": process or {},
        "safe_mode": safe_mode,
        "memory": memory or {},
        "exception": chain,
        "native_dump": None if native_dump is None else {"text": native_dump, "error": dump["error"],
                                                         "threads": dump["threads"]},
        "thread": thread or {},
        "faulting_frames": frames,
        "log_tail": list(log_tail or [])[-200:],
        "breadcrumbs": list(breadcrumbs or []),
        "open_files": [os.path.basename(str(name)) for name in (open_files or [])],
        "grouping_key": grouping_key(kind, frames, head),
    }
    if extra:
        report["extra"] = extra
    return report


def _app_version() -> str:
    from xestools import __version__

    return __version__


def write_report(report: dict, crash_folder: Path | None = None) -> Path:
    """Scrub and write ``report`` atomically into ``crash_folder``; returns the file path."""
    folder = private_folder(Path(crash_folder)) if crash_folder is not None else default_crash_folder()
    clean = Scrubber().data(report)
    stamp = clean["time_utc"].replace(":", "").replace("-", "").split(".")[0]
    path = folder / f"{stamp}-{clean['kind']}-{clean['id']}.json"
    private_write(path, json.dumps(clean, indent=2, ensure_ascii=False, default=str) + "\n")
    log.info("crash report %s (%s) written to %s", clean["id"], clean["kind"], path)
    return path


# ---------------------------------------------------------------- in-process reporter

class Reporter:
    """The GUI process's report writer: knows the run context, writes at most one report per bug.

    The same grouping key is written once per process; repeats are only counted in the log, so a
    failing mouse-move callback cannot fill the disk.
    """

    def __init__(self, crash_folder: Path, *, started: float, versions: dict,
                 tail: Callable[[], list[str]] = list, memory: Callable[[], dict] = dict,
                 open_files: Callable[[], list[str]] = list, safe_mode: bool = False,
                 on_written: Callable[[dict, Path], None] | None = None) -> None:
        self.folder = Path(crash_folder)
        self.started = started
        self.versions = versions
        self._tail, self._memory, self._open_files = tail, memory, open_files
        self.safe_mode = safe_mode
        self.on_written = on_written
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self.written: list[Path] = []
        self.last_path: Path | None = None

    def report(self, kind: str, summary: str, *, exception: BaseException | None = None,
               thread: threading.Thread | None = None, frames: list[dict] | None = None,
               extra: dict | None = None) -> Path | None:
        """Write a report unless this grouping key was already written; never raises."""
        from xestools.runtime import breadcrumbs

        try:
            thread = thread or threading.current_thread()
            report = new_report(
                kind, summary, exception=exception, frames=frames,
                thread={"name": thread.name, "ident": thread.ident, "daemon": thread.daemon,
                        "main": thread is threading.main_thread()},
                log_tail=self._call(self._tail, []), breadcrumbs=breadcrumbs.recent(),
                open_files=self._call(self._open_files, []), memory=self._call(self._memory, {}),
                versions=self.versions, process={"pid": os.getpid(), "role": "gui"},
                uptime=time.monotonic() - self.started, safe_mode=self.safe_mode, extra=extra)
            key = report["grouping_key"]
            with self._lock:
                count = self._seen.get(key, 0) + 1
                self._seen[key] = count
            if count > 1:
                log.info("same problem again (%d times in this run), no new report: %s", count, key)
                return None
            path = write_report(report, self.folder)
            self.written.append(path)
            self.last_path = path
            if self.on_written is not None:
                self.on_written(report, path)
            return path
        except Exception:  # the reporter must never turn one error into two
            log.exception("could not write a crash report of kind %s", kind)
            return None

    @staticmethod
    def _call(provider, fallback):
        try:
            return provider()
        except Exception:  # a provider failing must not stop the report
            log.exception("crash report provider %r failed", provider)
            return fallback


# ---------------------------------------------------------------- reading (xestools report)

def default_crash_folder() -> Path:
    """``<log folder>/crash_reports`` for the default log folder (``XESTOOLS_LOG_DIR`` honoured)."""
    return paths.crash_dir(paths.resolve_log_dir())


def _load(path: Path) -> dict | None:
    raw = read_own_bytes(path, MAX_BUNDLED_BYTES)
    try:
        data = loads_bounded(raw, max_bytes=MAX_BUNDLED_BYTES) if raw is not None else None
    except ValueError:  # also too deep or too large, and not UTF-8
        data = None
    if data is None:
        log.warning("unreadable crash report %s", path)
        return None
    if not isinstance(data, dict) or "kind" not in data:
        return None
    data["_path"] = str(path)
    return data


def report_files(folder: Path) -> list[Path]:
    """The complete report files in ``folder``: ``*.json`` without the ``.~…`` temporary files of a
    report being written (those are renamed into place only once complete)."""
    if not Path(folder).is_dir():
        return []
    return sorted(p for p in Path(folder).glob("*.json") if not p.name.startswith((".~", ".")))


def list_reports(folder: Path | None = None) -> list[dict]:
    """All readable reports in ``folder``, oldest first; each dict has ``_path`` added."""
    folder = Path(folder) if folder is not None else default_crash_folder()
    reports = [r for r in (_load(p) for p in report_files(folder)) if r is not None]
    return sorted(reports, key=lambda r: (r.get("time_utc", ""), r.get("id", "")))


def find_report(folder: Path | None, report_id: str) -> dict:
    """The report whose id is ``report_id`` or starts with it; ``KeyError`` if none or ambiguous."""
    matches = [r for r in list_reports(folder) if str(r.get("id", "")).startswith(report_id)]
    if not matches:
        raise KeyError(f"no crash report with id {report_id!r}")
    if len(matches) > 1:
        raise KeyError(f"id {report_id!r} is ambiguous: " + ", ".join(r["id"] for r in matches))
    return matches[0]


def format_report(report: dict) -> str:
    """A summary a support person can read without the program."""
    lines = [f"Crash report {report.get('id')}  ({report.get('kind')})",
             f"  what:      {report.get('summary', '')}",
             f"  when:      {report.get('time_utc')}  (after {report.get('uptime_seconds')} s)",
             f"  xestools:  {report.get('app_version')}   safe mode: {report.get('safe_mode')}"]
    versions = report.get("versions") or {}
    if versions:
        lines.append("  versions:  " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    plat = report.get("platform") or {}
    if plat:
        lines.append(f"  platform:  {plat.get('platform', '')} (Python {plat.get('python', '')})")
    memory = report.get("memory") or {}
    if memory:
        lines.append("  memory:    " + ", ".join(f"{k}={v}" for k, v in memory.items() if not isinstance(v, dict)))
        last = memory.get("last_sample")
        if isinstance(last, dict):
            lines.append("  last sample: " + ", ".join(f"{k}={v}" for k, v in last.items()))
    thread = report.get("thread") or {}
    if thread:
        lines.append(f"  thread:    {thread.get('name')}")
    lines.append(f"  group:     {report.get('grouping_key')}")
    for item in report.get("exception") or []:
        lines.append("")
        lines.append(f"{item.get('relation')}: {item.get('type')}: {item.get('message')}")
        for frame in item.get("frames", []):
            lines.append(f"  File \"{frame.get('file')}\", line {frame.get('line')}, in {frame.get('function')}")
            if frame.get("code"):
                lines.append(f"    {frame['code']}")
    dump = report.get("native_dump")
    if dump:
        lines += ["", "Native dump:", dump.get("text", "").rstrip()]
    elif report.get("faulting_frames") and not report.get("exception"):
        lines += ["", "Stack (innermost last):"]
        lines += [f"  {f.get('function')} ({os.path.basename(str(f.get('file')))}:{f.get('line')})"
                  for f in report["faulting_frames"]]
    if report.get("breadcrumbs"):
        lines += ["", "Last user actions:"]
        for crumb in report["breadcrumbs"][-20:]:
            when = time.strftime("%H:%M:%S", time.gmtime(crumb.get("time", 0)))
            lines.append(f"  {when}Z  {crumb.get('action')}")
    if report.get("open_files"):
        lines += ["", "Open files: " + ", ".join(report["open_files"])]
    tail = report.get("log_tail") or []
    if tail:
        lines += ["", f"Last {min(len(tail), 30)} log lines:"] + ["  " + line for line in tail[-30:]]
    return "\n".join(lines) + "\n"


def bundle_candidates(log_dir: Path) -> list[tuple[str, Path]]:
    """(name in the zip, path) of every report and log file a bundle may take: entries directly in
    the log folder (logs) or its ``crash_reports`` folder, by name; :func:`build_bundle` then reads
    only regular files of this user among them (never through a symlink)."""
    crash_folder = Path(log_dir) / "crash_reports"
    reports = report_files(crash_folder) if not crash_folder.is_symlink() else []
    logs = sorted(list(Path(log_dir).glob("xestools-*.log*")) + list(Path(log_dir).glob("supervisor.log*")))
    found = []
    for folder, base, entries in (("crash_reports", crash_folder, reports), ("logs", Path(log_dir), logs)):
        for path in entries:
            inside = directly_inside(path, base)
            if inside is not None:
                found.append((f"{folder}/{path.name}", inside))
    return found


def build_bundle(out_path: Path, log_dir: Path | None = None) -> Path:
    """A 0600 zip of the (already scrubbed) crash reports and the scrubbed log files, for support.

    Only regular files of this user inside the log folder go in: a symlink or a foreign file is
    listed under ``skipped`` in the manifest, its content is never read; a file that vanished while
    bundling is listed under ``unreadable``.
    """
    log_dir = Path(log_dir) if log_dir is not None else paths.resolve_log_dir()
    out_path = Path(out_path)
    scrubber = Scrubber()
    manifest = {"schema_version": SCHEMA_VERSION, "created_utc": utc_now(), "app_version": _app_version(),
                "files": []}
    with atomic_path(out_path, private=True) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for name, path in bundle_candidates(log_dir):
                data = read_own_bytes(path, MAX_BUNDLED_BYTES, from_end=True)
                if data is None and not os.path.lexists(path):   # e.g. rotated away while bundling
                    manifest.setdefault("unreadable", []).append(f"{name}: gone while bundling")
                    continue
                if data is None:
                    manifest.setdefault("skipped", []).append(
                        f"{name}: not a regular file of this user (a symlink, or someone else's)")
                    continue
                bundle.writestr(name, scrubber.text(data.decode("utf-8", errors="replace")))
                manifest["files"].append(name)
            bundle.writestr("manifest.json", json.dumps(manifest, indent=2))
    return out_path


def report_to_jsonable(report: dict) -> dict[str, Any]:
    """The report without bookkeeping keys added by :func:`list_reports`."""
    return {k: v for k, v in report.items() if not k.startswith("_")}
