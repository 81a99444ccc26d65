"""Line-shape metrics of a spectrum: peak position, FWHM, first moment, area, IAD, difference.

All numbers used by the GUI's metrics table and by scripts come from here. Areas use the trapezoid
rule with linearly interpolated window edges (:func:`xestools.analysis.normalise.window_area`).
"""
from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from xestools.model import Spectrum, evolve

log = logging.getLogger("xestools.analysis.metrics")

Window = Sequence[float] | None


def _window_area(energy, intensity, lo, hi) -> float:
    from xestools.analysis.normalise import window_area

    return float(window_area(energy, intensity, lo, hi))


def _finite_sorted(spectrum: Spectrum, window: Window = None) -> tuple[np.ndarray, np.ndarray]:
    energy, intensity, _ = _finite_sorted_with_sigma(spectrum, window)
    return energy, intensity


def _full_window(spectrum: Spectrum, window: Window) -> tuple[float, float]:
    if window is not None:
        lo, hi = sorted((float(window[0]), float(window[1])))
        return lo, hi
    energy, _ = _finite_sorted(spectrum)
    if energy.size == 0:
        raise ValueError(f"{spectrum.label or 'spectrum'} has no finite points")
    return float(energy[0]), float(energy[-1])


#: points of the local parabola around the highest point (the top and two neighbours on each side)
PEAK_POINTS = 5


@dataclass(frozen=True)
class PeakEstimate:
    """A peak position with its 1σ uncertainty (NaN when no σ is known and the fit is exact)."""

    position: float
    uncertainty: float
    points: int
    method: str


def _vertex_and_sigma(x: np.ndarray, y: np.ndarray, sigma: np.ndarray | None) -> tuple[float, float]:
    """Vertex −b/2a of the (weighted) least-squares parabola through (x, y) and its propagated σ.

    ``c = (AᵀWA)⁻¹AᵀW y`` is linear in y, so ``∂v/∂y = ∂v/∂c · (AᵀWA)⁻¹AᵀW`` and
    ``σ_v² = Σ (∂v/∂y_i)² σ_i²``; without σ the residual variance (n − 3 degrees of freedom) stands in.
    """
    centre = float(x[len(x) // 2])
    t = x - centre
    design = np.column_stack([t * t, t, np.ones_like(t)])
    weight = np.ones_like(t) if sigma is None else 1.0 / np.square(sigma)
    normal = design.T @ (weight[:, None] * design)
    solve = np.linalg.solve(normal, design.T * weight)
    a, b, c = solve @ y
    if not a < 0:
        return float("nan"), float("nan")
    vertex = centre - b / (2 * a)
    gradient = np.array([b / (2 * a * a), -1 / (2 * a), 0.0]) @ solve
    if sigma is not None:
        variance = float(np.sum(np.square(gradient * sigma)))
    elif x.size > 3:
        residual = y - design @ np.array([a, b, c])
        variance = float(np.sum(gradient**2) * np.sum(residual**2) / (x.size - 3))
    else:
        variance = float("nan")
    return float(vertex), math.sqrt(variance) if variance == variance else float("nan")


def peak_estimate(spectrum: Spectrum, window: Window = None, *, points: int = PEAK_POINTS) -> PeakEstimate:
    """Local peak position: a parabola through the ``points`` (odd, ≥ 3) points centred on the highest one.

    Near its top an asymmetric line is still nearly symmetric, so a parabola through the top and its
    nearest neighbours stays within a few hundredths of an eV of the true maximum at a 0.3 eV step,
    where one through every point above 70 % of the maximum follows the asymmetric flanks (0.2–0.3 eV
    low on ZnO Kβ1,3 and Kβ2,5). The uncertainty is
    propagated from σ (or from the scatter about the fit). NaN when the highest point is at an end of the
    window (an edge, no peak inside) or the curvature is not negative.
    """
    if points < 3 or points % 2 == 0:
        raise ValueError(f"a local peak needs an odd number of points ≥ 3, got {points}")
    energy, intensity, sigma = _finite_sorted_with_sigma(spectrum, window)
    half = points // 2
    top = int(np.argmax(intensity)) if energy.size else 0
    if energy.size < 3 or top in (0, energy.size - 1):
        return PeakEstimate(float("nan"), float("nan"), 0, "local parabola")
    left, right = max(0, top - half), min(energy.size, top + half + 1)
    window_sigma = None if sigma is None or not np.all(sigma[left:right] > 0) else sigma[left:right]
    position, uncertainty = _vertex_and_sigma(energy[left:right], intensity[left:right], window_sigma)
    if math.isfinite(position) and not energy[left] <= position <= energy[right - 1]:
        position = float("nan")
    return PeakEstimate(position, uncertainty, right - left, f"local parabola ({right - left} points)")


#: the local parabola is also taken over these numbers of points to show how much the method moves the peak
SPREAD_POINTS = (5, 7, 9)


def peak_method_spread(spectrum: Spectrum, window: Window = None) -> tuple[dict[int, float], float]:
    """The peak from local parabolas over 5, 7 and 9 points, and their spread (max − min, NaN if one fails).

    On the real VtC data these differ by 2–5 statistical σ: the spread is the method's share of the
    uncertainty that the statistical σ of one parabola does not contain.
    """
    positions = {points: peak_estimate(spectrum, window, points=points).position for points in SPREAD_POINTS}
    values = np.array(list(positions.values()))
    spread = float(values.max() - values.min()) if np.all(np.isfinite(values)) else float("nan")
    return positions, spread


def _finite_sorted_with_sigma(spectrum: Spectrum, window: Window):
    energy = np.asarray(spectrum.energy, dtype=float)
    intensity = np.asarray(spectrum.intensity, dtype=float)
    keep = np.isfinite(energy) & np.isfinite(intensity)
    if window is not None:
        lo, hi = sorted((float(window[0]), float(window[1])))
        keep &= (energy >= lo) & (energy <= hi)
    order = np.argsort(energy[keep], kind="stable")
    sigma = None if spectrum.uncertainty is None else np.asarray(spectrum.uncertainty, dtype=float)[keep][order]
    return energy[keep][order], intensity[keep][order], sigma


def peak_position(spectrum: Spectrum, window: Window = None, *, method: str = "local", fraction: float = 0.7) -> float:
    """Position of the maximum, refined by a fit around it.

    ``local`` (default): :func:`peak_estimate`, a parabola through the top and two neighbours on each
    side, unbiased for asymmetric lines. ``parabola``: least-squares parabola through the contiguous points
    around the highest one whose intensity is ≥ ``fraction`` × maximum (biased towards the broader
    flank of an asymmetric line; kept for comparison). ``pseudovoigt``: a pseudo-Voigt (scipy) fitted to
    the points above half maximum; its centre. NaN with fewer than 3 points or when the highest point is
    at an end (a rising or falling edge has no peak).
    """
    if method == "local":
        return peak_estimate(spectrum, window).position
    energy, intensity = _finite_sorted(spectrum, window)
    if energy.size < 3:
        return float("nan")
    top = int(np.argmax(intensity))
    if top in (0, energy.size - 1):
        return float("nan")  # the maximum is at the window's edge: no peak inside it
    threshold = intensity[top] * (fraction if method == "parabola" else 0.5)
    left, right = top, top
    while left > 0 and intensity[left - 1] >= threshold:
        left -= 1
    while right < energy.size - 1 and intensity[right + 1] >= threshold:
        right += 1
    left, right = max(0, min(left, top - 1)), min(energy.size - 1, max(right, top + 1))
    if right - left < 2:
        return float(energy[top])
    x, y = energy[left:right + 1], intensity[left:right + 1]
    if method == "parabola":
        centre = float(x[top - left])
        a, b, _ = np.polyfit(x - centre, y, 2)
        if a >= 0:
            return float(energy[top])
        vertex = centre - b / (2 * a)
        return float(np.clip(vertex, x[0], x[-1]))
    if method == "pseudovoigt":
        return _pseudo_voigt_centre(x, y, float(energy[top]), float(intensity[top]))
    raise ValueError(f"unknown peak method {method!r}: use 'local', 'parabola' or 'pseudovoigt'")


def _pseudo_voigt_centre(x: np.ndarray, y: np.ndarray, centre: float, height: float) -> float:
    from scipy.optimize import curve_fit

    def shape(energy, amplitude, position, half_width, eta):
        t = (energy - position) / half_width
        return amplitude * (eta / (1 + t * t) + (1 - eta) * np.exp(-math.log(2) * t * t))

    half_width = max(0.5 * (x[-1] - x[0]), 1e-6)
    try:
        values, _ = curve_fit(
            shape, x, y, p0=(height, centre, half_width, 0.5),
            bounds=([0, x[0], 1e-6, 0], [np.inf, x[-1], np.inf, 1]), maxfev=2000,
        )
    except (RuntimeError, ValueError):
        log.warning("pseudo-Voigt peak fit failed; using the highest point", exc_info=True)
        return centre
    return float(values[1])


def fwhm(spectrum: Spectrum, window: Window = None) -> float:
    """Full width at half maximum: distance between the half-maximum crossings on either side.

    Walking out from the highest point, each crossing of ``max / 2`` is located by linear
    interpolation between the two points that bracket it. NaN if a side never drops below half.
    """
    energy, intensity = _finite_sorted(spectrum, window)
    if energy.size < 3:
        return float("nan")
    top = int(np.argmax(intensity))
    half = 0.5 * intensity[top]
    left = top
    while left > 0 and intensity[left] > half:
        left -= 1
    right = top
    while right < energy.size - 1 and intensity[right] > half:
        right += 1
    if intensity[left] > half or intensity[right] > half:
        return float("nan")

    def crossing(i_out: int, i_in: int) -> float:
        y_out, y_in = intensity[i_out], intensity[i_in]
        if y_in == y_out:
            return float(energy[i_out])
        return float(energy[i_out] + (half - y_out) * (energy[i_in] - energy[i_out]) / (y_in - y_out))

    return crossing(right, right - 1) - crossing(left, left + 1)


def area(spectrum: Spectrum, window: Window = None) -> float:
    """∫ I dE over the window (whole spectrum when None), trapezoid with interpolated edges."""
    lo, hi = _full_window(spectrum, window)
    energy, intensity = _finite_sorted(spectrum)
    return _window_area(energy, intensity, lo, hi)


def first_moment(spectrum: Spectrum, window: Window = None) -> float:
    """Intensity-weighted mean energy ``M1 = ∫ E·I dE / ∫ I dE`` over the window (trapezoid)."""
    lo, hi = _full_window(spectrum, window)
    energy, intensity = _finite_sorted(spectrum)
    denominator = _window_area(energy, intensity, lo, hi)
    if denominator == 0 or not np.isfinite(denominator):
        return float("nan")
    return _window_area(energy, energy * intensity, lo, hi) / denominator


def iad(spectrum: Spectrum, reference: Spectrum, window: Window = None) -> float:
    """Integrated absolute difference ``IAD = ∫ |a(E)/A_a − r(E)/A_r| dE``.

    Both spectra are area-normalised over the window (``A`` = their area there; the common range
    of the two when None) and compared on their shared measured energies (the mean read-backs, when
    they agree within jitter, :func:`xestools.analysis.average.shared_energies`), else on a common
    grid over their overlap (data step, :func:`xestools.analysis.common_grid`); the integral is a
    trapezoid over that window.
    """
    from xestools.analysis import common_grid
    from xestools.analysis.average import shared_energies

    if spectrum.axis != reference.axis:
        raise ValueError(f"cannot compare a {spectrum.axis} spectrum with a {reference.axis} spectrum")
    shared = shared_energies([spectrum, reference])
    grid = np.asarray(shared if shared is not None else common_grid([spectrum, reference], "overlap"), dtype=float)
    if grid.size < 2:
        raise ValueError(f"{spectrum.label or 'spectrum'} and {reference.label or 'reference'} do not overlap")
    lo, hi = _full_window(spectrum, window) if window is not None else (float(grid[0]), float(grid[-1]))
    lo, hi = max(lo, float(grid[0])), min(hi, float(grid[-1]))
    if hi <= lo:
        raise ValueError("the IAD window lies outside the common range of the two spectra")
    curves = []
    for item in (spectrum, reference):
        energy, intensity = _finite_sorted(item)
        norm = _window_area(energy, intensity, lo, hi)
        if norm == 0 or not np.isfinite(norm):
            raise ValueError(f"{item.label or 'spectrum'} has zero area in {lo:.2f}–{hi:.2f} eV")
        curves.append(np.interp(grid, energy, intensity) / norm)
    return _window_area(grid, np.abs(curves[0] - curves[1]), lo, hi)


def difference(a: Spectrum, b: Spectrum, *, label: str | None = None) -> Spectrum:
    """``a − b`` on ``a``'s grid where the two overlap (b linearly interpolated), σ = √(σa² + σb²)."""
    if a.axis != b.axis:
        raise ValueError(f"cannot subtract a {b.axis} spectrum from a {a.axis} spectrum")
    b_energy, b_intensity = _finite_sorted(b)
    if b_energy.size < 2:
        raise ValueError(f"{b.label or 'spectrum'} needs at least two finite points")
    energy = np.asarray(a.energy, dtype=float)
    inside = np.isfinite(energy) & (energy >= b_energy[0]) & (energy <= b_energy[-1])
    if np.count_nonzero(inside) < 2:
        raise ValueError(f"{a.label or 'a'} and {b.label or 'b'} do not overlap")
    values = np.asarray(a.intensity, dtype=float)[inside] - np.interp(energy[inside], b_energy, b_intensity)
    sigma = None
    if a.uncertainty is not None or b.uncertainty is not None:
        sigma_a = np.zeros(energy.size) if a.uncertainty is None else np.asarray(a.uncertainty, dtype=float)
        sigma_b = np.zeros(energy[inside].size)
        if b.uncertainty is not None:
            order = np.argsort(b.energy)
            sigma_b = np.interp(energy[inside], np.asarray(b.energy, dtype=float)[order], np.asarray(b.uncertainty, dtype=float)[order])
        sigma = np.sqrt(sigma_a[inside] ** 2 + sigma_b**2)
    operation = {"operation": "difference", "minuend": a.label or a.source, "subtrahend": b.label or b.source}
    return evolve(
        a,
        energy=energy[inside],
        intensity=values,
        uncertainty=sigma,
        monitor=None,
        label=label or f"{a.label or 'a'} − {b.label or 'b'}",
        metadata={"operations": list(a.metadata.get("operations", [])) + [operation]},
    )


@dataclass(frozen=True)
class LineShapeMetrics:
    """One row of the metrics table; NaN where a number is undefined for this spectrum.

    ``computed_on`` says what the numbers describe (:func:`computed_on`): on raw data the FWHM and
    the first moment include the baseline under the lines.
    """

    label: str
    peak_position: float
    fwhm: float
    first_moment: float
    area: float
    iad: float
    window_lo: float
    window_hi: float
    reference: str
    peak_uncertainty: float = float("nan")
    computed_on: str = ""
    #: the local parabola over 7 and 9 points, and the spread of the 5/7/9-point peaks (:func:`peak_method_spread`)
    peak_position_7: float = float("nan")
    peak_position_9: float = float("nan")
    peak_method_spread: float = float("nan")
    #: the centre of a fitted line near the peak, when a fit was given, and its σ
    peak_fitted: float = float("nan")
    peak_fitted_sigma: float = float("nan")

    def as_dict(self) -> dict:
        return asdict(self)


METRIC_COLUMNS = (
    ("label", "Item"),
    ("computed_on", "Computed on"),
    ("peak_position", "Peak (eV)"),
    ("peak_uncertainty", "Peak σ (eV)"),
    ("fwhm", "FWHM (eV)"),
    ("first_moment", "First moment (eV)"),
    ("area", "Area"),
    ("iad", "IAD"),
    ("window_lo", "Window from (eV)"),
    ("window_hi", "Window to (eV)"),
    ("reference", "IAD reference"),
    ("peak_method_spread", "Peak spread 5/7/9 points (eV)"),
    ("peak_fitted", "Fitted peak (eV)"),
    ("peak_fitted_sigma", "Fitted peak σ (eV)"),
)

RAW_BASIS = "raw data (baseline included)"
SUBTRACTED_BASIS = "background-subtracted"


def computed_on(spectrum: Spectrum) -> str:
    """What a spectrum's metrics describe, from its history: raw data (with its baseline), a fitted
    background, or the background-subtracted residual; ", area-normalised" when normalised."""
    basis = RAW_BASIS
    for operation in spectrum.metadata.get("operations", []) or []:
        if isinstance(operation, dict) and operation.get("operation") == "background":
            basis = SUBTRACTED_BASIS if operation.get("result") == "residual" else "fitted background"
    if isinstance(spectrum.metadata.get("normalisation"), dict):
        basis += ", area-normalised"
    return basis


def line_shape_metrics(spectrum: Spectrum, *, window: Window = None, reference: Spectrum | None = None,
                       fitted_peak: tuple[float, float] | None = None) -> LineShapeMetrics:
    """All metrics of one spectrum over a window (whole range when None); IAD only with a reference.

    ``fitted_peak`` (centre, σ) of a line fitted to this spectrum is reported beside the parabola's peak.
    """
    lo, hi = _full_window(spectrum, window)
    value_iad = float("nan")
    if reference is not None:
        try:
            value_iad = iad(spectrum, reference, (lo, hi))
        except ValueError as exc:
            log.info("IAD of %s against %s undefined: %s", spectrum.label, reference.label, exc)
    peak = peak_estimate(spectrum, (lo, hi))
    by_points, spread = peak_method_spread(spectrum, (lo, hi))
    fitted, fitted_sigma = fitted_peak if fitted_peak is not None else (float("nan"), float("nan"))
    return LineShapeMetrics(
        label=spectrum.label,
        peak_position=peak.position,
        fwhm=fwhm(spectrum, (lo, hi)),
        first_moment=first_moment(spectrum, (lo, hi)),
        area=area(spectrum, (lo, hi)),
        iad=value_iad,
        window_lo=lo,
        window_hi=hi,
        reference="" if reference is None else reference.label,
        peak_uncertainty=peak.uncertainty,
        computed_on=computed_on(spectrum),
        peak_position_7=by_points[7],
        peak_position_9=by_points[9],
        peak_method_spread=spread,
        peak_fitted=float(fitted),
        peak_fitted_sigma=float(fitted_sigma),
    )


def metrics_raw_and_subtracted(spectrum: Spectrum, residual: Spectrum | None, *, window: Window = None,
                               reference: Spectrum | None = None) -> list[LineShapeMetrics]:
    """The metrics of ``spectrum`` and, next to them, of its background-subtracted ``residual`` (when given)."""
    rows = [line_shape_metrics(spectrum, window=window, reference=reference)]
    if residual is not None:
        rows.append(line_shape_metrics(residual, window=window, reference=reference))
    return rows


def metrics_csv(rows: Sequence[LineShapeMetrics]) -> str:
    """The metrics table as CSV text (header row of column titles with units)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([title for _, title in METRIC_COLUMNS])
    for row in rows:
        values = row.as_dict()
        writer.writerow([values[key] if isinstance(values[key], str) else repr(float(values[key])) for key, _ in METRIC_COLUMNS])
    return buffer.getvalue()
