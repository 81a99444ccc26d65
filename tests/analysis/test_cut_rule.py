"""The documented cut rule |c − p| ≤ W/2 on the grid centres, checked on the real Kα map with h5py.

Independent reference: the row centre of the Ω-outer scan 279517_1.nxs is the mean of that row's
Ω read-backs, the column centre the mean of that column's ω read-backs; CET uses Ω_row − ω_col.
analysis.cut, CutWorkspace and ``xestools cut`` must all give that selection and those numbers.
"""
from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xestools.analysis import CutSpec, CutType, View, cut
from xestools.analysis.cut_workspace import CutWorkspace
from xestools.analysis.cuts import CUT_RULE, has_grid
from xestools.cli import main
from xestools.io import load
from xestools.model import RXESMap

MAP = "279517_1.nxs"


@pytest.fixture(scope="module")
def raw(real_file):
    """(path, Ω, ω, FFI1, σ, row centres, column centres) straight from the file."""
    path = real_file(MAP)
    with h5py.File(path, "r", locking=False) as handle:
        omega = handle["entry1/I1/bragg1WithOffset"][()]
        emission = handle["entry1/I1/XESEnergyUpper"][()]
        ffi1 = handle["entry1/instrument/medipix1/FFI1_medipix1"][()]
        roi = handle["entry1/instrument/medipix1/medipix1_roi_total"][()]
        i1 = handle["entry1/I1/I1"][()]
    return str(path), omega, emission, ffi1, np.sqrt(roi) / i1, omega.mean(axis=1), emission.mean(axis=0)


@pytest.fixture(scope="module")
def loaded(raw):
    (rxes_map,) = load(raw[0])
    return rxes_map


def reference(raw, kind: str, position: float, width: float, mean: bool = False):
    """Selection, per-bin intensity, σ and counts by the documented rule on the row/column centres."""
    _, omega, emission, ffi1, sigma, rows, columns = raw
    coordinate = {"CIE": np.broadcast_to(rows[:, None], ffi1.shape),
                  "CEE": np.broadcast_to(columns[None, :], ffi1.shape),
                  "CET": rows[:, None] - columns[None, :]}[kind]
    inside = np.abs(coordinate - position) <= width / 2 + 1e-9 * abs(position)
    axis = 0 if kind == "CIE" else 1
    n = inside.sum(axis=axis)
    total = np.where(inside, ffi1, 0.0).sum(axis=axis)
    variance = np.where(inside, sigma**2, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        if mean:
            total, variance = total / n, variance / n**2
    return inside, np.where(n > 0, total, np.nan), np.where(n > 0, np.sqrt(variance), np.nan), n


def test_reader_grid_is_the_row_and_column_centres(raw, loaded):
    np.testing.assert_allclose(loaded.incident_axis, raw[5], rtol=0, atol=1e-9)
    np.testing.assert_allclose(loaded.emission_axis, raw[6], rtol=0, atol=1e-9)
    assert has_grid(loaded)


def test_issue_example_cie_uses_two_rows_not_three(raw, loaded):
    """Ω = 9659.512, W = 0.6: rows 9659.500 and 9659.800 only (148 points); the 9659.200 row's read-backs
    reach 9659.212 − 15 meV but its centre is outside, so jitter must not add it."""
    result = cut(loaded, CutSpec("CIE", 9659.512, 0.6))
    inside, total, _, n = reference(raw, "CIE", 9659.512, 0.6)
    assert int(result.npoints.sum()) == 148 == int(inside.sum())
    assert sorted(set(np.nonzero(inside)[0])) == [5, 6]
    np.testing.assert_allclose(result.intensity, total[np.argsort(loaded.emission_axis)], rtol=1e-12)
    assert result.coordinate == "grid centres"
    assert result.record()["rule"] == CUT_RULE


@pytest.mark.parametrize("kind, lo, hi, width", [("CIE", 9658.0, 9662.8, 0.6), ("CEE", 8628.0, 8649.9, 0.6),
                                                 ("CET", 1009.0, 1033.0, 0.6)])
def test_sweep_in_meV_steps_matches_the_centre_rule(raw, loaded, kind, lo, hi, width):
    """Every position of a sweep (7 meV steps) selects exactly the points whose centres are in the band."""
    workspace = CutWorkspace(loaded)
    for position in np.arange(lo, hi, 0.007):
        _, total, sigma, n = reference(raw, kind, float(position), width)
        spec = CutSpec(kind, float(position), width)
        for result in (cut(loaded, spec), workspace.cut(spec)):
            if n.sum() == 0:
                assert result.empty
                continue
            order = np.argsort(loaded.emission_axis if kind == "CIE" else loaded.incident_axis)
            np.testing.assert_array_equal(result.npoints, n[order])
            np.testing.assert_allclose(result.intensity, total[order], rtol=1e-12, equal_nan=True)
            np.testing.assert_allclose(result.uncertainty, sigma[order], rtol=1e-12, equal_nan=True)


def _scattered_map() -> RXESMap:
    """Read-backs that wander into the neighbouring cells: no grid to trust, cut on the read-backs."""
    rng = np.random.default_rng(4)
    incident_axis = 9000.0 + 0.5 * np.arange(6)
    emission_axis = 8000.0 + 0.5 * np.arange(7)
    incident = incident_axis[:, None] + rng.uniform(-0.4, 0.4, (6, 7))
    emission = emission_axis[None, :] + rng.uniform(-0.01, 0.01, (6, 7))
    intensity = rng.uniform(1, 10, (6, 7))
    return RXESMap(incident, emission, incident_axis, emission_axis, intensity, np.sqrt(intensity))


def test_map_without_a_grid_is_cut_on_its_read_backs():
    rxes_map = _scattered_map()
    assert not has_grid(rxes_map)
    result = cut(rxes_map, CutSpec("CIE", 9001.0, 0.5))
    inside = np.abs(rxes_map.incident - 9001.0) <= 0.25
    np.testing.assert_array_equal(result.npoints, inside.sum(axis=0))
    np.testing.assert_allclose(result.intensity, np.where(inside, rxes_map.intensity, 0).sum(axis=0)
                               / np.where(inside.sum(axis=0) > 0, 1, np.nan), equal_nan=True)
    assert result.coordinate == "measured read-backs"
    assert result.to_spectrum(rxes_map).metadata["cut"]["coordinate"] == "measured read-backs"
    spec = CutSpec("CET", 1001.0, 0.7)
    fast, plain = CutWorkspace(rxes_map).cut(spec), cut(rxes_map, spec)
    np.testing.assert_array_equal(fast.npoints, plain.npoints)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["CIE", "CEE", "CET"]), fraction=st.floats(0.0, 1.0), width=st.floats(0.05, 2.0),
       mean=st.booleans(), view=st.sampled_from(["incident", "transfer"]))
def test_cut_workspace_and_cli_agree(raw, loaded, tmp_path_factory, kind, fraction, width, mean, view):
    lo, hi = {"CIE": (9658.0, 9662.8), "CEE": (8628.0, 8649.9), "CET": (1009.0, 1033.0)}[kind]
    position = round(lo + fraction * (hi - lo), 4)
    spec = CutSpec(CutType(kind), position, width, mean)
    plain = cut(loaded, spec, View(view))
    fast = CutWorkspace(loaded).cut(spec, View(view))
    _, total, _, n = reference(raw, kind, position, width, mean)
    if plain.empty:
        assert fast.empty and n.sum() == 0
        return
    np.testing.assert_array_equal(fast.npoints, plain.npoints)
    np.testing.assert_allclose(fast.intensity, plain.intensity, rtol=1e-12, equal_nan=True)
    assert int(plain.npoints.sum()) == int(n.sum())
    out = tmp_path_factory.mktemp("cut") / "cut.csv"
    argv = ["cut", raw[0], "--type", kind, "--at", repr(position), "--width", repr(width), "--view", view, "-o", str(out)]
    assert main(argv + (["--mean"] if mean else [])) == 0
    table = np.genfromtxt((line for line in open(out) if not line.startswith("#")), delimiter=",", names=True)
    np.testing.assert_array_equal(table["npoints"], plain.npoints)
    np.testing.assert_array_equal(table["intensity"], plain.intensity)
    abscissa = {"CIE": "transfer_eV" if view == "transfer" else "emission_eV"}.get(kind, "omega_eV")
    np.testing.assert_array_equal(table[abscissa], plain.x)
