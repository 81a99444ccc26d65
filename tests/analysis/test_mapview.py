"""Band outlines and centre lines of cuts in both map views."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.path import Path

from xestools.analysis import CutSpec, CutType, View, cut_band_polygon, cut_line, mesh_corners, view_coordinates
from xestools.analysis.mapview import data_outline
from xestools.model import RXESMap

INCIDENT = 9658.0 + 0.3 * np.arange(11)  # 9658.0 .. 9661.0, pixel edges 9657.85 .. 9661.15
EMISSION = 8628.0 + 0.2 * np.arange(16)  # 8628.0 .. 8631.0, pixel edges 8627.9 .. 8631.1
OMEGA_LO, OMEGA_HI = 9657.85, 9661.15
EMISSION_LO, EMISSION_HI = 8627.9, 8631.1


def _map() -> RXESMap:
    incident, emission = np.meshgrid(INCIDENT, EMISSION, indexing="ij")
    return RXESMap(incident, emission, INCIDENT, EMISSION, np.ones(incident.shape))


def _as_view(omega_in, omega_out, view):
    return (omega_in, omega_in - omega_out) if view == "transfer" else (omega_in, omega_out)


SPECS = [
    CutSpec(CutType.CIE, 9659.45, 0.5),
    CutSpec(CutType.CIE, 9657.9, 0.4),  # partly outside
    CutSpec(CutType.CEE, 8629.5, 0.5),
    CutSpec(CutType.CEE, 8631.0, 0.6),  # partly outside
    CutSpec(CutType.CET, 1030.0, 0.45),
    CutSpec(CutType.CET, 1027.5, 0.45),  # clips at the corner
    CutSpec(CutType.CET, 1032.9, 0.8),  # clips at the opposite corner
]


@pytest.mark.parametrize("view", ["incident", "transfer"])
@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.label())
def test_band_polygon_contains_exactly_the_band(spec, view):
    rxes_map = _map()
    polygon = cut_band_polygon(rxes_map, spec, view)
    assert polygon.ndim == 2 and polygon.shape[1] == 2 and polygon.shape[0] >= 3
    path = Path(np.vstack([polygon, polygon[:1]]), closed=True)
    rng = np.random.default_rng(0)
    omega_in = rng.uniform(OMEGA_LO - 0.5, OMEGA_HI + 0.5, 4000)
    omega_out = rng.uniform(EMISSION_LO - 0.5, EMISSION_HI + 0.5, 4000)
    coordinate = {"CIE": omega_in, "CEE": omega_out, "CET": omega_in - omega_out}[spec.kind.value]
    inside_region = (omega_in > OMEGA_LO) & (omega_in < OMEGA_HI) & (omega_out > EMISSION_LO) & (omega_out < EMISSION_HI)
    in_band = np.abs(coordinate - spec.position) < spec.width / 2
    expected = inside_region & in_band
    margin = np.minimum.reduce([
        np.abs(np.abs(coordinate - spec.position) - spec.width / 2),
        np.abs(omega_in - OMEGA_LO), np.abs(omega_in - OMEGA_HI),
        np.abs(omega_out - EMISSION_LO), np.abs(omega_out - EMISSION_HI),
    ])
    clear = margin > 1e-3
    xs, ys = _as_view(omega_in, omega_out, view)
    contained = path.contains_points(np.column_stack([xs, ys]))
    np.testing.assert_array_equal(contained[clear], expected[clear])
    assert expected[clear].sum() > 20


def test_band_outline_vertices_by_hand():
    rxes_map = _map()
    cie = cut_band_polygon(rxes_map, CutSpec(CutType.CIE, 9659.45, 0.5), View.INCIDENT)
    expected = {(9659.2, EMISSION_LO), (9659.7, EMISSION_LO), (9659.7, EMISSION_HI), (9659.2, EMISSION_HI)}
    assert {tuple(np.round(vertex, 6)) for vertex in cie} == {tuple(np.round(v, 6)) for v in expected}
    cet = cut_band_polygon(rxes_map, CutSpec(CutType.CET, 1030.0, 0.4), View.TRANSFER)
    # horizontal band 1029.8..1030.2, cut off where the parallelogram ends (ω = Ω − ET within ω edges)
    assert cet[:, 1].min() == pytest.approx(1029.8) and cet[:, 1].max() == pytest.approx(1030.2)
    assert cet[:, 0].min() == pytest.approx(OMEGA_LO) and cet[:, 0].max() == pytest.approx(OMEGA_HI)
    emission_of_vertices = cet[:, 0] - cet[:, 1]
    assert np.all(emission_of_vertices >= EMISSION_LO - 1e-9) and np.all(emission_of_vertices <= EMISSION_HI + 1e-9)
    assert any(np.allclose(vertex, [OMEGA_LO, OMEGA_LO - EMISSION_LO]) for vertex in cet)
    cee = cut_band_polygon(rxes_map, CutSpec(CutType.CEE, 8629.5, 0.4), View.TRANSFER)
    # diagonal: every vertex lies on Ω − ω = Ω − 8629.3 or Ω − 8629.7
    offsets = np.round(cee[:, 0] - cee[:, 1], 6)
    assert set(offsets) == {8629.3, 8629.7}


@pytest.mark.parametrize("view", ["incident", "transfer"])
@pytest.mark.parametrize(
    "spec",
    [CutSpec(CutType.CIE, 9600.0, 1.0), CutSpec(CutType.CEE, 8700.0, 1.0), CutSpec(CutType.CET, 0.0, 1.0),
     CutSpec(CutType.CIE, 9659.0, 0.0), CutSpec(CutType.CEE, 8629.0, -1.0), CutSpec(CutType.CET, float("nan"), 1.0)],
)
def test_band_outside_or_without_width_is_empty(spec, view):
    assert cut_band_polygon(_map(), spec, view).shape == (0, 2)


def test_cut_lines():
    rxes_map = _map()
    xs, ys = cut_line(rxes_map, CutSpec(CutType.CIE, 9659.0, 0.3), View.INCIDENT)
    np.testing.assert_allclose(xs, [9659.0, 9659.0])
    np.testing.assert_allclose(ys, [EMISSION_LO, EMISSION_HI])
    xs, ys = cut_line(rxes_map, CutSpec(CutType.CIE, 9659.0, 0.3), View.TRANSFER)
    np.testing.assert_allclose(ys, [9659.0 - EMISSION_LO, 9659.0 - EMISSION_HI])
    xs, ys = cut_line(rxes_map, CutSpec(CutType.CEE, 8630.0, 0.3), View.INCIDENT)
    np.testing.assert_allclose(xs, [OMEGA_LO, OMEGA_HI])
    np.testing.assert_allclose(ys, [8630.0, 8630.0])
    xs, ys = cut_line(rxes_map, CutSpec(CutType.CEE, 8630.0, 0.3), View.TRANSFER)
    np.testing.assert_allclose(ys, xs - 8630.0)
    # CET at 1032.0: ω = Ω − 1032 runs from ω_lo (Ω = 9659.9) until Ω_hi (ω = 8629.15)
    xs, ys = cut_line(rxes_map, CutSpec(CutType.CET, 1032.0, 0.3), View.INCIDENT)
    np.testing.assert_allclose(xs, [EMISSION_LO + 1032.0, OMEGA_HI])
    np.testing.assert_allclose(ys, xs - 1032.0)
    xs, ys = cut_line(rxes_map, CutSpec(CutType.CET, 1032.0, 0.3), View.TRANSFER)
    np.testing.assert_allclose(ys, [1032.0, 1032.0])
    for spec in (CutSpec(CutType.CIE, 9000.0, 1), CutSpec(CutType.CEE, 9000.0, 1), CutSpec(CutType.CET, 5.0, 1)):
        xs, ys = cut_line(rxes_map, spec, View.INCIDENT)
        assert xs.size == 0 and ys.size == 0


def test_mesh_corners_and_view_coordinates():
    rxes_map = _map()
    x, y = mesh_corners(rxes_map, View.INCIDENT)
    assert x.shape == y.shape == (INCIDENT.size + 1, EMISSION.size + 1)
    assert x[0, 0] == pytest.approx(OMEGA_LO) and x[-1, 0] == pytest.approx(OMEGA_HI)
    assert y[0, 0] == pytest.approx(EMISSION_LO) and y[0, -1] == pytest.approx(EMISSION_HI)
    xt, yt = mesh_corners(rxes_map, "transfer")
    np.testing.assert_allclose(xt, x)
    np.testing.assert_allclose(yt, x - y)
    px, py = view_coordinates(rxes_map, "transfer")
    np.testing.assert_allclose(py, rxes_map.incident - rxes_map.emission)
    outline = data_outline(rxes_map, View.TRANSFER)
    np.testing.assert_allclose(
        outline,
        [[OMEGA_LO, OMEGA_LO - EMISSION_LO], [OMEGA_HI, OMEGA_HI - EMISSION_LO],
         [OMEGA_HI, OMEGA_HI - EMISSION_HI], [OMEGA_LO, OMEGA_LO - EMISSION_HI]],
    )


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(list(CutType)),
    view=st.sampled_from(list(View)),
    offset=st.floats(-0.3, 1.3),
    width=st.floats(0.01, 5.0),
)
def test_band_polygon_vertices_lie_in_band_and_region(kind, view, offset, width):
    """Wherever the band is, the outline stays inside both the band and the map's pixel region."""
    ranges = {
        CutType.CIE: (OMEGA_LO, OMEGA_HI),
        CutType.CEE: (EMISSION_LO, EMISSION_HI),
        CutType.CET: (OMEGA_LO - EMISSION_HI, OMEGA_HI - EMISSION_LO),
    }[kind]
    position = ranges[0] + offset * (ranges[1] - ranges[0])
    spec = CutSpec(kind, position, width)
    polygon = cut_band_polygon(_map(), spec, view)
    if polygon.size == 0:
        # only a band missing the region (or touching a corner by less than the 10 µeV dedup scale) is empty
        assert position + width / 2 <= ranges[0] + 1e-4 or position - width / 2 >= ranges[1] - 1e-4
        return
    omega_in = polygon[:, 0]
    omega_out = polygon[:, 0] - polygon[:, 1] if view is View.TRANSFER else polygon[:, 1]
    tolerance = 1e-7
    assert np.all((omega_in >= OMEGA_LO - tolerance) & (omega_in <= OMEGA_HI + tolerance))
    assert np.all((omega_out >= EMISSION_LO - tolerance) & (omega_out <= EMISSION_HI + tolerance))
    coordinate = {CutType.CIE: omega_in, CutType.CEE: omega_out, CutType.CET: omega_in - omega_out}[kind]
    assert np.all(np.abs(coordinate - position) <= width / 2 + tolerance)


def test_a_dragged_cut_does_not_recompute_the_maps_pixel_region(monkeypatch):
    """The pixel region is computed once per map: a drag asks for the band and line on every move."""
    from xestools.analysis import mapview

    rxes_map = _map()
    cut_band_polygon(rxes_map, SPECS[0], "incident")
    calls = []
    monkeypatch.setattr(mapview, "pixel_edges", lambda axis: calls.append(axis))
    for position in np.linspace(8628.0, 8631.0, 20):
        for view in View:
            spec = CutSpec(CutType.CEE, float(position), 0.4)
            assert len(cut_band_polygon(rxes_map, spec, view)) >= 3
            assert cut_line(rxes_map, spec, view)[0].size == 2
    assert calls == []
