"""Garbage is refused or flagged, never shown as data.

Each case is checked against an independent numpy expectation: what survives is finite where it is
not masked, and every change the loader made is named in ``metadata["warnings"]``, which ``xestools
info`` prints and the exports carry.
"""
from __future__ import annotations

import h5py
import numpy as np
import pytest

import i20_synth as synth
from xestools.cli import main
from xestools.io import XesFormatError, load, write_csv, write_nexus
from xestools.model import RXESMap, Spectrum


def _text(tmp_path, body: str, name: str = "columns.txt"):
    path = tmp_path / name
    path.write_text(body)
    return path


def _warnings(obj) -> str:
    return " | ".join(obj.metadata.get("warnings", []))


def test_infinite_and_overflowing_intensities_are_masked_with_a_warning(tmp_path):
    path = _text(tmp_path, "1 1.5\n2 inf\n3 1e400\n4 -inf\n5 3\n6 4\n")
    (spectrum,) = load(path)
    expected = np.array([1.5, np.nan, np.nan, np.nan, 3.0, 4.0])
    np.testing.assert_array_equal(spectrum.intensity, expected)
    assert "3 points with non-finite intensity were masked" in _warnings(spectrum)


def test_nan_energies_are_dropped_with_a_warning(tmp_path):
    path = _text(tmp_path, "1 10\nnan 11\n3 12\n4 13\n")
    (spectrum,) = load(path)
    np.testing.assert_array_equal(spectrum.energy, [1.0, 3.0, 4.0])
    np.testing.assert_array_equal(spectrum.intensity, [10.0, 12.0, 13.0])
    assert "1 point with non-finite energy was dropped" in _warnings(spectrum)


@pytest.mark.parametrize("value", ["nan", "inf", "1e400"])
def test_spectrum_without_a_finite_intensity_is_refused(tmp_path, value):
    path = _text(tmp_path, "".join(f"{e} {value}\n" for e in range(5)))
    with pytest.raises(XesFormatError, match="columns.txt: the spectrum has no finite intensity"):
        load(path)


def test_duplicate_energies_are_flagged(tmp_path):
    (spectrum,) = load(_text(tmp_path, "1 10\n2 11\n2 12\n3 13\n"))
    assert "1 point repeats an energy already measured" in _warnings(spectrum)


def test_unordered_energies_are_sorted_and_said_so(tmp_path):
    energy = np.array([3.0, 1.0, 4.0, 2.0, 5.0])
    intensity = np.array([30.0, 10.0, 40.0, 20.0, 50.0])
    spectrum = Spectrum(energy=energy, intensity=intensity, uncertainty=intensity / 10)
    path = tmp_path / "unordered.csv"
    write_csv(spectrum, path)
    (back,) = load(path)
    order = np.argsort(energy)
    np.testing.assert_array_equal(back.energy, energy[order])
    np.testing.assert_array_equal(back.intensity, intensity[order])
    np.testing.assert_array_equal(back.uncertainty, intensity[order] / 10)
    assert "energies not monotonic: the points were sorted by energy" in _warnings(back)


def test_descending_scan_is_turned_round_without_a_warning(tmp_path):
    (spectrum,) = load(_text(tmp_path, "3 30\n2 20\n1 10\n"))
    np.testing.assert_array_equal(spectrum.energy, [1.0, 2.0, 3.0])
    assert _warnings(spectrum) == ""


@pytest.mark.parametrize("writer", [write_csv, write_nexus])
def test_one_point_spectrum_is_refused(tmp_path, writer):
    path = tmp_path / ("one.csv" if writer is write_csv else "one.nxs")
    writer(Spectrum(energy=np.array([8640.0]), intensity=np.array([1.0])), path)
    with pytest.raises(XesFormatError, match="at least 2 are needed"):
        load(path)


def _map(n_omega=4, n_emission=5, **changes) -> RXESMap:
    incident_axis = np.linspace(9650.0, 9653.0, n_omega)
    emission_axis = np.linspace(8630.0, 8634.0, n_emission)
    incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
    values = dict(incident=incident, emission=emission, incident_axis=incident_axis, emission_axis=emission_axis,
                  intensity=np.arange(float(n_omega * n_emission)).reshape(n_omega, n_emission) + 1.0,
                  uncertainty=np.full((n_omega, n_emission), 0.5))
    values.update(changes)
    return RXESMap(**values)


def _export(rxes: RXESMap, tmp_path, name="map.nxs"):
    path = tmp_path / name
    (write_nexus if name.endswith(".nxs") else write_csv)(rxes, path)
    return path


@pytest.mark.parametrize("shape", [(5, 1), (1, 5)])
@pytest.mark.parametrize("name", ["map.nxs", "map.csv"])
def test_single_row_or_column_map_is_refused(tmp_path, shape, name):
    path = _export(_map(*shape), tmp_path, name)
    with pytest.raises(XesFormatError, match=rf"the map is {shape[0]} × {shape[1]}"):
        load(path)


@pytest.mark.parametrize("name", ["map.nxs", "map.csv"])
def test_unordered_map_axis_is_sorted_and_said_so(tmp_path, name):
    original = _map()
    order = np.array([2, 0, 3, 1])
    shuffled = RXESMap(incident=original.incident[order], emission=original.emission[order],
                       incident_axis=original.incident_axis[order], emission_axis=original.emission_axis,
                       intensity=original.intensity[order], uncertainty=original.uncertainty[order])
    (back,) = load(_export(shuffled, tmp_path, name))
    np.testing.assert_array_equal(back.incident_axis, original.incident_axis)
    np.testing.assert_array_equal(back.intensity, original.intensity)
    np.testing.assert_array_equal(back.incident, original.incident)
    assert "Ω axis not monotonic: the map was sorted by Ω" in _warnings(back)


def test_non_finite_map_intensity_is_masked_with_a_warning(tmp_path):
    rxes = _map()
    path = _export(rxes, tmp_path)
    intensity = np.array(rxes.intensity)
    intensity[1, 2], intensity[3, 0], intensity[0, 4] = np.inf, -np.inf, np.nan
    with h5py.File(path, "r+") as handle:
        handle["/entry/data/intensity"][...] = intensity
        handle["/entry/data/mask"][...] = np.ones((4, 5), dtype=np.int8)  # a crafted mask calls them measured
    (back,) = load(path)
    bad = ~np.isfinite(intensity)
    np.testing.assert_array_equal(back.mask, ~bad)
    assert np.isfinite(back.intensity[back.mask]).all() and np.isnan(back.intensity[bad]).all()
    assert np.isnan(back.uncertainty[bad]).all()
    assert "3 points with non-finite intensity were masked" in _warnings(back)


def test_map_without_a_finite_intensity_is_refused(tmp_path):
    path = _export(_map(intensity=np.full((4, 5), np.inf)), tmp_path)
    with pytest.raises(XesFormatError, match="no measured point with a finite intensity"):
        load(path)


def test_non_finite_map_axis_is_refused(tmp_path):
    rxes = _map()
    path = _export(rxes, tmp_path)
    with h5py.File(path, "r+") as handle:
        handle["/entry/data/emission_axis"][2] = np.nan
    with pytest.raises(XesFormatError, match="the map's ω axis has non-finite values"):
        load(path)


def test_nan_read_back_sits_on_the_grid_value_with_a_warning(tmp_path):
    rxes = _map()
    path = _export(rxes, tmp_path)
    with h5py.File(path, "r+") as handle:
        handle["/entry/data/incident"][2, 3] = np.nan
    (back,) = load(path)
    assert back.incident[2, 3] == rxes.incident_axis[2]
    assert "1 point without a finite Ω read-back sits on the grid value" in _warnings(back)


def test_i20_scan_with_zero_monitor_is_masked_with_a_warning(tmp_path):
    scan = synth.make_rxes(4, 5, seed=7)
    scan.i1[6] = 0.0  # a dead monitor reading: FFI1 = counts / 0
    path = tmp_path / "scan.dat"
    with np.errstate(divide="ignore"):
        synth.write_ascii(path, scan)
    (rxes,) = load(path)
    truth = synth.truth_grid(scan, np.arange(scan.i1.size, dtype=float))
    where = np.argwhere(truth == 6)[0]
    assert not rxes.mask[tuple(where)] and rxes.mask.sum() == 19
    assert "1 point with non-finite intensity was masked" in _warnings(rxes)


def test_warnings_reach_xestools_info_and_exports(tmp_path, capsys):
    path = _text(tmp_path, "1 1.5\n2 inf\n3 2\n4 3\n")
    assert main(["info", str(path)]) == 0
    assert "warning: 1 point with non-finite intensity was masked" in capsys.readouterr().out
    (spectrum,) = load(path)
    for name in ("again.csv", "again.nxs"):
        target = tmp_path / name
        (write_csv if name.endswith(".csv") else write_nexus)(spectrum, target)
        (back,) = load(target)
        assert "1 point with non-finite intensity was masked" in _warnings(back)


def test_masked_points_without_a_reason_get_a_warning(tmp_path):
    rxes = _map()
    path = _export(rxes, tmp_path)
    mask = np.ones((4, 5), dtype=np.int8)
    mask[0, 1] = mask[2, 2] = 0
    with h5py.File(path, "r+") as handle:
        handle["/entry/data/mask"][...] = mask
    (back,) = load(path)
    np.testing.assert_array_equal(back.mask, mask.astype(bool))
    assert _warnings(back) == "2 of 20 grid points are masked (not measured)"
