"""Choose an XES reference spectrum and an energy window to normalise an RXES map by its area."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QWidget

from xestools.model import Spectrum
from xestools.runtime.safe import safe_slot


class NormaliseDialog(QDialog):
    """Choose an XES reference and an energy window; the map is divided by the reference's area there."""

    def __init__(self, references: list[tuple[str, Spectrum]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Normalise map by XES reference area")
        self._references = references
        form = QFormLayout(self)
        self.reference_combo = QComboBox()
        for label, _spectrum in references:
            self.reference_combo.addItem(label)
        form.addRow("Reference spectrum", self.reference_combo)
        self.lo_spin, self.hi_spin = QDoubleSpinBox(), QDoubleSpinBox()
        for spin in (self.lo_spin, self.hi_spin):
            spin.setDecimals(2)
            spin.setRange(-1e6, 1e6)
            spin.setSuffix(" eV")
        form.addRow("Window from ω", self.lo_spin)
        form.addRow("to ω", self.hi_spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.reference_combo.currentIndexChanged.connect(self._on_reference)
        self._on_reference(0)

    @safe_slot
    def _on_reference(self, index: int) -> None:
        if 0 <= index < len(self._references):
            energy = np.asarray(self._references[index][1].energy, dtype=float)
            self.lo_spin.setValue(float(np.nanmin(energy)))
            self.hi_spin.setValue(float(np.nanmax(energy)))

    def choice(self) -> tuple[Spectrum, tuple[float, float]]:
        spectrum = self._references[self.reference_combo.currentIndex()][1]
        lo, hi = sorted((self.lo_spin.value(), self.hi_spin.value()))
        return spectrum, (lo, hi)
