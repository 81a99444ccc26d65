"""Cuts against an independent loop-based reference on jittered, partly masked synthetic maps."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from xestools.analysis import CutResult, CutSpec, CutType, View, cut, xes_at_incident, xes_summed
from xestools.analysis.cuts import rounding_allowance
from xestools.model import Channel, RXESMap, Spectrum

INCIDENT_START, INCIDENT_STEP, INCIDENT_COUNT = 9658.0, 0.3, 9
EMISSION_START, EMISSION_STEP, EMISSION_COUNT = 8628.0, 0.2, 13


def make_map(seed: int = 0, *, with_sigma: bool = True, masked: int = 6, nan_unmasked: int = 2) -> RXESMap:
    """A small map with Ω jitter of ±6 meV, ω jitter of ±2 meV, some unmeasured points and NaNs."""
    rng = np.random.default_rng(seed)
    incident_axis = INCIDENT_START + INCIDENT_STEP * np.arange(INCIDENT_COUNT)
    emission_axis = EMISSION_START + EMISSION_STEP * np.arange(EMISSION_COUNT)
    shape = (INCIDENT_COUNT, EMISSION_COUNT)
    incident = incident_axis[:, None] + rng.uniform(-0.006, 0.006, shape)
    emission = emission_axis[None, :] + rng.uniform(-0.002, 0.002, shape)
    intensity = rng.uniform(1.0, 100.0, shape)
    sigma = rng.uniform(0.1, 5.0, shape)
    mask = np.ones(shape, dtype=bool)
    flat = rng.choice(intensity.size, size=masked + nan_unmasked, replace=False)
    for position in flat[:masked]:
        mask.flat[position] = False
        intensity.flat[position] = np.nan
    for position in flat[masked:]:
        intensity.flat[position] = np.nan
    return RXESMap(
        incident=incident,
        emission=emission,
        incident_axis=incident_axis,
        emission_axis=emission_axis,
        intensity=intensity,
        uncertainty=sigma if with_sigma else None,
        mask=mask,
        label="synthetic",
        channel=Channel.UPPER,
        source="/data/synthetic.nxs",
        metadata={"operations": [{"name": "load"}], "scan_order": "incident-outer"},
    )


def reference_cut(rxes_map: RXESMap, kind: str, position: float, width: float, mean: bool, view: str,
                  gridded: bool = True):
    """Loop implementation of the documented rule |c − p| ≤ w/2 on the grid centres (read-backs when
    ``gridded`` is False), 1e-9 relative rounding; returns (x, intensity, sigma, npoints) sorted by x."""
    tolerance = 1e-9 * max(abs(position), 1.0)
    n_incident, n_emission = rxes_map.shape
    rows = []
    bins = range(n_emission) if kind == "CIE" else range(n_incident)
    for b in bins:
        members = []
        cells = [(i, b) for i in range(n_incident)] if kind == "CIE" else [(b, j) for j in range(n_emission)]
        for i, j in cells:
            if not rxes_map.mask[i, j] or not math.isfinite(rxes_map.intensity[i, j]):
                continue
            if gridded:
                omega_in, omega_out = rxes_map.incident_axis[i], rxes_map.emission_axis[j]
            else:
                omega_in, omega_out = rxes_map.incident[i, j], rxes_map.emission[i, j]
            coordinate = {"CIE": omega_in, "CEE": omega_out, "CET": omega_in - omega_out}[kind]
            if abs(coordinate - position) <= width / 2 + tolerance:
                members.append((i, j))
        n = len(members)
        total = sum(rxes_map.intensity[i, j] for i, j in members)
        variance = sum(rxes_map.uncertainty[i, j] ** 2 for i, j in members)
        if n == 0:
            value = sigma = float("nan")
        elif mean:
            value, sigma = total / n, math.sqrt(variance) / n
        else:
            value, sigma = total, math.sqrt(variance)
        if kind == "CIE" and view == "transfer":
            if n:
                x = sum(rxes_map.incident[i, j] - rxes_map.emission[i, j] for i, j in members) / n
            else:
                x = position - rxes_map.emission_axis[b]
        elif kind == "CIE":
            x = rxes_map.emission_axis[b]
        else:
            x = rxes_map.incident_axis[b]
        rows.append((x, value, sigma, n))
    rows.sort(key=lambda row: row[0])
    return tuple(np.array([row[k] for row in rows]) for k in range(4))


def valid_total(rxes_map: RXESMap) -> float:
    total = 0.0
    for i in range(rxes_map.shape[0]):
        for j in range(rxes_map.shape[1]):
            if rxes_map.mask[i, j] and math.isfinite(rxes_map.intensity[i, j]):
                total += rxes_map.intensity[i, j]
    return total


CASES = [
    ("CIE", 9658.9, 0.3),  # one Ω row
    ("CIE", 9659.2, 0.9),  # three Ω rows
    ("CEE", 8629.0, 0.2),  # one ω column
    ("CEE", 8629.1, 0.5),  # two or three columns per row
    ("CET", 1030.0, 0.25),  # diagonal band
    ("CET", 1029.4, 1.1),  # wide diagonal band
]


@pytest.mark.parametrize("view", ["incident", "transfer"])
@pytest.mark.parametrize("mean", [False, True])
@pytest.mark.parametrize("kind,position,width", CASES)
def test_cut_matches_loop_reference(kind, position, width, mean, view):
    rxes_map = make_map(seed=3)
    result = cut(rxes_map, CutSpec(CutType(kind), position, width, mean), View(view))
    x, intensity, sigma, npoints = reference_cut(rxes_map, kind, position, width, mean, view)
    assert not result.empty and result.reason == ""
    np.testing.assert_allclose(result.x, x, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.intensity, intensity, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(result.uncertainty, sigma, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(result.npoints, npoints)
    assert npoints.sum() > 0
    expected_axis = ("transfer" if view == "transfer" else "emission") if kind == "CIE" else "incident"
    assert result.axis == expected_axis
    assert np.all(np.diff(result.x) > 0)


def test_masked_and_nan_points_are_excluded():
    rxes_map = make_map(seed=1, masked=0, nan_unmasked=0)
    intensity = np.array(rxes_map.intensity)
    mask = np.array(rxes_map.mask)
    mask[4, 5] = False
    intensity[4, 5] = 1e9  # a stale value under the mask must not leak into the cut
    intensity[4, 6] = np.nan
    damaged = RXESMap(
        rxes_map.incident, rxes_map.emission, rxes_map.incident_axis, rxes_map.emission_axis,
        intensity, rxes_map.uncertainty, mask,
    )
    position = damaged.incident_axis[4]
    result = cut(damaged, CutSpec(CutType.CIE, position, 0.1))
    assert result.npoints[5] == 0 and math.isnan(result.intensity[5])
    assert result.npoints[6] == 0 and math.isnan(result.intensity[6])
    assert result.npoints[7] == 1 and result.intensity[7] == pytest.approx(damaged.intensity[4, 7])


@pytest.mark.parametrize("view", ["incident", "transfer"])
def test_cie_cuts_over_all_rows_sum_to_map_total(view):
    rxes_map = make_map(seed=5)
    total = 0.0
    variance = 0.0
    for omega in rxes_map.incident_axis:
        result = cut(rxes_map, CutSpec(CutType.CIE, omega, INCIDENT_STEP * 0.9), view)
        total += np.nansum(result.intensity)
        variance += np.nansum(np.square(result.uncertainty))
    assert total == pytest.approx(valid_total(rxes_map), rel=1e-12)
    expected_variance = sum(
        rxes_map.uncertainty[i, j] ** 2
        for i in range(rxes_map.shape[0])
        for j in range(rxes_map.shape[1])
        if rxes_map.mask[i, j] and math.isfinite(rxes_map.intensity[i, j])
    )
    assert variance == pytest.approx(expected_variance, rel=1e-12)


def test_cee_cuts_over_all_columns_sum_to_map_total():
    rxes_map = make_map(seed=6)
    total = sum(
        np.nansum(cut(rxes_map, CutSpec(CutType.CEE, omega, EMISSION_STEP * 0.9)).intensity)
        for omega in rxes_map.emission_axis
    )
    assert total == pytest.approx(valid_total(rxes_map), rel=1e-12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    kind=st.sampled_from(["CIE", "CEE", "CET"]),
    seed=st.integers(0, 2**16),
    fractions=st.lists(st.floats(0.02, 1.0), min_size=1, max_size=6),
)
@example(kind="CIE", seed=0, fractions=[1.0, 0.99999])  # a shared edge within rounding of a grid row
def test_disjoint_bands_tiling_the_data_sum_to_total(kind, seed, fractions):
    """Adjacent bands covering the coordinate range exactly once add up to the map total."""
    rxes_map = make_map(seed=seed)
    incident = np.broadcast_to(rxes_map.incident_axis[:, None], rxes_map.shape)
    emission = np.broadcast_to(rxes_map.emission_axis[None, :], rxes_map.shape)
    coordinate = {"CIE": incident, "CEE": emission, "CET": incident - emission}[kind]
    lo = float(coordinate.min()) - 0.01
    hi = float(coordinate.max()) + 0.01
    edges = lo + (hi - lo) * np.concatenate([[0.0], np.cumsum(fractions) / np.sum(fractions)])
    edges[-1] = hi
    # nudge inner edges off the grid values, so that no point sits on a shared edge (it would be in both);
    # "on" includes the documented rounding allowance (1e-9 × the energy, ~1e-5 eV here)
    for k in range(1, edges.size - 1):
        while np.min(np.abs(coordinate - edges[k])) <= 10 * rounding_allowance(edges[k]):
            edges[k] += 2e-3
    assume(np.all(np.diff(edges) > 0))
    total = 0.0
    counted = 0
    for left, right in zip(edges[:-1], edges[1:]):
        result = cut(rxes_map, CutSpec(CutType(kind), (left + right) / 2, right - left))
        if not result.empty:
            total += np.nansum(result.intensity)
            counted += int(result.npoints.sum())
    assert counted == int(np.sum(rxes_map.mask & np.isfinite(rxes_map.intensity)))
    assert total == pytest.approx(valid_total(rxes_map), rel=1e-12)


@pytest.mark.parametrize(
    "spec,fragment",
    [
        (CutSpec(CutType.CEE, 8629.0, 0.0), "width must be positive"),
        (CutSpec(CutType.CIE, 9659.0, -1.0), "width must be positive"),
        (CutSpec(CutType.CIE, float("nan"), 0.5), "finite"),
        (CutSpec(CutType.CIE, 9700.0, 1.0), "outside the data"),
        (CutSpec(CutType.CEE, 8000.0, 1.0), "outside the data"),
        (CutSpec(CutType.CET, 0.0, 1.0), "outside the data"),
        (CutSpec(CutType.CIE, 9658.15, 0.05), "widen the cut"),
        (CutSpec(CutType.CEE, 8628.1, 0.02), "widen the cut"),
    ],
)
@pytest.mark.parametrize("view", list(View))
def test_empty_cuts_have_a_reason_and_never_raise(spec, fragment, view):
    rxes_map = make_map(seed=2)
    result = cut(rxes_map, spec, view)
    assert result.empty
    assert fragment in result.reason
    assert len(result) == 0 and result.intensity.size == 0 and result.npoints.size == 0
    with pytest.raises(ValueError, match="empty cut"):
        result.to_spectrum(rxes_map)


def test_map_without_measured_points_gives_empty_cut():
    rxes_map = make_map(seed=2)
    blank = RXESMap(
        rxes_map.incident, rxes_map.emission, rxes_map.incident_axis, rxes_map.emission_axis,
        np.full(rxes_map.shape, np.nan),
    )
    result = cut(blank, CutSpec(CutType.CIE, 9659.0, 1.0))
    assert result.empty and "no measured points" in result.reason


def test_band_partly_outside_the_data_is_kept_with_a_note():
    rxes_map = make_map(seed=2)
    result = cut(rxes_map, CutSpec(CutType.CIE, INCIDENT_START - 0.5, 1.2))
    assert not result.empty
    assert "extends beyond the data" in result.note
    x, intensity, _, npoints = reference_cut(rxes_map, "CIE", INCIDENT_START - 0.5, 1.2, False, "incident")
    np.testing.assert_allclose(result.intensity, intensity, equal_nan=True)
    np.testing.assert_array_equal(result.npoints, npoints)


def test_map_without_uncertainty_gives_cut_without_uncertainty():
    rxes_map = make_map(seed=4, with_sigma=False)
    result = cut(rxes_map, CutSpec(CutType.CEE, 8629.0, 0.2))
    assert result.uncertainty is None
    assert result.to_spectrum(rxes_map).uncertainty is None


def test_labels():
    assert CutSpec(CutType.CEE, 8638.9, 1.0).label() == "CEE ω = 8638.90 eV ± 0.50"
    assert CutSpec(CutType.CIE, 9660.25, 0.3).label() == "CIE Ω = 9660.25 eV ± 0.15"
    assert CutSpec("cet", 1030, 0.4, mean=True).label() == "CET Ω − ω = 1030.00 eV ± 0.20 (mean)"
    with pytest.raises(ValueError, match="unknown cut type"):
        CutSpec("XYZ", 1.0, 1.0)


def test_to_spectrum_records_the_cut():
    rxes_map = make_map(seed=7)
    spec = CutSpec(CutType.CIE, 9659.2, 0.9, mean=True)
    result = cut(rxes_map, spec, "transfer")
    spectrum = result.to_spectrum(rxes_map)
    assert isinstance(result, CutResult) and isinstance(spectrum, Spectrum)
    assert spectrum.axis == "transfer"
    assert spectrum.channel is Channel.UPPER and spectrum.source == rxes_map.source
    np.testing.assert_array_equal(spectrum.energy, result.x)
    np.testing.assert_array_equal(spectrum.intensity, result.intensity)
    assert spectrum.metadata["cut"] == {
        "type": "CIE", "position": 9659.2, "width": 0.9, "statistic": "mean", "view": "transfer",
        "source": rxes_map.source, "rule": "|c - position| <= width/2", "coordinate": "grid centres",
        "channel": "upper", "label": "CIE Ω = 9659.20 eV ± 0.45 (mean)",
    }
    assert spectrum.metadata["npoints"] == result.npoints.tolist()
    assert spectrum.metadata["operations"][0] == {"name": "load"}
    assert spectrum.metadata["operations"][-1]["name"] == "cut"
    assert "scan_order" not in spectrum.metadata
    # the mean measured Ω of the three rows in the band
    in_band = rxes_map.mask & np.isfinite(rxes_map.intensity) & (np.abs(rxes_map.incident - 9659.2) <= 0.45)
    assert spectrum.metadata["incident_energy"] == pytest.approx(rxes_map.incident[in_band].mean())
    assert spectrum.label == "synthetic CIE Ω = 9659.20 eV ± 0.45 (mean)"
    assert rxes_map.metadata["operations"] == [{"name": "load"}]  # the map is untouched


def test_xes_at_incident_nearest_row():
    rxes_map = make_map(seed=8)
    row = 4
    spectrum = xes_at_incident(rxes_map, rxes_map.incident_axis[row] + 0.1)
    assert spectrum.axis == "emission"
    np.testing.assert_array_equal(spectrum.energy, rxes_map.emission_axis)
    for j in range(rxes_map.shape[1]):
        if rxes_map.mask[row, j] and math.isfinite(rxes_map.intensity[row, j]):
            assert spectrum.intensity[j] == rxes_map.intensity[row, j]
            assert spectrum.uncertainty[j] == rxes_map.uncertainty[row, j]
        else:
            assert math.isnan(spectrum.intensity[j])
    measured = [rxes_map.incident[row, j] for j in range(rxes_map.shape[1]) if rxes_map.mask[row, j]
                and math.isfinite(rxes_map.intensity[row, j])]
    assert spectrum.metadata["incident_energy"] == pytest.approx(sum(measured) / len(measured))


def test_xes_at_incident_with_width_is_the_mean_over_rows():
    rxes_map = make_map(seed=9)
    spectrum = xes_at_incident(rxes_map, 9659.2, width=0.9)
    _, intensity, sigma, npoints = reference_cut(rxes_map, "CIE", 9659.2, 0.9, True, "incident")
    np.testing.assert_allclose(spectrum.intensity, intensity, equal_nan=True)
    np.testing.assert_allclose(spectrum.uncertainty, sigma, equal_nan=True)
    assert spectrum.metadata["npoints"] == npoints.tolist()


@pytest.mark.parametrize("omega,width", [(9600.0, None), (9700.0, 0.5), (float("nan"), None)])
def test_xes_at_incident_outside_raises(omega, width):
    with pytest.raises(ValueError):
        xes_at_incident(make_map(), omega, width)


def test_xes_summed_equals_column_sums():
    rxes_map = make_map(seed=10)
    spectrum = xes_summed(rxes_map)
    for j in range(rxes_map.shape[1]):
        rows = [i for i in range(rxes_map.shape[0]) if rxes_map.mask[i, j] and math.isfinite(rxes_map.intensity[i, j])]
        assert spectrum.intensity[j] == pytest.approx(sum(rxes_map.intensity[i, j] for i in rows))
        assert spectrum.uncertainty[j] == pytest.approx(math.sqrt(sum(rxes_map.uncertainty[i, j] ** 2 for i in rows)))
        assert spectrum.metadata["npoints"][j] == len(rows)
    assert spectrum.metadata["operations"][-1] == {"name": "xes_summed"}


def test_real_map_cee_cuts_over_all_columns_sum_to_total(real_file):
    from xestools.io import load

    (rxes_map,) = load(real_file("279517_1.nxs"))
    assert isinstance(rxes_map, RXESMap)
    step = float(np.median(np.diff(rxes_map.emission_axis)))
    total = 0.0
    for omega in rxes_map.emission_axis:
        result = cut(rxes_map, CutSpec(CutType.CEE, omega, 0.9 * step))
        assert not result.empty
        total += np.nansum(result.intensity)
    valid = rxes_map.mask & np.isfinite(rxes_map.intensity)
    expected = math.fsum(float(value) for value in np.asarray(rxes_map.intensity)[valid])
    assert total == pytest.approx(expected, rel=1e-12)
    # the HERFD at the strongest emission column has one point per Ω row
    strongest = int(np.nanargmax(np.nansum(np.where(valid, rxes_map.intensity, np.nan), axis=0)))
    herfd = cut(rxes_map, CutSpec(CutType.CEE, rxes_map.emission_axis[strongest], 0.9 * step))
    np.testing.assert_array_equal(herfd.npoints, valid[:, strongest].astype(int))


def test_real_ascii_map_cie_cuts_over_all_rows_sum_to_total(real_file):
    """The .dat map has jittered Ω read-backs (87 raw values for 17 rows): each row still falls in one band."""
    from xestools.io import load

    (rxes_map,) = load(real_file("XES_ZnZSM5_air500_279192_1.dat"))
    step = float(np.median(np.diff(rxes_map.incident_axis)))
    valid = rxes_map.mask & np.isfinite(rxes_map.intensity)
    total = 0.0
    for row, omega in enumerate(rxes_map.incident_axis):
        for view in View:
            result = cut(rxes_map, CutSpec(CutType.CIE, omega, 0.9 * step), view)
            np.testing.assert_array_equal(result.npoints[::-1] if view is View.TRANSFER else result.npoints,
                                          valid[row].astype(int))
        total += np.nansum(result.intensity)
    expected = math.fsum(float(value) for value in np.asarray(rxes_map.intensity)[valid])
    assert total == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("view", ["incident", "transfer"])
def test_band_edge_on_a_grid_row_counts_that_row_whatever_the_jitter(view):
    """0.6 eV at a row centre on a 0.3 eV grid: three rows in every column, not 2 or 3 by jitter."""
    rxes_map = make_map(seed=11, masked=0, nan_unmasked=0)
    centre = INCIDENT_START + 4 * INCIDENT_STEP
    result = cut(rxes_map, CutSpec(CutType.CIE, centre, 2 * INCIDENT_STEP), View(view))
    np.testing.assert_array_equal(result.npoints, np.full(EMISSION_COUNT, 3))
    expected = rxes_map.intensity[3:6].sum(axis=0)
    order = np.argsort(result.x) if view == "incident" else np.argsort(centre - rxes_map.emission_axis)
    np.testing.assert_allclose(np.sort(result.intensity), np.sort(expected[order]), rtol=1e-12)
