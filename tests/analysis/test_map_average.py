"""Averaging repeated RXES maps and map differences, against independent numpy computations.

Two repeats are made from the real map 279517_1.nxs: its expected counts λ = I × I1 drawn twice with
different Poisson noise (FFI1 = counts / I1, σ = √counts / I1, as the beamline and the readers do).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from xestools.analysis import CutSpec, View, cut, normalise_map
from xestools.analysis.map_average import average_maps, map_difference, same_grid
from xestools.io import load, write_nexus


@pytest.fixture(scope="module")
def real_map(real_file):
    (rxes_map,) = load(real_file("279517_1.nxs"))
    return rxes_map


def bilinear(rxes_map, incident_axis, emission_axis) -> np.ndarray:
    """Bilinear interpolation by separable np.interp: along ω in every row, then along Ω (NaN outside)."""
    along_emission = np.array([np.interp(emission_axis, rxes_map.emission_axis, row, left=np.nan, right=np.nan)
                               for row in np.asarray(rxes_map.intensity)])
    return np.array([np.interp(incident_axis, rxes_map.incident_axis, column, left=np.nan, right=np.nan)
                     for column in along_emission.T]).T


def repeat(rxes_map, seed: int, *, jitter: float = 0.0, counts_scale: float = 1.0):
    """A Poisson repeat of ``rxes_map`` (counts ~ Poisson(I × I1 × scale)); read-backs jittered by ± ``jitter``."""
    rng = np.random.default_rng(seed)
    monitor = np.asarray(rxes_map.monitor, dtype=float)
    counts = rng.poisson(rxes_map.intensity * monitor * counts_scale).astype(float)
    shift_in = rng.uniform(-jitter, jitter, rxes_map.shape)
    shift_out = rng.uniform(-jitter, jitter, rxes_map.shape)
    return dataclasses.replace(
        rxes_map,
        intensity=counts / monitor,
        uncertainty=np.sqrt(counts) / monitor,
        incident=rxes_map.incident + shift_in,
        emission=rxes_map.emission + shift_out,
        incident_axis=rxes_map.incident_axis + shift_in.mean(axis=1),
        emission_axis=rxes_map.emission_axis + shift_out.mean(axis=0),
        label=f"repeat {seed}",
        source=f"/data/repeat_{seed}.nxs",
        metadata={"intensity_source": "FFI1"},
    ), counts, monitor


def test_plain_average_of_two_poisson_repeats_is_the_pointwise_mean(real_map):
    a, counts_a, monitor = repeat(real_map, 1, jitter=0.004)
    b, counts_b, _ = repeat(real_map, 2, jitter=0.004)
    assert same_grid(a, b)
    result = average_maps([a, b])
    expected = (counts_a + counts_b) / monitor / 2
    expected_sigma = np.sqrt(counts_a + counts_b) / monitor / 2
    np.testing.assert_allclose(result.intensity, expected, rtol=1e-12)
    np.testing.assert_allclose(result.uncertainty, expected_sigma, rtol=1e-12)
    assert result.shape == real_map.shape
    assert not result.metadata["resampled"] and result.metadata["grid_mode"] == "shared"
    assert np.all(np.asarray(result.metadata["member_count"]) == 2)
    np.testing.assert_allclose(result.incident_axis, (a.incident_axis + b.incident_axis) / 2, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.incident, (a.incident + b.incident) / 2, rtol=0, atol=1e-9)
    assert [member["source"] for member in result.metadata["members"]] == [a.source, b.source]


def test_weighted_average_uses_inverse_variance(real_map):
    a, counts_a, monitor = repeat(real_map, 3)
    b, counts_b, _ = repeat(real_map, 4, counts_scale=4.0)   # a longer repeat: 4× the counts
    b = dataclasses.replace(b, intensity=b.intensity / 4.0, uncertainty=b.uncertainty / 4.0)
    assert np.all(counts_a > 0) and np.all(counts_b > 0)
    result = average_maps([a, b], weighted=True)
    sigma_a, sigma_b = np.sqrt(counts_a) / monitor, np.sqrt(counts_b) / monitor / 4
    w_a, w_b = 1 / sigma_a**2, 1 / sigma_b**2
    expected = (w_a * counts_a / monitor + w_b * counts_b / monitor / 4) / (w_a + w_b)
    np.testing.assert_allclose(result.intensity, expected, rtol=1e-12)
    np.testing.assert_allclose(result.uncertainty, 1 / np.sqrt(w_a + w_b), rtol=1e-12)
    assert result.metadata["weighting"] == "inverse-variance"


def test_weighted_average_refuses_zero_sigma(real_map):
    a, _, _ = repeat(real_map, 5)
    b, _, _ = repeat(real_map, 6)
    zero = np.array(b.uncertainty)
    zero[0, 0] = 0.0
    with pytest.raises(ValueError, match="σ ≤ 0"):
        average_maps([a, dataclasses.replace(b, uncertainty=zero)], weighted=True)


def test_masked_points_count_only_where_measured(real_map):
    a, counts_a, monitor = repeat(real_map, 6)
    b, counts_b, _ = repeat(real_map, 7)
    aborted = np.ones(real_map.shape, dtype=bool)
    aborted[10:, :] = False            # b stopped after 10 Ω rows
    aborted[9, 40:] = False
    b = dataclasses.replace(b, intensity=np.where(aborted, b.intensity, np.nan), mask=aborted)
    result = average_maps([a, b])
    expected = np.where(aborted, (counts_a + counts_b) / monitor / 2, counts_a / monitor)
    expected_sigma = np.where(aborted, np.sqrt(counts_a + counts_b) / monitor / 2, np.sqrt(counts_a) / monitor)
    np.testing.assert_allclose(result.intensity, expected, rtol=1e-12)
    np.testing.assert_allclose(result.uncertainty, expected_sigma, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(result.metadata["member_count"]), np.where(aborted, 2, 1))
    assert result.mask.all()
    both_missing = dataclasses.replace(a, intensity=np.where(aborted, a.intensity, np.nan), mask=aborted)
    partial = average_maps([both_missing, b])
    assert not partial.mask[12, 0] and np.isnan(partial.intensity[12, 0])


def test_grids_differing_by_more_than_jitter_are_resampled_and_say_so(real_map):
    a, _, _ = repeat(real_map, 8)
    b, _, _ = repeat(real_map, 9)
    step = float(np.median(np.diff(b.emission_axis)))
    b = dataclasses.replace(b, emission_axis=b.emission_axis + step / 2, emission=b.emission + step / 2)
    assert not same_grid(a, b)
    result = average_maps([a, b], grid="overlap")
    assert result.metadata["resampled"] and result.metadata["grid_mode"] == "overlap"
    assert "resampled" in result.metadata["notes"][0]
    omega = result.incident_axis
    emission = result.emission_axis
    assert emission[0] >= b.emission_axis[0] - 1e-9 and emission[-1] <= a.emission_axis[-1] + 1e-9
    by_hand = [bilinear(member, omega, emission) for member in (a, b)]
    np.testing.assert_allclose(result.intensity, (by_hand[0] + by_hand[1]) / 2, rtol=1e-9)
    union = average_maps([a, b], grid="union")
    assert union.emission_axis[0] == pytest.approx(a.emission_axis[0])
    assert union.emission_axis[-1] == pytest.approx(b.emission_axis[-1])
    counts = np.asarray(union.metadata["member_count"])
    assert counts[:, 0].max() == 1 and counts[:, -1].max() == 1 and counts.max() == 2


def test_the_average_is_a_map_like_any_other(real_map, tmp_path):
    a, counts_a, monitor = repeat(real_map, 10)
    b, counts_b, _ = repeat(real_map, 11)
    result = average_maps([a, b])
    spec = CutSpec("CEE", float(real_map.emission_axis[36]), 0.3)
    profile = cut(result, spec, View.INCIDENT)
    assert not profile.empty
    band = np.abs(result.emission_axis - spec.position) <= 0.15 + 0.02
    expected = ((counts_a + counts_b) / monitor / 2)[:, band].sum(axis=1)
    np.testing.assert_allclose(profile.intensity, expected, rtol=1e-12)
    assert not cut(result, CutSpec("CET", 1021.0, 1.0), View.TRANSFER).empty
    normalised = normalise_map(result, None, (8630.0, 8645.0))
    assert normalised.metadata["normalisation"]["factor"] > 0
    out = tmp_path / "average.nxs"
    write_nexus(result, out)
    (back,) = load(out)
    np.testing.assert_allclose(back.intensity, result.intensity, rtol=0, atol=0)
    assert [member["source"] for member in back.metadata["members"]] == [a.source, b.source]


def test_difference_of_two_conditions(real_map):
    a, counts_a, monitor = repeat(real_map, 12)
    b, counts_b, _ = repeat(real_map, 13, jitter=0.004)
    difference = map_difference(a, b)
    np.testing.assert_allclose(difference.intensity, (counts_a - counts_b) / monitor, rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(difference.uncertainty, np.sqrt(counts_a + counts_b) / monitor, rtol=1e-12)
    assert not difference.metadata["resampled"]
    c, counts_c, _ = repeat(real_map, 14)
    shifted = dataclasses.replace(c, incident_axis=c.incident_axis + 0.15, incident=c.incident + 0.15)
    resampled = map_difference(a, shifted)
    assert resampled.metadata["resampled"]
    assert not resampled.mask[0].any() and resampled.mask[1:].all()   # first Ω row is below B's range
    by_hand = bilinear(shifted, a.incident_axis, a.emission_axis)
    np.testing.assert_allclose(resampled.intensity[1:], (a.intensity - by_hand)[1:], rtol=1e-9, atol=1e-15)


def test_mixed_channels_and_empty_input_are_refused(real_map):
    from xestools.model import Channel

    with pytest.raises(ValueError, match="no maps"):
        average_maps([])
    other = dataclasses.replace(real_map, channel=Channel.LOWER)
    with pytest.raises(ValueError, match="different spectrometer channels"):
        average_maps([real_map, other])


def test_member_count_is_an_array_written_as_a_column_not_into_the_csv_header(real_map, tmp_path):
    from xestools.io import write_csv

    a, _, _ = repeat(real_map, 1)
    b, _, _ = repeat(real_map, 2)
    aborted = np.zeros(real_map.shape, dtype=bool)
    aborted[-3:, :] = True
    b = dataclasses.replace(b, intensity=np.where(aborted, np.nan, b.intensity), mask=~aborted)
    result = average_maps([a, b])
    counts = result.metadata["member_count"]
    assert isinstance(counts, np.ndarray) and counts.shape == real_map.shape
    path = tmp_path / "average.csv"
    write_csv(result, path)
    lines = path.read_text().splitlines()
    header = [line for line in lines if line.startswith("#")]
    assert max(len(line) for line in header if "metadata" in line) < 2000
    names = lines[len(header)].split(",")
    table = np.loadtxt(lines[len(header) + 1:], delimiter=",")
    members = table[:, names.index("members")]
    np.testing.assert_array_equal(members, np.where(aborted, 1, 2).ravel())
