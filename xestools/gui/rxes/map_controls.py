"""The RXES tab's display controls: widgets ↔ :class:`~xestools.figures.MapStyle` and the channel.

``read_style(base)`` turns the widgets into a style, ``set_style`` shows one without echoing it;
``show_document`` shows the title and which channels the scan has. Edits are signals.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QSizePolicy, QSpinBox, QWidget

from xestools.figures import COLORMAPS, SCALES, MapStyle
from xestools.gui.common.flow_layout import FlowLayout, unit
from xestools.model import Channel
from xestools.runtime.safe import safe_slot


class MapControls(QWidget):
    """The display controls in rows that wrap (:mod:`flow_layout`): what is shown, then colour
    limits and contours; one row on a wide window, three or four on half a laptop screen."""

    #: scale, colour map, limits or contours edited (read them with ``read_style``)
    style_edited = Signal()
    view_chosen = Signal(str)
    channel_chosen = Signal(str)
    #: a one-line message for the status bar (e.g. a limit that is not a number)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: (lo, hi) of the shown map's colour scale, or None: pre-fills typed limits
        self.colour_range: Callable[[], tuple[float, float] | None] = lambda: None
        layout = FlowLayout(self)
        for widget in self._display_units() + self._colour_units():
            layout.addWidget(widget)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def _display_units(self) -> list[QWidget]:
        self.title_label = QLabel("")
        self.title_label.setStyleSheet("font-weight: bold")
        self.channel_combo = QComboBox()
        for channel in Channel:
            self.channel_combo.addItem(f"{channel.value} ({channel.detector})", channel.value)
        self.channel_combo.currentIndexChanged.connect(self._on_channel)
        self.view_combo = QComboBox()
        self.view_combo.addItem("Ω – ω (incident)", "incident")
        self.view_combo.addItem("Ω – (Ω − ω) (transfer)", "transfer")
        self.view_combo.currentIndexChanged.connect(self._on_view)
        self.scale_combo = QComboBox()
        for scale in SCALES:
            self.scale_combo.addItem({"linear": "linear", "log": "log", "sqrt": "square root"}[scale], scale)
        self.scale_combo.currentIndexChanged.connect(self._on_edit)
        self.cmap_combo = QComboBox()
        self.cmap_combo.addItems(COLORMAPS)
        self.cmap_combo.setToolTip("Colour map (perceptually uniform ones first)")
        self.cmap_combo.currentIndexChanged.connect(self._on_edit)
        return [self.title_label, unit(QLabel("Channel"), self.channel_combo), unit(QLabel("View"), self.view_combo),
                unit(QLabel("Scale"), self.scale_combo, self.cmap_combo)]

    def _colour_units(self) -> list[QWidget]:
        self.limits_combo = QComboBox()
        self.limits_combo.addItem("data min–max", "data")
        self.limits_combo.addItem("1–99 percentile", "percentile")
        self.limits_combo.addItem("typed", "manual")
        self.limits_combo.currentIndexChanged.connect(self._on_limits_mode)
        self.vmin_edit, self.vmax_edit = QLineEdit(), QLineEdit()
        for edit, tip in ((self.vmin_edit, "lower colour limit"), (self.vmax_edit, "upper colour limit")):
            edit.setPlaceholderText(tip.split()[0])
            edit.setToolTip(tip)
            edit.setMinimumWidth(64)
            edit.setMaximumWidth(90)
            edit.setEnabled(False)
            edit.editingFinished.connect(self._on_edit)
        self.contour_spin = QSpinBox()
        self.contour_spin.setRange(0, 30)
        self.contour_spin.setToolTip("Number of contour levels (0 = none)")
        self.contour_spin.valueChanged.connect(self._on_edit)
        self.contour_color = QComboBox()
        self.contour_color.addItems(["white", "black", "red"])
        self.contour_color.currentIndexChanged.connect(self._on_edit)
        self.contour_labels = QCheckBox("labels")
        self.contour_labels.toggled.connect(self._on_edit)
        return [unit(QLabel("Limits"), self.limits_combo, self.vmin_edit, self.vmax_edit),
                unit(QLabel("Contours"), self.contour_spin, self.contour_color, self.contour_labels)]

    # ------------------------------------------------------------------ both ways
    def read_style(self, base: MapStyle) -> MapStyle:
        """``base`` (view, percentiles) with what the widgets show."""
        return replace(base, scale=self.scale_combo.currentData(), cmap=self.cmap_combo.currentText(),
                       limits=self.limits_combo.currentData(), vmin=self._number(self.vmin_edit),
                       vmax=self._number(self.vmax_edit), contour_levels=self.contour_spin.value(),
                       contour_color=self.contour_color.currentText(), contour_labels=self.contour_labels.isChecked())

    def set_style(self, style: MapStyle) -> None:
        widgets = (self.view_combo, self.scale_combo, self.cmap_combo, self.limits_combo, self.contour_spin,
                   self.contour_color, self.contour_labels, self.vmin_edit, self.vmax_edit)
        for widget in widgets:
            widget.blockSignals(True)
        self.view_combo.setCurrentIndex(self.view_combo.findData(style.view))
        self.scale_combo.setCurrentIndex(self.scale_combo.findData(style.scale))
        self.cmap_combo.setCurrentText(style.cmap)
        self.limits_combo.setCurrentIndex(self.limits_combo.findData(style.limits))
        self.contour_spin.setValue(style.contour_levels)
        self.contour_color.setCurrentText(style.contour_color)
        self.contour_labels.setChecked(style.contour_labels)
        self.vmin_edit.setText("" if style.vmin is None else f"{style.vmin:g}")
        self.vmax_edit.setText("" if style.vmax is None else f"{style.vmax:g}")
        self.vmin_edit.setEnabled(style.limits == "manual")
        self.vmax_edit.setEnabled(style.limits == "manual")
        for widget in widgets:
            widget.blockSignals(False)

    def show_document(self, title: str, available: set[str], channel: str | None) -> None:
        """The scan's title and channels: a channel it lacks is disabled, with the reason."""
        self.title_label.setText(title)
        self.title_label.setToolTip(title)
        model = self.channel_combo.model()
        self.channel_combo.blockSignals(True)
        for row in range(self.channel_combo.count()):
            value = self.channel_combo.itemData(row)
            model.item(row).setEnabled(value in available)
            model.item(row).setToolTip("" if value in available else f"this scan has no {value} channel")
        if channel is not None:
            self.channel_combo.setCurrentIndex(self.channel_combo.findData(channel))
        self.channel_combo.blockSignals(False)

    # ------------------------------------------------------------------ edits
    def _number(self, edit: QLineEdit) -> float | None:
        text = edit.text().strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            self.message.emit(f"not a number: {text!r}")
            return None
        return value if math.isfinite(value) else None

    @safe_slot
    def _on_channel(self, index: int) -> None:
        self.channel_chosen.emit(self.channel_combo.itemData(index))

    @safe_slot
    def _on_view(self, index: int) -> None:
        self.view_chosen.emit(self.view_combo.itemData(index))

    @safe_slot
    def _on_limits_mode(self, _index: int) -> None:
        manual = self.limits_combo.currentData() == "manual"
        self.vmin_edit.setEnabled(manual)
        self.vmax_edit.setEnabled(manual)
        limits = self.colour_range() if manual and not self.vmin_edit.text() else None
        if limits is not None:
            self.vmin_edit.setText(f"{limits[0]:.6g}")
            self.vmax_edit.setText(f"{limits[1]:.6g}")
        self.style_edited.emit()

    @safe_slot
    def _on_edit(self, *_args) -> None:
        self.style_edited.emit()
