"""Line-shape fits against an independent scipy curve_fit of the same model and weights."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.optimize import curve_fit
from scipy.special import gamma, voigt_profile

from xestools.analysis.fitting import AreaRatio, Separation, fit_lines, parameters_csv
from xestools.model import Spectrum

#: both fits converged tightly, so "equal within 1e-6" compares the minima, not the stopping rules
TIGHT = {"xtol": 1e-12, "ftol": 1e-12, "maxfev": 20000}
ENERGY = np.linspace(9640.0, 9680.0, 201)
TRUTH = (300.0, 9648.0, 1.5, 2000.0, 9660.0, 1.8, 20.0, 0.1)


def two_voigts(energy, a1, c1, s1, a2, c2, s2, b0, b1):
    """lmfit's Voigt with γ = σ, written from scipy: area a, centre c, σ s; plus a line about 9660 eV."""
    return (a1 * voigt_profile(energy - c1, s1, s1) + a2 * voigt_profile(energy - c2, s2, s2)
            + b0 + b1 * (energy - 9660.0))


def poisson_spectrum(seed: int, model=two_voigts, truth=TRUTH) -> Spectrum:
    counts = np.random.default_rng(seed).poisson(model(ENERGY, *truth)).astype(float)
    return Spectrum(ENERGY, counts, np.sqrt(np.maximum(counts, 1.0)), label=f"synthetic {seed}")


def test_two_voigts_equal_scipy_and_recover_the_truth():
    spectrum = poisson_spectrum(1)
    fit = fit_lines(spectrum, [9648.0, 9660.0], shape="voigt", background="linear")
    values, covariance = curve_fit(two_voigts, ENERGY, spectrum.intensity, p0=TRUTH, sigma=spectrum.uncertainty,
                                   absolute_sigma=False, **TIGHT)
    errors = np.sqrt(np.diag(covariance))
    first, second = fit.components
    for got, index in ((first.center, 1), (first.area, 0), (second.center, 4), (second.area, 3)):
        assert got.value == pytest.approx(values[index], rel=1e-6)
        assert got.sigma == pytest.approx(errors[index], rel=1e-3)
        assert abs(got.value - TRUTH[index]) < 2 * got.sigma
    assert fit.background["intercept"].value == pytest.approx(values[6], rel=1e-6)
    assert second.height.value == pytest.approx(values[3] * voigt_profile(0.0, values[5], values[5]), rel=1e-6)
    residual = (spectrum.intensity - two_voigts(ENERGY, *values)) / spectrum.uncertainty
    assert fit.chi2_reduced == pytest.approx(np.sum(residual**2) / (ENERGY.size - 8), rel=1e-6)
    np.testing.assert_allclose(fit.residual_sigma, residual, atol=1e-5)
    # the ratio's σ includes the correlation of the two areas (full covariance, gradient [1/a2, −a1/a2²])
    gradient = np.zeros(8)
    gradient[0], gradient[3] = 1 / values[3], -values[0] / values[3] ** 2
    ratio = fit.ratios["p1/p2"]
    assert ratio.value == pytest.approx(values[0] / values[3], rel=1e-6)
    assert ratio.sigma == pytest.approx(math.sqrt(gradient @ covariance @ gradient), rel=1e-3)
    assert "scaled by χ²ᵣ" in fit.covariance_note


@pytest.mark.parametrize("shape", ["gaussian", "lorentzian", "pseudovoigt", "pearson7"])
def test_other_shapes_equal_scipy(shape):
    def peak(energy, area, centre, sigma, extra):
        t = energy - centre
        if shape == "gaussian":
            return area * np.exp(-t**2 / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
        if shape == "lorentzian":
            return area * sigma / math.pi / (t**2 + sigma**2)
        if shape == "pseudovoigt":
            sigma_g = sigma / math.sqrt(2 * math.log(2))
            gauss = np.exp(-t**2 / (2 * sigma_g**2)) / (sigma_g * math.sqrt(2 * math.pi))
            return area * ((1 - extra) * gauss + extra * sigma / math.pi / (t**2 + sigma**2))
        norm = gamma(extra) / (math.sqrt(math.pi) * gamma(extra - 0.5) * sigma)
        return area * norm * (1 + (t / sigma) ** 2) ** (-extra)

    has_extra = shape in ("pseudovoigt", "pearson7")

    def model(energy, area, centre, sigma, *rest):
        extra, b0 = (rest[0], rest[1]) if has_extra else (0.0, rest[0])
        return peak(energy, area, centre, sigma, extra) + b0

    truth = (2000.0, 9660.0, 2.0, *((0.4,) if shape == "pseudovoigt" else (2.0,) if shape == "pearson7" else ()), 30.0)
    spectrum = poisson_spectrum(7, model, truth)
    fit = fit_lines(spectrum, [9659.0], shape=shape, background="constant")
    values, covariance = curve_fit(model, ENERGY, spectrum.intensity, p0=truth, sigma=spectrum.uncertainty, **TIGHT)
    component = fit.components[0]
    assert component.center.value == pytest.approx(values[1], rel=1e-6)
    assert component.area.value == pytest.approx(values[0], rel=1e-6)
    assert component.area.sigma == pytest.approx(math.sqrt(covariance[0, 0]), rel=1e-3)
    assert abs(component.center.value - truth[1]) < 3 * component.center.sigma


def test_reported_sigma_matches_the_scatter_of_monte_carlo_fits():
    centres, areas, sigmas = [], [], []
    for seed in range(200):
        fit = fit_lines(poisson_spectrum(1000 + seed), [9648.0, 9660.0], shape="voigt")
        centres.append(fit.components[0].center.value)
        areas.append(fit.components[1].area.value)
        sigmas.append((fit.components[0].center.sigma, fit.components[1].area.sigma))
    reported = np.median(np.array(sigmas), axis=0)
    assert np.std(centres, ddof=1) == pytest.approx(reported[0], rel=0.2)
    assert np.std(areas, ddof=1) == pytest.approx(reported[1], rel=0.2)


def test_shared_width_fixed_separation_and_ratio_constraints():
    spectrum = poisson_spectrum(3)
    fit = fit_lines(spectrum, [9648.0, 9660.0], shape="voigt", share_width=True,
                    separations=[Separation(0, 1, 12.0)], ratios=[AreaRatio(0, 1, 0.15)])
    first, second = fit.components
    assert first.fwhm.value == pytest.approx(second.fwhm.value, rel=1e-12)
    assert second.center.value - first.center.value == pytest.approx(12.0, abs=1e-9)
    assert fit.ratios["p1/p2"].value == pytest.approx(0.15, rel=1e-12)
    assert fit.ratios["p1/p2"].sigma == pytest.approx(0.0, abs=1e-9)
    assert fit.constraints["p2_center"] == "p1_center + sep_1_2"
    bounded = fit_lines(spectrum, [9648.0, 9660.0], separations=[Separation(0, 1, 12.0, fixed=False,
                                                                            minimum=11.5, maximum=12.5)])
    gap = bounded.components[1].center.value - bounded.components[0].center.value
    assert 11.5 <= gap <= 12.5
    assert bounded.bounds["sep_1_2"] == (11.5, 12.5)


def test_an_absent_peak_is_undetermined():
    spectrum = poisson_spectrum(5, truth=(0.0, 9648.0, 1.5, 2000.0, 9660.0, 1.8, 20.0, 0.1))
    fit = fit_lines(spectrum, [9648.0, 9660.0])
    assert "p1.area" in fit.undetermined
    assert not fit.components[0].area.determined
    assert fit.components[1].area.determined


def test_given_background_spectrum_is_subtracted_with_its_sigma():
    level = np.full(ENERGY.size, 20.0) + 0.1 * (ENERGY - 9660.0)
    background = Spectrum(ENERGY, level, np.full(ENERGY.size, 0.5), label="tail")
    spectrum = poisson_spectrum(2)
    fit = fit_lines(spectrum, [9648.0, 9660.0], background=background)
    sigma = np.sqrt(spectrum.uncertainty**2 + 0.25)

    def peaks(energy, a1, c1, s1, a2, c2, s2):
        return two_voigts(energy, a1, c1, s1, a2, c2, s2, 0.0, 0.0)

    values, _ = curve_fit(peaks, ENERGY, spectrum.intensity - level, p0=TRUTH[:6], sigma=sigma, **TIGHT)
    assert fit.components[1].area.value == pytest.approx(values[3], rel=1e-6)
    np.testing.assert_allclose(fit.background_curve, level)
    assert fit.background_kind == "given"


def test_result_as_dict_is_json_and_makes_spectra():
    fit = fit_lines(poisson_spectrum(4), [9648.0, 9660.0], window=(9642, 9675))
    text = json.dumps(fit.as_dict())
    record = json.loads(text)
    assert {"center", "center_sigma", "fwhm", "fwhm_sigma", "height", "area", "area_sigma"} <= set(record["components"][0])
    assert record["model"]["start_values"]["p2_center"] == 9660.0
    assert fit.energy[0] >= 9642 and fit.energy[-1] <= 9675
    spectra = fit.to_spectra()
    assert [item.label for item in spectra][:2] == ["fit of synthetic 4", "p1 (voigt) of synthetic 4"]
    np.testing.assert_allclose(spectra[1].intensity + spectra[2].intensity + fit.background_curve, spectra[0].intensity)
    assert spectra[0].metadata["operations"][-1]["operation"] == "fit"
    assert "p1,center" in parameters_csv(fit)
    assert "[[Fit Statistics]]" in fit.report


def test_bad_requests_are_refused():
    spectrum = poisson_spectrum(1)
    with pytest.raises(ValueError, match="unknown peak shape"):
        fit_lines(spectrum, [9660.0], shape="cauchy")
    with pytest.raises(ValueError, match="unknown background"):
        fit_lines(spectrum, [9660.0], background="cubic")
    with pytest.raises(ValueError, match="constraint names peak 2"):
        fit_lines(spectrum, [9648.0, 9660.0], separations=[Separation(0, 2, 1.0)])
    with pytest.raises(ValueError, match="points in the window"):
        fit_lines(spectrum, [9660.0], window=(9659.9, 9660.5))
