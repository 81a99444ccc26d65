"""Synthetic I20-like scans written here: loop orders, snake scans, aborted scans, two channels,
missing FFI1, XANES refusal, the memory guard."""
from __future__ import annotations

import os
import time

import h5py
import numpy as np
import pytest

import i20_synth as synth
from xestools.io import XesFormatError, detect, load
from xestools.model import Channel


def _expected_intensity(scan, measured=None):
    return synth.truth_grid(scan, scan.roi["upper"] / scan.i1, measured)


@pytest.mark.parametrize("emission_outer", [False, True])
@pytest.mark.parametrize("snake", [False, True])
@pytest.mark.parametrize("fmt", ["nxs", "dat"])
def test_loop_order_and_snake_are_placed_on_the_grid(tmp_path, emission_outer, snake, fmt):
    scan = synth.make_rxes(5, 7, emission_outer=emission_outer, snake=snake)
    path = tmp_path / f"scan.{fmt}"
    (synth.write_nexus if fmt == "nxs" else synth.write_ascii)(path, scan)
    detection = detect(path)
    assert detection.kind == "rxes" and detection.shape == (5, 7)
    (rxes,) = load(path)
    assert rxes.shape == (5, 7)
    assert rxes.metadata["scan_order"] == ("emission-outer" if emission_outer else "incident-outer")
    assert rxes.metadata["snake"] is snake
    decimals = 6 if fmt == "nxs" else 4
    np.testing.assert_allclose(rxes.intensity, _expected_intensity(scan), rtol=1e-9)
    np.testing.assert_allclose(rxes.incident, synth.truth_grid(scan, scan.incident), atol=10.0 ** -decimals)
    np.testing.assert_allclose(rxes.emission, synth.truth_grid(scan, scan.emission["upper"]), atol=10.0 ** -decimals)
    np.testing.assert_allclose(rxes.incident_axis, scan.omega_axis, atol=0.004)
    np.testing.assert_allclose(rxes.emission_axis, scan.emission_axes["upper"], atol=0.004)
    assert rxes.mask.all() and rxes.metadata["warnings"] == []


def _stopped_long_ago(path):
    """Date the file an hour back: a scan without its footer unchanged that long has stopped (aborted)."""
    then = time.time() - 3600
    os.utime(path, (then, then))


@pytest.mark.parametrize("measured", [1, 7, 12, 20, 34])
@pytest.mark.parametrize("variant", ["nxs-zero-fill", "nxs-nan-fill", "nxs-short", "dat"])
@pytest.mark.parametrize("snake, emission_outer", [(False, False), (True, False), (True, True)])
def test_aborted_scan_masks_missing_points(tmp_path, measured, variant, snake, emission_outer):
    scan = synth.make_rxes(5, 7, snake=snake, emission_outer=emission_outer)
    path = tmp_path / ("scan.dat" if variant == "dat" else "scan.nxs")
    if variant == "dat":
        synth.write_ascii(path, scan, measured=measured)
        _stopped_long_ago(path)         # no footer: written just now, it would still be "in progress"
    else:
        synth.write_nexus(path, scan, measured=measured, short_datasets=variant == "nxs-short",
                          fill=np.nan if variant == "nxs-nan-fill" else 0.0)
    (rxes,) = load(path)
    expected = _expected_intensity(scan, measured)
    assert rxes.shape == (5, 7)
    np.testing.assert_array_equal(rxes.mask, np.isfinite(expected))
    np.testing.assert_allclose(rxes.intensity, expected, rtol=1e-9)  # NaN where expected is NaN
    assert int(rxes.mask.sum()) == measured
    assert any("aborted scan" in w and f"{measured} of 35" in w for w in rxes.metadata["warnings"])
    # unmeasured points sit on the nominal grid, so plotting coordinates stay finite
    assert np.isfinite(rxes.incident).all() and np.isfinite(rxes.emission).all()
    np.testing.assert_allclose(rxes.incident_axis, scan.omega_axis, atol=0.004)
    np.testing.assert_allclose(rxes.emission_axis, scan.emission_axes["upper"], atol=0.004)


def test_truncated_last_line_is_dropped_with_a_warning(tmp_path):
    scan = synth.make_rxes(4, 6)
    path = tmp_path / "cut.dat"
    synth.write_ascii(path, scan, measured=17, truncate_last_line=True)
    _stopped_long_ago(path)
    (rxes,) = load(path)
    assert int(rxes.mask.sum()) == 16
    assert any("truncated" in w for w in rxes.metadata["warnings"])
    assert any("aborted scan" in w for w in rxes.metadata["warnings"])


def test_aborted_1d_scan_keeps_measured_points(tmp_path):
    scan = synth.make_xes(30)
    path = tmp_path / "xes.nxs"
    synth.write_nexus(path, scan, measured=22)
    (spectrum,) = load(path)
    assert len(spectrum) == 22
    np.testing.assert_allclose(spectrum.intensity, scan.roi["lower"][:22] / scan.i1[:22], rtol=1e-12)
    assert any("22 of 30" in w for w in spectrum.metadata["warnings"])


@pytest.mark.parametrize("fmt", ["nxs", "dat"])
def test_two_channel_group_scan(tmp_path, fmt):
    scan = synth.make_xes(25, channels=("upper", "lower"))
    path = tmp_path / f"group.{fmt}"
    (synth.write_nexus if fmt == "nxs" else synth.write_ascii)(path, scan)
    detection = detect(path)
    assert detection.channels == (Channel.UPPER, Channel.LOWER) and detection.kind == "xes"
    upper, lower = load(path)
    for spectrum, name in ((upper, "upper"), (lower, "lower")):
        assert spectrum.channel.value == name
        np.testing.assert_allclose(spectrum.energy, scan.emission[name], atol=5e-5)
        np.testing.assert_allclose(spectrum.intensity, scan.roi[name] / scan.i1, rtol=1e-9)
        np.testing.assert_allclose(spectrum.uncertainty, np.sqrt(scan.roi[name]) / scan.i1, rtol=1e-9)
    assert detection.info.scan_dimensions == (25,)


def test_missing_ffi1_falls_back_to_roi_over_i1(tmp_path):
    scan = synth.make_xes(20)
    path = tmp_path / "noffi1.nxs"
    synth.write_nexus(path, scan, with_ffi1=False)
    (spectrum,) = load(path)
    assert spectrum.metadata["intensity_source"] == "roi_total/I1"
    np.testing.assert_allclose(spectrum.intensity, scan.roi["lower"] / scan.i1, rtol=1e-12)


def test_scan_order_from_command_when_labels_missing(tmp_path):
    scan = synth.make_rxes(4, 5, emission_outer=True)
    path = tmp_path / "nolabel.nxs"
    synth.write_nexus(path, scan, with_labels=False)
    (rxes,) = load(path)
    assert rxes.metadata["scan_order"] == "emission-outer"
    np.testing.assert_allclose(rxes.intensity, _expected_intensity(scan), rtol=1e-9)


@pytest.mark.parametrize("fmt", ["nxs", "dat"])
def test_xanes_scans_are_refused(tmp_path, fmt):
    scan = synth.make_xanes()
    path = tmp_path / f"xanes.{fmt}"
    (synth.write_nexus if fmt == "nxs" else synth.write_ascii)(path, scan)
    for call in (detect, load):
        with pytest.raises(XesFormatError, match="XANES") as caught:
            call(path)
        assert f"xanes.{fmt}" in str(caught.value)


def test_descending_xes_scan_is_sorted(tmp_path):
    scan = synth.make_xes(15)
    for key in ("lower",):
        scan.emission[key] = scan.emission[key][::-1].copy()
        scan.roi[key] = scan.roi[key][::-1].copy()
    path = tmp_path / "down.nxs"
    synth.write_nexus(path, scan)
    (spectrum,) = load(path)
    assert np.all(np.diff(spectrum.energy) > 0)
    np.testing.assert_allclose(spectrum.intensity, (scan.roi["lower"] / scan.i1)[::-1], rtol=1e-12)


def test_memory_guard_refuses_with_sizes(tmp_path, monkeypatch):
    import psutil

    from xestools.io import sandbox

    monkeypatch.setattr(sandbox, "enabled", lambda: False)  # the patched psutil exists in this process only

    scan = synth.make_rxes(20, 30)
    path = tmp_path / "big.nxs"
    synth.write_nexus(path, scan)

    class Tiny:
        available = 10_000

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Tiny())
    with pytest.raises(XesFormatError, match=r"needs about \d+ MB but only 0 MB"):
        load(path)
    monkeypatch.undo()
    assert load(path)[0].shape == (20, 30)


def test_nan_points_inside_a_scan_are_masked(tmp_path):
    scan = synth.make_rxes(4, 5)
    path = tmp_path / "nan.nxs"
    synth.write_nexus(path, scan)
    with h5py.File(path, "r+") as handle:
        ffi1 = handle["/entry1/instrument/medipix1/FFI1_medipix1"]
        values = ffi1[()]
        values[1, 2] = np.nan
        ffi1[...] = values
        roi = handle["/entry1/instrument/medipix1/medipix1_roi_total"]
        counts = roi[()]
        counts[2, 3] = np.nan
        roi[...] = counts
        values[2, 3] = np.nan
        ffi1[...] = values
    (rxes,) = load(path)
    flat = np.ravel_multi_index((1, 2), (4, 5))
    # FFI1 lost where ROI counts and I1 are valid: recomputed from them, and said so
    assert rxes.mask[1, 2]
    np.testing.assert_allclose(rxes.intensity[1, 2], scan.roi["upper"][flat] / scan.i1[flat], rtol=1e-12)
    assert any("recomputed" in w and "1 point" in w for w in rxes.metadata["warnings"])
    # FFI1 and ROI counts both lost: masked, and said so
    assert not rxes.mask[2, 3] and rxes.mask.sum() == 19
    assert any("1 point with non-finite intensity was masked" in w for w in rxes.metadata["warnings"])


@pytest.mark.parametrize("fmt", ["nxs", "dat"])
@pytest.mark.parametrize("snake", [False, True])
def test_two_channel_rxes_map(tmp_path, fmt, snake):
    scan = synth.make_rxes(4, 6, snake=snake, channels=("upper", "lower"))
    path = tmp_path / f"two.{fmt}"
    (synth.write_nexus if fmt == "nxs" else synth.write_ascii)(path, scan)
    assert detect(path).channels == (Channel.UPPER, Channel.LOWER)
    maps = load(path)
    assert [m.channel for m in maps] == [Channel.UPPER, Channel.LOWER]
    for rxes in maps:
        name = rxes.channel.value
        np.testing.assert_allclose(rxes.intensity, synth.truth_grid(scan, scan.roi[name] / scan.i1), rtol=1e-9)
        np.testing.assert_allclose(rxes.incident, synth.truth_grid(scan, scan.incident), atol=1e-4)
        np.testing.assert_allclose(rxes.emission_axis, scan.emission_axes[name], atol=0.004)
        np.testing.assert_allclose(rxes.incident_axis, scan.omega_axis, atol=0.004)


@pytest.mark.parametrize("emission_outer", [False, True])
def test_ascii_map_without_command_uses_the_data(tmp_path, emission_outer):
    scan = synth.make_rxes(5, 8, emission_outer=emission_outer)
    text = synth.ascii_text(scan)
    text = "\n".join(line for line in text.splitlines() if "command:" not in line) + "\n"
    path = tmp_path / "nocommand.dat"
    path.write_text(text)
    (rxes,) = load(path)
    assert rxes.shape == (5, 8)
    assert rxes.metadata["scan_order"] == ("emission-outer" if emission_outer else "incident-outer")
    np.testing.assert_allclose(rxes.intensity, _expected_intensity(scan), rtol=1e-9)


def test_ascii_xes_without_command_and_xanes_without_command(tmp_path):
    for scan, expect_xes in ((synth.make_xes(20), True), (synth.make_xanes(), False)):
        text = "\n".join(line.split("# command:")[0] for line in synth.ascii_text(scan).splitlines()) + "\n"
        path = tmp_path / "plain_header.dat"
        path.write_text(text)
        if expect_xes:
            (spectrum,) = load(path)
            assert len(spectrum) == 20 and spectrum.info.command == ""
        else:
            with pytest.raises(XesFormatError, match="XANES"):
                load(path)


def test_ascii_rows_out_of_scan_order_are_placed_by_energy(tmp_path):
    scan = synth.make_rxes(5, 8)
    order = np.random.default_rng(7).permutation(scan.i1.size)
    shuffled = synth.SynthScan(
        "rxes", scan.dims, scan.command, scan.incident[order], {"upper": scan.emission["upper"][order]},
        {"upper": scan.roi["upper"][order]}, scan.i1[order], scan.time[order], omega_axis=scan.omega_axis,
        emission_axes=scan.emission_axes, grid_index=(scan.grid_index[0][order], scan.grid_index[1][order]))
    path = tmp_path / "shuffled.dat"
    synth.write_ascii(path, shuffled)
    (rxes,) = load(path)
    np.testing.assert_allclose(rxes.intensity, _expected_intensity(scan), rtol=1e-9)
    np.testing.assert_allclose(rxes.incident_axis, scan.omega_axis, atol=0.004)
    assert any("placed by their energies" in w for w in rxes.metadata["warnings"])


def test_ascii_data_win_over_a_command_with_a_different_inner_count(tmp_path):
    scan = synth.make_rxes(4, 9)
    scan.command = scan.command.replace("[Range1 : 8628.00, 8630.40", "[Range1 : 8628.00, 8631.00")  # 11 nominal
    assert "8631.00" in scan.command
    path = tmp_path / "mismatch.dat"
    synth.write_ascii(path, scan)
    (rxes,) = load(path)
    assert rxes.shape == (4, 9) and rxes.mask.all()
    np.testing.assert_allclose(rxes.intensity, _expected_intensity(scan), rtol=1e-9)


@pytest.mark.parametrize("fmt", ["nxs", "dat"])
@pytest.mark.parametrize("snake", [False, True])
def test_descending_loops_give_ascending_axes(tmp_path, fmt, snake):
    scan = synth.make_rxes(5, 7, omega_step=-0.3, emission_step=-0.3, snake=snake)
    path = tmp_path / f"down.{fmt}"
    (synth.write_nexus if fmt == "nxs" else synth.write_ascii)(path, scan)
    (rxes,) = load(path)
    assert np.all(np.diff(rxes.incident_axis) > 0) and np.all(np.diff(rxes.emission_axis) > 0)
    np.testing.assert_allclose(rxes.incident_axis, scan.omega_axis[::-1], atol=0.004)
    np.testing.assert_allclose(rxes.intensity, _expected_intensity(scan)[::-1, ::-1], rtol=1e-9)
    # aborted variant: the missing points are the last ones measured, i.e. the lowest energies
    (synth.write_nexus if fmt == "nxs" else synth.write_ascii)(path, scan, measured=30)
    (aborted,) = load(path)
    np.testing.assert_allclose(aborted.intensity, _expected_intensity(scan, 30)[::-1, ::-1], rtol=1e-9)
    np.testing.assert_allclose(aborted.incident_axis, scan.omega_axis[::-1], atol=0.004)


def test_emission_axis_found_in_the_detector_nxdata(tmp_path):
    scan = synth.make_xes(12)
    path = tmp_path / "moved.nxs"
    synth.write_nexus(path, scan)
    with h5py.File(path, "r+") as handle:
        handle["/entry1/medipix2/XESEnergyLower"] = handle["/entry1/I1/XESEnergyLower"]
        del handle["/entry1/I1/XESEnergyLower"]
    (spectrum,) = load(path)
    np.testing.assert_allclose(spectrum.energy, scan.emission["lower"])
