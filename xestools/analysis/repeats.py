"""Repeats of one measurement: are they consistent, and do they drift (radiation damage)?

For each repeat of a series, over a window: the peak position (:func:`metrics.peak_estimate`),
first moment, area and IAD against the mean of the *other* repeats, each with σ, and the reduced
χ² of the repeat against that mean using both σ,
``χ²ᵣ = Σ_k (y_k − m_k)² / (σ_k² + σ_m,k²) / N`` over the N points of the window (``m`` the plain
mean of the others, ``σ_m = √Σσ²/(n−1)``). Linear functionals (area, first moment) get σ from the
exact trapezoid weights of the window; the IAD's σ is its spread over noise realisations of both
curves (fixed seed), since |d| folds the noise where the curves agree.

The peak's σ is the spread of the 5-point peak over noise realisations (it includes the jumps of the
highest point on a flat top, which the parabola's own σ misses); ``peak_spread`` is the 5/7/9-point
method spread. A repeat is flagged inconsistent when its χ² is beyond the ``1 − CONSISTENCY_P``
quantile of χ²(N), or one of its metrics differs from the weighted mean of the others by more than
the two-sided normal quantile of ``FAMILY_P`` shared among all repeats and metrics (Bonferroni).
A trend is the weighted least-squares slope of a metric against the repeat number, its σ inflated
by √max(χ²ᵣ, 1) of the line (so an underestimated σ does not raise false alarms); beyond
``TREND_SIGMA`` σ it is flagged. With Poisson-only repeats the measured false-alarm rate of the
whole test (three metrics) is given in tests/analysis/test_repeats.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from xestools.model import Spectrum, evolve

#: a trend (or a repeat's metric against the others) beyond this many σ is flagged
TREND_SIGMA = 3.0
#: a repeat whose χ² against the others has a p-value below this is flagged inconsistent
CONSISTENCY_P = 1e-3
#: chance that any repeat of a consistent series has a metric flagged as off (split over repeats and metrics)
FAMILY_P = 0.01
#: noise realisations behind the σ of a repeat's peak position (fixed seed: reproducible)
PEAK_RESAMPLES = 40
PEAK_SEED = 19
#: noise realisations behind the σ of an IAD
IAD_RESAMPLES = 100
TREND_METRICS = ("peak", "first_moment", "area")


@dataclass(frozen=True)
class RepeatRow:
    """One repeat's numbers; ``flags`` says in words what is wrong with it (empty when nothing)."""

    index: int
    label: str
    file: str
    scan: int | None
    start_time: str
    peak: float
    peak_sigma: float
    peak_spread: float
    first_moment: float
    first_moment_sigma: float
    area: float
    area_sigma: float
    iad: float
    iad_sigma: float
    chi2_reduced: float
    n_points: int
    flags: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "; ".join(self.flags)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "scan": self.scan, "start_time": self.start_time, "label": self.label,
                "peak": self.peak, "peak_sigma": self.peak_sigma,
                "peak_method_spread": self.peak_spread, "first_moment": self.first_moment,
                "first_moment_sigma": self.first_moment_sigma, "area": self.area, "area_sigma": self.area_sigma,
                "iad": self.iad, "iad_sigma": self.iad_sigma, "chi2_reduced": self.chi2_reduced,
                "n_points": self.n_points, "flag": self.flag}


@dataclass(frozen=True)
class Trend:
    """Weighted linear slope of ``metric`` against the repeat number (1, 2, …), σ inflated by √max(χ²ᵣ, 1)."""

    metric: str
    slope_per_repeat: float
    slope_sigma: float
    chi2_reduced: float
    flagged: bool

    @property
    def significance(self) -> float:
        return abs(self.slope_per_repeat) / self.slope_sigma if self.slope_sigma > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "slope_per_repeat": self.slope_per_repeat, "slope_sigma": self.slope_sigma,
                "chi2_reduced": self.chi2_reduced, "flagged": self.flagged}


@dataclass(frozen=True)
class RepeatsTable:
    rows: tuple[RepeatRow, ...]
    trends: tuple[Trend, ...]
    window: tuple[float, float]

    @property
    def trend(self) -> Trend:
        """The most significant trend (the one the table's summary shows)."""
        finite = [trend for trend in self.trends if math.isfinite(trend.significance)]
        return max(finite, key=lambda trend: trend.significance) if finite else self.trends[0]

    @property
    def flagged(self) -> bool:
        return any(trend.flagged for trend in self.trends) or any(row.flags for row in self.rows)

    def as_dict(self) -> dict[str, Any]:
        return {"repeats": [row.as_dict() for row in self.rows], "trend": self.trend.as_dict(),
                "trends": [trend.as_dict() for trend in self.trends], "window": list(self.window)}


def trapezoid_weights(energy: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Weights ``w`` with ``Σ w_j I_j`` = ∫ of the linear interpolant of I from lo to hi (sorted ``energy``)."""
    energy = np.asarray(energy, float)
    weights = np.zeros(energy.size)
    if energy.size < 2:
        return weights
    left, right = energy[:-1], energy[1:]
    a, b = np.clip(left, lo, hi), np.clip(right, lo, hi)
    width = right - left
    used = (b > a) & (width > 0)
    a, b, left, right, width = a[used], b[used], left[used], right[used], width[used]
    index = np.nonzero(used)[0]
    np.add.at(weights, index, ((right - a) ** 2 - (right - b) ** 2) / (2 * width))
    np.add.at(weights, index + 1, ((b - left) ** 2 - (a - left) ** 2) / (2 * width))
    return weights


def _on_grid(spectra: Sequence[Spectrum]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All repeats on one grid: their shared measured energies, else the overlap grid (interpolated)."""
    from xestools.analysis.average import common_grid, shared_energies
    from xestools.analysis.metrics import _finite_sorted_with_sigma

    shared = shared_energies(spectra)
    grid = np.asarray(shared if shared is not None else common_grid(spectra, "overlap"), float)
    values, sigmas = [], []
    for spectrum in spectra:
        energy, intensity, sigma = _finite_sorted_with_sigma(spectrum, None)
        if sigma is None:
            raise ValueError(f"{spectrum.label or spectrum.source} has no uncertainties; the repeats table needs σ")
        values.append(np.interp(grid, energy, intensity))
        sigmas.append(np.interp(grid, energy, sigma))
    return grid, np.vstack(values), np.vstack(sigmas)


def _moment_and_area(energy, intensity, sigma, lo, hi) -> tuple[float, float, float, float]:
    weights = trapezoid_weights(energy, lo, hi)
    area = float(weights @ intensity)
    area_sigma = float(math.sqrt(np.sum((weights * sigma) ** 2)))
    if area == 0:
        return float("nan"), float("nan"), area, area_sigma
    moment = float((weights * energy) @ intensity / area)
    moment_sigma = float(math.sqrt(np.sum((weights * (energy - moment) / area * sigma) ** 2)))
    return moment, moment_sigma, area, area_sigma


def _iad_and_sigma(grid, a, a_sigma, r, r_sigma, lo, hi, rng) -> tuple[float, float]:
    """``IAD = ∫|a/A_a − r/A_r|`` on the grid, and its σ as the spread over ``IAD_RESAMPLES`` noise
    realisations of both curves: where the curves agree, |a − r| is folded noise and a first-order
    propagation through the sign would overstate the spread."""
    weights = trapezoid_weights(grid, lo, hi)
    used = weights > 0
    weights, a, a_sigma, r, r_sigma = weights[used], a[used], a_sigma[used], r[used], r_sigma[used]

    def iad(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            difference = first / (first @ weights)[..., None] - second / (second @ weights)[..., None]
        return np.abs(difference) @ weights

    value = float(iad(a[None, :], r[None, :])[0])
    noisy_a = a + rng.normal(size=(IAD_RESAMPLES, a.size)) * a_sigma
    noisy_r = r + rng.normal(size=(IAD_RESAMPLES, r.size)) * r_sigma
    spread = iad(noisy_a, noisy_r)
    return value, float(np.std(spread[np.isfinite(spread)], ddof=1)) if np.isfinite(spread).sum() > 2 else float("nan")


def _weighted_slope(values: np.ndarray, sigmas: np.ndarray) -> tuple[float, float, float]:
    """Slope, σ (×√max(χ²ᵣ, 1)) and χ²ᵣ of the weighted line through (1…n, values)."""
    keep = np.isfinite(values) & np.isfinite(sigmas) & (sigmas > 0)
    x, y, w = np.arange(1, values.size + 1, dtype=float)[keep], values[keep], 1.0 / sigmas[keep] ** 2
    if x.size < 3:
        return float("nan"), float("nan"), float("nan")
    x_mean = np.sum(w * x) / np.sum(w)
    spread = np.sum(w * (x - x_mean) ** 2)
    slope = float(np.sum(w * (x - x_mean) * y) / spread)
    intercept = np.sum(w * y) / np.sum(w) - slope * x_mean
    chi2_reduced = float(np.sum(w * (y - intercept - slope * x) ** 2) / (x.size - 2))
    return slope, float(math.sqrt(max(chi2_reduced, 1.0) / spread)), chi2_reduced


def trend_line(table: "RepeatsTable", metric: str) -> np.ndarray:
    """The weighted line of ``metric`` against repeat number 1…n (the one whose slope is the table's trend), at 1…n."""
    values = np.array([getattr(row, metric) for row in table.rows], float)
    sigmas = np.array([getattr(row, f"{metric}_sigma") for row in table.rows], float)
    x = np.arange(1, values.size + 1, dtype=float)
    keep = np.isfinite(values) & np.isfinite(sigmas) & (sigmas > 0)
    if keep.sum() < 3:
        return np.full(values.size, np.nan)
    w = 1.0 / sigmas[keep] ** 2
    x_mean = np.sum(w * x[keep]) / np.sum(w)
    slope = np.sum(w * (x[keep] - x_mean) * values[keep]) / np.sum(w * (x[keep] - x_mean) ** 2)
    return np.sum(w * values[keep]) / np.sum(w) + slope * (x - x_mean)


def _parabola_peaks(energy: np.ndarray, values: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """The 5-point peak of :func:`metrics.peak_estimate` for every row of ``values`` at once.

    Vertex of the 1/σ²-weighted parabola through the highest point and two neighbours on each side;
    NaN when the highest point is within two points of an end, the curvature is not negative, or the
    vertex falls outside the five points (as peak_estimate does).
    """
    top = np.argmax(values, axis=1)
    inside = (top >= 2) & (top <= energy.size - 3)
    around = np.clip(top, 2, energy.size - 3)[:, None] + np.arange(-2, 3)
    x = energy[around]
    t = x - x[:, 2:3]
    y = np.take_along_axis(values, around, axis=1)
    weight = 1.0 / sigma[around] ** 2
    design = np.stack([t * t, t, np.ones_like(t)], axis=2)
    normal = np.einsum("rki,rk,rkj->rij", design, weight, design)
    rhs = np.einsum("rki,rk,rk->ri", design, weight, y)
    a, b, _ = np.linalg.solve(normal, rhs[..., None])[..., 0].T
    with np.errstate(invalid="ignore", divide="ignore"):
        vertex = x[:, 2] - b / (2 * a)
    good = inside & (a < 0) & (vertex >= x[:, 0]) & (vertex <= x[:, -1])
    return np.where(good, vertex, np.nan)


def _peak_sigma(spectrum: Spectrum, lo: float, hi: float) -> float:
    """Spread of the 5-point peak over noise realisations of the spectrum: unlike the parabola's own σ
    it includes the jumps of the highest point on a flat top, which dominate on noisy repeats."""
    from xestools.analysis.metrics import _finite_sorted_with_sigma

    energy, intensity, sigma = _finite_sorted_with_sigma(spectrum, (lo, hi))
    if sigma is None or energy.size < 5 or not np.all(sigma > 0):
        return float("nan")
    rng = np.random.default_rng(PEAK_SEED)
    found = _parabola_peaks(energy, intensity + rng.normal(size=(PEAK_RESAMPLES, energy.size)) * sigma, sigma)
    return float(np.std(found[np.isfinite(found)], ddof=1)) if np.isfinite(found).sum() > 2 else float("nan")


def _row_flags(index, metrics, chi2_reduced, n_points, consistency_p) -> tuple[str, ...]:
    from scipy.stats import chi2, norm

    threshold = float(norm.isf(FAMILY_P / (2 * len(metrics) * next(iter(metrics.values()))[0].size)))
    flags = []
    if n_points and chi2.sf(chi2_reduced * n_points, n_points) < consistency_p:
        flags.append(f"inconsistent with the others (χ²ᵣ = {chi2_reduced:.2f} over {n_points} points)")
    for name, (values, sigmas) in metrics.items():
        others = np.delete(np.arange(values.size), index)
        ok = others[np.isfinite(values[others]) & (sigmas[others] > 0)]
        if ok.size == 0 or not math.isfinite(values[index]):
            continue
        weights = 1.0 / sigmas[ok] ** 2
        mean = np.sum(weights * values[ok]) / np.sum(weights)
        pull = (values[index] - mean) / math.sqrt(sigmas[index] ** 2 + 1.0 / np.sum(weights))
        if abs(pull) > threshold:
            flags.append(f"{name.replace('_', ' ')} {pull:+.1f}σ from the others")
    return tuple(flags)


def repeats_table(spectra: Sequence[Spectrum], window: Sequence[float] | None = None, *,
                  consistency_p: float = CONSISTENCY_P) -> RepeatsTable:
    """The repeats table of a series (module docstring); ``window`` defaults to the repeats' common range.

    Raises ValueError for fewer than two spectra, mixed axes or a spectrum without σ.
    """
    from xestools.analysis.metrics import peak_estimate, peak_method_spread

    spectra = list(spectra)
    if len(spectra) < 2:
        raise ValueError("a repeats table needs two or more spectra")
    if len({spectrum.axis for spectrum in spectra}) > 1:
        raise ValueError("the repeats mix energy axes")
    grid, values, sigmas = _on_grid(spectra)
    lo, hi = (float(grid[0]), float(grid[-1])) if window is None else sorted(map(float, window))
    inside = (grid >= lo) & (grid <= hi)
    count = len(spectra)
    total, total_variance = values.sum(axis=0), (sigmas**2).sum(axis=0)
    numbers = []
    for index, spectrum in enumerate(spectra):
        others = (total - values[index]) / (count - 1)
        others_sigma = np.sqrt(total_variance - sigmas[index] ** 2) / (count - 1)
        peak = peak_estimate(spectrum, (lo, hi))
        spread = peak_method_spread(spectrum, (lo, hi))[1]
        moment = _moment_and_area(grid, values[index], sigmas[index], lo, hi)
        iad = _iad_and_sigma(grid, values[index], sigmas[index], others, others_sigma, lo, hi,
                             np.random.default_rng(PEAK_SEED + index))
        pulls = (values[index] - others)[inside] ** 2 / (sigmas[index] ** 2 + others_sigma**2)[inside]
        numbers.append((peak.position, peak.uncertainty, *moment, *iad, float(np.mean(pulls)), int(inside.sum()),
                        spread))
    table = np.array([row[:9] for row in numbers], float)
    peak_sigma = np.array([_peak_sigma(spectrum, lo, hi) for spectrum in spectra])
    metrics = {"peak": (table[:, 0], peak_sigma), "first_moment": (table[:, 2], table[:, 3]),
               "area": (table[:, 4], table[:, 5])}
    rows = []
    for index, spectrum in enumerate(spectra):
        row = numbers[index]
        info = spectrum.info
        rows.append(RepeatRow(
            index=index, label=spectrum.label, file=spectrum.source or spectrum.label,
            scan=None if info is None else info.scan_number, start_time="" if info is None else info.start_time,
            peak=row[0], peak_sigma=peak_sigma[index], peak_spread=row[10], first_moment=row[2], first_moment_sigma=row[3], area=row[4],
            area_sigma=row[5], iad=row[6], iad_sigma=row[7], chi2_reduced=row[8], n_points=row[9],
            flags=_row_flags(index, metrics, row[8], row[9], consistency_p)))
    trends = []
    for name in TREND_METRICS:
        slope, slope_sigma, chi2_reduced = _weighted_slope(*metrics[name])
        flagged = bool(math.isfinite(slope) and slope_sigma > 0 and abs(slope) > TREND_SIGMA * slope_sigma)
        trends.append(Trend(name, slope, slope_sigma, chi2_reduced, flagged))
    return RepeatsTable(tuple(rows), tuple(trends), (lo, hi))


def average_excluding(spectra: Sequence[Spectrum], excluded: Sequence[int], *,
                      reasons: Mapping[int, str] | None = None, weighted: bool = False, grid: str = "overlap",
                      label: str = "") -> Spectrum:
    """The average of the repeats not in ``excluded`` (indices); the exclusion is in its provenance.

    ``metadata["excluded"]`` lists each left-out repeat (label, source, scan number, reason), and the
    history gains an "exclude repeats" operation before the average.
    """
    from xestools.analysis.average import _member_record, average_spectra

    spectra = list(spectra)
    left_out = sorted(set(int(index) for index in excluded))
    if any(not 0 <= index < len(spectra) for index in left_out):
        raise ValueError(f"excluded repeats {left_out} are not all among 0–{len(spectra) - 1}")
    kept = [spectrum for index, spectrum in enumerate(spectra) if index not in left_out]
    if not kept:
        raise ValueError("every repeat is excluded; nothing to average")
    records = [dict(_member_record(spectra[index]), reason=(reasons or {}).get(index, "")) for index in left_out]
    average = average_spectra(kept, weighted=weighted, grid=grid, label=label)
    operation = {"operation": "exclude repeats", "excluded": [record["label"] or record["source"] for record in records],
                 "kept": len(kept), "of": len(spectra)}
    operations = list(average.metadata.get("operations", []))
    return evolve(average, metadata={"excluded": records, "operations": [operation] + operations})


__all__ = ["CONSISTENCY_P", "RepeatRow", "RepeatsTable", "TREND_METRICS", "TREND_SIGMA", "Trend", "FAMILY_P",
           "average_excluding", "repeats_table", "trapezoid_weights", "trend_line"]
