"""The Follower's own rules: staleness, waiting for a file, stopping, progress text, padded XES."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest
from conftest import assert_same_models

from xestools.io import load
from xestools.live import Follower, Progress, follow
from xestools.live.follower import pad_spectrum
from xestools.replay import Replayer


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("name", ["279517_1.nxs", "XES_ZnZSM5_air500_279192_1.dat", "280754_1.nxs"])
def test_an_unchanged_unfinished_scan_stops_as_aborted_like_opening_it(real_file, tmp_path, name):
    dest = tmp_path / name
    Replayer(real_file(name), dest).run(stop_after=120)
    clock = Clock()
    follower = Follower(dest, stale_after=30, clock=clock)
    update = follower.poll()
    assert update.changed and update.progress.following and update.progress.measured == 120
    assert update.models[0].metadata["in_progress"] is True
    clock.now += 29
    assert follower.poll().progress.following
    clock.now += 2
    update = follower.poll()
    assert update.changed and not update.progress.following and not update.progress.complete
    assert update.progress.reason == "unchanged for 30 s; the scan looks aborted"
    assert update.progress.text.startswith("stopped — 120 of ")
    then = time.time() - 3600                           # the file, too, unchanged for long: it has stopped
    os.utime(dest, (then, then))
    assert_same_models(update.models, load(dest))       # as File → Open shows an aborted scan
    assert not follower.poll().changed


def test_waits_for_a_file_that_does_not_exist_yet(real_file, tmp_path):
    dest = tmp_path / "280772_1.nxs"
    follower = Follower(dest)
    update = follower.poll()
    assert update.progress.following and not update.models and "does not exist" in update.waiting_for
    Replayer(real_file("280772_1.nxs"), dest).run()
    update = follower.poll()
    assert update.changed and not update.progress.following and update.progress.complete
    assert update.progress.text == "complete — 201 of 201 points (all points written)"
    assert_same_models(update.models, load(dest))


def test_a_header_only_dat_waits_for_its_first_row(real_file, tmp_path):
    src = real_file("ZnO_standard_280772_1.dat")
    dest = tmp_path / src.name
    Replayer(src, dest).run(stop_after=0)
    update = Follower(dest).poll()
    assert update.progress.following and update.models == () and update.progress.measured == 0


def test_stop_keeps_the_points_read(real_file, tmp_path):
    dest = tmp_path / "279517_1.nxs"
    Replayer(real_file("279517_1.nxs"), dest).run(stop_after=10)
    follower = Follower(dest)
    models = follower.poll().models
    follower.stop()
    update = follower.poll()
    assert not update.progress.following and update.progress.reason == "stopped by the user"
    assert update.models == models and not update.changed


def test_progress_text():
    assert Progress(5, 20, True).text == "in progress — 5 of 20 points"
    assert Progress(5, None, True).text == "in progress — 5 points"
    assert Progress(20, 20, False, "footer written").text == "complete — 20 of 20 points (footer written)"
    assert not Progress(5, None, False).complete and Progress(20, 20, False).complete


def test_pad_spectrum_puts_the_points_to_come_at_their_nominal_energies(real_file, tmp_path):
    dest = tmp_path / "280754_1.nxs"
    Replayer(real_file("280754_1.nxs"), dest).run(stop_after=7)
    (partial,) = load(dest)
    padded = pad_spectrum(partial)
    nominal = 9558.0 + 0.3 * np.arange(207)                 # the command: [Range1 : 9558.00, 9619.80, 0.30]
    assert len(padded) == 207
    assert np.array_equal(padded.energy[:7], partial.energy)
    assert np.allclose(padded.energy[7:], nominal[7:])
    assert np.array_equal(padded.intensity[:7], partial.intensity) and np.isnan(padded.intensity[7:]).all()
    assert np.isnan(padded.uncertainty[7:]).all() and np.isnan(padded.monitor[7:]).all()


def test_follow_yields_until_done_or_timed_out(real_file, tmp_path):
    dest = tmp_path / "280772_1.nxs"
    Replayer(real_file("280772_1.nxs"), dest).run(stop_after=50)
    updates = list(follow(dest, interval=0.01, timeout=0.2))
    assert updates[0].progress.measured == 50
    assert updates[-1].progress.reason == "timed out" and not updates[-1].progress.following


def test_a_closed_hdf5_file_that_is_not_a_scan_stops_at_once(tmp_path):
    import h5py

    path = tmp_path / "600001_1.nxs"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("something", data=[1.0, 2.0])
    update = Follower(path).poll()
    assert not update.progress.following
    assert update.progress.reason.startswith("cannot be read") and "not an I20 scan" in update.progress.reason


def test_looks_in_progress(real_file, tmp_path, replay_process):
    import os
    import time

    from conftest import WAIT_S

    from xestools.live import looks_in_progress

    dat = tmp_path / "ZnO_standard_280754_1.dat"
    Replayer(real_file(dat.name), dat).run(stop_after=20)
    assert looks_in_progress(dat)
    os.utime(dat, (time.time() - 1000, time.time() - 1000))
    assert not looks_in_progress(dat, stale_after=120)            # unchanged for long: aborted
    finished = tmp_path / "done.dat"
    Replayer(real_file(dat.name), finished).run()
    assert not looks_in_progress(finished)
    assert not looks_in_progress(real_file("280754_1.nxs"), stale_after=1e12)
    growing = tmp_path / "280754_1.nxs"
    process = replay_process(real_file(growing.name), growing, rate=10)
    deadline = time.monotonic() + WAIT_S
    while not growing.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert looks_in_progress(growing)
    assert process.poll() is None, "the writer finished too early for this test"


@pytest.mark.parametrize("swmr", [False, True])
def test_an_empty_scan_being_written_is_waited_for(real_file, tmp_path, replay_process, swmr):
    """Extendable datasets before the first point exist but are empty: "not yet", not an error."""
    import time

    from conftest import WAIT_S

    dest = tmp_path / "279517_1.nxs"
    process = replay_process(real_file(dest.name), dest, "--extendable", "--first-point-after", "600",
                             *(["--swmr"] if swmr else []))
    follower = Follower(dest)
    deadline = time.monotonic() + WAIT_S
    while "bragg1WithOffset" not in follower.poll().waiting_for and time.monotonic() < deadline:
        time.sleep(0.05)
    update = follower.poll()
    assert process.poll() is None, "the writer stopped too early for this test"
    assert update.progress.following and not update.models and "bragg1WithOffset" in update.waiting_for


def test_a_file_that_stays_unreadable_stops_when_stale(real_file, tmp_path):
    dest = tmp_path / "280754_1.nxs"
    dest.write_bytes(real_file(dest.name).read_bytes()[:5000])     # the writer died mid-write
    clock = Clock()
    follower = Follower(dest, stale_after=10, clock=clock)
    for _ in range(3):
        update = follower.poll()
        assert update.progress.following and "still being written" in update.waiting_for
    clock.now += 11
    update = follower.poll()
    assert not update.progress.following
    assert update.progress.reason.startswith("unchanged for 10 s; last problem:") and "still being written" in update.progress.reason


def test_scan_info_is_read_again_once_the_first_points_are_there(real_file, tmp_path):
    """Ω of the first point (the mono energy) is 0 in the file until that point is written."""
    import h5py

    src = real_file("280754_1.nxs")
    dest = tmp_path / src.name
    Replayer(src, dest).run(stop_after=0)
    clock = Clock()
    follower = Follower(dest, stale_after=30, clock=clock)
    assert not follower.poll().models
    with h5py.File(src, "r", locking=False) as source, h5py.File(dest, "a") as target:
        for name in ("entry1/instrument/medipix2/FFI1_medipix2", "entry1/instrument/medipix2/medipix2_roi_total",
                     "entry1/instrument/I1/I1", "entry1/instrument/I1/Time",
                     "entry1/instrument/XESEnergyLower/XESEnergyLower",
                     "entry1/instrument/bragg1WithOffset/bragg1WithOffset"):
            target[name][:30] = source[name][:30]
    update = follower.poll()
    assert update.progress.measured == 30
    assert update.models[0].info.mono_energy == pytest.approx(9900.0, abs=0.01)
    clock.now += 31
    update = follower.poll()
    assert not update.progress.following
    assert_same_models(update.models, load(dest))


def test_command_line_follows_a_file_to_its_end(real_file, tmp_path, capsys):
    from xestools.live.__main__ import main

    dest = tmp_path / "280772_1.nxs"
    Replayer(real_file(dest.name), dest).run()
    assert main([str(dest), "--interval", "0.01"]) == 0
    assert capsys.readouterr().out == "280772_1.nxs: complete — 201 of 201 points (all points written)\n"
    part = tmp_path / "ZnO_standard_280772_1.dat"
    Replayer(real_file(part.name), part).run(stop_after=5)
    assert main([str(part), "--interval", "0.01", "--stale-after", "0.05"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ZnO_standard_280772_1.dat: in progress — 5 of 201 points"
    assert lines[-1].startswith("ZnO_standard_280772_1.dat: stopped — 5 of 201 points (unchanged for 0.05 s")


def test_one_channel_of_a_two_channel_scan(real_file, tmp_path):
    dest = tmp_path / "279496_1.nxs"
    Replayer(real_file(dest.name), dest).run(stop_after=20)
    update = Follower(dest, channel="lower").poll()
    assert [m.channel.value for m in update.models] == ["lower"]
    assert update.progress.text == "in progress — 20 of 50 points"
    stopped = Follower(dest, channel="nonsense").poll()
    assert not stopped.progress.following and "unknown channel" in stopped.progress.reason
