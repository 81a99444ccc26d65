"""Averaging repeated RXES maps, and the difference of two maps, with propagated σ.

Shared grid. Maps of the same Ω × ω region whose grid axes agree within read-back jitter
(same shape, every Ω and ω axis value within :data:`GRID_TOLERANCE_FRACTION` × the axis step of the
first map) are averaged point by point on that grid, with no resampling: point (i, j) of the average
combines point (i, j) of every member that measured it. Its axes are the mean of the members' axes,
its per-point Ω and ω the mean read-back of the members that measured the point.

Otherwise the maps are put on a common grid, axis by axis by the rule of
:func:`xestools.analysis.average.common_grid` (overlap or union of the ranges, the median step),
and each member is resampled there by bilinear interpolation of I and of σ between its own four
neighbouring grid points (σ interpolated like I, as for spectra, so resampling never makes a member
look more precise). A member covers a new point only when it lies inside its axes and every
neighbour with a non-zero weight was measured. The result records ``resampled = True``.

At every point the n members that cover it are combined:

* plain mean:  ``I = Σ I_m / n``,  ``σ = √(Σ σ_m²) / n``
* weighted:    ``w_m = 1/σ_m²``, ``I = Σ w_m I_m / Σ w_m``, ``σ = 1 / √(Σ w_m)``

Points covered by no member are NaN and unmeasured (mask False). ``metadata["member_count"]`` holds n
per point as a read-only integer array of the map's shape (the writers put it in a ``members`` column or
dataset, never in the text header), ``metadata["members"]`` label, source and scan number of each member.

Difference ``A − B``: on a shared grid point by point, otherwise B resampled (bilinear) onto A's
grid; ``σ = √(σ_A² + σ_B²)``; a point is measured when both maps cover it.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from xestools.analysis.average import common_grid
from xestools.analysis.grid import estimate_step
from xestools.analysis.twins import without_twins
from xestools.model import RXESMap, ScanInfo, Spectrum
from xestools.numeric import readonly_counts

GRID_MODES = ("overlap", "union")
#: two axes are the same grid when every value agrees within this fraction of the axis step
GRID_TOLERANCE_FRACTION = 0.25
#: interpolation fractions this close to 0 or 1 are rounding of the grid, not a real offset
_SNAP = 1e-9


def _name(rxes_map: RXESMap, index: int) -> str:
    return repr(rxes_map.label) if rxes_map.label else f"map #{index + 1}"


def _check_maps(maps: Sequence[RXESMap]) -> list[RXESMap]:
    members = list(maps)
    if not members:
        raise ValueError("no maps to average: give at least one")
    for index, member in enumerate(members):
        if not isinstance(member, RXESMap):
            raise ValueError(f"only RXES maps can be averaged here, item #{index + 1} is a {type(member).__name__}")
    channels = {member.channel for member in members}
    if len(channels) > 1:
        names = ", ".join(sorted(str(channel) for channel in channels))
        raise ValueError(f"cannot average maps of different spectrometer channels ({names})")
    return members


def _axis_tolerance(axis: np.ndarray) -> float:
    step = estimate_step(axis)
    return GRID_TOLERANCE_FRACTION * step if step > 0 else 1e-6


def same_grid(a: RXESMap, b: RXESMap) -> bool:
    """True when ``a`` and ``b`` have the same Ω × ω grid within read-back jitter (see module doc)."""
    if a.shape != b.shape:
        return False
    for axis_a, axis_b in ((a.incident_axis, b.incident_axis), (a.emission_axis, b.emission_axis)):
        if np.any(np.abs(np.asarray(axis_a) - np.asarray(axis_b)) > _axis_tolerance(np.asarray(axis_a))):
            return False
    return True


def _axis_spectrum(axis: np.ndarray) -> Spectrum:
    """A grid axis as a Spectrum, so the common grid follows the same rule as for spectra."""
    axis = np.asarray(axis, dtype=float)
    return Spectrum(energy=axis, intensity=np.zeros(axis.shape))


def common_map_grid(maps: Sequence[RXESMap], mode: str = "overlap") -> tuple[np.ndarray, np.ndarray]:
    """(Ω axis, ω axis) of the common grid of ``maps``: :func:`common_grid` applied to each axis."""
    if mode not in GRID_MODES:
        raise ValueError(f"unknown grid mode {mode!r}; choose overlap or union")
    members = _check_maps(maps)
    try:
        incident = common_grid([_axis_spectrum(member.incident_axis) for member in members], mode)
        emission = common_grid([_axis_spectrum(member.emission_axis) for member in members], mode)
    except ValueError as error:
        raise ValueError(f"the maps have no common Ω × ω grid: {error}") from None
    return incident, emission


def _fractions(axis: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each target: covered, left index k and fraction t in [axis_k, axis_k+1] (axis ascending)."""
    covered = (targets >= axis[0]) & (targets <= axis[-1])
    if axis.size == 1:
        return covered, np.zeros(targets.shape, dtype=np.intp), np.zeros(targets.shape)
    left = np.clip(np.searchsorted(axis, targets, side="right") - 1, 0, axis.size - 2)
    fraction = (targets - axis[left]) / (axis[left + 1] - axis[left])
    fraction = np.where(fraction < _SNAP, 0.0, np.where(fraction > 1.0 - _SNAP, 1.0, fraction))
    return covered, left, fraction


def resample_map(rxes_map: RXESMap, incident_axis, emission_axis) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Bilinear (I, σ, covered) of ``rxes_map`` on the grid ``incident_axis × emission_axis``.

    σ is interpolated like I. A target point is covered when it is inside the map's axes and every
    source point with a non-zero weight was measured (see the module docstring).
    """
    rows_in, row_left, t = _fractions(np.asarray(rxes_map.incident_axis, float), np.asarray(incident_axis, float))
    cols_in, col_left, u = _fractions(np.asarray(rxes_map.emission_axis, float), np.asarray(emission_axis, float))
    valid = rxes_map.mask & np.isfinite(rxes_map.intensity)
    n_rows, n_cols = rxes_map.shape
    shape = (t.size, u.size)
    covered = np.outer(rows_in, cols_in)
    value = np.zeros(shape)
    sigma = None if rxes_map.uncertainty is None else np.zeros(shape)
    source_i = np.where(np.isfinite(rxes_map.intensity), rxes_map.intensity, 0.0)
    source_s = None if sigma is None else np.where(np.isfinite(rxes_map.uncertainty), rxes_map.uncertainty, 0.0)
    for row_step, row_weight in ((0, 1.0 - t), (1, t)):
        rows = np.minimum(row_left + row_step, n_rows - 1)
        for col_step, col_weight in ((0, 1.0 - u), (1, u)):
            cols = np.minimum(col_left + col_step, n_cols - 1)
            weight = np.outer(row_weight, col_weight)
            used = weight > 0
            corner = np.ix_(rows, cols)
            covered &= ~used | valid[corner]
            value += weight * source_i[corner]
            if sigma is not None:
                sigma += weight * source_s[corner]
    return value, sigma, covered


def _readback_mean(members: Sequence[RXESMap], contributes: list[np.ndarray], name: str) -> np.ndarray:
    """Mean measured read-back (``incident`` or ``emission``) over the members that cover each point."""
    stack = np.stack([np.asarray(getattr(member, name), dtype=float) for member in members])
    used = np.stack(contributes) & np.isfinite(stack)
    count = used.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(used, stack, 0.0).sum(axis=0) / count
    return np.where(count > 0, mean, stack.mean(axis=0))


def _combine(values: list[np.ndarray], sigmas: list[np.ndarray | None], covered: list[np.ndarray],
             members: Sequence[RXESMap], weighted: bool):
    """Plain or 1/σ² weighted combination of aligned members: (I, σ or None, n per point)."""
    has_sigma = all(sigma is not None for sigma in sigmas)
    if weighted and not has_sigma:
        missing = next(index for index, sigma in enumerate(sigmas) if sigma is None)
        raise ValueError(f"weighted averaging needs uncertainties; {_name(members[missing], missing)} has none "
                         "(use the plain mean)")
    shape = values[0].shape
    count = np.zeros(shape, dtype=np.int64)
    value_sum, weight_sum, variance_sum = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for index, (value, sigma, cover) in enumerate(zip(values, sigmas, covered)):
        if weighted:
            variance = np.square(sigma)
            bad = cover & ~(np.isfinite(variance) & (variance > 0))
            if bad.any():
                raise ValueError(
                    f"weighted averaging needs positive, finite uncertainties; {_name(members[index], index)} has "
                    f"σ ≤ 0 or undefined at {int(bad.sum())} point(s) (zero counts?); use the plain mean")
            weights = np.where(cover, 1.0 / np.where(cover, variance, 1.0), 0.0)
            value_sum += np.where(cover, weights * value, 0.0)
            weight_sum += weights
        else:
            value_sum += np.where(cover, value, 0.0)
            if has_sigma:
                variance_sum += np.where(cover, np.square(sigma), 0.0)
        count += cover
    present = count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        if weighted:
            intensity = np.where(present, value_sum / weight_sum, np.nan)
            uncertainty = np.where(present, 1.0 / np.sqrt(weight_sum), np.nan)
        else:
            intensity = np.where(present, value_sum / count, np.nan)
            uncertainty = np.where(present, np.sqrt(variance_sum) / count, np.nan) if has_sigma else None
    return intensity, uncertainty, count


def _shared_info(members: Sequence[RXESMap], shape: tuple[int, int]) -> ScanInfo | None:
    """Sample, experiment and command of the members when they all agree (no scan number: many scans)."""
    infos = [member.info for member in members]
    if any(info is None for info in infos):
        return None

    def shared(name: str) -> Any:
        values = {getattr(info, name) for info in infos}
        return values.pop() if len(values) == 1 else ""

    return ScanInfo(sample_name=shared("sample_name"), experiment_id=shared("experiment_id"),
                    command=shared("command"), scan_dimensions=tuple(int(n) for n in shape),
                    monitor=infos[0].monitor)


def member_record(obj) -> dict[str, Any]:
    """Provenance of one member of an average: label, source file, scan number, the file's SHA-256 if known.

    The same record as the members of a spectra average, so exports list both alike.
    """
    number = obj.info.scan_number if obj.info is not None else None
    return {"label": obj.label, "source": obj.source, "scan_number": number,
            "sha256": str(obj.metadata.get("sha256", ""))}


def _aligned_members(members: list[RXESMap], grid: str):
    """The members on one grid: (Ω axis, ω axis, values, σs, covered, read-backs, resampled)."""
    if all(same_grid(members[0], member) for member in members[1:]):
        values = [np.asarray(member.intensity, dtype=float) for member in members]
        sigmas = [None if member.uncertainty is None else np.asarray(member.uncertainty, float) for member in members]
        covered = [member.mask & np.isfinite(member.intensity) for member in members]
        incident_axis = np.mean([member.incident_axis for member in members], axis=0)
        emission_axis = np.mean([member.emission_axis for member in members], axis=0)
        incident = _readback_mean(members, covered, "incident")
        emission = _readback_mean(members, covered, "emission")
        return incident_axis, emission_axis, values, sigmas, covered, (incident, emission), False
    incident_axis, emission_axis = common_map_grid(members, grid)
    resampled = [resample_map(member, incident_axis, emission_axis) for member in members]
    values = [value for value, _, _ in resampled]
    sigmas = [sigma for _, sigma, _ in resampled]
    covered = [cover for _, _, cover in resampled]
    incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
    return incident_axis, emission_axis, values, sigmas, covered, (incident, emission), True


def average_maps(maps: Sequence[RXESMap], *, grid: str = "overlap", weighted: bool = False,
                 label: str = "") -> RXESMap:
    """Average of repeated maps (plain or 1/σ² weighted), point by point on a shared grid, else resampled.

    Metadata: ``members``, ``grid_mode`` ("shared", or the ``grid`` used for resampling), ``resampled``,
    ``weighting``, ``member_count`` (n per point, an integer array), ``notes`` and ``operations``.
    Raises ValueError for no maps, mixed channels, no common grid, or a weighted average with a member
    lacking positive, finite uncertainties where it covers the grid.
    """
    if grid not in GRID_MODES:
        raise ValueError(f"unknown grid mode {grid!r}; choose overlap or union")
    members, twin_notes, twins = without_twins(_check_maps(maps))
    incident_axis, emission_axis, values, sigmas, covered, readbacks, resampled = _aligned_members(members, grid)
    intensity, uncertainty, count = _combine(values, sigmas, covered, members, weighted)
    grid_mode = grid if resampled else "shared"
    notes = list(twin_notes)
    if resampled:
        notes.append(f"the maps do not share one grid; they were resampled (bilinear) onto the {grid} of their "
                     f"ranges, {incident_axis.size} × {emission_axis.size} points")
    weighting = "inverse-variance" if weighted else "plain"
    operation = {"name": "average_maps", "grid": grid_mode, "weighted": bool(weighted), "members": len(members),
                 "resampled": resampled, "sources": [member.source for member in members]}
    metadata: dict[str, Any] = {
        "members": [member_record(member) for member in members],
        "grid_mode": grid_mode,
        "resampled": resampled,
        "weighting": weighting,
        "member_count": readonly_counts(count),
        "notes": notes,
        "twins": twins,
        "operations": [operation],
        "intensity_source": members[0].metadata.get("intensity_source", ""),
    }
    return RXESMap(
        incident=readbacks[0], emission=readbacks[1], incident_axis=incident_axis, emission_axis=emission_axis,
        intensity=intensity, uncertainty=uncertainty, mask=count > 0, monitor=None,
        label=label or f"average of {len(members)} maps", channel=members[0].channel,
        source=members[0].source if len({member.source for member in members}) == 1 else "",
        metadata=metadata, info=_shared_info(members, intensity.shape),
    )


def map_difference(a: RXESMap, b: RXESMap, *, label: str = "") -> RXESMap:
    """``a − b`` on ``a``'s grid with ``σ = √(σa² + σb²)`` (σ None when either map has none).

    ``b`` is used point by point when the grids agree within jitter, else resampled onto ``a``'s grid
    (bilinear; ``metadata["resampled"]`` says so). Raises ValueError when the maps share no point.
    """
    _check_maps([a, b])
    if same_grid(a, b):
        value_b = np.asarray(b.intensity, dtype=float)
        sigma_b = None if b.uncertainty is None else np.asarray(b.uncertainty, dtype=float)
        covered_b = b.mask & np.isfinite(b.intensity)
        resampled = False
    else:
        value_b, sigma_b, covered_b = resample_map(b, a.incident_axis, a.emission_axis)
        resampled = True
    measured = a.mask & np.isfinite(a.intensity) & covered_b
    if not measured.any():
        raise ValueError(f"{_name(a, 0)} and {_name(b, 1)} have no measured point in common")
    intensity = np.where(measured, np.asarray(a.intensity, dtype=float) - value_b, np.nan)
    uncertainty = None
    if a.uncertainty is not None and sigma_b is not None:
        uncertainty = np.where(measured, np.hypot(np.asarray(a.uncertainty, dtype=float), sigma_b), np.nan)
    operation = {"name": "map_difference", "minuend": a.label or a.source, "subtrahend": b.label or b.source,
                 "resampled": resampled}
    metadata = {"operations": list(a.metadata.get("operations", [])) + [operation], "resampled": resampled,
                "members": [member_record(a), member_record(b)],
                "intensity_source": a.metadata.get("intensity_source", "")}
    if resampled:
        metadata["notes"] = [f"{_name(b, 1)} was resampled (bilinear) onto the grid of {_name(a, 0)}"]
    # identifiers of the result say A − B: no scan number, times or file of A alone (both are in "members")
    return RXESMap(
        incident=a.incident, emission=a.emission, incident_axis=a.incident_axis, emission_axis=a.emission_axis,
        intensity=intensity, uncertainty=uncertainty, mask=measured, monitor=None,
        label=label or f"{_identifier(a, 'A')} − {_identifier(b, 'B')}", channel=a.channel, source="",
        metadata=metadata, info=_shared_info([a, b], intensity.shape),
    )


def _identifier(rxes_map: RXESMap, fallback: str) -> str:
    """The label of a map, or its scan number, or its file name: how a difference names its operands."""
    if rxes_map.label:
        return rxes_map.label
    if rxes_map.info is not None and rxes_map.info.scan_number is not None:
        return f"scan {rxes_map.info.scan_number}"
    return os.path.basename(rxes_map.source) or fallback


__all__ = ["GRID_MODES", "average_maps", "common_map_grid", "map_difference", "member_record", "resample_map",
           "same_grid"]
