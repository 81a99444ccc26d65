"""Orderly shutdown on signals, clean start/stop cycles, safe mode after start-up crashes."""
from __future__ import annotations

import contextlib

import json
import os
import re
import signal
import sys
import time

import pytest

from .apprun import app_env, console, finish, make_dirs, start, wait_for, wait_ready


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"])
def test_signal_to_idle_app_exits_cleanly_with_session_saved(tmp_path, signame):
    dirs = make_dirs(tmp_path)
    process = start(dirs)                     # through the supervisor, which forwards the signal
    marker = wait_ready(dirs, process)
    time.sleep(0.3)                           # idle
    sent = time.monotonic()
    os.kill(process.pid, getattr(signal, signame))
    status = finish(process, timeout=30)      # behaviour only; the time is printed (bench/ measures it)
    print(f"{signame}: exit after {time.monotonic() - sent:.3f} s")
    assert status == 0, console(process)
    document = json.loads(dirs.session_file.read_text(encoding="utf-8"))
    assert document["format"] == "xestools-session" and "main_window" in document["state"]
    assert not dirs.reports(), "a requested shutdown is not a crash"
    assert not dirs.markers()
    assert f"received {signame}: shutting down in order" in dirs.all_log_text()
    assert f"pid {marker['pid']}" in dirs.all_log_text()


def test_second_signal_within_two_seconds_forces_exit(tmp_path):
    dirs = make_dirs(tmp_path)
    # Block the event loop so that the first signal cannot finish the orderly shutdown.
    process = start(dirs, "--single-process", "--crash-test", "hang",
                    env=app_env(dirs, XESTOOLS_HANG_SECONDS="4"))
    wait_ready(dirs, process)
    wait_for(lambda: "blocking the event loop" in dirs.all_log_text(), 20, what="the block")
    os.kill(process.pid, signal.SIGTERM)
    time.sleep(0.2)
    os.kill(process.pid, signal.SIGTERM)
    assert finish(process, timeout=5) == 4
    assert "forcing exit" in dirs.all_log_text()
    assert not dirs.markers(), "a forced exit is the user's choice, not a crash"


@pytest.mark.parametrize("single", [False, True], ids=["supervised", "single-process"])
def test_second_sigterm_after_the_clean_shutdown_keeps_status_0(tmp_path, single):
    """The second signal arrives after the clean shutdown, while the process is still exiting (made
    slow on purpose): the exit stays clean (0), it is not turned into a kill (143 / -15)."""
    dirs = make_dirs(tmp_path)
    process = start(dirs, *(["--single-process"] if single else []), "--crash-test", "slow-exit")
    marker = wait_ready(dirs, process)
    target = process.pid
    os.kill(target, signal.SIGTERM)
    wait_for(lambda: "lingering" in dirs.all_log_text(), 30, what="the end of the clean shutdown")
    os.kill(target, signal.SIGTERM)
    if not single:                      # and straight to the GUI process, as a desktop session would
        with contextlib.suppress(ProcessLookupError):   # it may have ended already
            os.kill(marker["pid"], signal.SIGTERM)
    assert finish(process, timeout=30) == 0, console(process)
    assert not dirs.reports() and not dirs.markers()
    assert dirs.session_file.exists(), "the session was saved by the clean shutdown"


@pytest.mark.parametrize("attempt", range(2))
def test_two_sigterms_0_2_s_apart_end_with_a_documented_status(tmp_path, attempt):
    dirs = make_dirs(tmp_path)
    process = start(dirs)
    wait_ready(dirs, process)
    os.kill(process.pid, signal.SIGTERM)
    time.sleep(0.2)
    os.kill(process.pid, signal.SIGTERM)
    status = finish(process, timeout=30)
    assert status in (0, 4), f"status {status}: docs/runtime.md promises 0 or 4\n{console(process)}"
    assert not dirs.reports(), "a requested shutdown is not a crash"
    assert not dirs.markers()


SUPERVISOR_THEN_SIGNAL = """
import os, signal, sys, time
from xestools.app import main
status = main(["--quit-after", "0"])
# Python resets its own handlers to the default action while the interpreter exits, so a late
# signal must meet SIG_IGN, not a Python handler.
if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
    sys.exit(f"late SIGTERM would meet {signal.getsignal(signal.SIGTERM)!r}")
os.kill(os.getpid(), signal.SIGTERM)     # a late signal between the GUI's end and the supervisor's exit
time.sleep(0.5)
sys.exit(status)
"""


def test_a_signal_after_the_gui_ended_does_not_kill_the_supervisor(tmp_path):
    dirs = make_dirs(tmp_path)
    process = start(dirs, launcher=[sys.executable, "-c", SUPERVISOR_THEN_SIGNAL])
    assert finish(process) == 0, console(process)


def test_sigterm_during_start_up_is_an_orderly_exit(tmp_path):
    """Before the window exists the signal is remembered; the shutdown runs once the loop does."""
    dirs = make_dirs(tmp_path)
    process = start(dirs, "--single-process", env=app_env(dirs, XESTOOLS_LOG_LEVEL="INFO"))
    wait_for(lambda: any(m.get("phase") == "starting" for m in dirs.markers()) or process.poll() is not None,
             60, what="the start-up marker")
    os.kill(process.pid, signal.SIGTERM)
    assert finish(process) == 0, console(process)
    assert not dirs.reports() and not dirs.markers()
    text = dirs.all_log_text()
    assert "clean exit after" in text


def test_twenty_clean_start_stop_cycles_give_no_false_crash_notice(tmp_path):
    """Twenty clean runs, two at a time in the same log folder (each with its own session, so that
    neither hands over to the other): no instance may take the other's running marker for a crash."""
    dirs = make_dirs(tmp_path)
    envs = [app_env(dirs, XESTOOLS_SESSION_FILE=str(tmp_path / "state" / f"session-{n}.json")) for n in (1, 2)]
    for pair in range(10):
        processes = [start(dirs, "--quit-after", "0.3" if first else "0",
                           *([] if pair == 9 and first else ["--single-process"]), env=env)
                     for first, env in zip((True, False), envs)]
        for process in processes:
            assert finish(process) == 0, console(process)
    assert not dirs.reports()
    assert not dirs.markers()
    text = dirs.all_log_text()
    assert "ended unexpectedly" not in text and "did not close properly" not in text
    assert "pyplot was imported" not in text
    assert text.count("clean exit after") == 20
    assert not list(dirs.log_dir.glob("*.fault.log*")), "no fault files after clean exits"


def test_three_startup_crashes_trigger_safe_mode(tmp_path):
    dirs = make_dirs(tmp_path)
    env = app_env(dirs)
    for _ in range(3):
        process = start(dirs, "--crash-test", "startup", "--no-dialog", env=env)
        assert finish(process) != 0
    assert [r["kind"] for r in dirs.reports()] == ["startup_failure"] * 3
    process = start(dirs, "--single-process", "--quit-after", "0", env=env)
    assert finish(process) == 0, console(process)
    text = dirs.all_log_text()
    assert "safe mode on (3 start-up crashes within 6 h)" in text
    assert re.search(r"main window shown: '[^']*safe mode", text), "the window title says so"
    # A successful start clears the record: the next start is normal again.
    for log in dirs.main_logs():
        log.unlink()
    process = start(dirs, "--single-process", "--quit-after", "0", env=env)
    assert finish(process) == 0
    assert "safe mode on" not in dirs.all_log_text()


def test_unclean_end_is_reported_once_at_the_next_launch(tmp_path):
    dirs = make_dirs(tmp_path)
    env = app_env(dirs)
    process = start(dirs, "--single-process", env=env)
    marker = wait_ready(dirs, process)
    os.kill(marker["pid"], signal.SIGKILL)
    process.wait(10)
    assert not dirs.reports()
    # A dump whose run left no marker (it died after removing it) is found too.
    orphan = dirs.log_dir / "xestools-20250101-000000-4000001.fault.log"
    orphan.write_text(ORPHAN_DUMP, encoding="utf-8")
    for _ in range(2):
        process = start(dirs, "--single-process", "--quit-after", "0", env=env)
        assert finish(process) == 0
    reports = dirs.reports()
    assert sorted(r["kind"] for r in reports) == ["killed", "native_crash"]
    assert all(r["process"]["detected_by"] == "next launch" for r in reports)
    native = next(r for r in reports if r["kind"] == "native_crash")
    assert "_on_motion" in native["grouping_key"]
    assert dirs.all_log_text().count("ended unexpectedly") == 2, "said once per unclean end"
    assert not orphan.exists()


ORPHAN_DUMP = """Fatal Python error: Segmentation fault

Current thread 0x00007f0000000002 (most recent call first):
  File "/opt/xestools/gui/common/canvas.py", line 120 in _on_motion
  File "/opt/xestools/runtime/safe.py", line 50 in wrapper
"""


def test_no_display_gives_one_line_not_an_abort(tmp_path):
    dirs = make_dirs(tmp_path)
    env = app_env(dirs)
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    process = start(dirs, "--single-process", env=env)
    assert finish(process) == 2
    out = console(process)
    assert "no display found" in out and "QT_QPA_PLATFORM=offscreen" in out
    assert "Aborted" not in out and "core dumped" not in out
    assert not dirs.reports() and not dirs.markers()


def test_foreign_qt_plugin_path_is_ignored(tmp_path):
    dirs = make_dirs(tmp_path)
    foreign = tmp_path / "other-qt" / "plugins"
    (foreign / "platforms").mkdir(parents=True)
    env = app_env(dirs, QT_PLUGIN_PATH=str(foreign), QT_QPA_PLATFORM_PLUGIN_PATH=str(foreign / "platforms"))
    process = start(dirs, "--single-process", "--quit-after", "0", env=env)
    assert finish(process) == 0, console(process)
    text = dirs.all_log_text()
    assert "QT_PLUGIN_PATH removed foreign value" in text
    assert "QT_QPA_PLATFORM_PLUGIN_PATH removed foreign value" in text


def test_without_psutil_the_app_says_so_once_and_works(tmp_path):
    dirs = make_dirs(tmp_path)
    blocker = tmp_path / "nopsutil"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['psutil'] = None\n", encoding="utf-8")
    env = app_env(dirs)
    env["PYTHONPATH"] = f"{blocker}:{env['PYTHONPATH']}"
    process = start(dirs, "--single-process", "--crash-test", "exception", "--quit-after", "1.5", env=env)
    assert finish(process) == 0, console(process)
    text = dirs.all_log_text()
    assert text.count("psutil is not installed: memory monitoring is off") == 1
    reports = dirs.reports()
    assert [r["kind"] for r in reports] == ["exception"]
    assert reports[0]["memory"]["monitor"] == "off"
