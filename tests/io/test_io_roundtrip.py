"""Our CSV and NeXus exports read back to equal objects; plain column files load as documented."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

import i20_synth as synth
import xestools
from xestools.io import detect, load, write_csv, write_nexus
from xestools.model import Channel, RXESMap, ScanInfo, Spectrum


def assert_same(a, b):
    assert type(a) is type(b)
    names = (("energy", "intensity", "uncertainty", "monitor") if isinstance(a, Spectrum) else
             ("incident", "emission", "incident_axis", "emission_axis", "intensity", "uncertainty", "mask", "monitor"))
    for name in names:
        left, right = getattr(a, name), getattr(b, name)
        if left is None:
            assert right is None, name
        else:
            np.testing.assert_array_equal(left, right, err_msg=name)
    assert a.label == b.label and a.channel == b.channel and a.source == b.source
    assert a.metadata == b.metadata
    assert a.info == b.info
    if isinstance(a, Spectrum):
        assert a.axis == b.axis


def _spectrum():
    energy = np.linspace(9558.0, 9619.8, 207)
    return Spectrum(energy=energy, intensity=np.exp(-((energy - 9572.0) / 3) ** 2) + 1e-3,
                    uncertainty=np.full(207, 0.01), monitor=np.full(207, 6.7e5), label="ZnO Kβ (lower)",
                    channel=Channel.LOWER, source="/data/ZnO_standard_280754_1.dat",
                    metadata={"incident_energy": 9900.0, "warnings": [], "intensity_source": "FFI1",
                              "operations": [{"op": "normalise", "window": [9560.0, 9600.0]}],
                              "normalisation": {"factor": 0.25, "window": [9560.0, 9600.0]}},
                    info=ScanInfo(scan_number=280754, sample_name="ZnO_standard", command="scan XESEnergyLower",
                                  scan_dimensions=(207,), mono_energy=9900.0,
                                  spectrometer_crystals={"lower": "Ge(555)"}, rowland_radius_mm={"lower": 992.0},
                                  counting_time=1.0, source_format="i20-ascii"),
                    axis="emission")


def _map(tmp_path, measured=None):
    scan = synth.make_rxes(6, 9, snake=True)
    path = tmp_path / "source.nxs"
    synth.write_nexus(path, scan, measured=measured)
    return load(path)[0]


@pytest.mark.parametrize("writer, suffix, fmt", [(write_csv, "csv", "xestools-csv"), (write_nexus, "nxs", "xestools-nexus")])
def test_spectrum_round_trip(tmp_path, writer, suffix, fmt):
    spectrum = _spectrum()
    out = tmp_path / f"out.{suffix}"
    writer(spectrum, out)
    (back,) = load(out)
    assert_same(spectrum, back)
    detection = detect(out)
    assert (detection.format, detection.kind, detection.shape, detection.channels) == (fmt, "xes", (207,), (Channel.LOWER,))


@pytest.mark.parametrize("writer, suffix", [(write_csv, "csv"), (write_nexus, "nxs")])
@pytest.mark.parametrize("measured", [None, 40])
def test_map_round_trip(tmp_path, writer, suffix, measured):
    rxes = _map(tmp_path, measured)
    out = tmp_path / f"map.{suffix}"
    writer(rxes, out)
    (back,) = load(out)
    assert_same(rxes, back)
    assert detect(out).shape == (6, 9)


def test_real_files_round_trip(real_file, tmp_path):
    for name in ("279517_1.nxs", "279496_1.nxs", "XES_ZnZSM5_air500_279192_1.dat"):
        for obj in load(real_file(name)):
            for writer, suffix in ((write_csv, "csv"), (write_nexus, "nxs")):
                out = tmp_path / f"{obj.channel.value}.{suffix}"
                writer(obj, out)
                (back,) = load(out, channel=obj.channel)
                assert_same(obj, back)


def test_transfer_axis_spectrum_round_trip(tmp_path):
    spectrum = Spectrum(energy=np.linspace(-5, 20, 30), intensity=np.arange(30.0), axis="transfer", label="CIE")
    for writer, suffix in ((write_csv, "csv"), (write_nexus, "nxs")):
        writer(spectrum, tmp_path / f"t.{suffix}")
        (back,) = load(tmp_path / f"t.{suffix}")
        assert_same(spectrum, back)
        assert back.axis_label == "Energy transfer Ω − ω (eV)"


def test_nexus_export_is_valid_nxdata(tmp_path):
    from xestools.model import evolve

    rxes = _map(tmp_path)
    rxes = evolve(rxes, metadata={"operations": [{"name": "load"}, {"name": "normalise_map", "factor": 2.0}]})
    out = tmp_path / "nx.nxs"
    write_nexus(rxes, out, process={"command": "export", "channel": "upper", "window": [1.0, 2.0]},
                extra={"background": np.zeros(rxes.shape)})
    with h5py.File(out, "r") as handle:
        assert handle.attrs["default"] == "entry"
        entry = handle[handle.attrs["default"]]
        assert entry.attrs["NX_class"] == "NXentry" and entry.attrs["default"] == "data"
        data = entry[entry.attrs["default"]]
        assert data.attrs["NX_class"] == "NXdata"
        assert data.attrs["signal"] == "intensity"
        axes = [a.decode() if isinstance(a, bytes) else a for a in data.attrs["axes"]]
        assert axes == ["incident_axis", "emission_axis"]
        assert data[data.attrs["signal"]].shape == (data[axes[0]].size, data[axes[1]].size)
        assert data["incident_axis"].attrs["units"] == "eV" and data["incident_axis"].attrs["long_name"] == "Ω (eV)"
        assert data["emission_axis"].attrs["long_name"] == "ω (eV)"
        assert data["transfer"].attrs["long_name"] == "Energy transfer Ω − ω (eV)"
        np.testing.assert_allclose(data["transfer"][()], rxes.incident - rxes.emission)
        np.testing.assert_array_equal(data["incident"][()], rxes.incident)
        np.testing.assert_array_equal(data["intensity_errors"][()], rxes.uncertainty)
        assert "background" in data
        process = entry["process"]
        assert process.attrs["NX_class"] == "NXprocess"
        assert process["program"][()].decode() == "xestools"
        assert process["version"][()].decode() == xestools.__version__
        assert process["parameters/command"][()].decode() == "export"
        notes = [process[name] for name in sorted(process) if name.startswith("step_")]
        assert notes and all(note.attrs["NX_class"] == "NXnote" for note in notes)
        assert [note["description"][()].decode() for note in notes] == [
            op.get("name", "") for op in rxes.metadata["operations"]]
        np.testing.assert_array_equal(process["parameters/window"][()], [1.0, 2.0])
        for name in ("incident", "emission", "transfer"):
            np.testing.assert_array_equal(data.attrs[f"{name}_indices"], [0, 1])
        assert "auxiliary_signals" not in data.attrs


def test_csv_extra_columns_and_header(tmp_path):
    spectrum = _spectrum()
    out = tmp_path / "extra.csv"
    header = {"note": "fit window 9560–9600", "kind": "average", "channel": "upper", "label": "x", "columns": "a,b",
              "xestools.metadata": "{}", "multi": "line one\nline two"}
    write_csv(spectrum, out, extra_columns={"background": np.zeros(207)}, header=header)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# xestools")
    assert "# note: fit window 9560–9600" in text
    assert "background" in text.splitlines()[[i for i, l in enumerate(text.splitlines()) if not l.startswith("#")][0]]
    (back,) = load(out)
    assert_same(spectrum, back)
    with pytest.raises(ValueError):
        write_csv(spectrum, tmp_path / "bad.csv", extra_columns={"short": np.zeros(3)})


def test_writes_are_atomic_and_leave_no_temporaries(tmp_path):
    spectrum = _spectrum()
    write_csv(spectrum, tmp_path / "a.csv")
    write_nexus(spectrum, tmp_path / "a.nxs")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.nxs"]


def test_plain_two_and_three_columns(tmp_path):
    energy = np.linspace(8620, 8660, 41)
    intensity = np.exp(-((energy - 8638) / 2) ** 2)
    two = tmp_path / "two.txt"
    two.write_text("# energy intensity\n" + "\n".join(f"{e} {i}" for e, i in zip(energy, intensity)) + "\n")
    (spectrum,) = load(two)
    np.testing.assert_allclose(spectrum.energy, energy)
    np.testing.assert_allclose(spectrum.intensity, intensity)
    assert spectrum.uncertainty is None and spectrum.channel is None
    detection = detect(two)
    assert (detection.format, detection.kind, detection.channels, detection.shape) == ("plain", "xes", (), (41,))
    three = tmp_path / "three.csv"
    three.write_text("E,I,sigma\n" + "\n".join(f"{e},{i},{0.1}" for e, i in zip(energy[::-1], intensity[::-1])))
    (spectrum,) = load(three)
    np.testing.assert_allclose(spectrum.energy, energy)  # sorted ascending
    np.testing.assert_allclose(spectrum.uncertainty, 0.1)


def test_plain_long_format_map(tmp_path):
    omega = 9658.0 + 0.3 * np.arange(5)
    emission = 8628.0 + 0.3 * np.arange(8)
    rng = np.random.default_rng(5)
    rows = []
    truth = np.zeros((5, 8))
    for i, o in enumerate(omega):
        for j, w in enumerate(emission):
            truth[i, j] = rng.uniform()
            rows.append(f"{o + rng.uniform(-0.003, 0.003):.4f}\t{w:.4f}\t{truth[i, j]:.8f}")
    path = tmp_path / "long.dat"
    path.write_text("Omega\tomega\tI\n" + "\n".join(rows[::-1]) + "\n")
    detection = detect(path)
    assert detection.kind == "rxes" and detection.shape == (5, 8)
    (rxes,) = load(path)
    assert isinstance(rxes, RXESMap)
    np.testing.assert_allclose(rxes.intensity, truth, atol=1e-8)
    np.testing.assert_allclose(rxes.incident_axis, omega, atol=0.003)


def test_large_table_csv_path_round_trips(tmp_path, monkeypatch):
    from xestools.io import writers

    monkeypatch.setattr(writers, "_SHORTEST_REPR_LIMIT", 0)
    rxes = _map(tmp_path, measured=30)
    write_csv(rxes, tmp_path / "big.csv")
    (back,) = load(tmp_path / "big.csv")
    assert_same(rxes, back)


def test_plain_short_last_row_is_dropped_with_a_warning(tmp_path):
    path = tmp_path / "cut.txt"
    path.write_text("1.0 2.0 0.1\n2.0 3.0 0.1\n3.0 4.0 0.1\n4.0 5\n\n")
    (spectrum,) = load(path)
    assert len(spectrum) == 3 and spectrum.metadata["warnings"] == ["the last row was incomplete and has been ignored"]


def test_markdown_titled_xestools_is_not_taken_for_our_csv(tmp_path):
    """Only '# xestools <version> csv' marks our export; a README titled '# xestools' is just text."""
    from xestools.io import XesFormatError, load

    readme = tmp_path / "README.md"
    readme.write_text("# xestools\n\nA viewer for XES data.\n")
    with pytest.raises(XesFormatError, match="no numeric data block"):
        load(readme)
