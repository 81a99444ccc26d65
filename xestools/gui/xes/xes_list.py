"""The XES tab's left side: the item list (a view of the Qt model), its buttons, the channel of the
selected scan, the files that could not be restored, and the map chooser for XES at one Ω.

It only shows and asks: every button emits a signal the panel turns into a workspace command.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QHeaderView,
                               QLabel, QListWidget, QPushButton, QTreeView, QVBoxLayout, QWidget)

from xestools.runtime.safe import safe_slot
from xestools.workspace.items import ItemKind, XesItem
from xestools.workspace.xes import map_title


def _item_view(model) -> QTreeView:
    view = QTreeView()
    view.setModel(model)
    view.setRootIsDecorated(False)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed | QAbstractItemView.EditTrigger.SelectedClicked)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)  # the tooltip has the full name
    view.setUniformRowHeights(True)
    # Fixed widths from the font, not ResizeToContents: that asks every row of every column
    # for its size on each change (~30 ms with 50 scans). The name keeps room for a scan's file name
    # in a laptop's side panel; the sample, also in the Datasets panel, takes the rest.
    header = view.header()
    header.setStretchLastSection(True)
    metrics = view.fontMetrics()
    for column, sample in ((0, "280772_1.nxs at Ω"), (1, "normalised"), (2, "upper (of 2)"), (3, "0000000"),
                           (4, "ZnO_synth")):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(column, metrics.horizontalAdvance(sample) + 12)
    header.setMinimumSectionSize(40)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    return view


class XesListPane(QWidget):
    """List, buttons, channel chooser, failures and map box (see the module docstring)."""

    open_clicked = Signal()
    remove_clicked = Signal()
    clear_clicked = Signal()
    move_clicked = Signal(int)
    colour_clicked = Signal()
    recompute_clicked = Signal()
    channel_chosen = Signal(str)
    map_chosen = Signal(int)
    map_slice_clicked = Signal(int, float, object)
    selection_changed = Signal()

    def __init__(self, model, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.list_view = _item_view(model)
        self.list_view.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit())
        buttons = QHBoxLayout()
        for attribute, text, signal in (("open_button", "Open…", self.open_clicked),
                                        ("remove_button", "Remove", self.remove_clicked),
                                        ("clear_button", "Clear", self.clear_clicked),
                                        ("colour_button", "Colour…", self.colour_clicked)):
            button = QPushButton(text)
            button.clicked.connect(lambda _checked=False, s=signal: s.emit())
            setattr(self, attribute, button)
        self.up_button, self.down_button = QPushButton("↑"), QPushButton("↓")
        for button, delta, tip in ((self.up_button, -1, "up"), (self.down_button, 1, "down")):
            button.setFixedWidth(32)
            button.setToolTip(f"Move the selected item {tip}")
            button.clicked.connect(lambda _checked=False, d=delta: self.move_clicked.emit(d))
        for button in (self.open_button, self.remove_button, self.clear_button, self.up_button, self.down_button,
                       self.colour_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)    # the list keeps 8 rows in a laptop's side panel
        layout.addLayout(buttons)
        layout.addWidget(self.list_view, 1)
        layout.addLayout(self._channel_row())
        self.failure_label = QLabel("Files not loaded:")
        self.failure_list = QListWidget()
        self.failure_list.setMaximumHeight(90)
        self.failure_label.setVisible(False)
        self.failure_list.setVisible(False)
        layout.addWidget(self.failure_label)
        layout.addWidget(self.failure_list)
        layout.addWidget(self._map_box())

    def _channel_row(self) -> QHBoxLayout:
        self.channel_combo = QComboBox()
        self.channel_combo.setToolTip("Spectrometer channel of the selected scan (two-channel scans)")
        self.channel_combo.activated.connect(self._on_channel_activated)
        self.recompute_button = QPushButton("Recompute selected")
        self.recompute_button.setToolTip("Recompute the selected derived items from their current inputs")
        self.recompute_button.clicked.connect(lambda _checked=False: self.recompute_clicked.emit())
        row = QHBoxLayout()
        row.addWidget(QLabel("Channel"))
        row.addWidget(self.channel_combo, 1)
        row.addWidget(self.recompute_button)
        return row

    def _map_box(self) -> QWidget:
        self.map_combo = QComboBox()
        self.omega_spin = QDoubleSpinBox()
        self.omega_spin.setDecimals(2)
        self.omega_spin.setRange(0.0, 1e6)
        self.omega_spin.setSuffix(" eV")
        self.omega_width_spin = QDoubleSpinBox()
        self.omega_width_spin.setDecimals(2)
        self.omega_width_spin.setRange(0.0, 100.0)
        self.omega_width_spin.setSuffix(" eV")
        self.omega_width_spin.setSpecialValueText("nearest row")
        self.omega_width_spin.setToolTip("Full width of the Ω band to sum; 'nearest row' takes one row of the map")
        self.map_slice_button = QPushButton("Add XES at Ω")
        self.map_slice_button.clicked.connect(self._on_map_slice_clicked)
        self._maps: list = []
        self.map_combo.currentIndexChanged.connect(self._on_map_changed)
        self.map_box = QWidget()
        grid = QGridLayout(self.map_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Map"), 0, 0)      # two rows: the list keeps 8 rows in a laptop's side panel
        grid.addWidget(self.map_combo, 0, 1, 1, 3)
        grid.addWidget(self.map_slice_button, 0, 4)
        grid.addWidget(QLabel("Ω"), 1, 0)
        grid.addWidget(self.omega_spin, 1, 1)
        grid.addWidget(QLabel("width"), 1, 2)
        grid.addWidget(self.omega_width_spin, 1, 3, 1, 2)
        self.map_box.setVisible(False)
        return self.map_box

    # ------------------------------------------------------------------ selection
    def selected_uids(self) -> list[int]:
        rows = sorted({index.row() for index in self.list_view.selectionModel().selectedRows()})
        return [self.model.item_at(row).uid for row in rows if row < self.model.rowCount()]

    def select_uids(self, uids: Iterable[int]) -> None:
        selection = self.list_view.selectionModel()
        selection.clearSelection()
        for uid in uids:
            row = self.model.row_of(uid)
            if row >= 0:
                selection.select(self.model.index(row, 0),
                                 QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)

    # ------------------------------------------------------------------ following the workspace
    def show_channels(self, item: XesItem | None) -> None:
        """The channel chooser of the selected scan (enabled for two-channel scans)."""
        self.channel_combo.blockSignals(True)
        self.channel_combo.clear()
        if item is not None and item.kind is ItemKind.SCAN:
            for channel in item.switchable_channels:
                self.channel_combo.addItem(str(channel), channel.value)
            index = self.channel_combo.findData(item.channel.value if item.channel is not None else None)
            self.channel_combo.setCurrentIndex(max(index, 0))
        self.channel_combo.setEnabled(self.channel_combo.count() > 1)
        self.channel_combo.blockSignals(False)

    def show_failures(self, failures: Sequence[tuple[str, str]]) -> None:
        self.failure_list.clear()
        for path, reason in failures:
            self.failure_list.addItem(reason)
            self.failure_list.item(self.failure_list.count() - 1).setToolTip(path)
        self.failure_label.setVisible(bool(failures))
        self.failure_list.setVisible(bool(failures))

    def show_maps(self, maps: Sequence, current: int) -> None:
        """The maps offered for XES at one Ω; the Ω range follows the current map when it changes."""
        self._maps = list(maps)
        titles = [map_title(rxes_map) for rxes_map in maps]
        changed = titles != [self.map_combo.itemText(i) for i in range(self.map_combo.count())]
        if changed:
            self.map_combo.blockSignals(True)
            self.map_combo.clear()
            self.map_combo.addItems(titles)
            self.map_combo.blockSignals(False)
        if changed or current != self.map_combo.currentIndex():
            self.map_combo.blockSignals(True)
            self.map_combo.setCurrentIndex(current)
            self.map_combo.blockSignals(False)
            self._show_omega_range(current)
        self.map_box.setVisible(bool(maps))

    def _show_omega_range(self, index: int) -> None:
        if 0 <= index < len(self._maps):
            axis = np.asarray(self._maps[index].incident_axis, dtype=float)
            self.omega_spin.setRange(float(axis.min()), float(axis.max()))
            self.omega_spin.setValue(float(axis[len(axis) // 2]))

    @safe_slot
    def _on_map_changed(self, index: int) -> None:
        self._show_omega_range(index)
        self.map_chosen.emit(index)

    @safe_slot
    def _on_channel_activated(self, _index: int) -> None:
        value = self.channel_combo.currentData()
        if value is not None:
            self.channel_chosen.emit(value)

    @safe_slot
    def _on_map_slice_clicked(self, _checked: bool = False) -> None:
        index = self.map_combo.currentIndex()
        if index >= 0:
            self.map_slice_clicked.emit(index, self.omega_spin.value(), self.omega_width_spin.value() or None)
