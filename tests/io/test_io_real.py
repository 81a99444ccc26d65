"""Every real I20 file loads with the right kind, shape, channels, axis ranges and numbers.

Expected numbers are computed here straight from h5py / numpy.loadtxt, not by the reader.
"""
from __future__ import annotations

import hashlib
import shutil

import h5py
import numpy as np
import pytest

from xestools.io import XesFormatError, detect, load
from xestools.model import Channel, RXESMap, Spectrum

# name: (format, kind, shape, channels, {channel: (ω first, ω last)}, (Ω first, Ω last) for maps)
TABLE = {
    "279517_1.nxs": ("i20-nexus", "rxes", (17, 74), (Channel.UPPER,), {Channel.UPPER: (8628.0, 8649.89)}, (9658.0, 9662.8)),
    "XES_ZnZSM5_air500_279192_1.dat": ("i20-ascii", "rxes", (17, 51), (Channel.UPPER,),
                                       {Channel.UPPER: (8632.0, 8646.99)}, (9658.0, 9662.8)),
    "279496_1.nxs": ("i20-nexus", "xes", (50,), (Channel.UPPER, Channel.LOWER),
                     {Channel.UPPER: (8634.0, 8643.8), Channel.LOWER: (9564.0, 9578.69)}, None),
    "280754_1.nxs": ("i20-nexus", "xes", (207,), (Channel.LOWER,), {Channel.LOWER: (9558.0, 9619.79)}, None),
    "ZnO_standard_280754_1.dat": ("i20-ascii", "xes", (207,), (Channel.LOWER,), {Channel.LOWER: (9558.0, 9619.79)}, None),
    "280772_1.nxs": ("i20-nexus", "xes", (201,), (Channel.LOWER,), {Channel.LOWER: (9620.0, 9679.99)}, None),
    "ZnO_standard_280772_1.dat": ("i20-ascii", "xes", (201,), (Channel.LOWER,), {Channel.LOWER: (9620.0, 9679.99)}, None),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_real_file_kind_shape_channels_ranges(real_file, name):
    fmt, kind, shape, channels, emission_ranges, incident_range = TABLE[name]
    path = real_file(name)
    detection = detect(path)
    assert (detection.format, detection.kind, detection.shape, detection.channels) == (fmt, kind, shape, channels)
    objects = load(path)
    assert [obj.channel for obj in objects] == list(channels)
    for obj in objects:
        lo, hi = emission_ranges[obj.channel]
        if kind == "rxes":
            assert isinstance(obj, RXESMap) and obj.shape == shape
            assert obj.emission_axis[0] == pytest.approx(lo, abs=0.02)
            assert obj.emission_axis[-1] == pytest.approx(hi, abs=0.02)
            assert obj.incident_axis[0] == pytest.approx(incident_range[0], abs=0.02)
            assert obj.incident_axis[-1] == pytest.approx(incident_range[1], abs=0.02)
            assert np.all(np.diff(obj.incident_axis) > 0.25) and np.all(np.diff(obj.emission_axis) > 0.25)
            assert obj.mask.all() and obj.metadata["scan_order"] == "incident-outer" and not obj.metadata["snake"]
        else:
            assert isinstance(obj, Spectrum) and len(obj) == shape[0] and obj.axis == "emission"
            assert obj.energy[0] == pytest.approx(lo, abs=0.005) and obj.energy[-1] == pytest.approx(hi, abs=0.005)
            assert obj.metadata["incident_energy"] == pytest.approx(9900.0, abs=0.01)
        assert obj.metadata["intensity_source"] == "FFI1"
        assert obj.metadata["warnings"] == []
        assert obj.uncertainty is not None and obj.monitor is not None
        assert obj.info is not None and obj.info.source_format == fmt


def test_channel_selection(real_file):
    path = real_file("279496_1.nxs")
    (lower,) = load(path, channel="lower")
    assert lower.channel is Channel.LOWER
    (upper,) = load(path, channel=Channel.UPPER)
    assert upper.channel is Channel.UPPER
    with pytest.raises(XesFormatError, match="no upper channel"):
        load(real_file("280754_1.nxs"), channel="upper")


@pytest.mark.parametrize("name", ["279496_1.nxs", "280754_1.nxs", "280772_1.nxs"])
def test_nexus_xes_numbers(real_file, name):
    path = real_file(name)
    with h5py.File(path, "r") as handle:
        expected = {}
        for channel in (Channel.UPPER, Channel.LOWER):
            group = f"/entry1/instrument/{channel.detector}"
            if group not in handle:
                continue
            roi = handle[f"{group}/{channel.detector}_roi_total"][()]
            i1 = handle["/entry1/I1/I1"][()]
            expected[channel] = (handle[f"/entry1/I1/{channel.energy_name}"][()], roi / i1, np.sqrt(roi) / i1, i1)
    for spectrum in load(path):
        energy, intensity, sigma, i1 = expected[spectrum.channel]
        np.testing.assert_array_equal(spectrum.energy, energy)
        np.testing.assert_allclose(spectrum.intensity, intensity, rtol=1e-12)
        np.testing.assert_allclose(spectrum.uncertainty, sigma, rtol=1e-12)
        np.testing.assert_array_equal(spectrum.monitor, i1)


def test_nexus_map_numbers(real_file):
    path = real_file("279517_1.nxs")
    with h5py.File(path, "r") as handle:
        omega = handle["/entry1/I1/bragg1WithOffset"][()]
        emission = handle["/entry1/I1/XESEnergyUpper"][()]
        roi = handle["/entry1/instrument/medipix1/medipix1_roi_total"][()]
        i1 = handle["/entry1/I1/I1"][()]
    (rxes,) = load(path)
    np.testing.assert_array_equal(rxes.incident, omega)
    np.testing.assert_array_equal(rxes.emission, emission)
    np.testing.assert_allclose(rxes.intensity, roi / i1, rtol=1e-12)
    np.testing.assert_allclose(rxes.uncertainty, np.sqrt(roi) / i1, rtol=1e-12)
    np.testing.assert_allclose(rxes.incident_axis, omega.mean(axis=1))
    np.testing.assert_allclose(rxes.emission_axis, emission.mean(axis=0))
    np.testing.assert_allclose(rxes.transfer, omega - emission)


def test_ascii_map_numbers(real_file):
    path = real_file("XES_ZnZSM5_air500_279192_1.dat")
    table = np.loadtxt(path)
    assert len(np.unique(table[:, 0])) == 87  # the jittered Ω read-backs of the README
    (rxes,) = load(path)
    np.testing.assert_array_equal(rxes.incident, table[:, 0].reshape(17, 51))
    np.testing.assert_array_equal(rxes.emission, table[:, 1].reshape(17, 51))
    np.testing.assert_allclose(rxes.intensity, (table[:, 4] / table[:, 3]).reshape(17, 51), rtol=1e-12)
    np.testing.assert_allclose(rxes.intensity, table[:, 5].reshape(17, 51), atol=5e-7)  # FFI1 printed to 6 decimals
    np.testing.assert_allclose(rxes.incident_axis, 9658.0 + 0.3 * np.arange(17), atol=0.005)


@pytest.mark.parametrize("scan", ["280754", "280772"])
def test_dat_and_nxs_of_the_same_scan_agree(real_file, scan):
    (from_nxs,) = load(real_file(f"{scan}_1.nxs"))
    (from_dat,) = load(real_file(f"ZnO_standard_{scan}_1.dat"))
    np.testing.assert_allclose(from_dat.energy, from_nxs.energy, atol=5e-5)   # ASCII prints 4 decimals
    np.testing.assert_allclose(from_dat.monitor, from_nxs.monitor, atol=5e-3)
    np.testing.assert_allclose(from_dat.intensity, from_nxs.intensity, rtol=1e-9)
    np.testing.assert_allclose(from_dat.uncertainty, from_nxs.uncertainty, rtol=1e-9)
    assert from_dat.info.command == from_nxs.info.command
    assert from_dat.info.sample_name == from_nxs.info.sample_name == "ZnO_standard"
    assert from_dat.info.scan_number == from_nxs.info.scan_number == int(scan)
    assert from_dat.info.experiment_id == from_nxs.info.experiment_id == "sp41335-1"


def test_scan_info_nexus(real_file):
    info = detect(real_file("279517_1.nxs")).info
    assert info.scan_number == 279517
    assert info.sample_name == "XES_silicalite1_air500_at400"
    assert info.start_time.startswith("2025-10-10T08:43") and info.end_time.startswith("2025-10-10T09:36")
    assert info.experiment_id == "sp41335-1"
    assert info.command.startswith("scan bragg1WithOffset 9658.0 9663.0 0.3 XESEnergyUpper")
    assert info.scan_dimensions == (17, 74)
    assert info.mono_energy == pytest.approx(9658.0, abs=0.01)
    assert info.counting_time == pytest.approx(1.0)
    assert info.monitor == "I1"


def test_scan_info_ascii(real_file):
    info = detect(real_file("ZnO_standard_280754_1.dat")).info
    assert info.sample_name == "ZnO_standard"
    # the command is appended to the "Sample description:" line in 1D files
    assert info.command.startswith("scan XESEnergyLower [Range1 : 9558.00, 9619.80, 0.30]")
    assert info.mono_energy == pytest.approx(9899.999)
    assert dict(info.spectrometer_crystals) == {"upper": "Si(642)", "lower": "Ge(555)"}
    assert dict(info.rowland_radius_mm) == {"upper": 995.0, "lower": 992.0}
    assert info.start_time == "Mon, 13 Oct 2025 02:13:24 BST"
    assert info.end_time == "Mon, 13 Oct 2025 02:20:46 BST"
    assert info.scan_dimensions == (207,)
    map_info = detect(real_file("XES_ZnZSM5_air500_279192_1.dat")).info
    assert map_info.sample_name == "XES_ZnZSM5_air500" and map_info.scan_number == 279192
    assert map_info.command.startswith("scan bragg1WithOffset 9658.0 9663.0 0.3")


def test_external_detector_links_are_never_followed(real_file, tmp_path):
    """A copy next to a bogus medipix1-279517.hdf loads the same: the link target is never opened."""
    copy = tmp_path / "279517_1.nxs"
    shutil.copyfile(real_file("279517_1.nxs"), copy)
    (tmp_path / "medipix1-279517.hdf").write_bytes(b"not an hdf5 file" * 100)
    with h5py.File(copy, "r") as handle:
        link = handle["/entry1/instrument/medipix1"].get("data", getlink=True)
        assert isinstance(link, h5py.ExternalLink)
    (rxes,) = load(copy)
    (original,) = load(real_file("279517_1.nxs"))
    np.testing.assert_array_equal(rxes.intensity, original.intensity)


@pytest.mark.parametrize("name", ["ZnO_standard_280754_1.dat", "XES_ZnZSM5_air500_279192_1.dat"])
def test_windows_line_endings_and_byte_order_mark(real_file, tmp_path, name):
    text = real_file(name).read_text(encoding="utf-8")
    copy = tmp_path / name
    copy.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    (original,) = load(real_file(name))
    (converted,) = load(copy)
    np.testing.assert_array_equal(converted.intensity, original.intensity)
    assert converted.info == original.info
    # the same scan, but another file: only the file's fingerprint differs
    assert {**converted.metadata, "sha256": ""} == {**original.metadata, "sha256": ""}
    assert converted.metadata["sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()


def test_io_imports_neither_qt_nor_heavy_libraries():
    import subprocess
    import sys

    code = ("import sys, xestools.io, xestools.analysis.grid; "
            "print(sorted(m for m in ('PySide6', 'matplotlib', 'lmfit', 'scipy', 'h5py') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
