"""Grid helpers: tolerance grouping of jittered read-backs, pixel edges and image extents.

Read-back energies jitter by a few meV around their set points, so the distinct values of a motor
are grouped with a tolerance (a fraction of the scan step), never by exact equality.
Image geometry follows the half-step rule: N centres a..b have step s = (b − a)/(N − 1) and the
image covers a − s/2 .. b + s/2.
"""
from __future__ import annotations

import numpy as np

#: default tolerance as a fraction of the estimated scan step
DEFAULT_TOLERANCE_FRACTION = 0.25
#: a gap between sorted values this many times larger than the jitter separates two scan points
_POPULATION_RATIO = 8.0


def estimate_step(values) -> float:
    """The typical scan step of a set of (possibly repeated, jittered) read-backs.

    The positive differences of the sorted values fall into two populations: jitter inside a set
    point (meV) and steps between set points (tenths of eV). Random jitter spreads its small
    differences over decades, so the split is the *highest* jump by more than a factor
    ``_POPULATION_RATIO`` between consecutive sorted differences; the step is the median of the
    differences above it (of all differences when there is no such jump).
    Returns 0.0 when fewer than two distinct values exist.
    """
    data = np.asarray(values, dtype=float).ravel()
    data = np.sort(data[np.isfinite(data)])
    if data.size < 2:
        return 0.0
    diffs = np.diff(data)
    scale = max(float(np.max(np.abs(data))), 1.0)
    diffs = diffs[diffs > scale * 1e-12]
    if diffs.size == 0:
        return 0.0
    if diffs.size == 1:
        return float(diffs[0])
    logs = np.sort(np.log10(diffs))
    splits = np.flatnonzero(np.diff(logs) > np.log10(_POPULATION_RATIO))
    if splits.size:
        upper = logs[splits[-1] + 1:]
        return float(10 ** np.median(upper))
    return float(np.median(diffs))


def group_axis(values, tolerance: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Group jittered values into distinct set points.

    Sorted values are split wherever two neighbours differ by more than ``tolerance`` (default
    ``DEFAULT_TOLERANCE_FRACTION`` × :func:`estimate_step`). Returns ``(axis, index)``: the mean of
    each group in ascending order, and for every input value the index of its group (−1 for
    non-finite values).
    """
    data = np.asarray(values, dtype=float).ravel()
    index = np.full(data.shape, -1, dtype=np.intp)
    finite = np.isfinite(data)
    if not finite.any():
        return np.empty(0), index
    if tolerance is None:
        tolerance = DEFAULT_TOLERANCE_FRACTION * estimate_step(data)
    finite_positions = np.flatnonzero(finite)
    order = finite_positions[np.argsort(data[finite_positions], kind="stable")]
    ordered = data[order]
    new_group = np.empty(ordered.size, dtype=bool)
    new_group[0] = True
    new_group[1:] = np.diff(ordered) > tolerance
    group_of_sorted = np.cumsum(new_group) - 1
    index[order] = group_of_sorted
    counts = np.bincount(group_of_sorted)
    sums = np.bincount(group_of_sorted, weights=ordered)
    return sums / counts, index


def is_regular(axis, rtol: float = 0.05) -> bool:
    """True when the steps of a 1D axis all equal their median within ``rtol`` (relative)."""
    data = np.asarray(axis, dtype=float).ravel()
    if data.size < 3:
        return data.size >= 1 and bool(np.all(np.isfinite(data)))
    steps = np.diff(data)
    if not np.all(np.isfinite(steps)):
        return False
    median = float(np.median(steps))
    if median == 0.0:
        return False
    return bool(np.all(np.abs(steps - median) <= rtol * abs(median)))


def _half_step_bounds(data: np.ndarray) -> tuple[float, float]:
    if data.size == 0:
        raise ValueError("an empty axis has no extent")
    if data.size == 1:
        return float(data[0]) - 0.5, float(data[0]) + 0.5
    step = (float(data[-1]) - float(data[0])) / (data.size - 1)
    return float(data[0]) - step / 2, float(data[-1]) + step / 2


def image_extent(axis) -> tuple[float, float]:
    """Extent of an image whose pixel centres are ``axis``: a − s/2 .. b + s/2, s = (b − a)/(N − 1).

    A single pixel gets a width of 1 (no step to infer from).
    """
    return _half_step_bounds(np.asarray(axis, dtype=float).ravel())


def pixel_edges(axis) -> np.ndarray:
    """N + 1 pixel edges for N centres: midpoints between neighbours, half a step beyond the ends.

    For a regular axis these are a − s/2, a + s/2, …, b + s/2, the same bounds as :func:`image_extent`;
    for an irregular one the inner edges stay midway between measured centres.
    """
    data = np.asarray(axis, dtype=float).ravel()
    if data.size == 0:
        raise ValueError("an empty axis has no pixel edges")
    if data.size == 1:
        return np.array([data[0] - 0.5, data[0] + 0.5])
    edges = np.empty(data.size + 1)
    edges[1:-1] = 0.5 * (data[1:] + data[:-1])
    edges[0] = data[0] - 0.5 * (data[1] - data[0])
    edges[-1] = data[-1] + 0.5 * (data[-1] - data[-2])
    return edges
