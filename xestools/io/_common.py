"""Helpers shared by the readers: text decoding, the memory guard, map assembly (the GDA command is :mod:`xestools.gda`)."""
from __future__ import annotations

import contextlib
import logging
import math
import os
import warnings

import numpy as np

from ..gda import EMISSION_MOTORS, INCIDENT_MOTOR, moving_motors  # noqa: F401 (the readers and live use them from here)
from ..model import Channel, RXESMap, ScanInfo
from ..numeric import group_axis
from .errors import XesFormatError
from .regular_files import regular_file_status

log = logging.getLogger("xestools.io")

#: a positioner whose read-backs spread less than this (eV) did not move
FIXED_SPREAD_EV = 0.05
#: arrays held at once per scan point while loading (inputs, outputs and the model's copies)
ARRAYS_PER_POINT_PER_CHANNEL = 12


def as_text(value) -> str:
    """A str from whatever h5py returns for a string field (bytes, numpy bytes, 1-element array)."""
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return ""
        value = value.ravel()[0]
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace").strip("\x00").strip()
    return str(value).strip()


#: no single file is read into more than this, however much memory the machine has free
#: (the largest I20 map is a few hundred MB in memory); XESTOOLS_MAX_READ_MB overrides it
MAX_READ_BYTES = 4 * 1024 ** 3
MAX_READ_ENV = "XESTOOLS_MAX_READ_MB"


def max_read_bytes() -> float:
    """The fixed ceiling of one read, from XESTOOLS_MAX_READ_MB when that is a positive number."""
    text = os.environ.get(MAX_READ_ENV, "").strip()
    try:
        value = float(text) * 1024 ** 2 if text else float(MAX_READ_BYTES)
    except ValueError:
        value = float(MAX_READ_BYTES)
    return value if value > 0 else float(MAX_READ_BYTES)


def check_memory(path, nbytes: float, what: str) -> None:
    """Refuse before reading when the arrays pass the fixed ceiling or the memory available (psutil)."""
    import psutil

    ceiling = max_read_bytes()
    if nbytes > ceiling:
        raise XesFormatError(
            path,
            f"loading {what} needs about {nbytes / 1e6:.0f} MB, more than the {ceiling / 1e6:.0f} MB xestools reads "
            "from one file",
            f"the file is probably damaged; for a genuinely larger scan set {MAX_READ_ENV}",
        )
    available = psutil.virtual_memory().available
    if nbytes > available:
        raise XesFormatError(
            path,
            f"loading {what} needs about {nbytes / 1e6:.0f} MB but only {available / 1e6:.0f} MB of memory is available",
            "close other programs or open the file on a machine with more memory",
        )


def non_finite_note(count: int) -> str:
    """The warning for measured points whose intensity is not finite (they are masked)."""
    return f"{count} point{'s' if count != 1 else ''} with non-finite intensity {'was' if count == 1 else 'were'} masked"


def _mask_non_finite(measured: np.ndarray, intensity: np.ndarray, notes: list[str]) -> np.ndarray:
    """``measured`` without the points whose intensity is not finite, and a warning when there are any."""
    bad = measured & ~np.isfinite(intensity)
    count = int(np.count_nonzero(bad))
    if count:
        notes.append(non_finite_note(count))
        return measured & ~bad
    return measured


def ensure_readable_file(path) -> str:
    """The path as str, refusing missing files, folders and unreadable files with XesFormatError."""
    try:
        name = os.fspath(path)
    except TypeError as error:
        raise XesFormatError(None, f"not a file path: {path!r}", "pass the path of a scan file") from error
    status = regular_file_status(name)
    if not os.access(name, os.R_OK):
        raise XesFormatError(name, "file cannot be read (permission denied)", "check the file permissions")
    if status.st_size == 0:
        raise XesFormatError(name, "file is empty", "the scan was probably not written; open a complete copy")
    return name


def scan_label(info: ScanInfo | None, path: str, channel: Channel | None) -> str:
    """Short human label: "279517 XES_sample (upper)"."""
    parts = []
    if info is not None and info.scan_number is not None:
        parts.append(str(info.scan_number))
    if info is not None and info.sample_name:
        parts.append(info.sample_name)
    if not parts:
        parts.append(os.path.splitext(os.path.basename(path))[0])
    text = " ".join(parts)
    return f"{text} ({channel.value})" if channel is not None else text


def _fill_axis(values: np.ndarray, nominal: np.ndarray | None) -> np.ndarray:
    """Fill NaN entries of a grid axis in scan order from the nominal positions or by extrapolation."""
    missing = ~np.isfinite(values)
    if not missing.any():
        return values
    filled = values.copy()
    if nominal is not None and nominal.size == values.size:
        filled[missing] = nominal[missing]
        return filled
    known = np.flatnonzero(~missing)
    if known.size == 0:
        filled[:] = np.arange(values.size, dtype=float)
        return filled
    if known.size == 1:
        step = 1.0
    else:
        step = float(np.median(np.diff(values[known]) / np.diff(known)))
        if step == 0 or not math.isfinite(step):
            step = 1.0
    anchor = known[0]
    positions = np.flatnonzero(missing)
    filled[positions] = values[anchor] + (positions - anchor) * step
    return filled


def assemble_map(
    *,
    path: str,
    incident: np.ndarray,
    emission: np.ndarray,
    intensity: np.ndarray,
    uncertainty: np.ndarray | None,
    monitor: np.ndarray | None,
    n_outer: int,
    n_inner: int,
    emission_outer: bool,
    nominal_outer: np.ndarray | None = None,
    nominal_inner: np.ndarray | None = None,
    label: str,
    channel: Channel | None,
    info: ScanInfo | None,
    metadata: dict,
) -> RXESMap:
    """Place flat scan-order points on the ``[i_Ω, i_ω]`` grid.

    Point k of the scan is in outer row k // n_inner at inner position k % n_inner; in a snake scan
    every second row runs backwards and is reversed. Missing points (an aborted scan) are NaN with
    mask False and their coordinates are the grid axes; a measured point whose intensity is not
    finite is masked too, and the warnings say how many. The axes
    are per-row / per-column means of the measured read-backs, made ascending; an ω-outer scan is
    transposed.
    """
    n_grid = n_outer * n_inner
    n_points = int(intensity.size)
    if n_points > n_grid:
        raise XesFormatError(path, f"{n_points} points do not fit the {n_outer} × {n_inner} scan grid",
                             "the scan dimensions in the file are inconsistent")
    snake = _is_snake(incident if emission_outer else emission, n_inner)
    arrays = {"incident": incident, "emission": emission, "intensity": intensity,
              "uncertainty": uncertainty, "monitor": monitor}
    if n_points < n_grid:
        arrays["measured"] = np.ones(n_points)  # NaN where the grid has no point; reordered like the data
    grids = _scan_grids(arrays, n_outer, n_inner, snake)
    del arrays
    outer_name, inner_name = ("emission", "incident") if emission_outer else ("incident", "emission")
    outer_axis, inner_axis = _grid_axes(grids[outer_name], grids[inner_name], n_points == n_grid,
                                        nominal_outer, nominal_inner)
    row_order = slice(None, None, -1) if outer_axis[-1] < outer_axis[0] else slice(None)
    col_order = slice(None, None, -1) if inner_axis[-1] < inner_axis[0] else slice(None)
    outer_axis = outer_axis[row_order]
    inner_axis = inner_axis[col_order]
    for name, grid in grids.items():
        if grid is not None:
            grids[name] = grid[row_order, col_order]
    for name, axis, along_rows in ((outer_name, outer_axis, True), (inner_name, inner_axis, False)):
        grids[name] = _on_axis(grids[name], axis, along_rows)
    if emission_outer:
        grids = {name: None if grid is None else grid.T for name, grid in grids.items()}
        incident_axis, emission_axis = inner_axis, outer_axis
    else:
        incident_axis, emission_axis = outer_axis, inner_axis
    notes = list(metadata.get("warnings", []))
    if n_points < n_grid:
        from .growing import missing_points_note

        notes.append(missing_points_note(n_points, n_grid, in_progress=bool(metadata.get("in_progress")),
                                         grid=(n_outer, n_inner)))
    measured = grids.pop("measured", None)
    measured = np.ones(grids["intensity"].shape, dtype=bool) if measured is None else np.isfinite(measured)
    measured = _mask_non_finite(measured, grids["intensity"], notes)
    metadata = dict(metadata)
    metadata.update(scan_order="emission-outer" if emission_outer else "incident-outer",
                    snake=bool(snake), warnings=notes)
    return RXESMap(
        incident=grids["incident"], emission=grids["emission"],
        incident_axis=incident_axis, emission_axis=emission_axis,
        intensity=grids["intensity"], uncertainty=grids["uncertainty"],
        mask=measured, monitor=grids["monitor"], label=label, channel=channel, source=path, metadata=metadata, info=info,
    )


def _scan_grids(arrays: dict, n_outer: int, n_inner: int, snake: bool) -> dict:
    """Each flat scan-order array on the (outer, inner) grid, NaN-padded, snake rows turned round."""
    n_grid = n_outer * n_inner
    grids: dict[str, np.ndarray | None] = {}
    for name, values in arrays.items():
        if values is None:
            grids[name] = None
            continue
        if values.size == n_grid:
            grid = np.asarray(values, dtype=float).reshape(n_outer, n_inner)
        else:
            grid = np.full(n_grid, np.nan)
            grid[:values.size] = values
            grid = grid.reshape(n_outer, n_inner)
        if snake:
            if not grid.flags.writeable:
                grid = grid.copy()
            grid[1::2] = grid[1::2, ::-1].copy()
        grids[name] = grid
    return grids


def _grid_axes(outer_grid, inner_grid, complete: bool, nominal_outer, nominal_inner):
    """Outer and inner axes: row / column means of the read-backs, gaps filled from the nominal points."""
    with np.errstate(invalid="ignore"), quiet_nan_warnings():
        if complete:
            outer_axis = outer_grid.mean(axis=1)
            inner_axis = inner_grid.mean(axis=0)
        else:
            outer_axis = np.nanmean(outer_grid, axis=1)
            inner_axis = np.nanmean(inner_grid, axis=0)
    return _fill_axis(outer_axis, nominal_outer), _fill_axis(inner_axis, nominal_inner)


def _on_axis(grid: np.ndarray, axis: np.ndarray, along_rows: bool) -> np.ndarray:
    """Unmeasured points (and unreadable read-backs) sit on the grid axis, so coordinates stay finite."""
    hole = ~np.isfinite(grid)
    if not hole.any():
        return grid
    grid = np.array(grid)
    broadcast = np.broadcast_to(axis[:, None] if along_rows else axis[None, :], grid.shape)
    grid[hole] = broadcast[hole]
    return grid


def map_by_grouping(*, path: str, incident: np.ndarray, emission: np.ndarray, intensity: np.ndarray,
                    uncertainty: np.ndarray | None, monitor: np.ndarray | None, label: str,
                    channel: Channel | None, info: ScanInfo | None, metadata: dict) -> RXESMap:
    """Place points on the grid of their tolerance-grouped Ω and ω values, whatever their order.

    Used for long-format text and for scans whose rows cannot be recovered from the scan order.
    Grid points nobody measured are NaN with mask False and sit on the axes.
    """
    incident_axis, row = group_axis(incident)
    emission_axis, col = group_axis(emission)
    valid = (row >= 0) & (col >= 0)
    if not valid.any():
        raise XesFormatError(path, "no point has finite Ω and ω", "the energies in the file are unreadable")
    shape = (incident_axis.size, emission_axis.size)
    cell = row[valid] * shape[1] + col[valid]
    if np.unique(cell).size != cell.size:
        raise XesFormatError(path, "two points fall on the same (Ω, ω) grid point",
                             "the points do not form a regular Ω × ω grid")
    grids: dict[str, np.ndarray | None] = {}
    for name, values in (("incident", incident), ("emission", emission), ("intensity", intensity),
                         ("uncertainty", uncertainty), ("monitor", monitor)):
        if values is None:
            grids[name] = None
            continue
        grid = np.full(shape[0] * shape[1], np.nan)
        grid[cell] = values[valid]
        grids[name] = grid.reshape(shape)
    measured = np.zeros(shape[0] * shape[1], dtype=bool)
    measured[cell] = True
    measured = measured.reshape(shape)
    notes = list(metadata.get("warnings", []))
    if not measured.all():
        notes.append(f"{int((~measured).sum())} of {measured.size} grid points were not measured; they are masked")
    mask = _mask_non_finite(measured, grids["intensity"], notes)
    metadata = dict(metadata)
    metadata["warnings"] = notes
    return RXESMap(incident=np.where(measured, grids["incident"], incident_axis[:, None]),
                   emission=np.where(measured, grids["emission"], emission_axis[None, :]),
                   incident_axis=incident_axis, emission_axis=emission_axis, intensity=grids["intensity"],
                   uncertainty=grids["uncertainty"], mask=mask,
                   monitor=grids["monitor"], label=label, channel=channel, source=path, metadata=metadata, info=info)


def _is_snake(inner_values: np.ndarray, n_inner: int) -> bool:
    """True when the second row of the inner loop runs opposite to the first."""
    if n_inner < 2 or inner_values.size < n_inner + 2:
        return False
    first = inner_values[:n_inner]
    second = inner_values[n_inner:2 * n_inner]
    first_direction = np.nanmedian(np.diff(first))
    second_direction = np.nanmedian(np.diff(second))
    if not (math.isfinite(first_direction) and math.isfinite(second_direction)):
        return False
    return bool(first_direction * second_direction < 0)


@contextlib.contextmanager
def quiet_nan_warnings():
    """Silence numpy's "Mean of empty slice" / "All-NaN slice" for rows that were never measured."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        yield


def is_moving(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return finite.size > 1 and float(np.ptp(finite)) > FIXED_SPREAD_EV


def group_count(values: np.ndarray) -> int:
    """Number of distinct set points among jittered read-backs (tolerance grouping)."""
    axis, _ = group_axis(values)
    return int(axis.size)
