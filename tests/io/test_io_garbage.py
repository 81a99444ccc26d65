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


@pytest.mark.parametrize("value", [0.0, 1e308, np.finfo(float).max])
@pytest.mark.parametrize("name", ["map.nxs", "map.csv"])
def test_constant_map_intensity_loads_with_a_warning(tmp_path, value, name):
    (back,) = load(_export(_map(intensity=np.full((4, 5), value)), tmp_path, name))
    assert f"the intensity is the same at every one of the 20 points ({value:.6g})" in _warnings(back)


def test_constant_spectrum_intensity_loads_with_a_warning(tmp_path):
    (spectrum,) = load(_text(tmp_path, "".join(f"{e} 0\n" for e in range(6))))
    assert "the intensity is the same at every one of the 6 points (0)" in _warnings(spectrum)
    (varied,) = load(_text(tmp_path, "1 0\n2 0\n3 1\n", name="varied.txt"))
    assert "the same at every" not in _warnings(varied)


def _declare(path, name: str, shape: tuple[int, ...]) -> None:
    """Replace /entry/data/<name> by an uninitialised dataset declaring ``shape`` (a few bytes on disk)."""
    with h5py.File(path, "r+") as handle:
        data = handle["/entry/data"]
        attributes = dict(data[name].attrs)
        del data[name]
        created = data.create_dataset(name, shape=shape, dtype="f8", chunks=(min(shape[0], 1024),) + shape[1:])
        created.attrs.update(attributes)


def test_declared_shapes_that_disagree_are_refused_before_reading(tmp_path, monkeypatch):
    energy = np.linspace(9600.0, 9660.0, 207)
    path = tmp_path / "spectrum.nxs"
    write_nexus(Spectrum(energy=energy, intensity=np.exp(-((energy - 9630) / 5) ** 2) + 1.0), path)
    _declare(path, "intensity", (10 ** 9,))
    assert path.stat().st_size < 200_000
    original = h5py.Dataset.__getitem__
    read: list = []

    def spy(self, key):
        read.append(self.name)
        return original(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    from xestools.io.reader import read_in_process
    with pytest.raises(XesFormatError, match=r"/entry/data/energy declares 207 values, which does not match the intensity \(1000000000\)"):
        read_in_process("load", str(path))
    assert "/entry/data/intensity" not in read and "/entry/data/energy" not in read


def test_a_read_past_the_fixed_ceiling_is_refused_whatever_memory_is_free(tmp_path, monkeypatch):
    """Shapes that agree but declare 10⁸ points each: refused by the ceiling, not by the memory free now."""
    energy = np.linspace(9600.0, 9660.0, 207)
    path = tmp_path / "spectrum.nxs"
    write_nexus(Spectrum(energy=energy, intensity=np.exp(-((energy - 9630) / 5) ** 2) + 1.0), path)
    for name in ("energy", "intensity"):
        _declare(path, name, (10 ** 8,))
    monkeypatch.setenv("XESTOOLS_MAX_READ_MB", "100")  # read by the process that reads (a reader process at its start)
    from xestools.io.reader import read_in_process
    with pytest.raises(XesFormatError, match=r"needs about \d+ MB, more than the 105 MB xestools reads from one file"):
        read_in_process("load", str(path))


def test_nxdata_axis_declaring_another_length_is_refused_before_the_signal_is_read(tmp_path):
    path = tmp_path / "other.nxs"
    with h5py.File(path, "w") as handle:
        entry = handle.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        handle.attrs["default"] = "entry"
        data = entry.create_group("data")
        data.attrs.update({"NX_class": "NXdata", "signal": "counts", "axes": ["energy"]})
        entry.attrs["default"] = "data"
        data.create_dataset("counts", shape=(10 ** 9,), dtype="f8", chunks=(1024,))
        data.create_dataset("energy", data=np.linspace(9600.0, 9660.0, 207)).attrs["units"] = "eV"
    with pytest.raises(XesFormatError, match="declares 207 values for 1000000000 signal points"):
        load(path)
