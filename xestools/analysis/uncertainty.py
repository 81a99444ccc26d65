"""Counting uncertainty of the ROI intensities: one documented rule for every reader.

σ(I) = √max(N, 1) / I1 for N ROI counts and monitor I1 (FFI1 = N / I1). For N ≥ 1 that is the
Poisson √N. A point with **zero** counts does not have zero uncertainty: with a flat prior the
posterior of the Poisson mean after observing 0 counts is Gamma(1, 1), whose mean and standard
deviation are both 1 count, so σ = 1 / I1. A zero σ would make 1/σ² weights infinite (weighted
averages refuse such points, background fits drop the weights). Negative counts (a corrupted
file) are treated as zero.
"""
from __future__ import annotations

import numpy as np

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


__all__ = ["ZERO_COUNT_SIGMA", "poisson_sigma"]
