"""Result items of the XES workspace (fit, calibration, alignment, a repeat left out of an average):
their numbers against independent numpy/scipy computations, undo as one step, and a session round trip.
Real I20 files; no QApplication."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import curve_fit

from xestools.model import evolve
from xestools.workspace import Workspace, load_files
from xestools.workspace.history import History, Recorder
from xestools.workspace.items import ItemKind
from xestools.workspace.results import FitSettings

VTC, WIDE = "280772_1.nxs", "280754_1.nxs"
WINDOW = (9625.0, 9670.0)


@pytest.fixture(scope="module")
def outcomes(real_file):
    return load_files([str(real_file(name)) for name in (VTC, WIDE)])


@pytest.fixture
def history(outcomes):
    workspace = Workspace()
    workspace.add_outcomes(outcomes)
    return History(Recorder(workspace))


def vtc(workspace):
    return next(item for item in workspace.xes.all_items() if item.name == VTC)


def saved_state(workspace) -> str:
    saved = workspace.to_state()
    for key in ("normalise", "metrics", "average", "plot"):
        saved["xes_panel"].pop(key)
    return json.dumps(saved, sort_keys=True)


def one_undoable_step(history, change):
    workspace = history.recorder.workspace
    before = saved_state(workspace)
    result = change(workspace)
    after = saved_state(workspace)
    assert after != before
    assert history.commit() is not None
    assert history.undo() and saved_state(workspace) == before
    assert history.redo() and saved_state(workspace) == after
    return result


def restored(workspace):
    """A new workspace restored from ``workspace``'s session state (files read again)."""
    state = json.loads(json.dumps(workspace.to_state()))
    again = Workspace()
    again.restore(state, lambda paths, deliver: deliver(load_files(paths)))
    return again


def two_gaussians(energy, a1, c1, s1, a2, c2, s2, intercept, slope, ref):
    def gauss(a, c, s):
        return a / (s * np.sqrt(2 * np.pi)) * np.exp(-((energy - c) ** 2) / (2 * s**2))
    return gauss(a1, c1, s1) + gauss(a2, c2, s2) + intercept + slope * (energy - ref)


def test_a_fit_item_holds_the_sum_and_components_of_an_independent_least_squares_fit(history):
    workspace = history.recorder.workspace
    scan = vtc(workspace)
    settings = FitSettings((9637.0, 9656.0), shape="gaussian", background="linear", window=WINDOW)
    added = one_undoable_step(history, lambda ws: ws.xes.add_fit(scan.uid, settings))
    added = [workspace.xes.item(item.uid) for item in added]
    assert [item.kind for item in added] == [ItemKind.FIT] * 3
    assert [item.params["part"] for item in added] == ["fit", "p1", "p2"]
    assert added[0].name == f"fit of {VTC}" and added[0].inputs == [scan.uid]

    spectrum = scan.spectrum
    inside = (spectrum.energy >= WINDOW[0]) & (spectrum.energy <= WINDOW[1])
    energy, data, sigma = spectrum.energy[inside], spectrum.intensity[inside], spectrum.uncertainty[inside]
    ref = (energy.min() + energy.max()) / 2

    def model(e, a1, c1, s1, a2, c2, s2, intercept, slope):
        return two_gaussians(e, a1, c1, s1, a2, c2, s2, intercept, slope, ref)
    start = [data.max() * 5, 9637.0, 2.0, data.max() * 10, 9656.0, 3.0, data.min(), 0.0]
    values, _ = curve_fit(model, energy, data, p0=start, sigma=sigma, absolute_sigma=False, maxfev=20000,
                          ftol=1e-15, xtol=1e-15, gtol=1e-15)
    order = np.argsort(energy)
    np.testing.assert_allclose(added[0].spectrum.intensity, model(energy, *values)[order] if
                               not np.all(np.diff(energy) > 0) else model(energy, *values), rtol=1e-5)
    assert added[0].params["p1 centre"] == pytest.approx(values[1], rel=1e-6)
    assert added[0].params["p2 area"] == pytest.approx(values[3], rel=1e-5)
    np.testing.assert_allclose(added[0].spectrum.intensity, added[1].spectrum.intensity + added[2].spectrum.intensity
                               + values[6] + values[7] * (np.sort(energy) - ref), rtol=1e-5)

    again = restored(workspace)
    fits = [item for item in again.xes.all_items() if item.kind is ItemKind.FIT]
    assert [item.name for item in fits] == [item.name for item in added] and again.xes.failures == []
    for new, old in zip(fits, added):
        np.testing.assert_array_equal(new.spectrum.intensity, old.spectrum.intensity)


def test_a_calibration_is_a_new_item_on_shifted_energies_and_survives_a_session(history):
    from scipy.optimize import curve_fit as fit

    from xestools.analysis.alignment import Calibration

    workspace = history.recorder.workspace
    wide = next(item for item in workspace.xes.all_items() if item.name == WIDE)
    window = (9565.0, 9580.0)
    calibration = workspace.xes.calibration_from_item(wide.uid, 9572.0, window, shape="gaussian")
    spectrum = wide.spectrum
    inside = (spectrum.energy >= window[0]) & (spectrum.energy <= window[1])
    e, y, s = spectrum.energy[inside], spectrum.intensity[inside], spectrum.uncertainty[inside]
    ref = (e.min() + e.max()) / 2

    def line(x, area, centre, width, intercept, slope):
        return area / (width * np.sqrt(2 * np.pi)) * np.exp(-((x - centre) ** 2) / (2 * width**2)) + intercept + slope * (x - ref)
    values, _ = fit(line, e, y, p0=[y.max() * 5, e[np.argmax(y)], 2.0, y.min(), 0.0], sigma=s, maxfev=20000, ftol=1e-15, xtol=1e-15, gtol=1e-15)
    assert calibration.offset == pytest.approx(9572.0 - values[1], abs=1e-5)

    raw_energy = spectrum.energy.copy()
    added = one_undoable_step(history, lambda ws: ws.xes.calibrate([wide.uid], Calibration(0.25, 0.01, 1e-4, 0.0, 9572.0, "test")))
    item = workspace.xes.item(added[0].uid)
    np.testing.assert_allclose(item.spectrum.energy, raw_energy + 0.25 + 1e-4 * (raw_energy - 9572.0), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(wide.spectrum.energy, raw_energy)          # the input keeps its raw energies
    assert "calibrated +0.250 eV" in item.name and item.spectrum.metadata["calibration"]["offset"] == 0.25
    again = next(i for i in restored(workspace).xes.all_items() if i.kind is ItemKind.CALIBRATED)
    np.testing.assert_array_equal(again.spectrum.energy, item.spectrum.energy)


def test_alignment_recovers_a_known_shift_and_records_it(history):
    workspace = history.recorder.workspace
    scan = vtc(workspace)
    moved = evolve(scan.spectrum, energy=scan.spectrum.energy + 0.8, label="moved", source="")
    copy = workspace.xes.add_spectra([moved])[0]
    history.commit()
    added = one_undoable_step(history, lambda ws: ws.xes.align([copy.uid, scan.uid], scan.uid, window=WINDOW))
    item = workspace.xes.item(added[0].uid)
    assert len(added) == 1 and item.kind is ItemKind.ALIGNED and item.inputs == [copy.uid, scan.uid]
    shift, sigma = item.params["shift_eV"], item.params["shift_sigma_eV"]
    assert abs(shift + 0.8) < max(3 * sigma, 0.02) and item.params["method"] == "xcorr"
    np.testing.assert_allclose(item.spectrum.energy, moved.energy + shift, rtol=0, atol=1e-9)
    assert "aligned to" in item.name and f"{shift:+.3f}" in item.name


def test_a_repeat_left_out_of_an_average_is_recorded_and_undone(history):
    workspace = history.recorder.workspace
    scan = vtc(workspace)
    rng = np.random.default_rng(3)
    spectrum = scan.spectrum
    copies = [evolve(spectrum, intensity=spectrum.intensity + rng.normal(0, 1, spectrum.intensity.shape) * spectrum.uncertainty,
                     label=f"repeat {n}", source="") for n in (2, 3)]
    damaged = evolve(spectrum, intensity=spectrum.intensity * 0.7, label="repeat 4", source="")
    members = [scan.uid] + [item.uid for item in workspace.xes.add_spectra(copies + [damaged])]
    average = workspace.xes.average(members)
    history.commit()
    table = workspace.xes.repeats_of(members, WINDOW)
    assert "inconsistent" in table.rows[3].flag or table.rows[3].flags
    one_undoable_step(history, lambda ws: ws.xes.exclude_repeat(average.uid, members[3], "radiation damage"))
    item = workspace.xes.item(average.uid)
    kept = np.mean([spectrum.intensity] + [copy.intensity for copy in copies], axis=0)
    order = np.argsort(spectrum.energy)
    np.testing.assert_allclose(item.spectrum.intensity, kept[order], rtol=1e-12)
    assert item.params["excluded"] == [3] and item.params["reasons"] == {"3": "radiation damage"}
    assert item.name.endswith("without repeat 4")
    assert item.spectrum.metadata["excluded"][0]["reason"] == "radiation damage"
    workspace.xes.include_all_repeats(average.uid)
    assert "without" not in workspace.xes.item(average.uid).name and "excluded" not in workspace.xes.item(average.uid).params


def test_an_average_following_its_series_keeps_a_repeat_left_out(history):
    workspace = history.recorder.workspace
    scan = vtc(workspace)
    spectrum = scan.spectrum
    copies = [evolve(spectrum, intensity=spectrum.intensity * factor, label=f"r{n}", source="")
              for n, factor in enumerate((1.01, 0.5, 0.99))]
    members = [scan.uid] + [item.uid for item in workspace.xes.add_spectra(copies)]
    average = workspace.xes.average(members[:3])
    workspace.xes.exclude_repeat(average.uid, members[2], "half the counts")
    workspace.xes.update_average(average.uid, members, "average (4 scans)")
    item = workspace.xes.item(average.uid)
    order = np.argsort(spectrum.energy)
    expected = np.mean([spectrum.intensity, copies[0].intensity, copies[2].intensity], axis=0)[order]
    np.testing.assert_allclose(item.spectrum.intensity, expected, rtol=1e-12)
    assert item.name == "average (4 scans) without r1" and item.params["excluded"] == [2]
