"""Session files and paths: reopened from any folder, a moved data folder remapped, bounded JSON,
damaged files set aside, a history of the last sessions."""
from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from xestools import session
from xestools.io._json import json_depth, loads_bounded
from xestools.session import (SessionError, SessionHistory, SessionStore, read_session_file, remap_missing,
                              write_session_file)


def _make(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _window_state(map_path: str, scan_path: str) -> dict:
    return {"files": [{"path": map_path, "kind": "rxes", "cuts": [{"kind": "CEE", "position": 8639.0}]}],
            "current": map_path,
            "xes_panel": {"maps": [{"path": map_path}], "items": [{"kind": "scan", "source_path": scan_path,
                                                                    "input_files": {}},
                                                                   {"kind": "average", "input_files": {"7": scan_path}}]}}


def test_a_session_saved_with_paths_relative_to_the_start_folder_reopens_from_another(tmp_path, monkeypatch):
    data = _make(tmp_path / "shared" / "data" / "i20" / "279517_1.nxs")
    scan = _make(tmp_path / "shared" / "data" / "i20" / "280772_1.nxs")
    (tmp_path / "checkout").mkdir()
    monkeypatch.chdir(tmp_path / "checkout")
    store = SessionStore(tmp_path / "state" / "session.json")
    store.save({"main_window": _window_state("../shared/data/i20/279517_1.nxs", "../shared/data/i20/280772_1.nxs")})
    monkeypatch.chdir(tmp_path / "state")                       # started somewhere else
    state = store.load().state["main_window"]
    assert state["files"][0]["path"] == state["current"] == state["xes_panel"]["maps"][0]["path"] == str(data)
    assert state["xes_panel"]["items"][0]["source_path"] == str(scan)
    assert state["xes_panel"]["items"][1]["input_files"] == {"7": str(scan)}
    assert state["files"][0]["cuts"] == [{"kind": "CEE", "position": 8639.0}]
    assert session.missing_paths(state) == []


def test_a_session_file_copied_with_its_data_finds_them_beside_it(tmp_path, monkeypatch):
    beamtime = tmp_path / "mnt" / "beamtime"
    _make(beamtime / "raw" / "279517_1.nxs")
    _make(beamtime / "raw" / "280772_1.nxs")
    monkeypatch.chdir(tmp_path)
    written = write_session_file(beamtime / "ZnO", _window_state(str(beamtime / "raw" / "279517_1.nxs"),
                                                                 "mnt/beamtime/raw/280772_1.nxs"))
    document = json.loads(written.read_text())
    assert all(os.path.isabs(p) for p in session.paths_in(document["state"]))
    assert document["relative_paths"][str(beamtime / "raw" / "279517_1.nxs")] == os.path.join("raw", "279517_1.nxs")
    laptop = tmp_path / "laptop" / "copy"
    shutil.copytree(beamtime, laptop)
    shutil.rmtree(tmp_path / "mnt")
    monkeypatch.chdir(tmp_path / "laptop")
    state = read_session_file(laptop / "ZnO.xes-session")
    assert state["files"][0]["path"] == str(laptop / "raw" / "279517_1.nxs")
    assert state["xes_panel"]["items"][0]["source_path"] == str(laptop / "raw" / "280772_1.nxs")


def test_an_absolute_path_that_exists_wins_and_a_missing_one_stays_absolute(tmp_path, monkeypatch):
    real = _make(tmp_path / "data" / "a.nxs")
    _make(tmp_path / "sessions" / "data" / "a.nxs")       # a decoy beside the session file
    monkeypatch.chdir(tmp_path)
    written = write_session_file(tmp_path / "sessions" / "s", {"files": [{"path": str(real)}, {"path": "gone.nxs"}]})
    monkeypatch.chdir(tmp_path / "sessions")
    state = read_session_file(written)
    assert [entry["path"] for entry in state["files"]] == [str(real), str(tmp_path / "gone.nxs")]


def test_old_session_files_without_relative_paths_still_open(tmp_path, monkeypatch):
    _make(tmp_path / "work" / "data" / "a.nxs")
    _make(tmp_path / "sessions" / "b.nxs")
    old = {"format": "xestools-session", "version": 1, "saved_utc": "2026-11-01T10:00:00+00:00", "app_version": "0.1.0",
           "state": {"main_window": {"files": [{"path": "data/a.nxs"}, {"path": "b.nxs"}, {"path": "c.nxs"}]}}}
    path = tmp_path / "sessions" / "old.xes-session"
    path.write_text(json.dumps(old))
    monkeypatch.chdir(tmp_path / "work")
    files = [entry["path"] for entry in read_session_file(path)["files"]]
    assert files == [str(tmp_path / "work" / "data" / "a.nxs"), str(tmp_path / "sessions" / "b.nxs"),
                     str(tmp_path / "work" / "c.nxs")]


def test_a_moved_data_folder_is_remapped_from_any_level_the_user_points_at(tmp_path):
    old = [f"/mnt/beamline/2026/run3/{name}" for name in ("maps/279517_1.nxs", "xes/280772_1.nxs", "xes/280754_1.nxs")]
    new_root = tmp_path / "copy" / "run3"
    for name in ("maps/279517_1.nxs", "xes/280772_1.nxs"):
        _make(new_root / name)
    expected = {old[0]: str(new_root / "maps" / "279517_1.nxs"), old[1]: str(new_root / "xes" / "280772_1.nxs")}
    assert remap_missing(old, new_root) == expected                    # the run folder itself
    _make(tmp_path / "flat" / "280772_1.nxs")
    assert remap_missing(old[1:2], tmp_path / "flat") == {old[1]: str(tmp_path / "flat" / "280772_1.nxs")}
    assert remap_missing(old, tmp_path / "copy") == expected           # the folder that holds run3
    assert remap_missing(old, tmp_path / "flat") == {old[1]: str(tmp_path / "flat" / "280772_1.nxs")}
    assert remap_missing(old, tmp_path / "empty") == {}
    assert remap_missing([], tmp_path) == {}


def test_nested_or_oversized_json_is_a_clear_error_not_a_recursion_error(tmp_path):
    assert json_depth('{"a": [1, "[[[[", {"b": []}]}') == 4
    with pytest.raises(ValueError, match="nested 100000 levels"):
        loads_bounded("[" * 100000 + "]" * 100000, max_bytes=10**6)
    with pytest.raises(ValueError, match="MB"):
        loads_bounded("[]" * 100, max_bytes=10)
    path = tmp_path / "deep.xes-session"
    path.write_text('{"format": "xestools-session", "version": 1, "state": ' + "[" * 50000 + "]" * 50000 + "}")
    with pytest.raises(SessionError, match="deep.xes-session cannot be opened as a session: .*nested"):
        read_session_file(path)


def test_a_nested_autosave_is_set_aside_and_the_backup_restored(tmp_path):
    store = SessionStore(tmp_path / "session.json")
    store.save({"n": 1})
    store.save({"n": 2})
    store.path.write_text('{"format": "xestools-session", "state": ' + "{\"a\":" * 20000 + "1" + "}" * 20001)
    result = store.load()
    aside = list(tmp_path.glob("session.json.damaged-*"))
    assert result.state == {"n": 1} and len(aside) == 1
    assert f"kept as {aside[0].name}" in result.message
    store.save({"n": 3})                     # saving over a damaged file never raises either
    assert store.load().state == {"n": 3}


def test_history_keeps_the_last_ten_sessions_private_with_time_and_file_count(tmp_path, monkeypatch):
    history = SessionHistory(tmp_path / "history", keep=10)
    names = iter(f"session-20261207T1{index:05d}-1.json" for index in range(100))
    for count in range(1, 13):
        history.run_file = history.folder / next(names)            # one entry per run
        history.record({"main_window": {"files": [{"path": f"/data/{k}.nxs"} for k in range(count)]}})
    assert history.record({"main_window": {"files": []}}) is None, "an empty workspace is no entry"
    entries = history.entries()
    assert [entry.files for entry in entries] == list(range(12, 2, -1))
    assert all(entry.saved_utc.startswith("20") for entry in entries)
    assert stat.S_IMODE(history.folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(entry.path.stat().st_mode) == 0o600 for entry in entries)


def test_the_session_not_restored_goes_into_the_history_once(tmp_path):
    store = SessionStore(tmp_path / "session.json")
    store.save({"main_window": {"files": [{"path": "/data/a.nxs"}]}})          # written by an older version
    store.history = SessionHistory(tmp_path / "history")
    kept = store.keep_unrestored()
    assert kept.name.endswith("-kept.json") and store.history.entries()[0].files == 1
    assert store.keep_unrestored() is None, "already in the history"
    store.path.write_text("[" * 5000)
    message = store.keep_unrestored()
    assert "cannot be used" in message and "kept as session.json.damaged-" in message
    assert not store.path.exists() and len(store.history.entries()) == 1


def test_a_fifo_as_the_session_file_is_set_aside_without_opening_it(tmp_path):
    """Opening a FIFO blocks until a writer comes: the session is started empty and the FIFO moved aside."""
    import subprocess
    import sys

    fifo = tmp_path / "session.json"
    os.mkfifo(fifo)
    code = ("import sys; from xestools.session import SessionStore\n"
            "result = SessionStore(sys.argv[1]).load()\nprint(result.source, '|', result.message)\n")
    done = subprocess.run([sys.executable, "-c", code, str(fifo)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("none |") and "not a regular file" in done.stdout
    assert not fifo.exists() and [p for p in tmp_path.iterdir() if p.name.startswith("session.json.not-a-file")]
