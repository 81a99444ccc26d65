"""Turn what a dead GUI process left behind into a crash report.

Used by the supervisor right after the child ends abnormally (it knows the exit status) and by the
next launch when it finds a stale run marker (single-process mode, or a killed supervisor). The
marker must come from :func:`runstate.load_marker` (validated): the files it names are still
re-checked (regular, this user's) before they are read, renamed or deleted.

Only the program's own crashes during start-up count towards safe mode (a fault, an abort, an
exception, its own non-zero exit), not a kill from outside (``kill -9``, the out-of-memory killer,
a forwarded SIGTERM) nor an end that left no trace (detected at the next launch: killed or power
loss). Light: no Qt, no numpy.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import signal
import time
from pathlib import Path

from xestools.runtime import crash_reports, logs, runstate
from xestools.runtime.files import own_regular_file, read_own_bytes

log = logging.getLogger("xestools.runtime.postmortem")

NATIVE_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL}
BREADCRUMB_LOGGER = "xestools.runtime.breadcrumbs"
MAX_FAULT_BYTES = 1024 * 1024
OWN_CRASH_KINDS = ("native_crash", "abort", "startup_failure")


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def breadcrumbs_from_log(lines: list[str]) -> list[dict]:
    """Rebuild the breadcrumb trail from the ``xestools.runtime.breadcrumbs`` log lines."""
    crumbs = []
    for line in lines:
        if f" {BREADCRUMB_LOGGER} " not in line or "] user: " not in line:
            continue
        try:
            when = _dt.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        except ValueError:
            when = None
        crumbs.append({"time": when, "action": line.split("] user: ", 1)[1]})
    return crumbs[-50:]


def classify(exit_status: int | None, fault_error: str | None, phase: str | None) -> tuple[str, str]:
    """(kind, summary) for a run that ended without a clean shutdown.

    ``exit_status`` follows ``subprocess`` (negative = killed by that signal); ``None`` when only the
    marker is known (detected at the next launch).
    """
    if exit_status is not None and exit_status < 0:
        number = -exit_status
        name = signal_name(number)
        if number == signal.SIGABRT:
            return "abort", f"The GUI process aborted ({name})" + (f": {fault_error}" if fault_error else "")
        if number in NATIVE_SIGNALS:
            return "native_crash", f"The GUI process crashed in native code ({name})"
        if number == signal.SIGKILL:
            return "killed", "The GUI process was killed (SIGKILL: kill -9 or the out-of-memory killer)"
        return "killed", f"The GUI process was ended by {name} from outside"
    if fault_error:
        kind = crash_reports.fault_kind(fault_error)
        return kind, f"The GUI process died: Fatal Python error: {fault_error}"
    if exit_status is None:
        return ("killed", "The previous run ended without a clean shutdown and without a native dump "
                          "(killed, out of memory, or power loss)" +
                          (" during start-up" if phase == "starting" else ""))
    if phase == "starting":
        return "startup_failure", f"The GUI process failed to start (exit status {exit_status})"
    return "killed", f"The GUI process exited with status {exit_status} without a clean shutdown"


def counts_towards_safe_mode(kind: str, phase: str | None) -> bool:
    """Is this the program's own crash during start-up? (A kill from outside is not.)"""
    return phase == "starting" and kind in OWN_CRASH_KINDS


def report_dead_run(marker: dict, crash_folder: Path, *, exit_status: int | None = None,
                    exit_time: float | None = None, detected_by: str = "supervisor") -> tuple[dict, Path]:
    """Write the report for a dead run described by ``marker``; clean up its run files.

    Records a start-up crash when the run had not reached ``running``.
    """
    exit_time = time.time() if exit_time is None else exit_time
    pid = int(marker.get("pid", 0))
    fault_file = marker.get("fault_file")
    raw = read_own_bytes(Path(fault_file), MAX_FAULT_BYTES) if fault_file else None
    fault_text = raw.decode("utf-8", errors="replace") if raw else ""
    parsed = crash_reports.parse_fault_dump(fault_text) if fault_text.strip() else None
    phase = marker.get("phase")
    kind, summary = classify(exit_status, parsed["error"] if parsed else None, phase)
    run_folder = Path(marker["_path"]).parent if marker.get("_path") else None
    sample = runstate.read_json(runstate.memory_path(run_folder, pid)) if run_folder else None
    if kind == "killed" and sample:
        summary += (f"; last memory sample: {sample.get('rss_mb')} MB resident, "
                    f"{sample.get('available_mb')} MB available on the system")
    tail: list[str] = []
    crumbs: list[dict] = []
    if marker.get("log_file"):
        tail = logs.read_tail(Path(marker["log_file"]), 200)
        crumbs = breadcrumbs_from_log(logs.read_tail(Path(marker["log_file"]), 5000, 4 * 1024 * 1024))
    thread = {}
    if parsed:
        current = next((t for t in parsed["threads"] if t["current"]), None)
        if current:
            thread = {"name": current.get("name") or ("main" if current["ident"] == marker.get("main_thread_ident")
                                                      else current["ident"]),
                      "ident": current["ident"]}
    started = marker.get("started_epoch")
    report = crash_reports.new_report(
        kind, summary, native_dump=fault_text if fault_text.strip() else None, thread=thread,
        log_tail=tail, breadcrumbs=crumbs, open_files=marker.get("open_files") or [],
        memory={"current_mb": None, "peak_mb": (sample or {}).get("peak_rss_mb"), "last_sample": sample},
        versions=marker.get("versions") or {}, platform_=marker.get("platform") or None,
        process={"pid": pid, "role": "gui", "exit_status": exit_status,
                 "signal": signal_name(-exit_status) if exit_status is not None and exit_status < 0 else None,
                 "phase": phase, "detected_by": detected_by},
        uptime=(exit_time - started) if isinstance(started, (int, float)) else None,
        safe_mode=marker.get("safe_mode"))
    counted = counts_towards_safe_mode(kind, phase)
    report["process"]["counts_towards_safe_mode"] = counted
    path = crash_reports.write_report(report, crash_folder)
    if counted and run_folder is not None:
        count = runstate.record_startup_crash(run_folder, exit_time)
        log.warning("start-up crash recorded (%d within 6 h)", count)
    elif phase == "starting":
        log.warning("the run ended during start-up (%s), not by a crash of its own: not counted towards "
                    "safe mode", kind)
    _cleanup(marker, fault_file, run_folder, pid)
    return report, path


def _cleanup(marker: dict, fault_file: str | None, run_folder: Path | None, pid: int) -> None:
    """Remove the marker and memory sample; keep a non-empty fault file under a .reported name."""
    targets = [Path(marker["_path"])] if marker.get("_path") else []
    if run_folder is not None:
        targets.append(runstate.memory_path(run_folder, pid))
    runstate.remove_files(targets)
    stacks_file = marker.get("stacks_file")
    if stacks_file and own_regular_file(stacks_file) and os.path.getsize(stacks_file) == 0:
        try:
            os.unlink(stacks_file)
        except OSError:
            log.warning("could not remove %s", stacks_file, exc_info=True)
    if fault_file and own_regular_file(fault_file):
        try:
            if os.path.getsize(fault_file) == 0:
                os.unlink(fault_file)
            else:
                os.replace(fault_file, fault_file + ".reported")
        except OSError:
            log.warning("could not retire fault file %s", fault_file, exc_info=True)
