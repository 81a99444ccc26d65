"""Grid helpers: tolerance grouping of jittered read-backs, pixel edges and image extents.

Read-back energies jitter by a few meV around their set points, so the distinct values of a motor
are grouped with a tolerance (a fraction of the scan step), never by exact equality; the grouping
(:func:`estimate_step`, :func:`group_axis`) lives in :mod:`xestools.numeric`, below io and analysis,
and is importable from here.
Image geometry follows the half-step rule: N centres a..b have step s = (b − a)/(N − 1) and the
image covers a − s/2 .. b + s/2.
"""
from __future__ import annotations

import numpy as np

from xestools.numeric import DEFAULT_TOLERANCE_FRACTION, estimate_step, group_axis


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


__all__ = ["DEFAULT_TOLERANCE_FRACTION", "estimate_step", "group_axis", "image_extent", "is_regular", "pixel_edges"]
