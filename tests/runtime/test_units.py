"""Unit tests of the runtime pieces that need no child process."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xestools.runtime import crash_reports, logs, options, postmortem, runstate, selfcheck

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_log_rotation_and_pruning_with_small_limits(tmp_path):
    for index in range(25):                        # 25 older runs, each with a main, error and fault file
        stamp = f"20250101-0000{index:02d}"
        for suffix in (".log", ".log.1", ".errors.log", ".fault.log.reported"):
            (tmp_path / f"xestools-{stamp}-{4190000 + index}{suffix}").write_text("old\n")
    (tmp_path / "notes.txt").write_text("not a log\n")
    root = logging.getLogger()
    saved_level = root.level
    setup = logs.setup_logging(tmp_path, "CRITICAL", main_max_bytes=2000, main_backups=2,
                               error_max_bytes=1000, error_backups=1, keep_runs=5, console=False)
    try:
        log = logging.getLogger("xestools.test_rotation")
        for index in range(200):
            log.debug("debug line %04d %s", index, "x" * 40)
            if index % 10 == 0:
                log.error("error line %04d %s", index, "y" * 40)
        setup.flush()
        assert setup.tail.snapshot()[-1].endswith("x" * 40) and len(setup.tail.snapshot()) == 200
    finally:
        setup.close()
        root.setLevel(saved_level)
        logging.captureWarnings(False)
    current = sorted(p.name for p in tmp_path.glob(setup.run_name + "*"))
    assert current == sorted([f"{setup.run_name}.log", f"{setup.run_name}.log.1", f"{setup.run_name}.log.2",
                              f"{setup.run_name}.errors.log", f"{setup.run_name}.errors.log.1"])
    for name in current:
        assert (tmp_path / name).stat().st_size <= 2000 + 200
    runs = {p.name.split(".")[0] for p in tmp_path.glob("xestools-*")}
    assert len(runs) == 5 and setup.run_name in runs
    assert {f"xestools-20250101-0000{i:02d}-{4190000 + i}" for i in range(21, 25)} <= runs, "newest runs kept"
    assert (tmp_path / "notes.txt").exists()
    assert "debug line 0199" in (tmp_path / f"{setup.run_name}.log").read_text()


FAULT_TEXT = """Fatal Python error: Segmentation fault

Thread 0x00007f0000000001 (most recent call first):
  File "/usr/lib/python3.11/threading.py", line 331 in wait
  File "/opt/xestools/runtime/memory.py", line 84 in run

Current thread 0x00007f0000000002 (most recent call first):
  File "/opt/xestools/gui/common/canvas.py", line 120 in _on_motion
  File "/opt/xestools/runtime/safe.py", line 50 in wrapper

Extension modules: numpy._core._multiarray_umath (total: 1)
"""


def test_parse_fault_dump_and_grouping_key():
    parsed = crash_reports.parse_fault_dump(FAULT_TEXT)
    assert parsed["error"] == "Segmentation fault"
    current = [t for t in parsed["threads"] if t["current"]]
    assert len(parsed["threads"]) == 2 and len(current) == 1
    assert [f["function"] for f in current[0]["frames"]] == ["wrapper", "_on_motion"]
    report = crash_reports.new_report("native_crash", "x", native_dump=FAULT_TEXT)
    assert "_on_motion@canvas.py<wrapper@safe.py" in report["grouping_key"]
    assert crash_reports.fault_kind("Aborted") == "abort"
    moved = crash_reports.new_report("native_crash", "x", native_dump=FAULT_TEXT.replace("line 120", "line 999"))
    assert moved["grouping_key"] == report["grouping_key"], "line numbers do not change the group"


def test_exception_chain_has_no_locals_and_keeps_causes():
    def inner(secret_value):
        raise KeyError("inner")

    try:
        try:
            secret = "pass" + "word" + str(123)
            inner(secret)
        except KeyError as exc:
            raise RuntimeError("outer") from exc
    except RuntimeError as exc:
        report = crash_reports.new_report("exception", "boom", exception=exc)
    chain = report["exception"]
    assert [c["type"] for c in chain] == ["builtins.RuntimeError", "builtins.KeyError"]
    assert chain[1]["relation"] == "cause" and chain[1]["frames"][-1]["function"] == "inner"
    assert "password123" not in json.dumps(report["exception"]), "no local variables in a report"
    assert set(crash_reports.KINDS) >= {report["kind"]} and report["schema_version"] == 1


def test_list_find_format_and_reporter_deduplicates(tmp_path):
    reporter = crash_reports.Reporter(tmp_path, started=time.monotonic(), versions={"python": "3"},
                                      tail=lambda: ["line 1", "line 2"], open_files=lambda: ["/data/scan_1.nxs"])
    for _ in range(3):
        try:
            raise ValueError("same bug")
        except ValueError as exc:
            reporter.report("exception", "same bug", exception=exc)
    assert len(reporter.written) == 1, "the same grouping key is written once per run"
    reports = crash_reports.list_reports(tmp_path)
    assert len(reports) == 1 and reports[0]["open_files"] == ["scan_1.nxs"]
    found = crash_reports.find_report(tmp_path, reports[0]["id"][:6])
    text = crash_reports.format_report(found)
    assert "ValueError: same bug" in text and "line 2" in text and "scan_1.nxs" in text
    with pytest.raises(KeyError):
        crash_reports.find_report(tmp_path, "zzzz")


def test_classify_exit_status():
    assert postmortem.classify(-11, None, "running")[0] == "native_crash"
    assert postmortem.classify(-6, "Aborted", "running")[0] == "abort"
    assert postmortem.classify(-9, None, "running")[0] == "killed"
    assert postmortem.classify(None, "Segmentation fault", "running")[0] == "native_crash"
    assert postmortem.classify(None, None, "starting")[0] == "killed", "no trace: cannot call it our crash"
    assert postmortem.classify(1, None, "starting")[0] == "startup_failure"


def test_startup_crash_window(tmp_path):
    now = time.time()
    runstate.record_startup_crash(tmp_path, now - 7 * 3600)     # too old to count
    runstate.record_startup_crash(tmp_path, now - 60)
    runstate.record_startup_crash(tmp_path, now - 30)
    assert not runstate.safe_mode_due(tmp_path)
    runstate.record_startup_crash(tmp_path, now)
    assert runstate.safe_mode_due(tmp_path)
    runstate.clear_startup_crashes(tmp_path)
    assert not runstate.safe_mode_due(tmp_path)


def test_every_switch_has_option_and_environment_variable():
    parsed = options.parse_options([], environ={"XESTOOLS_SAFE_MODE": "1", "XESTOOLS_HANG_SECONDS": "2.5",
                                                "XESTOOLS_LOG_LEVEL": "debug", "XESTOOLS_MEMORY_WARN_MB": "100"})
    assert parsed.safe_mode and parsed.hang_seconds == 2.5 and parsed.log_level == "DEBUG"
    assert parsed.memory_warn_mb == 100.0
    parsed = options.parse_options(["--hang-seconds", "3", "--no-restore", "f.nxs"],
                                   environ={"XESTOOLS_HANG_SECONDS": "2"})
    assert parsed.hang_seconds == 3.0 and parsed.no_restore and parsed.files == ("f.nxs",)
    defaults = options.parse_options([], environ={})
    assert (defaults.hang_seconds, defaults.autosave_seconds, defaults.memory_interval) == (10.0, 1.5, 5.0)
    assert (defaults.read_timeout, defaults.new_instance) == (10.0, False)
    with pytest.raises(SystemExit):
        options.parse_options([], environ={"XESTOOLS_SAFE_MODE": "maybe"})
    table = options.switch_table_markdown()
    for switch in options.SWITCHES:
        assert (f"`{switch.option}`" in table) != switch.hidden
    doc = (PROJECT_ROOT / "docs" / "runtime.md").read_text(encoding="utf-8")
    assert table in doc, "docs/runtime.md carries the generated switch table"


def test_supervisor_path_stays_light():
    code = ("import sys; import xestools.app, xestools.runtime.supervisor, xestools.runtime.crash_reports, "
            "xestools.runtime.postmortem; heavy = [m for m in ('numpy', 'matplotlib', 'PySide6', 'h5py') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(PROJECT_ROOT),
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_selfcheck_passes_here_and_detects_lost_references(qapp, monkeypatch):
    result = selfcheck.check_refcounts()
    assert result["ok"], result
    assert result["lost"] == {"None": 0, "True": 0, "False": 0} and result["received"] == 300

    # Simulate the defective binding: every void call drops a reference to None (restored below).
    import ctypes

    import PySide6.QtCore

    real_timer = PySide6.QtCore.QTimer
    dropped = [0]

    class LeakyTimer(real_timer):
        def stop(self):
            super().stop()
            ctypes.pythonapi.Py_DecRef(ctypes.py_object(None))
            dropped[0] += 1

    monkeypatch.setattr(PySide6.QtCore, "QTimer", LeakyTimer)
    try:
        leaky = selfcheck.check_refcounts()
    finally:
        for _ in range(dropped[0]):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    assert not leaky["ok"] and leaky["lost"]["None"] >= 290, leaky
    monkeypatch.setattr(PySide6.QtCore, "QTimer", real_timer)
    counts = iter([{"None": 5000, "True": 900, "False": 900}, {"None": 4700, "True": 600, "False": 600}])
    monkeypatch.setattr(selfcheck, "refcounts", lambda: next(counts))
    monkeypatch.setattr(selfcheck, "check_refcounts", lambda calls=300: {
        "ok": False, "lost": {"None": 300}, "before": {}, "after": {}, "calls": calls})
    verdict = selfcheck.run_selfcheck()
    assert not verdict["ok"] and "PySide6-Essentials>=6.11,<6.12" in verdict["message"]


def test_memory_monitor_writes_samples_and_warns_without_qt(tmp_path):
    from xestools.runtime.memory import MemoryMonitor

    warnings = []
    monitor = MemoryMonitor(tmp_path / "memory.json", interval=0.05, warn_mb=1.0,
                            on_warning=lambda message, sample: warnings.append(message))
    monitor.start()
    try:
        deadline = time.monotonic() + 5
        while not warnings and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        monitor.stop()
    sample = json.loads((tmp_path / "memory.json").read_text())
    assert sample["pid"] == os.getpid() and sample["rss_mb"] > 1
    assert len(warnings) == 1 and "MB of memory" in warnings[0]
    snapshot = monitor.snapshot()
    assert snapshot["peak_mb"] >= sample["rss_mb"] and snapshot["last_sample"]


def test_watchdog_reports_a_blocked_thread_by_name():
    import threading

    from xestools.runtime.watchdog import HangWatchdog

    reports = []
    watchdog = HangWatchdog(0.3, lambda kind, summary, **kw: reports.append((kind, summary, kw)),
                            gui_thread_ident=threading.get_ident(), poll=0.05)
    watchdog.start()

    def stuck_in_here():
        time.sleep(0.8)

    try:
        stuck_in_here()
        watchdog.beat()
        time.sleep(0.2)
    finally:
        watchdog.stop()
    assert len(reports) == 1 and reports[0][0] == "hang"
    assert reports[0][2]["extra"]["blocking_function"] == "stuck_in_here"


def test_unloadable_xcb_plugin_becomes_a_one_line_explanation(tmp_path, monkeypatch):
    from xestools.runtime import qtenv

    (tmp_path / "platforms").mkdir()
    (tmp_path / "platforms" / "libqxcb.so").write_text("not a shared library")
    monkeypatch.setattr(qtenv, "pyside_plugin_folder", lambda: tmp_path)
    with pytest.raises(qtenv.NoDisplayError) as caught:
        qtenv.check_display({"DISPLAY": ":99"})
    assert "xcb platform plugin" in str(caught.value) and "\n" not in str(caught.value)
    assert qtenv.check_display({"QT_QPA_PLATFORM": "offscreen"}) == "offscreen"
    qtenv.check_platform_plugin({"WAYLAND_DISPLAY": "wayland-0"})     # not the xcb route: no check
