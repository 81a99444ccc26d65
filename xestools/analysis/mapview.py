"""Geometry of the two map views, for drawing maps, cut bands and cut lines.

Both views put Ω on the x axis. The incident view has ω on y; the transfer view has the energy
transfer Ω − ω on y, where a rectangular Ω × ω scan becomes a parallelogram and is drawn on its true
coordinates (a quad mesh), never by relabelling the incident image.

Bands and lines are computed in (Ω, ω) space, clipped to the map's pixel region
``[Ω edges] × [ω edges]`` (half a step beyond the outer grid values, as the image is drawn) and
then mapped to the view with ``(Ω, ω) → (Ω, ω)`` or ``(Ω, ω) → (Ω, Ω − ω)``. Because that map is
linear, a band stays a polygon:

======  ========================  =========================
cut     incident view (Ω, ω)      transfer view (Ω, Ω − ω)
======  ========================  =========================
CIE     vertical                  vertical
CEE     horizontal                diagonal (slope 1)
CET     diagonal (slope 1)        horizontal
======  ========================  =========================

Both follow from the coefficients of the cut type (:class:`~xestools.analysis.cuts.CutKind`): the
band is ``|a·Ω + b·ω − p| ≤ w/2``, the line ``a·Ω + b·ω = p``.
"""
from __future__ import annotations

import numpy as np

from xestools.analysis.cuts import CutSpec, View, as_view
from xestools.analysis.grid import pixel_edges
from xestools.model import RXESMap


def _to_view(omega_in, omega_out, view: View) -> tuple[np.ndarray, np.ndarray]:
    xs = np.asarray(omega_in, dtype=float)
    ys = np.asarray(omega_out, dtype=float)
    if view is View.TRANSFER:
        return xs, xs - ys
    return xs, ys


def view_coordinates(rxes_map: RXESMap, view: View | str) -> tuple[np.ndarray, np.ndarray]:
    """Per-point (x, y) of the map in ``view``: (Ω, ω) or (Ω, Ω − ω), from the measured energies."""
    return _to_view(rxes_map.incident, rxes_map.emission, as_view(view))


def mesh_corners(rxes_map: RXESMap, view: View | str) -> tuple[np.ndarray, np.ndarray]:
    """Quad-mesh corners, shape (NΩ + 1, Nω + 1), for ``pcolormesh(X, Y, intensity)`` in ``view``.

    Corners are the pixel edges of the grid axes (midway between centres, half a step beyond
    the ends); in the transfer view ``Y = Ω_edge − ω_edge``, which draws the parallelogram.
    """
    omega_in, omega_out = np.meshgrid(
        pixel_edges(rxes_map.incident_axis), pixel_edges(rxes_map.emission_axis), indexing="ij"
    )
    return _to_view(omega_in, omega_out, as_view(view))


def data_region(rxes_map: RXESMap) -> tuple[float, float, float, float]:
    """(Ω_lo, Ω_hi, ω_lo, ω_hi): the pixel region of the map (outer pixel edges)."""
    incident_edges = pixel_edges(rxes_map.incident_axis)
    emission_edges = pixel_edges(rxes_map.emission_axis)
    return (
        float(incident_edges.min()),
        float(incident_edges.max()),
        float(emission_edges.min()),
        float(emission_edges.max()),
    )


def data_outline(rxes_map: RXESMap, view: View | str) -> np.ndarray:
    """(4, 2) corners of the map's pixel region in ``view`` (a rectangle or a parallelogram)."""
    omega_lo, omega_hi, emission_lo, emission_hi = data_region(rxes_map)
    corners = np.array([[omega_lo, emission_lo], [omega_hi, emission_lo], [omega_hi, emission_hi], [omega_lo, emission_hi]])
    xs, ys = _to_view(corners[:, 0], corners[:, 1], as_view(view))
    return np.column_stack([xs, ys])


def _band_half_planes(spec: CutSpec) -> list[tuple[np.ndarray, float]]:
    """The band |c − p| ≤ w/2 as two half-planes n·(Ω, ω) ≤ c (n: the cut type's coefficients)."""
    kind = spec.kind.definition
    normal = np.array([kind.incident, kind.emission])
    low, high = spec.band
    return [(normal, high), (-normal, -low)]


def _clip_polygon(polygon: list[np.ndarray], normal: np.ndarray, limit: float) -> list[np.ndarray]:
    """Sutherland–Hodgman: the part of a convex polygon with ``normal · p ≤ limit``."""
    clipped: list[np.ndarray] = []
    count = len(polygon)
    for index in range(count):
        current = polygon[index]
        following = polygon[(index + 1) % count]
        current_side = float(normal @ current) - limit
        following_side = float(normal @ following) - limit
        if current_side <= 0:
            clipped.append(current)
        if current_side * following_side < 0:
            fraction = current_side / (current_side - following_side)
            clipped.append(current + fraction * (following - current))
    return clipped


def _without_repeats(points: list[np.ndarray], scale: float) -> list[np.ndarray]:
    kept: list[np.ndarray] = []
    for point in points:
        if not kept or np.max(np.abs(point - kept[-1])) > scale:
            kept.append(point)
    if len(kept) > 1 and np.max(np.abs(kept[0] - kept[-1])) <= scale:
        kept.pop()
    return kept


def cut_band_polygon(rxes_map: RXESMap, spec: CutSpec, view: View | str = View.INCIDENT) -> np.ndarray:
    """(N, 2) outline (x, y) of the cut band in ``view``, clipped to the map's pixel region.

    Empty (shape (0, 2)) when the width is not positive or the band misses the map. The
    polygon is not closed (the first vertex is not repeated).
    """
    view = as_view(view)
    if not (np.isfinite(spec.position) and np.isfinite(spec.width)) or spec.width <= 0:
        return np.empty((0, 2))
    omega_lo, omega_hi, emission_lo, emission_hi = data_region(rxes_map)
    polygon = [
        np.array([omega_lo, emission_lo]),
        np.array([omega_hi, emission_lo]),
        np.array([omega_hi, emission_hi]),
        np.array([omega_lo, emission_hi]),
    ]
    for normal, limit in _band_half_planes(spec):
        polygon = _clip_polygon(polygon, normal, limit)
        if not polygon:
            return np.empty((0, 2))
    scale = 1e-9 * max(abs(omega_hi), abs(emission_hi), 1.0)
    polygon = _without_repeats(polygon, scale)
    if len(polygon) < 3:
        return np.empty((0, 2))
    points = np.array(polygon)
    xs, ys = _to_view(points[:, 0], points[:, 1], view)
    return np.column_stack([xs, ys])


def cut_line(rxes_map: RXESMap, spec: CutSpec, view: View | str = View.INCIDENT) -> tuple[np.ndarray, np.ndarray]:
    """(xs, ys) of the band's centre line in ``view``, clipped to the map's pixel region.

    Two points when the line ``a·Ω + b·ω = p`` crosses the map, zero otherwise (CIE: Ω = p;
    CEE: ω = p; CET: ω = Ω − p).
    """
    view = as_view(view)
    position = spec.position
    none = (np.empty(0), np.empty(0))
    if not np.isfinite(position):
        return none
    omega_lo, omega_hi, emission_lo, emission_hi = data_region(rxes_map)
    a, b = spec.kind.definition.incident, spec.kind.definition.emission
    if b == 0:
        held = position / a
        if not omega_lo <= held <= omega_hi:
            return none
        omega_in = np.array([held, held])
        omega_out = np.array([emission_lo, emission_hi])
    elif a == 0:
        held = position / b
        if not emission_lo <= held <= emission_hi:
            return none
        omega_in = np.array([omega_lo, omega_hi])
        omega_out = np.array([held, held])
    else:
        ends = sorted(((position - b * emission_lo) / a, (position - b * emission_hi) / a))
        start, stop = max(omega_lo, ends[0]), min(omega_hi, ends[1])
        if start > stop:
            return none
        omega_in = np.array([start, stop])
        omega_out = (position - a * omega_in) / b
    return _to_view(omega_in, omega_out, view)


__all__ = ["cut_band_polygon", "cut_line", "data_outline", "data_region", "mesh_corners", "view_coordinates"]
