"""Issue 17: after "Restart and restore" the watched folder was no longer watched and the followed scans
stayed static. The session keeps both, and a restored window watches and follows them again: a scan
still being written (a replayer in a child process) goes on growing in the restored window."""
from __future__ import annotations

import functools
import json
import os
import time

import numpy as np
import pytest

from xestools.live import Follower

SCAN = "ZnO_standard_280754_1.dat"


@pytest.fixture
def replay(replay_process):
    return functools.partial(replay_process, rate=15)


def points(window, key) -> int:
    dataset = window.workspace.dataset(key)
    return int(np.count_nonzero(np.isfinite(dataset.spectra[0].intensity))) if dataset is not None else 0


def test_watched_folder_and_followed_scan_are_resumed_by_a_restore(make_window, qtbot, monkeypatch, real_file,
                                                                   tmp_path, replay):
    monkeypatch.setenv("XESTOOLS_POLL_INTERVAL", "0.05")
    folder = tmp_path / "visit"
    folder.mkdir()
    dest = folder / SCAN
    replay(real_file(SCAN), dest)
    deadline = time.monotonic() + 120
    while not (dest.exists() and Follower(dest).poll().progress.measured >= 3):
        assert time.monotonic() < deadline, "the replayer wrote no points"
        time.sleep(0.05)
    window = make_window()
    window.watch_folder(str(folder))
    key = os.path.abspath(dest)
    qtbot.waitUntil(lambda: window.live.live.is_following(key), timeout=60000)
    state = json.loads(json.dumps(window.session_state()))
    assert state["live"] == {"watched": {"folder": str(folder), "pattern": None}, "followed": [str(dest)]}
    window.shutdown()                                  # the crash; then Restart and restore:

    restored = make_window()
    restored.restore_session(state)
    qtbot.waitUntil(lambda: restored.workspace.dataset(key) is not None and not restored.is_loading, timeout=60000)
    live = restored.live.live
    assert live.poller is not None and live.poller.folder == str(folder) and [e.path for e in live.entries] == [str(dest)]
    assert live.is_following(key) and restored.live.timer.isActive()
    assert len(restored.workspace.datasets) == 1            # the scan in the folder was not opened twice
    start = points(restored, key)
    qtbot.waitUntil(lambda: points(restored, key) > start + 3, timeout=60000)   # it goes on growing
    assert restored.live.bar.follow_box.isChecked()
