"""``xestools fit | align | repeats | background | metrics`` on the synthetic sample scans, compared
with the analysis functions they front and with independent numbers."""
from __future__ import annotations

import json

import numpy as np
import pytest

from xestools.io import load
from xestools.model import evolve

from cli_run import run   # tests/cli_run.py

WIDE = "990110_1.nxs"
VTC = ["990111_1.nxs", "990112_1.nxs", "990113_1.nxs"]


def vtc_window(path: str) -> tuple[float, float]:
    energy = np.asarray(load(path)[0].energy)
    return float(energy[0] + 5), float(energy[-1] - 5)


def test_fit_json_has_the_issue_keys_and_equals_the_library(capsys, sample):
    from xestools.analysis.fitting import fit_lines

    spectrum = load(sample(VTC[0]))[0]
    top = float(np.asarray(spectrum.energy)[np.argmax(spectrum.intensity)])
    code, out, err = run(capsys, "fit", sample(VTC[0]), "--peaks", f"{top}", "--shape", "voigt", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert {"chi2_reduced", "components", "background", "ratios"} <= set(record)
    component = record["components"][0]
    assert {"center", "center_sigma", "fwhm", "fwhm_sigma", "height", "area", "area_sigma"} <= set(component)
    direct = fit_lines(spectrum, [top], shape="voigt")
    assert component["center"] == direct.components[0].center.value
    assert record["chi2_reduced"] == direct.chi2_reduced


def test_fit_writes_a_parameter_table_and_a_nexus_process(capsys, sample, tmp_path):
    import h5py

    spectrum = load(sample(VTC[0]))[0]
    top = float(np.asarray(spectrum.energy)[np.argmax(spectrum.intensity)])
    table = tmp_path / "fit.csv"
    code, _, err = run(capsys, "fit", sample(VTC[0]), "--peaks", f"{top - 8},{top}", "--share-width", "-o", table)
    assert code == 0, err
    text = table.read_text()
    assert "component,quantity,value,sigma,determined" in text and "ratio,p1/p2," in text
    nexus = tmp_path / "fit.nxs"
    assert run(capsys, "fit", sample(VTC[0]), "--peaks", f"{top}", "-o", nexus)[0] == 0
    with h5py.File(nexus, "r") as handle:
        steps = [json.loads(handle[f"entry/process/{name}/data"][()]) for name in handle["entry/process"]
                 if name.startswith("step_")]
    assert steps[-1]["operation"] == "fit" and steps[-1]["shape"] == "voigt"
    assert load(nexus)[0].label.startswith("fit of")


def test_fit_refuses_bad_input_in_one_line(capsys, sample):
    code, _, err = run(capsys, "fit", sample(VTC[0]), "--peaks", "96x")
    assert code == 2 and err.count("\n") == 1 and "peak positions must be numbers" in err
    code, _, err = run(capsys, "fit", sample(VTC[0]), "--peaks", "9650", "--window", "1", "2")
    assert code == 2 and err.startswith("xestools: error: cannot fit") and "Traceback" not in err


def test_align_json_recovers_a_shift_and_writes_aligned_files(capsys, sample, tmp_path):
    reference = load(sample(VTC[0]))[0]
    moved = evolve(reference, energy=np.asarray(reference.energy) + 0.2, label="moved")
    from xestools.io import write_csv

    write_csv(moved, tmp_path / "moved.csv")
    code, out, err = run(capsys, "align", tmp_path / "moved.csv", "--to", sample(VTC[0]), "--json",
                         "-o", tmp_path)
    assert code == 0, err
    (record,) = json.loads(out)
    assert set(record) == {"file", "shift_eV", "shift_sigma_eV"}
    assert abs(record["shift_eV"] + 0.2) < max(record["shift_sigma_eV"], 0.01)
    aligned = load(tmp_path / "moved_aligned.csv")[0]
    np.testing.assert_allclose(aligned.energy, np.asarray(moved.energy) + record["shift_eV"], atol=1e-9)


def test_repeats_json_matches_the_issue_and_the_library(capsys, sample):
    from xestools.analysis.repeats import repeats_table

    paths = [sample(name) for name in VTC]
    code, out, err = run(capsys, "repeats", *paths, "--json")
    assert code == 0, err
    record = json.loads(out)
    assert [row["file"] for row in record["repeats"]] == paths
    for row in record["repeats"]:
        assert {"file", "scan", "start_time", "peak", "peak_sigma", "area", "area_sigma", "iad", "chi2_reduced",
                "flag"} <= set(row)
    assert set(record["trend"]) >= {"metric", "slope_per_repeat", "slope_sigma", "flagged"}
    direct = repeats_table([load(path)[0] for path in paths])
    assert record["repeats"][1]["area"] == direct.rows[1].area
    code, _, err = run(capsys, "repeats", paths[0])
    assert code == 2 and "two or more" in err


def test_background_json_and_subtracted_output(capsys, sample, tmp_path):
    from xestools.analysis.background import default_exclusions, fit_background

    out_file = tmp_path / "sub.csv"
    code, out, err = run(capsys, "background", sample(VTC[0]), "--model", "pearson7+linear", "--wide", sample(WIDE),
                         "--json", "-o", out_file)
    assert code == 0, err
    record = json.loads(out)
    spectrum, wide = load(sample(VTC[0]))[0], load(sample(WIDE))[0]
    direct = fit_background(spectrum, ["pearson7", "linear"], exclusions=default_exclusions(spectrum), wide=wide)
    assert record["reduced_chi_square"] == pytest.approx(direct.reduced_chi_square, rel=1e-12)
    assert record["sensible"] == direct.sensible and record["exclusions"] == [list(s) for s in direct.exclusions]
    written = load(out_file)[0]
    np.testing.assert_allclose(written.intensity, direct.residual.intensity, rtol=1e-12)
    code, out, _ = run(capsys, "background", sample(VTC[0]), "--exclude", "9640", "9650", "--exclude", "9655", "9660",
                       "--json")
    assert code == 0 and json.loads(out)["exclusions"] == [[9640.0, 9650.0], [9655.0, 9660.0]]


def test_metrics_json_and_csv(capsys, sample):
    from xestools.analysis.metrics import line_shape_metrics

    lo, hi = vtc_window(sample(VTC[0]))
    code, out, err = run(capsys, "metrics", sample(VTC[0]), sample(VTC[1]), "--window", lo, hi, "--json")
    assert code == 0, err
    rows = json.loads(out)
    direct = line_shape_metrics(load(sample(VTC[1]))[0], window=(lo, hi))
    assert rows[1]["area"] == direct.area and rows[1]["peak_method_spread"] == direct.peak_method_spread
    code, out, _ = run(capsys, "metrics", sample(VTC[0]), "--window", lo, hi)
    assert code == 0 and out.startswith("Item,Computed on,Peak (eV)")
