"""The XES tab: overlay, average, normalise, subtract a background, compare 1D spectra.

The state is the Qt-free :class:`~xestools.workspace.xes.XesWorkspace`; this panel assembles its
views — the item list (:mod:`xes_list`), the plot (:mod:`xes_plot_view`) with its controls
(:mod:`xes_controls`) and the tools (:mod:`xes_tools`) — follows the workspace's callbacks and
turns button presses into workspace commands. Every number comes from ``xestools.analysis``.
"""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QSplitter, QVBoxLayout, QWidget

from xestools.drawing import OverlayEntry, magnitude_ratio
from xestools.gui.xes import xes_export
from xestools.gui.xes.xes_controls import XesPlotControls
from xestools.gui.xes.xes_list import XesListPane
from xestools.gui.xes.xes_model import ItemRole, XesListModel
from xestools.gui.xes.xes_plot_view import XesPlotView
from xestools.gui.xes.xes_tools import NORMALISE_TAB, XesToolTabs
from xestools.model import Channel, RXESMap, Spectrum
from xestools.runtime.safe import safe_slot
from xestools.workspace.items import XesItem
from xestools.workspace.xes import XesWorkspace

log = logging.getLogger("xestools.gui.xes.xes_panel")

#: ticked items whose maxima differ by more than this get a hint to scale each to its maximum
MAGNITUDE_HINT_RATIO = 20.0


class XesPanel(QWidget):
    """The XES tab of the main window: views over an :class:`XesWorkspace` (module docstring)."""

    status_message = Signal(str)
    user_action = Signal(str)
    #: the Open… button: the main window opens files (one loader, one progress bar)
    open_requested = Signal()

    def __init__(self, workspace: XesWorkspace | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace if workspace is not None else XesWorkspace()
        self.model = XesListModel(self.workspace.items, self)
        self._closed = False
        self._batch_depth = 0
        self._refresh_pending = False
        self._plot_pending = False
        self._magnitude_hint_key: tuple | None = None
        self.list_pane = XesListPane(self.model)
        self.view = XesPlotView()
        self.controls = XesPlotControls()
        self.tools = XesToolTabs()
        self._layout()
        self._connect()
        self._follow_workspace()
        self._on_settings_changed()
        self._refresh_all()

    def _layout(self) -> None:
        plot_area = QWidget()
        plot_layout = QVBoxLayout(plot_area)
        plot_layout.setContentsMargins(0, 0, 0, 0)
        plot_layout.addWidget(self.view, 1)
        plot_layout.addWidget(self.controls)
        right = QSplitter(Qt.Orientation.Vertical)  # the user sizes plot against the tools
        right.addWidget(plot_area)
        right.addWidget(self.tools)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setSizes([540, 340])     # the tools (the metrics table) keep several rows on a laptop
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.list_pane)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)  # the list keeps room for names on a small screen
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([600, 800])
        QVBoxLayout(self).addWidget(splitter)

    def side_panels(self) -> list[tuple[str, str, QWidget]]:
        """(title, name, widget) of the item list and the tools, for the main window's docks beside
        the plot; on their own (tests, embedding) they stay beside the plot in this tab."""
        return [("XES items", "xes_items_dock", self.list_pane), ("XES tools", "xes_tools_dock", self.tools)]

    def _connect(self) -> None:
        """Bound slots only (no closures over the panel): a closed panel is freed like any object."""
        pane, tools, controls, view = self.list_pane, self.tools, self.controls, self.view
        pane.open_clicked.connect(self.open_requested)
        view.cursor_text.connect(controls.cursor_label.setText)
        for signal, slot in (
                (pane.remove_clicked, self._on_remove_clicked), (pane.clear_clicked, self._on_clear_clicked),
                (pane.move_clicked, self._move_selected), (pane.colour_clicked, self._on_colour_clicked),
                (pane.recompute_clicked, self._on_recompute_clicked), (pane.channel_chosen, self._on_channel_chosen),
                (pane.map_chosen, self._on_map_chosen), (pane.map_slice_clicked, self._on_map_slice_clicked),
                (pane.selection_changed, self._on_selection_changed), (view.window_dragged, self._on_window_dragged),
                (controls.settings_edited, self._on_plot_settings_edited),
                (controls.fit_y_clicked, self._on_rescale_y_clicked), (controls.export_clicked, self._on_export_plot_clicked),
                (tools.settings_edited, self._on_tool_settings_edited), (tools.currentChanged, self._update_window),
                (tools.drag_window_toggled, self._on_drag_window_toggled), (tools.average_requested, self._on_average_clicked),
                (tools.normalise_requested, self._on_normalise_clicked),
                (tools.background_requested, self._on_background_requested),
                (tools.metrics_requested, self._on_metrics_clicked),
                (tools.metrics_export_requested, self._on_metrics_export_clicked),
                (tools.difference_requested, self._on_difference_clicked), (tools.export_csv_requested, self._on_export_csv),
                (tools.export_nexus_requested, self._on_export_nexus),
                (tools.export_report_requested, self._on_export_report_clicked),
                (self.model.items_reset, self._on_items_reset), (self.model.item_changed, self._on_item_changed)):
            signal.connect(slot)

    def _follow_workspace(self) -> None:
        workspace = self.workspace
        self._hooks = [(workspace.settings_changed, self._on_settings_changed),
                       (workspace.maps_changed, self._on_maps_changed),
                       (workspace.failures_changed, self._on_failures_changed),
                       (workspace.metrics_changed, self._on_metrics_changed),
                       (workspace.status, self._status), (workspace.action, self._action),
                       (workspace.batch, self._on_batch)]
        for event, callback in self._hooks:
            event.connect(callback)

    # ------------------------------------------------------------------ convenience
    def selected_uids(self) -> list[int]:
        return self.list_pane.selected_uids()

    def select_uids(self, uids: Iterable[int]) -> None:
        self.list_pane.select_uids(uids)

    def current_item(self) -> XesItem | None:
        uids = self.selected_uids()
        return self.workspace.item(uids[0]) if uids else None

    def require_selected(self) -> XesItem | None:
        """The selected item, or None with a hint in the status bar."""
        item = self.current_item()
        if item is None:
            self._status("Select an item in the list first.")
        return item

    def _status(self, text: str) -> None:
        log.info(text)
        self.status_message.emit(text)

    def _action(self, text: str) -> None:
        self.user_action.emit(f"XES: {text}")

    @contextlib.contextmanager
    def batched(self):
        """Refresh the choosers and the plot once at the end of many list changes, not per change."""
        self._on_batch(True)
        try:
            yield
        finally:
            self._on_batch(False)

    # ------------------------------------------------------------------ commands (workspace calls)
    def add_spectra(self, spectra: Sequence[Spectrum]) -> list[XesItem]:
        with self.batched():
            return self.workspace.add_spectra(spectra)

    def add_map(self, rxes_map: RXESMap, *, path: str = "") -> None:
        self.workspace.add_map(rxes_map, path=path)

    def add_map_slice(self, map_index: int, omega: float, width: float | None = None) -> XesItem:
        return self.workspace.add_map_slice(map_index, omega, width)

    def average(self, uids: Sequence[int] | None = None, **options) -> XesItem:
        return self.workspace.average(uids, **options)

    def normalise(self, uid: int, window: tuple[float, float] | None = None, *,
                  reference_uid: int | None = None) -> XesItem:
        item = self.workspace.normalise(uid, window, reference_uid=reference_uid)
        self.tools.show_factor(item.spectrum.metadata.get("normalisation", {}) or {})
        return item

    def add_difference(self, a_uid: int, b_uid: int) -> XesItem:
        return self.workspace.add_difference(a_uid, b_uid)

    def add_background_fit(self, uid: int, fit, *, wide_uid: int | None, settings: dict) -> tuple[XesItem, XesItem]:
        with self.batched():  # two new items, one redraw
            return self.workspace.add_background_fit(uid, fit, wide_uid=wide_uid, settings=settings)

    def set_channel(self, uid: int, channel: Channel | str) -> list[XesItem]:
        with self.batched():
            return self.workspace.set_channel(uid, channel)

    def recompute(self, uids: Sequence[int]) -> int:
        with self.batched():
            return self.workspace.recompute(uids)

    def remove(self, uids: Sequence[int]) -> None:
        with self.batched():
            self.workspace.remove(uids)

    def remove_source(self, path: str) -> None:
        with self.batched():
            self.workspace.remove_source(path)

    def compute_metrics(self, uids: Sequence[int] | None = None, **options) -> list:
        return self.workspace.compute_metrics(uids, **options)

    def export_metrics(self, path: str | os.PathLike) -> None:
        self.workspace.export_metrics(path)

    def export_item(self, uid: int, path: str | os.PathLike) -> None:
        self.workspace.export_item(uid, path)

    def save_fit_report(self, uid: int, path: str | os.PathLike) -> None:
        self.workspace.save_fit_report(uid, path)

    def export_plot(self, path: str | os.PathLike) -> None:
        """PNG, SVG or PDF by extension: the figure as shown."""
        self.view.save(path)
        self._status(f"Plot written to {path}")

    def rescale_y(self) -> tuple[float, float] | None:
        return self.view.rescale_y()

    def describe_item(self, uid: int) -> str:
        return self.workspace.describe_item(uid)

    # ------------------------------------------------------------------ background dialog
    def open_background_dialog(self, uid: int | None = None):
        """Open the (window-modal) background dialog for an item; returns the dialog."""
        from xestools.gui.xes.background_dialog import BackgroundDialog

        item = self.workspace.item(uid) if uid is not None else self.require_selected()
        if item is None:
            return None
        dialog = BackgroundDialog(item.spectrum, wide_candidates=self.workspace.background_candidates(item.uid),
                                  settings=self.workspace.background_dialog_settings(item.uid), parent=self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        target = item.uid
        dialog.finished.connect(lambda result, d=dialog: self._on_background_finished(d, target, result))
        self._action(f"background dialog for {item.name}")
        dialog.open()
        return dialog

    @safe_slot
    def _on_background_finished(self, dialog, uid: int, result: int) -> None:
        settings = dialog.settings()
        self.workspace.remember_background_settings(settings, dialog.wide_uid)
        if result == 1 and dialog.fit is not None and not self._closed and self.workspace.item(uid) is not None:
            self.add_background_fit(uid, dialog.fit, wide_uid=dialog.wide_uid, settings=settings)

    # ------------------------------------------------------------------ following the workspace
    def _refresh_plot(self) -> None:
        if self._closed:
            return
        if self._hidden_tab():
            self._plot_pending = True
            return
        self._plot_pending = False
        visible = self.workspace.items.visible_items()
        entries = [OverlayEntry(item.uid, item.spectrum, item.colour, item.name, item.stale) for item in visible]
        settings = self.workspace.settings.plot
        shown = self.view.show_entries(entries, settings)
        self._hint_magnitudes(visible, shown, settings.y_scale)

    def _hint_magnitudes(self, visible: Sequence[XesItem], shown, scale: str) -> None:
        """Tell the user once per set of ticked items when their sizes differ so much (> 20×) that
        the small ones are flat lines, and how to compare their shapes."""
        ratio = magnitude_ratio(shown)
        key = tuple(item.uid for item in visible)
        if scale != "data" or len(visible) < 2 or key == self._magnitude_hint_key or ratio == 1.0:
            return
        self._magnitude_hint_key = key
        if ratio > MAGNITUDE_HINT_RATIO:
            self._status(f"The ticked items differ in size by {ratio:.0f}×: choose Y \"each ÷ its maximum\" "
                         "to compare their shapes, or untick the large ones")

    def _hidden_tab(self) -> bool:
        """A hidden tab of a shown window: its plot is brought up to date (and drawn) when it is shown."""
        return not self.isVisible() and self.window() is not self and self.window().isVisible()

    @safe_slot
    def _update_window(self, *_args) -> None:
        if self._hidden_tab():
            self._plot_pending = True
            return
        lo, hi = self.workspace.settings.tools.normalise_window
        self.view.show_window(lo, hi, self.tools.currentIndex() == NORMALISE_TAB and self.model.rowCount() > 0)

    def _refresh_all(self) -> None:
        self.tools.set_items(self.workspace.all_items())
        self.list_pane.show_channels(self.current_item())
        self._refresh_plot()

    def _on_batch(self, active: bool) -> None:
        """Many changes at once (a restore): choosers and plot are refreshed once, at the end."""
        if active:
            self._batch_depth += 1
            return
        self._batch_depth -= 1
        if self._batch_depth == 0 and self._refresh_pending and not self._closed:
            self._refresh_pending = False
            self._refresh_all()

    def _on_settings_changed(self) -> None:
        if self._closed:
            return
        settings = self.workspace.settings
        self.controls.set_settings(settings.plot)
        self.tools.set_settings(settings.tools)
        self._update_window()
        if self._batch_depth:
            self._refresh_pending = True
        else:
            self._refresh_plot()

    def _on_failures_changed(self) -> None:
        if not self._closed:
            self.list_pane.show_failures(self.workspace.failures)

    def _on_metrics_changed(self) -> None:
        if not self._closed:
            self.tools.show_metrics(self.workspace.metrics_rows)

    def _on_maps_changed(self) -> None:
        if not self._closed:
            self.list_pane.show_maps(self.workspace.maps, self.workspace.current_map)

    @safe_slot
    def _on_items_reset(self) -> None:
        if self._closed:
            return
        if self._batch_depth:
            self._refresh_pending = True
            return
        self._refresh_all()

    @safe_slot
    def _on_item_changed(self, _uid: int) -> None:
        if self._closed:
            return
        if self._batch_depth:
            self._refresh_pending = True
            return
        self.tools.set_items(self.workspace.all_items())
        self._refresh_plot()

    @safe_slot
    def _on_selection_changed(self) -> None:
        item = self.current_item()
        self.list_pane.show_channels(item)
        if item is not None:
            self.workspace.fit_windows_to(item.uid)   # windows from the selected data, not the first scan
            normalisation = item.spectrum.metadata.get("normalisation")
            if isinstance(normalisation, dict) and normalisation.get("factor") is not None:
                self.tools.show_factor(normalisation)

    # ------------------------------------------------------------------ user input
    def run(self, command: str) -> None:
        """Run a command of the tab by name (the menu entries of Analysis → XES spectra)."""
        tabs = {"average": 0, "normalise": 1, "background": 2, "metrics": 3, "difference": 4}
        handlers = {"average": self._on_average_clicked, "normalise": self._on_normalise_clicked,
                    "background": self._on_background_requested, "metrics": self._on_metrics_clicked,
                    "difference": self._on_difference_clicked, "export_csv": self._on_export_csv,
                    "export_nexus": self._on_export_nexus,
                    "export_report": self._on_export_report_clicked, "export_metrics": self._on_metrics_export_clicked,
                    "export_plot": self._on_export_plot_clicked}
        if command not in handlers:
            raise ValueError(f"unknown XES command {command!r}")
        if command in tabs:
            self.tools.setCurrentIndex(tabs[command])
        handlers[command]()

    @safe_slot
    def _on_remove_clicked(self) -> None:
        uids = self.selected_uids()
        if uids:
            self._action(f"remove {len(uids)} item(s)")
            self.remove(uids)

    @safe_slot
    def _on_clear_clicked(self) -> None:
        self._action("clear the XES list")
        self.workspace.items.clear()

    @safe_slot
    def _move_selected(self, delta: int) -> None:
        item = self.current_item()
        if item is not None and self.workspace.items.move(item.uid, delta):
            self.select_uids([item.uid])

    @safe_slot
    def _on_colour_clicked(self) -> None:
        item = self.require_selected()
        if item is None:
            return
        colour = QColorDialog.getColor(QColor(item.colour), self, f"Colour of {item.name}")
        if colour.isValid():
            self.workspace.items.set_colour(item.uid, colour.name())

    @safe_slot
    def _on_channel_chosen(self, value: str) -> None:
        item = self.current_item()
        if item is not None and (item.channel is None or item.channel.value != value):
            self.set_channel(item.uid, value)

    @safe_slot
    def _on_recompute_clicked(self) -> None:
        uids = [uid for uid in self.selected_uids() if self.workspace.item(uid).kind.derived]
        if not uids:
            self._status("Select derived items (averages, normalised, fits, differences) to recompute.")
            return
        done = self.recompute(uids)
        self._status(f"Recomputed {done} of {len(uids)} item(s)")

    @safe_slot
    def _on_map_chosen(self, index: int) -> None:
        self.workspace.choose_map(index)

    @safe_slot
    def _on_map_slice_clicked(self, index: int, omega: float, width) -> None:
        self.add_map_slice(index, omega, width)

    @safe_slot
    def _on_plot_settings_edited(self, settings) -> None:
        self.workspace.set_plot_settings(settings)

    @safe_slot
    def _on_tool_settings_edited(self, settings) -> None:
        self.workspace.set_tool_settings(settings)

    @safe_slot
    def _on_background_requested(self) -> None:
        self.open_background_dialog()

    @safe_slot
    def _on_export_csv(self) -> None:
        xes_export.export_selected(self, "csv")

    @safe_slot
    def _on_export_nexus(self) -> None:
        xes_export.export_selected(self, "nxs")

    @safe_slot
    def _on_rescale_y_clicked(self) -> None:
        if self.rescale_y() is None:
            self._status("No ticked item has points in the energy range shown.")

    @safe_slot
    def _on_drag_window_toggled(self, checked: bool) -> None:
        self.view.set_window_dragging(checked)
        if checked:
            self._status("Drag across the plot to set the normalisation window.")

    @safe_slot
    def _on_window_dragged(self, lo: float, hi: float) -> None:
        if not self._closed:
            self.workspace.update_tools(normalise_window=(lo, hi))

    @safe_slot
    def _on_average_clicked(self) -> None:
        try:
            item = self.average()
        except ValueError as exc:
            self._status(f"Cannot average: {exc}")
            return
        self._status(f"{item.name}: {len(item.inputs)} members, {len(item.spectrum)} points")

    @safe_slot
    def _on_normalise_clicked(self) -> None:
        reference = self.tools.reference_combo.currentData()
        uids = self.selected_uids()
        if not uids:
            self._status("Select the items to normalise.")
            return
        for uid in uids:
            try:
                self.normalise(uid, reference_uid=reference)
            except ValueError as exc:
                self._status(f"Cannot normalise {self.workspace.item(uid).name}: {exc}")
                return

    @safe_slot
    def _on_metrics_clicked(self) -> None:
        try:
            self.compute_metrics(reference_uid=self.tools.metrics_reference_combo.currentData())
        except ValueError as exc:
            self._status(f"Cannot compute metrics: {exc}")

    @safe_slot
    def _on_metrics_export_clicked(self) -> None:
        xes_export.export_metrics(self)

    @safe_slot
    def _on_difference_clicked(self) -> None:
        a, b = self.tools.difference_a_combo.currentData(), self.tools.difference_b_combo.currentData()
        if a is None or b is None or a == b:
            self._status("Choose two different items for A and B.")
            return
        try:
            self.add_difference(a, b)
        except ValueError as exc:
            self._status(f"Cannot subtract: {exc}")

    @safe_slot
    def _on_export_report_clicked(self) -> None:
        xes_export.export_report(self)

    @safe_slot
    def _on_export_plot_clicked(self) -> None:
        xes_export.export_plot(self)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        if self._plot_pending:
            self._update_window()
            self._refresh_plot()

    # ------------------------------------------------------------------ lifetime
    def shutdown(self) -> None:
        """Close the plot and any open dialog; stop following the workspace. Idempotent."""
        if self._closed:
            return
        self._closed = True
        import sys

        dialog_module = sys.modules.get("xestools.gui.xes.background_dialog")
        if dialog_module is not None:
            for dialog in self.findChildren(dialog_module.BackgroundDialog):
                dialog.reject()
        for event, callback in self._hooks:
            event.disconnect(callback)
        self._hooks = []
        self.model.detach()
        self.view.close()


__all__ = ["XesPanel", "ItemRole"]
