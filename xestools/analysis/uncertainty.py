"""Counting uncertainty of the ROI intensities: σ(I) = √max(N, 1) / I1.

The rule and its reasons live in :mod:`xestools.numeric` (the readers use it too, and io never
imports analysis); analysis code and scripts may import it from here.
"""
from xestools.numeric import ZERO_COUNT_SIGMA, poisson_sigma

__all__ = ["ZERO_COUNT_SIGMA", "poisson_sigma"]
