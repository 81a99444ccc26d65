"""Costs of the results steps the GUI runs interactively: a 2-peak Voigt fit, the repeats table of a
20-scan series, and a bare scipy curve_fit of the same model as the reference, measured in this run.

Prints ``name: value unit`` lines (median of several runs; the first lmfit import is reported apart).
Goal: the fit and the table well under a second, so the Fit tool and the Repeats view stay interactive.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy.special import voigt_profile  # noqa: E402

from xestools.model import Spectrum  # noqa: E402

ENERGY = np.linspace(9640.0, 9680.0, 201)
TRUTH = (300.0, 9648.0, 1.5, 2000.0, 9660.0, 1.8, 20.0, 0.1)


def two_voigts(energy, a1, c1, s1, a2, c2, s2, b0, b1):
    return (a1 * voigt_profile(energy - c1, s1, s1) + a2 * voigt_profile(energy - c2, s2, s2)
            + b0 + b1 * (energy - 9660.0))


def noisy(seed: int) -> Spectrum:
    counts = np.random.default_rng(seed).poisson(two_voigts(ENERGY, *TRUTH)).astype(float)
    return Spectrum(ENERGY, counts, np.sqrt(np.maximum(counts, 1.0)), label=f"scan {seed}", source=f"{seed}.nxs")


def median_ms(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def main() -> None:
    from scipy.optimize import curve_fit

    start = time.perf_counter()
    from xestools.analysis.fitting import fit_lines
    from xestools.analysis.repeats import repeats_table

    import lmfit  # noqa: F401
    print(f"lmfit_first_import: {(time.perf_counter() - start) * 1000.0:.0f} ms")
    spectrum = noisy(1)
    print(f"fit_2_voigt_201_points: {median_ms(lambda: fit_lines(spectrum, [9648.0, 9660.0]), 7):.0f} ms")
    reference = median_ms(lambda: curve_fit(two_voigts, ENERGY, spectrum.intensity, p0=TRUTH,
                                            sigma=spectrum.uncertainty), 7)
    print(f"scipy_curve_fit_same_model: {reference:.0f} ms")
    series = [noisy(100 + index) for index in range(20)]
    print(f"repeats_table_20_scans: {median_ms(lambda: repeats_table(series, (9642.0, 9678.0)), 3):.0f} ms")


if __name__ == "__main__":
    main()
