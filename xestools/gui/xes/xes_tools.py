"""The XES tools below the plot: average, normalise, background, metrics, difference, export.

Widgets ↔ :class:`~xestools.workspace.views.XesToolSettings` both ways; each button emits a
request signal that the panel turns into a workspace command. The item choosers follow the items.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPushButton, QTableWidget, QTableWidgetItem,
                               QTabWidget, QVBoxLayout, QWidget)

from xestools.runtime.safe import safe_slot
from xestools.workspace.views import XesToolSettings

NORMALISE_TAB = 1


def _spin(lo: float = -1e6, hi: float = 1e6) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(2)
    spin.setRange(lo, hi)
    spin.setSuffix(" eV")
    return spin


def _item_combo() -> QComboBox:
    """A chooser of XES items whose width does not grow with the longest item name (that would
    widen the window past a laptop screen); the full names show in the open list."""
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(16)
    return combo


def _button(text: str, signal) -> QPushButton:
    button = QPushButton(text)
    button.clicked.connect(lambda _checked=False: signal.emit())
    return button


class XesToolTabs(QTabWidget):
    """The tool tabs (see the module docstring)."""

    settings_edited = Signal(object)
    average_requested = Signal()
    normalise_requested = Signal()
    background_requested = Signal()
    metrics_requested = Signal()
    metrics_export_requested = Signal()
    difference_requested = Signal()
    export_csv_requested = Signal()
    export_nexus_requested = Signal()
    export_report_requested = Signal()
    drag_window_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.addTab(self._average_tab(), "Average")
        self.addTab(self._normalise_tab(), "Normalise")
        self.addTab(self._background_tab(), "Background")
        self.addTab(self._metrics_tab(), "Metrics")
        self.addTab(self._difference_tab(), "Difference")
        self.addTab(self._export_tab(), "Export")
        self.addTab(self._analysis_tab(), "Fit && repeats")
        for widget in (self.average_grid_combo, self.average_weighted_check, self.average_name_edit,
                       self.window_lo_spin, self.window_hi_spin, self.metrics_lo_spin, self.metrics_hi_spin,
                       self.metrics_full_range_check):
            signal = {QComboBox: "currentIndexChanged", QCheckBox: "toggled", QLineEdit: "textChanged"}.get(
                type(widget), "valueChanged")
            getattr(widget, signal).connect(self._on_edit)

    # ------------------------------------------------------------------ tabs
    def _average_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.average_name_edit = QLineEdit()
        self.average_name_edit.setPlaceholderText("automatic (average of N)")
        self.average_grid_combo = QComboBox()
        self.average_grid_combo.addItem("Overlap of the scans", "overlap")
        self.average_grid_combo.addItem("Union of the scans", "union")
        self.average_weighted_check = QCheckBox("Weight by 1/σ²")
        self.average_button = _button("Average the ticked scans", self.average_requested)
        form.addRow("Name", self.average_name_edit)
        form.addRow("Grid", self.average_grid_combo)
        form.addRow("", self.average_weighted_check)
        form.addRow("", self.average_button)
        return tab

    def _normalise_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.window_lo_spin, self.window_hi_spin = _spin(), _spin()
        window_row = QHBoxLayout()
        for spin in (self.window_lo_spin, self.window_hi_spin):
            spin.setMinimumWidth(120)
            spin.setSingleStep(0.1)
        window_row.addWidget(self.window_lo_spin)
        window_row.addWidget(QLabel("to"))
        window_row.addWidget(self.window_hi_spin)
        self.drag_window_button = QPushButton("Drag on plot")
        self.drag_window_button.setCheckable(True)
        self.drag_window_button.setToolTip("Drag across the plot to choose the area window")
        self.drag_window_button.toggled.connect(self.drag_window_toggled)
        window_row.addWidget(self.drag_window_button)
        window_row.addStretch(1)
        self.reference_combo = _item_combo()
        self.normalise_button = _button("Normalise the selected items", self.normalise_requested)
        self.factor_label = QLabel("Factor: —")
        self.factor_label.setWordWrap(True)   # names the reference: may be longer than the tab is wide
        self.factor_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Window", window_row)
        form.addRow("Area of", self.reference_combo)
        form.addRow("", self.normalise_button)
        form.addRow("", self.factor_label)
        return tab

    def _background_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.background_button = _button("Fit a background to the selected item…", self.background_requested)
        hint = QLabel("Models: linear, polynomial (0–3), Pearson VII and pseudo-Voigt tails and their sums; "
                      "exclusion spans; optional wide scan. Background and residual become new items.")
        hint.setWordWrap(True)
        layout.addWidget(self.background_button)
        layout.addWidget(hint)
        layout.addStretch(1)
        return tab

    def _analysis_tab(self) -> QWidget:
        """Buttons of the Analysis menu's XES tools (the main window binds them to its commands)."""
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.analysis_buttons = {}
        for name, text, tip in (
                ("fit", "Fit lines…", "Fit peaks plus a background to the selected item"),
                ("repeats", "Repeats…", "Consistency and trends of the ticked spectra, or of the selected average's repeats"),
                ("align", "Align to a reference…", "Shift the ticked spectra onto one of them"),
                ("calibrate", "Calibrate from a line…", "Calibrate the ticked items from a reference line at a known energy")):
            button = QPushButton(text)
            button.setToolTip(tip)
            self.analysis_buttons[name] = button
            layout.addWidget(button)
        layout.addStretch(1)
        return tab

    def _metrics_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(4, 4, 4, 4)   # the table keeps 8 rows in a laptop's side panel
        self.metrics_lo_spin, self.metrics_hi_spin = _spin(), _spin()
        self.metrics_full_range_check = QCheckBox("Whole range")
        self.metrics_full_range_check.setChecked(True)
        self.metrics_reference_combo = _item_combo()
        self.metrics_button = _button("Compute for the ticked items", self.metrics_requested)
        self.metrics_export_button = _button("Export CSV…", self.metrics_export_requested)
        row = QHBoxLayout()
        for widget in (QLabel("Window"), self.metrics_lo_spin, QLabel("to"), self.metrics_hi_spin,
                       self.metrics_full_range_check):
            row.addWidget(widget)
        row.addStretch(1)
        # a second row keeps the tab (and so the window) narrow enough for a laptop screen
        actions_row = QHBoxLayout()
        actions_row.addWidget(QLabel("IAD vs"))
        actions_row.addWidget(self.metrics_reference_combo, 1)
        actions_row.addWidget(self.metrics_button)
        actions_row.addWidget(self.metrics_export_button)
        self.metrics_table = _metrics_table()
        self.metrics_caption = QLabel("")
        self.metrics_caption.setWordWrap(True)
        self.metrics_caption.setStyleSheet("color: #555")
        self.metrics_caption.setVisible(False)
        layout.addLayout(row)
        layout.addLayout(actions_row)
        layout.addWidget(self.metrics_caption)
        layout.addWidget(self.metrics_table, 1)
        return tab

    def _difference_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.difference_a_combo = _item_combo()
        self.difference_b_combo = _item_combo()
        self.difference_button = _button("Add A − B", self.difference_requested)
        form.addRow("A", self.difference_a_combo)
        form.addRow("B", self.difference_b_combo)
        form.addRow("", self.difference_button)
        return tab

    def _export_tab(self) -> QWidget:
        tab = QWidget()
        layout = QHBoxLayout(tab)
        self.export_csv_button = _button("Selected item → CSV…", self.export_csv_requested)
        self.export_nexus_button = _button("Selected item → NeXus…", self.export_nexus_requested)
        self.export_report_button = _button("Fit report → text…", self.export_report_requested)
        for button in (self.export_csv_button, self.export_nexus_button, self.export_report_button):
            layout.addWidget(button)
        layout.addStretch(1)
        return tab

    # ------------------------------------------------------------------ settings both ways
    def settings(self) -> XesToolSettings:
        return XesToolSettings(
            average_grid=self.average_grid_combo.currentData(), average_weighted=self.average_weighted_check.isChecked(),
            average_name=self.average_name_edit.text(),
            normalise_window=(self.window_lo_spin.value(), self.window_hi_spin.value()),
            metrics_window=(self.metrics_lo_spin.value(), self.metrics_hi_spin.value()),
            metrics_whole_range=self.metrics_full_range_check.isChecked())

    def set_settings(self, settings: XesToolSettings) -> None:
        widgets = (self.average_grid_combo, self.average_weighted_check, self.average_name_edit, self.window_lo_spin,
                   self.window_hi_spin, self.metrics_lo_spin, self.metrics_hi_spin, self.metrics_full_range_check)
        for widget in widgets:
            widget.blockSignals(True)
        self.average_grid_combo.setCurrentIndex(max(self.average_grid_combo.findData(settings.average_grid), 0))
        self.average_weighted_check.setChecked(settings.average_weighted)
        if self.average_name_edit.text() != settings.average_name:
            self.average_name_edit.setText(settings.average_name)
        self.window_lo_spin.setValue(settings.normalise_window[0])
        self.window_hi_spin.setValue(settings.normalise_window[1])
        self.metrics_lo_spin.setValue(settings.metrics_window[0])
        self.metrics_hi_spin.setValue(settings.metrics_window[1])
        self.metrics_full_range_check.setChecked(settings.metrics_whole_range)
        for widget in widgets:
            widget.blockSignals(False)

    @safe_slot
    def _on_edit(self, *_args) -> None:
        self.settings_edited.emit(self.settings())

    # ------------------------------------------------------------------ item choosers and results
    def set_items(self, items: Sequence) -> None:
        """Fill the reference, IAD and difference choosers with the items (keeping the choices)."""
        for combo, first in ((self.reference_combo, "its own area"), (self.metrics_reference_combo, "(no IAD)"),
                             (self.difference_a_combo, None), (self.difference_b_combo, None)):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            if first is not None:
                combo.addItem(first, None)
            for item in items:
                combo.addItem(item.name, item.uid)
            index = combo.findData(current)
            combo.setCurrentIndex(index if index >= 0 else 0)
            combo.blockSignals(False)
        if self.difference_b_combo.count() > 1 and self.difference_b_combo.currentIndex() == self.difference_a_combo.currentIndex():
            self.difference_b_combo.setCurrentIndex(1)

    def show_factor(self, record: dict) -> None:
        self.factor_label.setText(factor_text(record))

    def show_metrics(self, rows: Sequence) -> None:
        """The key numbers, one row per item; what is shared (basis, window, IAD reference) above the
        table, each row's full record in its tooltip (the CSV export has every column)."""
        self.metrics_table.setRowCount(len(rows))
        records = [row.as_dict() for row in rows]
        for row_index, values in enumerate(records):
            values["window"] = (f"{metric_text('window_lo', values['window_lo'])}–"
                                f"{metric_text('window_hi', values['window_hi'])}")
            details = "\n".join(f"{title}: {metric_text(key, values[key])}" for key, title in _all_metric_columns())
            for column, (key, _) in enumerate(SCREEN_METRIC_COLUMNS):
                cell = QTableWidgetItem(metric_text(key, values[key]))
                if not isinstance(values[key], str):
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    cell.setToolTip(f"{values[key]!r}\n\n{details}")  # full precision on hover; the CSV has it too
                else:
                    cell.setToolTip(details)
                self.metrics_table.setItem(row_index, column, cell)
        caption = metrics_caption(records)
        self.metrics_caption.setText(caption)
        self.metrics_caption.setVisible(bool(caption))   # no empty line above the table


#: the metrics the table shows (the rest are the same for every row, or in the tooltip and the CSV)
SCREEN_METRIC_COLUMNS = (("label", "Item"), ("peak_position", "Peak (eV)"), ("peak_uncertainty", "Peak σ"),
                         ("fwhm", "FWHM (eV)"), ("first_moment", "1st moment (eV)"), ("area", "Area"),
                         ("iad", "IAD"), ("computed_on", "Computed on"), ("window", "Window (eV)"))


def _all_metric_columns():
    from xestools.analysis.metrics import METRIC_COLUMNS

    return METRIC_COLUMNS


def metrics_caption(records: Sequence[dict]) -> str:
    """The IAD reference the rows share (each row's basis and window are columns of the table)."""
    values = {str(record.get("reference", "")) for record in records}
    if not values:
        return ""
    value = values.pop() if len(values) == 1 else "differs per row (hover a row)"
    return f"IAD vs {value}" if value else ""


def _metrics_table() -> QTableWidget:
    table = QTableWidget(0, len(SCREEN_METRIC_COLUMNS))
    table.setHorizontalHeaderLabels([title for _, title in SCREEN_METRIC_COLUMNS])
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # names are elided, the numbers stay whole
    header.setStretchLastSection(False)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    table.setAlternatingRowColors(True)
    table.setMinimumHeight(table.fontMetrics().height() * 7)
    return table


def factor_text(record: dict) -> str:
    """'Factor 1/A = …' with the area A and whose area it was."""
    factor, area = record.get("factor"), record.get("area")
    if factor is None:
        return "Factor: —"
    whose = record.get("reference") or "self"
    window = record.get("window") or ["?", "?"]
    area_text = f", area A = {area:.6g}" if area is not None else ""
    return (f"Factor 1/A = {factor:.6g}{area_text} (area of {whose} over "
            f"{float(window[0]):.2f}–{float(window[1]):.2f} eV)")


def metric_text(key: str, value) -> str:
    """Table text: energies to 0.01 eV (0.001 eV for widths), areas and IAD to 4 significant figures."""
    if isinstance(value, str):
        return value
    if not np.isfinite(value):
        return "—"
    if key in ("peak_position", "first_moment", "window_lo", "window_hi"):
        return f"{value:.2f}"
    if key == "fwhm":
        return f"{value:.3f}"
    return f"{value:.4g}"
