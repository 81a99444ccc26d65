"""Undo and redo over the Qt-free workspace: every undoable change, undone and redone, leaves the
workspace's state (``to_state``) equal to what it was before and after; the history survives a view
and channel switch. Real I20 files; no QApplication."""
from __future__ import annotations

import json

import numpy as np
import pytest

from xestools.workspace import Workspace, load_files
from xestools.workspace.history import History, Recorder

MAP, VTC_NXS, VTC_DAT, WIDE, TWO_CHANNEL = ("279517_1.nxs", "280772_1.nxs", "ZnO_standard_280772_1.dat",
                                            "280754_1.nxs", "279496_1.nxs")


@pytest.fixture(scope="module")
def outcomes(real_file):
    return load_files([str(real_file(name)) for name in (MAP, VTC_NXS, VTC_DAT, WIDE, TWO_CHANNEL)])


@pytest.fixture
def history(outcomes):
    workspace = Workspace()
    workspace.add_outcomes(outcomes)
    workspace.select(outcomes[0].path)          # the map is the current dataset
    return History(Recorder(workspace))


def state(workspace) -> str:
    """``to_state`` without the view and tool settings, which are no undo steps (a normalisation
    remembers its window in the tools as the last one used; an undo leaves that alone)."""
    saved = workspace.to_state()
    for key in ("normalise", "metrics", "average", "plot"):
        saved["xes_panel"].pop(key)
    return json.dumps(saved, sort_keys=True)


def uid_of(workspace, name: str) -> int:
    return next(item.uid for item in workspace.xes.all_items() if item.name == name)


def check_undo_redo(history, change) -> None:
    workspace = history.recorder.workspace
    before = state(workspace)
    change(workspace)
    after = state(workspace)
    assert after != before, "the change did not change the workspace"
    step = history.commit()
    assert step is not None and history.undo_text == step.label
    assert history.undo() and state(workspace) == before
    assert history.redo() and state(workspace) == after
    assert history.undo() and state(workspace) == before      # again: the snapshots were not edited in place
    assert history.redo() and state(workspace) == after


def test_cut_add_move_edit_remove_and_remove_all(history):
    maps = history.recorder.workspace.maps
    check_undo_redo(history, lambda ws: ws.maps.add_cut("CEE", 8638.9, 1.0))
    assert history.undo_text == "add CEE cut"
    ident = maps.current.cuts.entries()[0].ident

    def drag(ws):          # a drag is many position changes and one step
        for step in range(20):
            ws.maps.current.cuts.update(ident, position=8638.9 + 0.05 * step)
    check_undo_redo(history, drag)
    assert history.undo_text == "move CEE cut"
    history.undo()
    assert maps.current.cuts.get(ident).position == 8638.9    # one undo takes the whole drag back
    history.redo()
    check_undo_redo(history, lambda ws: ws.maps.current.cuts.update(ident, width=2.5, mean=True))
    check_undo_redo(history, lambda ws: ws.maps.add_cut("CIE", 9660.1, 0.6))
    check_undo_redo(history, lambda ws: ws.maps.current.cuts.remove(ident))
    check_undo_redo(history, lambda ws: ws.maps.remove_all_cuts())
    assert history.undo_text == "remove CIE cut"
    history.undo()
    assert [c.ident for c in maps.current.cuts.entries()][0] != ident   # the one left before "remove all"


def test_xes_average_normalise_background_remove_clear(history, real_file):
    workspace = history.recorder.workspace
    xes = workspace.xes
    a, b = uid_of(workspace, VTC_NXS), uid_of(workspace, VTC_DAT)
    check_undo_redo(history, lambda ws: ws.xes.average([a, b]))
    average = xes.all_items()[-1]
    np.testing.assert_allclose(average.spectrum.intensity,
                               (xes.item(a).spectrum.intensity + xes.item(b).spectrum.intensity) / 2, rtol=1e-12)
    check_undo_redo(history, lambda ws: ws.xes.normalise(average.uid, (9630.0, 9660.0)))
    assert history.undo_text.startswith("add normalised")

    from xestools.analysis.background import fit_background

    item = xes.item(a)
    fit = fit_background(item.spectrum, ["linear"], exclusions=[(9645.0, 9670.0)])
    check_undo_redo(history, lambda ws: ws.xes.add_background_fit(a, fit, wide_uid=None, settings={}))
    check_undo_redo(history, lambda ws: ws.xes.remove([average.uid]))
    history.undo()
    assert xes.item(average.uid) is not None and not xes.item(average.uid).stale
    check_undo_redo(history, lambda ws: ws.xes.items.move(b, -1))
    check_undo_redo(history, lambda ws: ws.xes.remove([i.uid for i in ws.xes.all_items()]))   # "Clear"
    assert not xes.all_items() and history.undo_text.startswith("remove")
    history.undo()
    assert len(xes.all_items()) == 8        # 4 scans, average, normalisation, background, residual


def test_close_dataset_is_undone_with_its_items_and_cuts(history):
    workspace = history.recorder.workspace
    workspace.maps.add_cut("CET", 1019.0, 0.9)
    history.commit()
    a, b = uid_of(workspace, VTC_NXS), uid_of(workspace, VTC_DAT)
    workspace.xes.average([a, b])
    history.commit()
    map_key = workspace.current_key
    check_undo_redo(history, lambda ws: ws.close(ws.current_key))
    assert history.undo_text == "close " + MAP
    check_undo_redo(history, lambda ws: ws.close(ws.dataset(str(real_path(ws, VTC_NXS))).key))
    history.undo()
    history.undo()
    assert workspace.current_key == map_key and workspace.maps.current.cuts.to_state()[0]["kind"] == "CET"
    assert not any(item.stale for item in workspace.xes.all_items())


def real_path(workspace, name):
    return next(d.path for d in workspace.datasets if d.path.endswith("/" + name))


def test_map_normalisation_and_channel_switch_of_an_xes_scan(history):
    workspace = history.recorder.workspace
    reference = next(s for s in workspace.dataset(real_path(workspace, WIDE)).spectra)
    check_undo_redo(history, lambda ws: ws.maps.normalise(reference, (9570.0, 9600.0)))
    assert history.undo_text == "normalise map"
    check_undo_redo(history, lambda ws: ws.maps.remove_normalisation())
    uid = uid_of(workspace, TWO_CHANNEL)
    check_undo_redo(history, lambda ws: ws.xes.set_channel(uid, "lower"))


def test_history_survives_view_and_channel_switch_which_are_not_steps(history):
    workspace = history.recorder.workspace
    workspace.maps.add_cut("CIE", 9660.1, 0.6)
    history.commit()
    cuts = workspace.maps.current.cuts.to_state()
    workspace.maps.set_view("transfer")
    workspace.maps.set_channel("upper")
    assert history.commit() is None            # a view or channel switch is no undo step
    assert history.undo() and workspace.maps.current.cuts.to_state() == []
    assert workspace.maps.style.view == "transfer"   # and an undo leaves the view alone
    assert history.redo() and workspace.maps.current.cuts.to_state() == cuts


def test_a_new_change_after_undo_drops_the_redo_side(history):
    workspace = history.recorder.workspace
    workspace.maps.add_cut("CIE", 9660.1, 0.6)
    history.commit()
    history.undo()
    workspace.maps.add_cut("CEE", 8638.9, 1.0)
    assert history.redo() is False and not history.can_redo
    assert [c["kind"] for c in workspace.maps.current.cuts.to_state()] == ["CEE"]
