"""A cut type is one entry of ``xestools.model.CUT_KINDS``: the cut, its band and line on the map, the
fast cut of a dragged band, the default cut, the width check, the CLI, recipes and the GUI's cut list
all follow from it. Checked on the three types against independent numpy, and with a fourth type
added to the table's source (in a child process) against the same independent computation."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from xestools import analysis
from xestools.analysis.cut_workspace import CutWorkspace
from xestools.model import CUT_KINDS
from xestools.analysis.mapview import cut_band_polygon, cut_line
from xestools.io import load

COEFFICIENTS = {"CIE": (1.0, 0.0), "CEE": (0.0, 1.0), "CET": (1.0, -1.0)}


@pytest.fixture(scope="module")
def rxes_map(samples_dir):
    (obj,) = load(samples_dir / "990101_1.nxs", channel="upper")
    return obj


def test_the_three_types_hold_their_coordinates():
    assert {kind.name: (kind.incident, kind.emission) for kind in CUT_KINDS} == COEFFICIENTS


@pytest.mark.parametrize("name", sorted(COEFFICIENTS))
def test_a_type_selects_the_points_of_its_band(rxes_map, name):
    a, b = COEFFICIENTS[name]
    incident = np.broadcast_to(rxes_map.incident_axis[:, None], rxes_map.shape)
    emission = np.broadcast_to(rxes_map.emission_axis[None, :], rxes_map.shape)
    held = a * incident + b * emission
    valid = rxes_map.mask & np.isfinite(rxes_map.intensity)
    position = float(np.median(held[valid]))
    width = 1.0
    inside = valid & (np.abs(held - position) <= width / 2 + 1e-9 * abs(position))
    result = analysis.cut(rxes_map, analysis.CutSpec(name, position, width))
    counts = inside.sum(axis=0 if b == 0 else 1)
    np.testing.assert_array_equal(np.sort(result.npoints), np.sort(counts))
    fast = CutWorkspace(rxes_map).cut(analysis.CutSpec(name, position, width))
    np.testing.assert_array_equal(fast.npoints, result.npoints)
    xs, ys = cut_line(rxes_map, analysis.CutSpec(name, position, width))
    np.testing.assert_allclose(a * xs + b * ys, position, atol=1e-9)
    polygon = cut_band_polygon(rxes_map, analysis.CutSpec(name, position, width))
    assert np.all(np.abs(a * polygon[:, 0] + b * polygon[:, 1] - position) <= width / 2 + 1e-6)


def test_a_new_type_is_one_entry_of_the_table(samples_dir, tmp_path):
    """Ω + ω held constant (not physics, just a fourth line of the table): everything else follows."""
    script = textwrap.dedent(f"""
        import importlib.abc, importlib.util, json, sys
        from pathlib import Path
        import numpy as np
        import xestools
        path = Path(xestools.__file__).parent / "model.py"
        source = path.read_text(encoding="utf-8")
        entry = '    CutKind("CET", 1.0, -1.0, "Ω − ω", "constant energy transfer Ω − ω", "Ctrl+Shift+T"),\\n'
        assert entry in source
        source = source.replace(entry, entry + '    CutKind("CXS", 1.0, 1.0, "Ω + ω", "constant Ω + ω", "Ctrl+Shift+X"),\\n')

        class Loader(importlib.abc.SourceLoader):
            def get_filename(self, name):
                return str(path)

            def get_data(self, filename):
                return source.encode("utf-8")

        class Finder(importlib.abc.MetaPathFinder):
            def find_spec(self, name, target_path=None, target=None):
                if name == "xestools.model":
                    return importlib.util.spec_from_loader(name, Loader(), origin=str(path))
                return None

        sys.meta_path.insert(0, Finder())   # the table with a fourth line, before anything imports it
        from xestools import analysis, batch, cli, figures
        from xestools.analysis.cut_workspace import CutWorkspace
        from xestools.analysis.mapview import cut_line
        from xestools.io import load
        from xestools.workspace.cuts import CUT_KINDS, CutModel
        from xestools.workspace.maps import default_cut
        from xestools.workspace.validation import cut_span
        (rxes_map,) = load({str(samples_dir / "990101_1.nxs")!r}, channel="upper")
        position, width = default_cut(rxes_map, "CXS", None, None)
        result = analysis.cut(rxes_map, analysis.CutSpec("CXS", position, width))
        fast = CutWorkspace(rxes_map).cut(analysis.CutSpec("CXS", position, width))
        xs, ys = cut_line(rxes_map, analysis.CutSpec("CXS", position, width))
        model = CutModel()
        model.add("CXS", position, width)
        batch.CutStep.from_dict({{"type": "cxs", "position": position, "width": width}}, "cuts[0]")
        code = cli.main(["cut", {str(samples_dir / "990101_1.nxs")!r}, "--channel", "upper", "--type", "CXS",
                         "--at", str(position), "--width", str(width), "-o", {str(tmp_path / "cxs.csv")!r}])
        (back,) = load({str(tmp_path / "cxs.csv")!r})
        print(json.dumps({{"kinds": list(CUT_KINDS), "position": position, "width": width,
                          "npoints": result.npoints.tolist(), "fast": fast.npoints.tolist(), "axis": result.axis,
                          "line": (xs + ys).tolist(), "span": cut_span(rxes_map, "CXS"), "cli": code,
                          "record": back.metadata["cut"], "label": result.spec.label(),
                          "at": figures.cut_position_at("CXS", "transfer", 9000.0, 500.0)}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["kinds"] == ["CIE", "CEE", "CET", "CXS"] and out["cli"] == 0
    (rxes_map,) = load(samples_dir / "990101_1.nxs", channel="upper")
    omega, emission = rxes_map.incident_axis, rxes_map.emission_axis
    assert out["position"] == round(np.mean(omega[[0, -1]]) + np.mean(emission[[0, -1]]), 2)
    held = omega[:, None] + emission[None, :]
    valid = rxes_map.mask & np.isfinite(rxes_map.intensity)
    inside = valid & (np.abs(held - out["position"]) <= out["width"] / 2 + 1e-9 * out["position"])
    assert out["npoints"] == out["fast"] == inside.sum(axis=1).tolist() and out["axis"] == "incident"
    np.testing.assert_allclose(out["line"], out["position"])
    step_o, step_e = np.diff(omega), np.diff(emission)
    span = (omega[-1] - omega[0] + step_o[0] / 2 + step_o[-1] / 2) + (emission[-1] - emission[0] + step_e[0] / 2 + step_e[-1] / 2)
    assert out["span"] == pytest.approx(span)
    assert out["record"]["type"] == "CXS" and out["label"].startswith("CXS Ω + ω = ")
    assert out["at"] == pytest.approx(9000.0 + (9000.0 - 500.0))
