"""The window on a beamline laptop (1366×768) and on half of one (700×500), on the real I20 files:
the plot gets most of the window, lists show 8 rows, nothing overlaps, every dialog fits the screen."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QScreen
from PySide6.QtWidgets import (QAbstractScrollArea, QDialog, QDockWidget, QMainWindow, QScrollBar, QSplitterHandle,
                               QStackedWidget, QTabBar, QTabWidget, QToolBar, QWidget)

from xestools.gui.common.geometry import FRAME_MARGIN, MINIMUM_SIZE, dialog_size

LAPTOP = (1366, 768)
MAP = "279517_1.nxs"
SPECTRA = ["280772_1.nxs", "280754_1.nxs", "279496_1.nxs", "ZnO_standard_280772_1.dat"]


def settle(qapp, rounds: int = 30) -> None:
    for _ in range(rounds):
        qapp.processEvents()


@pytest.fixture
def loaded(make_window, qtbot, qapp, real_file):
    """``loaded(width, height)`` -> a window of that size with the real map (two cuts) and spectra open."""
    def make(width: int, height: int):
        window = make_window(width, height)
        window.open_paths([str(real_file(name)) for name in [MAP] + SPECTRA])
        qtbot.waitUntil(lambda: not window.is_loading, timeout=60000)
        assert window.last_errors == []
        window.select_dataset(str(real_file(MAP)))
        window.rxes_panel.add_cut("CIE")
        window.rxes_panel.add_cut("CEE")
        settle(qapp)
        return window
    return make


def rows_visible(view) -> float:
    """How many rows of ``view`` its viewport shows (its row height from the view itself)."""
    row = view.sizeHintForRow(0) if view.model().rowCount() else view.fontMetrics().height() + 6
    return view.viewport().height() / max(row, 1)


def test_plot_gets_the_window_at_1366x768(loaded, qapp):
    window = loaded(*LAPTOP)
    assert window.size().toTuple() == LAPTOP
    panel = window.rxes_panel
    window.tabs.setCurrentWidget(panel)
    settle(qapp)
    map_figure, profile_figure = panel.map_canvas.canvas, panel.profile_canvas.canvas
    assert map_figure.height() >= 300, map_figure.size()
    assert profile_figure.isVisible() and profile_figure.height() >= 150 and profile_figure.width() >= 600
    assert rows_visible(window.dataset_panel) >= 8
    assert rows_visible(panel.cut_table) >= 8
    window.tabs.setCurrentWidget(window.xes_panel)
    window.xes_panel.tools.setCurrentIndex(3)
    settle(qapp)
    figure = window.xes_panel.view.canvas.canvas
    assert figure.width() * figure.height() >= 0.5 * LAPTOP[0] * LAPTOP[1], figure.size()
    assert rows_visible(window.xes_panel.tools.metrics_table) >= 8
    assert rows_visible(window.xes_panel.list_pane.list_view) >= 8


def overlaps_and_cuts(widget: QWidget) -> list[str]:
    """Visible children that overlap a visible sibling or stick out of their parent, below ``widget``.

    Scroll areas' contents (meant to be larger than their viewport), stacked pages and the main
    window's dock separators are not compared.
    """
    found = []
    children = [c for c in widget.children() if isinstance(c, QWidget) and c.isVisible() and not c.isWindow()
                and not isinstance(c, (QSplitterHandle, QScrollBar))]
    inside = QRect(0, 0, widget.width(), widget.height())
    scrolled = isinstance(widget.parent(), QAbstractScrollArea) or isinstance(widget, QAbstractScrollArea)
    for index, child in enumerate(children):
        name = f"{type(child).__name__} {child.objectName() or ''} in {type(widget).__name__}"
        if not scrolled and not inside.contains(child.geometry()) and child.width() > 1 and child.height() > 1:
            found.append(f"{name} {child.geometry().getRect()} leaves {inside.getRect()}")
        if not isinstance(widget, (QStackedWidget, QMainWindow)) and not scrolled:
            for other in children[index + 1:]:
                shared = child.geometry().intersected(other.geometry())
                if shared.width() > 1 and shared.height() > 1:
                    found.append(f"{name} {child.geometry().getRect()} overlaps {type(other).__name__} "
                                 f"{other.geometry().getRect()}")
        found += overlaps_and_cuts(child)
    return found


def _name(widget) -> str:
    if isinstance(widget, QTabBar):
        return "tab bar " + "|".join(widget.tabText(i) for i in range(widget.count()))
    return widget.objectName() or type(widget).__name__


def main_window_parts_overlap(window) -> list[str]:
    parts = [w for w in window.findChildren(QWidget) if w.parent() is window and w.isVisible()
             and isinstance(w, (QDockWidget, QToolBar, QTabWidget, QTabBar))
             and not (isinstance(w, QDockWidget) and w.isFloating())]
    found = []
    for index, part in enumerate(parts):
        for other in parts[index + 1:]:
            if isinstance(part, QDockWidget) and other in window.tabifiedDockWidgets(part):
                continue   # docks sharing a place as tabs
            shared = part.geometry().intersected(other.geometry())
            if shared.width() > 1 and shared.height() > 1:   # e.g. a stale tab bar over a panel
                found.append(f"{_name(part)} overlaps {_name(other)}")
    return found


@pytest.mark.parametrize("size", [MINIMUM_SIZE, LAPTOP], ids=lambda s: f"{s[0]}x{s[1]}")
def test_nothing_overlaps_or_is_cut_off(loaded, qapp, size):
    assert MINIMUM_SIZE == (700, 500)
    window = loaded(*size)
    assert window.size().toTuple() == size, "the window can be made this small"
    for tab in (window.rxes_panel, window.xes_panel):
        window.tabs.setCurrentWidget(tab)
        for view in ("incident", "transfer"):
            window.set_view(view)
            settle(qapp)
            assert main_window_parts_overlap(window) == []
            assert overlaps_and_cuts(window.centralWidget()) == [], (tab, view)
            for dock in window.panels.docks.values():
                if dock.isVisible():
                    assert overlaps_and_cuts(dock) == [], dock.objectName()


def test_the_panel_column_narrows_with_the_window(loaded, qapp):
    window = loaded(*LAPTOP)
    window.resize(*MINIMUM_SIZE)
    settle(qapp)
    assert window.panels.docks["datasets_dock"].width() <= 0.4 * MINIMUM_SIZE[0]
    assert window.rxes_panel.profile_canvas.isVisible()


# ---------------------------------------------------------------------- dialogs
def inside_laptop_screen(widget) -> bool:
    width, height = dialog_size((10 ** 5, 10 ** 5), *LAPTOP)
    return (widget.width() <= width and widget.height() <= height
            and widget.minimumSizeHint().width() <= width and widget.minimumSizeHint().height() <= height)


def on_the_window_screen(dialog, window) -> bool:
    area = window.screen().availableGeometry()
    return area.contains(dialog.geometry())


def test_dialog_size_shrinks_to_the_screen():
    assert dialog_size((1180, 860), *LAPTOP) == (1180, LAPTOP[1] - FRAME_MARGIN[1])
    assert dialog_size((400, 300), *LAPTOP) == (400, 300)
    assert dialog_size((1600, 1000), 1920, 1080) == (1600, 1000)


def test_every_dialog_fits_a_laptop_screen(loaded, qapp, qtbot, real_file, monkeypatch):
    from xestools.gui import series_commands
    from xestools.gui.messages import help_dialog, warning_box
    from xestools.gui.actions import HELP_TEXT

    # the screen is a laptop's, whatever the test machine's (the code asks it through Python)
    monkeypatch.setattr(QScreen, "availableGeometry", lambda _screen: QRect(0, 0, *LAPTOP))
    window = loaded(*LAPTOP)
    window.open_paths([str(real_file("XES_ZnZSM5_air500_279192_1.dat"))])   # a second map for A − B
    qtbot.waitUntil(lambda: not window.is_loading, timeout=60000)
    shown = []
    xes = window.xes_panel
    items = {item.name: item for item in xes.workspace.all_items()}
    background = xes.open_background_dialog(items["280772_1.nxs"].uid)
    background.set_wide(items["280754_1.nxs"].uid)
    background.run_fit()
    shown.append(background)
    monkeypatch.setattr(QDialog, "exec", lambda self: shown.append(self) or 0)
    window.rxes_panel.open_normalise_dialog()
    series_commands.map_difference_dialog(window)
    shown.append(help_dialog(window, HELP_TEXT))
    shown.append(warning_box(window, "Could not open files",
                             "\n".join(f"/dls/i20/data/2025/sp41335-1/{n}_1.nxs: not an HDF5 file" for n in range(60))))
    assert len(shown) == 5, [type(d).__name__ for d in shown]
    for dialog in shown:
        dialog.show()
        settle(qapp, 10)
        assert inside_laptop_screen(dialog), (type(dialog).__name__, dialog.size(), dialog.minimumSizeHint())
        assert on_the_window_screen(dialog, window), (type(dialog).__name__, dialog.geometry())
        if dialog is background:   # the fit with its residual below the spectrum, R² and the buttons on screen
            assert background.residual_axes.get_visible() and background.residual_line.get_xdata().size > 0
            assert background.plot.canvas.height() >= 400
            for part in (background.status_label, background.buttons):
                assert part.isVisible() and background.rect().contains(part.geometry())
            assert "R²" in background.status_label.text()
        dialog.close()


# ---------------------------------------------------------------------- panels
def test_hidden_panels_and_the_dock_layout_are_remembered(make_window, qapp):
    window = make_window(*LAPTOP)
    window.panels.actions["cuts_dock"].setChecked(False)
    window.panels.actions["metadata_dock"].setChecked(False)
    assert window.panels.docks["cuts_dock"].isHidden()
    window.shutdown()
    again = make_window(*LAPTOP)
    settle(qapp)
    assert not again.panels.actions["cuts_dock"].isChecked()
    assert again.panels.docks["cuts_dock"].isHidden() and again.panels.docks["metadata_dock"].isHidden()
    assert not again.panels.docks["datasets_dock"].isHidden()


def test_tab_panels_follow_the_tab_and_maximise_hides_all(make_window, qapp):
    window = make_window(*LAPTOP)
    docks = window.panels.docks
    window.tabs.setCurrentWidget(window.xes_panel)
    settle(qapp)
    assert docks["cuts_dock"].isHidden() and not docks["xes_tools_dock"].isHidden()
    window.tabs.setCurrentWidget(window.rxes_panel)
    settle(qapp)
    assert not docks["cuts_dock"].isHidden() and docks["xes_tools_dock"].isHidden()
    window.commands.maximise_action.trigger()
    settle(qapp)
    assert all(dock.isHidden() for dock in docks.values())
    assert window.rxes_panel.width() >= LAPTOP[0] - 20
    window.tabs.tabBarDoubleClicked.emit(0)   # double-clicking the tab title brings the panels back
    settle(qapp)
    assert not docks["datasets_dock"].isHidden() and not docks["cuts_dock"].isHidden()


def test_double_click_on_a_plot_title_area_maximises_it(make_window, qapp):
    from matplotlib.backend_bases import MouseEvent

    window = make_window(*LAPTOP)
    plot = window.xes_panel.view.canvas
    window.tabs.setCurrentWidget(window.xes_panel)
    settle(qapp)
    plot.canvas.draw()
    top = max(ax.bbox.y1 for ax in plot.figure.axes if ax.get_visible())
    inside = MouseEvent("button_press_event", plot.canvas, plot.canvas.width() / 2, top - 20, button=1, dblclick=True)
    assert inside.inaxes is not None and not window.panels.is_maximised
    plot.canvas.callbacks.process("button_press_event", inside)
    assert not window.panels.is_maximised, "a double-click on the data is the plot's own"
    above = MouseEvent("button_press_event", plot.canvas, plot.canvas.width() / 2, (top + plot.figure.bbox.y1) / 2,
                       button=1, dblclick=True)
    plot.canvas.callbacks.process("button_press_event", above)
    settle(qapp)
    assert window.panels.is_maximised and window.panels.docks["xes_tools_dock"].isHidden()
    plot.canvas.draw()    # the plot grew: its title area is elsewhere now
    top = max(ax.bbox.y1 for ax in plot.figure.axes if ax.get_visible())
    above = MouseEvent("button_press_event", plot.canvas, plot.canvas.width() / 2, (top + plot.figure.bbox.y1) / 2,
                       button=1, dblclick=True)
    plot.canvas.callbacks.process("button_press_event", above)
    settle(qapp)
    assert not window.panels.is_maximised and not window.panels.docks["xes_tools_dock"].isHidden()

