"""Crashes of the real application in child processes (offscreen), checked by the files left behind."""
from __future__ import annotations

import os
import re
import signal
import time

import pytest

from .apprun import (PROJECT_ROOT, app_env, console, error_log_entries, finish, make_dirs, start, wait_for,
                                  wait_ready)


SAMPLE = PROJECT_ROOT / "data_samples" / "990101_1.nxs"


def _crash_time(log_text: str) -> float:
    match = re.search(r"crash test: \w+(?: \w+)? now \(t=([0-9.]+)\)", log_text)
    assert match, "the crash test did not log its moment"
    return float(match.group(1))


@pytest.mark.parametrize("kind, report_kind, function", [
    ("segfault", "native_crash", "segfault_slot"),
    ("abort", "abort", "abort_slot"),
])
def test_native_crash_in_slot_gives_dump_and_report(tmp_path, kind, report_kind, function):
    dirs = make_dirs(tmp_path)
    env = app_env(dirs, XESTOOLS_CRASH_TEST_DELAY="2.5")     # time to load the file first
    process = start(dirs, "--crash-test", kind, "--no-dialog", str(SAMPLE), env=env)
    status = finish(process)
    assert status != 0, "the supervisor must exit non-zero after a crash nobody can answer"
    reports = dirs.reports()
    assert [r["kind"] for r in reports] == [report_kind], console(process)
    report = reports[0]
    assert function in report["native_dump"]["text"], "the native dump must name the slot's function"
    assert any(f["function"] == function for f in report["faulting_frames"])
    assert function in report["grouping_key"]
    assert report["process"]["exit_status"] == -(signal.SIGSEGV if kind == "segfault" else signal.SIGABRT)
    crashed_at = _crash_time(dirs.all_log_text())
    print(f"{kind}: report {report['_mtime'] - crashed_at:.3f} s after the crash")   # a figure, not a test
    assert report["id"] in console(process) and "crash_reports" in console(process)
    assert report["log_tail"], "the report carries the last log lines"
    assert not dirs.markers(), "the supervisor clears the dead run's marker"
    assert report["open_files"] == [SAMPLE.name]
    assert any(SAMPLE.name in crumb["action"] for crumb in report["breadcrumbs"])


def test_kill_9_gives_killed_report_with_last_memory_sample(tmp_path):
    dirs = make_dirs(tmp_path)
    process = start(dirs, "--no-dialog")
    marker = wait_ready(dirs, process)
    sample_file = dirs.run_dir / f"memory-{marker['pid']}.json"
    wait_for(sample_file.exists, 10, what="a memory sample")
    os.kill(marker["pid"], signal.SIGKILL)
    assert finish(process) != 0
    reports = dirs.reports()
    assert [r["kind"] for r in reports] == ["killed"]
    sample = reports[0]["memory"]["last_sample"]
    assert sample and sample["pid"] == marker["pid"] and sample["rss_mb"] > 10
    assert reports[0]["memory"]["peak_mb"] >= sample["rss_mb"]
    assert "SIGKILL" in reports[0]["summary"]
    out = console(process)
    assert "restores your session as last saved" in out or "No session was saved yet" in out, out


def _run_until_report(dirs, *args, env_extra=None, kinds=1, then=None):
    env = app_env(dirs, **(env_extra or {}))
    process = start(dirs, *args, env=env)
    marker = wait_ready(dirs, process)
    wait_for(lambda: len(dirs.reports()) >= kinds, 30, what="a crash report")
    if then is not None:
        wait_for(then, 30, what="the app to go on")
    time.sleep(0.5)  # the app must keep running after the report
    assert process.poll() is None, console(process)
    assert os.path.exists(dirs.run_dir / f"run-{marker['pid']}.json")
    os.kill(process.pid, signal.SIGTERM)
    assert finish(process) == 0, console(process)
    return dirs.reports()


def test_slot_exception_keeps_app_running_one_report_one_error_entry(tmp_path):
    dirs = make_dirs(tmp_path)
    reports = _run_until_report(dirs, "--crash-test", "exception")
    assert [r["kind"] for r in reports] == ["exception"]
    assert reports[0]["exception"][0]["type"] == "builtins.RuntimeError"
    assert "exception_slot" in reports[0]["grouping_key"]
    entries = error_log_entries(dirs)
    assert len(entries) == 1 and "exception_slot" in entries[0], entries
    assert not dirs.markers(), "clean exit removes the marker"


def test_thread_exception_report_names_the_thread(tmp_path):
    dirs = make_dirs(tmp_path)
    reports = _run_until_report(dirs, "--crash-test", "thread")
    assert [r["kind"] for r in reports] == ["thread_exception"]
    assert reports[0]["thread"]["name"] == "xestools-crash-test-thread"
    assert reports[0]["exception"][0]["type"] == "builtins.ValueError"


def test_matplotlib_callback_exception_is_reported(tmp_path):
    dirs = make_dirs(tmp_path)
    reports = _run_until_report(dirs, "--crash-test", "mpl-callback")
    assert [r["kind"] for r in reports] == ["exception"]
    assert "failing_draw_callback" in reports[0]["grouping_key"]
    assert "matplotlib callback" in reports[0]["summary"]


def test_blocked_event_loop_gives_hang_report_naming_the_function(tmp_path):
    dirs = make_dirs(tmp_path)
    reports = _run_until_report(dirs, "--crash-test", "hang", env_extra={"XESTOOLS_HANG_SECONDS": "1"},
                                then=lambda: "answers again" in dirs.all_log_text())
    assert [r["kind"] for r in reports] == ["hang"]
    assert reports[0]["extra"]["blocking_function"] == "block_event_loop_slot"
    assert "block_event_loop_slot" in reports[0]["summary"]
    assert "stacks of all threads" in dirs.all_log_text()


def test_hang_at_exit_is_reported_by_the_supervisor_and_killed(tmp_path):
    dirs = make_dirs(tmp_path)
    env = app_env(dirs, XESTOOLS_EXIT_HANG_SECONDS="1")
    process = start(dirs, "--crash-test", "exit-hang", "--no-dialog", env=env)
    wait_ready(dirs, process)
    os.kill(process.pid, signal.SIGTERM)
    assert finish(process, timeout=30) != 0
    reports = dirs.reports()
    assert [r["kind"] for r in reports] == ["hang"], console(process)
    assert "hang_in_shutdown" in reports[0]["native_dump"]["text"]
    assert "hang_in_shutdown" in reports[0]["grouping_key"]
    assert "did not finish its shutdown" in reports[0]["summary"]
    assert not dirs.markers()
