"""Twins: the same scan opened in two formats (``280772_1.nxs`` and ``ZnO_standard_280772_1.dat``).

Twins have the same scan number and channel, and on every point both have measured identical
energies (within :data:`TWIN_ENERGY_TOLERANCE_EV`) and identical intensity and monitor (within
:data:`TWIN_RTOL`). Only one of them is counted (the one with more measured points; the first one
on a tie); averaging both would report σ too small by √2. Averages of spectra and of maps and
series of repeats all start from :func:`without_twins`, so this module sits below all three.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from xestools.model import RXESMap, Spectrum

#: twins hold the same energies within this (a .dat prints fewer digits than the .nxs holds)
TWIN_ENERGY_TOLERANCE_EV = 1e-3
#: twins hold the same intensities and monitor counts within this relative difference
TWIN_RTOL = 1e-6


def measured_points(obj: Spectrum | RXESMap) -> int:
    """Points with a finite intensity (and, in a map, inside its measured mask)."""
    valid = np.isfinite(np.asarray(obj.intensity, dtype=float))
    if isinstance(obj, RXESMap):
        valid &= obj.mask
    return int(np.count_nonzero(valid))


def _agree(a, b, *, atol: float = 0.0, rtol: float = 0.0) -> bool:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def is_twin(a: Spectrum | RXESMap, b: Spectrum | RXESMap) -> bool:
    """True when ``a`` and ``b`` are the same scan (e.g. its .nxs and its .dat), see the module docstring.

    Points measured in only one of them (a copy still being written) are not compared.
    """
    if type(a) is not type(b) or a.channel != b.channel:
        return False
    number_a = a.info.scan_number if a.info is not None else None
    number_b = b.info.scan_number if b.info is not None else None
    if number_a is None or number_a != number_b:
        return False
    if isinstance(a, RXESMap):
        if a.shape != b.shape:
            return False
        both = a.mask & b.mask & np.isfinite(a.intensity) & np.isfinite(b.intensity)
        energies = [(a.incident[both], b.incident[both]), (a.emission[both], b.emission[both])]
        counts = [(a.intensity[both], b.intensity[both])]
        if a.monitor is not None and b.monitor is not None:
            counts.append((a.monitor[both], b.monitor[both]))
    else:
        if a.axis != b.axis:
            return False
        n = min(len(a), len(b))   # a copy in progress holds the first points of the scan, in scan order
        both = np.isfinite(a.intensity[:n]) & np.isfinite(b.intensity[:n])
        energies = [(a.energy[:n][both], b.energy[:n][both])]
        counts = [(a.intensity[:n][both], b.intensity[:n][both])]
        if a.monitor is not None and b.monitor is not None:
            counts.append((a.monitor[:n][both], b.monitor[:n][both]))
    if not np.any(both):
        return False
    return (all(_agree(x, y, atol=TWIN_ENERGY_TOLERANCE_EV) for x, y in energies)
            and all(_agree(x, y, rtol=TWIN_RTOL) for x, y in counts))


def _name(obj) -> str:
    return os.path.basename(obj.source) if obj.source else (obj.label or "a scan")


def twin_notice(kept, dropped) -> str:
    number = kept.info.scan_number if kept.info is not None else "?"
    return (f"{_name(dropped)} is the same scan as {_name(kept)} (scan {number}, identical energies and counts); "
            "it is counted once")


def deduplicate(scans: Sequence[Spectrum | RXESMap]) -> tuple[list, list[str]]:
    """The scans with twins removed (the more complete twin kept, first on a tie), and one notice per twin."""
    kept: list = []
    notices: list[str] = []
    for scan in scans:
        twin = next((index for index, other in enumerate(kept) if is_twin(other, scan)), None)
        if twin is None:
            kept.append(scan)
        elif measured_points(scan) > measured_points(kept[twin]):
            notices.append(twin_notice(scan, kept[twin]))
            kept[twin] = scan
        else:
            notices.append(twin_notice(kept[twin], scan))
    return kept, notices


def without_twins(scans: Sequence[Spectrum | RXESMap]) -> tuple[list, list[str], list[str]]:
    """What every average starts from: (members without twins, one notice per twin, the twins' sources).

    An average whose members are not independent would report σ too small by √2, so the averaging
    functions themselves call this: the CLI, the GUI, batch and series all count a twin once.
    """
    members, notices = deduplicate(scans)
    dropped = [scan.source for scan in scans if not any(scan is member for member in members)]
    return members, notices, dropped


__all__ = ["TWIN_ENERGY_TOLERANCE_EV", "TWIN_RTOL", "deduplicate", "is_twin", "measured_points", "twin_notice",
           "without_twins"]
