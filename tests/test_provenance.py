"""What a result says about where it came from, the same through the API, the command line and the files:
members' SHA-256, a difference named A − B, the counts per point kept through normalising, maps averaged
by ``xestools average``, and map CSVs of the earlier layout still read."""
from __future__ import annotations

import dataclasses
import hashlib
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import xestools
from xestools.analysis import average_maps, average_spectra, map_difference
from xestools.cli import main
from xestools.io import load, write_csv

HERE = Path(__file__).resolve().parent
OLD_MAP_CSV = HERE / "io" / "data" / "map_csv_0.2.0.csv"
if str(HERE / "io") not in sys.path:
    sys.path.insert(0, str(HERE / "io"))
import i20_synth as synth  # noqa: E402  (the I20-format writer of tests/io)


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_objects_made_through_the_api_carry_their_members_sha256(real_file):
    paths = [real_file("280772_1.nxs"), real_file("280754_1.nxs")]
    spectra = [load(path)[0] for path in paths]
    assert [s.metadata["sha256"] for s in spectra] == [sha256(p) for p in paths]
    average = average_spectra(spectra, grid="union")
    assert [m["sha256"] for m in average.metadata["members"]] == [sha256(p) for p in paths]
    (rxes,) = load(real_file("279517_1.nxs"))
    (other,) = load(real_file("XES_ZnZSM5_air500_279192_1.dat"))
    maps = average_maps([rxes, other])
    assert [m["sha256"] for m in maps.metadata["members"]] == [sha256(real_file("279517_1.nxs")),
                                                               sha256(real_file("XES_ZnZSM5_air500_279192_1.dat"))]


def test_an_export_keeps_the_fingerprint_of_its_source(real_file, tmp_path):
    (spectrum,) = load(real_file("280772_1.nxs"))
    write_csv(spectrum, tmp_path / "copy.csv")
    (back,) = load(tmp_path / "copy.csv")
    assert back.metadata["sha256"] == sha256(real_file("280772_1.nxs")) and back.source == spectrum.source


def test_a_difference_map_is_named_a_minus_b(real_file):
    (a,) = load(real_file("279517_1.nxs"))
    b = dataclasses.replace(a, info=dataclasses.replace(a.info, scan_number=279518, start_time="later"),
                            label="279518 Zn (upper)", source="/data/279518_1.nxs", intensity=a.intensity * 0.5)
    difference = map_difference(a, b)
    assert difference.label == f"{a.label} − {b.label}"
    assert difference.info.scan_number is None and difference.info.start_time == "" and difference.source == ""
    assert difference.info.sample_name == a.info.sample_name
    assert [m["scan_number"] for m in difference.metadata["members"]] == [279517, 279518]
    from xestools.figures import scan_title

    assert "279517" in scan_title(difference) and "279518" in scan_title(difference)


def _two_repeats(tmp_path) -> list[Path]:
    paths = []
    for seed in (0, 1):
        path = tmp_path / f"repeat{seed}.nxs"
        synth.write_nexus(path, synth.make_rxes(6, 9, seed=seed))
        paths.append(path)
    return paths


def test_cli_averages_maps_point_by_point(tmp_path, capsys):
    paths = _two_repeats(tmp_path)
    out = tmp_path / "avg.nxs"
    assert main(["average", *map(str, paths), "-o", str(out), "-q"]) == 0
    a, b = (load(path)[0] for path in paths)
    (average,) = load(out)
    np.testing.assert_allclose(average.intensity, (a.intensity + b.intensity) / 2, rtol=1e-13)
    np.testing.assert_allclose(average.uncertainty, np.hypot(a.uncertainty, b.uncertainty) / 2, rtol=1e-13)
    np.testing.assert_array_equal(average.metadata["member_count"], np.full((6, 9), 2))
    with h5py.File(out, "r") as handle:
        assert [v.decode() for v in handle["entry/process/members/sha256"][()]] == [sha256(p) for p in paths]


def test_cli_refuses_maps_mixed_with_spectra(tmp_path, capsys):
    (rxes_path, _) = _two_repeats(tmp_path)
    spectrum_path = tmp_path / "xes.nxs"
    synth.write_nexus(spectrum_path, synth.make_xes())
    assert main(["average", str(rxes_path), str(spectrum_path), "-o", str(tmp_path / "x.csv")]) == 2
    assert "together with 1D spectra" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", ["csv", "nxs"])
def test_normalising_an_average_keeps_its_members_per_point(tmp_path, suffix):
    paths = _two_repeats(tmp_path)
    missing = tmp_path / "short.nxs"
    synth.write_nexus(missing, synth.make_rxes(6, 9, seed=2), measured=40)   # an aborted third repeat
    average = tmp_path / f"avg.{suffix}"
    normalised = tmp_path / f"norm.{suffix}"
    assert main(["average", *map(str, paths), str(missing), "-o", str(average), "-q"]) == 0
    assert main(["normalise", str(average), "--window", "8628.5", "8630", "-o", str(normalised), "-q"]) == 0
    (back,) = load(normalised)
    expected = np.full((6, 9), 3)
    expected.ravel()[40:] = 2
    np.testing.assert_array_equal(back.metadata["member_count"], expected)
    assert back.metadata["normalisation"]["window"] == [8628.5, 8630.0]


def _columns(path):
    """The CSV's columns by name, read with numpy alone."""
    with open(path, encoding="utf-8") as handle:
        return np.genfromtxt((line for line in handle if not line.startswith("#")), delimiter=",", names=True)


def test_old_map_csv_is_still_read():
    """A map CSV written by xestools 0.2.0 (columns omega_eV, emission_eV, transfer_eV) reads as before."""
    (rxes,) = load(OLD_MAP_CSV)
    header = [line for line in OLD_MAP_CSV.read_text().splitlines() if not line.startswith("#")][0]
    assert header.startswith("omega_eV,emission_eV,transfer_eV")
    table = _columns(OLD_MAP_CSV)
    np.testing.assert_array_equal(rxes.incident.ravel(), table["omega_eV"])
    np.testing.assert_array_equal(rxes.emission.ravel(), table["emission_eV"])
    np.testing.assert_array_equal(rxes.intensity.ravel(), table["intensity"])
    np.testing.assert_array_equal(rxes.uncertainty.ravel(), table["intensity_sigma"])
    np.testing.assert_array_equal(rxes.mask.ravel(), table["mask"] == 1)
    assert rxes.shape == (3, 4) and not rxes.mask.all()


def test_map_csv_names_say_which_energy(tmp_path, real_file):
    (rxes,) = load(real_file("279517_1.nxs"))
    write_csv(rxes, tmp_path / "map.csv")
    table = _columns(tmp_path / "map.csv")
    np.testing.assert_array_equal(table["incident_readback_eV"], rxes.incident.ravel())
    np.testing.assert_array_equal(table["incident_energy_eV"], np.repeat(rxes.incident_axis, 74))
    np.testing.assert_array_equal(table["emission_energy_eV"], np.tile(rxes.emission_axis, 17))
    np.testing.assert_array_equal(table["energy_transfer_eV"], (rxes.incident - rxes.emission).ravel())
    (back,) = xestools.load(tmp_path / "map.csv")
    np.testing.assert_array_equal(back.emission, rxes.emission)
