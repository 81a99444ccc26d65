"""Energy alignment between spectra and calibration of an energy axis.

Convention: an energy shift ``s`` is applied as ``E' = E + s``. :func:`find_shift` returns the
``s`` that brings a spectrum onto a reference, with its σ:

* ``xcorr``: the lag ``L`` maximising the normalised cross-correlation
  ``C(L) = Σ (r_i − r̄)(y(E_i + L) − ȳ)`` over the reference's points in the window (y linearly
  interpolated), on lags that are multiples of the reference's step, refined by the vertex of
  the parabola through the best lag and its neighbours on a grid ten times finer; ``s = −L``.
  σ is the spread of the lag over :data:`BOOTSTRAP_RESAMPLES` noise realisations (both spectra
  perturbed by their σ, fixed seed, so the number is reproducible).
* ``peak``: one line fitted (:func:`xestools.analysis.fitting.fit_lines`) to each spectrum in the
  window; ``s = c_ref − c``, ``σ = √(σ_ref² + σ_c²)``.

A :class:`Calibration` (offset, optional linear term, from a reference line at a known energy) is a
stored object; :func:`apply_calibration` returns a new spectrum and records it, so the raw energies
can always be recovered (:func:`remove_calibration`). Shifted spectra record their shift; an average
of them says so in its metadata (``shifted``) next to ``resampled``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from xestools.model import Spectrum, evolve

SHIFT_METHODS = ("xcorr", "peak")
#: noise realisations behind the σ of a cross-correlation shift
BOOTSTRAP_RESAMPLES = 100
BOOTSTRAP_SEED = 20251007


@dataclass(frozen=True)
class Shift:
    """``E' = E + value`` aligns ``label`` to ``reference``; ``sigma`` is 1σ."""

    value: float
    sigma: float
    method: str
    window: tuple[float, float]
    label: str = ""
    reference: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.label, "shift_eV": self.value, "shift_sigma_eV": self.sigma, "method": self.method,
                "window": list(self.window), "reference": self.reference}


def _points(spectrum: Spectrum):
    from xestools.analysis.metrics import _finite_sorted_with_sigma

    return _finite_sorted_with_sigma(spectrum, None)


def _correlation(centred_ref: np.ndarray, energies: np.ndarray, lags: np.ndarray, x: np.ndarray, y: np.ndarray):
    shifted = np.interp(energies[None, :] + lags[:, None], x, y)
    shifted -= shifted.mean(axis=1, keepdims=True)
    norms = np.sqrt(np.sum(shifted**2, axis=1) * np.sum(centred_ref**2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (shifted @ centred_ref) / norms


def _vertex(lags: np.ndarray, correlation: np.ndarray) -> tuple[int, float]:
    """Index of the best lag and the vertex of the parabola through it and its neighbours (NaN at an end)."""
    best = int(np.nanargmax(correlation))
    if best in (0, lags.size - 1):
        return best, float("nan")
    left, middle, right = correlation[best - 1:best + 2]
    curvature = left - 2 * middle + right
    offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
    return best, float(lags[best] + offset * (lags[1] - lags[0]))


def _best_lag(ref_values: np.ndarray, energies: np.ndarray, lags: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """Sub-step lag maximising the normalised cross-correlation: best lag on the step grid, then the
    parabola vertex on a grid ten times finer around it (interpolation makes C piecewise smooth)."""
    centred_ref = ref_values - ref_values.mean()
    best, vertex = _vertex(lags, _correlation(centred_ref, energies, lags, x, y))
    if not math.isfinite(vertex):
        return vertex
    fine = lags[best] + np.linspace(-1.0, 1.0, 21) * (lags[1] - lags[0])
    _, refined = _vertex(fine, _correlation(centred_ref, energies, fine, x, y))
    return refined if math.isfinite(refined) else vertex


def _xcorr(spectrum: Spectrum, reference: Spectrum, lo: float, hi: float, max_shift: float,
           resamples: int, seed: int) -> tuple[float, float]:
    x, y, y_sigma = _points(spectrum)
    r_energy, r_values, r_sigma = _points(reference)
    inside = (r_energy >= lo) & (r_energy <= hi)
    inside &= (r_energy - max_shift >= x[0]) & (r_energy + max_shift <= x[-1]) if x.size else inside
    energies, values = r_energy[inside], r_values[inside]
    if energies.size < 5:
        raise ValueError(f"fewer than 5 points of {reference.label or 'the reference'} lie in the window "
                         f"{lo:g}–{hi:g} eV with {spectrum.label or 'the spectrum'} covering ±{max_shift:g} eV around them")
    step = float(np.median(np.diff(energies)))
    count = int(math.ceil(max_shift / step))
    lags = step * np.arange(-count, count + 1)
    lag = _best_lag(values, energies, lags, x, y)
    if not math.isfinite(lag):
        raise ValueError(f"the best match of {spectrum.label or 'the spectrum'} lies at the edge of ±{max_shift:g} eV; "
                         "widen the window or check that the spectra show the same line")
    if y_sigma is None or r_sigma is None:
        return -lag, float("nan")
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(resamples):
        noisy_ref = values + rng.normal(0.0, 1.0, values.size) * r_sigma[inside]
        noisy = y + rng.normal(0.0, 1.0, y.size) * y_sigma
        found.append(_best_lag(noisy_ref, energies, lags, x, noisy))
    found = np.asarray(found)
    return -lag, float(np.std(found[np.isfinite(found)], ddof=1)) if np.isfinite(found).sum() > 2 else float("nan")


def line_position(spectrum: Spectrum, window: Sequence[float], *, shape: str = "voigt") -> tuple[float, float]:
    """Centre and σ of one line (``shape`` + linear background) fitted over the window, started at its maximum."""
    from xestools.analysis.fitting import fit_lines
    from xestools.analysis.metrics import peak_estimate

    start = peak_estimate(spectrum, window).position
    if not math.isfinite(start):
        raise ValueError(f"{spectrum.label or 'the spectrum'} has no peak inside {window[0]:g}–{window[1]:g} eV")
    fit = fit_lines(spectrum, [start], shape=shape, window=window)
    centre = fit.components[0].center
    return centre.value, centre.sigma


def find_shift(spectrum: Spectrum, reference: Spectrum, window: Sequence[float] | None = None, *,
               method: str = "xcorr", max_shift: float | None = None, resamples: int = BOOTSTRAP_RESAMPLES,
               seed: int = BOOTSTRAP_SEED, shape: str = "voigt") -> Shift:
    """The shift ``s`` (``E' = E + s``) that aligns ``spectrum`` to ``reference``, with its σ (module docstring).

    ``window`` defaults to the reference's range; ``max_shift`` (xcorr) to a quarter of the window.
    Raises ValueError for mixed axes, an unknown method or a window without enough points.
    """
    if spectrum.axis != reference.axis:
        raise ValueError(f"cannot align a {spectrum.axis} spectrum to a {reference.axis} spectrum")
    if method not in SHIFT_METHODS:
        raise ValueError(f"unknown alignment method {method!r}; choose from {', '.join(SHIFT_METHODS)}")
    r_energy = _points(reference)[0]
    if r_energy.size < 2:
        raise ValueError(f"{reference.label or 'the reference'} needs at least two finite points")
    lo, hi = (float(r_energy[0]), float(r_energy[-1])) if window is None else sorted(map(float, window))
    if method == "peak":
        centre, sigma = line_position(spectrum, (lo, hi), shape=shape)
        ref_centre, ref_sigma = line_position(reference, (lo, hi), shape=shape)
        value, error = ref_centre - centre, math.hypot(sigma, ref_sigma)
    else:
        value, error = _xcorr(spectrum, reference, lo, hi, max_shift or 0.25 * (hi - lo), resamples, seed)
    return Shift(float(value), float(error), method, (lo, hi), spectrum.label or spectrum.source,
                 reference.label or reference.source)


def shift_spectrum(spectrum: Spectrum, shift: "Shift | float", sigma: float = float("nan")) -> Spectrum:
    """A new spectrum on ``E + s``; ``metadata["energy_shift"]`` (and the history) record ``s`` and its σ."""
    record = shift.as_dict() if isinstance(shift, Shift) else {"shift_eV": float(shift), "shift_sigma_eV": sigma,
                                                               "method": "given"}
    record = {key: value for key, value in record.items() if key != "file"}
    operation = {"operation": "shift", **record}
    previous = spectrum.metadata.get("energy_shift")
    total = record["shift_eV"] + (previous["shift_eV"] if isinstance(previous, Mapping) else 0.0)
    return evolve(spectrum, energy=np.asarray(spectrum.energy, float) + record["shift_eV"],
                  label=spectrum.label,
                  metadata={"energy_shift": dict(record, shift_eV=total),
                            "operations": list(spectrum.metadata.get("operations", [])) + [operation]})


def align_spectra(spectra: Sequence[Spectrum], reference: Spectrum, window: Sequence[float] | None = None, *,
                  method: str = "xcorr", **options: Any) -> tuple[list[Spectrum], list[Shift]]:
    """Each spectrum shifted onto ``reference``; the aligned spectra and their shifts."""
    shifts = [find_shift(spectrum, reference, window, method=method, **options) for spectrum in spectra]
    return [shift_spectrum(spectrum, shift) for spectrum, shift in zip(spectra, shifts)], shifts


def average_aligned(spectra: Sequence[Spectrum], reference: Spectrum, window: Sequence[float] | None = None, *,
                    method: str = "xcorr", weighted: bool = False, label: str = "") -> Spectrum:
    """Align every spectrum to ``reference``, then average (resampled onto a common grid when the shifts
    separate the energies); ``metadata["alignment"]`` lists the shifts and ``shifted`` is True."""
    from xestools.analysis.average import average_spectra

    aligned, shifts = align_spectra(spectra, reference, window, method=method)
    average = average_spectra(aligned, weighted=weighted, label=label)
    operation = {"operation": "align", "method": method, "reference": reference.label or reference.source,
                 "shifts_eV": [shift.value for shift in shifts], "resampled": bool(average.metadata["resampled"])}
    return evolve(average, metadata={"shifted": True, "alignment": [shift.as_dict() for shift in shifts],
                                     "operations": list(average.metadata.get("operations", [])) + [operation]})


# ----------------------------------------------------------------------------------------------
# calibration


@dataclass(frozen=True)
class Calibration:
    """``E' = E + offset + slope·(E − anchor)``: raw energies ``E`` to calibrated ``E'``.

    ``anchor`` is where the offset was measured (the reference line's fitted raw position), so the
    linear term does not move that point. Build one with :func:`calibration_from_line` or
    :func:`calibration_from_lines`; store it with :meth:`as_dict` / :meth:`from_dict`.
    """

    offset: float
    offset_sigma: float = float("nan")
    slope: float = 0.0
    slope_sigma: float = 0.0
    anchor: float = 0.0
    reference: str = ""

    def apply(self, energy) -> np.ndarray:
        energy = np.asarray(energy, float)
        return energy + self.offset + self.slope * (energy - self.anchor)

    def invert(self, calibrated) -> np.ndarray:
        calibrated = np.asarray(calibrated, float)
        return (calibrated - self.offset + self.slope * self.anchor) / (1.0 + self.slope)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> "Calibration":
        known = {name: record[name] for name in ("offset", "offset_sigma", "slope", "slope_sigma", "anchor", "reference")
                 if name in record}
        if "offset" not in known:
            raise ValueError("a calibration record needs an 'offset'")
        return cls(**{key: (str(value) if key == "reference" else float(value)) for key, value in known.items()})


def calibration_from_line(spectrum: Spectrum, known_energy: float, window: Sequence[float], *,
                          shape: str = "voigt", name: str = "") -> Calibration:
    """An offset calibration: the line fitted in ``window`` is moved to ``known_energy`` (e.g. a standard's Kβ1,3)."""
    centre, sigma = line_position(spectrum, window, shape=shape)
    what = name or f"line at {known_energy:g} eV"
    return Calibration(offset=float(known_energy) - centre, offset_sigma=sigma, anchor=centre,
                       reference=f"{what} in {spectrum.label or spectrum.source}")


def calibration_from_lines(measured: Sequence[tuple[float, float]], known: Sequence[float], *,
                           reference: str = "") -> Calibration:
    """Offset and linear term from two or more lines: weighted least squares of ``known − E`` on ``E − anchor``.

    ``measured`` holds (raw position, σ) pairs; ``anchor`` is their weighted mean position.
    """
    if len(measured) != len(known) or len(known) < 2:
        raise ValueError("a linear calibration needs two or more lines, each with a known energy")
    position = np.array([item[0] for item in measured], float)
    sigma = np.array([item[1] for item in measured], float)
    weight = 1.0 / sigma**2 if np.all(sigma > 0) else np.ones_like(position)
    anchor = float(np.sum(weight * position) / np.sum(weight))
    design = np.column_stack([np.ones_like(position), position - anchor])
    normal = design.T @ (weight[:, None] * design)
    covariance = np.linalg.inv(normal)
    offset, slope = covariance @ design.T @ (weight * (np.asarray(known, float) - position))
    return Calibration(float(offset), float(math.sqrt(covariance[0, 0])), float(slope),
                       float(math.sqrt(covariance[1, 1])), anchor, reference)


def apply_calibration(spectrum: Spectrum, calibration: Calibration) -> Spectrum:
    """A new spectrum on calibrated energies; a previous calibration is replaced, never compounded."""
    raw = remove_calibration(spectrum)
    operation = {"operation": "calibration", **calibration.as_dict()}
    return evolve(raw, energy=calibration.apply(raw.energy),
                  metadata={"calibration": calibration.as_dict(),
                            "operations": list(raw.metadata.get("operations", [])) + [operation]})


def remove_calibration(spectrum: Spectrum) -> Spectrum:
    """The spectrum on its raw energies again (unchanged when it carries no calibration)."""
    record = spectrum.metadata.get("calibration")
    if not isinstance(record, Mapping):
        return spectrum
    calibration = Calibration.from_dict(record)
    metadata = {key: value for key, value in spectrum.metadata.items() if key != "calibration"}
    metadata["operations"] = list(metadata.get("operations", [])) + [{"operation": "calibration removed"}]
    import dataclasses

    return dataclasses.replace(spectrum, energy=calibration.invert(spectrum.energy), metadata=metadata)


__all__ = ["BOOTSTRAP_RESAMPLES", "BOOTSTRAP_SEED", "Calibration", "SHIFT_METHODS", "Shift", "align_spectra",
           "apply_calibration", "average_aligned", "calibration_from_line", "calibration_from_lines", "find_shift",
           "line_position", "remove_calibration", "shift_spectrum"]
