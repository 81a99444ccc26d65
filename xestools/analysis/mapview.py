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

import math
import weakref

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


#: data_region per map (maps are immutable): a dragged cut asks for it on every mouse move
_REGIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def data_region(rxes_map: RXESMap) -> tuple[float, float, float, float]:
    """(Ω_lo, Ω_hi, ω_lo, ω_hi): the pixel region of the map (outer pixel edges)."""
    region = _REGIONS.get(rxes_map)
    if region is None:
        incident_edges = pixel_edges(rxes_map.incident_axis)
        emission_edges = pixel_edges(rxes_map.emission_axis)
        region = (
            float(incident_edges.min()),
            float(incident_edges.max()),
            float(emission_edges.min()),
            float(emission_edges.max()),
        )
        _REGIONS[rxes_map] = region
    return region


def data_outline(rxes_map: RXESMap, view: View | str) -> np.ndarray:
    """(4, 2) corners of the map's pixel region in ``view`` (a rectangle or a parallelogram)."""
    omega_lo, omega_hi, emission_lo, emission_hi = data_region(rxes_map)
    corners = np.array([[omega_lo, emission_lo], [omega_hi, emission_lo], [omega_hi, emission_hi], [omega_lo, emission_hi]])
    xs, ys = _to_view(corners[:, 0], corners[:, 1], as_view(view))
    return np.column_stack([xs, ys])


def _band_half_planes(spec: CutSpec) -> list[tuple[tuple[float, float], float]]:
    """The band |c − p| ≤ w/2 as two half-planes n·(Ω, ω) ≤ c (n: the cut type's coefficients)."""
    kind = spec.kind.definition
    a, b = float(kind.incident), float(kind.emission)
    low, high = spec.band
    return [((a, b), high), ((-a, -b), -low)]


Point = tuple[float, float]


def _clip_polygon(polygon: list[Point], normal: tuple[float, float], limit: float) -> list[Point]:
    """Sutherland–Hodgman: the part of a convex polygon with ``normal · p ≤ limit`` (plain floats: a
    dragged cut clips its band on every mouse move)."""
    clipped: list[Point] = []
    nx, ny = normal
    count = len(polygon)
    for index in range(count):
        cx, cy = polygon[index]
        fx, fy = polygon[(index + 1) % count]
        current_side = (nx * cx + ny * cy) - limit
        following_side = (nx * fx + ny * fy) - limit
        if current_side <= 0:
            clipped.append((cx, cy))
        if current_side * following_side < 0:
            fraction = current_side / (current_side - following_side)
            clipped.append((cx + fraction * (fx - cx), cy + fraction * (fy - cy)))
    return clipped


def _without_repeats(points: list[Point], scale: float) -> list[Point]:
    def apart(p: Point, q: Point) -> bool:
        return max(abs(p[0] - q[0]), abs(p[1] - q[1])) > scale

    kept: list[Point] = []
    for point in points:
        if not kept or apart(point, kept[-1]):
            kept.append(point)
    if len(kept) > 1 and not apart(kept[0], kept[-1]):
        kept.pop()
    return kept


def cut_band_polygon(rxes_map: RXESMap, spec: CutSpec, view: View | str = View.INCIDENT) -> np.ndarray:
    """(N, 2) outline (x, y) of the cut band in ``view``, clipped to the map's pixel region.

    Empty (shape (0, 2)) when the width is not positive or the band misses the map. The
    polygon is not closed (the first vertex is not repeated).
    """
    view = as_view(view)
    if not (math.isfinite(spec.position) and math.isfinite(spec.width)) or spec.width <= 0:
        return np.empty((0, 2))
    omega_lo, omega_hi, emission_lo, emission_hi = data_region(rxes_map)
    polygon: list[Point] = [(omega_lo, emission_lo), (omega_hi, emission_lo), (omega_hi, emission_hi),
                            (omega_lo, emission_hi)]
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
