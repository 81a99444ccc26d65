"""The last step of every load: refuse what holds no usable data, flag and mask what is doubtful.

Readers hand over what the file says; this module makes sure nothing non-finite, unordered or
degenerate is shown as data without a word. Every change it makes is written into
``metadata["warnings"]``, which the dataset panel, ``xestools info`` and the exports show.
"""
from __future__ import annotations

import numpy as np

from ..model import RXESMap, Spectrum, evolve
from ._common import non_finite_note
from .errors import XesFormatError

_NO_DATA = "the file holds no usable data; open another copy of the scan"


def check(obj, path: str):
    """``obj`` unchanged when it is sound, a corrected copy with warnings, or XesFormatError."""
    if isinstance(obj, RXESMap):
        return _check_map(obj, path)
    if isinstance(obj, Spectrum):
        return _check_spectrum(obj, path)
    return obj


def _with_warnings(obj, notes: list[str], **changes):
    if not notes and not changes:
        return obj
    warnings = [str(w) for w in obj.metadata.get("warnings", []) or []]
    return evolve(obj, metadata={"warnings": warnings + [n for n in notes if n not in warnings]}, **changes)


def _points(count: int) -> str:
    return f"{count} point{'s' if count != 1 else ''}"


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def _check_spectrum(spectrum: Spectrum, path: str) -> Spectrum:
    energy, intensity = spectrum.energy, spectrum.intensity
    notes: list[str] = []
    keep = np.isfinite(energy)
    if not keep.all():
        dropped = int((~keep).sum())
        notes.append(f"{_points(dropped)} with non-finite energy {_were(dropped)} dropped")
    if keep.sum() < 2:
        raise XesFormatError(path, f"the spectrum has {int(keep.sum())} point(s) with a finite energy; at least 2 are needed",
                             _NO_DATA)
    arrays = {name: getattr(spectrum, name) for name in ("energy", "intensity", "uncertainty", "monitor")}
    arrays = {name: None if values is None else values[keep] for name, values in arrays.items()}
    energy, intensity = arrays["energy"], np.array(arrays["intensity"])
    bad = ~np.isfinite(intensity)
    if bad.all():
        raise XesFormatError(path, "the spectrum has no finite intensity", _NO_DATA)
    if bad.any():
        intensity[bad] = np.nan
        notes.append(non_finite_note(int(bad.sum())))
    arrays["intensity"] = intensity
    arrays["uncertainty"] = _masked_uncertainty(arrays["uncertainty"], ~bad, notes)
    constant = constant_intensity_note(intensity, ~bad)
    steps = np.diff(energy)
    if not ((steps >= 0).all() or (steps <= 0).all()):
        order = np.argsort(energy, kind="stable")
        arrays = {name: None if values is None else values[order] for name, values in arrays.items()}
        notes.append("energies not monotonic: the points were sorted by energy")
    repeated = int(energy.size - np.unique(energy).size)
    if repeated:
        notes.append(f"{_points(repeated)} {'repeats' if repeated == 1 else 'repeat'} an energy already measured")
    changed = notes or not keep.all()
    return _with_warnings(spectrum, notes + ([constant] if constant else []), **(arrays if changed else {}))


def constant_intensity_note(intensity: np.ndarray, valid: np.ndarray) -> str | None:
    """A warning when every valid point holds the same intensity (a stuck or empty detector, a damaged file)."""
    values = intensity[valid & np.isfinite(intensity)]
    if values.size < 2 or values.min() != values.max():
        return None
    return (f"the intensity is the same at every one of the {values.size} points ({values.flat[0]:.6g}): "
            "check the detector and its ROI, or the file")


def _masked_uncertainty(uncertainty, valid, notes: list[str]):
    """σ is NaN where the intensity is masked; a non-finite σ of a valid point is flagged."""
    if uncertainty is None:
        return None
    uncertainty = np.array(uncertainty)
    unknown = valid & ~np.isfinite(uncertainty)
    if unknown.any():
        notes.append(f"the uncertainty of {_points(int(unknown.sum()))} is unknown (not finite)")
    uncertainty[~valid | unknown] = np.nan
    return uncertainty


def _check_axis(axis: np.ndarray, symbol: str, path: str, notes: list[str]) -> np.ndarray | None:
    """The order that sorts a map axis (None when it is already ascending); refuse non-finite axes."""
    if not np.isfinite(axis).all():
        raise XesFormatError(path, f"the map's {symbol} axis has non-finite values", _NO_DATA)
    steps = np.diff(axis)
    repeated = int(axis.size - np.unique(axis).size)
    if repeated:
        notes.append(f"the {symbol} axis repeats {repeated} value(s): rows or columns share a grid energy")
    if (steps >= 0).all():
        return None
    if not (steps <= 0).all():
        notes.append(f"{symbol} axis not monotonic: the map was sorted by {symbol}")
    return np.argsort(axis, kind="stable")


def _all_finite(values: np.ndarray) -> bool:
    """True when every value is finite: one sum is enough unless it is not finite (NaN, inf or overflow)."""
    with np.errstate(all="ignore"):
        if np.isfinite(np.add.reduce(values, axis=None)):
            return True
    return bool(np.isfinite(values).all())


def _check_map(rxes: RXESMap, path: str) -> RXESMap:
    rows, cols = rxes.shape
    if rows < 2 or cols < 2:
        raise XesFormatError(path, f"the map is {rows} × {cols} (Ω × ω); a map needs at least 2 × 2 points",
                             "it holds a single spectrum; load or export it as a spectrum")
    notes: list[str] = []
    row_order = _check_axis(rxes.incident_axis, "Ω", path, notes)
    col_order = _check_axis(rxes.emission_axis, "ω", path, notes)
    changes: dict = {}
    mask = rxes.mask
    bad = None if _all_finite(rxes.intensity) else mask & ~np.isfinite(rxes.intensity)
    if bad is not None and bad.any():
        notes.append(non_finite_note(int(bad.sum())))
        mask = mask & ~bad
        intensity = np.array(rxes.intensity)
        intensity[bad] = np.nan
        changes.update(mask=mask, intensity=intensity)
    if not mask.any():
        raise XesFormatError(path, "the map has no measured point with a finite intensity", _NO_DATA)
    if not mask.all() and not notes and not rxes.metadata.get("warnings"):
        hidden = int((~mask).sum())
        notes.append(f"{hidden} of {mask.size} grid points are masked (not measured)")
    for name, axis, along_rows in (("incident", rxes.incident_axis, True), ("emission", rxes.emission_axis, False)):
        values = getattr(rxes, name)
        if _all_finite(values):
            continue
        hole = ~np.isfinite(values)
        if hole.any():
            fixed = np.array(values)
            fixed[hole] = np.broadcast_to(axis[:, None] if along_rows else axis[None, :], fixed.shape)[hole]
            changes[name] = fixed
            symbol = "Ω" if along_rows else "ω"
            count = int(hole.sum())
            notes.append(f"{_points(count)} without a finite {symbol} read-back {'sits' if count == 1 else 'sit'} "
                         "on the grid value")
    all_measured = bool(mask.all())
    if rxes.uncertainty is not None and not (all_measured and _all_finite(rxes.uncertainty)):
        finite = np.isfinite(rxes.uncertainty)
        if (mask & ~finite).any() or (~mask & finite).any():
            changes["uncertainty"] = _masked_uncertainty(rxes.uncertainty, mask, notes)
    if row_order is not None or col_order is not None:
        changes = _reorder(rxes, changes, row_order, col_order)
    constant = constant_intensity_note(changes.get("intensity", rxes.intensity), changes.get("mask", mask))
    return _with_warnings(rxes, notes + ([constant] if constant else []), **changes)


def _reorder(rxes: RXESMap, changes: dict, row_order, col_order) -> dict:
    rows = slice(None) if row_order is None else row_order
    cols = slice(None) if col_order is None else col_order
    result = dict(changes)
    for name in ("incident", "emission", "intensity", "uncertainty", "monitor", "mask"):
        values = changes.get(name, getattr(rxes, name))
        result[name] = None if values is None else np.asarray(values)[rows][:, cols]
    result["incident_axis"] = rxes.incident_axis[rows]
    result["emission_axis"] = rxes.emission_axis[cols]
    return result
