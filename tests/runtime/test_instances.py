"""Two GUIs on one session, and the session saved shortly after every change (real app, offscreen)."""
from __future__ import annotations

import json
import os
import signal
import time

from .apprun import PROJECT_ROOT, app_env, console, session_file_names, finish, make_dirs, start, wait_for, wait_ready

SAMPLE = PROJECT_ROOT / "data_samples" / "990101_1.nxs"
SPECTRUM = PROJECT_ROOT / "data_samples" / "990102_1.nxs"


def test_second_launch_hands_its_files_to_the_running_gui(tmp_path):
    dirs = make_dirs(tmp_path)
    first = start(dirs, "--single-process")
    wait_ready(dirs, first)
    second = start(dirs, "--single-process", str(SAMPLE))
    assert finish(second, timeout=60) == 0, console(second)
    assert "already running" in console(second) and "1 file(s) opened there" in console(second)
    assert first.poll() is None, "the first GUI keeps running"
    wait_for(lambda: SAMPLE.name in session_file_names(dirs.session_file), 30,
             what="the first GUI to open and save the handed-over file")
    assert "a second launch handed over 1 file(s): " + SAMPLE.name in dirs.all_log_text()
    os.kill(first.pid, signal.SIGTERM)
    assert finish(first) == 0, console(first)
    assert session_file_names(dirs.session_file) == [SAMPLE.name], "one session, written by one GUI"
    assert not dirs.reports() and not dirs.markers()


def test_new_instance_works_on_its_own_session_and_settings(tmp_path):
    dirs = make_dirs(tmp_path)
    first = start(dirs, "--single-process", str(SAMPLE))
    wait_ready(dirs, first)
    wait_for(lambda: session_file_names(dirs.session_file) == [SAMPLE.name], 30, what="the first session")
    second = start(dirs, "--single-process", "--new-instance", str(SPECTRUM))
    own = dirs.session_file.with_name("session-2.json")
    wait_for(lambda: session_file_names(own) == [SPECTRUM.name], 30, what="the second GUI's own session")
    for process in (second, first):
        os.kill(process.pid, signal.SIGTERM)
        assert finish(process) == 0, console(process)
    assert session_file_names(dirs.session_file) == [SAMPLE.name], "the first session was not overwritten"
    assert session_file_names(own) == [SPECTRUM.name]
    assert "this one works on" in dirs.all_log_text() and "settings-2.ini" in dirs.all_log_text()
    # The next plain launch gets the first session back (its lock is free again).
    third = start(dirs, "--single-process", "--quit-after", "1")
    assert finish(third) == 0
    assert session_file_names(dirs.session_file) == [SAMPLE.name]


def test_a_lock_left_by_a_killed_gui_does_not_block_the_next(tmp_path):
    dirs = make_dirs(tmp_path)
    first = start(dirs, "--single-process")
    wait_ready(dirs, first)
    assert dirs.session_file.with_name("session.json.lock").exists()
    os.kill(first.pid, signal.SIGKILL)
    first.wait(30)
    second = start(dirs, "--single-process", "--quit-after", "0.5")
    assert finish(second) == 0, console(second)
    assert "works on" not in dirs.all_log_text(), "the stale lock was taken over, not worked around"


def test_session_is_saved_shortly_after_a_change_so_kill_9_loses_little(tmp_path):
    """Default autosave (no XESTOOLS_AUTOSAVE_SECONDS): opening a file is on disk well before the
    old 30-s autosave would have written it; a kill -9 then loses nothing, and the next start says
    how old the restored session is."""
    dirs = make_dirs(tmp_path)
    env = app_env(dirs, XESTOOLS_LOG_LEVEL="INFO")
    process = start(dirs, "--single-process", str(SAMPLE), env=env)
    wait_ready(dirs, process)
    changed = time.monotonic()
    wait_for(lambda: session_file_names(dirs.session_file) == [SAMPLE.name], 25,
             what="the session saved after opening a file")
    print(f"session on disk {time.monotonic() - changed:.2f} s after the window was ready")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    process = start(dirs, "--single-process", "--quit-after", "1", env=env)
    assert finish(process) == 0, console(process)
    text = dirs.all_log_text()
    assert "session restored from the session (1 files)" in text
    assert "your session as last saved" in text and "ago has been restored" in text


def _send(name: str, payload: bytes, *, wait_reply: bool = True) -> bytes:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(60)
        client.connect(name)
        client.sendall(payload)
        if not wait_reply:
            return b""
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = client.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply


def test_malformed_hand_over_messages_are_answered_with_an_error_not_a_crash(tmp_path):
    from xestools.runtime.instance import server_name

    dirs = make_dirs(tmp_path)
    gui = start(dirs, "--single-process")
    wait_ready(dirs, gui)
    name = server_name(dirs.session_file)
    if not os.path.isabs(name):  # a plain name: Qt puts the socket file in its temporary folder
        import tempfile
        name = os.path.join(tempfile.gettempdir(), name)
    wait_for(lambda: os.path.exists(name), 30, what="the hand-over socket")
    for payload in (b'{"open": 5}\n', b'{"open": "/tmp/abc"}\n', b"[" * 50_000 + b"]" * 50_000 + b"\n",
                    b'{"open": [["nested"]]}\n', b'{"open": ["relative.nxs"]}\n', b"\xff\xfe\n", b"null\n"):
        reply = json.loads(_send(name, payload))
        assert reply["ok"] is False and reply["error"], payload[:40]
    import socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as idle:
        idle.settimeout(120)  # the GUI closes an idle connection after 10 s; a recv that times out fails the test
        idle.connect(name)
        idle.sendall(b'{"open": [')  # and then nothing: the GUI closes it
        assert idle.recv(4096) == b""
    assert gui.poll() is None, "the GUI keeps running"
    assert json.loads(_send(name, json.dumps({"open": [str(SAMPLE)]}).encode() + b"\n"))["ok"] is True
    wait_for(lambda: SAMPLE.name in session_file_names(dirs.session_file), 30, what="the good hand-over to open")
    os.kill(gui.pid, signal.SIGTERM)
    assert finish(gui) == 0, console(gui)
    assert not dirs.reports(), "no crash report for a malformed message"
