"""Area normalisation over an energy window, removable and never compounding.

The area of a spectrum over a window [a, b] is the trapezoid integral of its finite points inside
the window, with the window edges added as points whose intensity is linearly interpolated:

    x = (a, x_k … x_m, b),  y = (I(a), I_k … I_m, I(b)),  A = Σ (x_j+1 − x_j)(y_j + y_j+1)/2

A normalisation window must run upwards (lo < hi): a reversed or empty window is refused, not
silently swapped. The window is clipped to the data's energy range; the window is recorded once, as
the window actually used (``window``); a clipped request is kept next to it as ``requested_window``
with ``window_clipped`` True, and a warning naming both windows is added to ``metadata["warnings"]``
(the CLI prints it), so "area over 9600–9640 eV" is never reported for data that start at 9620 eV.
Normalising multiplies intensity and σ by ``factor = 1/A``, with A the area of the reference (or of
the object itself) over the window, and records ``metadata["normalisation"] = {factor, window,
window_clipped[, requested_window], reference, reference_source, area}``. An object that is already normalised is
first restored to its un-normalised values (``I / factor``), so normalising again replaces the
normalisation instead of compounding it; :func:`remove_normalisation` does that restoring.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import numpy as np

from xestools.model import RXESMap, Spectrum, evolve

NORMALISATION_OPERATIONS = ("normalise_area", "normalise_map")
LABEL_SUFFIX = " (area norm.)"


def _window(window: Sequence[float], *, ordered: bool = False) -> tuple[float, float]:
    """(lo, hi) of a window; ``ordered`` (normalisation) refuses hi < lo instead of swapping them."""
    try:
        lo, hi = (float(value) for value in window)
    except (TypeError, ValueError):
        raise ValueError(f"a normalisation window is two energies (lo, hi), got {window!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"the normalisation window must be finite, got {lo}–{hi} eV")
    if lo == hi:
        raise ValueError(f"the normalisation window {lo:.3f}–{hi:.3f} eV is empty (zero width)")
    if ordered and hi < lo:
        raise ValueError(f"the normalisation window {lo:.3f}–{hi:.3f} eV runs backwards; give the lower energy first")
    return (lo, hi) if lo < hi else (hi, lo)


def _clipped_window(energy: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    return max(lo, float(energy[0])), min(hi, float(energy[-1]))


def _sorted_finite(energy, intensity) -> tuple[np.ndarray, np.ndarray]:
    energy = np.asarray(energy, dtype=float).ravel()
    intensity = np.asarray(intensity, dtype=float).ravel()
    if energy.shape != intensity.shape:
        raise ValueError(f"energy and intensity differ in length ({energy.size} and {intensity.size})")
    keep = np.isfinite(energy) & np.isfinite(intensity)
    order = np.argsort(energy[keep], kind="stable")
    return energy[keep][order], intensity[keep][order]


def window_area(energy, intensity, lo: float, hi: float) -> float:
    """Trapezoid area of ``intensity(energy)`` over [lo, hi] with interpolated edges (see module doc).

    Non-finite points are ignored; the window is clipped to the data range. Raises ValueError when
    the window does not overlap the data or has zero width after clipping.
    """
    lo, hi = _window((lo, hi))
    energy, intensity = _sorted_finite(energy, intensity)
    if energy.size < 2:
        raise ValueError("a spectrum needs at least two finite points to integrate")
    low, high = _clipped_window(energy, lo, hi)
    if low >= high:
        raise ValueError(
            f"the window {lo:.3f}–{hi:.3f} eV does not overlap the data range {energy[0]:.3f}–{energy[-1]:.3f} eV"
        )
    inside = (energy > low) & (energy < high)
    xs = np.concatenate([[low], energy[inside], [high]])
    ys = np.concatenate([[np.interp(low, energy, intensity)], intensity[inside], [np.interp(high, energy, intensity)]])
    return float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2.0))


def _is_normalised(obj: Spectrum | RXESMap) -> bool:
    return isinstance(obj.metadata.get("normalisation"), dict) and "factor" in obj.metadata["normalisation"]


def remove_normalisation(obj: Spectrum | RXESMap) -> Spectrum | RXESMap:
    """The un-normalised object: ``I / factor`` and ``σ / factor``, without ``metadata["normalisation"]``.

    Returns ``obj`` itself when it is not normalised. The normalisation entry is dropped from
    ``metadata["operations"]`` and the label suffix it added is removed (also from a cut's label,
    which carries its map's label).
    """
    if not _is_normalised(obj):
        return obj
    try:
        factor = float(obj.metadata["normalisation"]["factor"])
    except (TypeError, ValueError):
        factor = float("nan")
    if not math.isfinite(factor) or factor == 0.0:
        raise ValueError(f"the normalisation record of {obj.label or 'this object'} has no usable factor")
    metadata = {key: value for key, value in obj.metadata.items() if key != "normalisation"}
    if "warnings" in metadata:
        metadata["warnings"] = [w for w in metadata["warnings"] if not str(w).startswith("normalisation window")]
    metadata["operations"] = [
        operation
        for operation in obj.metadata.get("operations", [])
        if not (isinstance(operation, dict) and operation.get("name") in NORMALISATION_OPERATIONS)
    ]
    label = obj.label.replace(LABEL_SUFFIX, "", 1)
    uncertainty = None if obj.uncertainty is None else obj.uncertainty / factor
    return dataclasses.replace(
        obj, intensity=obj.intensity / factor, uncertainty=uncertainty, metadata=metadata, label=label
    )


def _apply(obj, factor: float, record: dict[str, Any], operation: dict[str, Any]):
    operations = list(obj.metadata.get("operations", [])) + [operation]
    uncertainty = None if obj.uncertainty is None else obj.uncertainty * factor
    return evolve(
        obj,
        intensity=obj.intensity * factor,
        uncertainty=uncertainty,
        label=f"{obj.label}{LABEL_SUFFIX}" if obj.label else obj.label,
        metadata={"normalisation": record, "operations": operations},
    )


def _reference_area(reference: Spectrum, lo: float, hi: float, what: str) -> tuple[float, tuple[float, float]]:
    energy, _ = _sorted_finite(reference.energy, reference.intensity)
    if energy.size < 2:
        raise ValueError(f"{what} needs at least two finite points to integrate")
    area = window_area(reference.energy, reference.intensity, lo, hi)
    effective = _clipped_window(energy, lo, hi)
    if not math.isfinite(area) or area == 0.0:
        raise ValueError(f"{what} has zero area over {lo:.3f}–{hi:.3f} eV; choose a window over the signal")
    if area < 0:
        raise ValueError(
            f"{what} has a negative area ({area:.4g}) over {lo:.3f}–{hi:.3f} eV; choose a window over the signal"
        )
    return area, effective


def normalise_area(spectrum: Spectrum, window: Sequence[float], *, reference: Spectrum | None = None) -> Spectrum:
    """``spectrum`` divided by the area A over ``window`` of ``reference`` (default: itself).

    ``I' = I / A``, ``σ' = σ / A``; both ``spectrum`` and ``reference`` are taken un-normalised
    (their own normalisation removed first), so the result never compounds. Raises ValueError for
    a bad window, a reference on another axis, or a zero/negative area.
    """
    lo, hi = _window(window, ordered=True)
    base = remove_normalisation(spectrum)
    if reference is None:
        source, what, reference_name, reference_source = base, "the spectrum", "self", base.source
    else:
        if reference.axis != spectrum.axis:
            raise ValueError(f"the reference is on the {reference.axis} axis, the spectrum on the {spectrum.axis} axis")
        source = remove_normalisation(reference)
        what = f"the reference {source.label!r}" if source.label else "the reference"
        reference_name, reference_source = source.label, source.source
    return _divide_by_area(base, source, (lo, hi), what, reference_name, reference_source, "normalise_area")


def normalise_map(rxes_map: RXESMap, reference: Spectrum | None, window: Sequence[float]) -> RXESMap:
    """``rxes_map`` divided by the area A over ``window`` of ``reference``.

    ``reference=None`` uses the map's own XES summed over Ω (window on ω); otherwise the window
    is on the reference's own energy axis. ``I' = I / A``,
    ``σ' = σ / A`` for every point; the map is taken un-normalised first (never compounds).
    """
    from xestools.analysis.cuts import xes_summed

    lo, hi = _window(window, ordered=True)
    base = remove_normalisation(rxes_map)
    if reference is None:
        source = xes_summed(base)
        what, reference_name, reference_source = "the map's summed XES", "self (summed over Ω)", base.source
    else:
        source = remove_normalisation(reference)
        what = f"the reference {source.label!r}" if source.label else "the reference"
        reference_name, reference_source = source.label, source.source
    return _divide_by_area(base, source, (lo, hi), what, reference_name, reference_source, "normalise_map")


def _divide_by_area(base, source: Spectrum, window: tuple[float, float], what: str, reference_name: str,
                    reference_source: str, operation_name: str):
    """``base`` (un-normalised) divided by the area of ``source`` over ``window``, with its record."""
    lo, hi = window
    area, effective = _reference_area(source, lo, hi, what)
    factor = 1.0 / area
    clipped = effective != (lo, hi)
    requested = {"requested_window": [lo, hi]} if clipped else {}
    record = {
        "factor": factor,
        "area": area,
        "window": [effective[0], effective[1]],
        **requested,
        "window_clipped": clipped,
        "reference": reference_name,
        "reference_source": reference_source,
    }
    operation = {"name": operation_name, "window": [effective[0], effective[1]], **requested,
                 "reference": reference_name, "factor": factor}
    result = _apply(base, factor, record, operation)
    if clipped:
        warning = (f"normalisation window {lo:g}–{hi:g} eV runs beyond {what}'s data: "
                   f"the area is over {effective[0]:g}–{effective[1]:g} eV only")
        warnings = [w for w in result.metadata.get("warnings", []) if not str(w).startswith("normalisation window")]
        result = evolve(result, metadata={"warnings": warnings + [warning]})
    return result


def window_parameters(record: dict[str, Any]) -> dict[str, str]:
    """An export's parameters for the window of a normalisation record: the window used, and the request
    under a name that says so when it was clipped (exact float text, ``"lo hi"``)."""
    fields = {"window": "normalisation_window_eV", "requested_window": "normalisation_window_requested_eV"}
    return {name: f"{record[key][0]!r} {record[key][1]!r}" for key, name in fields.items()
            if isinstance(record.get(key), (list, tuple)) and len(record[key]) == 2}


__all__ = ["normalise_area", "normalise_map", "remove_normalisation", "window_area", "window_parameters"]
