"""LiveScans without Qt: a replayed real scan followed into the workspace, in place; the watched folder."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from xestools.io import load
from xestools.workspace import Workspace
from xestools.workspace.datasets import LoadOutcome
from xestools.workspace.live import LiveScans

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 240.0


def _replay(src, dest, *options, rate=400):
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    return subprocess.Popen([sys.executable, "-m", "xestools.replay", str(src), str(dest), "--rate", str(rate),
                             *options], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _open_when_readable(live, dest):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if dest.exists():
            follower = live.follower(dest)
            update = follower.poll()
            if update.models:
                return live.add_first(follower, update)
        time.sleep(0.02)
    raise AssertionError(f"{dest}: nothing readable after {WAIT_S} s")


def _poll_to_end(live, key):
    deadline = time.monotonic() + WAIT_S
    while live.is_following(key) and time.monotonic() < deadline:
        live.poll()
        time.sleep(0.02)
    assert not live.is_following(key)


def test_followed_map_is_updated_in_place_keeping_cuts(real_file, tmp_path):
    src = real_file("XES_ZnZSM5_air500_279192_1.dat")
    dest = tmp_path / src.name
    process = _replay(src, dest, "--split-rows")
    try:
        workspace = Workspace()
        live = LiveScans(workspace)
        updated, progress = [], []
        live.data_updated.connect(updated.append)
        live.progress_changed.connect(lambda key: progress.append(live.progress_text(key)))
        dataset, error = _open_when_readable(live, dest)
        assert error == "" and dataset is workspace.current and live.is_live(dataset.key)
        document = workspace.maps.current
        ident = workspace.maps.add_cut("CEE", 8638.0, 0.9)
        _poll_to_end(live, dataset.key)
        assert process.wait(timeout=WAIT_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=60)
    assert workspace.maps.current is document and document.cuts.get(ident).position == 8638.0
    assert len(workspace.datasets) == 1 and updated and set(updated) == {dataset.key}
    assert progress[0].startswith("in progress — ") and progress[-1] == "complete — 867 of 867 points (footer written)"
    # FFI1 recomputed as FF / I1 straight from the text, independent of the readers
    lines = open(src).read().splitlines()
    columns = next(line for line in lines if line.startswith("# Energy")).lstrip("#").split()
    rows = np.loadtxt(src)
    expected = (rows[:, columns.index("FF_medipix1")] / rows[:, columns.index("I1")]).reshape(17, 51)
    assert np.array_equal(document.display_map().intensity, expected)
    assert np.array_equal(workspace.xes.maps[0].intensity, expected), "the XES tab's Ω-slice map follows too"
    finished = load(src)[0]
    assert np.array_equal(document.display_map().incident, finished.incident)


def test_closing_a_followed_dataset_stops_following(real_file, tmp_path):
    src = real_file("279517_1.nxs")
    dest = tmp_path / src.name
    process = _replay(src, dest, "--swmr", rate=50)
    try:
        workspace = Workspace()
        live = LiveScans(workspace)
        dataset, _error = _open_when_readable(live, dest)
        assert live.is_following(dataset.key)
        workspace.close(dataset.key)
        assert not live.is_following(dataset.key) and not live.is_live(dataset.key)
        live.poll()
        assert workspace.datasets == [], "a closed scan is not reopened by the next poll"
    finally:
        process.kill()
        process.communicate(timeout=60)


def test_watched_folder_lists_without_loading(real_file, tmp_path):
    for name in ("280754_1.nxs", "ZnO_standard_280754_1.dat", "280772_1.nxs", "notes.txt"):
        shutil.copy(real_file(name) if name != "notes.txt" else real_file("280772_1.nxs"), tmp_path / name)
    workspace = Workspace()
    live = LiveScans(workspace)
    events = []
    live.entries_changed.connect(lambda: events.append(len(live.entries)))
    live.watch(tmp_path, "2807*")
    new = live.poll_folder()
    assert sorted(e.number for e in new) == [280754, 280772]
    assert [e.paths for e in live.entries if e.number == 280754][0][0].endswith("280754_1.nxs")
    assert workspace.datasets == [] and events == [0, 2]
    assert live.poll_folder() == []


DAMAGED = Path(os.environ.get("XESTOOLS_DAMAGED_DATA", PROJECT_ROOT.parent / "shared" / "data" / "damaged"))


def test_first_read_of_a_growing_nexus_goes_through_the_reader_process(real_file, tmp_path, monkeypatch):
    from xestools.io import sandbox

    calls = []
    original = sandbox.read
    monkeypatch.setattr(sandbox, "read", lambda op, path, channel=None: (calls.append((op, os.path.basename(path))),
                                                                           original(op, path, channel))[1])
    src = real_file("279517_1.nxs")
    dest = tmp_path / src.name
    process = _replay(src, dest, "--swmr", rate=300)
    try:
        live = LiveScans(Workspace())
        while not dest.exists() or dest.stat().st_size < 1000:
            time.sleep(0.02)
        follower = live.follower(dest)
        update = live.first_poll(follower)
        assert calls == [("detect", src.name)]
        while not update.models:
            time.sleep(0.05)
            update = live.first_poll(follower)
        dataset, error = live.add_first(follower, update)
        _poll_to_end(live, dataset.key)
        assert process.wait(timeout=WAIT_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=60)
    assert calls == [("detect", src.name)], "only the first read goes to the reader process"
    assert error == "" and live.progress(dataset.key).complete


def test_a_file_that_hangs_libhdf5_is_refused_not_followed(tmp_path, monkeypatch):
    from xestools.io import sandbox

    source = DAMAGED / "corrupt_export_hangs_hdf5.nxs"
    if not source.is_file():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            raise AssertionError(f"damaged HDF5 sample not found at {source}")
        import pytest

        pytest.skip(f"damaged HDF5 sample not found at {source}")
    target = tmp_path / source.name
    shutil.copyfile(source, target)
    monkeypatch.setenv("XESTOOLS_READ_TIMEOUT", "1.5")
    sandbox.forget()
    try:
        workspace = Workspace()
        live = LiveScans(workspace)
        follower = live.follower(target)
        update = live.first_poll(follower)
        dataset, error = live.add_first(follower, update)
    finally:
        sandbox.shutdown()
        sandbox.forget()
    assert dataset is None and workspace.datasets == [] and not follower.following
    assert error.startswith(f"{target.name}: refused: reading {target.name} took more than 1.5 s")


def _dat_parts(path):
    lines = open(path, "rb").read().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line[:1].isdigit())
    last = next(i for i in range(first, len(lines)) if lines[i].startswith(b"#"))
    return b"".join(lines[:first]), lines[first:last], b"".join(lines[last:])


def test_a_followed_scan_replaced_on_disk_keeps_its_dataset_and_says_replaced(real_file, tmp_path):
    from xestools.replay import Replayer

    src = real_file("280772_1.nxs")
    dest = tmp_path / src.name
    Replayer(src, dest).run(stop_after=80)
    other = tmp_path / "other" / src.name
    other.parent.mkdir()
    Replayer(real_file("280754_1.nxs"), other).run()
    workspace = Workspace()
    live = LiveScans(workspace)
    follower = live.follower(dest)
    dataset, error = live.add_first(follower, live.first_poll(follower))
    before = workspace.xes.items.items[0].spectrum
    os.replace(other, dest)
    live.poll()
    progress = live.progress(dataset.key)
    assert progress.state == "replaced" and not live.is_following(dataset.key) and error == ""
    assert "was replaced" in live.progress_text(dataset.key)
    after = workspace.xes.items.items[0].spectrum
    measured = np.isfinite(before.intensity)
    assert measured.sum() == 80 and np.array_equal(after.energy, before.energy[measured])
    assert np.array_equal(after.intensity, before.intensity[measured])     # the same 80 points, no new one
    assert not after.metadata.get("in_progress"), "a replaced scan is no longer counted as being measured"
    assert workspace.datasets == [dataset] and dataset.scan_number == 280772
    live.set_follow(dataset.key, True)                 # Follow on again: the file there is another scan
    live.poll()
    assert not live.is_following(dataset.key) and live.progress(dataset.key).state == "replaced"
    assert workspace.xes.items.items[0].spectrum is after and dataset.scan_number == 280772


def test_following_a_restored_dataset_again_updates_it_in_place(real_file, tmp_path):
    src = real_file("ZnO_standard_280754_1.dat")
    header, rows, footer = _dat_parts(src)
    dest = tmp_path / src.name
    dest.write_bytes(header + b"".join(rows[:90]))
    workspace = Workspace()
    workspace.add_outcomes([LoadOutcome(str(dest), objects=load(dest))])   # as a session restore opens it
    key = workspace.current_key
    live = LiveScans(workspace)
    follower = live.follow(dest)
    assert live.is_following(key) and follower.following
    with open(dest, "ab") as handle:
        handle.write(b"".join(rows[90:]) + footer)
    _poll_to_end(live, key)
    assert live.progress(key).state == "complete" and len(workspace.datasets) == 1
    finished = load(src)[0]
    item = workspace.xes.items.items[0]
    assert np.array_equal(item.spectrum.intensity, finished.intensity)
    assert np.array_equal(workspace.dataset(key).spectra[0].energy, finished.energy)
