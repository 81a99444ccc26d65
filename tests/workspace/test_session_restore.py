"""Derived XES items of a session come back when their inputs do, whichever read arrives first:
the XES tab's own read of the session's files, or the main window's (issue 13). Real I20 files."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from xestools.workspace import LoadOutcome, Workspace, load_files
from xestools.workspace.items import ItemKind
from xestools.workspace.session import loaded_lookup

NAMES = ("280772_1.nxs", "ZnO_standard_280772_1.dat", "280754_1.nxs", "279517_1.nxs")


@pytest.fixture(scope="module")
def outcomes(real_file):
    return load_files([str(real_file(name)) for name in NAMES])


@pytest.fixture(scope="module")
def saved(outcomes):
    """A session: two formats of one VtC scan averaged, the average normalised, an XES at Ω of the map."""
    workspace = Workspace()
    workspace.add_outcomes(outcomes)
    xes = workspace.xes
    a, b = (item.uid for item in xes.all_items()[:2])
    average = xes.average([a, b])
    xes.normalise(average.uid, (9630.0, 9660.0))
    xes.add_map_slice(0, 9660.0)
    return json.loads(json.dumps(workspace.to_state())), workspace


def derived(workspace):
    return [(i.name, i.kind, i.inputs and [workspace.xes.item(u).name for u in i.inputs]) for i in workspace.xes.all_items()
            if i.kind.derived]


def expected_average(outcomes):
    nxs, dat = outcomes[0].objects[0], outcomes[1].objects[0]
    order_n, order_d = np.argsort(nxs.energy), np.argsort(dat.energy)
    return (nxs.intensity[order_n] + dat.intensity[order_d]) / 2


def test_derived_items_wait_for_inputs_read_by_the_main_window(saved, outcomes):
    state, original = saved
    workspace = Workspace()
    paths, missing = workspace.prepare_restore(state)
    assert missing == [] and len(paths) == 4
    # the XES tab's own read failed (or was slower): nothing to build the scans from yet
    failed = [LoadOutcome(o.path, error=f"{os.path.basename(o.path)}: busy") for o in outcomes]
    workspace.xes.from_state(state["xes_panel"], loaded_lookup(failed))
    reasons = [reason for _, reason in workspace.xes.failures]
    assert any("waiting for its input 280772_1.nxs" in reason for reason in reasons), reasons
    assert not any("input #" in reason and "not restored" in reason for reason in reasons)
    workspace.add_outcomes(outcomes)          # the main window's read arrives
    assert derived(workspace) == derived(original)
    assert workspace.xes.failures == []
    average = next(i for i in workspace.xes.all_items() if i.kind is ItemKind.AVERAGE)
    np.testing.assert_allclose(average.spectrum.intensity, expected_average(outcomes), rtol=1e-12)
    normalised = next(i for i in workspace.xes.all_items() if i.kind is ItemKind.NORMALISED)
    energy, intensity = average.spectrum.energy, average.spectrum.intensity
    inside = (energy > 9630.0) & (energy < 9660.0)
    xs = np.concatenate([[9630.0], energy[inside], [9660.0]])
    ys = np.interp(xs, energy, intensity)
    area = float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2))     # trapezoid with interpolated edges
    np.testing.assert_allclose(normalised.spectrum.intensity * area, intensity, rtol=1e-9)


def test_main_window_read_first_then_the_xes_read(saved, outcomes):
    state, original = saved
    workspace = Workspace()
    workspace.prepare_restore(state)
    workspace.add_outcomes(outcomes)
    workspace.xes.from_state(state["xes_panel"], loaded_lookup(outcomes))
    assert derived(workspace) == derived(original) and workspace.xes.failures == []
    assert [i.name for i in workspace.xes.all_items()] == [i.name for i in original.xes.all_items()]


def test_an_input_that_never_arrives_is_named(saved, outcomes):
    state, _ = saved
    workspace = Workspace()
    kept = [o for o in outcomes if "280772_1.nxs" not in os.path.basename(o.path) or o.path.endswith(".dat")]
    workspace.xes.from_state(state["xes_panel"], loaded_lookup(kept))
    workspace.add_outcomes(kept)
    reasons = [reason for _, reason in workspace.xes.failures]
    assert any(r.startswith("average 1 (1 scan): waiting for its input 280772_1.nxs") for r in reasons), reasons
    assert not any(i.kind in (ItemKind.AVERAGE, ItemKind.NORMALISED) for i in workspace.xes.all_items())


def test_a_closed_input_reopened_relinks_its_average_and_a_session_saved_meanwhile_restores_it(outcomes):
    workspace = Workspace()
    workspace.add_outcomes(outcomes[:2])
    xes = workspace.xes
    a, b = (item.uid for item in xes.all_items())
    average = xes.average([a, b])
    workspace.close(os.path.abspath(outcomes[0].path))
    assert xes.item(average.uid).stale
    state = json.loads(json.dumps(workspace.to_state()))      # saved while the input was closed

    restored = Workspace()
    restored.prepare_restore(state)
    restored.xes.from_state(state["xes_panel"], loaded_lookup(outcomes[:2]))
    restored.add_outcomes(outcomes[:2])                         # the user opens the file again
    again = next(i for i in restored.xes.all_items() if i.kind is ItemKind.AVERAGE)
    assert not again.stale and restored.xes.failures == []
    np.testing.assert_allclose(again.spectrum.intensity, expected_average(outcomes), rtol=1e-12)

    workspace.add_outcomes(outcomes[:1])                        # and in the running session
    relinked = xes.item(average.uid)
    assert not relinked.stale and relinked.lost_inputs == {}
    assert [xes.item(uid).name for uid in relinked.inputs] == list(NAMES[:2])
    np.testing.assert_allclose(relinked.spectrum.intensity, expected_average(outcomes), rtol=1e-12)
