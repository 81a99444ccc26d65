"""What a user sees (issue 13): profiles' share of the tab, one live readout, validated widths,
the cut colour in a selected row, contour labels, status messages, the dataset list, times,
metrics table, the mixed-units warning and the background dialog before a fit — on the real files."""
from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from PySide6.QtCore import Qt

from xestools.figures import MapStyle
from xestools.gui import main_window as main_window_module
from xestools.gui.rxes.cut_table import COL_COLOR, COL_WIDTH
from xestools.gui.dataset_panel import COL_FORMAT, COL_SCAN


@pytest.fixture
def window(make_window):
    return make_window(1366, 768)


def open_and_wait(window, qtbot, real_file, names) -> None:
    window.open_paths([str(real_file(name)) for name in names])
    qtbot.waitUntil(lambda: not window.is_loading, timeout=30000)
    qtbot.wait(50)
    assert window.last_errors == []


def mouse(canvas, name: str, x: float, y: float) -> None:
    """A matplotlib mouse event at data point (x, y) of the map axes, as the Qt canvas would send it."""
    ax = canvas.figure.axes[0]
    px, py = ax.transData.transform((x, y))
    MouseEvent(name, canvas, px, py, button=1)._process()


def test_profiles_get_a_real_share_and_legends_sit_outside_the_data(window, qtbot, real_file):
    open_and_wait(window, qtbot, real_file, ["279517_1.nxs"])
    panel = window.rxes_panel
    for kind in ("CIE", "CEE", "CET"):
        panel.add_cut(kind)
    qtbot.wait(100)
    panel.profile_canvas.canvas.draw()
    maps, profiles = panel.map_canvas.height(), panel.profile_canvas.height()
    # the map first (at least 300 px of figure on a laptop), the profiles a real share below it
    assert panel.map_canvas.canvas.height() >= 300 and profiles >= 0.35 * (maps + profiles)
    renderer = panel.profile_canvas.canvas.get_renderer()
    for key, ax in panel.profile_axes.items():
        assert ax.bbox.width >= 300 and ax.bbox.height >= 100, key
        legend = panel.profile_view.legends[key]
        box = legend.get_window_extent(renderer)
        assert box.y0 >= ax.bbox.y1 - 1, "the legend is above the data, not over it"
    # ±σ bands are drawn: each profile's band covers its line
    for entry, result in panel.cut_results():
        profile = panel.profile_view.profile(entry.ident)
        assert len(profile.band.get_path().vertices) >= 4


def test_one_cursor_readout_follows_a_drag_and_clears_on_a_view_switch(window, qtbot, real_file):
    open_and_wait(window, qtbot, real_file, ["279517_1.nxs"])
    panel = window.rxes_panel
    ident = panel.add_cut("CIE", 9660.4, 0.3)
    qtbot.wait(50)
    panel.map_canvas.canvas.draw()
    assert panel.map_canvas.toolbar.coordinates is False, "no second, unlabelled (x, y) readout"
    canvas = panel.map_canvas.canvas
    mouse(canvas, "button_press_event", 9660.4, 8640.0)
    assert panel.map_view.dragging == ident
    for omega in (9660.8, 9661.5):
        mouse(canvas, "motion_notify_event", omega, 8640.0)
        qtbot.wait(20)
        assert f"Ω = {omega:.2f} eV" in panel.readout.text(), "the readout is where the pointer is"
    mouse(canvas, "button_release_event", 9661.5, 8640.0)
    qtbot.wait(20)
    assert panel.document.cuts.get(ident).position == pytest.approx(9661.5, abs=0.011)
    panel.set_view("transfer")
    qtbot.wait(20)
    assert panel.readout.text().strip() == ""


def test_width_box_refuses_zero_and_wider_than_the_map(window, qtbot, real_file):
    open_and_wait(window, qtbot, real_file, ["279517_1.nxs"])
    panel = window.rxes_panel
    ident = panel.add_cut("CIE", 9660.4, 0.6)
    messages = []
    panel.status_message.connect(messages.append)
    spin = panel.cut_table.cellWidget(0, COL_WIDTH)
    spin.setValue(0.0)
    assert panel.document.cuts.get(ident).width == pytest.approx(0.6)
    assert spin.value() == pytest.approx(0.6) and "more than 0 eV" in messages[-1]
    # the Ω range of this map: 9658.0 … 9662.8 in 17 steps of 0.3, pixel edges included
    span = (9662.8 - 9658.0) + 0.3
    spin.setValue(50.0)
    assert panel.document.cuts.get(ident).width == pytest.approx(0.6)
    assert f"{span:.2f} eV" in messages[-1] and "50" in messages[-1]
    spin.setValue(1.2)
    assert panel.document.cuts.get(ident).width == pytest.approx(1.2)


def test_selected_cut_row_keeps_its_colour(window, qtbot, real_file):
    open_and_wait(window, qtbot, real_file, ["279517_1.nxs"])
    panel = window.rxes_panel
    ident = panel.add_cut("CEE")
    panel.select_cut(ident)
    qtbot.wait(20)
    table = panel.cut_table
    assert table.selected_cut() == ident
    rect = table.visualItemRect(table.item(0, COL_COLOR))
    image = table.viewport().grab().toImage()
    shown = image.pixelColor(rect.center()).name()
    assert shown == panel.document.cuts.get(ident).color.lower() == table.swatch_color(ident)


def test_contour_labels_share_the_colour_bar_format_and_avoid_cuts(window, qtbot, real_file):
    open_and_wait(window, qtbot, real_file, ["279517_1.nxs"])
    panel = window.rxes_panel
    panel.add_cut("CIE", 9660.4, 0.9)
    panel.add_cut("CEE", 8638.9, 0.9)
    panel.set_style(MapStyle(contour_levels=5, contour_labels=True))
    qtbot.wait(50)
    panel.map_canvas.canvas.draw()
    plot = panel.map_plot
    texts = [t for t in plot.contour_texts if t.get_visible()]
    assert texts, "some contour labels are placed"
    lo, hi = plot.colour_range
    levels = np.linspace(lo, hi, 7)[1:-1]          # independent: the levels the style asks for
    bar_labels = [t.get_text() for t in panel.map_view.colorbar_ax.get_yticklabels() if t.get_text()]
    decimals = {len(text.split(".")[1]) if "." in text else 0 for text in bar_labels + [t.get_text() for t in texts]}
    assert len(decimals) == 1, "one number format for the colour bar and the contour labels"
    exponent, (places,) = plot.formatter.exponent, decimals
    for text in texts:
        value = float(text.get_text()) * 10.0 ** exponent
        assert np.min(np.abs(levels - value)) <= 0.5 * 10.0 ** (exponent - places) + 1e-12
    renderer = panel.map_canvas.canvas.get_renderer()
    for overlay in (panel.map_view.overlay(entry.ident) for entry in panel.document.cuts.entries()):
        band = overlay.band.get_path().transformed(overlay.band.get_transform())
        for text in texts:
            assert not band.intersects_bbox(text.get_window_extent(renderer), filled=True), text.get_text()


def test_status_messages_time_out(window, qtbot, monkeypatch):
    window._status_timer.setInterval(100)
    window.select_dataset("nothing")     # no-op
    window.rxes_panel.status_message.emit("Select the items to normalise.")
    assert window.status_label.text() == "Select the items to normalise."
    qtbot.waitUntil(lambda: window.status_label.text() == "", timeout=3000)
    assert main_window_module.STATUS_TIMEOUT_MS >= 5000, "long enough to read"


def test_dataset_list_tells_files_apart_and_times_read_alike(window, qtbot, real_file):
    names = ["280772_1.nxs", "ZnO_standard_280772_1.dat", "280754_1.nxs"]
    open_and_wait(window, qtbot, real_file, names)
    tree = window.dataset_panel
    items = dataset_rows(tree)       # the two formats of 280772 are listed under their series
    rows = [(item.text(COL_SCAN), item.text(COL_FORMAT)) for item in items]
    assert sorted(rows) == [("280754", "NeXus"), ("280772", "ASCII"), ("280772", "NeXus")]
    header = tree.header()
    for column in (COL_SCAN, COL_FORMAT):
        assert header.sectionViewportPosition(column) + header.sectionSize(column) <= tree.viewport().width()
    keys = [item.data(0, Qt.ItemDataRole.UserRole) for item in items]
    starts = []
    for key in keys:                 # selecting rebuilds the list: its items are not kept
        window.select_dataset(key)
        qtbot.wait(10)
        starts.append(window.metadata_panel.as_dict()["Start"])
    assert len(starts) == 3
    assert all(re.fullmatch(r"2025-10-1\d \d\d:\d\d:\d\d \+01:00", start) for start in starts), starts


def dataset_rows(tree) -> list:
    """Every row of the dataset list that is a dataset (not a series heading), at any depth."""
    from PySide6.QtWidgets import QTreeWidgetItemIterator

    found, iterator = [], QTreeWidgetItemIterator(tree)
    while iterator.value() is not None:
        if iterator.value().data(0, Qt.ItemDataRole.UserRole):
            found.append(iterator.value())
        iterator += 1
    return found


def test_metrics_table_shows_rows_and_columns_and_mixed_units_warn(window, qtbot, real_file):
    names = ["280772_1.nxs", "ZnO_standard_280772_1.dat", "280754_1.nxs", "279496_1.nxs"]
    open_and_wait(window, qtbot, real_file, names)
    panel = window.xes_panel
    window.tabs.setCurrentWidget(panel)
    overlay = panel.view.overlay
    assert not overlay.mixed_warning.get_visible()
    first = panel.workspace.all_items()[0]
    normalised = panel.normalise(first.uid)
    qtbot.wait(20)
    assert overlay.mixed_warning.get_visible(), "raw and area-normalised on one axis are flagged"
    for item in panel.workspace.all_items():
        panel.workspace.set_visible(item.uid, item.uid == normalised.uid)
    qtbot.wait(20)
    assert not overlay.mixed_warning.get_visible()
    for item in panel.workspace.all_items():
        panel.workspace.set_visible(item.uid, True)
    panel.compute_metrics([item.uid for item in panel.workspace.all_items()])
    panel.tools.setCurrentIndex(3)
    qtbot.wait(50)
    table = panel.tools.metrics_table
    assert table.rowCount() == 5
    header = table.horizontalHeader()
    last = table.columnCount() - 1
    assert table.rowViewportPosition(4) + table.rowHeight(4) <= table.viewport().height()
    # in the side panel the columns scroll sideways; the panel undocked and widened shows them all
    tools_dock = window.panels.docks["xes_tools_dock"]
    tools_dock.setFloating(True)
    tools_dock.resize(1100, 500)
    qtbot.wait(50)
    assert header.sectionViewportPosition(last) + header.sectionSize(last) <= table.viewport().width()
    area_column = [header.model().headerData(c, header.orientation()) for c in range(table.columnCount())].index("Area")
    assert float(table.item(2, area_column).text()) > 0


def test_background_dialog_shows_no_residual_axis_before_a_fit(window, qtbot, real_file):
    open_and_wait(window, qtbot, real_file, ["280772_1.nxs"])
    panel = window.xes_panel
    dialog = panel.open_background_dialog(panel.workspace.all_items()[0].uid)
    try:
        assert not dialog.residual_axes.yaxis.get_visible() and dialog.residual_note.get_visible()
        assert dialog.run_fit() is not None
        assert dialog.residual_axes.yaxis.get_visible() and not dialog.residual_note.get_visible()
    finally:
        dialog.reject()
