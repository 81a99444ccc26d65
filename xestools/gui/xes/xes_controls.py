"""The XES plot's controls: widgets ↔ :class:`~xestools.plot_settings.XesPlotSettings`, both ways.

``settings()`` reads the widgets; ``set_settings`` shows a settings object without echoing it
back; a user edit emits ``settings_edited`` with the new settings.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QPushButton, QSizePolicy, QWidget

from xestools.gui.common.flow_layout import FlowLayout, unit

from xestools.plot_settings import XesPlotSettings
from xestools.runtime.safe import safe_slot


#: width (px) kept for the cursor readout ("ω = 8640.12 eV, I = 0.0123")
CURSOR_READOUT_WIDTH = 240


class XesPlotControls(QWidget):
    """Y scale, offset, stack, ±σ bands, Fit Y, the cursor readout and Export plot, in rows that wrap."""

    settings_edited = Signal(object)
    fit_y_clicked = Signal()
    export_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.y_scale_combo = QComboBox()
        self.y_scale_combo.addItem("as measured", "data")
        self.y_scale_combo.addItem("each ÷ its maximum", "max")
        self.y_scale_combo.setToolTip("Display only: scale every ticked item to its own maximum to compare "
                                      "shapes of very different magnitude (the items are not changed)")
        self.offset_spin = QDoubleSpinBox()
        self.offset_spin.setDecimals(0)
        self.offset_spin.setRange(0.0, 500.0)
        self.offset_spin.setSingleStep(10.0)
        self.offset_spin.setSuffix(" %")
        self.offset_spin.setSpecialValueText("none")
        self.offset_spin.setToolTip("Vertical offset between successive visible items, "
                                    "in % of the largest intensity range shown")
        self.stack_check = QCheckBox("Stack")
        self.stack_check.setToolTip("Offset each item by 110 % of the largest intensity range of the visible items")
        self.bands_check = QCheckBox("±σ bands")
        self.bands_check.setChecked(True)
        self.rescale_y_button = QPushButton("Fit Y")
        self.rescale_y_button.setToolTip("Fit the intensity axis to the ticked items inside the energy range shown "
                                         "(after zooming on a region, e.g. the valence-to-core lines)")
        self.cursor_label = QLabel("")
        self.export_plot_button = QPushButton("Export plot…")
        self.y_scale_combo.currentIndexChanged.connect(self._on_edit)
        self.offset_spin.valueChanged.connect(self._on_edit)
        self.stack_check.toggled.connect(self._on_edit)
        self.bands_check.toggled.connect(self._on_edit)
        self.rescale_y_button.clicked.connect(lambda _checked=False: self.fit_y_clicked.emit())
        self.export_plot_button.clicked.connect(lambda _checked=False: self.export_clicked.emit())
        self.cursor_label.setMinimumWidth(CURSOR_READOUT_WIDTH)   # a moving cursor does not reflow the rows
        layout = FlowLayout(self)
        for widget in (unit(QLabel("Y scale"), self.y_scale_combo), unit(QLabel("Offset"), self.offset_spin),
                       unit(self.stack_check, self.bands_check, self.rescale_y_button), self.cursor_label,
                       self.export_plot_button):
            layout.addWidget(widget)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def settings(self) -> XesPlotSettings:
        return XesPlotSettings(offset_percent=self.offset_spin.value(), stack=self.stack_check.isChecked(),
                               bands=self.bands_check.isChecked(), y_scale=self.y_scale_combo.currentData())

    def set_settings(self, settings: XesPlotSettings) -> None:
        widgets = (self.y_scale_combo, self.offset_spin, self.stack_check, self.bands_check)
        for widget in widgets:
            widget.blockSignals(True)
        self.y_scale_combo.setCurrentIndex(max(self.y_scale_combo.findData(settings.y_scale), 0))
        self.offset_spin.setValue(settings.offset_percent)
        self.stack_check.setChecked(settings.stack)
        self.bands_check.setChecked(settings.bands)
        self.offset_spin.setEnabled(not settings.stack)
        for widget in widgets:
            widget.blockSignals(False)

    @safe_slot
    def _on_edit(self, *_args) -> None:
        self.offset_spin.setEnabled(not self.stack_check.isChecked())
        self.settings_edited.emit(self.settings())
