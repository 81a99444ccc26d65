"""The ``xestools`` command line, run in-process through ``main([...])`` and once as a subprocess.

Outputs are re-read with ``xestools.io.load`` and compared with the ``analysis`` functions and with
independent numpy computations on the raw HDF5 arrays of the sample files.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from xestools import analysis
from xestools.io import load
from xestools.model import Channel, RXESMap, Spectrum

from cli_run import run   # tests/cli_run.py

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MAP = "990101_1.nxs"
MAP_DAT = "ZnO_synthetic_990101_1.dat"
GROUP = "990102_1.nxs"
WIDE = "990110_1.nxs"
VTC = ["990111_1.nxs", "990112_1.nxs", "990113_1.nxs"]


def assert_user_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert "Traceback" not in err
    assert err.startswith("xestools: error: ")
    for fragment in fragments:
        assert fragment in err


def raw_map(path: str):
    """Ω, ω, FFI1 and ROI counts straight from the HDF5 file (independent of xestools.io)."""
    with h5py.File(path, "r") as handle:
        entry = handle["entry1"]
        return (entry["instrument/bragg1WithOffset/bragg1WithOffset"][()],
                entry["instrument/XESEnergyUpper/XESEnergyUpper"][()],
                entry["instrument/medipix1/FFI1_medipix1"][()],
                entry["instrument/medipix1/medipix1_roi_total"][()],
                entry["instrument/I1/I1"][()])


def csv_table(path: Path) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """Header ``# key: value`` lines and named columns of an xestools CSV, parsed here by hand."""
    header: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    body_start = 0
    for index, line in enumerate(lines):
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            header[key.strip()] = value.strip()
        else:
            body_start = index
            break
    names = lines[body_start].split(",")
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[body_start + 1:] if line.strip()])
    return header, {name: rows[:, i] for i, name in enumerate(names)}


# ----------------------------------------------------------------------------- info
def test_info_text_lists_every_sample(capsys, samples_dir):
    files = sorted(str(p) for p in samples_dir.iterdir() if p.suffix in (".nxs", ".dat"))
    code, out, err = run(capsys, "info", *files)
    assert code == 0, err
    for path in files:
        assert path in out
    assert "RXES map" in out and "25 × 80 (Ω × ω)" in out
    assert "ZnO_synthetic" in out and "upper, lower" in out


def test_info_json_matches_the_raw_file(capsys, sample):
    code, out, err = run(capsys, "info", "--json", sample(MAP), sample(GROUP))
    assert code == 0, err
    records = json.loads(out)
    assert [r["kind"] for r in records] == ["rxes", "xes"]
    assert records[0]["shape"] == [25, 80] and records[0]["channels"] == ["upper"]
    assert records[1]["channels"] == ["upper", "lower"] and records[1]["shape"] == [80]
    assert records[0]["sample"] == "ZnO_synthetic" and records[0]["scan_number"] == 990101
    assert records[0]["start_time"].startswith("2025-10-10T08:43:21")
    omega, emission, _, _, _ = raw_map(sample(MAP))
    lo, hi, n = records[0]["datasets"][0]["incident_range"]
    assert n == 25 and abs(lo - omega[0].mean()) < 0.003 and abs(hi - omega[-1].mean()) < 0.003
    lo, hi, n = records[0]["datasets"][0]["emission_range"]
    assert n == 80 and abs(lo - emission[:, 0].mean()) < 0.011 and abs(hi - emission[:, -1].mean()) < 0.011
    assert [d["channel"] for d in records[1]["datasets"]] == ["upper", "lower"]


def test_info_reports_bad_files_and_still_describes_the_good(capsys, sample, tmp_path):
    junk = tmp_path / "junk.nxs"
    junk.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 40)
    code, out, err = run(capsys, "info", sample(WIDE), str(junk))
    assert code == 2
    assert sample(WIDE) in out
    assert "junk.nxs" in err and "Traceback" not in err and err.count("\n") == 1


def test_info_says_in_progress_while_a_scan_may_grow_and_aborted_once_it_stopped(capsys, real_file, tmp_path):
    from xestools.replay import Replayer

    dest = tmp_path / "ZnO_standard_280772_1.dat"
    Replayer(real_file(dest.name), dest).run(stop_after=97)      # no footer yet, written just now
    code, out, _ = run(capsys, "info", dest)
    assert code == 0 and "warning: in progress — 97 of 201 points" in out and "aborted" not in out
    then = os.path.getmtime(dest) - 3600                             # unchanged for an hour: it stopped
    os.utime(dest, (then, then))
    code, out, _ = run(capsys, "info", dest)
    assert code == 0 and "warning: aborted scan: 97 of 201 points were measured" in out and "in progress" not in out


def test_missing_file_is_a_one_line_user_error(capsys, tmp_path):
    code, _, err = run(capsys, "info", str(tmp_path / "nope.nxs"))
    assert_user_error(code, err, "no such file", "nope.nxs")


# ----------------------------------------------------------------------------- export
@pytest.mark.parametrize("name, channel", [(MAP, None), (MAP_DAT, None), (GROUP, "lower"), (WIDE, None)])
@pytest.mark.parametrize("fmt", ["csv", "nxs"])
def test_export_reads_back_equal(capsys, sample, tmp_path, name, channel, fmt):
    out = tmp_path / f"export.{fmt}"
    argv = ["export", sample(name), "--format", fmt, "-o", out] + (["--channel", channel] if channel else [])
    code, stdout, err = run(capsys, *argv)
    assert code == 0, err
    assert str(out) in stdout
    (original,) = load(sample(name), channel=channel)
    (again,) = load(out)
    assert type(again) is type(original)
    assert again.channel == original.channel
    np.testing.assert_array_equal(again.intensity, original.intensity)
    np.testing.assert_array_equal(again.uncertainty, original.uncertainty)
    if isinstance(original, RXESMap):
        np.testing.assert_array_equal(again.incident, original.incident)
        np.testing.assert_array_equal(again.emission, original.emission)
        np.testing.assert_array_equal(again.incident_axis, original.incident_axis)
    else:
        np.testing.assert_array_equal(again.energy, original.energy)
        assert again.axis == original.axis


def test_export_format_from_extension_and_channel_required(capsys, sample, tmp_path):
    code, _, err = run(capsys, "export", sample(GROUP), "-o", tmp_path / "both.csv")
    assert_user_error(code, err, "upper, lower", "--channel")
    code, _, err = run(capsys, "export", sample(WIDE), "-o", tmp_path / "what.xyz")
    assert_user_error(code, err, "unknown output extension '.xyz'", ".csv", ".nxs")
    assert not (tmp_path / "what.xyz").exists()
    code, _, err = run(capsys, "export", sample(WIDE), "-o", tmp_path / "wide.nxs")
    assert code == 0, err
    (spectrum,) = load(tmp_path / "wide.nxs")
    assert spectrum.channel is Channel.LOWER
    code, _, err = run(capsys, "export", sample(WIDE), "--channel", "upper", "-o", tmp_path / "x.csv")
    assert_user_error(code, err, "upper")


def test_unwritable_output_is_a_user_error(capsys, sample, tmp_path):
    code, _, err = run(capsys, "export", sample(WIDE), "-o", tmp_path / "missing" / "out.csv")
    assert_user_error(code, err, "does not exist")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = run(capsys, "cut", sample(MAP), "--type", "CEE", "--at", "8638.9", "--width", "1",
                       "-o", blocker / "cut.csv")
    assert_user_error(code, err, "does not exist")
    code, _, err = run(capsys, "export", sample(WIDE), "-o", tmp_path)
    assert_user_error(code, err, "is a folder")
    assert not list((tmp_path).glob(".~*")), "a temporary file was left behind"


# ----------------------------------------------------------------------------- cut
CUTS = [("CEE", 8638.9, 1.0), ("CIE", 9662.0, 0.6), ("CET", 1022.0, 1.0)]


@pytest.mark.parametrize("kind, at, width", CUTS)
@pytest.mark.parametrize("view", ["incident", "transfer"])
@pytest.mark.parametrize("mean", [False, True])
def test_cut_csv_equals_analysis(capsys, sample, tmp_path, kind, at, width, view, mean):
    out = tmp_path / "cut.csv"
    argv = ["cut", sample(MAP), "--type", kind, "--at", at, "--width", width, "--view", view, "-o", out]
    code, _, err = run(capsys, *(argv + (["--mean"] if mean else [])))
    assert code == 0, err
    (rxes_map,) = load(sample(MAP))
    expected = analysis.cut(rxes_map, analysis.CutSpec(analysis.CutType(kind), at, width, mean), view)
    (profile,) = load(out)
    assert isinstance(profile, Spectrum) and profile.axis == expected.axis
    np.testing.assert_array_equal(profile.energy, expected.x)
    np.testing.assert_array_equal(profile.intensity, expected.intensity)
    np.testing.assert_array_equal(profile.uncertainty, expected.uncertainty)
    header, columns = csv_table(out)
    np.testing.assert_array_equal(columns["npoints"], expected.npoints)
    assert "intensity_sigma" in columns
    assert header["xestools.cut_type"] == kind and float(header["xestools.cut_position_eV"]) == at
    assert float(header["xestools.cut_width_eV"]) == width
    assert header["xestools.cut_channel"] == "upper" and header["xestools.cut_view"] == view
    assert header["xestools.cut_statistic"] == ("mean" if mean else "sum")
    assert header["xestools.cut_source"].endswith(MAP)
    assert "cut_type" not in header, "the cut is recorded once"
    assert profile.channel is Channel.UPPER and profile.source.endswith(MAP)


def test_cee_cut_against_raw_arrays(capsys, sample, tmp_path):
    """HERFD sum at ω = 8638.9 ± 0.5 per Ω row, computed from the raw FFI1 and ROI counts."""
    out = tmp_path / "herfd.csv"
    code, _, err = run(capsys, "cut", sample(MAP), "--type", "CEE", "--at", "8638.9", "--width", "1.0", "-o", out)
    assert code == 0, err
    omega, emission, ffi1, roi, i1 = raw_map(sample(MAP))
    inside = np.abs(emission - 8638.9) <= 0.5
    expected = np.where(inside, ffi1, 0.0).sum(axis=1)
    sigma = np.sqrt(np.where(inside, roi / i1**2, 0.0).sum(axis=1))
    header, columns = csv_table(out)
    np.testing.assert_allclose(columns["intensity"], expected, rtol=1e-12)
    np.testing.assert_allclose(columns["intensity_sigma"], sigma, rtol=1e-12)
    np.testing.assert_array_equal(columns["npoints"], inside.sum(axis=1))
    np.testing.assert_allclose(columns["omega_eV"], omega.mean(axis=1), atol=0.003)


def test_cut_to_nexus(capsys, sample, tmp_path):
    out = tmp_path / "cut.nxs"
    code, _, err = run(capsys, "cut", sample(MAP_DAT), "--type", "cie", "--at", "9663.2", "--width", "0.3",
                       "--format", "nxs", "-o", out)
    assert code == 0, err
    (rxes_map,) = load(sample(MAP_DAT))
    expected = analysis.cut(rxes_map, analysis.CutSpec("CIE", 9663.2, 0.3), "incident")
    (profile,) = load(out)
    np.testing.assert_array_equal(profile.intensity, expected.intensity)
    assert profile.axis == "emission"


def test_empty_cut_and_cut_of_a_spectrum_are_user_errors(capsys, sample, tmp_path):
    out = tmp_path / "cut.csv"
    code, _, err = run(capsys, "cut", sample(MAP), "--type", "CEE", "--at", "9000", "--width", "1", "-o", out)
    assert_user_error(code, err, "empty cut", "outside the data")
    code, _, err = run(capsys, "cut", sample(MAP), "--type", "CEE", "--at", "8638.9", "--width", "0", "-o", out)
    assert_user_error(code, err, "empty cut", "width")
    code, _, err = run(capsys, "cut", sample(WIDE), "--type", "CEE", "--at", "9572", "--width", "1", "-o", out)
    assert_user_error(code, err, "not an RXES map")
    code, _, err = run(capsys, "cut", sample(MAP), "--type", "XYZ", "--at", "1", "--width", "1", "-o", out)
    assert_user_error(code, err, "--type")
    code, _, err = run(capsys, "cut", sample(MAP), "--type", "CEE", "--at", "nan", "--width", "1", "-o", out)
    assert_user_error(code, err, "finite")
    assert not out.exists()


# ----------------------------------------------------------------------------- average and normalise
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("union", [False, True])
def test_average_equals_analysis(capsys, sample, tmp_path, weighted, union):
    out = tmp_path / "avg.csv"
    argv = ["average", *(sample(n) for n in VTC), "-o", out]
    argv += (["--weighted"] if weighted else []) + (["--union"] if union else [])
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    members = [load(sample(n))[0] for n in VTC]
    expected = analysis.average_spectra(members, grid="union" if union else "overlap", weighted=weighted)
    (average,) = load(out)
    np.testing.assert_array_equal(average.energy, expected.energy)
    np.testing.assert_array_equal(average.intensity, expected.intensity)
    np.testing.assert_array_equal(average.uncertainty, expected.uncertainty)
    assert average.channel is Channel.LOWER


def test_plain_average_against_numpy(capsys, sample, tmp_path):
    """Independent check: repeats on the same energies are averaged point by point on the mean read-backs."""
    out = tmp_path / "avg.csv"
    code, _, err = run(capsys, "average", *(sample(n) for n in VTC), "-o", out)
    assert code == 0, err
    header, columns = csv_table(out)
    energies, intensities = [], []
    for name in VTC:
        with h5py.File(sample(name), "r") as handle:
            energy = handle["entry1/instrument/XESEnergyLower/XESEnergyLower"][()]
            ffi1 = handle["entry1/instrument/medipix2/FFI1_medipix2"][()]
        order = np.argsort(energy)
        energies.append(energy[order])
        intensities.append(ffi1[order])
    np.testing.assert_allclose(columns["emission_eV"], np.mean(energies, axis=0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(columns["intensity"], np.mean(intensities, axis=0), rtol=1e-12)
    np.testing.assert_array_equal(columns["members"], 3)
    assert '"resampled":false' in header["xestools.metadata"]


def test_average_of_a_scan_and_its_twin_is_the_one_scan_with_a_notice(capsys, real_file, tmp_path):
    """The .nxs and .dat of scan 280772 are one measurement: never a two-member average (σ too small by √2)."""
    out = tmp_path / "avg.csv"
    code, _, err = run(capsys, "average", real_file("280772_1.nxs"), real_file("ZnO_standard_280772_1.dat"), "-o", out)
    assert code == 0, err
    assert "ZnO_standard_280772_1.dat is the same scan as 280772_1.nxs" in err and "counted once" in err
    with h5py.File(real_file("280772_1.nxs"), "r", locking=False) as handle:
        roi = handle["entry1/instrument/medipix2/medipix2_roi_total"][()]
        i1 = handle["entry1/I1/I1"][()]
    (average,) = load(out)
    np.testing.assert_allclose(average.intensity, roi / i1, rtol=1e-12)
    np.testing.assert_allclose(average.uncertainty, np.sqrt(np.maximum(roi, 1)) / i1, rtol=1e-12)
    assert [member["scan_number"] for member in average.metadata["members"]] == [280772]


def test_average_rejects_maps_and_mixed_channels(capsys, sample, tmp_path):
    out = tmp_path / "avg.csv"
    code, _, err = run(capsys, "average", sample(MAP), sample(WIDE), "-o", out)
    assert_user_error(code, err, "RXES map")
    code, _, err = run(capsys, "average", sample(GROUP), sample(WIDE), "-o", out)
    assert_user_error(code, err, "--channel")


def _window_area_reference(energy, intensity, lo, hi):
    """Area under the piecewise-linear curve over [lo, hi], by fine sampling (independent of analysis)."""
    order = np.argsort(energy)
    fine = np.union1d(np.linspace(lo, hi, 200001), energy[(energy > lo) & (energy < hi)])
    values = np.interp(fine, energy[order], intensity[order])
    return float(np.sum((values[1:] + values[:-1]) * np.diff(fine)) / 2.0)


def test_xes_workflow_average_then_normalise_by_kbeta13_area(capsys, sample, tmp_path):
    average = tmp_path / "vtc_avg.csv"
    normalised = tmp_path / "vtc_norm.csv"
    assert run(capsys, "average", *(sample(n) for n in VTC), "-o", average)[0] == 0
    code, out, err = run(capsys, "normalise", average, "--window", "9560", "9590", "--reference", sample(WIDE),
                         "-o", normalised)
    assert code == 0, err
    (avg,) = load(average)
    (reference,) = load(sample(WIDE))
    expected = analysis.normalise_area(avg, (9560.0, 9590.0), reference=reference)
    (result,) = load(normalised)
    np.testing.assert_array_equal(result.intensity, expected.intensity)
    with h5py.File(sample(WIDE), "r") as handle:
        energy = handle["entry1/instrument/XESEnergyLower/XESEnergyLower"][()]
        ffi1 = handle["entry1/instrument/medipix2/FFI1_medipix2"][()]
    area = _window_area_reference(energy, ffi1, 9560.0, 9590.0)
    np.testing.assert_allclose(result.intensity, avg.intensity / area, rtol=1e-6)
    header, _ = csv_table(normalised)
    assert header["normalisation_reference"].endswith(WIDE)
    assert float(header["normalisation_area"]) == pytest.approx(area, rel=1e-6)


def test_normalise_map_by_itself_and_errors(capsys, sample, tmp_path):
    out = tmp_path / "map_norm.nxs"
    code, _, err = run(capsys, "normalise", sample(MAP), "--window", "8630", "8645", "-o", out)
    assert code == 0, err
    (rxes_map,) = load(sample(MAP))
    expected = analysis.normalise_map(rxes_map, None, (8630.0, 8645.0))
    (result,) = load(out)
    np.testing.assert_allclose(result.intensity, expected.intensity, rtol=1e-12)
    code, _, err = run(capsys, "normalise", sample(WIDE), "--window", "9000", "9001", "-o", tmp_path / "n.csv")
    assert_user_error(code, err, "cannot normalise")
    code, _, err = run(capsys, "normalise", sample(WIDE), "--window", "9560", "-o", tmp_path / "n.csv")
    assert_user_error(code, err, "--window")
    code, _, err = run(capsys, "normalise", sample(WIDE), "--window", "9560", "9590", "--reference", sample(MAP),
                       "-o", tmp_path / "n.csv")
    assert_user_error(code, err, "reference")


# ----------------------------------------------------------------------------- plot
@pytest.mark.parametrize("suffix, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_plot_map_with_cuts(capsys, sample, tmp_path, suffix, magic):
    out = tmp_path / f"map.{suffix}"
    code, _, err = run(capsys, "plot", sample(MAP), "--view", "transfer", "--scale", "log",
                       "--cut", "CEE:8638.9:1.0", "--cut", "CIE:9662:0.6:mean", "-o", out)
    assert code == 0, err
    assert out.read_bytes().startswith(magic)


def test_plot_png_is_not_blank_and_spectrum_plots(capsys, sample, tmp_path):
    import matplotlib.image

    out = tmp_path / "map.png"
    assert run(capsys, "plot", sample(MAP_DAT), "-o", out)[0] == 0
    pixels = matplotlib.image.imread(str(out))
    assert pixels.std() > 0.05
    out = tmp_path / "xes.png"
    code, _, err = run(capsys, "plot", sample(GROUP), "-o", out)
    assert code == 0, err
    assert matplotlib.image.imread(str(out)).std() > 0.01


def test_plot_user_errors(capsys, sample, tmp_path):
    code, _, err = run(capsys, "plot", sample(MAP), "-o", tmp_path / "map.jpg")
    assert_user_error(code, err, "png")
    code, _, err = run(capsys, "plot", sample(MAP), "--cut", "CEE:abc:1", "-o", tmp_path / "map.png")
    assert_user_error(code, err, "CEE:abc:1")
    code, _, err = run(capsys, "plot", sample(WIDE), "--cut", "CEE:9572:1", "-o", tmp_path / "x.png")
    assert_user_error(code, err, "needs an RXES map")
    code, _, err = run(capsys, "plot", sample(MAP), "--scale", "cubic", "-o", tmp_path / "map.png")
    assert_user_error(code, err, "--scale")
    code, _, err = run(capsys, "plot", sample(MAP), "--cut", "CIE:9700:1", "-o", tmp_path / "map.png")
    assert_user_error(code, err, "empty cut", "outside the data")
    code, _, err = run(capsys, "plot", sample(MAP), "--cmap", "no-such-map", "-o", tmp_path / "map.png")
    assert_user_error(code, err, "colormap")
    code, _, err = run(capsys, "plot", sample(GROUP), "--channel", "upper", "--dpi", "-3", "-o", tmp_path / "x.png")
    assert_user_error(code, err, "--dpi")
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- report
def _fake_report(folder: Path, report_id: str, kind: str, summary: str, when: str) -> None:
    """A crash report as the runtime writes it (schema fields used by list/show), written here by hand."""
    folder.mkdir(parents=True, exist_ok=True)
    report = {"schema_version": 1, "id": report_id, "kind": kind, "summary": summary, "time_utc": when,
              "uptime_seconds": 12.5, "app_version": "0.1.0", "exception": [], "breadcrumbs": [],
              "open_files": ["990101_1.nxs"], "grouping_key": "test", "log_tail": ["line one"]}
    (folder / f"{report_id}.json").write_text(json.dumps(report), encoding="utf-8")


def test_report_list_show_bundle(capsys, tmp_path):
    logs = tmp_path / "logs"
    code, out, err = run(capsys, "report", "--log-dir", logs)
    assert code == 0 and "no crash reports" in out
    _fake_report(logs / "crash_reports", "a1b2c3d4e5f6", "exception", "ValueError in a slot", "2026-01-02T03:04:05Z")
    _fake_report(logs / "crash_reports", "ffeeddccbbaa", "hang", "event loop blocked", "2026-01-02T04:00:00Z")
    (logs / "xestools-20260102-030000-42.log").write_text("a log line\n", encoding="utf-8")
    code, out, err = run(capsys, "report", "--log-dir", logs)
    assert code == 0, err
    assert "a1b2c3d4e5f6" in out and "ffeeddccbbaa" in out and "hang" in out
    code, out, err = run(capsys, "report", "list", "--log-dir", logs, "--json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == ["a1b2c3d4e5f6", "ffeeddccbbaa"]
    code, out, err = run(capsys, "report", "show", "a1b2", "--log-dir", logs)
    assert code == 0, err
    assert "a1b2c3d4e5f6" in out and "ValueError in a slot" in out
    code, _, err = run(capsys, "report", "show", "0000", "--log-dir", logs)
    assert_user_error(code, err, "0000")
    bundle = tmp_path / "support.zip"
    code, out, err = run(capsys, "report", "bundle", "-o", bundle, "--log-dir", logs)
    assert code == 0, err
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
    assert "crash_reports/a1b2c3d4e5f6.json" in names
    assert "logs/xestools-20260102-030000-42.log" in names
    code, _, err = run(capsys, "report", "bundle", "-o", tmp_path / "nowhere" / "b.zip", "--log-dir", logs)
    assert_user_error(code, err, "does not exist")


# ----------------------------------------------------------------------------- arguments, exit codes, subprocess
@pytest.mark.parametrize("argv, fragment", [
    ([], "required"),
    (["frobnicate"], "invalid choice"),
    (["cut", "x.nxs"], "no such file"),
    (["average"], "FILE"),
    (["export", "--channel", "middle", "x"], "--channel"),
])
def test_bad_arguments_give_one_line(capsys, argv, fragment):
    code, _, err = run(capsys, *argv)
    assert_user_error(code, err, fragment)


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "info" in out and "report" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and "xestools" in out


def _subprocess_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["XESTOOLS_LOG_DIR"] = str(tmp_path / "logs")
    return env


def test_module_entry_point_in_a_subprocess(sample, tmp_path):
    out = tmp_path / "herfd.csv"
    done = subprocess.run(
        [sys.executable, "-m", "xestools.cli", "cut", sample(MAP), "--type", "CEE", "--at", "8638.9",
         "--width", "1.0", "-o", str(out)],
        capture_output=True, text=True, env=_subprocess_env(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr
    (profile,) = load(out)
    (rxes_map,) = load(sample(MAP))
    np.testing.assert_array_equal(profile.intensity, analysis.cut(rxes_map, analysis.CutSpec("CEE", 8638.9, 1.0)).intensity)
    done = subprocess.run([sys.executable, "-m", "xestools.cli", "info", str(tmp_path / "missing.nxs")],
                          capture_output=True, text=True, env=_subprocess_env(tmp_path), timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_internal_error_exits_1_with_traceback_only_in_the_log(sample, tmp_path):
    """A bug (here: analysis.cut raising RuntimeError) gives exit 1, one line, the traceback in the log."""
    script = (
        "import sys, xestools.analysis as a\n"
        "def broken(*args, **kwargs):\n"
        "    raise RuntimeError('simulated defect')\n"
        "a.cut = broken\n"
        "from xestools.cli import main\n"
        f"sys.exit(main(['cut', {sample(MAP)!r}, '--type', 'CEE', '--at', '8638.9', '--width', '1',"
        f" '-o', {str(tmp_path / 'c.csv')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=_subprocess_env(tmp_path), timeout=120)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "internal error: RuntimeError: simulated defect" in done.stderr
    assert "Traceback" not in done.stderr
    logs = list((tmp_path / "logs").glob("xestools-*.log"))
    assert logs, "no log file written"
    text = "".join(path.read_text(encoding="utf-8") for path in logs)
    assert "Traceback" in text and "simulated defect" in text and "broken" in text
    assert not (tmp_path / "c.csv").exists()


# ----------------------------------------------------------------------------- help, examples, polish
import argparse  # noqa: E402
import re  # noqa: E402
import shlex  # noqa: E402

from xestools import cli  # noqa: E402

I20_NAME = re.compile(r"\b(?:\w+_)?\d{6}_1\.(?:nxs|dat)\b")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
    return found


def test_every_argument_of_every_subcommand_is_explained():
    commands = _subparsers(cli.build_parser())
    assert {"info", "export", "cut", "average", "normalise", "plot", "report", "samples", "completion"} <= set(commands)
    for name, sub in commands.items():
        for action in sub._actions:
            assert action.help and action.help != argparse.SUPPRESS, f"{name}: {action.option_strings or action.dest}"
        for inner, subsub in _subparsers(sub).items():
            for action in subsub._actions:
                assert action.help, f"{name} {inner}: {action.option_strings or action.dest}"


@pytest.mark.parametrize("command", ["info", "export", "cut", "average", "normalise", "plot", "report", "samples"])
def test_help_ends_with_examples_on_i20_file_names(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    tail = out[out.index("examples"):].splitlines()[1:]
    assert 2 <= len(tail) <= 3, out
    assert all(line.strip().startswith(f"xestools {command}") for line in tail), tail
    if command not in ("report", "samples"):
        assert sum(bool(I20_NAME.search(line)) for line in tail) >= 2, tail
    for option in ("--channel", "-o", "--view", "--scale", "--format", "--no-clobber", "--window", "--type"):
        if re.search(rf"\s{re.escape(option)}\b", out.split("options:")[0]):  # in the usage line
            assert re.search(rf"^\s+(?:-\w, )?{re.escape(option)}\b.*\S", out.split("options:")[1], re.M), option


def _runnable_examples(real_data: Path) -> list[list[str]]:
    """The help examples whose input files exist in the real data (no pipes, no home folder)."""
    runnable = []
    for name, sub in _subparsers(cli.build_parser()).items():
        for line in (sub.epilog or "").splitlines()[1:]:
            words = shlex.split(line.split("|")[0].split(">")[0], comments=True)
            inputs = [w for i, w in enumerate(words)
                      if re.search(r"\.(nxs|dat|csv|h5|json)$", w) and words[i - 1] not in ("-o", "--output")]
            if inputs and all((real_data / w).is_file() for w in inputs) and "~" not in line:
                runnable.append(words[1:])
    return runnable


def test_help_examples_run_on_the_real_files(capsys, real_data, tmp_path, monkeypatch):
    for name in os.listdir(real_data):
        (tmp_path / name).symlink_to(real_data / name)
    monkeypatch.chdir(tmp_path)
    examples = _runnable_examples(real_data)
    assert len(examples) >= 8, examples
    for words in examples:
        code, _, err = run(capsys, *words)
        assert code == 0, f"xestools {' '.join(words)}: {err}"


def test_plot_refuses_jpg_without_suggesting_a_missing_option(capsys, sample, tmp_path):
    code, _, err = run(capsys, "plot", sample(MAP), "-o", tmp_path / "x.jpg")
    assert_user_error(code, err, ".png", ".svg", ".pdf")
    plot_options = {s for a in _subparsers(cli.build_parser())["plot"]._actions for s in a.option_strings}
    for suggested in re.findall(r"--[a-z-]+", err):
        assert suggested in plot_options, suggested
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("argv, fragment", [
    (["export", WIDE, "--format", "csv", "-o", "x.png"], "unknown output extension '.png'"),
    (["export", WIDE, "--format", "csv", "-o", "x.nxs"], "does not match"),
    (["export", WIDE, "-o", "x.dat"], "unknown output extension '.dat'"),
    (["export", WIDE, "-o", "noextension"], "no output extension"),
    (["cut", MAP, "--type", "CEE", "--at", "8638.9", "--width", "1", "-o", "c.json"], "unknown output extension"),
    (["average", *VTC, "-o", "avg.xlsx"], "unknown output extension"),
    (["normalise", WIDE, "--window", "9560", "9590", "-o", "n.h6"], "unknown output extension"),
    (["export", WIDE, "--format", "nxs", "-o", "-"], "NeXus needs a file name"),
    (["plot", MAP, "-o", "-"], "plot writes a file"),
])
def test_unknown_output_extensions_are_refused(capsys, sample, tmp_path, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    argv = [sample(a) if a.endswith(".nxs") else a for a in argv]
    code, out, err = run(capsys, *argv)
    assert_user_error(code, err, fragment)
    assert out == "" and not list(tmp_path.iterdir())


def test_report_bundle_must_be_a_zip(capsys, tmp_path):
    code, _, err = run(capsys, "report", "bundle", "-o", tmp_path / "support.txt", "--log-dir", tmp_path)
    assert_user_error(code, err, ".zip")
    assert not (tmp_path / "support.txt").exists()


def test_average_of_one_file_or_one_file_twice_is_refused(capsys, sample, tmp_path):
    code, _, err = run(capsys, "average", sample(VTC[0]), "-o", tmp_path / "a.csv")
    assert_user_error(code, err, "two or more files", "xestools export")
    code, _, err = run(capsys, "average", sample(VTC[0]), sample(VTC[0]), "-o", tmp_path / "a.csv")
    assert_user_error(code, err, "given twice")
    relative = os.path.relpath(sample(VTC[0]))
    code, _, err = run(capsys, "average", sample(VTC[0]), relative, "-o", tmp_path / "a.csv")
    assert_user_error(code, err, "given twice")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("argv", [
    ["export", WIDE],
    ["cut", MAP, "--type", "CIE", "--at", "9662", "--width", "0.6", "--view", "transfer"],
    ["average", *VTC],
    ["normalise", WIDE, "--window", "9560", "9590"],
])
def test_dash_output_writes_the_same_csv_to_stdout(capsys, sample, tmp_path, argv):
    argv = [sample(a) if a.endswith(".nxs") else a for a in argv]
    code, _, err = run(capsys, *argv, "-o", tmp_path / "file.csv")
    assert code == 0, err
    code, out, err = run(capsys, *argv, "-o", "-")
    assert code == 0, err
    assert "wrote CSV to stdout" in err
    (tmp_path / "stdout.csv").write_text(out, encoding="utf-8")
    from_file, from_stdout = csv_table(tmp_path / "file.csv"), csv_table(tmp_path / "stdout.csv")
    assert from_stdout[0].keys() == from_file[0].keys()
    assert from_stdout[1].keys() == from_file[1].keys()
    for name, column in from_file[1].items():
        np.testing.assert_array_equal(from_stdout[1][name], column, err_msg=name)


def test_quiet_and_verbose(capsys, sample, tmp_path):
    argv = ["cut", sample(MAP), "--type", "CEE", "--at", "8638.9", "--width", "1.0", "-o", tmp_path / "c.csv"]
    code, out, err = run(capsys, *argv, "-q")
    assert code == 0 and out == "" and err == ""
    code, out, err = run(capsys, "-q", *argv)
    assert code == 0 and out == "" and err == ""
    code, out, err = run(capsys, *argv, "-v")
    assert code == 0 and "wrote" in out and f"reading {sample(MAP)}" in err
    code, out, err = run(capsys, *argv)
    assert code == 0 and "wrote" in out and err == ""
    code, _, err = run(capsys, *argv, "-q", "-v")
    assert_user_error(code, err, "-q", "-v")
    # -q never hides errors, nor the data a command exists to print
    code, _, err = run(capsys, "-q", "cut", sample(WIDE), "--type", "CEE", "--at", "1", "--width", "1", "-o", tmp_path / "x.csv")
    assert_user_error(code, err, "not an RXES map")
    code, out, _ = run(capsys, "info", "-q", sample(WIDE))
    assert code == 0 and "990110" in out


def test_no_clobber_keeps_existing_files(capsys, sample, tmp_path):
    for argv in (["export", sample(WIDE), "-o"], ["plot", sample(WIDE), "-o"],
                 ["cut", sample(MAP), "--type", "CEE", "--at", "8638.9", "--width", "1", "-o"]):
        target = tmp_path / ("x.png" if argv[0] == "plot" else "x.csv")
        target.write_text("precious", encoding="utf-8")
        code, _, err = run(capsys, *argv, target, "--no-clobber")
        assert_user_error(code, err, "exists", "--no-clobber")
        assert target.read_text(encoding="utf-8") == "precious"
        code, _, err = run(capsys, *argv, target)
        assert code == 0, err
        assert target.read_bytes() != b"precious"
        target.unlink()


def test_info_on_a_folder_lists_every_scan_and_each_bad_file_once(capsys, samples_dir, tmp_path):
    for name in ("990110_1.nxs", "990111_1.nxs", "ZnO_synthetic_990110_1.dat"):
        (tmp_path / name).symlink_to(samples_dir / name)
    (tmp_path / "broken_1.nxs").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 40)
    (tmp_path / "medipix2-990110.hdf").write_bytes(b"raw frames")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    code, out, err = run(capsys, "info", tmp_path)
    assert code == 2
    described = re.findall(r"^(\S+)$", out, re.M)
    assert [Path(p).name for p in described] == ["990110_1.nxs", "990111_1.nxs", "ZnO_synthetic_990110_1.dat"]
    assert err.count("\n") == 1 and "broken_1.nxs" in err and "Traceback" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "info", empty)
    assert code == 2 and "no scan files" in err


def test_completion_scripts(capsys, tmp_path):
    code, bash_script, _ = run(capsys, "completion", "bash")
    assert code == 0
    script = tmp_path / "xestools.bash"
    script.write_text(bash_script, encoding="utf-8")
    # Complete "xestools cu" and "xestools cut --ty" in a real bash, as the shell would on <TAB>.
    probe = (f"source {shlex.quote(str(script))}\n"
             "COMP_WORDS=(xestools cu); COMP_CWORD=1; COMP_LINE='xestools cu'; COMP_POINT=${#COMP_LINE}\n"
             "_shtab_xestools xestools cu xestools; echo \"A:${COMPREPLY[*]}\"\n"
             "COMP_WORDS=(xestools cut --ty); COMP_CWORD=2; COMP_LINE='xestools cut --ty'; COMP_POINT=${#COMP_LINE}\n"
             "_shtab_xestools xestools --ty cut; echo \"B:${COMPREPLY[*]}\"\n"
             "complete -p xestools\n")
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "A:cut" in done.stdout and "B:--type" in done.stdout
    assert "complete -o bashdefault -F _shtab_xestools xestools" in done.stdout
    code, zsh_script, _ = run(capsys, "completion", "zsh")
    assert code == 0 and zsh_script.startswith("#compdef xestools")
    for word in ("--no-clobber", "--channel", "normalise", "samples"):
        assert word in zsh_script
    code, _, err = run(capsys, "completion", "fish")
    assert_user_error(code, err, "fish")


def test_python_dash_m_xestools_and_version(tmp_path):
    done = subprocess.run([sys.executable, "-m", "xestools", "--version"], capture_output=True, text=True,
                          env=_subprocess_env(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr
    import xestools

    assert done.stdout == f"xestools {xestools.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+|rc\d+)?", xestools.__version__)
    done = subprocess.run([sys.executable, "-m", "xestools", "nonsense"], capture_output=True, text=True,
                          env=_subprocess_env(tmp_path), timeout=120)
    assert done.returncode == 2 and "invalid choice" in done.stderr
