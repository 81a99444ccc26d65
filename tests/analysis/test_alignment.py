"""Alignment shifts with σ on the real VtC repeat, and calibrations that round-trip."""
from __future__ import annotations

import numpy as np
import pytest

from xestools.analysis.alignment import (
    Calibration,
    apply_calibration,
    average_aligned,
    calibration_from_line,
    calibration_from_lines,
    find_shift,
    remove_calibration,
    shift_spectrum,
)
from xestools.io import load
from xestools.model import evolve

WINDOW = (9645.0, 9672.0)


@pytest.fixture(scope="module")
def vtc(real_data):
    path = real_data / "280772_1.nxs"
    if not path.is_file():
        pytest.skip("real file 280772_1.nxs not available")
    return load(path)[0]


@pytest.mark.parametrize("moved_by", [0.137, -0.41, 1.0])
def test_xcorr_recovers_a_known_shift_of_the_real_repeat(vtc, moved_by):
    moved = evolve(vtc, energy=np.asarray(vtc.energy) + moved_by, label="moved")
    shift = find_shift(moved, vtc, WINDOW)
    assert 0 < shift.sigma < 0.1
    assert abs(shift.value + moved_by) < shift.sigma


def test_xcorr_with_fresh_noise_and_its_sigma_against_monte_carlo(vtc):
    intensity, sigma = np.asarray(vtc.intensity), np.asarray(vtc.uncertainty)
    rng = np.random.default_rng(11)
    found, reported = [], []
    for _ in range(30):
        reference = evolve(vtc, intensity=intensity + rng.normal(size=intensity.size) * sigma)
        moved = evolve(vtc, energy=np.asarray(vtc.energy) + 0.3, intensity=intensity + rng.normal(size=intensity.size) * sigma)
        shift = find_shift(moved, reference, WINDOW, resamples=30)
        found.append(shift.value)
        reported.append(shift.sigma)
    assert abs(np.mean(found) + 0.3) < 3 * np.std(found) / np.sqrt(len(found)) + 0.01
    # the bootstrap σ of one pair is the scatter of the shift over pairs, within the precision of 30 pairs
    assert np.std(found, ddof=1) == pytest.approx(np.median(reported), rel=0.35)


def test_peak_method_uses_the_fitted_line_positions(vtc):
    moved = evolve(vtc, energy=np.asarray(vtc.energy) - 0.5)
    shift = find_shift(moved, vtc, (9650.0, 9672.0), method="peak")
    assert abs(shift.value - 0.5) < max(shift.sigma, 1e-6)
    assert shift.method == "peak"


def test_shifted_average_says_shifted_and_resampled(vtc):
    energy = np.asarray(vtc.energy)
    # the same grid, the lines 0.137 eV higher: aligning moves its energies off the reference's grid
    moved = evolve(vtc, intensity=np.interp(energy - 0.137, energy, np.asarray(vtc.intensity)), label="moved")
    average = average_aligned([vtc, moved], vtc, WINDOW)
    assert average.metadata["shifted"] is True
    assert average.metadata["resampled"] is True
    assert [record["shift_eV"] for record in average.metadata["alignment"]][0] == pytest.approx(0.0, abs=0.03)
    assert average.metadata["members"][1]["energy_shift_eV"] == pytest.approx(-0.137, abs=0.03)


def test_shift_is_applied_as_e_plus_s_and_recorded(vtc):
    shifted = shift_spectrum(vtc, 0.25, 0.01)
    np.testing.assert_allclose(shifted.energy, np.asarray(vtc.energy) + 0.25)
    assert shifted.metadata["energy_shift"]["shift_eV"] == 0.25
    assert shifted.metadata["operations"][-1]["operation"] == "shift"
    np.testing.assert_array_equal(vtc.energy[:2], [9620.0, 9620.3])  # the input is untouched


def test_calibration_round_trips_and_is_replaced_not_compounded(vtc):
    calibration = Calibration(offset=1.25, offset_sigma=0.02, slope=2e-4, anchor=9655.0, reference="test")
    calibrated = apply_calibration(vtc, calibration)
    raw = np.asarray(vtc.energy)
    np.testing.assert_allclose(calibrated.energy, raw + 1.25 + 2e-4 * (raw - 9655.0))
    np.testing.assert_allclose(remove_calibration(calibrated).energy, raw, rtol=0, atol=1e-9)
    again = apply_calibration(calibrated, Calibration(offset=-0.5))
    np.testing.assert_allclose(again.energy, raw - 0.5, atol=1e-9)
    assert Calibration.from_dict(calibration.as_dict()) == calibration
    assert calibrated.metadata["calibration"]["offset"] == 1.25


def test_calibration_from_a_line_moves_it_to_the_known_energy(vtc):
    calibration = calibration_from_line(vtc, 9660.0, (9650.0, 9672.0))
    calibrated = apply_calibration(vtc, calibration)
    moved = calibration_from_line(calibrated, 9660.0, (9654.0, 9676.0))
    assert abs(moved.offset) < 3 * calibration.offset_sigma
    assert calibration.offset_sigma > 0


def test_linear_calibration_from_two_lines_is_exact_for_two_points():
    calibration = calibration_from_lines([(9570.0, 0.01), (9660.0, 0.01)], [9572.0, 9661.0])
    np.testing.assert_allclose(calibration.apply([9570.0, 9660.0]), [9572.0, 9661.0], atol=1e-9)
