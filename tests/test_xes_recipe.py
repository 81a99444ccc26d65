"""The XES steps of a batch recipe (align → background → fit → metrics) and metrics windows per axis."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from xestools import batch
from xestools.analysis.alignment import find_shift, shift_spectrum
from xestools.analysis.fitting import fit_lines
from xestools.analysis.metrics import line_shape_metrics
from xestools.io import load
from xestools.xes_recipe import XesSteps, window_for

VTC = ["990111_1.nxs", "990112_1.nxs", "990113_1.nxs"]
MAP = "990101_1.nxs"


def write_recipe(path: Path, **parts) -> Path:
    path.write_text(json.dumps({"format": "xestools-recipe", "version": 1, **parts}), encoding="utf-8")
    return path


def summary(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_xes_chain_gives_the_numbers_of_the_analysis_functions(samples_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in VTC:
        shutil.copy(samples_dir / name, data / name)
    first = load(data / VTC[0])[0]
    energy = np.asarray(first.energy)
    lo, hi = float(energy[5]), float(energy[-5])
    top = float(energy[np.argmax(first.intensity)])
    xes = {"align": {"reference": str(data / VTC[0]), "window": [lo, hi]},
           "fit": {"peaks": [top], "shape": "voigt", "background": "linear", "windows": {"emission": [lo, hi]}}}
    recipe = batch.Recipe.load(write_recipe(tmp_path / "xes.json", xes=xes,
                                            metrics={"window": [lo, hi], "windows": {"incident": [1, 2]}}))
    assert recipe.xes.fit_peaks == (top,) and recipe.metrics_windows == (("incident", (1.0, 2.0)),)
    assert batch.Recipe.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe
    report = batch.run_batch([data / VTC[1]], recipe, tmp_path / "out")
    (outcome,) = report.outcomes
    (product,) = outcome.products
    assert not product.error, product.error
    spectrum = load(data / VTC[1])[0]
    aligned = shift_spectrum(spectrum, find_shift(spectrum, first, (lo, hi)))
    fit = fit_lines(aligned, [top], shape="voigt", window=(lo, hi))
    expected = line_shape_metrics(aligned, window=(lo, hi), fitted_peak=(fit.components[0].center.value,
                                                                          fit.components[0].center.sigma))
    # bit for bit (NaN fields compared as text)
    assert json.dumps(product.metrics, sort_keys=True) == json.dumps(expected.as_dict(), sort_keys=True)
    assert any(note.startswith("aligned to 990111_1.nxs") for note in product.notes)
    assert any(note.startswith("fit (voigt)") for note in product.notes)


def test_metrics_window_per_axis_is_used_for_cuts_on_the_incident_energy(samples_dir, tmp_path):
    """A CEE cut runs against Ω: the emission window 8630–8645 eV would leave it empty; its own window is used."""
    recipe = batch.Recipe(cuts=(batch.CutStep("CEE", 8638.9, 1.0),), metrics=True, metrics_window=(8630.0, 8645.0),
                          metrics_windows=(("incident", (9659.0, 9662.0)),))
    report = batch.run_batch([samples_dir / MAP], recipe, tmp_path / "out")
    (product,) = report.outcomes[0].products
    assert not product.error
    assert (product.metrics["window_lo"], product.metrics["window_hi"]) == (9659.0, 9662.0)
    assert window_for((), "incident", (8630.0, 8645.0)) is None
    assert window_for((), "emission", (8630.0, 8645.0)) == (8630.0, 8645.0)


def test_bad_xes_steps_are_recipe_errors(tmp_path):
    with pytest.raises(batch.RecipeError, match="xes.fit.shape"):
        batch.Recipe.load(write_recipe(tmp_path / "a.json", xes={"fit": {"peaks": [9650], "shape": "box"}}))
    with pytest.raises(batch.RecipeError, match="does not exist"):
        batch.Recipe.load(write_recipe(tmp_path / "b.json", xes={"align": {"reference": "missing.nxs"}}))
    with pytest.raises(batch.RecipeError, match="metrics.windows"):
        batch.Recipe.load(write_recipe(tmp_path / "c.json", metrics={"windows": {"omega": [1, 2]}}))
    assert XesSteps().to_dict() == {}
