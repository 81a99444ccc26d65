"""Session persistence: round trip, backup, damaged and newer files, kill -9 while writing."""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xestools import session
from xestools.session import SessionStore

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_round_trip_and_previous_good_copy(tmp_path):
    store = SessionStore(tmp_path / "session.json")
    assert store.load() == session.LoadResult(None, "none", "")
    store.save({"main_window": {"files": ["a.nxs"]}})
    store.save({"main_window": {"files": ["a.nxs", "b.nxs"]}})
    result = store.load()
    assert result.source == "session" and result.state["main_window"]["files"] == ["a.nxs", "b.nxs"]
    backup = json.loads(store.backup.read_text(encoding="utf-8"))
    assert backup["state"]["main_window"]["files"] == ["a.nxs"]
    assert backup["format"] == "xestools-session" and backup["version"] == session.VERSION


def test_damaged_session_falls_back_to_backup_and_says_so(tmp_path):
    store = SessionStore(tmp_path / "session.json")
    store.save({"n": 1})
    store.save({"n": 2})
    store.path.write_text('{"format": "xestools-session", "vers', encoding="utf-8")
    result = store.load()
    assert result.state == {"n": 1} and result.source == "backup"
    assert "could not be read" in result.message
    assert list(tmp_path.glob("session.json.damaged-*")), "the damaged file is kept for support"


def test_newer_version_and_garbage_everywhere_start_empty(tmp_path):
    store = SessionStore(tmp_path / "session.json")
    store.path.write_text(json.dumps({"format": "xestools-session", "version": session.VERSION + 1,
                                      "state": {}}), encoding="utf-8")
    store.backup.write_bytes(b"\x00\xff garbage")
    result = store.load()
    assert result.state is None and result.source == "none"
    assert "newer xestools" in result.message
    assert list(tmp_path.glob("session.json.newer-*")), "kept for the newer version that wrote it"
    # A second load does not trip over the same files again.
    assert store.load() == session.LoadResult(None, "none", "")


def test_saving_over_a_damaged_file_does_not_make_it_the_backup(tmp_path):
    store = SessionStore(tmp_path / "session.json")
    store.save({"n": 1})
    store.save({"n": 2})
    store.path.write_text("not json", encoding="utf-8")
    store.save({"n": 3})
    assert json.loads(store.backup.read_text())["state"] == {"n": 1}
    assert store.load().state == {"n": 3}


WRITER = """
import sys
from xestools.session import SessionStore
store = SessionStore(sys.argv[1])
i = 0
payload = "x" * 20000
while True:
    i += 1
    store.save({"counter": i, "main_window": {"files": [f"scan_{k}.nxs" for k in range(200)], "pad": payload}})
    if i == 1:
        print("first", flush=True)
"""


def test_kill_9_of_a_session_writer_at_50_random_moments_never_blocks_start_up(tmp_path):
    path = tmp_path / "session.json"
    rng = random.Random(20261125)
    last_counter = 0
    for _ in range(50):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                                  cwd=str(PROJECT_ROOT))
        try:
            if rng.random() < 0.5:
                assert writer.stdout.readline().strip() == b"first"   # kill while it is busy saving
            time.sleep(rng.uniform(0.0, 0.08))
        finally:                                   # the writer never stops by itself: always end it
            writer.send_signal(signal.SIGKILL)
            writer.wait()
            writer.stdout.close()
        result = SessionStore(path).load()
        if last_counter:
            assert result.state is not None, result.message
        if result.state is not None:
            assert result.source in ("session", "backup") and not result.message, result.message
            last_counter = result.state["counter"]
            assert len(result.state["main_window"]["files"]) == 200
    assert last_counter > 0
    assert not list(tmp_path.glob("*.damaged-*")), "an atomic writer never leaves a torn file"
    # The real application starts with what is left.
    env_script = [sys.executable, str(PROJECT_ROOT / "main_enhanced.py"), "--single-process", "--quit-after", "0",
                  "--session-file", str(path), "--log-dir", str(tmp_path / "logs")]
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("XESTOOLS_")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run(env_script, env=env, capture_output=True, timeout=120, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr.decode()


def test_session_file_round_trip_and_bad_files_are_named(tmp_path):
    from xestools.session import SessionError, read_session_file, write_session_file

    state = {"files": [{"path": "/data/a.nxs", "kind": "rxes", "cuts": []}], "current": "/data/a.nxs"}
    written = write_session_file(tmp_path / "beamtime", state)
    assert written.name == "beamtime.xes-session" and read_session_file(written) == state
    assert written.stat().st_mode & 0o077 == 0
    assert json.loads(written.read_text())["format"] == "xestools-session"     # the autosave's JSON

    cases = {"garbage.xes-session": b"{ not json", "foreign.xes-session": b'{"format": "other", "version": 1}',
             "binary.xes-session": b"\x89HDF\r\n\x1a\n\xff\xfe", "empty-state.xes-session":
             b'{"format": "xestools-session", "version": 1, "state": {}}',
             "newer.xes-session": b'{"format": "xestools-session", "version": 99, "state": {}}'}
    expected = {"garbage": "not valid JSON", "foreign": "not an xestools session file", "binary": "not",
                "empty-state": "no window state", "newer": "newer xestools"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(SessionError) as caught:
            read_session_file(tmp_path / name)
        assert str(caught.value).startswith(name) and expected[name.split(".")[0]] in str(caught.value)
    with pytest.raises(SessionError, match="missing.xes-session cannot be read"):
        read_session_file(tmp_path / "missing.xes-session")
