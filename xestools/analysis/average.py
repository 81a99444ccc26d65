"""Averaging spectra (e.g. repeated XES scans) on a common energy grid.

Grid (:func:`common_grid`): from ``lo`` to ``hi`` — the overlap (max of the starts, min of the
ends) or the union (min of the starts, max of the ends) of the members' finite ranges — with
``N = round((hi − lo) / s) + 1`` equally spaced points, ``s`` the median of all members'
consecutive energy steps. Both end points are grid points; the actual step is (hi − lo)/(N − 1).

Each member is linearly interpolated onto the grid points inside its own range: for a grid point
x between data points x_k ≤ x ≤ x_k+1, ``t = (x − x_k)/(x_k+1 − x_k)``,
``I(x) = (1 − t) I_k + t I_k+1`` and ``σ(x) = (1 − t) σ_k + t σ_k+1``. The uncertainty is
interpolated like the intensity, not as the (smaller) σ of a weighted sum of two independent
points: interpolation must not make a member look more precise between its measured points, which
would bias the weights towards members whose points happen to fall between grid points (equal σ
give equal weights). At every grid point the members covering it (n of them) are combined:

* plain mean:  ``I = Σ I_m / n``,  ``σ = √(Σ σ_m²) / n``
* weighted:    ``w_m = 1/σ_m²``, ``I = Σ w_m I_m / Σ w_m``, ``σ = 1 / √(Σ w_m)``

On an overlap grid every member covers every point; on a union grid a point covered by fewer
members is averaged over those present, and a point covered by none is NaN.

Repeats measured on the same energies are **not** resampled (DESIGN.md): when every member has the
same number of finite points and, point by point, their energies agree within the jitter tolerance
(:data:`SHARED_TOLERANCE_FRACTION` × the scan step, as when grouping read-backs), the average is
taken point by point on the measured energies and its energy is the mean of the members' read-backs.
Only otherwise are members interpolated onto the common grid. ``metadata["resampled"]`` says which,
and ``metadata["energy_spread"]`` gives the largest spread of the members' energies at one point.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from xestools.analysis.grid import estimate_step
from xestools.analysis.twins import without_twins
from xestools.model import Spectrum
from xestools.numeric import readonly_counts

GRID_MODES = ("overlap", "union")
#: members whose energies differ by at most this fraction of the scan step share their energies
SHARED_TOLERANCE_FRACTION = 0.25
#: interpolation fractions this close to 0 or 1 are rounding of the grid, not a real offset
_SNAP = 1e-9


def _finite_sorted(spectrum: Spectrum) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Energy-sorted (energy, intensity, variance) of the points with finite energy and intensity.

    Points sharing an energy exactly are merged: mean intensity, variance Σσ²/n².
    """
    energy = np.asarray(spectrum.energy, dtype=float)
    intensity = np.asarray(spectrum.intensity, dtype=float)
    keep = np.isfinite(energy) & np.isfinite(intensity)
    variance = None if spectrum.uncertainty is None else np.square(np.asarray(spectrum.uncertainty, dtype=float))
    energy = energy[keep]
    intensity = intensity[keep]
    if variance is not None:
        variance = variance[keep]
    unique, inverse, counts = np.unique(energy, return_inverse=True, return_counts=True)
    if unique.size != energy.size:
        intensity = np.bincount(inverse, weights=intensity) / counts
        if variance is not None:
            variance = np.bincount(inverse, weights=variance) / counts**2
    else:
        order = np.argsort(energy, kind="stable")
        intensity = intensity[order]
        if variance is not None:
            variance = variance[order]
    return unique, intensity, variance


def _check_members(spectra: Sequence[Spectrum]) -> list[Spectrum]:
    members = list(spectra)
    if not members:
        raise ValueError("no spectra to average: give at least one")
    for member in members:
        if not isinstance(member, Spectrum):
            raise ValueError(f"only 1D spectra can be averaged, got {type(member).__name__}")
    axes = {member.axis for member in members}
    if len(axes) > 1:
        raise ValueError(f"cannot average spectra on different energy axes ({', '.join(sorted(axes))})")
    return members


def _name(spectrum: Spectrum, index: int) -> str:
    return repr(spectrum.label) if spectrum.label else f"spectrum #{index + 1}"


def common_grid(spectra: Sequence[Spectrum], mode: str = "overlap") -> np.ndarray:
    """The common energy grid of ``spectra`` (see the module docstring for the rule).

    Raises ValueError for an unknown mode, a member without finite points, no step to infer
    (every member has a single point) or, for ``"overlap"``, ranges that do not overlap.
    """
    if mode not in GRID_MODES:
        raise ValueError(f"unknown grid mode {mode!r}; choose overlap or union")
    members = _check_members(spectra)
    starts, ends, steps = [], [], []
    for index, member in enumerate(members):
        energy, _, _ = _finite_sorted(member)
        if energy.size == 0:
            raise ValueError(f"{_name(member, index)} has no finite points to average")
        starts.append(energy[0])
        ends.append(energy[-1])
        steps.append(np.diff(energy))
    all_steps = np.concatenate(steps)
    if mode == "overlap":
        lo, hi = max(starts), min(ends)
        if lo > hi:
            raise ValueError(
                f"the spectra do not overlap (latest start {lo:.3f} eV is after the earliest end {hi:.3f} eV); "
                "use the union grid"
            )
    else:
        lo, hi = min(starts), max(ends)
    if hi == lo:
        return np.array([lo])
    if all_steps.size == 0:
        raise ValueError("cannot infer a grid step: every spectrum has a single point")
    step = float(np.median(all_steps))
    intervals = max(int(round((hi - lo) / step)), 1)
    return np.linspace(lo, hi, intervals + 1)


def _interpolate(
    energy: np.ndarray, intensity: np.ndarray, variance: np.ndarray | None, grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Linear interpolation of intensity and σ; returns (covered, intensity, variance) on grid."""
    covered = (grid >= energy[0]) & (grid <= energy[-1])
    values = np.full(grid.shape, np.nan)
    variances = None if variance is None else np.full(grid.shape, np.nan)
    inside = grid[covered]
    if energy.size == 1:
        values[covered] = intensity[0]
        if variances is not None:
            variances[covered] = variance[0]
        return covered, values, variances
    left = np.clip(np.searchsorted(energy, inside, side="right") - 1, 0, energy.size - 2)
    fraction = (inside - energy[left]) / (energy[left + 1] - energy[left])
    # a grid point that is a data point up to rounding of the grid takes that point's value exactly
    fraction = np.where(fraction < _SNAP, 0.0, np.where(fraction > 1.0 - _SNAP, 1.0, fraction))
    values[covered] = (1 - fraction) * intensity[left] + fraction * intensity[left + 1]
    if variances is not None:
        sigma = np.sqrt(variance)
        variances[covered] = ((1 - fraction) * sigma[left] + fraction * sigma[left + 1]) ** 2
    return covered, values, variances


def _shared(values: list[Any]) -> Any:
    first = values[0]
    return first if all(value == first for value in values[1:]) else None


def shared_energies(spectra: Sequence[Spectrum]) -> np.ndarray | None:
    """The mean energies of members measured on the same points (within jitter), or None.

    Members share their energies when they have the same number of finite points and, sorted, every
    point's energies spread by at most ``SHARED_TOLERANCE_FRACTION`` × the scan step.
    """
    members = _check_members(spectra)
    energies = [_finite_sorted(member)[0] for member in members]
    if len({energy.size for energy in energies}) != 1 or energies[0].size == 0:
        return None
    stacked = np.vstack(energies)
    step = estimate_step(stacked.mean(axis=0)) if stacked.shape[1] > 1 else 0.0
    spread = stacked.max(axis=0) - stacked.min(axis=0)
    if stacked.shape[1] > 1 and not np.all(spread <= SHARED_TOLERANCE_FRACTION * step):
        return None
    if stacked.shape[1] == 1 and spread[0] != 0.0:
        return None
    return stacked.mean(axis=0)


def _on_grid(members: list[Spectrum], energy_grid: np.ndarray, shared: bool, with_sigma: bool):
    """Per member (covered, intensity, variance) on the grid: its own points when shared, else interpolated."""
    for member in members:
        energy, intensity, variance = _finite_sorted(member)
        if shared:
            yield np.ones(energy_grid.shape, dtype=bool), intensity, variance if with_sigma else None
        else:
            yield _interpolate(energy, intensity, variance if with_sigma else None, energy_grid)


def _combine(members, energy_grid, shared: bool, weighted: bool, has_sigma: bool):
    """Plain or 1/σ² weighted mean at every grid point: (intensity, σ or None, members per point)."""
    count = np.zeros(energy_grid.shape, dtype=np.int64)
    value_sum = np.zeros(energy_grid.shape)
    weight_sum = np.zeros(energy_grid.shape)
    variance_sum = np.zeros(energy_grid.shape)
    for index, (covered, values, variances) in enumerate(_on_grid(members, energy_grid, shared, has_sigma)):
        if weighted:
            bad = covered & ~(np.isfinite(variances) & (variances > 0))
            if bad.any():
                raise ValueError(
                    f"weighted averaging needs positive, finite uncertainties; {_name(members[index], index)} has "
                    f"σ ≤ 0 or undefined at {int(bad.sum())} grid point(s); use the plain mean"
                )
            weights = np.where(covered, 1.0 / np.where(covered, variances, 1.0), 0.0)
            value_sum += np.where(covered, weights * values, 0.0)
            weight_sum += weights
        else:
            value_sum += np.where(covered, values, 0.0)
            if has_sigma:
                variance_sum += np.where(covered, variances, 0.0)
        count += covered
    present = count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        if weighted:
            return (np.where(present, value_sum / weight_sum, np.nan), np.where(present, 1.0 / np.sqrt(weight_sum), np.nan),
                    count)
        sigma = np.where(present, np.sqrt(variance_sum) / count, np.nan) if has_sigma else None
        return np.where(present, value_sum / count, np.nan), sigma, count


def _member_record(member: Spectrum) -> dict[str, Any]:
    """What an export lists about a member: label, source file, scan number and the file's SHA-256."""
    record = {"label": member.label, "source": member.source,
              "scan_number": member.info.scan_number if member.info is not None else None,
              "sha256": str(member.metadata.get("sha256", ""))}
    if isinstance(member.metadata.get("energy_shift"), dict):
        record["energy_shift_eV"] = float(member.metadata["energy_shift"]["shift_eV"])
    return record


def average_spectra(
    spectra: Sequence[Spectrum], *, grid: str = "overlap", weighted: bool = False, label: str = ""
) -> Spectrum:
    """Average of ``spectra``: point by point on shared energies, else on their common grid (module docstring).

    Metadata: ``members`` (label, source, scan number, SHA-256 of each, the energy shift of a shifted
    member), ``grid_mode``, ``resampled``, ``shifted`` (a member was energy-shifted),
    ``energy_spread``, ``weighting`` ("plain" or "inverse-variance"), ``grid_step``, ``member_count``
    (members covering each point, an integer array), ``notes`` and ``twins`` (the same scan given twice,
    e.g. its .nxs and its .dat, is counted once: see :func:`~xestools.analysis.twins.without_twins`),
    ``incident_energy`` (mean of the members' when all have one) and ``operations``. The uncertainty is None when a plain average has a member without uncertainty.
    Raises ValueError for zero spectra, mixed axes, non-overlapping ranges on an overlap grid,
    and for a weighted average with a member lacking positive, finite uncertainties.
    """
    members, twin_notes, twins = without_twins(_check_members(spectra))
    if grid not in GRID_MODES:
        raise ValueError(f"unknown grid mode {grid!r}; choose overlap or union")
    measured = shared_energies(members)
    energy_grid = measured if measured is not None else common_grid(members, grid)
    has_sigma = all(member.uncertainty is not None for member in members)
    if weighted and not has_sigma:
        missing = next(index for index, member in enumerate(members) if member.uncertainty is None)
        raise ValueError(
            f"weighted averaging needs uncertainties; {_name(members[missing], missing)} has none (use the plain mean)"
        )
    intensity, sigma, count = _combine(members, energy_grid, measured is not None, weighted, has_sigma)
    step = float(np.median(np.diff(energy_grid))) if energy_grid.size > 1 else 0.0
    spread = 0.0
    if measured is not None and len(members) > 1:
        stacked = np.vstack([_finite_sorted(member)[0] for member in members])
        spread = float(np.max(stacked.max(axis=0) - stacked.min(axis=0)))
    weighting = "inverse-variance" if weighted else "plain"
    mode = "measured" if measured is not None else grid
    metadata: dict[str, Any] = {
        "members": [_member_record(member) for member in members],
        "grid_mode": mode,
        "resampled": measured is None,
        "shifted": any(isinstance(member.metadata.get("energy_shift"), dict) for member in members),
        "energy_spread": spread,
        "weighting": weighting,
        "grid_step": step,
        "member_count": readonly_counts(count),
        "notes": twin_notes,
        "twins": twins,
        "operations": [
            {"name": "average_spectra", "grid": mode, "resampled": measured is None, "weighted": bool(weighted),
             "members": len(members), "step": step}
        ],
    }
    incident = [member.metadata.get("incident_energy") for member in members]
    if all(isinstance(value, (int, float)) for value in incident):
        metadata["incident_energy"] = float(np.mean(incident))
    return Spectrum(
        energy=energy_grid,
        intensity=intensity,
        uncertainty=sigma,
        label=label or f"average of {len(members)} spectr{'um' if len(members) == 1 else 'a'}",
        channel=_shared([member.channel for member in members]),
        source=_shared([member.source for member in members]) or "",
        metadata=metadata,
        info=None,
        axis=members[0].axis,
    )


__all__ = ["GRID_MODES", "SHARED_TOLERANCE_FRACTION", "average_spectra", "common_grid", "shared_energies"]
