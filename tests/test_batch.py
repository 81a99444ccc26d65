"""``xestools batch``: a folder of good, bad and in-progress scans; outputs equal the single-file CLI results."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from xestools import batch, cli
from xestools.io import load

GOOD = ("279517_1.nxs", "XES_ZnZSM5_air500_279192_1.dat", "280772_1.nxs", "ZnO_standard_280772_1.dat")
CUT = {"type": "CEE", "position": 8638.9, "width": 1.0}


def write_recipe(path: Path, **parts) -> Path:
    path.write_text(json.dumps({"format": "xestools-recipe", "version": 1, **parts}), encoding="utf-8")
    return path


def in_progress_copy(source: Path, target: Path, rows: int) -> Path:
    """A .dat as it looks while GDA writes it: header, ``rows`` data rows, half a row, no footer."""
    lines = source.read_text(encoding="latin-1").split("\n")
    first = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
    target.write_text("\n".join(lines[:first + rows]) + "\n" + lines[first + rows][:12], encoding="latin-1")
    return target


@pytest.fixture()
def folder(tmp_path, real_file):
    data = tmp_path / "data"
    data.mkdir()
    for name in GOOD:
        shutil.copy(real_file(name), data / name)
    whole = real_file("279517_1.nxs").read_bytes()
    (data / "279999_1.nxs").write_bytes(whole[: len(whole) // 3])                 # a truncated copy
    (data / "notes_280000_1.dat").write_text("this is not a scan\n", encoding="utf-8")
    in_progress_copy(real_file("ZnO_standard_280772_1.dat"), data / "ZnO_standard_280790_1.dat", 60)
    (data / "medipix2-280772.hdf").write_bytes(b"raw frames")                       # never taken from a folder
    return data


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    status = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def summary(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def assert_same_output(batch_file: Path, cli_file: Path) -> None:
    (ours,) = load(batch_file)
    (theirs,) = load(cli_file)
    np.testing.assert_array_equal(ours.energy, theirs.energy)
    np.testing.assert_array_equal(ours.intensity, theirs.intensity)
    np.testing.assert_array_equal(ours.uncertainty, theirs.uncertainty)
    assert ours.label == theirs.label and ours.axis == theirs.axis
    assert ours.metadata.get("cut") == theirs.metadata.get("cut")
    assert ours.metadata.get("normalisation") == theirs.metadata.get("normalisation")


def test_folder_with_good_bad_and_in_progress_files(folder, tmp_path, capsys):
    recipe = write_recipe(tmp_path / "recipe.json", cuts=[CUT], metrics={})
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(capsys, "batch", folder, "--recipe", recipe, "-o", out, "--jobs", 2)
    assert status == 2
    failed_block = stderr.split("failed:")[-1]
    assert "279999_1.nxs" in failed_block and "notes_280000_1.dat" in failed_block
    assert "280772_1.nxs" not in failed_block and "medipix2" not in stderr
    assert stderr.count("xestools batch: [") == 7 and "[7/7]" in stderr
    rows = {(row["input"], row["item"]): row for row in summary(out / "summary.csv")}
    assert rows[("279999_1.nxs", "")]["status"] == "failed"
    assert "truncated" in rows[("279999_1.nxs", "")]["notes"]
    partial = rows[("ZnO_standard_280790_1.dat", "spectrum")]
    assert partial["status"] == "ok" and "60 of 201 points" in partial["notes"]
    for name in ("279517_1.nxs", "XES_ZnZSM5_air500_279192_1.dat"):
        expected = tmp_path / f"cli_{name}.csv"
        assert run_cli(capsys, "cut", folder / name, "--type", "CEE", "--at", 8638.9, "--width", 1.0,
                       "-o", expected)[0] == 0
        produced = Path(rows[(name, "CEE ω = 8638.90 eV ± 0.50")]["output"])
        assert produced.parent == out
        assert_same_output(produced, expected)
        (cut_spectrum,) = load(expected)
        finite = np.isfinite(cut_spectrum.intensity)
        area = np.sum(np.diff(cut_spectrum.energy[finite])
                      * (cut_spectrum.intensity[finite][1:] + cut_spectrum.intensity[finite][:-1]) / 2)
        assert float(rows[(name, "CEE ω = 8638.90 eV ± 0.50")]["area"]) == pytest.approx(area, rel=1e-12)
    for name in ("280772_1.nxs", "ZnO_standard_280790_1.dat"):
        expected = tmp_path / f"cli_{name}.csv"
        assert run_cli(capsys, "export", folder / name, "-o", expected)[0] == 0
        assert_same_output(Path(rows[(name, "spectrum")]["output"]), expected)


def test_normalised_spectra_equal_the_cli_and_series_are_averaged_once(samples_dir, tmp_path, capsys, real_file):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("990111_1.nxs", "990112_1.nxs", "990113_1.nxs"):
        shutil.copy(samples_dir / name, data / name)
    shutil.copy(real_file("280772_1.nxs"), data)
    shutil.copy(real_file("ZnO_standard_280772_1.dat"), data)
    recipe = write_recipe(tmp_path / "norm.json", normalise={"window": [9630, 9670], "reference": None},
                          average={"grid": "overlap"}, metrics={"window": [9640, 9670]})
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(capsys, "batch", data, "--recipe", recipe, "-o", out, "-j", 2)
    assert status == 0, stderr
    rows = summary(out / "summary.csv")
    averages = [row for row in rows if row["input"].startswith("average_")]
    assert [row["input"] for row in averages] == ["average_ZnO_synthetic_VtC_XES_lower_990111-990113"]
    expected = tmp_path / "cli_normalised.csv"
    assert run_cli(capsys, "normalise", data / "990112_1.nxs", "--window", 9630, 9670, "-o", expected)[0] == 0
    assert_same_output(out / "990112_1.csv", expected)
    average_cli = tmp_path / "cli_average.csv"
    assert run_cli(capsys, "average", *(data / f"{n}_1.nxs" for n in (990111, 990112, 990113)),
                   "-o", average_cli)[0] == 0
    normalised_cli = tmp_path / "cli_average_normalised.csv"
    assert run_cli(capsys, "normalise", average_cli, "--window", 9630, 9670, "-o", normalised_cli)[0] == 0
    (ours,) = load(Path(averages[0]["output"]))
    (theirs,) = load(normalised_cli)
    np.testing.assert_array_equal(ours.intensity, theirs.intensity)
    assert len(ours.metadata["members"]) == 3


def test_a_worker_that_hangs_or_dies_fails_only_its_input(tmp_path, real_data, real_file, capsys):
    damaged = real_data.parent / "damaged" / "corrupt_export_hangs_hdf5.nxs"
    if not damaged.is_file():
        pytest.skip(f"damaged sample {damaged} not found")
    recipe = write_recipe(tmp_path / "r.json")
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(capsys, "batch", real_file("280772_1.nxs"), damaged, "--recipe", recipe,
                                     "-o", out, "--jobs", 2, "--timeout", 10)
    assert status == 2
    assert (out / "280772_1.csv").is_file()
    rows = summary(out / "summary.csv")
    assert [row["status"] for row in rows] == ["ok", "failed"]
    assert "corrupt_export_hangs_hdf5.nxs" in stderr.split("failed:")[-1]


def test_outputs_never_replace_inputs(tmp_path, real_file, capsys):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(real_file("280772_1.nxs"), data)
    before = (data / "280772_1.nxs").read_bytes()
    recipe = write_recipe(tmp_path / "r.json", output={"format": "nxs"})
    status, _, stderr = run_cli(capsys, "batch", data, "--recipe", recipe, "-o", data, "-j", 1)
    assert status == 2 and "would replace an input file" in stderr
    assert (data / "280772_1.nxs").read_bytes() == before


def test_recipe_round_trip_and_clear_errors(tmp_path, real_file):
    recipe = batch.Recipe(name="VtC", channel="lower", cuts=(batch.CutStep("CET", 1021.0, 0.5, "mean", "transfer"),),
                          normalise_window=(9560.0, 9590.0), normalise_reference=str(real_file("280754_1.nxs")),
                          background_components=("pearson7", "linear"), background_exclusions=((9640.0, 9665.0),),
                          metrics=True, metrics_window=(9640.0, 9670.0), average=True, average_weighted=True,
                          output_format="nxs")
    path = tmp_path / "recipe.json"
    recipe.save(path)
    assert batch.Recipe.load(path) == recipe
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "xestools-recipe" and data["version"] == 1
    for change, message in (({"version": 2}, "newer xestools"), ({"cutz": []}, "unknown field"),
                            ({"cuts": [{"type": "XYZ", "position": 1, "width": 1}]}, "CIE, CEE or CET"),
                            ({"normalise": {"window": [1, 1]}}, "two different"),
                            ({"normalise": {"window": [1, 2], "reference": "missing.nxs"}}, "does not exist"),
                            ({"format": "other"}, "not a xestools recipe")):
        broken = tmp_path / "broken.json"
        broken.write_text(json.dumps({**data, **change}), encoding="utf-8")
        with pytest.raises(batch.RecipeError, match=message):
            batch.Recipe.load(broken)
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(batch.RecipeError, match="bad.json: not valid JSON"):
        batch.Recipe.load(tmp_path / "bad.json")


def test_cli_reports_a_bad_recipe_in_one_line(tmp_path, real_file, capsys):
    (tmp_path / "r.json").write_text('{"format": "xestools-recipe", "version": 1, "cuts": 3}', encoding="utf-8")
    status, _, stderr = run_cli(capsys, "batch", real_file("280772_1.nxs"), "--recipe", tmp_path / "r.json",
                                "-o", tmp_path / "out")
    assert status == 2 and stderr.strip().count("\n") == 0 and "cuts" in stderr


def test_the_documented_recipe_is_valid(real_data):
    text = (Path(__file__).resolve().parents[1] / "docs" / "recipe.md").read_text(encoding="utf-8")
    example = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    recipe = batch.Recipe.from_dict(example, real_data)
    assert [step.type for step in recipe.cuts] == ["CEE", "CIE"]
    assert recipe.normalise_reference == str(real_data / "280754_1.nxs")
    assert batch.Recipe.from_dict(recipe.to_dict()) == recipe


def test_cut_steps_from_analysis_specs():
    from xestools.analysis import CutSpec, View

    step = batch.CutStep.from_spec(CutSpec("CIE", 9661.0, 0.6, mean=True), View.TRANSFER)
    assert step == batch.CutStep("CIE", 9661.0, 0.6, "mean", "transfer")
    assert step.spec() == CutSpec("CIE", 9661.0, 0.6, mean=True)


def test_inputs_without_the_recipe_channel_are_skipped_not_failed(tmp_path, real_file, capsys):
    recipe = write_recipe(tmp_path / "r.json", channel="upper", cuts=[CUT])
    status, _, stderr = run_cli(capsys, "batch", real_file("279517_1.nxs"), real_file("280772_1.nxs"),
                                real_file("279496_1.nxs"), "--recipe", recipe, "-o", tmp_path / "out")
    assert status == 0, stderr
    rows = summary(tmp_path / "out" / "summary.csv")
    assert [(row["input"], row["status"]) for row in rows] == [
        ("279517_1.nxs", "ok"), ("280772_1.nxs", "skipped"), ("279496_1.nxs", "ok")]
    assert "no upper channel" in rows[1]["notes"]
    assert rows[2]["output"].endswith("279496_1.csv")          # only the upper spectrum of the two-channel file


def test_a_series_of_maps_is_averaged_then_cut(tmp_path, capsys):
    """Two repeats holding the same counts (generator, same seed, new scan numbers): σ of the mean is σ/√2."""
    import dataclasses

    from xestools import samples

    data = tmp_path / "data"
    data.mkdir()
    for number in (992000, 992001):
        samples.write_nexus(dataclasses.replace(samples.rxes_map_scan(), number=number), data / f"{number}_1.nxs")
    recipe = write_recipe(tmp_path / "r.json", cuts=[CUT], average={})
    out = tmp_path / "out"
    status, _, stderr = run_cli(capsys, "batch", data, "--recipe", recipe, "-o", out, "-j", 2)
    assert status == 0, stderr
    rows = [row for row in summary(out / "summary.csv") if row["input"].startswith("average_")]
    assert [row["input"] for row in rows] == ["average_ZnO_synthetic_Ka_RXES_upper_992000-992001"]
    single = tmp_path / "single.csv"
    assert run_cli(capsys, "cut", data / "992000_1.nxs", "--type", "CEE", "--at", 8638.9, "--width", 1.0,
                   "-o", single)[0] == 0
    (averaged,) = load(Path(rows[0]["output"]))
    (one_scan,) = load(single)
    np.testing.assert_allclose(averaged.intensity, one_scan.intensity, rtol=1e-12)
    np.testing.assert_allclose(averaged.uncertainty, one_scan.uncertainty / np.sqrt(2), rtol=1e-12)


def test_cancelling_stops_starting_new_inputs(tmp_path, samples_dir):
    inputs = [str(path) for path in sorted(samples_dir.glob("*.nxs"))] * 5   # 30 inputs, one worker
    seen = []
    report = batch.run_batch(inputs, batch.Recipe(average=True), tmp_path / "out", jobs=1,
                             progress=lambda done, total, outcome: seen.append(outcome.title),
                             cancelled=lambda: len(seen) >= 1)
    states = [outcome.skipped for outcome in report.outcomes]
    assert len(report.outcomes) == len(inputs) and not report.failures
    assert states[0] == "" and states[-1] == "cancelled before it started"
    assert not any(outcome.title.startswith("average_") for outcome in report.outcomes)
    rows = summary(Path(report.summary))
    assert rows[-1]["status"] == "skipped" and rows[-1]["notes"] == "cancelled before it started"


@pytest.mark.parametrize("content", ["[" * 100_000 + "]" * 100_000, '{"format": ' + "[" * 50 + "]" * 50 + "}",
                                     "\udcff"])
def test_a_damaged_recipe_is_a_user_error_not_an_internal_one(tmp_path, real_file, capsys, content):
    recipe = tmp_path / "recipe.json"
    recipe.write_text(content, encoding="utf-8", errors="surrogateescape")
    status, _, err = run_cli(capsys, "batch", real_file("280772_1.nxs"), "--recipe", recipe, "-o", tmp_path / "out")
    assert status == 2, err
    assert "recipe.json" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_fifo_as_recipe_is_refused_without_opening_it(tmp_path, real_file, capsys):
    import os

    fifo = tmp_path / "recipe.json"
    os.mkfifo(fifo)
    status, _, err = run_cli(capsys, "batch", real_file("280772_1.nxs"), "--recipe", fifo, "-o", tmp_path / "out")
    assert status == 2 and "not a regular file" in err


def test_each_output_records_only_the_steps_that_made_it(tmp_path, real_file, capsys):
    cuts = [dict(CUT, position=8630.0 + 0.5 * index) for index in range(40)]
    recipe = write_recipe(tmp_path / "many_cuts.json", cuts=cuts)
    out = tmp_path / "out"
    status, _, err = run_cli(capsys, "batch", real_file("279517_1.nxs"), "--recipe", recipe, "-o", out)
    assert status == 0, err
    outputs = sorted(out.glob("279517_1_CEE_*.csv"))
    assert len(outputs) == 40
    for path in outputs[:3]:
        (spectrum,) = load(path)
        line = next(text for text in path.read_text(encoding="utf-8").splitlines() if "batch_recipe" in text)
        recorded = json.loads(line.split("batch_recipe", 1)[1].lstrip(" :=\t"))
        assert len(recorded["cuts"]) == 1
        assert recorded["cuts"][0]["position"] == spectrum.metadata["cut"]["position"]
