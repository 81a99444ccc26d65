"""The Analysis menu's XES entries in the main window on the real files 280772 (VtC) and 280754 (Kβ1,3):
Fit lines, Repeats, Align to reference, Calibrate from a line and Save XES recipe do what they say,
through the workspace (one undo step each), and refuse with a message when they cannot apply."""
from __future__ import annotations

import numpy as np
import pytest

from xestools.analysis.alignment import calibration_from_line, find_shift
from xestools.gui.xes import analysis_commands
from xestools.model import evolve
from xestools.recipe import Recipe
from xestools.workspace.items import ItemKind

VTC, WIDE = "280772_1.nxs", "280754_1.nxs"


@pytest.fixture
def window(make_window, qtbot, real_file):
    window = make_window()
    window.open_paths([str(real_file(VTC)), str(real_file(WIDE))])
    qtbot.waitUntil(lambda: not window.is_loading, timeout=60000)
    return window


def item_named(window, name):
    return next(item for item in window.xes_panel.workspace.all_items() if item.name == name)


def test_the_entries_are_in_the_analysis_menu(window):
    analysis = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Analysis")
    texts = [action.text() for action in analysis.actions()]
    for text in ("&Fit lines…", "&Repeats…", "Ali&gn to reference…", "&Calibrate from a line…", "Save XES rec&ipe…"):
        assert text in texts
    assert all(action.isEnabled() for action in window.commands.analysis_actions)


def test_fit_tool_from_the_menu_then_the_recipe_of_the_fit(window, qtbot, tmp_path):
    window.xes_panel.select_uids([item_named(window, VTC).uid])
    window.commands.fit_action.trigger()
    dialog = next(iter(window._analysis_tools))
    assert dialog.uid == item_named(window, VTC).uid and dialog.isVisible()
    dialog.positions_edit.setText("9637, 9656")
    dialog.window_lo.setValue(9625.0)
    dialog.window_hi.setValue(9670.0)
    dialog.start_fit()
    qtbot.waitUntil(lambda: dialog.fit is not None, timeout=60000)
    fit_item = dialog.accept_fit()[0]
    window.undo.flush()
    assert window.commands.undo_action.isEnabled()
    dialog.close()
    path = tmp_path / "xes.json"
    window.xes_panel.select_uids([item_named(window, VTC).uid])
    assert analysis_commands.save_xes_recipe(window, str(path)) is None          # a scan is no fit
    assert "choose a fit item" in window.status_label.text()
    window.xes_panel.select_uids([fit_item.uid])
    recipe = analysis_commands.save_xes_recipe(window, str(path))
    assert Recipe.load(path).xes.fit_peaks == (9637.0, 9656.0) and recipe.channel == "lower"


def test_align_and_calibrate_forms(window, qtbot):
    xes = window.xes_panel.workspace
    vtc, wide = item_named(window, VTC), item_named(window, WIDE)
    moved = xes.add_spectra([evolve(vtc.spectrum, energy=vtc.spectrum.energy - 0.6, label="moved", source="")])[0]
    xes.set_visible(wide.uid, False)
    form = analysis_commands.align_form(window)
    form.reference.setCurrentIndex([item.uid for item in form.items].index(vtc.uid))
    form.lo.setValue(9625.0)
    form.hi.setValue(9670.0)
    added = analysis_commands.apply_align(window, form)
    expected = find_shift(moved.spectrum, vtc.spectrum, (9625.0, 9670.0))
    assert [item.params["shift_eV"] for item in added] == [expected.value]
    assert added[0].kind is ItemKind.ALIGNED and abs(expected.value - 0.6) < 0.05
    form.deleteLater()

    for item in xes.all_items():
        xes.set_visible(item.uid, item.uid == vtc.uid)
    window.xes_panel.select_uids([wide.uid])
    form = analysis_commands.calibrate_form(window)
    assert form.chosen().uid == wide.uid
    form.known.setValue(9572.0)
    form.lo.setValue(9565.0)
    form.hi.setValue(9580.0)
    added = analysis_commands.apply_calibration(window, form)
    calibration = calibration_from_line(wide.spectrum, 9572.0, (9565.0, 9580.0))
    np.testing.assert_array_equal(added[0].spectrum.energy, vtc.spectrum.energy + calibration.offset)
    assert added[0].inputs == [vtc.uid]


def test_repeats_from_the_menu_and_refusals(window, qtbot):
    xes = window.xes_panel.workspace
    vtc = item_named(window, VTC)
    for item in xes.all_items():
        xes.set_visible(item.uid, False)
    assert analysis_commands.align_form(window) is None
    assert "Tick the spectra to align" in window.status_label.text()
    rng = np.random.default_rng(5)
    copies = [evolve(vtc.spectrum, intensity=vtc.spectrum.intensity + rng.normal(size=len(vtc.spectrum))
                     * vtc.spectrum.uncertainty, label=f"copy {n}", source="") for n in range(3)]
    xes.add_spectra(copies)
    window.commands.repeats_action.trigger()
    dialog = next(iter(window._analysis_tools))
    assert dialog.table.rowCount() == 3 and dialog.isVisible()
    dialog.close()


def test_the_xes_tools_buttons_run_the_menu_commands(window):
    tools = window.xes_panel.tools
    assert tools.tabText(tools.count() - 1) == "Fit && repeats"
    window.xes_panel.select_uids([item_named(window, VTC).uid])
    tools.analysis_buttons["fit"].click()
    dialog = next(iter(window._analysis_tools))
    assert dialog.uid == item_named(window, VTC).uid
    dialog.close()
