"""Checks on what a user types, with the message to show when it is refused (no Qt)."""
from __future__ import annotations

import numpy as np


def cut_span(rxes_map, kind: str) -> float:
    """How far the coordinate a cut of ``kind`` holds constant runs across the map (eV): the Ω range
    for CIE, the ω range for CEE, the Ω − ω range for CET (pixel edges included); in general
    |a|·(Ω range) + |b|·(ω range) for a cut holding a·Ω + b·ω."""
    from xestools.analysis.cuts import CutType
    from xestools.analysis.grid import image_extent

    (x0, x1), (y0, y1) = image_extent(rxes_map.incident_axis), image_extent(rxes_map.emission_axis)
    definition = CutType(str(kind).upper()).definition
    spans = [abs(coefficient) * (hi - lo) for coefficient, (lo, hi) in
             ((definition.incident, (x0, x1)), (definition.emission, (y0, y1))) if coefficient != 0]
    return float(sum(spans))


def cut_width_problem(width: float, kind: str, rxes_map) -> str | None:
    """Why a full cut width of ``width`` eV is refused for a cut of ``kind`` on ``rxes_map``, or None.

    0 eV (or less, or not a number) selects no point at all; a band wider than the map's whole range
    along the cut's held coordinate is no longer a cut of it (the profile becomes the map's sum).
    """
    if not np.isfinite(width) or width <= 0:
        return f"A cut width must be more than 0 eV (a {kind} band of {width:g} eV holds no point)."
    if rxes_map is None:
        return None
    span = cut_span(rxes_map, kind)
    if width > span + 0.005:     # half the width box's 0.01 eV step: 5.10 on a 5.1 eV map is fine
        return (f"A {kind} cut {width:g} eV wide is wider than the map's whole range along it "
                f"({span:.2f} eV): give a width up to {span:.2f} eV.")
    return None
