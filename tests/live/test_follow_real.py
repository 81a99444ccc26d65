"""Follow real I20 scans replayed by a child process while the follower polls (no timing asserts)."""
from __future__ import annotations

import logging

import h5py
import numpy as np
import pytest
from conftest import assert_same_models, follow_to_end

from xestools.io import load
from xestools.live import Follower

MAP_NXS = "279517_1.nxs"
MAP_DAT = "XES_ZnZSM5_air500_279192_1.dat"


def _no_warnings(caplog):
    loud = [r for r in caplog.records if r.name.startswith("xestools") and r.levelno >= logging.WARNING]
    assert not loud, [r.getMessage() for r in loud]


def _check_partial_map(update, flat_expected, n_grid):
    """The first N points of the scan are the file's, the rest NaN and masked; the dataset says N of M."""
    (model,) = update.models
    n = update.progress.measured
    assert model.shape == flat_expected.shape and model.intensity.size == n_grid
    assert np.array_equal(model.intensity.ravel()[:n], flat_expected.ravel()[:n])
    assert np.isnan(model.intensity.ravel()[n:]).all()
    assert model.mask.ravel()[:n].all() and not model.mask.ravel()[n:].any()
    if update.progress.following:
        assert f"in progress — {n} of {n_grid} points" in model.metadata["warnings"]
        assert update.progress.text == f"in progress — {n} of {n_grid} points"


@pytest.mark.parametrize("options", [[], ["--swmr"], ["--extendable"], ["--swmr", "--extendable"]],
                         ids=["filled", "swmr", "extendable", "swmr-extendable"])
def test_follow_replayed_nexus_map_to_the_end(real_file, tmp_path, replay_process, caplog, options):
    caplog.set_level(logging.DEBUG, logger="xestools")
    src = real_file(MAP_NXS)
    with h5py.File(src, "r", locking=False) as handle:
        ffi1 = handle["entry1/instrument/medipix1/FFI1_medipix1"][()]
    dest = tmp_path / MAP_NXS
    process = replay_process(src, dest, *options, rate=400)
    follower = Follower(dest, stale_after=120)
    seen = []
    updates = follow_to_end(follower, process, lambda u: (seen.append(u.progress.measured),
                                                          _check_partial_map(u, ffi1, ffi1.size)))
    assert updates >= 2 and seen == sorted(seen)
    assert follower.progress.complete and follower.progress.reason == "all points written"
    assert np.array_equal(follower.models[0].intensity, ffi1)
    assert_same_models(follower.models, load(src))
    _no_warnings(caplog)


def test_follow_replayed_ascii_map_with_half_written_rows(real_file, tmp_path, replay_process, caplog):
    caplog.set_level(logging.DEBUG, logger="xestools")
    src = real_file(MAP_DAT)
    rows = np.loadtxt(src)                               # '#' header and footer are comments
    columns = next(line for line in open(src).read().splitlines() if line.startswith("# Energy")).lstrip("#").split()
    ff, i1 = rows[:, columns.index("FF_medipix1")], rows[:, columns.index("I1")]
    expected = (ff / i1).reshape(17, 51)
    dest = tmp_path / MAP_DAT
    process = replay_process(src, dest, "--split-rows", rate=300)
    follower = Follower(dest, stale_after=120)
    updates = follow_to_end(follower, process, lambda u: _check_partial_map(u, expected, expected.size))
    assert updates >= 2
    assert follower.progress.reason == "footer written"
    assert np.array_equal(follower.models[0].intensity, expected)
    assert_same_models(follower.models, load(src))
    _no_warnings(caplog)


def _scan_order_xes(path):
    """Per channel, (ω, FF/I1) in scan order, read straight from the file with h5py or numpy."""
    if str(path).endswith(".dat"):
        lines = open(path).read().splitlines()
        columns = next(line for line in lines if line.startswith("# Energy")).lstrip("#").split()
        rows = np.loadtxt(path)
        column = {name: rows[:, index] for index, name in enumerate(columns)}
        return [(column["XESEnergyLower"], column["FF_medipix2"] / column["I1"])]
    found = []
    with h5py.File(path, "r", locking=False) as handle:
        for side, detector in (("Upper", "medipix1"), ("Lower", "medipix2")):
            if f"entry1/I1/XESEnergy{side}" in handle:
                found.append((handle[f"entry1/I1/XESEnergy{side}"][()],
                              handle[f"entry1/instrument/{detector}/FFI1_{detector}"][()]))
    return found


@pytest.mark.parametrize("name, options", [("280754_1.nxs", ["--swmr"]), ("279496_1.nxs", []),
                                           ("ZnO_standard_280754_1.dat", ["--split-rows"])])
def test_follow_replayed_xes_to_the_end(real_file, tmp_path, replay_process, caplog, name, options):
    caplog.set_level(logging.DEBUG, logger="xestools")
    src = real_file(name)
    independent = _scan_order_xes(src)
    dest = tmp_path / name
    process = replay_process(src, dest, *options, rate=100)

    def check(update):
        n = update.progress.measured
        assert len(update.models) == len(independent)
        for spectrum, (energy, intensity) in zip(update.models, independent):
            if update.progress.following:
                # the whole ω range from the start; the points to come are NaN
                assert len(spectrum) == energy.size
            measured = np.isfinite(spectrum.intensity)
            order = np.argsort(energy[:n], kind="stable")
            assert np.array_equal(spectrum.energy[measured], energy[:n][order])
            assert np.array_equal(spectrum.intensity[measured], intensity[:n][order])

    follower = Follower(dest, stale_after=120)
    assert follow_to_end(follower, process, check) >= 2
    assert_same_models(follower.models, load(src))
    _no_warnings(caplog)


@pytest.mark.parametrize("name", ["990101_1.nxs", "990102_1.nxs", "ZnO_synthetic_990101_1.dat"])
def test_follow_a_sample_replayed_in_a_thread(samples_dir, tmp_path, caplog, name):
    import threading

    from xestools.replay import Replayer

    caplog.set_level(logging.DEBUG, logger="xestools")
    src = samples_dir / name
    replayer = Replayer(src, tmp_path / name, rate=1000, swmr=name.endswith(".nxs"), extendable=True)
    writer = threading.Thread(target=replayer.run)
    writer.start()
    try:
        follower = Follower(tmp_path / name, stale_after=120)
        follow_to_end(follower)
    finally:
        writer.join(timeout=240)
    assert not writer.is_alive() and replayer.written == replayer.total
    assert_same_models(follower.models, load(src))
    _no_warnings(caplog)
