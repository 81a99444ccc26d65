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
    energy = np.asarray(spectrum.energy, dtype=float)
    intensity = np.asarray(spectrum.intensity, dtype=float)
    keep = np.isfinite(energy) & np.isfinite(intensity)
    if window is not None:
        lo, hi = sorted((float(window[0]), float(window[1])))
        keep &= (energy >= lo) & (energy <= hi)
    order = np.argsort(energy[keep], kind="stable")
    return energy[keep][order], intensity[keep][order]


def _full_window(spectrum: Spectrum, window: Window) -> tuple[float, float]:
    if window is not None:
        lo, hi = sorted((float(window[0]), float(window[1])))
        return lo, hi
    energy, _ = _finite_sorted(spectrum)
    if energy.size == 0:
        raise ValueError(f"{spectrum.label or 'spectrum'} has no finite points")
    return float(energy[0]), float(energy[-1])


def peak_position(spectrum: Spectrum, window: Window = None, *, method: str = "parabola", fraction: float = 0.7) -> float:
    """Position of the maximum, refined by a fit around it.

    ``parabola``: least-squares ``y = a E² + b E + c`` through the contiguous points around the
    highest one whose intensity is ≥ ``fraction`` × maximum (at least its two neighbours);
    the vertex ``−b / 2a``. ``pseudovoigt``: a pseudo-Voigt (scipy) fitted to the points above
    half maximum; its centre. NaN with fewer than 3 points or when the highest point is at an end
    (a rising or falling edge has no peak).
    """
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
    raise ValueError(f"unknown peak method {method!r}: use 'parabola' or 'pseudovoigt'")


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
    of the two when None) and compared on a common grid over their overlap (data step,
    :func:`xestools.analysis.common_grid`); the integral is a trapezoid over that window.
    """
    from xestools.analysis import common_grid

    if spectrum.axis != reference.axis:
        raise ValueError(f"cannot compare a {spectrum.axis} spectrum with a {reference.axis} spectrum")
    grid = np.asarray(common_grid([spectrum, reference], "overlap"), dtype=float)
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
    """One row of the metrics table; NaN where a number is undefined for this spectrum."""

    label: str
    peak_position: float
    fwhm: float
    first_moment: float
    area: float
    iad: float
    window_lo: float
    window_hi: float
    reference: str

    def as_dict(self) -> dict:
        return asdict(self)


METRIC_COLUMNS = (
    ("label", "Item"),
    ("peak_position", "Peak (eV)"),
    ("fwhm", "FWHM (eV)"),
    ("first_moment", "First moment (eV)"),
    ("area", "Area"),
    ("iad", "IAD"),
    ("window_lo", "Window from (eV)"),
    ("window_hi", "Window to (eV)"),
    ("reference", "IAD reference"),
)


def line_shape_metrics(spectrum: Spectrum, *, window: Window = None, reference: Spectrum | None = None) -> LineShapeMetrics:
    """All metrics of one spectrum over a window (whole range when None); IAD only with a reference."""
    lo, hi = _full_window(spectrum, window)
    value_iad = float("nan")
    if reference is not None:
        try:
            value_iad = iad(spectrum, reference, (lo, hi))
        except ValueError as exc:
            log.info("IAD of %s against %s undefined: %s", spectrum.label, reference.label, exc)
    return LineShapeMetrics(
        label=spectrum.label,
        peak_position=peak_position(spectrum, (lo, hi)),
        fwhm=fwhm(spectrum, (lo, hi)),
        first_moment=first_moment(spectrum, (lo, hi)),
        area=area(spectrum, (lo, hi)),
        iad=value_iad,
        window_lo=lo,
        window_hi=hi,
        reference="" if reference is None else reference.label,
    )


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
