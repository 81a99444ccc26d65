"""The Fit tool on the real VtC scan 280772: Kβ'' (≈ 9637 eV) and Kβ2,5 (≈ 9656 eV) fitted; the table shows
fit_lines' own numbers for the same inputs, the plot the residual in σ, Accept adds the items (one undo
step), the CSV is parameters_csv, a click adds a position, and the dialog fits a 1366×768 screen."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from PySide6.QtCore import QRect
from PySide6.QtGui import QScreen

from xestools.analysis.fitting import fit_lines, parameters_csv
from xestools.gui.xes.fit_tool import NUMBERS_ROLE, FitDialog
from xestools.workspace import Workspace, load_files
from xestools.workspace.history import History, Recorder
from xestools.workspace.items import ItemKind

WINDOW = (9625.0, 9670.0)


@pytest.fixture
def workspace(real_file):
    workspace = Workspace()
    workspace.add_outcomes(load_files([str(real_file("280772_1.nxs"))]))
    return workspace


@pytest.fixture
def dialog(workspace, qtbot, monkeypatch):
    monkeypatch.setattr(QScreen, "availableGeometry", lambda _screen: QRect(0, 0, 1366, 768))
    scan = workspace.xes.all_items()[0]
    dialog = FitDialog(workspace.xes, scan.uid)
    qtbot.addWidget(dialog)
    dialog.positions_edit.setText("9637, 9656")
    dialog.window_lo.setValue(WINDOW[0])
    dialog.window_hi.setValue(WINDOW[1])
    dialog.shape_combo.setCurrentText("voigt")
    dialog.background_combo.setCurrentText("linear")
    return dialog


def fitted(dialog, qtbot):
    assert dialog.start_fit()
    qtbot.waitUntil(lambda: dialog.fit is not None, timeout=60000)
    return dialog.fit


def test_the_table_shows_fit_lines_numbers_and_the_plot_the_residual(dialog, qtbot, workspace):
    assert fitted(dialog, qtbot) is not None
    expected = fit_lines(workspace.xes.all_items()[0].spectrum, [9637.0, 9656.0], shape="voigt",
                         background="linear", window=WINDOW)
    for row, component in enumerate(expected.components):
        assert dialog.table.item(row, 0).text() == component.name
        for column, key in enumerate(("center", "fwhm", "height", "area"), start=1):
            quantity = getattr(component, key)
            assert dialog.table.item(row, column).data(NUMBERS_ROLE) == (quantity.value, quantity.sigma)
    ratio_row = len(expected.components)
    assert dialog.table.item(ratio_row, 4).data(NUMBERS_ROLE) == (expected.ratios["p1/p2"].value,
                                                                   expected.ratios["p1/p2"].sigma)
    assert f"{expected.chi2_reduced:.4g}" in dialog.table.item(ratio_row + 1, 1).text()
    assert 9630 < expected.components[0].center.value < 9645 and 9650 < expected.components[1].center.value < 9662
    residual_axes = dialog.plot.figure.axes[1]
    residual = next(line for line in residual_axes.lines if len(line.get_xdata()) == expected.n_points)
    data, model, sigma = expected.data, expected.best_fit, expected.sigma
    np.testing.assert_allclose(residual.get_ydata(), (data - model) / sigma, rtol=1e-12)
    assert len(dialog.plot.figure.axes[0].lines) >= 5          # data, two components, background, sum


def test_accept_adds_the_fit_as_one_undo_step_and_the_table_exports(dialog, qtbot, workspace, tmp_path):
    history = History(Recorder(workspace))
    fit = fitted(dialog, qtbot)
    added = dialog.accept_fit()
    assert [item.kind for item in added] == [ItemKind.FIT] * 3 and added[0].name == "fit of 280772_1.nxs"
    np.testing.assert_array_equal(added[0].spectrum.intensity, fit.best_fit)
    assert history.commit() is not None and history.undo()
    assert [item.kind for item in workspace.xes.all_items()] == [ItemKind.SCAN]
    path = tmp_path / "fit.csv"
    dialog.export_table(str(path))
    assert path.read_text() == parameters_csv(fit)


def test_a_click_on_the_plot_adds_a_position_only_while_picking(dialog, qtbot):
    dialog.positions_edit.clear()
    dialog.show()
    qtbot.waitExposed(dialog)
    axes = dialog.plot.figure.axes[0]
    x, y = axes.transData.transform((9650.0, float(np.mean(axes.get_ylim()))))

    def click():
        event = MouseEvent("button_press_event", dialog.plot.canvas, x, y, button=1)
        dialog.plot.canvas.callbacks.process("button_press_event", event)
    click()
    assert dialog.positions() == []
    dialog.pick_box.setChecked(True)
    click()
    assert dialog.positions() == [pytest.approx(9650.0, abs=0.02)]


def test_bad_positions_are_named_and_the_dialog_fits_a_laptop_screen(dialog, qtbot):
    dialog.positions_edit.setText("9637, Kb")
    assert not dialog.start_fit() and "'Kb'" in dialog.status_label.text()
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.width() <= 1366 - 16 and dialog.height() <= 768 - 40
    assert dialog.minimumSizeHint().height() <= 768 - 40
    assert dialog.rect().contains(dialog.status_label.geometry())


def test_the_nexus_export_holds_the_fitted_sum_and_the_model(dialog, qtbot, tmp_path):
    import h5py

    from xestools.io import load

    fit = fitted(dialog, qtbot)
    path = tmp_path / "fit.nxs"
    dialog.export_table(str(path))
    spectrum = next(obj for obj in load(str(path)))
    np.testing.assert_array_equal(spectrum.intensity, fit.best_fit)
    with h5py.File(path, "r") as handle:
        parameters = handle["entry/process/parameters"]
        assert parameters["p2_center"][()] == fit.components[1].center.value
        assert parameters["p2_area_sigma"][()] == fit.components[1].area.sigma
        assert b"voigt" in bytes(parameters["shape"][()])
