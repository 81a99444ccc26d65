"""Numeric helpers below both the readers (io) and the numeric core (analysis).

Grouping of jittered read-backs. Read-back energies jitter by a few meV around their set points, so
the distinct values of a motor are grouped with a tolerance (a fraction of the scan step), never by
exact equality: readers group a map's axes with it, analysis builds grids and series with it.

Counting uncertainty of the ROI intensities, one documented rule for every reader and average:
σ(I) = √max(N, 1) / I1 for N ROI counts and monitor I1 (FFI1 = N / I1). For N ≥ 1 that is the
Poisson √N. A point with **zero** counts does not have zero uncertainty: with a flat prior the
posterior of the Poisson mean after observing 0 counts is Gamma(1, 1), whose mean and standard
deviation are both 1 count, so σ = 1 / I1. A zero σ would make 1/σ² weights infinite (weighted
averages refuse such points, background fits drop the weights). Negative counts (a corrupted
file) are treated as zero.

Only numpy is imported here; io and analysis both import this module, never each other.
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


#: σ, in counts, of a point that recorded zero counts
ZERO_COUNT_SIGMA = 1.0


def poisson_sigma(counts, monitor=None) -> np.ndarray:
    """``√max(N, 1)`` (÷ monitor when given) per point; NaN counts stay NaN."""
    counts = np.asarray(counts, dtype=float)
    with np.errstate(invalid="ignore"):
        sigma = np.sqrt(np.maximum(np.where(np.isnan(counts), np.nan, np.clip(counts, 0, None)), ZERO_COUNT_SIGMA**2))
    if monitor is None:
        return sigma
    with np.errstate(divide="ignore", invalid="ignore"):
        return sigma / np.asarray(monitor, dtype=float)




def readonly_counts(count) -> np.ndarray:
    """A per-point count (members or points per bin) as a read-only integer array, like the model's arrays."""
    counts = np.array(count, dtype=np.int64)
    counts.setflags(write=False)
    return counts


__all__ = ["DEFAULT_TOLERANCE_FRACTION", "ZERO_COUNT_SIGMA", "estimate_step", "group_axis", "poisson_sigma",
           "readonly_counts"]
