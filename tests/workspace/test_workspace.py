"""The Qt-free workspace: what is open, map documents and cuts, XES items and the session state.

No QApplication here: the workspace is built and changed directly, its callbacks recorded in lists.
Numbers are checked against numpy computed here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xestools.model import Channel, RXESMap, Spectrum
from xestools.workspace import (CutModel, Dataset, LoadOutcome, MapWorkspace, Workspace, XesPlotSettings,
                                XesWorkspace, load_files)
from xestools.workspace.session import loaded_lookup, xes_paths

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_workspace_runs_without_qt():
    """Importing and using the workspace loads neither Qt nor the Qt matplotlib backend."""
    code = ("import sys\n"
            "from xestools.workspace import Workspace, XesWorkspace, MapWorkspace\n"
            "w = Workspace(); w.xes.update_tools(normalise_window=(1.0, 2.0)); w.to_state()\n"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken')) or m.endswith('backend_qtagg')]\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("MPLBACKEND", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def regular_map(path: str = "synthetic.nxs", channel=Channel.UPPER) -> RXESMap:
    incident_axis = np.linspace(9650.0, 9655.5, 12)
    emission_axis = np.linspace(8622.75, 8637.25, 30)
    incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
    intensity = 1.0 + np.exp(-((emission - 8630.0) / 2.0) ** 2)
    return RXESMap(incident, emission, incident_axis, emission_axis, intensity, uncertainty=np.sqrt(intensity) * 0.1,
                   channel=channel, source=path)


def test_cut_model_callbacks_and_state():
    model = CutModel()
    seen = []
    for name in ("added", "changed", "removed"):
        getattr(model, name).connect(lambda ident, n=name: seen.append((n, ident)))
    first = model.add("cee", 8630.0, 1.0)
    second = model.add("CIE", 9652.0, -1.0, mean=True)      # a negative width is clamped to 0
    model.update(first, position=8631.25)
    model.update(first, position=8631.25)                   # no change: no callback
    model.remove(second)
    assert seen == [("added", first), ("added", second), ("changed", first), ("removed", second)]
    assert model.to_state() == [{"kind": "CEE", "position": 8631.25, "width": 1.0, "mean": False,
                                 "color": model.get(first).color}]
    other = CutModel()
    other.restore(model.to_state() + [{"kind": "XYZ", "position": 1, "width": 1}, {"position": 2}])
    assert other.to_state() == model.to_state()              # malformed entries are skipped
    with pytest.raises(ValueError, match="cut type"):
        model.add("ABC", 0.0, 1.0)


def test_map_workspace_new_cut_sits_at_the_map_centre_three_steps_wide():
    maps = MapWorkspace()
    events = []
    maps.current_changed.connect(lambda: events.append("current"))
    maps.style_changed.connect(lambda old: events.append(("style", old.view)))
    document = maps.add_dataset(Dataset("synthetic.nxs", [regular_map()]))
    assert maps.current is document and events == ["current"]
    rxes_map = document.display_map()
    omega, emission = (9650.0 + 9655.5) / 2, (8622.75 + 8637.25) / 2
    step_in, step_em = 5.5 / 11, 14.5 / 29
    for kind, position, step in (("CIE", omega, step_in), ("CEE", emission, step_em),
                                 ("CET", omega - emission, max(step_in, step_em))):
        entry = document.cuts.get(maps.add_cut(kind))
        assert entry.position == pytest.approx(round(position, 2)) and entry.width == pytest.approx(round(3 * step, 2))
    maps.set_view("transfer")
    assert events[-1] == ("style", "incident") and maps.style.view == "transfer"
    assert rxes_map is document.display_map()     # a view change does not touch the data or the cuts
    assert len(document.cuts) == 3


def test_document_normalisation_never_compounds_and_bad_window_keeps_state():
    maps = MapWorkspace()
    document = maps.add_dataset(Dataset("synthetic.nxs", [regular_map()]))
    x = np.linspace(8620.0, 8640.0, 81)
    reference = Spectrum(x, np.full(x.size, 2.0), label="flat")
    maps.normalise(reference, (8625.0, 8635.0))
    raw = np.asarray(document.raw_map().intensity)
    np.testing.assert_allclose(document.display_map().intensity, raw / (2.0 * 10.0), rtol=1e-12)
    maps.normalise(reference, (8625.0, 8635.0))        # again: from the raw map, not compounded
    np.testing.assert_allclose(document.display_map().intensity, raw / 20.0, rtol=1e-12)
    with pytest.raises(ValueError):
        maps.normalise(reference, (9000.0, 9001.0))    # outside the reference
    np.testing.assert_allclose(document.display_map().intensity, raw / 20.0, rtol=1e-12)
    assert document.to_state()["normalisation"]["window"] == [8625.0, 8635.0]


@pytest.fixture
def loaded(real_file, samples_dir):
    paths = [real_file("280754_1.nxs"), real_file("280772_1.nxs"), samples_dir / "990111_1.nxs",
             samples_dir / "990112_1.nxs", samples_dir / "990113_1.nxs"]
    return load_files([str(p) for p in paths])


def test_xes_workspace_average_and_session_round_trip(loaded, tmp_path):
    xes = XesWorkspace()
    for outcome in loaded:
        xes.add_loaded(outcome.path, outcome.objects)
    names = [item.name for item in xes.all_items()]
    assert names == ["280754_1.nxs", "280772_1.nxs", "990111_1.nxs", "990112_1.nxs", "990113_1.nxs"]
    energy = xes.item(1).spectrum.energy     # the first data set the windows (rounded to 0.01 eV)
    assert xes.settings.tools.normalise_window == (round(float(np.min(energy)), 2), round(float(np.max(energy)), 2))
    repeats = [item.uid for item in xes.all_items()[2:]]
    for item in xes.all_items():
        xes.set_visible(item.uid, item.uid in repeats)
    average = xes.average()
    members = [xes.item(uid).spectrum for uid in repeats]
    orders = [np.argsort(m.energy) for m in members]   # repeats on one grid: averaged point by point
    np.testing.assert_allclose(average.spectrum.energy, np.mean([m.energy[o] for m, o in zip(members, orders)], axis=0))
    np.testing.assert_allclose(average.spectrum.intensity,
                               np.mean([m.intensity[o] for m, o in zip(members, orders)], axis=0), rtol=1e-10)
    normalised = xes.normalise(average.uid, (9630.0, 9660.0))      # by its own area
    xes.set_plot_settings(XesPlotSettings(offset_percent=30.0, y_scale="max"))
    state = json.loads(json.dumps(xes.to_state()))

    other = XesWorkspace()
    assert set(xes_paths(state)) == {o.path for o in loaded}
    other.restore(state, loaded_lookup(loaded))
    assert [(i.name, i.kind, i.visible, i.colour) for i in other.all_items()] == \
           [(i.name, i.kind, i.visible, i.colour) for i in xes.all_items()]
    restored = next(i for i in other.all_items() if i.name == normalised.name)
    np.testing.assert_allclose(restored.spectrum.intensity, normalised.spectrum.intensity, rtol=1e-12)
    assert other.settings == xes.settings and other.failures == []

    broken = [LoadOutcome(o.path, error=f"{os.path.basename(o.path)}: gone") if "990112" in o.path else o
              for o in loaded]
    third = XesWorkspace()
    third.restore(state, loaded_lookup(broken))
    assert any("990112_1.nxs: gone" in reason for _, reason in third.failures)
    assert any("average" in reason for _, reason in third.failures)   # its input is missing
    assert len(third.all_items()) == len(xes.all_items()) - 3          # the scan, the average, its normalisation


def test_workspace_routes_files_and_restores_cuts_when_the_file_arrives(real_file):
    outcomes = load_files([str(real_file("279517_1.nxs")), str(real_file("280754_1.nxs"))])
    workspace = Workspace()
    opened, errors = workspace.add_outcomes(outcomes + [LoadOutcome("/nowhere/bad.nxs", error="bad.nxs: no")])
    assert [d.kind for d in opened] == ["rxes", "xes"] and errors == ["bad.nxs: no"]
    map_key = opened[0].key
    assert workspace.maps.current.dataset.key == map_key
    assert [m.source for m in workspace.xes.maps] == [opened[0].path]      # offered for XES at Ω
    assert [i.name for i in workspace.xes.all_items()] == ["280754_1.nxs"]
    workspace.maps.add_cut("CEE", 8638.9, 1.0)
    state = json.loads(json.dumps(workspace.to_state()))
    assert [f["kind"] for f in state["files"]] == ["rxes", "xes"] and state["files"][0]["cuts"][0]["kind"] == "CEE"

    restored = Workspace()
    reports = []
    restored.restored.connect(reports.append)
    restored.restore({**state, "files": state["files"] + [{"path": "/nowhere/gone.nxs"}]})
    assert reports[0].missing == ["/nowhere/gone.nxs"] and len(reports[0].opened) == 2
    assert restored.maps.current.cuts.to_state() == workspace.maps.current.cuts.to_state()
    assert restored.current_key == os.path.abspath(state["current"])
    assert restored.close(map_key) is not None
    assert restored.maps.current is None and restored.xes.maps == []
    assert [d.kind for d in restored.datasets] == ["xes"]
