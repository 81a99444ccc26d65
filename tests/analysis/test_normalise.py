"""Area normalisation against an independent trapezoid with interpolated window edges."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from xestools.analysis import (
    CutSpec,
    CutType,
    cut,
    normalise_area,
    normalise_map,
    remove_normalisation,
    window_area,
)
from xestools.model import RXESMap, Spectrum


def trapezoid_by_hand(energy, intensity, lo, hi):
    """∫ over [lo, hi] ∩ data range: points strictly inside plus linearly interpolated edge values."""
    pairs = sorted((e, i) for e, i in zip(energy, intensity) if math.isfinite(e) and math.isfinite(i))
    lo, hi = min(lo, hi), max(lo, hi)
    lo, hi = max(lo, pairs[0][0]), min(hi, pairs[-1][0])

    def value_at(x):
        for (e0, i0), (e1, i1) in zip(pairs[:-1], pairs[1:]):
            if e0 <= x <= e1:
                return i0 + (i1 - i0) * (x - e0) / (e1 - e0)
        raise AssertionError("outside")

    nodes = [(lo, value_at(lo))] + [(e, i) for e, i in pairs if lo < e < hi] + [(hi, value_at(hi))]
    area = 0.0
    for (x0, y0), (x1, y1) in zip(nodes[:-1], nodes[1:]):
        area += (x1 - x0) * (y0 + y1) / 2
    return area


def _spectrum(seed=0, label="ZnO vtc", with_sigma=True) -> Spectrum:
    rng = np.random.default_rng(seed)
    energy = 9620.0 + 0.3 * np.arange(60) + rng.uniform(-0.003, 0.003, 60)
    intensity = 50 + 400 * np.exp(-((energy - 9633.0) / 2.5) ** 2) + rng.normal(0, 3, 60)
    sigma = np.sqrt(intensity) if with_sigma else None
    return Spectrum(energy, intensity, sigma, label=label, source=f"/data/{seed}.nxs",
                    metadata={"operations": [{"name": "load"}]})


@pytest.mark.parametrize(
    "lo,hi",
    [(9625.13, 9640.77), (9623.0, 9623.9), (9640.77, 9625.13), (9600.0, 9700.0), (9619.0, 9621.05), (9630.0, 9630.1)],
)
def test_window_area_matches_hand_trapezoid(lo, hi):
    spectrum = _spectrum()
    area = window_area(spectrum.energy, spectrum.intensity, lo, hi)
    assert area == pytest.approx(trapezoid_by_hand(spectrum.energy, spectrum.intensity, lo, hi), rel=1e-12)


def test_window_area_on_a_straight_line_is_exact():
    energy = np.array([0.0, 1.0, 2.0, 3.0])
    # y = 2x + 1 over [0.5, 2.25]: (x² + x) from 0.5 to 2.25 = 7.3125 − 0.75
    assert window_area(energy, 2 * energy + 1, 0.5, 2.25) == pytest.approx(6.5625, rel=1e-14)


def test_window_area_skips_nan_points():
    energy = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    intensity = np.array([1.0, 1.0, np.nan, 1.0, 1.0])
    assert window_area(energy, intensity, 0.0, 4.0) == pytest.approx(4.0)


@settings(max_examples=50, deadline=None)
@given(fractions=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3, unique=True))
def test_window_area_is_additive(fractions):
    """Windows anywhere inside the data (its first point is jittered above 9620.0 eV)."""
    spectrum = _spectrum(4)
    lo, hi = float(spectrum.energy.min()), float(spectrum.energy.max())
    a, b, c = sorted(lo + f * (hi - lo) for f in fractions)
    assume(b - a > 1e-6 and c - b > 1e-6)
    whole = window_area(spectrum.energy, spectrum.intensity, a, c)
    parts = window_area(spectrum.energy, spectrum.intensity, a, b) + window_area(spectrum.energy, spectrum.intensity, b, c)
    assert parts == pytest.approx(whole, rel=1e-9, abs=1e-9)
    assert whole == pytest.approx(trapezoid_by_hand(spectrum.energy, spectrum.intensity, a, c), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    "energy,intensity,lo,hi,fragment",
    [
        ([0.0, 1.0, 2.0], [1.0, 1.0, 1.0], 1.0, 1.0, "zero width"),
        ([0.0, 1.0, 2.0], [1.0, 1.0, 1.0], 5.0, 6.0, "does not overlap"),
        ([0.0, 1.0, 2.0], [1.0, 1.0, 1.0], float("nan"), 1.0, "finite"),
        ([0.0], [1.0], 0.0, 1.0, "two finite points"),
    ],
)
def test_window_area_invalid(energy, intensity, lo, hi, fragment):
    with pytest.raises(ValueError, match=fragment):
        window_area(np.array(energy), np.array(intensity), lo, hi)


def test_normalise_by_own_area():
    spectrum = _spectrum(1)
    window = (9625.0, 9641.0)
    result = normalise_area(spectrum, window)
    area = trapezoid_by_hand(spectrum.energy, spectrum.intensity, *window)
    np.testing.assert_allclose(result.intensity, spectrum.intensity / area, rtol=1e-12)
    np.testing.assert_allclose(result.uncertainty, spectrum.uncertainty / area, rtol=1e-12)
    record = result.metadata["normalisation"]
    assert record["factor"] == pytest.approx(1 / area, rel=1e-12)
    assert record["area"] == pytest.approx(area, rel=1e-12)
    # the data end at 9637.7 eV: the window used is recorded, the request beside it under its own name
    assert record["window"] == [9625.0, float(spectrum.energy.max())] and record["reference"] == "self"
    assert record["requested_window"] == [9625.0, 9641.0] and record["window_clipped"] is True
    assert window_area(result.energy, result.intensity, *window) == pytest.approx(1.0, rel=1e-12)
    assert result.metadata["operations"][0] == {"name": "load"}
    assert result.metadata["operations"][-1]["name"] == "normalise_area"
    assert result.label == "ZnO vtc (area norm.)"
    assert "normalisation" not in spectrum.metadata  # the input is untouched


def test_repeated_normalisation_does_not_compound():
    spectrum = _spectrum(2)
    once = normalise_area(spectrum, (9625.0, 9641.0))
    twice = normalise_area(once, (9625.0, 9641.0))
    np.testing.assert_allclose(twice.intensity, once.intensity, rtol=1e-12)
    assert twice.metadata["normalisation"]["factor"] == pytest.approx(once.metadata["normalisation"]["factor"], rel=1e-12)
    assert [op["name"] for op in twice.metadata["operations"]] == ["load", "normalise_area"]
    assert twice.label == once.label
    other_window = normalise_area(once, (9630.0, 9636.0))
    area = trapezoid_by_hand(spectrum.energy, spectrum.intensity, 9630.0, 9636.0)
    np.testing.assert_allclose(other_window.intensity, spectrum.intensity / area, rtol=1e-12)


def test_normalise_to_a_reference():
    spectrum = _spectrum(3, label="sample")
    reference = _spectrum(5, label="standard")
    window = (9626.0, 9640.0)
    area = trapezoid_by_hand(reference.energy, reference.intensity, *window)
    result = normalise_area(spectrum, window, reference=reference)
    np.testing.assert_allclose(result.intensity, spectrum.intensity / area, rtol=1e-12)
    assert result.metadata["normalisation"]["reference"] == "standard"
    # a reference that is itself normalised counts with its un-normalised values
    again = normalise_area(spectrum, window, reference=normalise_area(reference, (9620.0, 9630.0)))
    np.testing.assert_allclose(again.intensity, result.intensity, rtol=1e-12)


def test_remove_normalisation_restores_the_original():
    spectrum = _spectrum(6)
    normalised = normalise_area(spectrum, (9625.0, 9641.0))
    restored = remove_normalisation(normalised)
    np.testing.assert_allclose(restored.intensity, spectrum.intensity, rtol=1e-13)
    np.testing.assert_allclose(restored.uncertainty, spectrum.uncertainty, rtol=1e-13)
    assert "normalisation" not in restored.metadata
    assert restored.metadata["operations"] == [{"name": "load"}]
    assert restored.label == spectrum.label
    assert remove_normalisation(spectrum) is spectrum


def test_normalisation_without_uncertainty():
    spectrum = _spectrum(7, with_sigma=False)
    result = normalise_area(spectrum, (9625.0, 9641.0))
    assert result.uncertainty is None


@pytest.mark.parametrize(
    "intensity,window,fragment",
    [
        (np.zeros(60), (9625.0, 9641.0), "zero area"),
        (-np.ones(60), (9625.0, 9641.0), "negative area"),
        (np.ones(60), (9625.0, 9625.0), "zero width"),
        (np.ones(60), (9700.0, 9710.0), "does not overlap"),
        (np.ones(60), (9625.0,), "two energies"),
    ],
)
def test_invalid_normalisation_raises(intensity, window, fragment):
    energy = 9620.0 + 0.3 * np.arange(60)
    with pytest.raises(ValueError, match=fragment):
        normalise_area(Spectrum(energy, intensity), window)


def test_reference_on_another_axis_is_refused():
    spectrum = _spectrum(8)
    herfd = Spectrum(spectrum.energy, spectrum.intensity, axis="incident")
    with pytest.raises(ValueError, match="axis"):
        normalise_area(spectrum, (9625.0, 9641.0), reference=herfd)


def _map(seed=0) -> RXESMap:
    rng = np.random.default_rng(seed)
    incident_axis = 9658.0 + 0.3 * np.arange(6)
    emission_axis = 8628.0 + 0.3 * np.arange(20)
    incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
    intensity = rng.uniform(1, 100, incident.shape)
    intensity[2, 3] = np.nan
    return RXESMap(incident, emission, incident_axis, emission_axis, intensity, np.sqrt(np.abs(intensity)),
                   label="map", metadata={"operations": [{"name": "load"}]})


def test_normalise_map_by_its_summed_xes():
    rxes_map = _map()
    window = (8629.0, 8633.0)
    sums = [sum(rxes_map.intensity[i, j] for i in range(6) if math.isfinite(rxes_map.intensity[i, j]))
            for j in range(20)]
    area = trapezoid_by_hand(rxes_map.emission_axis, sums, *window)
    result = normalise_map(rxes_map, None, window)
    np.testing.assert_allclose(result.intensity, rxes_map.intensity / area, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(result.uncertainty, rxes_map.uncertainty / area, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(result.mask, rxes_map.mask)
    assert result.metadata["normalisation"]["factor"] == pytest.approx(1 / area, rel=1e-12)
    again = normalise_map(result, None, window)
    np.testing.assert_allclose(again.intensity, result.intensity, rtol=1e-12, equal_nan=True)
    restored = remove_normalisation(again)
    np.testing.assert_allclose(restored.intensity, rxes_map.intensity, rtol=1e-12, equal_nan=True)
    assert restored.label == "map"


def test_normalise_map_by_reference_and_cut_of_normalised_map():
    rxes_map = _map(1)
    reference = _spectrum(9, label="standard")
    window = (9625.0, 9641.0)
    area = trapezoid_by_hand(reference.energy, reference.intensity, *window)
    normalised = normalise_map(rxes_map, reference, window)
    np.testing.assert_allclose(normalised.intensity, rxes_map.intensity / area, rtol=1e-12, equal_nan=True)
    spec = CutSpec(CutType.CEE, 8630.0, 0.2)
    plain_cut = cut(rxes_map, spec)
    normalised_cut = cut(normalised, spec)
    np.testing.assert_allclose(normalised_cut.intensity, plain_cut.intensity / area, rtol=1e-12, equal_nan=True)
    # the cut of a normalised map carries the normalisation and can be un-normalised
    cut_spectrum = normalised_cut.to_spectrum(normalised)
    assert cut_spectrum.metadata["normalisation"]["reference"] == "standard"
    restored = remove_normalisation(cut_spectrum)
    np.testing.assert_allclose(restored.intensity, plain_cut.intensity, rtol=1e-12, equal_nan=True)
    assert "(area norm.)" not in restored.label
    assert [op["name"] for op in restored.metadata["operations"]] == ["load", "cut"]


def test_corrupt_normalisation_record_is_refused():
    spectrum = _spectrum(10)
    broken = Spectrum(spectrum.energy, spectrum.intensity, metadata={"normalisation": {"factor": 0.0}})
    with pytest.raises(ValueError, match="no usable factor"):
        remove_normalisation(broken)


# ------------------------------------------------------------------ the window actually used
def test_reversed_and_empty_windows_are_refused():
    spectrum = Spectrum(np.linspace(9620.0, 9680.0, 201), np.ones(201))
    with pytest.raises(ValueError, match="runs backwards"):
        normalise_area(spectrum, (9660.0, 9640.0))
    with pytest.raises(ValueError, match="empty"):
        normalise_area(spectrum, (9650.0, 9650.0))
    with pytest.raises(ValueError, match="does not overlap"):
        normalise_area(spectrum, (9500.0, 9600.0))


def test_clipped_window_is_recorded_and_warned(real_file):
    """--window 9600 9640 on VtC data from 9620 eV: the area is over 9620–9640 eV, and the result says so."""
    import h5py

    from xestools.io import load

    (vtc,) = load(real_file("280772_1.nxs"))
    with h5py.File(real_file("280772_1.nxs"), "r", locking=False) as handle:
        energy = handle["entry1/instrument/XESEnergyLower/XESEnergyLower"][()]
        ffi1 = handle["entry1/instrument/medipix2/medipix2_roi_total"][()] / handle["entry1/I1/I1"][()]
    lo = float(energy.min())
    inside = (energy > lo) & (energy < 9640.0)
    xs = np.concatenate([[lo], energy[inside], [9640.0]])
    ys = np.concatenate([[ffi1[np.argmin(energy)]], ffi1[inside], [np.interp(9640.0, energy, ffi1)]])
    expected_area = float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2))
    result = normalise_area(vtc, (9600.0, 9640.0))
    record = result.metadata["normalisation"]
    assert record["window"] == [lo, 9640.0] and record["window_clipped"] is True
    assert record["requested_window"] == [9600.0, 9640.0] and "effective_window" not in record
    assert record["area"] == pytest.approx(expected_area, rel=1e-12)
    assert any("runs beyond" in w and "9620" in w for w in result.metadata["warnings"])
    assert not any("normalisation window" in w for w in remove_normalisation(result).metadata.get("warnings", []))
    inside_data = normalise_area(vtc, (9630.0, 9640.0)).metadata["normalisation"]
    assert inside_data["window_clipped"] is False and inside_data["window"] == [9630.0, 9640.0]
    assert "requested_window" not in inside_data


def test_cli_reports_the_window_used(real_file, tmp_path, capsys):
    from xestools.cli import main

    out = tmp_path / "norm.csv"
    assert main(["normalise", str(real_file("280772_1.nxs")), "--window", "9600", "9640", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and "9620" in captured.err
    assert "over 9620–9640 eV" in captured.out and "9600" not in captured.out.split("over")[1]
    assert main(["normalise", str(real_file("280772_1.nxs")), "--window", "9640", "9600", "-o", str(out)]) == 2
    assert "runs backwards" in capsys.readouterr().err
