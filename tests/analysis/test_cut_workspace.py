"""CutWorkspace (fast repeated cuts while dragging) gives the plain ``analysis.cut`` result."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from xestools.analysis import CutSpec, View, cut
from xestools.analysis.cut_workspace import CutWorkspace
from xestools.model import RXESMap


def _jittered_map(with_sigma: bool = True, seed: int = 3) -> RXESMap:
    """60 × 90 regular grid with read-back jitter, a NaN point and a block of unmeasured points."""
    rng = np.random.default_rng(seed)
    incident_axis = 9650.0 + 0.3 * np.arange(60)
    emission_axis = 8620.0 + 0.25 * np.arange(90)
    shape = (60, 90)
    intensity = rng.uniform(1.0, 50.0, shape)
    intensity[3, 5] = np.nan
    mask = np.ones(shape, bool)
    mask[40:, 70:] = False       # an aborted scan's missing corner
    return RXESMap(
        incident=incident_axis[:, None] + rng.uniform(-0.005, 0.005, shape),
        emission=emission_axis[None, :] + rng.uniform(-0.002, 0.002, shape),
        incident_axis=incident_axis, emission_axis=emission_axis, intensity=intensity,
        uncertainty=np.sqrt(intensity) if with_sigma else None, mask=mask,
    )


MAPS = {True: _jittered_map(True), False: _jittered_map(False)}
WORKSPACES = {key: CutWorkspace(value) for key, value in MAPS.items()}
RANGES = {"CIE": (9650.0, 9667.7), "CEE": (8620.0, 8642.25), "CET": (1008.0, 1047.7)}


def _assert_same(fast, plain):
    assert (fast.empty, fast.reason, fast.note, fast.axis) == (plain.empty, plain.reason, plain.note, plain.axis)
    np.testing.assert_array_equal(fast.npoints, plain.npoints)
    np.testing.assert_allclose(fast.x, plain.x, rtol=1e-12, atol=0)
    np.testing.assert_allclose(fast.intensity, plain.intensity, rtol=1e-12, atol=0, equal_nan=True)
    if plain.uncertainty is None:
        assert fast.uncertainty is None
    else:
        np.testing.assert_allclose(fast.uncertainty, plain.uncertainty, rtol=1e-12, atol=0, equal_nan=True)
    assert np.isnan(fast.mean_incident) and np.isnan(plain.mean_incident) or fast.mean_incident == plain.mean_incident


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(["CIE", "CEE", "CET"]), fraction=st.floats(-0.2, 1.2),
       width=st.floats(0.01, 4.0), mean=st.booleans(), view=st.sampled_from(list(View)),
       with_sigma=st.booleans())
def test_workspace_cut_equals_plain_cut(kind, fraction, width, mean, view, with_sigma):
    lo, hi = RANGES[kind]
    spec = CutSpec(kind, lo + fraction * (hi - lo), width, mean)
    _assert_same(WORKSPACES[with_sigma].cut(spec, view), cut(MAPS[with_sigma], spec, view))


def test_band_edge_on_a_grid_value_and_degenerate_specs():
    """Edges exactly on grid values, zero/negative widths and bands outside the data."""
    rxes_map, workspace = MAPS[True], WORKSPACES[True]
    specs = [CutSpec("CIE", 9661.0, 0.6), CutSpec("CEE", 8630.0, 0.5), CutSpec("CET", 1030.0, 0.6, True),
             CutSpec("CIE", 9661.0, 0.0), CutSpec("CEE", 8630.0, -1.0), CutSpec("CET", 5000.0, 1.0),
             CutSpec("CEE", 8620.1, 0.01)]
    for spec in specs:
        for view in View:
            _assert_same(workspace.cut(spec, view), cut(rxes_map, spec, view))


def test_cet_window_on_a_large_map_is_narrow_and_exact():
    """A narrow CET band on a 400 × 500 map: the window path (not the whole map) gives the same bins."""
    rng = np.random.default_rng(11)
    incident_axis = np.linspace(9650.0, 9670.0, 400)
    emission_axis = np.linspace(8620.0, 8660.0, 500)
    shape = (400, 500)
    intensity = rng.uniform(0.0, 10.0, shape)
    rxes_map = RXESMap(incident_axis[:, None] + rng.normal(0, 0.002, shape),
                       emission_axis[None, :] + rng.normal(0, 0.002, shape), incident_axis, emission_axis,
                       intensity, uncertainty=np.sqrt(intensity))
    workspace = CutWorkspace(rxes_map)
    for position in (1015.0, 1025.37, 1034.9):
        spec = CutSpec("CET", position, 0.3)
        _assert_same(workspace.cut(spec, View.TRANSFER), cut(rxes_map, spec, View.TRANSFER))
    # independent check of one bin: row 200 sums the points with |Ω − ω − 1025.37| ≤ 0.15 (+ tolerance)
    spec = CutSpec("CET", 1025.37, 0.3)
    result = workspace.cut(spec, View.TRANSFER)
    transfer = rxes_map.incident[200] - rxes_map.emission[200]
    inside = np.abs(transfer - 1025.37) <= 0.15 + 1e-3
    assert result.npoints[200] == inside.sum()
    assert np.isclose(result.intensity[200], intensity[200][inside].sum(), rtol=1e-12)


def test_dragged_cee_cut_equals_plain_cut_across_copied_column_windows():
    """A CEE drag reads its ω columns from a copied window that it leaves and refills: every step,
    forwards and back, equals the plain cut (selection, counts, sums)."""
    rng = np.random.default_rng(5)
    incident_axis = 9650.0 + 0.3 * np.arange(40)
    emission_axis = 8600.0 + 0.1 * np.arange(400)
    shape = (40, 400)
    intensity = rng.uniform(1.0, 50.0, shape)
    intensity[7, 150] = np.nan
    rxes_map = RXESMap(incident=incident_axis[:, None] + np.zeros(shape),
                       emission=emission_axis[None, :] + rng.uniform(-0.02, 0.02, shape),
                       incident_axis=incident_axis, emission_axis=emission_axis, intensity=intensity,
                       uncertainty=np.sqrt(intensity))
    workspace = CutWorkspace(rxes_map)
    positions = list(np.arange(8598.0, 8642.0, 0.37)) + list(np.arange(8641.0, 8598.0, -1.9))
    for position in positions:
        for view in View:
            spec = CutSpec("CEE", float(position), 0.45, mean=bool(int(position) % 2))
            _assert_same(workspace.cut(spec, view), cut(rxes_map, spec, view))
