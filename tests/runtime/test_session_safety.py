"""The session survives a dying supervisor, a full disk, a launch that does not restore it and a
damaged state file (real app in child processes, offscreen)."""
from __future__ import annotations

import os
import signal
import sys
import time

import psutil

from xestools.session import SessionStore

from .apprun import PROJECT_ROOT, app_env, console, session_file_names, finish, make_dirs, start, wait_for, wait_ready

SAMPLE = PROJECT_ROOT / "data_samples" / "990101_1.nxs"
SPECTRUM = PROJECT_ROOT / "data_samples" / "990102_1.nxs"


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_supervisor_killed_9_while_the_gui_is_busy_keeps_the_unsaved_change(tmp_path):
    """The supervisor dies (kill -9: the GUI gets SIGTERM as its parent-death signal) while the GUI's
    event loop is busy, and a second signal follows within 2 s: the forced exit used to drop the
    change made since the last autosave ("forcing exit without saving")."""
    dirs = make_dirs(tmp_path)
    env = app_env(dirs, XESTOOLS_AUTOSAVE_SECONDS="60", XESTOOLS_HANG_SECONDS="20",
                  XESTOOLS_CRASH_TEST_DELAY="15", XESTOOLS_LOG_LEVEL="INFO")
    process = start(dirs, "--crash-test", "hang", str(SAMPLE), env=env)     # supervised
    marker = wait_ready(dirs, process)
    wait_for(lambda: any(m.get("open_files") == [SAMPLE.name] for m in dirs.markers()), 30,
             what="the opened file in the run marker")
    wait_for(lambda: "blocking the event loop" in dirs.all_log_text(), 30, what="the busy event loop")
    assert SAMPLE.name not in session_file_names(dirs.session_file), "the change is not autosaved yet"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    time.sleep(0.3)
    os.kill(marker["pid"], signal.SIGTERM)      # e.g. the desktop session ending, within 2 s
    wait_for(lambda: _gone(marker["pid"]), 30, what="the GUI process to end")
    assert "forcing exit (the unsaved changes were saved first)" in dirs.all_log_text()
    assert session_file_names(dirs.session_file) == [SAMPLE.name]


ENOSPC_LAUNCHER = """
import errno, os, sys
import xestools.session
from xestools.app import main

original = xestools.session.private_write

def disk_full(path, data):
    if os.path.basename(str(path)).startswith("session"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    original(path, data)

xestools.session.private_write = disk_full
sys.exit(main(sys.argv[1:]))
"""


def test_disk_full_while_saving_says_so_keeps_the_previous_file_and_exits_non_zero(tmp_path):
    dirs = make_dirs(tmp_path)
    SessionStore(dirs.session_file).save({"main_window": {"files": []}})
    before = dirs.session_file.read_bytes()
    env = app_env(dirs, XESTOOLS_AUTOSAVE_SECONDS="0.2", XESTOOLS_LOG_LEVEL="INFO")
    process = start(dirs, "--single-process", str(SAMPLE), env=env,
                    launcher=[sys.executable, "-c", ENOSPC_LAUNCHER])
    wait_ready(dirs, process)
    wait_for(lambda: "session not saved" in dirs.all_log_text(), 30, what="the failed autosave")
    os.kill(process.pid, signal.SIGTERM)
    assert finish(process) == 5, console(process)
    text = dirs.all_log_text()
    assert "message to the user (error): xestools: session not saved" in text
    assert "No space left on device" in text and "Unhandled OSError" not in text
    assert "the session could not be saved" in console(process)
    assert not dirs.reports(), "a full disk is said, not reported as a crash"
    assert dirs.session_file.read_bytes() == before, "the previous session file is intact"


def test_no_restore_keeps_the_session_it_did_not_restore_in_the_history(tmp_path):
    dirs = make_dirs(tmp_path)
    env = app_env(dirs, XESTOOLS_AUTOSAVE_SECONDS="0.2")
    SessionStore(dirs.session_file).save({"main_window": {"files": [{"path": str(SAMPLE), "kind": "rxes"}]}})
    process = start(dirs, "--single-process", "--no-restore", str(SPECTRUM), env=env)
    wait_ready(dirs, process)
    wait_for(lambda: session_file_names(dirs.session_file) == [SPECTRUM.name], 30, what="the new session saved")
    os.kill(process.pid, signal.SIGTERM)
    assert finish(process) == 0, console(process)
    history = dirs.session_file.parent / "session-history"
    kept = sorted(session_file_names(path)[0] for path in history.glob("session-*.json"))
    assert kept == sorted([SAMPLE.name, SPECTRUM.name]), "both sessions are in the history"
    for path in history.iterdir():
        assert path.stat().st_mode & 0o077 == 0
    # an untouched launch without restore does not overwrite the session either
    process = start(dirs, "--single-process", "--safe-mode", "--quit-after", "1", env=env)
    assert finish(process) == 0, console(process)
    assert session_file_names(dirs.session_file) == [SPECTRUM.name]


def test_damaged_session_and_settings_never_keep_the_app_from_starting(tmp_path):
    dirs = make_dirs(tmp_path)
    settings = tmp_path / "settings.ini"
    env = app_env(dirs, XESTOOLS_SETTINGS_FILE=str(settings), XESTOOLS_LOG_LEVEL="INFO")
    dirs.session_file.parent.mkdir(parents=True)
    for safe in ([], ["--safe-mode"]):
        dirs.session_file.write_text('{"format": "xestools-session", "version": 1, "state": ' + "[" * 100000
                                     + "]" * 100000 + "}", encoding="utf-8")
        settings.write_bytes(b"\x00\xff\x13garbage" * 100)
        process = start(dirs, "--single-process", "--quit-after", "1", *safe, env=env)
        assert finish(process) == 0, console(process)
        text = dirs.all_log_text()
        assert "RecursionError" not in text and not dirs.reports()
        for path in (dirs.session_file, settings):
            aside = list(path.parent.glob(path.name + ".damaged-*"))
            assert aside, f"{path.name} set aside ({safe})"
            assert f"kept as {aside[0].name}" in text or f"kept as {aside[0]}" in text
            for old in aside:
                old.unlink()
