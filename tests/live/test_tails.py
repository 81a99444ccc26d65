"""Incremental readers: only appended bytes / the new slice are read; mid-write states are "not yet"."""
from __future__ import annotations

import logging
import os
import time

import h5py
import numpy as np
import pytest
from conftest import WAIT_S

from xestools.live import Follower
from xestools.live import nexus as live_nexus
from xestools.live.dat import DatTail
from xestools.replay import Replayer

DAT = "ZnO_standard_280754_1.dat"


def _split(path):
    lines = open(path, "rb").read().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line[:1].isdigit())
    last = next(i for i in range(first, len(lines)) if lines[i].startswith(b"#"))
    return b"".join(lines[:first]), lines[first:last], b"".join(lines[last:])


def test_half_written_row_is_not_yet_and_read_when_complete(real_file, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="xestools")
    src = real_file(DAT)
    header, rows, _ = _split(src)
    expected = np.loadtxt(src)
    dest = tmp_path / DAT
    dest.write_bytes(header + b"".join(rows[:5]) + rows[5][:20])
    tail = DatTail(str(dest))
    assert tail.read_new() == 5
    assert tail.offset == len(header) + sum(len(r) for r in rows[:5])
    with open(dest, "ab") as handle:
        handle.write(rows[5][20:] + b"".join(rows[6:9]))
    assert tail.read_new() == 4
    assert np.array_equal(tail._rows.view(), expected[:9])
    assert any("half-written" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_only_appended_bytes_are_parsed(real_file, tmp_path):
    src = real_file(DAT)
    header, rows, footer = _split(src)
    expected = np.loadtxt(src)
    dest = tmp_path / DAT
    dest.write_bytes(header + b"".join(rows[:50]))
    tail = DatTail(str(dest))
    assert tail.read_new() == 50
    # scribble over rows already read (same length) past the first 4 KiB, which identify the file:
    # a reader that re-parsed them would fail
    data = bytearray(dest.read_bytes())
    data[4096:] = bytes(c if c in b"\t\n" else ord("x") for c in data[4096:])
    dest.write_bytes(bytes(data) + b"".join(rows[50:]) + footer)
    assert tail.read_new() == len(rows) - 50
    assert tail.complete and tail.footer[0].startswith("# Instrument")
    assert np.array_equal(tail._rows.view(), expected)


def test_a_damaged_complete_row_stops_following_with_the_reason(real_file, tmp_path):
    header, rows, _ = _split(real_file(DAT))
    dest = tmp_path / DAT
    dest.write_bytes(header + b"".join(rows[:3]) + b"1.0\tnot-a-number\t\n")
    follower = Follower(dest)
    update = follower.poll()
    assert not update.progress.following
    assert "cannot be read" in update.progress.reason and "data row 4" in update.progress.reason


def test_nexus_reads_only_the_new_slice(real_file, tmp_path, monkeypatch):
    src = real_file("279517_1.nxs")
    dest = tmp_path / "279517_1.nxs"
    Replayer(src, dest).run(stop_after=100)
    calls = []
    original = live_nexus.read_points

    def spy(dataset, start, stop, dims):
        calls.append((start, stop))
        return original(dataset, start, stop, dims)

    monkeypatch.setattr(live_nexus, "read_points", spy)
    tail = live_nexus.NexusTail(str(dest))
    assert tail.read_new() == 100
    with h5py.File(src, "r", locking=False) as source, h5py.File(dest, "a") as target:
        for name in ("entry1/instrument/medipix1/FFI1_medipix1", "entry1/instrument/medipix1/medipix1_roi_total",
                     "entry1/instrument/I1/I1", "entry1/instrument/I1/Time",
                     "entry1/instrument/XESEnergyUpper/XESEnergyUpper",
                     "entry1/instrument/bragg1WithOffset/bragg1WithOffset"):
            target[name][1:4] = source[name][1:4]           # points 74..295
    calls.clear()
    assert tail.read_new() == 296 - 100
    assert calls and min(start for start, _ in calls) == 100
    with h5py.File(src, "r", locking=False) as source:
        ffi1 = source["entry1/instrument/medipix1/FFI1_medipix1"][()].ravel()
    (model,) = tail.models(in_progress=True)
    assert np.array_equal(model.intensity.ravel()[:296], ffi1[:296]) and np.isnan(model.intensity.ravel()[296:]).all()


def test_nexus_not_yet_readable_is_retried_without_error(real_file, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="xestools")
    src = real_file("280754_1.nxs")
    dest = tmp_path / "280754_1.nxs"
    dest.write_bytes(src.read_bytes()[:3000])                # a writer that has only just started
    follower = Follower(dest, stale_after=600)
    update = follower.poll()
    assert update.progress.following and not update.changed and update.waiting_for
    dest.unlink()
    Replayer(src, dest).run(stop_after=30)
    update = follower.poll()
    assert update.changed and update.progress.measured == 30 and not update.waiting_for
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def _open_descriptors_to(path) -> list[str]:
    folder = "/proc/self/fd"
    found = []
    for fd in os.listdir(folder):
        try:
            if os.path.realpath(os.readlink(os.path.join(folder, fd))) == os.path.realpath(path):
                found.append(fd)
        except OSError:
            continue
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to list open files")
def test_reads_while_the_writer_holds_its_lock_and_keeps_nothing_open(real_file, tmp_path, replay_process):
    src = real_file("280754_1.nxs")
    dest = tmp_path / "280754_1.nxs"
    process = replay_process(src, dest, rate=10)
    follower = Follower(dest, stale_after=600)
    deadline = time.monotonic() + WAIT_S
    while follower.progress.measured == 0 and time.monotonic() < deadline:
        follower.poll()
        time.sleep(0.05)
    assert process.poll() is None, "the writer finished too early for this test"
    assert follower.progress.measured > 0
    assert _open_descriptors_to(dest) == []
    with pytest.raises(OSError):                             # the writer does hold a lock
        h5py.File(dest, "r", locking=True).close()


@pytest.mark.parametrize("swmr", [False, True])
def test_superblock_tells_a_swmr_writer_at_work(real_file, tmp_path, replay_process, swmr):
    dest = tmp_path / "x.nxs"
    process = replay_process(real_file("280772_1.nxs"), dest, *(["--swmr"] if swmr else []), rate=20)
    deadline = time.monotonic() + WAIT_S
    while not dest.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    during = live_nexus.read_superblock(str(dest))
    assert process.poll() is None, "the writer finished too early for this test"
    assert during.swmr_writing is swmr and (during.version >= 3) is swmr
    process.kill()
    process.wait(timeout=60)


def test_a_file_shorter_than_its_superblock_says_is_not_opened(real_file, tmp_path):
    dest = tmp_path / "short.nxs"
    dest.write_bytes(real_file("280754_1.nxs").read_bytes()[:3000])
    with pytest.raises(OSError, match="still being written"):
        with live_nexus.open_readonly(str(dest)) as _:
            pass
