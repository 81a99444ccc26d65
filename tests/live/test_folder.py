"""The folder poller lists I20 scans newest first, cheaply and without loading them."""
from __future__ import annotations

import os
import shutil

import pytest
from conftest import assert_same_models

import xestools.io.reader
from xestools.io import load
from xestools.live import FolderPoller


def _touch(path, mtime):
    path.write_bytes(b"")
    os.utime(path, ns=(mtime, mtime))


def _settle(folder):
    """Give the folder an mtime far in the past, so the poller trusts it between polls."""
    os.utime(folder, ns=(10**18, 10**18))


def test_lists_500_scans_newest_first_without_loading_them(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the poller must not load files")

    monkeypatch.setattr(xestools.io.reader, "load", refuse)
    base = 1_700_000_000 * 10**9
    for number in range(500):
        _touch(tmp_path / f"{300000 + number}_1.nxs", base + number * 10**9)
    _touch(tmp_path / "ZnO_std_300499_1.dat", base + 499 * 10**9 + 1)      # same scan, other format
    for other in ("notes.txt", "medipix1-300001.hdf", ".~300001_1.nxs.tmp", "300001_1.nxs.part", "12_1.nxs"):
        _touch(tmp_path / other, base)
    (tmp_path / "300777_1.nxs").mkdir()
    poller = FolderPoller(tmp_path)
    found = poller.poll()
    assert len(found) == 500
    assert [e.number for e in found] == list(range(300499, 299999, -1))
    assert found[0].paths == (str(tmp_path / "300499_1.nxs"), str(tmp_path / "ZnO_std_300499_1.dat"))
    assert found[0].name == "300499_1.nxs"
    _settle(tmp_path)
    assert poller.poll() == []
    _touch(tmp_path / "300900_1.dat", base + 10**12)
    new = poller.poll()
    assert [e.number for e in new] == [300900] and poller.entries[0].number == 300900
    assert len(poller.entries) == 501


def test_pattern_filters_names(tmp_path):
    for name in ("ZnO_a_400001_1.dat", "Fe_b_400002_1.dat", "400003_1.nxs"):
        (tmp_path / name).write_bytes(b"")
    assert [e.number for e in FolderPoller(tmp_path, pattern="ZnO_*").poll()] == [400001]


def test_an_entry_loads_and_follows_on_request(real_file, tmp_path):
    shutil.copy(real_file("280772_1.nxs"), tmp_path)
    (entry,) = FolderPoller(tmp_path).poll()
    assert_same_models(entry.load(), load(real_file("280772_1.nxs")))
    update = entry.follower().poll()
    assert update.progress.complete
    assert_same_models(update.models, load(real_file("280772_1.nxs")))


def test_a_missing_folder_lists_nothing_until_it_exists(tmp_path):
    folder = tmp_path / "later"
    poller = FolderPoller(folder)
    assert poller.poll() == []
    folder.mkdir()
    (folder / "500001_1.nxs").write_bytes(b"")
    assert [e.number for e in poller.poll()] == [500001]


@pytest.mark.parametrize("name", ["279517_1.nxs", "XES_ZnZSM5_air500_279192_1.dat", "ZnO_standard_280754_1.dat"])
def test_real_names_are_recognised(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    (entry,) = FolderPoller(tmp_path).poll()
    assert entry.number == int(name.rsplit("_", 2)[-2]) and entry.index == 1


def test_command_line_watches_a_folder_and_follows_the_new_scan(real_file, tmp_path):
    import signal
    import subprocess
    import sys

    from conftest import PROJECT_ROOT, WAIT_S

    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    watcher = subprocess.Popen([sys.executable, "-m", "xestools.live", str(tmp_path), "--interval", "0.05"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        shutil.copy(real_file("280772_1.nxs"), tmp_path / "280772_1.nxs")
        lines = []
        while not any("complete" in line for line in lines):
            line = watcher.stdout.readline()
            assert line, f"the watcher ended: {watcher.stderr.read()}"
            lines.append(line.strip())
        assert lines == ["new scan: 280772_1.nxs", "280772_1.nxs: complete — 201 of 201 points (all points written)"]
    finally:
        watcher.send_signal(signal.SIGINT)
        try:
            watcher.communicate(timeout=WAIT_S)
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.communicate(timeout=60)
    assert watcher.returncode == 130
