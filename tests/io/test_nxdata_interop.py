"""NeXus exchange both ways: every export is valid NXdata for silx and carries the NeXus fields (checked
with h5py); generic NXdata written by silx, nexusformat and a Larch-like legacy layout opens in xestools."""
from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest

from xestools.analysis import CutSpec, average_spectra, cut, normalise_area
from xestools.cli import main
from xestools.io import XesFormatError, detect, load, write_nexus
from xestools.model import evolve

silx_nxdata = pytest.importorskip("silx.io.nxdata")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@pytest.fixture(scope="module")
def exports(real_file):
    """name -> object, for a real spectrum, a real map, a cut, an average with sources and a normalised spectrum."""
    (vtc,) = load(real_file("280772_1.nxs"))
    (vtc_dat,) = load(real_file("ZnO_standard_280772_1.dat"))
    (kalpha,) = load(real_file("279517_1.nxs"))
    profile = cut(kalpha, CutSpec("CEE", 8638.9, 0.6)).to_spectrum(kalpha)
    # the .dat is the same scan as the .nxs (a twin, counted once); renumbered it stands for a repeat
    repeat = evolve(vtc_dat, info=dataclasses.replace(vtc_dat.info, scan_number=280773), metadata={"sha256": "b" * 64})
    members = [evolve(vtc, metadata={"sha256": "a" * 64}), repeat]
    return {"spectrum": vtc, "map": kalpha, "cut": profile, "average": average_spectra(members),
            "normalised": normalise_area(vtc, (9640.0, 9670.0))}


@pytest.mark.parametrize("name", ["spectrum", "map", "cut", "average", "normalised"])
def test_every_export_is_nxdata_for_silx_and_h5py(tmp_path, exports, name):
    obj = exports[name]
    out = tmp_path / f"{name}.nxs"
    write_nexus(obj, out)
    with h5py.File(out, "r") as handle:
        nxdata = silx_nxdata.get_default(handle)
        assert nxdata is not None and nxdata.is_valid, getattr(nxdata, "issues", None)
        np.testing.assert_array_equal(nxdata.signal[()], obj.intensity)
        np.testing.assert_array_equal(nxdata.errors[()], obj.uncertainty)
        assert nxdata.title == obj.label
        axes = [np.asarray(axis[()]) for axis in nxdata.axes]
        if name == "map":
            np.testing.assert_array_equal(axes[0], obj.incident_axis)
            np.testing.assert_array_equal(axes[1], obj.emission_axis)
        else:
            np.testing.assert_array_equal(axes[0], obj.energy)
        # the same fields with plain h5py
        entry = handle["entry"]
        data = entry["data"]
        assert _text(data.attrs["signal"]) == "intensity" and _text(data["title"][()]) == obj.label
        assert _text(entry["title"][()]) == obj.label
        assert _text(data["intensity"].attrs["units"]) in ("counts/I1", "1/eV")
        assert "Intensity" in _text(data["intensity"].attrs["long_name"])
        assert entry["sample"].attrs["NX_class"] == "NXsample"
        if obj.info is not None and obj.info.sample_name:
            assert _text(entry["sample/name"][()]) == obj.info.sample_name
        if obj.info is not None and obj.info.start_time:
            assert _text(entry["start_time"][()]) == obj.info.start_time
            assert _text(entry["end_time"][()]) == obj.info.end_time
            assert _text(entry["entry_identifier"][()]) == str(obj.info.scan_number)
        notes = [entry["process"][key] for key in entry["process"] if key.startswith("step_")]
        assert len(notes) == len(obj.metadata.get("operations", []))
        assert all(note.attrs["NX_class"] == "NXnote" for note in notes)


def test_map_coordinates_let_a_reader_draw_the_transfer_view(tmp_path, exports):
    rxes = exports["map"]
    out = tmp_path / "map.nxs"
    write_nexus(rxes, out)
    with h5py.File(out, "r") as handle:
        data = handle["entry/data"]
        assert "auxiliary_signals" not in data.attrs
        for name in ("incident", "emission", "transfer"):
            np.testing.assert_array_equal(data.attrs[f"{name}_indices"], [0, 1])
        np.testing.assert_array_equal(data["transfer"][()], rxes.incident - rxes.emission)
        assert _text(data["transfer"].attrs["units"]) == "eV"


def test_cut_parameters_are_numbers_with_units(tmp_path, real_file):
    out = tmp_path / "cut.nxs"
    assert main(["cut", str(real_file("279517_1.nxs")), "--type", "CEE", "--at", "8638.9", "--width", "0.6",
                 "-o", str(out)]) == 0
    with h5py.File(out, "r") as handle:
        parameters = handle["entry/process/parameters"]
        assert parameters["cut_position_eV"][()] == 8638.9 and _text(parameters["cut_position_eV"].attrs["units"]) == "eV"
        assert parameters["cut_width_eV"][()] == 0.6
        assert _text(parameters["cut_rule"][()]) == "|c - position| <= width/2"
        assert _text(parameters["cut_coordinate"][()]) == "grid centres"
        assert _text(parameters["cut_statistic"][()]) == "sum"
        assert handle["entry/data/npoints"].dtype.kind == "i"


def test_average_members_list_files_scan_numbers_and_checksums(tmp_path, exports, real_file):
    out = tmp_path / "average.nxs"
    write_nexus(exports["average"], out)
    with h5py.File(out, "r") as handle:
        members = handle["entry/process/members"]
        files = [_text(v) for v in members["source_file"][()]]
        assert files == [str(real_file("280772_1.nxs")), str(real_file("ZnO_standard_280772_1.dat"))]
        np.testing.assert_array_equal(members["scan_number"][()], [280772, 280773])
        assert [_text(v) for v in members["sha256"][()]] == ["a" * 64, "b" * 64]
        assert [_text(v) for v in handle["entry/process/source"][()]] == files


# ------------------------------------------------------------------------------- other programs' files
def _kbeta():
    energy = np.linspace(9.62, 9.68, 61)  # keV, as some programs write it
    return energy, 100 * np.exp(-((energy - 9.655) / 0.003) ** 2) + 5.0


def test_silx_1d_spectrum_in_kev_opens(tmp_path):
    energy, intensity = _kbeta()
    out = tmp_path / "silx1d.h5"
    silx_nxdata.save_NXdata(str(out), intensity, axes=[energy], axes_names=["emission_energy"], signal_name="counts",
                            signal_errors=np.sqrt(intensity), title="Kb2,5")
    with h5py.File(out, "a") as handle:
        nx = silx_nxdata.get_default(handle)
        handle[nx.group.name]["emission_energy"].attrs["units"] = "keV"
    (spectrum,) = load(out)
    np.testing.assert_allclose(spectrum.energy, energy * 1000.0, rtol=1e-15)
    np.testing.assert_array_equal(spectrum.intensity, intensity)
    np.testing.assert_array_equal(spectrum.uncertainty, np.sqrt(intensity))
    assert spectrum.axis == "emission" and detect(out).format == "nxdata"


def test_silx_2d_map_opens_with_emission_first(tmp_path):
    """A map stored [ω, Ω] with named axes comes back laid out [Ω, ω]."""
    incident = 9658.0 + 0.3 * np.arange(5)
    emission = 8628.0 + 0.5 * np.arange(7)
    signal = np.arange(35, dtype=float).reshape(7, 5)
    out = tmp_path / "silx2d.h5"
    silx_nxdata.save_NXdata(str(out), signal, axes=[emission, incident],
                            axes_names=["emission_energy", "incident_energy"], signal_name="rxes")
    (rxes,) = load(out)
    np.testing.assert_array_equal(rxes.incident_axis, incident)
    np.testing.assert_array_equal(rxes.emission_axis, emission)
    np.testing.assert_array_equal(rxes.intensity, signal.T)
    assert detect(out).kind == "rxes" and detect(out).shape == (5, 7)


def test_nexusformat_spectrum_and_map_open(tmp_path):
    nx = pytest.importorskip("nexusformat.nexus")
    energy, intensity = _kbeta()
    energy = energy * 1000.0
    out = tmp_path / "nexpy1d.nxs"
    data = nx.NXdata(nx.NXfield(intensity, name="intensity"), [nx.NXfield(energy, name="energy", units="eV")])
    nx.NXroot(nx.NXentry(data)).save(str(out))
    (spectrum,) = load(out)
    np.testing.assert_array_equal(spectrum.energy, energy)
    np.testing.assert_array_equal(spectrum.intensity, intensity)
    out2 = tmp_path / "nexpy2d.nxs"
    incident = np.linspace(9658, 9662, 9)
    emission = np.linspace(8630, 8640, 11)
    signal = np.outer(np.arange(9.0), np.ones(11)) + np.arange(11.0)
    data = nx.NXdata(nx.NXfield(signal, name="rixs"), [nx.NXfield(incident, name="incident_energy", units="eV"),
                                                       nx.NXfield(emission, name="emission_energy", units="eV")])
    nx.NXroot(nx.NXentry(data)).save(str(out2))
    (rxes,) = load(out2)
    np.testing.assert_array_equal(rxes.intensity, signal)
    np.testing.assert_array_equal(rxes.incident_axis, incident)


def test_legacy_signal_attribute_layout_opens(tmp_path):
    """Larch-like / NeXus-1 layout: @signal = 1 and @axes = "energy" on the signal dataset."""
    energy, intensity = _kbeta()
    out = tmp_path / "legacy.h5"
    with h5py.File(out, "w") as handle:
        entry = handle.create_group("xas")
        entry.attrs["NX_class"] = "NXentry"
        data = entry.create_group("spectrum")
        data.attrs["NX_class"] = "NXdata"
        data.create_dataset("energy", data=energy * 1000.0).attrs["units"] = "eV"
        signal = data.create_dataset("mu", data=intensity)
        signal.attrs["signal"] = 1
        signal.attrs["axes"] = "energy"
    (spectrum,) = load(out)
    np.testing.assert_allclose(spectrum.energy, energy * 1000.0)
    np.testing.assert_array_equal(spectrum.intensity, intensity)


def test_external_link_signal_and_axisless_data_are_refused(tmp_path):
    out = tmp_path / "linked.h5"
    with h5py.File(out, "w") as handle:
        entry = handle.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        data = entry.create_group("data")
        data.attrs["NX_class"] = "NXdata"
        data.attrs["signal"] = "counts"
        data["counts"] = h5py.ExternalLink("elsewhere.h5", "/counts")
    with pytest.raises(XesFormatError, match="linked.h5"):
        load(out)
    bare = tmp_path / "bare.h5"
    silx_nxdata.save_NXdata(str(bare), np.arange(10.0), signal_name="counts")
    with pytest.raises(XesFormatError, match="no energy axis"):
        load(bare)


def test_cli_average_records_each_file_checksum(tmp_path, samples_dir):
    import hashlib

    paths = [str(samples_dir / "990111_1.nxs"), str(samples_dir / "990112_1.nxs")]
    out = tmp_path / "avg.nxs"
    assert main(["average", *paths, "-o", str(out)]) == 0
    with h5py.File(out, "r") as handle:
        members = handle["entry/process/members"]
        expected = [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths]
        assert [_text(v) for v in members["sha256"][()]] == expected
        assert [_text(v) for v in members["source_file"][()]] == paths


@pytest.mark.parametrize("name", ["map", "cut", "average"])
def test_axes_are_dimension_scales_that_nexusformat_still_reads(tmp_path, exports, name):
    """The axes are HDF5 dimension scales of every array of the signal's shape (what netCDF readers need);
    nexusformat reads signal and axes of the export as before."""
    nx = pytest.importorskip("nexusformat.nexus")
    obj = exports[name]
    out = tmp_path / f"{name}.nxs"
    write_nexus(obj, out)
    scales = ["incident_axis", "emission_axis"] if name == "map" else ["energy"]
    with h5py.File(out, "r") as handle:
        data = handle["entry/data"]
        for field in ("intensity", "intensity_errors", *(["incident", "transfer", "mask"] if name == "map" else [])):
            assert [data[field].dims[i][0].name for i in range(len(scales))] == [f"/entry/data/{s}" for s in scales]
        if name == "map":
            assert _text(data["intensity"].attrs["coordinates"]) == "incident emission transfer"
    root = nx.nxload(str(out))
    try:
        nxdata = root.entry.data
        np.testing.assert_array_equal(nxdata.nxsignal.nxvalue, obj.intensity)
        axes = [axis.nxvalue for axis in nxdata.nxaxes]
        if name == "map":
            np.testing.assert_array_equal(axes[0], obj.incident_axis)
            np.testing.assert_array_equal(axes[1], obj.emission_axis)
        else:
            np.testing.assert_array_equal(axes[0], obj.energy)
    finally:
        root.nxfile.close()
