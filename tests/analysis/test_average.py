"""Averaging spectra on a common grid against a hand-written loop reference."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xestools.analysis import average_spectra, common_grid
from xestools.model import Channel, Spectrum


def spectrum(energy, intensity, sigma=None, label="", axis="emission", **metadata) -> Spectrum:
    return Spectrum(
        energy=energy, intensity=intensity, uncertainty=sigma, label=label, channel=Channel.LOWER,
        source=f"/data/{label}.nxs", metadata=metadata, axis=axis,
    )


def interpolate_by_hand(energy, intensity, sigma, x):
    """(covered, value, σ) of one spectrum at x: value and σ both linear between neighbours."""
    pairs = sorted(zip(energy, intensity, sigma))
    if x < pairs[0][0] or x > pairs[-1][0]:
        return False, math.nan, math.nan
    for (e0, i0, s0), (e1, i1, s1) in zip(pairs[:-1], pairs[1:]):
        if e0 <= x <= e1:
            t = (x - e0) / (e1 - e0)
            return True, (1 - t) * i0 + t * i1, (1 - t) * s0 + t * s1
    raise AssertionError("unreachable")


def average_by_hand(members, grid, weighted):
    values, sigmas, counts = [], [], []
    for x in grid:
        present = [interpolate_by_hand(e, i, s, x) for e, i, s in members]
        present = [(v, s) for covered, v, s in present if covered]
        n = len(present)
        counts.append(n)
        if n == 0:
            values.append(math.nan)
            sigmas.append(math.nan)
        elif weighted:
            weights = [1 / s**2 for _, s in present]
            values.append(sum(w * v for w, (v, _) in zip(weights, present)) / sum(weights))
            sigmas.append(1 / math.sqrt(sum(weights)))
        else:
            values.append(sum(v for v, _ in present) / n)
            sigmas.append(math.sqrt(sum(s**2 for _, s in present)) / n)
    return np.array(values), np.array(sigmas), counts


def _members(seed=0):
    rng = np.random.default_rng(seed)
    a_energy = 9620.0 + 0.3 * np.arange(40)  # 9620.0 .. 9631.7
    b_energy = 9621.05 + 0.3 * np.arange(38) + rng.uniform(-0.004, 0.004, 38)  # starts later, ends 9632.15
    c_energy = 9619.5 + 0.25 * np.arange(44)  # 9619.5 .. 9630.25
    members = []
    for name, energy in (("a", a_energy), ("b", b_energy), ("c", c_energy)):
        intensity = 100 * np.exp(-((energy - 9626.0) / 3.0) ** 2) + rng.normal(0, 1, energy.size)
        sigma = rng.uniform(0.5, 2.0, energy.size)
        members.append((energy, intensity, sigma, name))
    return members


def test_identical_grids_plain_mean_is_pointwise():
    energy = 9620.0 + 0.3 * np.arange(20)
    rng = np.random.default_rng(1)
    intensities = [rng.uniform(0, 50, 20) for _ in range(3)]
    sigmas = [rng.uniform(0.5, 3, 20) for _ in range(3)]
    result = average_spectra([spectrum(energy, i, s, label=f"s{k}") for k, (i, s) in enumerate(zip(intensities, sigmas))])
    np.testing.assert_allclose(result.energy, energy, rtol=0, atol=1e-9)
    for j in range(20):
        assert result.intensity[j] == pytest.approx((intensities[0][j] + intensities[1][j] + intensities[2][j]) / 3, rel=1e-9)
        expected_sigma = math.sqrt(sigmas[0][j] ** 2 + sigmas[1][j] ** 2 + sigmas[2][j] ** 2) / 3
        assert result.uncertainty[j] == pytest.approx(expected_sigma, rel=1e-9)
    assert result.metadata["member_count"].tolist() == [3] * 20


def test_overlap_grid_by_hand():
    members = _members()
    grid = common_grid([spectrum(e, i, s, label=n) for e, i, s, n in members], "overlap")
    # overlap: latest start is b's first point, earliest end is c's last point (9630.25)
    lo = members[1][0][0]
    hi = 9630.25
    all_steps = np.concatenate([np.diff(np.sort(e)) for e, _, _, _ in members])
    step = float(np.median(all_steps))
    count = int(round((hi - lo) / step)) + 1
    assert grid[0] == lo and grid[-1] == hi
    assert grid.size == count
    np.testing.assert_allclose(np.diff(grid), (hi - lo) / (count - 1))


@pytest.mark.parametrize("mode", ["overlap", "union"])
@pytest.mark.parametrize("weighted", [False, True])
def test_average_matches_hand_computation(mode, weighted):
    members = _members(seed=2)
    spectra = [spectrum(e, i, s, label=n) for e, i, s, n in members]
    result = average_spectra(spectra, grid=mode, weighted=weighted, label="avg")
    values, sigmas, counts = average_by_hand([(e, i, s) for e, i, s, _ in members], result.energy, weighted)
    np.testing.assert_allclose(result.intensity, values, rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(result.uncertainty, sigmas, rtol=1e-10, equal_nan=True)
    assert result.metadata["member_count"].tolist() == counts
    if mode == "union":
        assert result.energy[0] == 9619.5 and result.energy[-1] == members[1][0][-1]
        assert min(counts) == 1 and max(counts) == 3
    else:
        assert set(counts) == {3}
    assert result.metadata["grid_mode"] == mode and result.metadata["resampled"] is True
    assert result.metadata["weighting"] == ("inverse-variance" if weighted else "plain")
    assert result.metadata["members"] == [{"label": n, "source": f"/data/{n}.nxs", "scan_number": None, "sha256": ""}
                                          for _, _, _, n in members]
    assert result.metadata["operations"][-1]["name"] == "average_spectra"
    assert result.label == "avg" and result.channel is Channel.LOWER and result.axis == "emission"


def test_union_with_a_gap_is_nan_where_nobody_measured():
    first = spectrum(np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]), np.ones(3))
    second = spectrum(np.array([4.0, 5.0, 6.0]), np.array([10.0, 20.0, 30.0]), np.ones(3))
    result = average_spectra([first, second], grid="union")
    np.testing.assert_allclose(result.energy, np.arange(7.0))
    np.testing.assert_allclose(result.intensity, [1, 2, 3, np.nan, 10, 20, 30], equal_nan=True)
    assert result.metadata["member_count"].tolist() == [1, 1, 1, 0, 1, 1, 1]


def test_unsorted_energies_and_nan_points():
    energy = np.array([3.0, 2.0, 1.0, 0.0])
    ordered = spectrum(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.0, 10.0, 20.0, 30.0]), np.ones(4))
    reversed_with_nan = spectrum(energy, np.array([30.0, np.nan, 10.0, 0.0]), np.ones(4))
    result = average_spectra([ordered, reversed_with_nan])
    # the NaN at 2 eV is skipped: the second spectrum is interpolated between 1 eV (10) and 3 eV (30)
    np.testing.assert_allclose(result.intensity, [0.0, 10.0, 20.0, 30.0])
    assert result.uncertainty[2] == pytest.approx(math.sqrt(1 + 1) / 2)


def test_plain_average_without_uncertainties():
    first = spectrum(np.arange(5.0), np.arange(5.0))
    second = spectrum(np.arange(5.0), np.arange(5.0) * 3)
    result = average_spectra([first, second])
    np.testing.assert_allclose(result.intensity, np.arange(5.0) * 2)
    assert result.uncertainty is None


def test_incident_energy_kept_when_all_members_have_one():
    spectra = [spectrum(np.arange(4.0), np.ones(4), np.ones(4), incident_energy=e) for e in (9900.0, 9900.2)]
    assert average_spectra(spectra).metadata["incident_energy"] == pytest.approx(9900.1)


@pytest.mark.parametrize(
    "spectra,kwargs,fragment",
    [
        ([], {}, "no spectra"),
        ([spectrum([0.0, 1.0], [1.0, 1.0]), spectrum([2.0, 3.0], [1.0, 1.0])], {}, "do not overlap"),
        ([spectrum([0.0, 1.0], [1.0, 1.0])], {"grid": "middle"}, "unknown grid mode"),
        ([spectrum([0.0, 1.0], [1.0, 1.0])], {"weighted": True}, "needs uncertainties"),
        ([spectrum([0.0, 1.0], [1.0, 1.0], [1.0, 0.0])], {"weighted": True}, "positive"),
        ([spectrum([0.0, 1.0], [1.0, 1.0]), spectrum([0.0, 1.0], [1.0, 1.0], axis="incident")], {}, "different"),
        ([spectrum([0.0, 1.0], [np.nan, np.nan])], {}, "no finite points"),
    ],
)
def test_invalid_averages_raise_value_error(spectra, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        average_spectra(spectra, **kwargs)


@settings(max_examples=30, deadline=None)
@given(
    copies=st.integers(1, 5),
    values=st.lists(st.floats(0.1, 1e4), min_size=3, max_size=30),
    weighted=st.booleans(),
)
def test_average_of_identical_copies_is_the_spectrum(copies, values, weighted):
    energy = 8630.0 + 0.2 * np.arange(len(values))
    intensity = np.array(values)
    sigma = np.sqrt(intensity)
    result = average_spectra([spectrum(energy, intensity, sigma)] * copies, weighted=weighted)
    np.testing.assert_allclose(result.energy, energy, atol=1e-9)
    np.testing.assert_allclose(result.intensity, intensity, rtol=1e-9)
    np.testing.assert_allclose(result.uncertainty, sigma / math.sqrt(copies), rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    members=st.integers(2, 4),
    sigma=st.floats(0.1, 10.0),
    mode=st.sampled_from(["overlap", "union"]),
)
def test_weighted_with_equal_sigma_equals_plain_mean(seed, members, sigma, mode):
    rng = np.random.default_rng(seed)
    spectra = []
    for _ in range(members):
        start = 8630.0 + rng.uniform(-0.5, 0.5)
        energy = start + 0.2 * np.arange(int(rng.integers(20, 30)))
        spectra.append(spectrum(energy, rng.uniform(0, 100, energy.size), np.full(energy.size, sigma)))
    plain = average_spectra(spectra, grid=mode)
    weighted = average_spectra(spectra, grid=mode, weighted=True)
    np.testing.assert_allclose(weighted.energy, plain.energy)
    np.testing.assert_allclose(weighted.intensity, plain.intensity, rtol=1e-9, equal_nan=True)
    assert weighted.metadata["member_count"].tolist() == plain.metadata["member_count"].tolist()


def test_single_point_overlap_and_union_end_points():
    first = spectrum(np.array([0.0, 0.5, 1.0]), np.array([1.0, 2.0, 3.0]), np.ones(3))
    second = spectrum(np.array([1.0, 1.5, 2.0, 2.5]), np.array([5.0, 6.0, 7.0, 8.0]), np.ones(4))
    overlap = average_spectra([first, second])
    np.testing.assert_allclose(overlap.energy, [1.0])
    np.testing.assert_allclose(overlap.intensity, [4.0])
    union = common_grid([first, second], "union")
    assert union[0] == 0.0 and union[-1] == 2.5 and union.size == 6


# ------------------------------------------------------------------ repeats on the same energies
def test_jittered_repeats_are_averaged_point_by_point_on_mean_read_backs():
    """Three repeats of a 0.3 eV scan whose read-backs jitter by ±5 meV: no resampling, energy = mean read-back."""
    rng = np.random.default_rng(7)
    nominal = 9620.0 + 0.3 * np.arange(50)
    energies = [nominal + rng.uniform(-0.005, 0.005, 50) for _ in range(3)]
    intensities = [rng.uniform(10, 100, 50) for _ in range(3)]
    sigmas = [np.sqrt(i) for i in intensities]
    members = [spectrum(e, i, s, label=f"r{k}") for k, (e, i, s) in enumerate(zip(energies, intensities, sigmas))]
    plain = average_spectra(members)
    np.testing.assert_allclose(plain.energy, np.mean(energies, axis=0), rtol=0, atol=1e-10)
    np.testing.assert_allclose(plain.intensity, np.mean(intensities, axis=0), rtol=1e-13)
    np.testing.assert_allclose(plain.uncertainty, np.sqrt(np.sum(np.square(sigmas), axis=0)) / 3, rtol=1e-13)
    assert plain.metadata["resampled"] is False and plain.metadata["grid_mode"] == "measured"
    assert plain.metadata["energy_spread"] == pytest.approx(np.max(np.ptp(energies, axis=0)))
    weighted = average_spectra(members, weighted=True)
    w = 1 / np.square(sigmas)
    np.testing.assert_allclose(weighted.intensity, np.sum(w * intensities, axis=0) / np.sum(w, axis=0), rtol=1e-13)


def test_repeats_on_different_energies_are_resampled_and_say_so():
    energy = 9620.0 + 0.3 * np.arange(30)
    first = spectrum(energy, np.arange(30.0), np.ones(30), label="a")
    shifted = spectrum(energy + 0.1, np.arange(30.0), np.ones(30), label="b")
    result = average_spectra([first, shifted])
    assert result.metadata["resampled"] is True and result.metadata["grid_mode"] == "overlap"
    assert result.energy[0] == pytest.approx(9620.1)


def test_real_scan_in_two_formats_averages_to_itself(real_file):
    """280772 as .nxs and .dat share byte-identical read-backs: the average is the scan, not an interpolation."""
    import h5py

    from xestools.io import load

    (nxs,) = load(real_file("280772_1.nxs"))
    (dat,) = load(real_file("ZnO_standard_280772_1.dat"))
    with h5py.File(real_file("280772_1.nxs"), "r", locking=False) as handle:
        energy = handle["entry1/instrument/XESEnergyLower/XESEnergyLower"][()]
        roi = handle["entry1/instrument/medipix2/medipix2_roi_total"][()]
        i1 = handle["entry1/I1/I1"][()]
    result = average_spectra([nxs, dat])
    order = np.argsort(energy)
    np.testing.assert_array_equal(result.energy, energy[order])
    np.testing.assert_allclose(result.intensity, (roi / i1)[order], rtol=1e-14)
    assert result.metadata["resampled"] is False
    assert [m["scan_number"] for m in result.metadata["members"]] == [280772], "a twin is counted once"
    assert result.metadata["twins"] == [str(real_file("ZnO_standard_280772_1.dat"))]
