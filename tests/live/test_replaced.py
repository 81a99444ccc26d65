"""A followed scan that is replaced, truncated, deleted or renamed stops being followed; what was read stays.

Scan 280772 is being written (``python -m xestools.replay`` in a child process) when another real scan,
280754, is put in its place with ``os.replace``: nothing of 280754 may enter the dataset.
"""
from __future__ import annotations

import os
import time

import h5py
import numpy as np
import pytest
from conftest import WAIT_S

from xestools.live import Follower
from xestools.replay import Replayer

PAIRS = [("280772_1.nxs", "280754_1.nxs"), ("ZnO_standard_280772_1.dat", "ZnO_standard_280754_1.dat")]


def _scan_order(path):
    """(ω, FF/I1) of the lower spectrometer in scan order, read straight from the file (numpy / h5py)."""
    if str(path).endswith(".dat"):
        lines = open(path).read().splitlines()
        columns = next(line for line in lines if line.startswith("# Energy")).lstrip("#").split()
        rows = np.loadtxt(path)
        return rows[:, columns.index("XESEnergyLower")], rows[:, columns.index("FF_medipix2")] / rows[:, columns.index("I1")]
    with h5py.File(path, "r", locking=False) as handle:
        return handle["entry1/I1/XESEnergyLower"][()], handle["entry1/instrument/medipix2/FFI1_medipix2"][()]


def _poll_until(follower, condition):
    deadline = time.monotonic() + WAIT_S
    while not condition() and time.monotonic() < deadline:
        follower.poll()
        time.sleep(0.02)
    assert condition(), follower.progress


def _assert_prefix_of(model, src, n):
    """The model holds exactly the first ``n`` points of ``src`` (the rest NaN)."""
    energy, intensity = _scan_order(src)
    measured = np.isfinite(model.intensity)
    order = np.argsort(energy[:n], kind="stable")
    assert measured.sum() == n
    assert np.array_equal(model.energy[measured], energy[:n][order])
    assert np.array_equal(model.intensity[measured], intensity[:n][order])


@pytest.mark.parametrize("first, second", PAIRS, ids=["nxs", "dat"])
def test_a_followed_scan_replaced_on_disk_is_not_spliced(real_file, tmp_path, replay_process, first, second):
    src = real_file(first)
    dest = tmp_path / first
    process = replay_process(src, dest, rate=40)
    other = tmp_path / "other" / first
    other.parent.mkdir()
    Replayer(real_file(second), other).run()          # the finished scan 280754, under the followed name
    follower = Follower(dest, stale_after=120)
    _poll_until(follower, lambda: follower.progress.measured >= 40)
    os.replace(other, dest)
    polls = 0
    while follower.following and polls < 2:
        follower.poll()
        polls += 1
    progress = follower.progress
    assert not follower.following and progress.state == "replaced", progress
    assert "was replaced" in progress.reason and progress.text.startswith("replaced — ")
    n = progress.measured
    assert 40 <= n < 201
    (model,) = follower.models
    assert model.info.scan_number == 280772 and not model.metadata.get("in_progress")
    _assert_prefix_of(model, src, n)
    follower.poll()                                     # stopped: nothing more is read
    assert follower.progress.measured == n and follower.models[0] is model
    process.communicate(timeout=WAIT_S)


@pytest.mark.parametrize("how", ["deleted", "renamed"])
@pytest.mark.parametrize("name", [PAIRS[0][0], PAIRS[1][0]], ids=["nxs", "dat"])
def test_a_followed_scan_deleted_or_renamed_says_so_within_two_polls(real_file, tmp_path, name, how):
    dest = tmp_path / name
    Replayer(real_file(name), dest).run(stop_after=60)
    follower = Follower(dest, stale_after=3600)
    follower.poll()
    assert follower.following and follower.progress.measured == 60
    if how == "deleted":
        os.unlink(dest)
    else:
        os.rename(dest, tmp_path / ("moved_" + name))
    follower.poll()
    follower.poll()
    assert not follower.following and follower.progress.state == "missing"
    assert "deleted or renamed" in follower.progress.reason and follower.progress.measured == 60
    _assert_prefix_of(follower.models[0], real_file(name), 60)


def test_a_followed_dat_truncated_or_rewritten_in_place_is_replaced(real_file, tmp_path):
    name = PAIRS[1][0]
    dest = tmp_path / name
    Replayer(real_file(name), dest).run(stop_after=60)
    follower = Follower(dest, stale_after=3600)
    follower.poll()
    data = dest.read_bytes()
    with open(dest, "r+b") as handle:                  # same inode, same size, another date in the header
        handle.write(data.replace(b"Mon, 13 Oct", b"Tue, 14 Oct", 1)[:200])
    follower.poll()
    assert follower.progress.state == "replaced" and "first bytes changed" in follower.progress.reason

    follower = Follower(dest, stale_after=3600)
    follower.poll()
    with open(dest, "r+b") as handle:
        handle.truncate(len(data) // 2)
    follower.poll()
    assert follower.progress.state == "replaced" and "shorter" in follower.progress.reason


@pytest.mark.parametrize("name", ["scan_1.dat", "scan_1.nxs"])
def test_a_fifo_is_not_followed_and_nothing_blocks(tmp_path, name):
    import threading

    fifo = tmp_path / name
    os.mkfifo(fifo)
    updates: list = []
    thread = threading.Thread(target=lambda: updates.extend(Follower(fifo).poll() for _ in range(2)), daemon=True)
    thread.start()
    thread.join(WAIT_S)
    if thread.is_alive():
        with open(fifo, "wb"):   # let the blocked open return, so the thread ends
            pass
        pytest.fail("following a FIFO blocked")
    assert updates[-1].progress.state == "stopped"
    assert "not a regular file" in updates[-1].progress.reason
