"""xarray and pandas round trips: object → Dataset (also through netCDF) → the same object, arrays bit for
bit; object → DataFrame → pivot → the map; NeXus export → xarray (h5netcdf) → the object's values."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import xestools
from xestools.analysis import CutSpec, average_maps, average_spectra, cut, map_difference, normalise_area, normalise_map
from xestools.model import RXESMap, ScanInfo, Spectrum

xr = pytest.importorskip("xarray")
pd = pytest.importorskip("pandas")
pytest.importorskip("h5netcdf")

REAL = ("279517_1.nxs", "279496_1.nxs", "280754_1.nxs", "ZnO_standard_280772_1.dat", "XES_ZnZSM5_air500_279192_1.dat")


def same_value(left, right) -> bool:
    """Equal, with numpy arrays compared bit for bit (dtype, shape, values; NaN equal to NaN)."""
    if isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
        return (isinstance(left, np.ndarray) and isinstance(right, np.ndarray) and left.dtype == right.dtype
                and left.shape == right.shape and left.tobytes() == right.tobytes())
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_value(left[k], right[k]) for k in left)
    if isinstance(left, float) and isinstance(right, float):
        return np.float64(left).tobytes() == np.float64(right).tobytes()
    return type(left) is type(right) and left == right


def assert_identical(original, back) -> None:
    """Every field of the frozen dataclass, arrays bit-identical."""
    assert type(back) is type(original)
    for field in dataclasses.fields(original):
        left, right = getattr(original, field.name), getattr(back, field.name)
        if isinstance(left, ScanInfo):
            for info_field in dataclasses.fields(left):
                assert same_value(getattr(left, info_field.name), getattr(right, info_field.name)), info_field.name
        else:
            assert same_value(left, right), field.name


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("userdata")))
        return xestools.sample_folder()


def derived_objects(folder: Path) -> dict:
    """A map, spectra and what is made of them: cuts, an average of each kind, normalised, a difference."""
    (rxes,) = xestools.load(folder / "990101_1.nxs")
    (rxes_dat,) = xestools.load(folder / "ZnO_synthetic_990101_1.dat")
    repeats = [xestools.load(folder / f"{scan}_1.nxs")[0] for scan in (990111, 990112, 990113)]
    other = dataclasses.replace(rxes_dat, info=dataclasses.replace(rxes_dat.info, scan_number=990199),
                                intensity=rxes_dat.intensity * 1.01)
    average = average_maps([rxes, other])
    return {
        "map": rxes, "spectrum": repeats[0],
        "herfd": cut(rxes, CutSpec("CEE", 8638.9, 1.0)).to_spectrum(rxes),
        "cie transfer": cut(rxes, CutSpec("CIE", 9660.0, 0.4), "transfer").to_spectrum(rxes),
        "average": average_spectra(repeats), "map average": average,
        "normalised average": normalise_map(average, None, (8630.0, 8645.0)),
        "normalised": normalise_area(repeats[1], (9600.0, 9700.0)),
        "difference": map_difference(rxes, other),
    }


def test_samples_round_trip_through_xarray_and_netcdf(samples, tmp_path):
    for name, obj in derived_objects(samples).items():
        ds = obj.to_xarray()
        assert_identical(obj, xestools.from_xarray(ds))
        path = tmp_path / f"{name}.nc"
        ds.to_netcdf(path, engine="h5netcdf")
        with xr.open_dataset(path, engine="h5netcdf") as reopened:
            assert_identical(obj, xestools.from_xarray(reopened.load()))


def test_real_files_round_trip(real_file, tmp_path):
    for name in REAL:
        for obj in xestools.load(real_file(name)):
            assert_identical(obj, xestools.from_xarray(obj.to_xarray()))
            path = tmp_path / "real.nc"
            obj.to_xarray().to_netcdf(path, engine="h5netcdf")
            with xr.open_dataset(path, engine="h5netcdf") as reopened:
                assert_identical(obj, xestools.from_xarray(reopened.load()))


def test_map_dataset_layout(real_file):
    """Grid axes as dimensions, read-backs and Ω − ω as 2-D coordinates, provenance in plain attrs."""
    import hashlib

    (rxes,) = xestools.load(real_file("279517_1.nxs"))
    ds = rxes.to_xarray()
    assert ds["intensity"].dims == ("incident_energy", "emission_energy") and ds.sizes["emission_energy"] == 74
    assert set(ds.coords) == {"incident_energy", "emission_energy", "incident_readback", "emission_readback",
                              "energy_transfer"}
    np.testing.assert_array_equal(ds["energy_transfer"].values, rxes.incident - rxes.emission)
    assert ds["incident_energy"].attrs == {"units": "eV", "long_name": "grid Ω (eV)"}
    assert ds["mask"].dtype == bool and "intensity_sigma" in ds
    assert ds.attrs["scan_number"] == 279517 and ds.attrs["sample"] == rxes.info.sample_name
    assert ds.attrs["source_sha256"] == hashlib.sha256(real_file("279517_1.nxs").read_bytes()).hexdigest()
    assert all(isinstance(value, (str, int, float, list)) for value in ds.attrs.values())
    # a HERFD by xarray's own selection equals the cut's sum over the two ω columns of the band
    band = ds["intensity"].where(abs(ds["emission_energy"] - 8638.9) <= 0.3).sum("emission_energy")
    np.testing.assert_allclose(band.values, cut(rxes, CutSpec("CEE", 8638.9, 0.6)).intensity, rtol=1e-12)


def test_average_members_and_cut_result(samples):
    objects = derived_objects(samples)
    ds = objects["map average"].to_xarray()
    np.testing.assert_array_equal(ds["members"].values, objects["map average"].metadata["member_count"])
    assert len(ds.attrs["member_files"]) == 2 and len(ds.attrs["member_sha256"][0]) == 64
    (rxes,) = xestools.load(samples / "990101_1.nxs")
    for spec, view in ((CutSpec("CEE", 8638.9, 1.0), "incident"), (CutSpec("CIE", 9660.0, 0.4, True), "transfer")):
        result = cut(rxes, spec, view)
        back = xestools.from_xarray(result.to_xarray())
        assert_identical(result, back)
        frame = result.to_pandas()
        np.testing.assert_array_equal(frame["npoints"].to_numpy(), result.npoints)


def test_map_dataframe_pivots_back_to_the_map(samples, real_file):
    for rxes in (derived_objects(samples)["map average"], *xestools.load(real_file("279517_1.nxs"))):
        frame = rxes.to_pandas()
        assert len(frame) == rxes.intensity.size
        assert {"incident_index", "emission_index", "incident_energy_eV", "emission_energy_eV", "incident_readback_eV",
                "emission_readback_eV", "energy_transfer_eV", "intensity", "mask"} <= set(frame.columns)
        for column, values in (("intensity", rxes.intensity), ("intensity_sigma", rxes.uncertainty),
                               ("incident_readback_eV", rxes.incident), ("mask", rxes.mask)):
            table = frame.pivot(index="incident_energy_eV", columns="emission_energy_eV", values=column)
            np.testing.assert_array_equal(table.index.to_numpy(), rxes.incident_axis)
            np.testing.assert_array_equal(table.columns.to_numpy(), rxes.emission_axis)
            np.testing.assert_array_equal(table.to_numpy(), values)
        by_index = frame.pivot(index="incident_index", columns="emission_index", values="energy_transfer_eV")
        np.testing.assert_array_equal(by_index.to_numpy(), rxes.incident - rxes.emission)
        if "member_count" in rxes.metadata:
            members = frame.pivot(index="incident_index", columns="emission_index", values="members")
            np.testing.assert_array_equal(members.to_numpy(), rxes.metadata["member_count"])


def test_spectrum_dataframe(real_file):
    (spectrum,) = xestools.load(real_file("280754_1.nxs"))
    frame = spectrum.to_pandas()
    assert list(frame.columns) == ["emission_energy_eV", "intensity", "intensity_sigma", "monitor"]
    np.testing.assert_array_equal(frame["emission_energy_eV"].to_numpy(), spectrum.energy)
    np.testing.assert_array_equal(frame["intensity_sigma"].to_numpy(), spectrum.uncertainty)
    assert frame.attrs["scan_number"] == 280754


def test_nexus_export_opens_in_xarray_with_coordinates(samples, real_file, tmp_path):
    """h5netcdf sees the NXdata group's axes as dimension scales: real coordinates, values as the object's."""
    objects = derived_objects(samples)
    (real_map,) = xestools.load(real_file("279517_1.nxs"))
    for name, obj in (("real map", real_map), ("map average", objects["map average"]), ("herfd", objects["herfd"]),
                      ("average", objects["average"])):
        out = tmp_path / f"{name}.nxs"
        xestools.write_nexus(obj, out)
        with xr.open_dataset(out, group="entry/data", engine="h5netcdf") as data:
            if isinstance(obj, RXESMap):
                assert data["intensity"].dims == ("incident_axis", "emission_axis")
                np.testing.assert_array_equal(data["incident_axis"].values, obj.incident_axis)
                np.testing.assert_array_equal(data["emission_axis"].values, obj.emission_axis)
                assert {"incident", "emission", "transfer"} <= set(data["intensity"].coords)
                np.testing.assert_array_equal(data["transfer"].values, obj.incident - obj.emission)
                np.testing.assert_array_equal(data["mask"].values.astype(bool), obj.mask)
            else:
                assert data["intensity"].dims == ("energy",)
                np.testing.assert_array_equal(data["energy"].values, obj.energy)
            np.testing.assert_array_equal(data["intensity"].values, obj.intensity)
            np.testing.assert_array_equal(data["intensity_errors"].values, obj.uncertainty)
            assert data["intensity"].attrs["units"] in ("counts/I1", "1/eV")
            if "member_count" in obj.metadata:
                np.testing.assert_array_equal(data["members"].values, obj.metadata["member_count"])


def test_from_xarray_refuses_a_foreign_dataset():
    with pytest.raises(ValueError, match="xestools_kind"):
        xestools.from_xarray(xr.Dataset({"intensity": ("x", np.arange(3.0))}))


def test_conversions_import_xarray_and_pandas_only_when_called():
    code = ("import sys, xestools, xestools.convert, xestools.display; "
            "from xestools.model import Spectrum; import numpy as np; "
            "s = Spectrum(energy=np.arange(3.0), intensity=np.ones(3)); "
            "print(sorted(m for m in ('xarray', 'pandas') if m in sys.modules)); s.to_pandas(); "
            "print(sorted(m for m in ('xarray', 'pandas') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "['pandas']"]


def test_spectrum_on_each_axis_round_trips():
    for axis in ("emission", "incident", "transfer"):
        spectrum = Spectrum(energy=np.linspace(-3.0, 9.0, 7), intensity=np.r_[np.nan, np.arange(6.0)], axis=axis,
                            metadata={"operations": [{"name": "x", "window": (1.0, 2.0)}]})
        back = xestools.from_xarray(spectrum.to_xarray())
        assert back.axis == axis
        np.testing.assert_array_equal(back.intensity, spectrum.intensity)
        assert back.uncertainty is None and back.monitor is None
