"""The cut table: one row per cut of the current map (type, position, width, sum/mean, colour, remove).

It shows a :class:`CutModel` and writes edits back to it; it is not the store of the cuts.
Positions and widths are typed in eV with 0.01 eV resolution.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QHeaderView, QPushButton,
                               QTableWidget, QTableWidgetItem, QWidget)

from xestools.workspace.cuts import CUT_KINDS, CUT_TYPES, CutModel
from xestools.workspace.validation import cut_width_problem
from xestools.runtime.safe import safe_slot

log = logging.getLogger("xestools.gui.rxes.cut_table")

COLUMNS = ("", "Type", "Position (eV)", "Width (eV)", "Statistic", "")
COL_COLOR, COL_KIND, COL_POSITION, COL_WIDTH, COL_MODE, COL_REMOVE = range(6)


class CutTable(QTableWidget):
    """Editable view of a :class:`CutModel`; ``cut_selected(ident)`` when the user picks a row."""

    cut_selected = Signal(int)
    #: an edit was refused; the text says why (for the status bar)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_POSITION, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(24)
        self.setColumnWidth(COL_COLOR, 18)
        self._model: CutModel | None = None
        self._rows: list[int] = []
        #: the map whose range bounds a cut's width (set by the panel); None checks only > 0
        self.rxes_map = None
        self.itemSelectionChanged.connect(self._on_selection)

    # ------------------------------------------------------------------ model binding
    def set_model(self, model: CutModel | None) -> None:
        if self._model is not None:
            for signal, slot in self._model_connections():
                signal.disconnect(slot)
        self._model = model
        if model is not None:
            for signal, slot in self._model_connections():
                signal.connect(slot)
        self._rebuild()

    def _model_connections(self):
        model = self._model
        return ((model.added, self._on_structure), (model.removed, self._on_structure),
                (model.changed, self._on_changed))

    @safe_slot
    def _on_structure(self, _ident: int) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        self.setRowCount(0)
        self._rows = []
        if self._model is None:
            return
        for entry in self._model.entries():
            row = self.rowCount()
            self.insertRow(row)
            self._rows.append(entry.ident)
            swatch = QTableWidgetItem()
            swatch.setBackground(QColor(entry.color))
            # not selectable: the selection highlight of the row never paints over the cut's colour
            swatch.setFlags(Qt.ItemFlag.ItemIsEnabled)
            swatch.setToolTip(f"colour of this cut on the map and in the profiles ({entry.color})")
            self.setItem(row, COL_COLOR, swatch)
            kind = QComboBox()
            kind.addItems(CUT_KINDS)
            kind.setCurrentText(entry.kind)
            kind.setToolTip("; ".join(f"{cut_type.name}: {cut_type.description}" for cut_type in CUT_TYPES))
            kind.currentTextChanged.connect(self._editor_slot(entry.ident, "kind"))
            self.setCellWidget(row, COL_KIND, kind)
            position = self._spin(entry.position, -1e6, 1e6)
            position.valueChanged.connect(self._editor_slot(entry.ident, "position"))
            self.setCellWidget(row, COL_POSITION, position)
            width = self._spin(entry.width, 0.0, 1e4)
            width.valueChanged.connect(self._editor_slot(entry.ident, "width"))
            self.setCellWidget(row, COL_WIDTH, width)
            mode = QComboBox()
            mode.addItems(["sum", "mean"])
            mode.setCurrentIndex(1 if entry.mean else 0)
            mode.currentIndexChanged.connect(self._editor_slot(entry.ident, "mean"))
            self.setCellWidget(row, COL_MODE, mode)
            remove = QPushButton("✕")
            remove.setMaximumWidth(32)
            remove.setToolTip("Remove this cut")
            remove.clicked.connect(self._remove_slot(entry.ident))
            self.setCellWidget(row, COL_REMOVE, remove)

    @staticmethod
    def _spin(value: float, lo: float, hi: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setDecimals(2)
        spin.setSingleStep(0.01)
        spin.setRange(lo, hi)
        spin.setSuffix(" eV")
        spin.setKeyboardTracking(False)
        spin.setValue(value)
        return spin

    def _editor_slot(self, ident: int, key: str):
        @safe_slot
        def slot(value) -> None:
            if self._model is None:
                return
            if key == "mean":
                value = bool(value)
            if key == "width" and not self._accept_width(ident, value):
                return
            self._model.update(ident, **{key: value})
        return slot

    def _accept_width(self, ident: int, width: float) -> bool:
        """A refused width puts the cut's width back in its box and says why."""
        entry = self._model.get(ident)
        problem = None if entry is None else cut_width_problem(float(width), entry.kind, self.rxes_map)
        if problem is None:
            return True
        self.message.emit(problem)
        self._on_changed(ident)
        return False

    def _remove_slot(self, ident: int):
        @safe_slot
        def slot(_checked: bool = False) -> None:
            if self._model is not None:
                self._model.remove(ident)
        return slot

    @safe_slot
    def _on_changed(self, ident: int) -> None:
        """Reflect a model change (drag, arrow key, session) in the row without re-emitting edits."""
        if self._model is None or ident not in self._rows:
            return
        entry = self._model.get(ident)
        row = self._rows.index(ident)
        # a drag changes the position alone: the other cells are left alone (each set repaints its cell)
        editors = [(COL_KIND, "currentText", "setCurrentText", entry.kind),
                   (COL_POSITION, "value", "setValue", entry.position), (COL_WIDTH, "value", "setValue", entry.width),
                   (COL_MODE, "currentIndex", "setCurrentIndex", 1 if entry.mean else 0)]
        for column, getter, setter, value in editors:
            widget = self.cellWidget(row, column)
            if widget is None or getattr(widget, getter)() == value:
                continue
            widget.blockSignals(True)
            getattr(widget, setter)(value)
            widget.blockSignals(False)
        swatch = self.item(row, COL_COLOR)
        if swatch.background().color() != QColor(entry.color):
            swatch.setBackground(QColor(entry.color))

    # ------------------------------------------------------------------ selection
    def select_cut(self, ident: int | None) -> None:
        if ident in self._rows:
            self.blockSignals(True)
            self.selectRow(self._rows.index(ident))
            self.blockSignals(False)
        else:
            self.clearSelection()

    def selected_cut(self) -> int | None:
        rows = {index.row() for index in self.selectionModel().selectedIndexes()}
        if not rows:
            return None
        row = min(rows)
        return self._rows[row] if row < len(self._rows) else None

    @safe_slot
    def _on_selection(self) -> None:
        ident = self.selected_cut()
        if ident is not None:
            self.cut_selected.emit(ident)

    def shutdown(self) -> None:
        self.set_model(None)

    def swatch_color(self, ident: int) -> str | None:
        """The colour shown in the cut's row ("#rrggbb"), None when the cut has no row."""
        if ident not in self._rows:
            return None
        return self.item(self._rows.index(ident), COL_COLOR).background().color().name()
